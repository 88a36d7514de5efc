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
sliders make the combination valid again.

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
    slider ranges.  ``positions()``: every output position in step order.
    ``window_at(step)``: the ``window`` of another step, without moving (or redrawing).
    ``cell_kinds()``: the padded grid as an ``(rows, cols)`` array of
    :data:`INPUT`, :data:`PADDING`, :data:`ZERO` (inserted zero).

Widgets (attributes, for linking or setting): ``<name>_slider`` (both axes) and
``<name>_h_slider`` / ``<name>_w_slider`` for each size name above, ``per_axis_checkbox``,
``mode_toggle``, ``step_slider``, ``play``, ``image`` (``ipywidgets.Image``),
``message`` (``ipywidgets.HTML`` with the formula or the error, and a colour key),
``square_box`` / ``per_axis_box`` (the two slider groups; one is hidden).
"""

from __future__ import annotations

import base64
import functools
import html
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

import ipywidgets as widgets
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from convbook._args import check_positive_int, pair
from convbook.shapes import conv_out_size, effective_kernel_size
from convbook.widgets._png import png_bytes

#: cell kinds returned by :meth:`ConvExplorer.cell_kinds`
INPUT, PADDING, ZERO = 0, 1, 2
_CROPPED = 3  # drawn only: inserted-grid cells that negative transposed padding crops away

_NAMES = ("input_size", "kernel_size", "padding", "stride", "dilation", "output_padding")
_LABELS = {
    "input_size": "input",
    "kernel_size": "kernel",
    "padding": "padding",
    "stride": "stride",
    "dilation": "dilation",
    "output_padding": "output pad",
}
_MODES = ("conv", "transposed")

_LINE = (150, 150, 150)
_COLOURS = {
    INPUT: (189, 215, 238),  # light blue
    PADDING: (225, 225, 225),  # grey
    ZERO: (255, 246, 204),  # pale yellow
    _CROPPED: (110, 110, 110),  # dark grey
}
_READ = {  # a highlighted (read) cell, by kind
    INPUT: (231, 111, 81),  # orange-red
    PADDING: (244, 162, 97),  # light orange
    ZERO: (244, 162, 97),
}
_KERNEL = (144, 190, 109)  # green
_OUTPUT = (236, 231, 246)  # pale lavender
_VISITED = (200, 190, 230)
_CURRENT = (231, 111, 81)
_FRAME = (40, 40, 40)


def _span(n: int, k: int, s: int, p: int, d: int, op: int, transposed: bool) -> dict:
    """One axis of the picture: sizes, offsets and the output-size formula."""
    k_eff = effective_kernel_size(k, d)
    if transposed:
        inserted = (n - 1) * s + 1
        lo = d * (k - 1) - p  # padding before (negative: crop)
        hi = lo + op
        out = (n - 1) * s - 2 * p + d * (k - 1) + op + 1
        conv_stride = 1
    else:
        inserted, lo, hi, conv_stride = n, p, p, s
        try:
            out = conv_out_size(n, k, stride=s, padding=p, dilation=d)
        except ValueError:
            out = 0
    return dict(
        n=n,
        k=k,
        s=s,
        p=p,
        d=d,
        op=op,
        k_eff=k_eff,
        inserted=inserted,
        lo=lo,
        hi=hi,
        padded=inserted + lo + hi,
        conv_stride=conv_stride,
        out=out,
    )


def _formula(axis: str, a: dict, transposed: bool) -> str:
    if transposed:
        text = (
            f"{axis}_out = ({a['n']} − 1)·{a['s']} − 2·{a['p']} + {a['d']}·({a['k']} − 1)"
            f" + {a['op']} + 1"
        )
    else:
        text = (
            f"{axis}_out = floor(({a['n']} + 2·{a['p']} − {a['d']}·({a['k']} − 1) − 1)"
            f" / {a['s']}) + 1"
        )
    if a["out"] >= 1:
        return f"{text} = {a['out']}"
    # conv: the floor formula itself, which is <= 0 here (out was set to 0)
    value = a["out"] if transposed else (a["n"] + 2 * a["p"] - a["k_eff"]) // a["s"] + 1
    return f"{text} = {value}: impossible"


def _problem(name: str, a: dict, transposed: bool) -> str:
    """Why the output is empty along one axis (``name``: "the height", "both axes", ...)."""
    if transposed:
        full = (a["n"] - 1) * a["s"] + a["d"] * (a["k"] - 1) + a["op"] + 1
        return (
            f"Impossible along {name}: padding {a['p']} removes 2·{a['p']} = "
            f"{2 * a['p']} cells from a transposed output of only {full} "
            f"cell{'s' if full > 1 else ''}. "
            "Make the padding smaller."
        )
    dil = f" (dilated: {a['d']}·({a['k']} − 1) + 1 = {a['k_eff']})" if a["d"] > 1 else ""
    return (
        f"Impossible along {name}: the kernel spans {a['k_eff']} cells{dil} but the "
        f"padded input has only {a['n'] + 2 * a['p']} ({a['n']} + 2·{a['p']}). "
        "Make the kernel or dilation smaller, or the input or padding larger."
    )


def _check_output_padding(op: tuple[int, int], s: tuple[int, int], d: tuple[int, int]) -> None:
    """torch's rule for transposed convolution, per axis."""
    if any(op[i] >= max(s[i], d[i]) for i in range(2)):
        raise ValueError(
            f"output_padding must be < stride or < dilation, got output_padding {op}, "
            f"stride {s}, dilation {d}"
        )


_TITLE = 14  # pixels above the grids, for their titles
_LABEL_CELL = 18  # cells at least this many pixels wide get numbers


@functools.cache
def _digit_masks() -> dict[str, np.ndarray]:
    """Anti-aliased masks (8 x 7, values 0..1) of the digits in PIL's default font."""
    font = ImageFont.load_default()
    masks = {}
    for digit in "0123456789":
        image = Image.new("L", (7, 11))
        ImageDraw.Draw(image).text((0, 0), digit, fill=255, font=font)
        masks[digit] = np.asarray(image, dtype=np.float32)[2:10] / 255
    return masks


def _label(alpha: np.ndarray, number: int, y: int, x: int, cell: int) -> None:
    """Put ``number`` into the text mask ``alpha``, centred in the cell at ``(y, x)``, if
    it fits.  Blits cached digit masks: much faster than ``ImageDraw.text`` per label."""
    digits = _digit_masks()
    mask = np.concatenate([digits[d] for d in str(number)], axis=1)
    h, w = mask.shape
    if w > cell - 2:
        return
    y, x = y + (cell - h) // 2 + 1, x + (cell - w) // 2 + 1
    np.maximum(alpha[y : y + h, x : x + w], mask, out=alpha[y : y + h, x : x + w])


class ConvExplorer(widgets.VBox):
    """Sliders for a 2D convolution's sizes, and a picture of where its kernel reads.

    See the module docstring for the constructor arguments, state attributes and methods.
    """

    #: (min, max) of each slider
    LIMITS: ClassVar[dict[str, tuple[int, int]]] = {
        "input_size": (1, 12),
        "kernel_size": (1, 7),
        "padding": (0, 4),
        "stride": (1, 4),
        "dilation": (1, 4),
        "output_padding": (0, 3),
    }

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
        _check_output_padding(pairs["output_padding"], pairs["stride"], pairs["dilation"])
        check_positive_int(max_width, "max_width")
        # differing axes need the per-axis sliders, whatever per_axis says
        per_axis = bool(per_axis) or any(v[0] != v[1] for v in pairs.values())
        self._max_width = max_width
        self._holding = 0
        self._syncing = 0  # > 0 while code sets both axes one after the other
        self._dirty = False
        self._axes: tuple[dict, dict] | None = None
        self._png = b""
        self._text_key: tuple | None = None  # cache of the text layer, see _draw
        self._text: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

        # Shared style and layouts: each one is a model saved with the notebook.
        style = widgets.SliderStyle(description_width="80px")
        shared = widgets.Layout(width="300px")
        self._op_layout = widgets.Layout(width="300px")  # hidden in conv mode
        self._square: dict[str, widgets.IntSlider] = {}
        self._hw: dict[str, tuple[widgets.IntSlider, widgets.IntSlider]] = {}
        for name in _NAMES:
            lo, hi = self.LIMITS[name]
            label = _LABELS[name]
            h, w = pairs[name]
            layout = self._op_layout if name == "output_padding" else shared
            square = widgets.IntSlider(
                value=h,
                min=lo,
                max=hi,
                description=label,
                style=style,
                layout=layout,
            )
            sh = widgets.IntSlider(
                value=h,
                min=lo,
                max=hi,
                description=f"{label} H",
                style=style,
                layout=layout,
            )
            sw = widgets.IntSlider(
                value=w,
                min=lo,
                max=hi,
                description=f"{label} W",
                style=style,
                layout=layout,
            )
            setattr(self, f"{name}_slider", square)
            setattr(self, f"{name}_h_slider", sh)
            setattr(self, f"{name}_w_slider", sw)
            self._square[name], self._hw[name] = square, (sh, sw)
            square.observe(self._on_square(name), names="value")
            sh.observe(self._on_axis(name), names="value")
            sw.observe(self._on_axis(name), names="value")

        self.per_axis_checkbox = widgets.Checkbox(value=per_axis, description="per-axis")
        self.per_axis_checkbox.observe(self._on_per_axis, names="value")
        self.mode_toggle = widgets.ToggleButtons(
            options=[("convolution", "conv"), ("transposed", "transposed")], value=mode
        )
        self.mode_toggle.observe(lambda _: self._changed(), names="value")
        self.step_slider = widgets.IntSlider(
            value=0,
            min=0,
            max=0,
            description="step",
            style=style,
            layout=shared,
        )
        self.step_slider.observe(lambda _: self._changed(), names="value")
        self.play = widgets.Play(value=0, min=0, max=0, interval=700, description="play")
        self._links = [
            widgets.link((self.play, "value"), (self.step_slider, "value")),
            widgets.link((self.play, "max"), (self.step_slider, "max")),
        ]
        self.image = widgets.Image(format="png", layout=widgets.Layout(max_width="100%"))
        self.message = widgets.HTML()
        self.square_box = widgets.VBox(list(self._square.values()))
        row = widgets.Layout()
        self.per_axis_box = widgets.VBox(
            [widgets.HBox(list(self._hw[name]), layout=row) for name in _NAMES]
        )

        super().__init__(
            [
                widgets.HBox([self.mode_toggle, self.per_axis_checkbox], layout=row),
                self.square_box,
                self.per_axis_box,
                widgets.HBox([self.play, self.step_slider], layout=row),
                self.image,
                self.message,
            ]
        )
        # CSS classes name the parts for readers' custom styles and the browser tests
        self.add_class("convbook-conv-explorer")
        self.image.add_class("convbook-drawing")
        self.step_slider.add_class("convbook-step")
        with self._hold():
            self._layout_sliders()
            self._limit_output_padding()
            self._changed()
        if step:
            self.set(step=step)

    # ----------------------------------------------------------------- validation
    def _check(self, name: str, value: object) -> tuple[int, int]:
        lo, hi = self.LIMITS[name]
        h, w = pair(value, name, minimum=lo)
        if max(h, w) > hi:
            raise ValueError(f"{name} must be <= {hi} in the explorer, got {value}")
        return h, w

    @staticmethod
    def _check_mode(mode: object) -> None:
        if mode not in _MODES:
            raise ValueError(f"mode must be 'conv' or 'transposed', got {mode!r}")

    # ----------------------------------------------------------------- state
    def _pair(self, name: str) -> tuple[int, int]:
        sh, sw = self._hw[name]
        return sh.value, sw.value

    @property
    def input_size(self) -> tuple[int, int]:
        return self._pair("input_size")

    @input_size.setter
    def input_size(self, value: int | tuple[int, int]) -> None:
        self.set(input_size=value)

    @property
    def kernel_size(self) -> tuple[int, int]:
        return self._pair("kernel_size")

    @kernel_size.setter
    def kernel_size(self, value: int | tuple[int, int]) -> None:
        self.set(kernel_size=value)

    @property
    def padding(self) -> tuple[int, int]:
        return self._pair("padding")

    @padding.setter
    def padding(self, value: int | tuple[int, int]) -> None:
        self.set(padding=value)

    @property
    def stride(self) -> tuple[int, int]:
        return self._pair("stride")

    @stride.setter
    def stride(self, value: int | tuple[int, int]) -> None:
        self.set(stride=value)

    @property
    def dilation(self) -> tuple[int, int]:
        return self._pair("dilation")

    @dilation.setter
    def dilation(self, value: int | tuple[int, int]) -> None:
        self.set(dilation=value)

    @property
    def output_padding(self) -> tuple[int, int]:
        return self._pair("output_padding")

    @output_padding.setter
    def output_padding(self, value: int | tuple[int, int]) -> None:
        self.set(output_padding=value)

    @property
    def mode(self) -> str:
        return self.mode_toggle.value

    @mode.setter
    def mode(self, value: str) -> None:
        self.set(mode=value)

    @property
    def per_axis(self) -> bool:
        return self.per_axis_checkbox.value

    @per_axis.setter
    def per_axis(self, value: bool) -> None:
        self.set(per_axis=value)

    @property
    def step(self) -> int:
        return self.step_slider.value

    @step.setter
    def step(self, value: int) -> None:
        self.set(step=value)

    @property
    def output_size(self) -> tuple[int, int] | None:
        if self.error is not None:
            return None
        return self._axes[0]["out"], self._axes[1]["out"]

    @property
    def n_steps(self) -> int:
        size = self.output_size
        return 0 if size is None else size[0] * size[1]

    @property
    def padded_size(self) -> tuple[int, int]:
        return self._axes[0]["padded"], self._axes[1]["padded"]

    @property
    def output_position(self) -> tuple[int, int] | None:
        size = self.output_size
        return None if size is None else divmod(self.step, size[1])

    @property
    def window(self) -> list[tuple[int, int]]:
        position = self.output_position
        if position is None:
            return []
        return self._window(*position)

    @property
    def error(self) -> str | None:
        return self._error

    @property
    def formula(self) -> str:
        return self._formula

    @property
    def png(self) -> bytes:
        return self._png

    @property
    def cell_px(self) -> int:
        """Side of one cell in the drawing, in pixels; drawn cell ``(r, c)`` of the padded
        input (see :meth:`cell_kinds`; cropped cells come first) starts at pixel
        ``(14 + r * cell_px, c * cell_px)``, under the 14-pixel title strip."""
        return self._cell_px

    def positions(self) -> list[tuple[int, int]]:
        """Every output position ``(row, col)``, in step (row-major) order."""
        size = self.output_size
        if size is None:
            return []
        return [(i, j) for i in range(size[0]) for j in range(size[1])]

    def window_at(self, step: int) -> list[tuple[int, int]]:
        """``window`` at output position number ``step`` (row-major), without moving there."""
        size = self.output_size
        if size is None or not 0 <= step < size[0] * size[1]:
            raise ValueError(f"step must be in 0..{self.n_steps - 1}, got {step}")
        return self._window(*divmod(step, size[1]))

    def _window(self, i: int, j: int) -> list[tuple[int, int]]:
        ah, aw = self._axes
        return [
            (i * ah["conv_stride"] + a * ah["d"], j * aw["conv_stride"] + b * aw["d"])
            for a in range(ah["k"])
            for b in range(aw["k"])
        ]

    def cell_kinds(self) -> np.ndarray:
        """The padded grid, ``(rows, cols)``: INPUT, PADDING or ZERO (inserted) per cell.

        With negative transposed padding (a crop) the grid is the cropped one.
        """
        kinds = self._kinds()
        ah, aw = self._axes
        r0, c0 = max(0, -ah["lo"]), max(0, -aw["lo"])
        return kinds[r0 : r0 + ah["padded"], c0 : c0 + aw["padded"]].copy()

    def _kinds(self) -> np.ndarray:
        """Kinds of every drawn cell: the padded grid plus any cropped rows/columns."""
        per_axis = []
        transposed = self.mode == "transposed"
        for a in self._axes:
            first = min(0, -a["lo"])  # in inserted-grid coordinates
            last = max(a["inserted"], a["inserted"] + a["hi"])
            z = np.arange(first, last)
            inside = (z >= 0) & (z < a["inserted"])
            in_conv = (z >= -a["lo"]) & (z < a["inserted"] + a["hi"])
            zero = inside & (z % a["s"] != 0) if transposed else np.zeros_like(inside)
            per_axis.append((inside, in_conv, zero))
        (ih, ch, zh), (iw, cw, zw) = per_axis
        kinds = np.full((len(ih), len(iw)), INPUT, dtype=np.int64)
        kinds[zh[:, None] | zw[None, :]] = ZERO
        kinds[~(ih[:, None] & iw[None, :])] = PADDING
        kinds[~(ch[:, None] & cw[None, :])] = _CROPPED
        return kinds

    # ----------------------------------------------------------------- setting
    def set(self, **kwargs: Any) -> ConvExplorer:
        """Set several values at once (one redraw); returns ``self``.

        Keys: ``input_size``, ``kernel_size``, ``padding``, ``stride``, ``dilation``,
        ``output_padding`` (int or ``(h, w)``), ``mode``, ``per_axis``, ``step``.
        """
        unknown = set(kwargs) - {*_NAMES, "mode", "per_axis", "step"}
        if unknown:
            raise TypeError(f"set() got unexpected argument(s) {sorted(unknown)}")
        pairs = {n: self._check(n, kwargs[n]) for n in _NAMES if n in kwargs}
        if "mode" in kwargs:
            self._check_mode(kwargs["mode"])
        with self._hold():
            if "mode" in kwargs:
                self.mode_toggle.value = kwargs["mode"]
            if kwargs.get("per_axis") is not None:
                self.per_axis_checkbox.value = bool(kwargs["per_axis"])
            for name, value in pairs.items():
                if name != "output_padding":
                    self._set_pair(name, value)
            self._limit_output_padding()
            if "output_padding" in pairs:
                _check_output_padding(pairs["output_padding"], self.stride, self.dilation)
                self._set_pair("output_padding", pairs["output_padding"])
            if "step" in kwargs:
                self._recompute()  # the new sizes' step range (drawn when the hold ends)
                self._changed()
                step = kwargs["step"]
                if not isinstance(step, int) or isinstance(step, bool):
                    raise TypeError(f"step must be an int, got {step!r}")
                if not 0 <= step < max(self.n_steps, 1):
                    raise ValueError(f"step must be in 0..{max(self.n_steps, 1) - 1}, got {step}")
                self.step_slider.value = step
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

    def _on_square(self, name: str):
        def handler(change: dict) -> None:
            if self.per_axis:
                return
            with self._sync():
                sh, sw = self._hw[name]
                sh.value = sw.value = change["new"]
                self._changed()

        return handler

    def _on_axis(self, name: str):
        def handler(change: dict) -> None:
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

        return handler

    def _on_per_axis(self, change: dict) -> None:
        with self._sync():
            if not change["new"]:  # back to square: use the height values for both axes
                for name in _NAMES:
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
        s, d = self.stride, self.dilation
        limits = [min(hi, max(s[i], d[i]) - 1) for i in range(2)]
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
        """Sizes, error, formula and step range from the sliders (no drawing)."""
        transposed = self.mode == "transposed"
        self._axes = tuple(
            _span(
                self.input_size[i],
                self.kernel_size[i],
                self.stride[i],
                self.padding[i],
                self.dilation[i],
                self.output_padding[i] if transposed else 0,
                transposed,
            )
            for i in range(2)
        )
        ah, aw = self._axes
        both = ah["out"] < 1 and aw["out"] < 1
        if both and _problem("", ah, transposed) == _problem("", aw, transposed):
            self._error = _problem("both axes", ah, transposed)
        else:
            problems = [
                _problem(f"the {name}", a, transposed)
                for name, a in zip(("height", "width"), self._axes)
                if a["out"] < 1
            ]
            self._error = " ".join(problems) if problems else None
        self._formula = "\n".join(
            _formula(axis, a, transposed) for axis, a in zip("HW", self._axes)
        )
        self._op_layout.display = None if transposed else "none"
        n = self.n_steps
        self.step_slider.disabled = self.play.disabled = n == 0
        self.step_slider.max = max(n - 1, 0)  # clamps the value; linked to the play button

    def _show(self) -> None:
        """Draw the picture and write the formula, error and colour key."""
        transposed = self.mode == "transposed"
        n = self.n_steps
        self._png = png_bytes(self._draw())
        self.image.value = self._png
        lines = [html.escape(line) for line in self._formula.split("\n")]
        text = "<br>".join(f"<code>{line}</code>" for line in lines)
        if self._error is not None:
            text += f'<br><b style="color:#b00">{html.escape(self._error)}</b>'
        else:
            text += f"<br>step {self.step + 1} of {n}: output {self.output_position}"
        self.message.value = text + self._legend(transposed)

    def _draw(self) -> np.ndarray:
        kinds = self._kinds()
        ah, aw = self._axes
        kh, kw = ah["k"], aw["k"]
        size = self.output_size
        oh, ow = size if size is not None else (0, 0)
        rows = max(kinds.shape[0], kh, oh)
        cols = kinds.shape[1] + kw + ow + 4  # + gaps
        # fit max_width x 420 pixels (PNG encoding time grows with the pixel count)
        cell = int(np.clip(min(self._max_width // cols, 420 // rows), 3, 32))
        gap = max(2 * cell, 16)
        title = _TITLE
        self._cell_px = cell
        width = (kinds.shape[1] + kw + ow) * cell + 2 * gap + 3
        height = rows * cell + title + 1
        canvas = np.full((height, width, 3), 255, dtype=np.uint8)

        # input panel
        colours = np.zeros((*kinds.shape, 3), dtype=np.uint8)
        for kind, colour in _COLOURS.items():
            colours[kinds == kind] = colour
        offset = (max(0, -ah["lo"]), max(0, -aw["lo"]))  # padded coords -> drawn cells
        window = self.window
        for r, c in window:
            r, c = r + offset[0], c + offset[1]
            colours[r, c] = _READ[int(kinds[r, c])]
        self._panel(canvas, colours, title, 0, cell)
        if window:
            (r0, c0), (r1, c1) = window[0], window[-1]
            self._frame(
                canvas,
                title + (r0 + offset[0]) * cell,
                (c0 + offset[1]) * cell,
                (r1 - r0 + 1) * cell,
                (c1 - c0 + 1) * cell,
            )

        # kernel panel
        x = kinds.shape[1] * cell + gap
        self._panel(canvas, np.full((kh, kw, 3), _KERNEL, dtype=np.uint8), title, x, cell)

        # output panel
        x += kw * cell + gap
        if size is not None:
            out = np.full((oh * ow, 3), _OUTPUT, dtype=np.uint8)
            out[: self.step] = _VISITED
            out[self.step] = _CURRENT
            self._panel(canvas, out.reshape(oh, ow, 3), title, x, cell)

        # Text (titles, numbers) depends on the sizes only, not on the step: cache it.
        key = (self.mode, tuple(ah.items()), tuple(aw.items()), cell, canvas.shape)
        if self._text_key != key:
            self._text_key = key
            self._text = self._text_layer(kinds, canvas.shape[:2], cell, gap, title, x)
        ys, xs, alpha = self._text
        ink = np.asarray(_FRAME, dtype=np.float32)
        canvas[ys, xs] = (canvas[ys, xs] * (1 - alpha) + ink * alpha).round().astype(np.uint8)
        return canvas

    def _text_layer(
        self, kinds: np.ndarray, shape: tuple[int, int], cell: int, gap: int, title: int, x: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Pixels covered by text, as ``(ys, xs, alpha[:, None])``."""
        ah, aw = self._axes
        kh, kw = ah["k"], aw["k"]
        x_kernel = kinds.shape[1] * cell + gap
        size = self.output_size
        image = Image.new("L", (shape[1], shape[0]))
        draw = ImageDraw.Draw(image)
        draw.text((0, 0), "padded input", fill=255)
        draw.text((x_kernel, 0), "kernel", fill=255)
        draw.text((x, 0), "output" if size is not None else "output: impossible", fill=255)
        alpha = np.asarray(image, dtype=np.float32) / 255
        if cell >= _LABEL_CELL:  # numbers: input pixels, kernel weights, output steps
            transposed = self.mode == "transposed"
            first = (min(0, -ah["lo"]), min(0, -aw["lo"]))  # drawn cell 0, inserted coords
            steps = (ah["s"], aw["s"]) if transposed else (1, 1)
            for r, c in zip(*np.nonzero(kinds == INPUT)):
                i, j = (r + first[0]) // steps[0], (c + first[1]) // steps[1]
                _label(alpha, i * aw["n"] + j, title + r * cell, c * cell, cell)
            for a in range(kh):
                for b in range(kw):
                    # transposed: tap (a, b) multiplies the flipped weight
                    w = (kh - 1 - a) * kw + (kw - 1 - b) if transposed else a * kw + b
                    _label(alpha, w, title + a * cell, x_kernel + b * cell, cell)
            if size is not None:
                ow = size[1]
                for t in range(size[0] * ow):
                    _label(alpha, t, title + (t // ow) * cell, x + (t % ow) * cell, cell)
        ys, xs = np.nonzero(alpha)
        return ys, xs, alpha[ys, xs][:, None]

    @staticmethod
    def _legend(transposed: bool) -> str:
        """Colour key, as HTML."""
        items = [(_COLOURS[INPUT], "input"), (_COLOURS[PADDING], "padding")]
        if transposed:
            items += [(_COLOURS[ZERO], "inserted zero"), (_COLOURS[_CROPPED], "cropped")]
        items += [
            (_READ[INPUT], "read by the kernel"),
            (_READ[PADDING], "read, but zero"),
            (_CURRENT, "current output"),
            (_VISITED, "done"),
        ]
        swatch = (
            '<span style="display:inline-block;width:0.9em;height:0.9em;'
            'border:1px solid #999;background:rgb{};margin:0 0.3em 0 0.8em"></span>{}'
        )
        return "<br>" + "".join(swatch.format(colour, label) for colour, label in items)

    @staticmethod
    def _panel(canvas: np.ndarray, colours: np.ndarray, y: int, x: int, cell: int) -> None:
        rows, cols = colours.shape[:2]
        block = colours.repeat(cell, axis=0).repeat(cell, axis=1)
        block[::cell, :] = _LINE
        block[:, ::cell] = _LINE
        canvas[y : y + rows * cell, x : x + cols * cell] = block
        canvas[y + rows * cell, x : x + cols * cell + 1] = _LINE
        canvas[y : y + rows * cell + 1, x + cols * cell] = _LINE

    @staticmethod
    def _frame(canvas: np.ndarray, y: int, x: int, h: int, w: int) -> None:
        """A 2-pixel dark outline around the kernel window's span."""
        canvas[y : y + 2, x : x + w + 1] = _FRAME
        canvas[y + h - 1 : y + h + 1, x : x + w + 1] = _FRAME
        canvas[y : y + h + 1, x : x + 2] = _FRAME
        canvas[y : y + h + 1, x + w - 1 : x + w + 1] = _FRAME

    # ----------------------------------------------------------------- display
    def _repr_mimebundle_(self, **kwargs: Any) -> dict:
        # ipywidgets cuts text/plain at 110 characters; nbval compares all of it
        bundle = super()._repr_mimebundle_(**kwargs)
        bundle["text/plain"] = repr(self)
        # a still of the picture for viewers without widget JavaScript (static HTML, GitHub);
        # JupyterLab prefers the widget view
        bundle["image/png"] = base64.b64encode(self.png).decode("ascii")
        return bundle

    def __repr__(self) -> str:
        def show(name: str) -> str:
            return str(self._pair(name))

        parts = [
            f"mode={self.mode!r}",
            f"input={show('input_size')}",
            f"kernel={show('kernel_size')}",
            f"padding={show('padding')}",
            f"stride={show('stride')}",
            f"dilation={show('dilation')}",
        ]
        if self.mode == "transposed":
            parts.append(f"output_padding={show('output_padding')}")
        size = self.output_size
        result = "impossible" if size is None else f"output {size}"
        return f"ConvExplorer({', '.join(parts)} -> {result})"
