"""``ConvExplorer``: see where a convolution's kernel reads, and why the output has its size.

The explorer draws three grids side by side: the padded input, the kernel, and the output.
A step slider (and a play button) moves the kernel window through every output position in
row-major order; the input cells that the kernel weights multiply are highlighted, so
dilation shows up as gaps and stride as jumps.  When the cells are big enough they are
numbered: input pixels and kernel weights row-major, output cells by step.  Under the
pictures, the output-size formula is written out with the current numbers, per axis::

    H_out = floor((5 + 2·1 − 1·(3 − 1) − 1) / 2) + 1 = 3

In ``mode='transposed'`` the explorer shows transposed convolution as *zero insertion*: the
input gets ``stride - 1`` zeros between neighbouring pixels, is padded by
``d(k - 1) - p`` on each side (plus ``output_padding`` at the bottom/right; a negative
amount crops), and a stride-1 convolution with the same dilation runs over the result, so
``out = (n - 1)s - 2p + d(k - 1) + output_padding + 1``, the size ``nn.ConvTranspose2d``
gives.

A combination that cannot work (a dilated kernel larger than the padded input, or a
transposed output of size 0 or less) does not raise: the widget shows a message saying
which axis fails and why, ``.error`` holds it, and everything recovers as soon as the
sliders make the combination valid again.  The explorer follows the pattern of
:mod:`convbook.widgets.base`: its settings are a frozen dataclass,
:class:`~convbook.widgets.explorer_state.ConvExplorerState` (``ex.state``), changed only by
:meth:`ConvExplorer.set`, which the sliders call too; the arithmetic is in
:mod:`~convbook.widgets.explorer_geometry` and the picture in
:mod:`~convbook.widgets.explorer_drawing`.  A page without a kernel shows only the first
picture; :func:`~convbook.widgets.explorer_frames.frame_strip` draws the same picture at
several steps as one PNG, for such pages.

Everything works headless (in tests, or a notebook run by nbval), through the sliders or
through :meth:`ConvExplorer.set`:

>>> ex = ConvExplorer(input_size=5, kernel_size=3, padding=1, stride=2)
>>> ex
ConvExplorer(mode='conv', input=(5, 5), kernel=(3, 3), padding=(1, 1), stride=(2, 2), \
dilation=(1, 1) -> output (3, 3))
>>> ex.stride_slider.value = 1  # updates everything, like dragging the slider
>>> ex.output_size
(5, 5)
>>> ex = ex.set(stride=(1, 2), dilation=2, step=4)  # per-axis sliders switch on
>>> ex.output_position, ex.output_size
((2, 0), (3, 2))
>>> ex.window  # the 9 cells read for output (2, 0), in padded coordinates
[(2, 0), (2, 2), (2, 4), (4, 0), (4, 2), (4, 4), (6, 0), (6, 2), (6, 4)]
>>> print(ex.formula)
H_out = floor((5 + 2·1 − 2·(3 − 1) − 1) / 1) + 1 = 3
W_out = floor((5 + 2·1 − 2·(3 − 1) − 1) / 2) + 1 = 2
>>> ex = ex.set(dilation=4)
>>> print(ex.error)  # doctest: +NORMALIZE_WHITESPACE
Impossible along both axes: the kernel spans 9 cells (dilated: 4·(3 − 1) + 1 = 9) but the
padded input has only 7 (5 + 2·1). Make the kernel or dilation smaller, or the input or
padding larger.

Constructor arguments (all keyword-only; sizes are ints or ``(h, w)`` pairs):
    ``input_size=5``, ``kernel_size=3``, ``padding=0``, ``stride=1``, ``dilation=1``,
    ``output_padding=0`` (transposed mode only; must be < stride or < dilation per axis),
    ``mode='conv'`` or ``'transposed'``, ``step=0``,
    ``per_axis=False`` (show separate height/width sliders; switched on anyway when some
    argument differs between the axes), ``max_width=720`` (pixels of the drawing).
    Slider ranges are in :attr:`ConvExplorer.LIMITS`; values outside them, an
    ``output_padding`` not below stride or dilation, or an unknown mode raise ``ValueError``
    naming the argument (here and in :meth:`set`), while sliders clamp what they are given.

State (read-only attributes; change them with :meth:`set`; ``state`` holds the settings):
    ``input_size``, ``kernel_size``, ``padding``, ``stride``, ``dilation``,
    ``output_padding``: ``(h, w)`` pairs.
    ``mode``: ``'conv'`` or ``'transposed'``.  ``per_axis``: bool.
    ``step``: index of the current output position, ``0 .. n_steps - 1``.
    ``n_steps``: number of output positions (0 when impossible).
    ``output_size``: ``(H_out, W_out)``, or ``None`` when impossible.
    ``output_position``: ``(row, col)`` of the current output cell, or ``None``.
    ``window``: the input cells read at the current output position, one ``(row, col)``
    per kernel tap, taps in row-major order (tap ``(a, b)`` is entry ``a * kw + b``), in
    *padded* coordinates: row 0 is the first row of the grid the (stride-1, in transposed
    mode) convolution slides over, so real input pixel ``(i, j)`` sits at ``(i + p_h,
    j + p_w)`` in conv mode and at ``(i·s_h + q_h, j·s_w + q_w)`` with ``q = d(k - 1) - p``
    in transposed mode (a negative ``q`` crops the zero-inserted input).  In transposed
    mode tap ``(a, b)`` multiplies weight ``[kh - 1 - a, kw - 1 - b]`` of the
    ``ConvTranspose2d`` kernel (the kernel is flipped).  Empty when impossible.
    ``padded_size``: ``(rows, cols)`` of that padded grid.
    ``error``: the message shown, or ``None``.
    ``formula``: the output-size formulas with numbers, one line per axis.
    ``png``: the PNG bytes currently shown; ``cell_px``: pixels per cell in it.

Methods:
    ``set(**kwargs)``: set any of the sizes above, ``mode``, ``per_axis`` and ``step`` at
    once (one redraw); raises ``ValueError`` naming the argument for values outside the
    slider ranges, having checked every value before changing any; returns the explorer.
    ``positions()``: every output position in step order.
    ``window_at(step)``: the ``window`` of another step, without moving (or redrawing).
    ``cell_kinds()``: the padded grid as an ``(rows, cols)`` array of
    :data:`INPUT`, :data:`PADDING`, :data:`ZERO` (inserted zero).

Widgets (attributes, for linking or setting): ``<name>_slider`` (both axes) and
``<name>_h_slider`` / ``<name>_w_slider`` for each size name above, ``per_axis_checkbox``,
``mode_toggle``, ``step_slider``, ``play``, ``drawing_view`` (``ipywidgets.Image``, shown
at the PNG's own size),
``message`` (``ipywidgets.HTML`` with the error, the formula and a colour key),
``square_box`` / ``per_axis_box`` (the two slider groups; one is hidden).  The step and
output-padding sliders are replaced by new ones when their range changes (see
:func:`~convbook.widgets.base.renewed_slider`): read them from the explorer each time.
"""

from __future__ import annotations

import functools
import html
from collections.abc import Callable

import ipywidgets as widgets
import numpy as np

from convbook._args import check_int_range, check_positive_int
from convbook.language import text
from convbook.widgets.base import (
    BookWidget,
    callback,
    holding,
    renew_sliders,
    show_int,
    state_field,
)
from convbook.widgets.explorer_drawing import Painter, legend_html
from convbook.widgets.explorer_geometry import INPUT, PADDING, ZERO, Pair, output_padding_limits
from convbook.widgets.explorer_state import (
    LIMITS,
    NAMES,
    ConvExplorerState,
    changed,
    describe,
)
from convbook.widgets.png import png_bytes

# INPUT, PADDING, ZERO: the cell kinds of ConvExplorer.cell_kinds, importable from here too
__all__ = ["INPUT", "PADDING", "ZERO", "ConvExplorer", "ConvExplorerState"]

#: the key of each size slider's label
_LABELS = {
    "input_size": "widgets.conv_explorer.input",
    "kernel_size": "widgets.conv_explorer.kernel",
    "padding": "widgets.conv_explorer.padding",
    "stride": "widgets.conv_explorer.stride",
    "dilation": "widgets.conv_explorer.dilation",
    "output_padding": "widgets.conv_explorer.output_padding",
}
_AXES = ("", "_h", "_w")  # the square slider, then height and width


class ConvExplorer(BookWidget):
    """Sliders for a 2D convolution's sizes, and a picture of where its kernel reads.

    See the module docstring for the constructor arguments, state attributes and methods.
    """

    CSS_CLASS = "convbook-conv-explorer"
    LIMITS = LIMITS

    input_size = state_field("input_size", "``(h, w)`` size of the input.")
    kernel_size = state_field("kernel_size", "``(h, w)`` size of the kernel.")
    padding = state_field("padding", "``(h, w)`` padding on each side.")
    stride = state_field("stride", "``(h, w)`` stride.")
    dilation = state_field("dilation", "``(h, w)`` dilation.")
    output_padding = state_field("output_padding", "``(h, w)`` output padding (transposed).")
    mode = state_field("mode", "``'conv'`` or ``'transposed'``.")
    per_axis = state_field("per_axis", "Whether separate height and width sliders show.")
    step = state_field("step", "Index of the current output position, ``0 .. n_steps - 1``.")

    def __init__(
        self,
        *,
        input_size: int | tuple[int, int] = 5,
        kernel_size: int | tuple[int, int] = 3,
        padding: int | tuple[int, int] = 0,
        stride: int | tuple[int, int] = 1,
        dilation: int | tuple[int, int] = 1,
        output_padding: int | tuple[int, int] = 0,
        mode: str = "conv",
        step: int = 0,
        per_axis: bool = False,
        max_width: int = 720,
    ) -> None:
        first = changed(
            ConvExplorerState(),
            dict(input_size=input_size, kernel_size=kernel_size, padding=padding,
                 stride=stride, dilation=dilation, output_padding=output_padding, mode=mode,
                 step=step, per_axis=per_axis),
        )
        check_positive_int(max_width, "max_width")
        self._painter = Painter(max_width)
        self._png = b""
        self._observers: dict[str, Callable[[dict], None]] = {}

        # Shared style and layouts: each one is a model saved with the notebook.
        style = widgets.SliderStyle(description_width="96px")
        shared = widgets.Layout(width="320px")
        self._op_layout = widgets.Layout(width="320px")  # hidden in conv mode
        self._rows: dict[str, widgets.HBox] = {}
        for name in NAMES:
            lo, hi = LIMITS[name]
            label = text(_LABELS[name])
            layout = self._op_layout if name == "output_padding" else shared
            descriptions = (label, text("widgets.conv_explorer.height_slider", name=label),
                            text("widgets.conv_explorer.width_slider", name=label))
            for axis, description in zip(_AXES, descriptions):
                slider = widgets.IntSlider(min=lo, max=hi, description=description,
                                           style=style, layout=layout)
                self._watch(f"{name}{axis}_slider", slider,
                            functools.partial(self._on_size, name, axis))
            self._rows[name] = widgets.HBox([getattr(self, f"{name}{a}_slider")
                                             for a in _AXES[1:]])
        self.per_axis_checkbox = widgets.Checkbox(
            description=text("widgets.conv_explorer.per_axis"))
        self._bind(self.per_axis_checkbox, "per_axis")
        self.mode_toggle = widgets.ToggleButtons(
            options=[(text("widgets.conv_explorer.convolution"), "conv"),
                     (text("widgets.conv_explorer.transposed"), "transposed")]
        )
        self._bind(self.mode_toggle, "mode")
        self.step_slider = widgets.IntSlider(
            min=0, max=0, description=text("widgets.conv_explorer.step"), style=style,
            layout=shared)
        self.step_slider.add_class("convbook-step")
        self._observers["step_slider"] = self._bind(self.step_slider, "step")
        self.play = widgets.Play(value=0, min=0, max=0, interval=700,
                                 description=text("widgets.conv_explorer.play"))
        self._bind(self.play, "step")
        self._step_row = widgets.HBox([self.play, self.step_slider])
        # the picture at its own size: stretched to the box's width its text went soft
        self.drawing_view = widgets.Image(
            format="png", layout=widgets.Layout(max_width="100%", align_self="flex-start")
        )
        self.square_box = widgets.VBox([getattr(self, f"{name}_slider") for name in NAMES])
        self.per_axis_box = widgets.VBox(list(self._rows.values()))

        super().__init__(
            [
                widgets.HBox([self.mode_toggle, self.per_axis_checkbox]),
                self.square_box,
                self.per_axis_box,
                self._step_row,
                self.drawing_view,
            ]
        )
        # CSS classes name the parts for readers' custom styles and the browser tests
        self.drawing_view.add_class("convbook-drawing")
        self._render(first)

    def _watch(self, attribute: str, slider: widgets.IntSlider,
               observer: Callable[[dict], None]) -> None:
        setattr(self, attribute, slider)
        self._observers[attribute] = observer
        slider.observe(observer, names="value")

    # ----------------------------------------------------------------- the picture
    @property
    def png(self) -> bytes:
        return self._png

    @property
    def cell_px(self) -> int:
        """Side of one cell in the drawing, in pixels; drawn cell ``(r, c)`` of the padded
        input (see :meth:`cell_kinds`; cropped cells come first) starts at pixel
        ``(14 + r * cell_px, c * cell_px)``, under the 14-pixel title strip."""
        return self._painter.cell_px

    # ----------------------------------------------------------------- what follows
    @property
    def output_size(self) -> Pair | None:
        """``(H_out, W_out)``, or ``None`` when the combination is impossible."""
        return self.state.geometry.output_size

    @property
    def n_steps(self) -> int:
        """Number of output positions (0 when impossible)."""
        return self.state.geometry.n_steps

    @property
    def padded_size(self) -> Pair:
        """``(rows, cols)`` of the grid the kernel slides over."""
        return self.state.geometry.padded_size

    @property
    def output_position(self) -> Pair | None:
        """``(row, col)`` of the current output cell, or ``None`` when impossible."""
        return self.state.geometry.position(self.step)

    @property
    def window(self) -> list[Pair]:
        """The cells read at the current output position (see the module docstring)."""
        return self.state.geometry.window(self.step)

    @property
    def formula(self) -> str:
        """The output-size formulas with numbers, one line per axis."""
        return self.state.geometry.formula

    def positions(self) -> list[Pair]:
        """Every output position ``(row, col)``, in step (row-major) order."""
        return self.state.geometry.positions()

    def window_at(self, step: int) -> list[Pair]:
        """``window`` at output position number ``step`` (row-major), without moving there."""
        check_int_range(step, "step", 0, max(self.n_steps - 1, 0))
        return self.state.geometry.window(step)

    def cell_kinds(self) -> np.ndarray:
        """The padded grid, ``(rows, cols)``: INPUT, PADDING or ZERO (inserted) per cell.

        With negative transposed padding (a crop) the grid is the cropped one.
        """
        return self.state.geometry.cell_kinds()

    # ----------------------------------------------------------------- the cycle
    def _checked(self, changes: dict) -> ConvExplorerState:
        return changed(self.state, changes)

    def _render(self, state: ConvExplorerState) -> None:
        png = png_bytes(self._painter.draw(state.geometry, state.step))
        self._state, self._png = state, png
        self.error = state.geometry.error
        self.drawing_view.value = png  # the picture first: a control never runs ahead of it
        self._show_controls(state)
        self._render_message()

    def _show_controls(self, state: ConvExplorerState) -> None:
        last = max(state.geometry.n_steps - 1, 0)
        limits = output_padding_limits(state.stride, state.dilation)
        op = self._rows["output_padding"]
        renew_sliders(self, {"step_slider": (self._step_row, 0, last),
                             "output_padding_slider": (self.square_box, 0, min(limits)),
                             "output_padding_h_slider": (op, 0, limits[0]),
                             "output_padding_w_slider": (op, 0, limits[1])}, self._observers)
        sliders = [getattr(self, f"{name}{axis}_slider") for name in NAMES for axis in _AXES]
        layouts = [self.square_box.layout, self.per_axis_box.layout, self._op_layout]
        with holding(*sliders, *layouts, self.per_axis_checkbox, self.mode_toggle,
                     self.step_slider, self.play):
            self.mode_toggle.value = state.mode
            self.per_axis_checkbox.value = state.per_axis
            for name in NAMES:
                h, w = getattr(state, name)
                getattr(self, f"{name}_h_slider").value = h
                getattr(self, f"{name}_w_slider").value = w
                if h == w:  # in per-axis mode the (hidden) square slider keeps a square value
                    getattr(self, f"{name}_slider").value = h
            show_int(self.step_slider, state.step, 0, last)
            show_int(self.play, state.step, 0, last)
            self.step_slider.disabled = self.play.disabled = state.geometry.n_steps == 0
            self.square_box.layout.display = "none" if state.per_axis else None
            self.per_axis_box.layout.display = None if state.per_axis else "none"
            self._op_layout.display = None if state.mode == "transposed" else "none"

    def _info_html(self) -> str:
        """The formula, the current step and the colour key."""
        lines = [f"<code>{html.escape(line)}</code>" for line in self.formula.split("\n")]
        if self.error is None:
            lines.append(text("widgets.conv_explorer.step_of", step=self.step + 1,
                              steps=self.n_steps, position=self.output_position))
        lines.append(legend_html(self.mode == "transposed"))
        return "<br>".join(lines)

    # ----------------------------------------------------------------- observers
    @callback
    def _on_size(self, name: str, axis: str, change: dict) -> None:
        h, w = getattr(self.state, name)
        value = change["new"]
        pair = {"": (value, value), "_h": (value, w), "_w": (h, value)}[axis]
        self.set_from_control(**{name: pair})

    # ----------------------------------------------------------------- display
    def __repr__(self) -> str:
        return f"ConvExplorer({describe(self.state)})"
