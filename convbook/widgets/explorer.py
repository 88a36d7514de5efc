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
:mod:`convbook.widgets.base`; the arithmetic is in :mod:`~convbook.widgets.explorer_geometry`,
the state attributes in :mod:`~convbook.widgets.explorer_state` and the picture in
:mod:`~convbook.widgets.explorer_drawing`.

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

State (read; the sizes, ``mode``, ``per_axis`` and ``step`` can also be assigned, which
goes through :meth:`set`):
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
    slider ranges, having checked every value before changing any.
    ``positions()``: every output position in step order.
    ``window_at(step)``: the ``window`` of another step, without moving (or redrawing).
    ``cell_kinds()``: the padded grid as an ``(rows, cols)`` array of
    :data:`INPUT`, :data:`PADDING`, :data:`ZERO` (inserted zero).

Widgets (attributes, for linking or setting): ``<name>_slider`` (both axes) and
``<name>_h_slider`` / ``<name>_w_slider`` for each size name above, ``per_axis_checkbox``,
``mode_toggle``, ``step_slider``, ``play``, ``drawing_view`` (``ipywidgets.Image``),
``message`` (``ipywidgets.HTML`` with the error, the formula and a colour key),
``square_box`` / ``per_axis_box`` (the two slider groups; one is hidden).
"""

from __future__ import annotations

import functools
import html
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import ipywidgets as widgets

from convbook._args import check_positive_int
from convbook.widgets._png import png_bytes
from convbook.widgets.base import BookWidget, callback
from convbook.widgets.explorer_drawing import Painter, legend_html
from convbook.widgets.explorer_geometry import (
    INPUT,
    PADDING,
    ZERO,
    ConvGeometry,
    check_output_padding,
    output_padding_limits,
)
from convbook.widgets.explorer_state import NAMES, ConvExplorerState

# INPUT, PADDING, ZERO: the cell kinds of ConvExplorer.cell_kinds, importable from here too
__all__ = ["INPUT", "PADDING", "ZERO", "ConvExplorer"]

_LABELS = {
    "input_size": "input",
    "kernel_size": "kernel",
    "padding": "padding",
    "stride": "stride",
    "dilation": "dilation",
    "output_padding": "output pad",
}


def _slider(
    description: str, value: int, lo: int, hi: int, style: widgets.SliderStyle,
    layout: widgets.Layout,
) -> widgets.IntSlider:
    return widgets.IntSlider(
        value=value, min=lo, max=hi, description=description, style=style, layout=layout
    )


class ConvExplorer(ConvExplorerState, BookWidget):
    """Sliders for a 2D convolution's sizes, and a picture of where its kernel reads.

    See the module docstring for the constructor arguments, state attributes and methods.
    """

    CSS_CLASS = "convbook-conv-explorer"

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
        values = {
            "input_size": input_size,
            "kernel_size": kernel_size,
            "padding": padding,
            "stride": stride,
            "dilation": dilation,
            "output_padding": output_padding,
        }
        pairs = {name: self._check(name, value) for name, value in values.items()}
        self._check_mode(mode)
        self._check_per_axis(per_axis)
        check_output_padding(pairs["output_padding"], pairs["stride"], pairs["dilation"])
        check_positive_int(max_width, "max_width")
        # differing axes need the per-axis sliders, whatever per_axis says
        per_axis = per_axis or any(v[0] != v[1] for v in pairs.values())
        self._painter = Painter(max_width)
        self._holding = 0
        self._syncing = 0  # > 0 while code sets both axes one after the other
        self._dirty = False
        self._geometry: ConvGeometry | None = None
        self._png = b""

        # Shared style and layouts: each one is a model saved with the notebook.
        style = widgets.SliderStyle(description_width="80px")
        shared = widgets.Layout(width="300px")
        self._op_layout = widgets.Layout(width="300px")  # hidden in conv mode
        self._square: dict[str, widgets.IntSlider] = {}
        self._hw: dict[str, tuple[widgets.IntSlider, widgets.IntSlider]] = {}
        for name in NAMES:
            lo, hi = self.LIMITS[name]
            label, (h, w) = _LABELS[name], pairs[name]
            layout = self._op_layout if name == "output_padding" else shared
            square, sh, sw = (
                _slider(text, value, lo, hi, style, layout)
                for text, value in ((label, h), (f"{label} H", h), (f"{label} W", w))
            )
            setattr(self, f"{name}_slider", square)
            setattr(self, f"{name}_h_slider", sh)
            setattr(self, f"{name}_w_slider", sw)
            self._square[name], self._hw[name] = square, (sh, sw)
            square.observe(functools.partial(self._on_square, name), names="value")
            sh.observe(functools.partial(self._on_axis, name), names="value")
            sw.observe(functools.partial(self._on_axis, name), names="value")

        self.per_axis_checkbox = widgets.Checkbox(value=per_axis, description="per-axis")
        self.per_axis_checkbox.observe(self._on_per_axis, names="value")
        self.mode_toggle = widgets.ToggleButtons(
            options=[("convolution", "conv"), ("transposed", "transposed")], value=mode
        )
        self.mode_toggle.observe(self._on_change, names="value")
        self.step_slider = _slider("step", 0, 0, 0, style, shared)
        self.step_slider.observe(self._on_change, names="value")
        self.play = widgets.Play(value=0, min=0, max=0, interval=700, description="play")
        self._links = [
            widgets.link((self.play, "value"), (self.step_slider, "value")),
            widgets.link((self.play, "max"), (self.step_slider, "max")),
        ]
        self.drawing_view = widgets.Image(format="png", layout=widgets.Layout(max_width="100%"))
        self.square_box = widgets.VBox(list(self._square.values()))
        row = widgets.Layout()
        self.per_axis_box = widgets.VBox(
            [widgets.HBox(list(self._hw[name]), layout=row) for name in NAMES]
        )

        super().__init__(
            [
                widgets.HBox([self.mode_toggle, self.per_axis_checkbox], layout=row),
                self.square_box,
                self.per_axis_box,
                widgets.HBox([self.play, self.step_slider], layout=row),
                self.drawing_view,
            ]
        )
        # CSS classes name the parts for readers' custom styles and the browser tests
        self.drawing_view.add_class("convbook-drawing")
        self.step_slider.add_class("convbook-step")
        with self._hold():
            self._layout_sliders()
            self._limit_output_padding()
            self._changed()
        if step:
            self.set(step=step)

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

    # ----------------------------------------------------------------- setting
    def set(self, **kwargs: Any) -> ConvExplorer:
        """Set several values at once (one redraw); returns ``self``.

        Keys: ``input_size``, ``kernel_size``, ``padding``, ``stride``, ``dilation``,
        ``output_padding`` (int or ``(h, w)``), ``mode``, ``per_axis``, ``step``.  Every
        value is checked, against the state it would make, before anything changes.
        """
        pairs = self._check_changes(kwargs)

        with self._hold():
            if "mode" in kwargs:
                self.mode_toggle.value = kwargs["mode"]
            if kwargs.get("per_axis") is not None:
                self.per_axis_checkbox.value = kwargs["per_axis"]
            for name, value in pairs.items():
                if name != "output_padding":
                    self._set_pair(name, value)
            self._limit_output_padding()
            if "output_padding" in pairs:
                self._set_pair("output_padding", pairs["output_padding"])
            if "step" in kwargs:
                self._recompute()  # the new sizes' step range (drawn when the hold ends)
                self._changed()
                self.step_slider.value = kwargs["step"]
        return self

    def _set_pair(self, name: str, value: tuple[int, int]) -> None:
        if value[0] != value[1] and not self.per_axis:
            self.per_axis_checkbox.value = True
        sh, sw = self._hw[name]
        with self._sync():
            sh.value, sw.value = value
            if value[0] == value[1]:
                self._square[name].value = value[0]

    # ----------------------------------------------------------------- events
    @contextmanager
    def _hold(self) -> Iterator[None]:
        """Batch changes: redraw once, when the outermost ``with`` ends."""
        self._holding += 1
        try:
            yield
        finally:
            self._holding -= 1
            if self._holding == 0 and self._dirty:
                self._refresh()

    @contextmanager
    def _sync(self) -> Iterator[None]:
        """Set several sliders without the in-between states switching per-axis on."""
        self._syncing += 1
        try:
            with self._hold():
                yield
        finally:
            self._syncing -= 1

    def _changed(self) -> None:
        self._dirty = True
        if self._holding == 0:
            self._refresh()

    @callback
    def _on_change(self, change: dict) -> None:
        self._changed()

    @callback
    def _on_square(self, name: str, change: dict) -> None:
        if self.per_axis:
            return
        with self._sync():
            sh, sw = self._hw[name]
            sh.value = sw.value = change["new"]
            self._changed()

    @callback
    def _on_axis(self, name: str, change: dict) -> None:
        with self._hold():
            h, w = self._pair(name)
            if self._syncing:
                pass  # the code setting both axes keeps the square slider right
            elif h != w and not self.per_axis:
                self.per_axis_checkbox.value = True
            elif h == w:
                self._square[name].value = h
            if name in ("stride", "dilation"):
                self._limit_output_padding()
            self._changed()

    @callback
    def _on_per_axis(self, change: dict) -> None:
        with self._sync():
            if not change["new"]:  # back to square: use the height values for both axes
                for name in NAMES:
                    sh, sw = self._hw[name]
                    self._square[name].value = sh.value
                    sw.value = sh.value
            self._layout_sliders()
            self._changed()

    def _layout_sliders(self) -> None:
        per_axis = self.per_axis
        self.square_box.layout.display = "none" if per_axis else None
        self.per_axis_box.layout.display = None if per_axis else "none"

    def _limit_output_padding(self) -> None:
        """Keep output_padding < max(stride, dilation) on each axis, as torch requires."""
        hi = self.LIMITS["output_padding"][1]
        limits = [min(hi, limit) for limit in output_padding_limits(self.stride, self.dilation)]
        square = self._square["output_padding"]
        with self._sync():
            for slider, limit in zip(self._hw["output_padding"], limits):
                slider.value = min(slider.value, limit)
            square.value = min(square.value, min(limits))
            for slider, limit in zip(self._hw["output_padding"], limits):
                slider.max = limit
            square.max = min(limits)

    # ----------------------------------------------------------------- drawing
    def _refresh(self) -> None:
        # Changing the step range below may move the step; its observer must not start a
        # second, nested redraw, since this one draws the final step anyway.
        self._holding += 1
        try:
            self._recompute()
            self._show()
        finally:
            self._holding -= 1
            self._dirty = False

    def _recompute(self) -> None:
        """Geometry, error and step range from the sliders (no drawing)."""
        self._geometry = ConvGeometry.of(**{n: self._pair(n) for n in NAMES}, mode=self.mode)
        self.error = self._geometry.error
        self._op_layout.display = None if self.mode == "transposed" else "none"
        n = self.n_steps
        self.step_slider.disabled = self.play.disabled = n == 0
        self.step_slider.max = max(n - 1, 0)  # clamps the value; linked to the play button

    def _show(self) -> None:
        """Draw the picture and write the message."""
        self._png = png_bytes(self._painter.draw(self._geometry, self.step))
        self.drawing_view.value = self._png
        self._render_message()

    def _info_html(self) -> str:
        """The formula, the current step and the colour key."""
        lines = [f"<code>{html.escape(line)}</code>" for line in self.formula.split("\n")]
        if self.error is None:
            lines.append(f"step {self.step + 1} of {self.n_steps}: output {self.output_position}")
        lines.append(legend_html(self.mode == "transposed"))
        return "<br>".join(lines)

    # ----------------------------------------------------------------- display
    def __repr__(self) -> str:
        parts = [
            f"mode={self.mode!r}",
            f"input={self.input_size}",
            f"kernel={self.kernel_size}",
            f"padding={self.padding}",
            f"stride={self.stride}",
            f"dilation={self.dilation}",
        ]
        if self.mode == "transposed":
            parts.append(f"output_padding={self.output_padding}")
        size = self.output_size
        result = "impossible" if size is None else f"output {size}"
        return f"ConvExplorer({', '.join(parts)} -> {result})"
