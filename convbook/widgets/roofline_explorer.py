"""``RooflineExplorer``: choose a convolution layer and see what the roofline predicts for
it on this machine; press *measure* to time every algorithm of chapter 10 on it.

Sliders set the layer (``C_in``, ``C_out``, kernel size ``k``, ``H``, ``W``, stride,
padding, groups and batch) and a toggle the number format.  The widget shows the layer's
multiply-accumulates, the bytes it must move, its arithmetic intensity, which roof bounds
it and the time that roof allows (:mod:`convbook.roofline`), on a roofline plot of the
``peaks`` and ``bandwidth`` it was given (measured by the chapter).  The *measure* button
times each algorithm with a progress bar; the measured points join the plot (their height
is the FLOP/s each achieved), and the table gives their times.

The state is data: :class:`RooflineState` (a frozen dataclass: the layer, the number format
and the times measured for them).  :meth:`RooflineExplorer.set` checks the changes once
(building the new :class:`~convbook.roofline.ConvLayer` checks every field), replaces the
state and draws once; the sliders are views of the state, and moving one calls ``set``.
A combination that cannot be used (a kernel larger than the padded image, channels that
the groups do not divide) leaves the last good layer on screen with the error.

Headless::

    ex = RooflineExplorer(peaks={"float32": 100e9}, bandwidth=10e9)
    ex.set(in_channels=64, out_channels=64, groups=64)   # a depthwise layer
    ex.layer.intensity(), ex.bound, ex.predicted_seconds
    ex.measure()  # {"direct": seconds, ..., "Winograd": None (not a 3x3 stride-1 layer)}
"""

from __future__ import annotations

import contextlib
import dataclasses
import html
import io
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import ipywidgets as widgets
from matplotlib.figure import Figure

from convbook._args import check_choice, check_number, check_positive_float
from convbook.roofline import (
    ALGORITHMS,
    DTYPES,
    ConvLayer,
    attainable_flops,
    plot_roofline,
    predicted_seconds,
    ridge_point,
    time_algorithms,
    why_not,
)
from convbook.widgets.base import BookWidget, callback

__all__ = ["RooflineExplorer", "RooflineState"]

#: the layer's fields that have a slider, with the slider's (min, max)
SLIDERS: dict[str, tuple[int, int]] = {
    "in_channels": (1, 256),
    "out_channels": (1, 256),
    "kernel_size": (1, 15),
    "height": (1, 128),
    "width": (1, 128),
    "stride": (1, 4),
    "padding": (0, 7),
    "groups": (1, 256),
    "batch": (1, 64),
}
#: the largest layer *measure* times (the direct method at about 1 GFLOP/s: seconds)
MAX_MEASURED_MACS = 2 * 10**9
#: the largest window matrix (im2col) *measure* builds
MAX_WINDOW_BYTES = 2**28
_COLOURS = {"direct": "tab:red", "im2col": "tab:orange", "FFT": "tab:green",
            "Winograd": "tab:purple", "F.conv2d": "tab:blue"}


@dataclass(frozen=True)
class RooflineState:
    """What the explorer shows: a layer, its number format, and the seconds each
    algorithm took on it (``None`` before *measure*; an algorithm that does not apply
    has ``None`` as its time)."""

    layer: ConvLayer
    dtype: str = "float32"
    times: tuple[tuple[str, float | None], ...] | None = None


class RooflineExplorer(BookWidget):
    """Sliders for a convolution layer, its roofline prediction and measured times.

    Args:
        peaks: FLOP/s of the machine by number format, ``{"float32": ...}`` and, where
            the CPU has bfloat16 arithmetic, ``"bfloat16"`` (each > 0).
        bandwidth: memory bandwidth in bytes/s (> 0).
        layer: the layer shown first (default: 64→64 channels, 3×3, 32×32, padding 1).
        dtype: ``"float32"`` or ``"bfloat16"``, one of ``peaks``.
        min_run_time: seconds *measure* spends on each algorithm (> 0, at most 10).
    """

    CSS_CLASS = "convbook-roofline-explorer"
    ERROR_NOTE = "showing the last good layer"
    LIMITS: ClassVar[dict[str, tuple[int, int]]] = SLIDERS

    def __init__(
        self,
        *,
        peaks: Mapping[str, float],
        bandwidth: float,
        layer: ConvLayer | None = None,
        dtype: str = "float32",
        min_run_time: float = 0.1,
    ) -> None:
        if not isinstance(peaks, Mapping) or not peaks:
            raise TypeError(f"peaks must be a dict such as {{'float32': 1e11}}, got {peaks!r}")
        self.peaks = {check_choice(k, "peaks", list(DTYPES)): check_positive_float(v, "peaks")
                      for k, v in peaks.items()}
        self.bandwidth = check_positive_float(bandwidth, "bandwidth")
        self.min_run_time = check_number(min_run_time, "min_run_time", low=0.0, low_ok=False,
                                         high=10.0)
        layer = ConvLayer(64, 64, 3, 32, 32, padding=1) if layer is None else layer
        if not isinstance(layer, ConvLayer):
            raise TypeError(f"layer must be a ConvLayer, got {type(layer).__name__}")
        self._check_layer(layer)
        self.state = RooflineState(layer, self._check_dtype(dtype))
        self._png = b""

        style = {"description_width": "90px"}
        shared = widgets.Layout(width="280px")
        self.sliders: dict[str, widgets.IntSlider] = {}
        for name, (lo, hi) in SLIDERS.items():
            slider = widgets.IntSlider(value=getattr(layer, name), min=lo, max=hi,
                                       description=name.replace("_", " "), style=style,
                                       layout=shared, continuous_update=False)
            slider.observe(self._on_slider, names="value")
            setattr(self, f"{name}_slider", slider)
            self.sliders[name] = slider
        self.dtype_toggle = widgets.ToggleButtons(options=list(self.peaks), value=dtype)
        self.dtype_toggle.observe(self._on_dtype, names="value")
        self.measure_button = widgets.Button(description="measure", icon="stopwatch")
        self.measure_button.on_click(self._on_measure)
        self.progress_bar = widgets.IntProgress(value=0, min=0, max=len(ALGORITHMS),
                                                description="", layout=widgets.Layout(
                                                    width="200px"))
        self.progress_label = widgets.Label("")
        self.plot_view = widgets.Image(format="png", layout=widgets.Layout(max_width="100%"))
        self.table_view = widgets.HTML()
        names = list(SLIDERS)
        super().__init__([
            widgets.HBox([widgets.VBox([self.sliders[n] for n in names[:5]]),
                          widgets.VBox([self.sliders[n] for n in names[5:]])]),
            widgets.HBox([self.dtype_toggle, self.measure_button, self.progress_bar,
                          self.progress_label]),
            widgets.HBox([self.plot_view, self.table_view]),
        ])
        self.plot_view.add_class("convbook-drawing")
        self.table_view.add_class("convbook-output")
        self.measure_button.add_class("convbook-measure")
        self.progress_bar.add_class("convbook-progress")
        self._render()

    # ----------------------------------------------------------------- the state
    @property
    def layer(self) -> ConvLayer:
        return self.state.layer

    @property
    def dtype(self) -> str:
        return self.state.dtype

    @property
    def times(self) -> dict[str, float | None] | None:
        """Seconds per call of each algorithm from the last *measure*, or None."""
        return None if self.state.times is None else dict(self.state.times)

    @property
    def peak(self) -> float:
        return self.peaks[self.dtype]

    @property
    def bound(self) -> str:
        """``"memory"`` or ``"compute"``: which roof is lower at the layer's intensity."""
        ridge = ridge_point(self.peak, self.bandwidth)
        return "memory" if self.layer.intensity(self.dtype) < ridge else "compute"

    @property
    def predicted_seconds(self) -> float:
        """The roofline's lower bound on the layer's time."""
        return predicted_seconds(self.layer, self.peak, self.bandwidth, self.dtype)

    def set(self, **changes: Any) -> RooflineExplorer:
        """Change any of the layer's fields (see :class:`~convbook.roofline.ConvLayer`)
        and ``dtype`` at once: checked first, then one redraw; returns ``self``.  Measured
        times are kept only if nothing changed."""
        unknown = set(changes) - {*SLIDERS, "dtype"}
        if unknown:
            raise TypeError(f"set() got unexpected argument(s) {sorted(unknown)}")
        dtype = self._check_dtype(changes.pop("dtype", self.dtype))
        layer = dataclasses.replace(self.layer, **changes)  # checks every field
        self._check_layer(layer)
        if (layer, dtype) == (self.layer, self.dtype):
            return self  # nothing changed: a slider moved to the state's own value
        self.state = RooflineState(layer, dtype)
        self.error = None
        self._render()
        return self

    def measure(self) -> dict[str, float | None]:
        """Time every algorithm on the layer (``None``: it does not apply), with the
        progress bar; the times join the table and the plot."""
        state = self.state
        self._check_measurable(state)
        times = time_algorithms(state.layer, dtype=state.dtype, min_run_time=self.min_run_time,
                                progress=self._show_progress)
        self.state = dataclasses.replace(state, times=tuple(times.items()))
        self.error = None
        self._render()
        return times

    @staticmethod
    def _check_measurable(state: RooflineState) -> None:
        layer = state.layer
        h_out, w_out = layer.output_size
        window = (layer.batch * h_out * w_out * layer.in_channels * layer.kernel_size**2
                  * DTYPES[state.dtype].itemsize)
        if layer.macs > MAX_MEASURED_MACS or window > MAX_WINDOW_BYTES:
            raise ValueError(
                f"the layer is too large to measure here ({layer.macs:,} MACs, a window matrix "
                f"of {window / 2**20:,.0f} MiB; at most {MAX_MEASURED_MACS:,} and "
                f"{MAX_WINDOW_BYTES // 2**20} MiB): make the batch, image or channels smaller")

    def _check_layer(self, layer: ConvLayer) -> None:
        for name, (lo, hi) in SLIDERS.items():
            value = getattr(layer, name)
            if not lo <= value <= hi:
                raise ValueError(f"{name} must be in {lo}..{hi} in the explorer, got {value}")

    def _check_dtype(self, dtype: object) -> str:
        return check_choice(dtype, "dtype", list(self.peaks))

    # ----------------------------------------------------------------- events
    @callback
    def _on_slider(self, change: dict) -> None:
        name = next(n for n, s in self.sliders.items() if s is change["owner"])
        try:
            self.set(**{name: change["new"]})
        except (TypeError, ValueError) as error:
            self._show_error(str(error))

    @callback
    def _on_dtype(self, change: dict) -> None:
        self.set(dtype=change["new"])

    @callback
    def _on_measure(self, button: widgets.Button) -> None:
        self.measure_button.disabled = True
        try:
            self.measure()
        except ValueError as error:  # a layer too large to measure: say so, keep the state
            self._show_error(str(error))
        finally:
            self.measure_button.disabled = False

    def _show_progress(self, done: int, total: int, name: str) -> None:
        self.progress_bar.max = total
        self.progress_bar.value = done
        self.progress_label.value = f"timing {name} ({done + 1}/{total})…" if name else "done"

    # ----------------------------------------------------------------- drawing
    def _render(self) -> None:
        """Show the state: sliders, progress, plot, table and message (one redraw)."""
        views = [*self.sliders.values(), self.dtype_toggle, self.progress_bar,
                 self.progress_label, self.plot_view, self.table_view, self.message]
        with contextlib.ExitStack() as stack:
            for view in views:  # one message per view, sent when all are set
                stack.enter_context(view.hold_sync())
            for name, slider in self.sliders.items():
                slider.value = getattr(self.layer, name)  # no-op in set: the state's value
            self.dtype_toggle.value = self.dtype
            if self.state.times is None:
                self.progress_bar.value, self.progress_label.value = 0, ""
            self._png = self._draw()
            self.plot_view.value = self._png
            self.table_view.value = self._table_html()
            self._render_message()

    def _draw(self) -> bytes:
        fig = Figure(figsize=(5.2, 3.6), dpi=90)
        ax = fig.add_subplot()
        plot_roofline(ax, self.peak, self.bandwidth, label=f"roof ({self.dtype})")
        intensity = self.layer.intensity(self.dtype)
        roof = attainable_flops(intensity, self.peak, self.bandwidth)
        ax.plot([intensity], [roof / 1e9], "o", mfc="none", mec="black", ms=9,
                label="this layer, at the roof")
        for name, seconds in self.state.times or ():
            if seconds is not None:
                ax.plot([intensity], [self.layer.flops / seconds / 1e9], "o",
                        color=_COLOURS[name], label=name)
        ax.set_title(str(self.layer), fontsize=9)
        ax.legend(fontsize=7, loc="lower right")
        fig.tight_layout()
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png")
        return buffer.getvalue()

    def _table_html(self) -> str:
        layer, dtype = self.layer, self.dtype
        rows = [
            ("multiply-accumulates", f"{layer.macs:,}"),
            ("bytes moved", f"{layer.bytes_moved(dtype):,}"),
            ("intensity", f"{layer.intensity(dtype):.1f} FLOP/byte"),
            ("ridge point", f"{ridge_point(self.peak, self.bandwidth):.1f} FLOP/byte"),
            ("bound by", self.bound),
            ("roofline's time", f"{1e3 * self.predicted_seconds:.3f} ms"),
        ]
        for name, seconds in self.state.times or ():
            if seconds is None:
                rows.append((name, html.escape(why_not(name, layer, dtype) or "")))
            else:
                share = layer.flops / seconds / attainable_flops(
                    layer.intensity(dtype), self.peak, self.bandwidth)
                rows.append((name, f"{1e3 * seconds:.3f} ms ({share:.0%} of the roof)"))
        cells = "".join(f"<tr><td>{k}</td><td style='text-align:right'>{v}</td></tr>"
                        for k, v in rows)
        return f"<table>{cells}</table>"

    # ----------------------------------------------------------------- display
    @property
    def png(self) -> bytes:
        return self._png

    def __repr__(self) -> str:
        layer = self.layer
        return (f"RooflineExplorer({layer}, batch {layer.batch}, {self.dtype}: "
                f"{layer.macs:,} MACs, {layer.intensity(self.dtype):.1f} FLOP/byte)")
