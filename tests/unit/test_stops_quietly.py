"""A stopped training cell stops quietly: one line in Jupyter, no traceback (issue 31, point 8).

IPython shows an exception's ``_render_traceback_()`` instead of a traceback; these tests run
cells in a real IPython shell and read what it prints.  The chapter tests run chapter 08's own
training cells, taken from the chapter, with a ``LiveLoss`` that raises ``KeyboardInterrupt``
(what Jupyter's stop button does) in the middle of training.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch
from IPython.core.interactiveshell import InteractiveShell

from convbook import data, models
from convbook.training import recipes
from convbook.training.fit import Stopped, TrainingInterrupted, fit, stops_quietly
from convbook.training.live import LiveLoss

CHAPTER = Path(__file__).resolve().parents[2] / "chapters" / "08_cifar10.md"


@pytest.fixture
def shell():
    InteractiveShell.clear_instance()
    sh = InteractiveShell.instance()
    yield sh
    InteractiveShell.clear_instance()


class StoppedLive(LiveLoss):
    """A silent LiveLoss on which the second training step is interrupted."""

    def __init__(self, *args, **kwargs):
        super().__init__("silent")
        self.calls = 0

    def update(self, step, **metrics):
        self.calls += 1
        if self.calls == 2:
            raise KeyboardInterrupt
        super().update(step, **metrics)


def tiny_data() -> data.ImageData:
    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (300, 3, 32, 32), dtype=torch.uint8, generator=g)
    labels = torch.arange(300) % 10
    classes = tuple(str(c) for c in range(10))
    return data.ImageData(images, labels, images[:20], labels[:20], classes)


def cell(containing: str) -> str:
    """The source of the chapter's one code cell that contains ``containing``."""
    cells = re.findall(r"```\{code-cell\} ipython3\n(.*?)```", CHAPTER.read_text(), re.S)
    found = [c for c in cells if containing in c]
    assert len(found) == 1, f"{len(found)} cells contain {containing!r}"
    return re.sub(r"\A(:tags:.*\n)?\n?", "", found[0])


def shown(shell, capsys, source: str) -> tuple[list[str], object]:
    """Run ``source`` as a cell; the non-empty lines it printed, and the error it raised."""
    capsys.readouterr()
    result = shell.run_cell(source)
    out = capsys.readouterr()
    lines = [line for line in (out.out + out.err).splitlines() if line.strip()]
    return lines, result.error_in_exec


def test_a_keyboard_interrupt_inside_shows_one_line(shell, capsys):
    shell.user_ns["stops_quietly"] = stops_quietly
    lines, error = shown(shell, capsys,
                         "with stops_quietly('stopped; run again'):\n"
                         "    sum(range(3))\n"
                         "    raise KeyboardInterrupt\n")
    assert isinstance(error, Stopped)
    assert lines == ["Stopped: stopped; run again"]


def test_without_it_the_same_interrupt_prints_a_traceback(shell, capsys):
    lines, error = shown(shell, capsys, "def f():\n    raise KeyboardInterrupt\nf()\n")
    assert isinstance(error, KeyboardInterrupt)
    assert len(lines) > 1  # what the chapter's readers saw before


def test_a_stop_raised_inside_passes_unchanged():
    with pytest.raises(TrainingInterrupted), stops_quietly("not this message"):
        raise TrainingInterrupted(None, resumable=False, saved=False)


def test_the_message_must_be_text():
    with pytest.raises(TypeError, match="message must be the line to show"):
        stops_quietly(3)  # refused when called, before the code it would guard runs


def test_training_interrupted_renders_as_its_message():
    stop = TrainingInterrupted(None, resumable=False, saved=False)
    assert stop._render_traceback_() == [
        "TrainingInterrupted: interrupted; no checkpoint= was given, so the run cannot be resumed"]


def chapter_namespace(shell) -> None:
    """What the chapter's training cells use from the cells before them."""
    tiny = tiny_data()
    mean, std = tiny.mean_std()
    shell.user_ns.update(
        torch=torch, nn=torch.nn, time=__import__("time"), data=data, models=models,
        recipes=recipes, fit=fit, stops_quietly=stops_quietly, LiveLoss=StoppedLive,
        QUICK=True, subset=tiny, mean=mean, std=std, recipe=recipes.RECIPES["fast"],
        history_fast={"time": [1.0]})
    assert shell.run_cell(cell("def train_loop(")).success


@pytest.mark.parametrize("marker", ["acc_tutorial = train_loop(", "acc_wide = train_loop("])
def test_stopping_the_chapters_hand_written_loop_shows_one_line(shell, capsys, marker):
    chapter_namespace(shell)
    lines, error = shown(shell, capsys, cell(marker))
    assert isinstance(error, Stopped)
    assert lines == ["Stopped: stopped; running this cell again trains a new network from "
                     "the start"]


def test_stopping_the_chapters_fit_cell_shows_one_line(shell, capsys):
    chapter_namespace(shell)
    lines, error = shown(shell, capsys, cell("history_fast = fit("))
    assert isinstance(error, TrainingInterrupted)
    assert len(lines) == 1 and lines[0].startswith("TrainingInterrupted: interrupted")


def test_running_the_chapters_training_cell_again_starts_from_a_fresh_network(shell, capsys):
    chapter_namespace(shell)
    shell.user_ns["LiveLoss"] = LiveLoss  # no interruption
    shell.user_ns["QUICK"] = True
    source = cell("acc_tutorial = train_loop(").replace("\"epochs\": 3", "\"epochs\": 1")
    assert shell.run_cell(source.replace("assert max(acc_tutorial) > (0.2", "assert (0.2"))
    first = {k: v.clone() for k, v in shell.user_ns["tutorial"].state_dict().items()}
    shell.run_cell(source.replace("assert max(acc_tutorial) > (0.2", "assert (0.2"))
    second = shell.user_ns["tutorial"].state_dict()
    assert all(torch.equal(first[k], second[k]) for k in first)  # same start, same end
