"""``LiveLoss``: watch loss and accuracy while a model trains, in a notebook or a terminal.

In Jupyter it draws one figure and updates it in place through a display id (one output,
no flicker, at most ``1 / min_interval`` redraws a second).  In a terminal it prints one line
per epoch.  It works with any training loop::

    live = LiveLoss()
    for step, (x, y) in enumerate(loader):
        ...
        live.update(step, loss=loss.item(), acc=acc)
    live.epoch_end(epoch, test_loss=..., test_acc=...)
    live.close()
"""

from __future__ import annotations

import io
import math
import time
import warnings
from collections.abc import Callable
from typing import Any

from convbook._args import check_callable, check_choice, check_number
from convbook.fonts import drawn_text, use_reader_font

#: recorded values beyond this size, and inf and NaN, are drawn as marks at the edge of the
#: plot rather than as points: matplotlib cannot scale an axis to 1e308
OFF_CHART = 1e30


def in_notebook() -> bool:
    """True inside a Jupyter kernel (where rich display works)."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython is a dependency
        return False
    shell = get_ipython()
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


class LiveLoss:
    """Record training metrics and show them live.

    Args:
        mode: ``"notebook"`` (a figure updated in place), ``"text"`` (a line per epoch),
            ``"silent"``, or ``"auto"`` (notebook inside Jupyter, else text).
        min_interval: least seconds between two redraws of the figure.
        print_fn: where text lines go (default ``print``).
        clock: time source (for tests).
        display_fn: ``IPython.display.display`` unless given (for tests).

    Attributes:
        steps: ``{name: [(step, value), ...]}`` from :meth:`update`.
        epochs: ``{name: [(epoch, value), ...]}`` from :meth:`epoch_end`.
        redraws: how many times the figure was drawn.

    Every value is recorded as given, inf and NaN included (a diverging run is worth
    seeing); in the figure, values that are not finite or beyond ``±OFF_CHART`` are marked
    with an ``x`` at the top (or, when negative, bottom) edge.  Drawing never raises into
    the training loop: if the figure cannot be drawn, a warning says why, once, and
    recording goes on.
    """

    def __init__(
        self,
        mode: str = "auto",
        *,
        min_interval: float = 0.5,
        print_fn: Callable[[str], None] = print,
        clock: Callable[[], float] = time.monotonic,
        display_fn: Callable[..., Any] | None = None,
    ) -> None:
        check_choice(mode, "mode", ("auto", "notebook", "text", "silent"))
        min_interval = check_number(min_interval, "min_interval", low=0)
        check_callable(print_fn, "print_fn", "as print_fn(line)")
        check_callable(clock, "clock", "as clock()")
        if display_fn is not None:
            check_callable(display_fn, "display_fn", "as display_fn(image, display_id=True)")
        self.mode = ("notebook" if in_notebook() else "text") if mode == "auto" else mode
        self.min_interval = min_interval
        self.steps: dict[str, list[tuple[float, float]]] = {}
        self.epochs: dict[str, list[tuple[float, float]]] = {}
        self.redraws = 0
        self._print = print_fn
        self._clock = clock
        self._display_fn = display_fn
        self._handle: Any = None
        self._last_draw = -float("inf")
        self._dirty = False
        self._warned = False

    def update(self, step: float, **metrics: float) -> None:
        """Record ``metrics`` (e.g. ``loss=0.7, acc=0.6``) at ``step``.

        ``step`` is any increasing number; use fractional epochs (``epoch + i / n_batches``)
        to share the x axis with :meth:`epoch_end`'s points.
        """
        point = check_number(step, "step", finite=False)
        for name, value in metrics.items():
            self.steps.setdefault(name, []).append((point, check_number(value, name,
                                                                         finite=False)))
        self._dirty = True
        self._maybe_draw()

    def epoch_end(self, epoch: int, **metrics: float) -> None:
        """Record per-epoch metrics (e.g. ``test_acc=0.8``); prints a line in text mode."""
        point = check_number(epoch, "epoch", finite=False)
        for name, value in metrics.items():
            self.epochs.setdefault(name, []).append((point, check_number(value, name,
                                                                          finite=False)))
        if self.mode == "text":
            parts = [f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}"
                     for k, v in metrics.items()]
            self._print(f"epoch {epoch}: " + ", ".join(parts))
        self._dirty = True
        self._maybe_draw()

    def close(self) -> None:
        """Draw the final state of the figure (notebook mode)."""
        if self._dirty:
            self._maybe_draw(ignore_interval=True)

    # ------------------------------------------------------------------ drawing

    def _maybe_draw(self, ignore_interval: bool = False) -> None:
        if self.mode != "notebook":
            return
        now = self._clock()
        if not ignore_interval and now - self._last_draw < self.min_interval:
            return
        self._last_draw = now
        self._dirty = False
        try:
            png = self._render()
        except Exception as error:  # a live plot must never stop the training it shows
            if not self._warned:
                self._warned = True
                warnings.warn(
                    f"LiveLoss could not draw the figure ({type(error).__name__}: {error}); "
                    "it keeps recording",
                    RuntimeWarning,
                    stacklevel=3,
                )
            return
        self.redraws += 1
        from IPython.display import Image

        image = Image(data=png, format="png")
        if self._handle is None:
            display = self._display_fn
            if display is None:
                from IPython.display import display
            self._handle = display(image, display_id=True)
        else:
            self._handle.update(image)

    def figure(self):  # -> matplotlib.figure.Figure
        """A matplotlib figure of the recorded losses (left) and accuracies (right)."""
        from matplotlib.figure import Figure

        fig = Figure(figsize=(9, 3.2), dpi=80)
        ax_loss, ax_acc = fig.subplots(1, 2)
        for ax, kind in ((ax_loss, "loss"), (ax_acc, "acc")):
            off_chart = False
            for source, marker in ((self.steps, ""), (self.epochs, "o")):
                for name, points in source.items():
                    if kind in name and points:
                        off_chart |= _plot(ax, points, marker, name)
            title = (drawn_text("figures.live.loss") if kind == "loss" else
                     drawn_text("figures.live.accuracy"))
            if off_chart:
                title = drawn_text("figures.live.off_chart", title=title,
                                   limit=f"{OFF_CHART:.0e}")
            ax.set_title(title)
            ax.set_xlabel(drawn_text("figures.live.epoch"))
            if ax.lines:
                ax.legend(loc="best", fontsize=8)
            ax.grid(alpha=0.3)
        use_reader_font(fig)
        fig.tight_layout()
        return fig

    def _render(self) -> bytes:
        buf = io.BytesIO()
        self.figure().savefig(buf, format="png")
        return buf.getvalue()

    def __repr__(self) -> str:
        return (f"LiveLoss(mode={self.mode!r}, steps={sum(map(len, self.steps.values()))}, "
                f"epochs={max(map(len, self.epochs.values()), default=0)})")


#: the legend's words for the series that fit records (message keys)
SERIES_LABELS = {
    "loss": "figures.live.train_loss",
    "acc": "figures.live.train_acc",
    "train_acc": "figures.live.train_acc",
    "test_loss": "figures.live.test_loss",
    "test_acc": "figures.live.test_acc",
    "tta_acc": "figures.live.tta_acc",
}


def series_label(name: str) -> str:
    """The legend's words for the recorded series ``name`` (``"loss"``, ``"test_acc"``,
    ...: the names :func:`~convbook.training.fit.fit` records), in the figure's language;
    another name as it is."""
    return drawn_text(SERIES_LABELS[name]) if name in SERIES_LABELS else name


def _plot(ax: Any, points: list[tuple[float, float]], marker: str, name: str) -> bool:
    """Draw one recorded curve on ``ax``; values off the chart become ``x`` marks on the
    top (bottom when negative) edge.  Returns whether there were any."""
    xs = [x for x, _ in points]
    off = [not (math.isfinite(y) and abs(y) <= OFF_CHART) for _, y in points]
    ys = [math.nan if o else y for o, (_, y) in zip(off, points)]  # NaN: a gap in the line
    (line,) = ax.plot(xs, ys, marker=marker, label=series_label(name))
    marks = [(x, 0.0 if y < 0 else 1.0) for o, (x, y) in zip(off, points) if o]
    if marks:
        mx, my = zip(*marks)
        # x in data coordinates, y in axes coordinates (0 bottom, 1 top): not autoscaled
        ax.scatter(mx, my, marker="x", color=line.get_color(), clip_on=False, zorder=3,
                   transform=ax.get_xaxis_transform())
    return bool(marks)
