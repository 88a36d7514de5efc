"""convbook.training.live.LiveLoss: in-place notebook redraws (throttled) and terminal lines."""

from __future__ import annotations

import warnings

import pytest

from convbook.training.live import LiveLoss


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
    assert [ln.get_label() for ln in ax_loss.lines] == ["training loss", "test loss"]
    assert [ln.get_label() for ln in ax_acc.lines] == ["training accuracy", "test accuracy"]
    assert list(ax_loss.lines[0].get_ydata()) == [2.0, 1.0]


def test_auto_outside_jupyter_is_text_and_errors():
    assert LiveLoss().mode == "text"
    with pytest.raises(ValueError,
                       match="mode must be one of 'auto', 'notebook', 'text', 'silent', got"):
        LiveLoss("gui")
    with pytest.raises(ValueError, match="min_interval must be >= 0, got -1"):
        LiveLoss(min_interval=-1)


@pytest.mark.parametrize(
    "values",
    [
        [1e308],
        [1e308, float("inf")],
        [0.5, -1e308, 0.25],
        [float("nan"), 2.0, float("-inf"), 1.0],
    ],
)
def test_huge_and_non_finite_values_are_recorded_and_drawn_without_error(values):
    shown = FakeDisplay()
    live = LiveLoss("notebook", min_interval=0, display_fn=shown)
    for step, value in enumerate(values):
        live.update(step, loss=value)  # must not raise out of a training loop
    live.epoch_end(1, test_loss=values[0])
    assert live.redraws == len(values) + 1
    recorded = [v for _, v in live.steps["loss"]]
    assert [str(v) for v in recorded] == [str(float(v)) for v in values]  # as given
    ax = live.figure().axes[0]
    finite = [v for v in values if abs(v) <= 1e30]  # NaN compares False: left out
    low, high = ax.get_ylim()
    assert abs(low) < 1e30 and abs(high) < 1e30
    assert all(low <= v <= high for v in finite)
    # one x mark per value off the chart, at the top edge (bottom for negative ones)
    marks = [tuple(p) for c in ax.collections for p in c.get_offsets()]
    expected = [
        (float(step), 0.0 if v < 0 else 1.0)
        for step, v in enumerate(values) if not abs(v) <= 1e30
    ] + ([(1.0, 0.0 if values[0] < 0 else 1.0)] if not abs(values[0]) <= 1e30 else [])
    assert sorted(marks) == sorted(expected)
    assert "x: inf, NaN or beyond" in ax.get_title()


def test_a_figure_that_cannot_be_drawn_warns_once_and_recording_goes_on(monkeypatch):
    live = LiveLoss("notebook", min_interval=0, display_fn=FakeDisplay())

    def broken():
        raise ValueError("matplotlib gave up")

    monkeypatch.setattr(live, "figure", broken)
    with pytest.warns(RuntimeWarning, match="could not draw the figure .*matplotlib gave up"):
        live.update(0, loss=1.0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        live.update(1, loss=0.5)
    assert caught == []  # once is enough
    assert live.steps["loss"] == [(0.0, 1.0), (1.0, 0.5)] and live.redraws == 0


def test_metrics_must_be_numbers():
    live = LiveLoss("silent")
    with pytest.raises(TypeError, match="loss must be a number, got 'low'"):
        live.update(0, loss="low")
    with pytest.raises(TypeError, match="step must be a number, got None"):
        live.update(None, loss=1.0)
    with pytest.raises(TypeError, match="test_acc must be a number, got"):
        live.epoch_end(1, test_acc=[0.5])


class ZMQInteractiveShell:  # the class name is what Jupyter's kernel shell is called
    pass


class TerminalInteractiveShell:
    pass


@pytest.mark.parametrize(
    "shell, expected",
    [(None, False), (ZMQInteractiveShell(), True), (TerminalInteractiveShell(), False)],
)
def test_in_notebook(monkeypatch, shell, expected):
    import IPython

    from convbook.training.live import in_notebook

    monkeypatch.setattr(IPython, "get_ipython", lambda: shell)
    assert in_notebook() is expected
    if expected:
        assert LiveLoss().mode == "notebook"
