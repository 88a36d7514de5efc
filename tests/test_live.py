"""convbook.live.LiveLoss: in-place notebook redraws (throttled) and terminal lines."""

from __future__ import annotations

import pytest

from convbook.live import LiveLoss


class FakeHandle:
    def __init__(self):
        self.updates = 0

    def update(self, obj):
        self.updates += 1


class FakeDisplay:
    def __init__(self):
        self.calls = []
        self.handle = FakeHandle()

    def __call__(self, obj, display_id=False):
        self.calls.append((obj, display_id))
        return self.handle


def test_notebook_mode_updates_one_output_at_most_every_min_interval():
    now = [0.0]
    shown = FakeDisplay()
    live = LiveLoss("notebook", min_interval=0.5, clock=lambda: now[0], display_fn=shown)
    for step in range(100):  # 100 updates over 5 seconds
        now[0] = step * 0.05
        live.update(step, loss=1 / (step + 1))
    assert len(shown.calls) == 1 and shown.calls[0][1] is True  # one output, with a display id
    assert 1 + shown.handle.updates == live.redraws
    assert 9 <= live.redraws <= 11  # 5 s / 0.5 s
    live.close()
    assert live.redraws <= 12
    png = shown.calls[0][0].data
    assert png[:8] == b"\x89PNG\r\n\x1a\n"


def test_text_mode_prints_a_line_per_epoch():
    lines = []
    live = LiveLoss("text", print_fn=lines.append)
    for step in range(10):
        live.update(step / 10, loss=2.0)
    live.epoch_end(1, test_loss=1.5, test_acc=0.25)
    live.epoch_end(2, test_loss=1.25, test_acc=0.5)
    assert lines == ["epoch 1: test_loss 1.5000, test_acc 0.2500",
                     "epoch 2: test_loss 1.2500, test_acc 0.5000"]
    assert live.redraws == 0
    assert live.epochs["test_acc"] == [(1.0, 0.25), (2.0, 0.5)]
    assert repr(live) == "LiveLoss(mode='text', steps=10, epochs=2)"


def test_figure_has_loss_and_accuracy_panels():
    live = LiveLoss("silent")
    live.update(0.5, loss=2.0, acc=0.1)
    live.update(1.0, loss=1.0, acc=0.3)
    live.epoch_end(1, test_loss=1.2, test_acc=0.4)
    ax_loss, ax_acc = live.figure().axes
    assert [ln.get_label() for ln in ax_loss.lines] == ["loss", "test_loss"]
    assert [ln.get_label() for ln in ax_acc.lines] == ["acc", "test_acc"]
    assert list(ax_loss.lines[0].get_ydata()) == [2.0, 1.0]


def test_auto_outside_jupyter_is_text_and_errors():
    assert LiveLoss().mode == "text"
    with pytest.raises(ValueError, match="mode must be 'auto', 'notebook', 'text' or 'silent'"):
        LiveLoss("gui")
    with pytest.raises(ValueError, match="min_interval must be >= 0, got -1"):
        LiveLoss(min_interval=-1)
