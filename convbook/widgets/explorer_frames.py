"""Frame strips: the convolution explorer's picture at several steps of one setting, as one PNG.

A page without a kernel (the static book, GitHub) shows only a widget's still, the first
picture, so its reader never sees the window move.  :func:`frame_strip` draws the
:class:`~convbook.widgets.explorer.ConvExplorer`'s own picture (the same
:class:`~convbook.widgets.explorer_drawing.Painter`, from the same
:class:`~convbook.widgets.explorer_state.ConvExplorerState`) at the steps asked for, in a
grid, each under its label (``step 5: output (1, 1)``), with the output-size formula above
(one line when both axes give the same) and the colour key below.  Each frame is pixel for
pixel the PNG a ``ConvExplorer`` with the same settings and ``max_width`` shows at that step.

>>> strip = frame_strip(input_size=4, kernel_size=3, padding=1, steps=[0, 5])
>>> strip
FrameStrip(steps=(0, 5), mode='conv', input=(4, 4), kernel=(3, 3), padding=(1, 1), \
stride=(1, 1), dilation=(1, 1) -> output (4, 4))
>>> strip.output_positions
((0, 0), (1, 1))
>>> strip.windows[1][4]  # the centre tap at step 5: input pixel (1, 1), padded coordinates
(2, 2)
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import matplotlib
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from convbook._args import check_instance, check_int_range, check_positive_int
from convbook.fonts import drawing_language, drawn_text, pil_font
from convbook.widgets.explorer_drawing import INK, LINE, RGB, Painter, legend_items
from convbook.widgets.explorer_geometry import Pair
from convbook.widgets.explorer_state import ConvExplorerState, changed, describe
from convbook.widgets.png import png_bytes

#: the most frames one strip draws
MAX_FRAMES = 16
_MARGIN = 10  # pixels around everything
_GAP = 28  # pixels between neighbouring frames
_FONT_PX = 13
_LINE_PX = 19  # height of a line of text
_SWATCH_PX = 12
_BORDER: RGB = (215, 215, 215)  # the thin box around each frame


@dataclass(frozen=True, eq=False)
class FrameStrip:
    """The explorer's picture at ``steps``, as one PNG; shown as that PNG in a notebook.

    Attributes:
        state: the settings drawn (at step 0; each frame draws it at one of ``steps``).
        steps: the output positions drawn, by number (row-major), one per frame.
        formula: the lines of the output-size formula drawn above the frames.
        image: the picture, ``(height, width, 3)`` uint8.
        origins: ``(y, x)`` of each frame's top-left pixel in ``image``.
        frame_size: ``(height, width)`` of every frame, in pixels.
        png: ``image`` as PNG bytes.
    """

    state: ConvExplorerState
    steps: tuple[int, ...]
    formula: tuple[str, ...]
    image: np.ndarray
    origins: tuple[Pair, ...]
    frame_size: Pair
    png: bytes

    @property
    def output_size(self) -> Pair:
        """``(H_out, W_out)`` of the operation drawn."""
        size = self.state.geometry.output_size
        assert size is not None  # frame_strip refuses impossible settings
        return size

    @property
    def output_positions(self) -> tuple[Pair, ...]:
        """``(row, col)`` of the output cell of each frame."""
        return tuple(divmod(step, self.output_size[1]) for step in self.steps)

    @property
    def windows(self) -> tuple[list[Pair], ...]:
        """The cells read in each frame, as ``ConvExplorer.window``: one ``(row, col)`` per
        kernel tap, taps row-major, in the coordinates of the grid the kernel slides over."""
        return tuple(self.state.geometry.window(step) for step in self.steps)

    def cell_kinds(self) -> np.ndarray:
        """The grid the kernel slides over, ``(rows, cols)``, as ``ConvExplorer.cell_kinds``:
        ``INPUT``, ``PADDING`` or ``ZERO`` (an inserted zero) per cell."""
        return self.state.geometry.cell_kinds()

    def frame(self, index: int) -> np.ndarray:
        """Frame number ``index`` (of ``steps``), ``(height, width, 3)`` uint8."""
        check_int_range(index, "index", 0, len(self.steps) - 1)
        (y, x), (h, w) = self.origins[index], self.frame_size
        return self.image[y : y + h, x : x + w]

    def _repr_png_(self) -> bytes:
        return self.png

    def __repr__(self) -> str:
        return f"FrameStrip(steps={self.steps}, {describe(self.state)})"


def frame_strip(
    *,
    steps: Sequence[int],
    input_size: int | tuple[int, int] = 5,
    kernel_size: int | tuple[int, int] = 3,
    padding: int | tuple[int, int] = 0,
    stride: int | tuple[int, int] = 1,
    dilation: int | tuple[int, int] = 1,
    output_padding: int | tuple[int, int] = 0,
    mode: str = "conv",
    columns: int = 2,
    max_width: int = 440,
) -> FrameStrip:
    """The :class:`~convbook.widgets.explorer.ConvExplorer`'s picture at each of ``steps``.

    The settings are the explorer's constructor arguments, with the same limits and rules
    (sizes are ints or ``(h, w)`` pairs); ``steps`` are output positions by number,
    ``0 .. H_out·W_out - 1`` row-major, 1 to :data:`MAX_FRAMES` of them, drawn left to right
    in rows of ``columns`` frames.  ``max_width`` is the explorer's (the width a frame
    is fitted to): cells of 18 pixels or more get their numbers.

    Raises:
        TypeError, ValueError: naming the argument and the rule, for settings the explorer
            refuses, settings whose output is empty, and bad ``steps``, ``columns`` or
            ``max_width``.
    """
    state = changed(
        ConvExplorerState(),
        dict(input_size=input_size, kernel_size=kernel_size, padding=padding, stride=stride,
             dilation=dilation, output_padding=output_padding, mode=mode),
    )
    geometry = state.geometry
    if geometry.error is not None:
        raise ValueError(f"these settings have no output to draw: {geometry.error}")
    check_instance(steps, "steps", (list, tuple, range), "a list of ints")
    if not 1 <= len(steps) <= MAX_FRAMES:
        raise ValueError(f"steps must have 1 to {MAX_FRAMES} entries, got {len(steps)}")
    steps = tuple(
        check_int_range(step, f"steps[{i}]", 0, geometry.n_steps - 1,
                        where=f" (the output has {_positions(geometry.n_steps)})")
        for i, step in enumerate(steps)
    )
    columns = check_positive_int(columns, "columns")
    max_width = check_positive_int(max_width, "max_width")

    painter = Painter(max_width)
    frames = [painter.draw(geometry, step) for step in steps]
    frame_h, frame_w = frames[0].shape[:2]
    font = _font()
    labels = [drawn_text("widgets.conv_explorer.frame_label", step=step,
                         position=geometry.position(step)) for step in steps]
    formula = geometry.formula.split("\n")  # one line when both axes say the same
    if formula[0].removeprefix("H_out") == formula[1].removeprefix("W_out"):
        formula = ["H_out = W_out" + formula[0].removeprefix("H_out")]

    columns = min(columns, len(frames))
    rows = -(-len(frames) // columns)
    column_w = max(frame_w, *(_text_px(label, font) for label in labels))
    inner = max(columns * (column_w + _GAP) - _GAP, *(_text_px(line, font) for line in formula))
    legend = _legend_lines(legend_items(geometry.transposed, drawn_text), inner, font)
    top = _MARGIN + len(formula) * _LINE_PX + _MARGIN // 2  # the first label's line
    cell_h = _LINE_PX + frame_h + _GAP  # a label, its frame, the gap under it
    legend_y = top + rows * cell_h - _GAP + _MARGIN
    canvas = Image.new("RGB", (inner + 2 * _MARGIN, legend_y + len(legend) * _LINE_PX + _MARGIN),
                       "white")
    draw = ImageDraw.Draw(canvas)
    for i, line in enumerate(formula):
        draw.text((_MARGIN, _MARGIN + i * _LINE_PX), line, fill=INK, font=font)

    origins = []
    for index, (label, frame) in enumerate(zip(labels, frames)):
        row, column = divmod(index, columns)
        x, y = _MARGIN + column * (column_w + _GAP), top + row * cell_h
        draw.text((x, y), label, fill=INK, font=font)
        y += _LINE_PX
        canvas.paste(Image.fromarray(frame), (x, y))
        draw.rectangle((x - 4, y - 3, x + frame_w + 3, y + frame_h + 2), outline=_BORDER)
        origins.append((y, x))

    for i, items in enumerate(legend):
        x, y = _MARGIN, legend_y + i * _LINE_PX
        for colour, label in items:
            draw.rectangle((x, y + 3, x + _SWATCH_PX, y + 3 + _SWATCH_PX), fill=colour,
                           outline=LINE)
            draw.text((x + _SWATCH_PX + 5, y), label, fill=INK, font=font)
            x += _legend_px(label, font)

    image = np.asarray(canvas).copy()
    return FrameStrip(state, steps, tuple(formula), image, tuple(origins), (frame_h, frame_w),
                      png_bytes(image, compress_level=9))


def _positions(n: int) -> str:
    """``"1 position"``, ``"9 positions"``."""
    return f"{n} position" if n == 1 else f"{n} positions"


def _font() -> ImageFont.FreeTypeFont:
    """The strip's font: a CJK font where the picture's words are Chinese
    (:func:`~convbook.fonts.pil_font`), else DejaVu Sans, from matplotlib's own fonts; both
    have the formula's · and −, which the default font of PIL (the explorer's titles and
    numbers) lacks."""
    if drawing_language() != "en":
        return pil_font(_FONT_PX)
    return _dejavu()


@functools.cache
def _dejavu() -> ImageFont.FreeTypeFont:
    """DejaVu Sans at the strip's size."""
    path = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
    return ImageFont.truetype(str(path), _FONT_PX)


def _text_px(text: str, font: ImageFont.FreeTypeFont) -> int:
    """Pixels that ``text`` takes in ``font``."""
    return int(np.ceil(font.getlength(text)))


def _legend_px(label: str, font: ImageFont.FreeTypeFont) -> int:
    """Pixels that a key's item takes: its swatch, its label and the space after it."""
    return _SWATCH_PX + 5 + _text_px(label, font) + 16


def _legend_lines(items: list[tuple[RGB, str]], width: int,
                  font: ImageFont.FreeTypeFont) -> list[list[tuple[RGB, str]]]:
    """The colour key's items, in lines of at most ``width`` pixels (at least one a line)."""
    lines: list[list[tuple[RGB, str]]] = [[]]
    used = 0
    for colour, label in items:
        need = _legend_px(label, font)
        if lines[-1] and used + need > width:
            lines.append([])
            used = 0
        lines[-1].append((colour, label))
        used += need
    return lines
