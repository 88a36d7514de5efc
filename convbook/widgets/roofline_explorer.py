"""``RooflineExplorer``: choose a convolution layer and see what the roofline predicts for
it on this machine; press *measure* to time every algorithm of chapter 10 on it.

Sliders set the layer (``C_in``, ``C_out``, kernel size ``k``, ``H``, ``W``, stride,
padding, groups and batch) and a toggle the number format.  The widget shows the layer's
multiply-accumulates, the bytes it must move, its arithmetic intensity, which roof bounds
it and the time that roof allows (:mod:`convbook.roofline`), on a roofline plot of the
``peaks`` and ``bandwidth`` it was given (measured by the chapter).  The *measure* button
times each algorithm with a progress bar; the measured points join the plot (their height
is the FLOP/s each achieved), and the table gives their times.

The explorer follows the pattern of :mod:`convbook.widgets.base`: its settings are a frozen
dataclass, :class:`~convbook.widgets.roofline_explorer_state.RooflineExplorerState`
(``ex.state``: the layer, the number format and the times measured for them), changed only
by :meth:`RooflineExplorer.set`, which the sliders and the toggle call too, and which
*measure* calls with the times it took.  A combination of sliders that makes no layer (a
kernel larger than the padded image, channels that the groups do not divide) shows why,
moves the slider back and keeps the last good layer.  The state and its checks are in
:mod:`~convbook.widgets.roofline_explorer_state`, the plot and the table in
:mod:`~convbook.widgets.roofline_explorer_drawing`.

Headless::

    ex = RooflineExplorer(peaks={"float32": 100e9}, bandwidth=10e9)
    ex.set(in_channels=64, out_channels=64, groups=64)   # a depthwise layer
    ex.layer.intensity(), ex.bound, ex.predicted_seconds
    ex.measure()  # {"direct": seconds, ..., "Winograd": None (not a 3x3 stride-1 layer)}

Sub-widgets: ``<field>_slider`` for each field of the layer (also in ``sliders``, by
field), ``dtype_toggle``, ``measure_button``, ``progress_bar`` (an ``IntProgress``) and
``progress_label``, ``plot_view`` (``ipywidgets.Image``), ``table_view`` and ``message``
(``ipywidgets.HTML``).  The sliders' ranges are :attr:`RooflineExplorer.LIMITS`.
"""

from __future__ import annotations

from collections.abc import Mapping

import ipywidgets as widgets

from convbook._args import check_choice, check_number, check_positive_float
from convbook.language import text
from convbook.roofline import (
    ALGORITHMS,
    DTYPES,
    ConvLayer,
    predicted_seconds,
    time_algorithms,
)
from convbook.widgets.base import BookWidget, callback, holding, state_field
from convbook.widgets.roofline_explorer_drawing import plot_png, table_html
from convbook.widgets.roofline_explorer_state import (
    LIMITS,
    RooflineExplorerState,
    bound_by,
    changed,
    check_measurable,
)

__all__ = ["RooflineExplorer", "RooflineExplorerState"]

#: the key of each slider's label (a field of the layer)
SLIDER_LABELS = {
    "in_channels": "widgets.roofline_explorer.in_channels",
    "out_channels": "widgets.roofline_explorer.out_channels",
    "kernel_size": "widgets.roofline_explorer.kernel_size",
    "height": "widgets.roofline_explorer.height",
    "width": "widgets.roofline_explorer.width",
    "stride": "widgets.roofline_explorer.stride",
    "padding": "widgets.roofline_explorer.padding",
    "groups": "widgets.roofline_explorer.groups",
    "batch": "widgets.roofline_explorer.batch",
}


class RooflineExplorer(BookWidget):
    """Sliders for a convolution layer, its roofline prediction and measured times.

    Args:
        peaks: FLOP/s of the machine by number format, ``{"float32": ...}`` and, where
            the CPU has bfloat16 arithmetic, ``"bfloat16"`` (each > 0).
        bandwidth: memory bandwidth in bytes/s (> 0).
        layer: the layer shown first (default: 64→64 channels, 3×3, 32×32, padding 1),
            its fields within :attr:`LIMITS`.
        dtype: ``"float32"`` or ``"bfloat16"``, one of ``peaks``.
        min_run_time: seconds *measure* spends on each algorithm (> 0, at most 10).
    """

    CSS_CLASS = "convbook-roofline-explorer"
    ERROR_NOTE = "widgets.roofline_explorer.error_note"
    LIMITS = LIMITS

    layer = state_field("layer", "The :class:`~convbook.roofline.ConvLayer` shown.")
    dtype = state_field("dtype", "Its number format, ``'float32'`` or ``'bfloat16'``.")

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
        self._peaks = {check_choice(k, "peaks", list(DTYPES)): check_positive_float(v, "peaks")
                       for k, v in peaks.items()}
        self._bandwidth = check_positive_float(bandwidth, "bandwidth")
        self._min_run_time = check_number(min_run_time, "min_run_time", low=0.0,
                                          low_ok=False, high=10.0)
        first = changed(RooflineExplorerState(),
                        {"dtype": dtype, **({} if layer is None else {"layer": layer})},
                        list(self._peaks))
        self._png = b""

        style = widgets.SliderStyle(description_width="90px")
        shared = widgets.Layout(width="280px")
        self.sliders: dict[str, widgets.IntSlider] = {}
        for name, (low, high) in LIMITS.items():
            slider = widgets.IntSlider(min=low, max=high, description=text(SLIDER_LABELS[name]),
                                       style=style, layout=shared, continuous_update=False)
            setattr(self, f"{name}_slider", slider)
            self.sliders[name] = slider
        self.dtype_toggle = widgets.ToggleButtons(options=list(self._peaks))
        self.measure_button = widgets.Button(
            description=text("widgets.roofline_explorer.measure"), icon="stopwatch")
        self.progress_bar = widgets.IntProgress(min=0, max=len(ALGORITHMS),
                                                layout=widgets.Layout(width="200px"))
        self.progress_label = widgets.Label("")
        self.plot_view = widgets.Image(format="png", layout=widgets.Layout(max_width="100%"))
        self.table_view = widgets.HTML()
        names = list(LIMITS)
        super().__init__([
            widgets.HBox([widgets.VBox([self.sliders[n] for n in names[:5]]),
                          widgets.VBox([self.sliders[n] for n in names[5:]])]),
            widgets.HBox([self.dtype_toggle, self.measure_button, self.progress_bar,
                          self.progress_label]),
            widgets.HBox([self.plot_view, self.table_view]),
        ])
        # CSS classes name the parts for readers' custom styles and the browser tests
        self.plot_view.add_class("convbook-drawing")
        self.table_view.add_class("convbook-output")
        self.measure_button.add_class("convbook-measure")
        self.progress_bar.add_class("convbook-progress")

        self._render(first)
        for name, slider in self.sliders.items():
            self._bind(slider, name)
        self._bind(self.dtype_toggle, "dtype")
        self.measure_button.on_click(self._on_measure)

    # ----------------------------------------------------------------- what it shows
    @property
    def peaks(self) -> dict[str, float]:
        """FLOP/s of the machine by number format (a copy)."""
        return dict(self._peaks)

    @property
    def bandwidth(self) -> float:
        """Memory bandwidth of the machine, bytes/s."""
        return self._bandwidth

    @property
    def min_run_time(self) -> float:
        """Seconds *measure* spends on each algorithm."""
        return self._min_run_time

    @property
    def times(self) -> dict[str, float | None] | None:
        """Seconds per call of each algorithm on the layer, or ``None`` before *measure*."""
        return None if self.state.times is None else dict(self.state.times)

    @property
    def peak(self) -> float:
        """The peak FLOP/s in the layer's number format."""
        return self._peaks[self.dtype]

    @property
    def bound(self) -> str:
        """``"memory"`` or ``"compute"``: which roof is lower at the layer's intensity."""
        return bound_by(self.layer, self.dtype, self.peak, self._bandwidth)

    @property
    def predicted_seconds(self) -> float:
        """The roofline's lower bound on the layer's time."""
        return predicted_seconds(self.layer, self.peak, self._bandwidth, self.dtype)

    @property
    def png(self) -> bytes:
        """The roofline plot shown, as PNG bytes."""
        return self._png

    # ----------------------------------------------------------------- headless API
    def measure(self) -> dict[str, float | None]:
        """Time every algorithm on the layer (``None``: it does not apply), showing the
        progress, and show the times (``set(times=...)``); returns them.

        Raises:
            ValueError: the layer is too large to time here.  Whatever stops a measurement
            (an error, Ctrl-C) leaves the state as it was, and the progress bar back at it.
        """
        state = self.state
        check_measurable(state)
        try:
            times = time_algorithms(state.layer, dtype=state.dtype,
                                    min_run_time=self._min_run_time,
                                    progress=self._show_progress)
            self.set(times=times)
        except BaseException:
            self._show_controls(self.state)  # the progress bar: back to the state
            raise
        return times

    # ----------------------------------------------------------------- the cycle
    def _checked(self, changes: dict) -> RooflineExplorerState:
        return changed(self.state, changes, list(self._peaks))

    def _render(self, state: RooflineExplorerState) -> None:
        peak = self._peaks[state.dtype]
        png = plot_png(state, peak, self._bandwidth)
        table = table_html(state, peak, self._bandwidth)
        self._state, self._png = state, png
        self.error = None
        with holding(self.plot_view, self.table_view):  # before the controls move
            self.plot_view.value = png
            self.table_view.value = table
        self._show_controls(state)
        self._render_message()

    def _show_controls(self, state: RooflineExplorerState) -> None:
        with holding(*self.sliders.values(), self.dtype_toggle, self.progress_bar,
                     self.progress_label):
            for name, slider in self.sliders.items():
                slider.value = getattr(state.layer, name)
            self.dtype_toggle.value = state.dtype
            if state.times is None:  # the progress bar: empty, or full once measured
                self.progress_bar.value, self.progress_label.value = 0, ""
            else:
                self.progress_bar.max = len(state.times)
                self.progress_bar.value = len(state.times)
                self.progress_label.value = text("widgets.roofline_explorer.done")

    # ----------------------------------------------------------------- observers
    @callback
    def _on_measure(self, button: widgets.Button) -> None:
        self.measure_button.disabled = True
        try:
            self.measure()
        except (TypeError, ValueError) as error:  # a layer too large to measure: say so
            self._show_error(str(error))
        finally:
            self.measure_button.disabled = False

    def _show_progress(self, done: int, total: int, name: str) -> None:
        with holding(self.progress_bar, self.progress_label):
            self.progress_bar.max = total
            self.progress_bar.value = done
            self.progress_label.value = (
                text("widgets.roofline_explorer.timing", name=name, done=done + 1, total=total)
                if name else text("widgets.roofline_explorer.done"))

    # ----------------------------------------------------------------- display
    def __repr__(self) -> str:
        layer = self.layer
        return (f"RooflineExplorer({layer}, batch {layer.batch}, {self.dtype}: "
                f"{layer.macs:,} MACs, {layer.intensity(self.dtype):.1f} FLOP/byte)")
