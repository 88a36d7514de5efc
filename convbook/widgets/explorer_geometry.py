"""Where a 2D convolution's kernel reads, as the convolution explorer draws it.

Pure arithmetic on the sizes (no widgets, no pixels), built on :mod:`convbook.shapes`.

The explorer draws the grid that the kernel slides over, in *padded* coordinates.  In
``conv`` mode that is the input with ``padding`` cells on each side, and the kernel moves
by ``stride``.  In ``transposed`` mode it is the input with ``stride - 1`` zeros inserted
between neighbouring pixels, padded by ``q = d(k - 1) - p`` cells on each side (plus
``output_padding`` at the end; a negative ``q`` crops the zero-inserted input), and the
kernel moves by 1: a stride-1 convolution of that grid is the transposed convolution.

>>> g = ConvGeometry.of(input_size=(5, 5), kernel_size=(3, 3), padding=(1, 1),
...                     stride=(2, 2), dilation=(1, 1))
>>> g.output_size, g.padded_size
((3, 3), (7, 7))
>>> g.window(4)  # output (1, 1) reads rows and columns 2..4 of the padded grid
[(2, 2), (2, 3), (2, 4), (3, 2), (3, 3), (3, 4), (4, 2), (4, 3), (4, 4)]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from convbook.language import text
from convbook.shapes import conv_out_size, conv_transpose_out_size, effective_kernel_size

#: cell kinds of :meth:`ConvGeometry.cell_kinds`: an input pixel, padding, an inserted zero
INPUT, PADDING, ZERO = 0, 1, 2
#: drawn only: cells of the zero-inserted input that negative transposed padding crops away
CROPPED = 3

MODES = ("conv", "transposed")

Pair = tuple[int, int]


def check_output_padding(output_padding: Pair, stride: Pair, dilation: Pair) -> None:
    """torch's rule for transposed convolution, per axis: ``op < stride or op < dilation``."""
    if any(output_padding[i] >= max(stride[i], dilation[i]) for i in range(2)):
        raise ValueError(
            f"output_padding must be < stride or < dilation, got output_padding "
            f"{output_padding}, stride {stride}, dilation {dilation}"
        )


def output_padding_limits(stride: Pair, dilation: Pair) -> Pair:
    """The largest ``output_padding`` allowed on each axis: ``max(stride, dilation) - 1``."""
    return max(stride[0], dilation[0]) - 1, max(stride[1], dilation[1]) - 1


@dataclass(frozen=True)
class Axis:
    """One axis (height or width) of the picture.

    ``n`` input size, ``k`` kernel size, ``s`` stride, ``p`` padding, ``d`` dilation,
    ``op`` output padding (transposed mode only; 0 in conv mode).
    """

    n: int
    k: int
    s: int
    p: int
    d: int
    op: int
    transposed: bool

    @property
    def k_eff(self) -> int:
        """Extent of the dilated kernel, ``d(k - 1) + 1``."""
        return effective_kernel_size(self.k, self.d)

    @property
    def inserted(self) -> int:
        """Length of the input after zero insertion (transposed), else of the input."""
        return (self.n - 1) * self.s + 1 if self.transposed else self.n

    @property
    def lo(self) -> int:
        """Cells before the (inserted) input on the slid-over grid; negative: cropped."""
        return self.d * (self.k - 1) - self.p if self.transposed else self.p

    @property
    def hi(self) -> int:
        """Cells after the (inserted) input on the slid-over grid."""
        return self.lo + self.op if self.transposed else self.p

    @property
    def padded(self) -> int:
        """Length of the grid the kernel slides over."""
        return self.inserted + self.lo + self.hi

    @property
    def conv_stride(self) -> int:
        """How far the kernel moves on that grid: the stride, or 1 when transposed."""
        return 1 if self.transposed else self.s

    @property
    def value(self) -> int:
        """The output-size formula's value; below 1 when the combination is impossible."""
        if self.transposed:
            # the output before the padding cuts p cells from each side (always >= 1)
            return self.full - 2 * self.p
        if self.k_eff <= self.n + 2 * self.p:
            return conv_out_size(self.n, self.k, stride=self.s, padding=self.p, dilation=self.d)
        # conv_out_size refuses this case; the formula's (non-positive) value, to show
        return (self.n + 2 * self.p - self.k_eff) // self.s + 1

    @property
    def full(self) -> int:
        """Transposed: the output size before the padding is cut, ``p = 0``."""
        return conv_transpose_out_size(
            self.n, self.k, stride=self.s, padding=0, output_padding=self.op, dilation=self.d
        )

    def formula(self, name: str) -> str:
        """The output-size formula with this axis' numbers, e.g. ``H_out = ... = 3``."""
        if self.transposed:
            formula = (
                f"{name}_out = ({self.n} − 1)·{self.s} − 2·{self.p} + {self.d}·({self.k} − 1)"
                f" + {self.op} + 1"
            )
        else:
            formula = (
                f"{name}_out = floor(({self.n} + 2·{self.p} − {self.d}·({self.k} − 1) − 1)"
                f" / {self.s}) + 1"
            )
        value = self.value
        if value >= 1:
            return f"{formula} = {value}"
        return f"{formula} = {value}: {text('widgets.conv_explorer.impossible')}"

    def problem(self, where: str) -> str:
        """Why the output is empty along this axis (``where``: "the height", ... in the
        reader's language)."""
        if self.transposed:
            full = self.full
            if full == 1:
                return text("widgets.conv_explorer.padding_removes_one", where=where, p=self.p,
                            removed=2 * self.p)
            return text("widgets.conv_explorer.padding_removes", where=where, p=self.p,
                        removed=2 * self.p, full=full)
        dilated = (text("widgets.conv_explorer.dilated", d=self.d, k=self.k, span=self.k_eff)
                   if self.d > 1 else "")
        return text("widgets.conv_explorer.kernel_too_big", where=where, span=self.k_eff,
                    dilated=dilated, padded=self.n + 2 * self.p, n=self.n, p=self.p)

    def drawn_kinds(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per drawn cell (the slid-over grid plus any cropped cells before or after it):
        ``(inside the inserted input, on the slid-over grid, an inserted zero)``."""
        z = np.arange(min(0, -self.lo), max(self.inserted, self.inserted + self.hi))
        inside = (z >= 0) & (z < self.inserted)
        on_grid = (z >= -self.lo) & (z < self.inserted + self.hi)
        zero = inside & (z % self.s != 0) if self.transposed else np.zeros_like(inside)
        return inside, on_grid, zero


@dataclass(frozen=True)
class ConvGeometry:
    """Both axes of a 2D convolution (or transposed convolution) as the explorer shows it.

    Coordinates are those of the grid the kernel slides over (``padded_size``); steps
    number the output positions row-major.
    """

    height: Axis
    width: Axis

    @classmethod
    def of(
        cls,
        *,
        input_size: Pair,
        kernel_size: Pair,
        padding: Pair,
        stride: Pair,
        dilation: Pair,
        output_padding: Pair = (0, 0),
        mode: str = "conv",
    ) -> ConvGeometry:
        """The geometry of ``(h, w)`` sizes; ``output_padding`` counts in transposed mode."""
        transposed = mode == "transposed"
        h, w = (
            Axis(
                input_size[i],
                kernel_size[i],
                stride[i],
                padding[i],
                dilation[i],
                output_padding[i] if transposed else 0,
                transposed,
            )
            for i in range(2)
        )
        return cls(h, w)

    @property
    def axes(self) -> tuple[Axis, Axis]:
        return self.height, self.width

    @property
    def transposed(self) -> bool:
        return self.height.transposed

    @property
    def output_size(self) -> Pair | None:
        """``(H_out, W_out)``, or ``None`` when the combination is impossible."""
        h, w = self.height.value, self.width.value
        return (h, w) if h >= 1 and w >= 1 else None

    @property
    def n_steps(self) -> int:
        """Number of output positions (0 when impossible)."""
        size = self.output_size
        return 0 if size is None else size[0] * size[1]

    @property
    def padded_size(self) -> Pair:
        return self.height.padded, self.width.padded

    @property
    def error(self) -> str | None:
        """Why the combination is impossible, or ``None``."""
        h, w = self.axes
        if h.value >= 1 and w.value >= 1:
            return None
        if h.value < 1 and w.value < 1 and h.problem("") == w.problem(""):
            return h.problem(text("widgets.conv_explorer.both_axes"))
        where = (text("widgets.conv_explorer.the_height"), text("widgets.conv_explorer.the_width"))
        return " ".join(a.problem(name) for name, a in zip(where, self.axes) if a.value < 1)

    @property
    def formula(self) -> str:
        """The output-size formulas with numbers, one line per axis."""
        return "\n".join(a.formula(name) for name, a in zip("HW", self.axes))

    def position(self, step: int) -> Pair | None:
        """``(row, col)`` of output position number ``step``, or ``None`` when impossible."""
        size = self.output_size
        return None if size is None else divmod(step, size[1])

    def positions(self) -> list[Pair]:
        """Every output position ``(row, col)``, in step (row-major) order."""
        size = self.output_size
        if size is None:
            return []
        return [(i, j) for i in range(size[0]) for j in range(size[1])]

    def window(self, step: int) -> list[Pair]:
        """The cells read for output position number ``step``, one per kernel tap, taps
        row-major; empty when impossible."""
        position = self.position(step)
        if position is None:
            return []
        i, j = position
        h, w = self.axes
        return [
            (i * h.conv_stride + a * h.d, j * w.conv_stride + b * w.d)
            for a in range(h.k)
            for b in range(w.k)
        ]

    @property
    def crop(self) -> Pair:
        """Cropped rows and columns drawn before the slid-over grid (negative ``q``)."""
        return max(0, -self.height.lo), max(0, -self.width.lo)

    def drawn_kinds(self) -> np.ndarray:
        """Kind of every drawn cell: the slid-over grid plus any cropped rows/columns."""
        (ih, gh, zh), (iw, gw, zw) = self.height.drawn_kinds(), self.width.drawn_kinds()
        kinds = np.full((len(ih), len(iw)), INPUT, dtype=np.int64)
        kinds[zh[:, None] | zw[None, :]] = ZERO
        kinds[~(ih[:, None] & iw[None, :])] = PADDING
        kinds[~(gh[:, None] & gw[None, :])] = CROPPED
        return kinds

    def cell_kinds(self) -> np.ndarray:
        """The slid-over grid, ``(rows, cols)``: INPUT, PADDING or ZERO per cell."""
        r0, c0 = self.crop
        rows, cols = self.padded_size
        return self.drawn_kinds()[r0 : r0 + rows, c0 : c0 + cols].copy()
