"""The convolution explorer's picture: three grids drawn as an RGB array, and its colour key.

Left to right: the grid the kernel slides over (:class:`ConvGeometry` coordinates; the
cells read at the current step highlighted and framed), the kernel, and the output (done
cells, the current one).  Cells big enough get numbers: input pixels and kernel weights
row-major, output cells by step.  Drawn cell ``(r, c)`` (cropped cells first) starts at
pixel ``(TITLE_PX + r * cell_px, c * cell_px)``.
"""

from __future__ import annotations

import functools
import html
from collections.abc import Callable

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from convbook.fonts import drawn_text, pil_font
from convbook.language import text
from convbook.widgets.explorer_geometry import CROPPED, INPUT, PADDING, ZERO, ConvGeometry

RGB = tuple[int, int, int]

LINE: RGB = (150, 150, 150)
#: colour of a cell by kind
COLOURS: dict[int, RGB] = {
    INPUT: (189, 215, 238),  # light blue
    PADDING: (225, 225, 225),  # grey
    ZERO: (255, 246, 204),  # pale yellow
    CROPPED: (110, 110, 110),  # dark grey
}
#: colour of a cell the kernel reads, by kind
READ: dict[int, RGB] = {
    INPUT: (231, 111, 81),  # orange-red
    PADDING: (244, 162, 97),  # light orange
    ZERO: (244, 162, 97),
}
KERNEL: RGB = (144, 190, 109)  # green
OUTPUT: RGB = (236, 231, 246)  # pale lavender
VISITED: RGB = (200, 190, 230)
CURRENT: RGB = (106, 76, 170)  # purple: not the orange-red of a cell read
INK: RGB = (40, 40, 40)  # text and the window's frame

TITLE_PX = 14  # pixels above the grids, for their titles
_LABEL_CELL = 18  # cells at least this many pixels wide get numbers
_MAX_HEIGHT = 420  # pixels of the grids (PNG encoding time grows with the pixel count)


class Painter:
    """Draws pictures of one explorer, at most ``max_width`` pixels wide.

    The text (titles, numbers) depends on the sizes only, not on the step: it is kept
    from one picture to the next while the sizes stay the same.
    """

    def __init__(self, max_width: int) -> None:
        self.max_width = max_width
        self.cell_px = 0  # pixels per cell in the last picture
        self._text_key: tuple | None = None
        self._text: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    def draw(self, geometry: ConvGeometry, step: int) -> np.ndarray:
        """The picture at output position number ``step``, ``(height, width, 3)`` uint8."""
        kinds = geometry.drawn_kinds()
        kh, kw = geometry.height.k, geometry.width.k
        size = geometry.output_size
        oh, ow = size if size is not None else (0, 0)
        rows = max(kinds.shape[0], kh, oh)
        cols = kinds.shape[1] + kw + ow + 4  # + gaps
        cell = int(np.clip(min(self.max_width // cols, _MAX_HEIGHT // rows), 3, 32))
        gap = max(2 * cell, 16)
        self.cell_px = cell
        # each panel is as wide as its grid or its title, whichever is wider
        titles = _titles(size is not None)
        spans = [max(n * cell + 1, _text_width(title)) for n, title in
                 zip((kinds.shape[1], kw, ow if size is not None else 0), titles)]
        x_kernel = spans[0] + gap
        x_output = x_kernel + spans[1] + gap
        width = x_output + spans[2] + 2
        height = rows * cell + TITLE_PX + 1
        canvas = np.full((height, width, 3), 255, dtype=np.uint8)

        # the grid the kernel slides over, the cells it reads, and a frame around them
        colours = np.zeros((*kinds.shape, 3), dtype=np.uint8)
        for kind, colour in COLOURS.items():
            colours[kinds == kind] = colour
        crop = geometry.crop
        window = [(r + crop[0], c + crop[1]) for r, c in geometry.window(step)]
        for r, c in window:
            colours[r, c] = READ[int(kinds[r, c])]
        _panel(canvas, colours, TITLE_PX, 0, cell)
        if window:
            (r0, c0), (r1, c1) = window[0], window[-1]
            _frame(
                canvas,
                TITLE_PX + r0 * cell,
                c0 * cell,
                (r1 - r0 + 1) * cell,
                (c1 - c0 + 1) * cell,
            )

        _panel(canvas, np.full((kh, kw, 3), KERNEL, dtype=np.uint8), TITLE_PX, x_kernel, cell)

        if size is not None:
            out = np.full((oh * ow, 3), OUTPUT, dtype=np.uint8)
            out[:step] = VISITED
            out[step] = CURRENT
            _panel(canvas, out.reshape(oh, ow, 3), TITLE_PX, x_output, cell)

        key = (geometry, cell, canvas.shape, titles)
        if self._text_key != key:
            self._text_key = key
            self._text = _text_layer(geometry, kinds, canvas.shape[:2], cell, x_kernel, x_output)
        ys, xs, alpha = self._text
        ink = np.asarray(INK, dtype=np.float32)
        canvas[ys, xs] = (canvas[ys, xs] * (1 - alpha) + ink * alpha).round().astype(np.uint8)
        return canvas


def _titles(possible: bool) -> tuple[str, str, str]:
    """The titles of the three panels, in the picture's language."""
    output = (drawn_text("widgets.conv_explorer.output_title") if possible else
              drawn_text("widgets.conv_explorer.impossible_title"))
    return (drawn_text("widgets.conv_explorer.padded_input_title"),
            drawn_text("widgets.conv_explorer.kernel_title"), output)


def _title_font() -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    """The titles' font: PIL's default, or a CJK font 12 pixels high (:func:`pil_font`),
    which fits the ``TITLE_PX`` strip."""
    return pil_font(12)


def _text_width(words: str) -> int:
    """Pixels that ``words`` take in the titles' font, plus a margin."""
    draw = ImageDraw.Draw(Image.new("L", (1, 1)))
    return int(np.ceil(draw.textlength(words, font=_title_font()))) + 2


def legend_items(transposed: bool, words: Callable[[str], str] = text,
                 ) -> list[tuple[RGB, str]]:
    """The colour key: ``(colour, what it means)`` for every colour of the picture,
    its words from ``words`` (:func:`~convbook.language.text` for the HTML key beside the
    picture, :func:`~convbook.fonts.drawn_text` for words drawn into one)."""
    items = [(COLOURS[INPUT], words("widgets.conv_explorer.key_input")),
             (COLOURS[PADDING], words("widgets.conv_explorer.key_padding"))]
    if transposed:
        items += [(COLOURS[ZERO], words("widgets.conv_explorer.key_inserted_zero")),
                  (COLOURS[CROPPED], words("widgets.conv_explorer.key_cropped"))]
    items += [
        (READ[INPUT], words("widgets.conv_explorer.key_read")),
        (READ[PADDING], words("widgets.conv_explorer.key_read_zero")),
        (CURRENT, words("widgets.conv_explorer.key_current")),
        (VISITED, words("widgets.conv_explorer.key_done")),
    ]
    return items


def legend_html(transposed: bool) -> str:
    """The colour key, as HTML."""
    swatch = (
        '<span style="display:inline-block;width:0.9em;height:0.9em;'
        'border:1px solid #999;background:rgb{};margin:0 0.3em 0 0.8em"></span>{}'
    )
    return "".join(swatch.format(colour, html.escape(label))
                   for colour, label in legend_items(transposed))


def _text_layer(
    geometry: ConvGeometry,
    kinds: np.ndarray,
    shape: tuple[int, int],
    cell: int,
    x_kernel: int,
    x_output: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pixels covered by text, as ``(ys, xs, alpha[:, None])``."""
    h, w = geometry.axes
    size = geometry.output_size
    image = Image.new("L", (shape[1], shape[0]))
    draw = ImageDraw.Draw(image)
    font = _title_font()
    for x, title in zip((0, x_kernel, x_output), _titles(size is not None)):
        draw.text((x, 0), title, fill=255, font=font)
    alpha = np.asarray(image, dtype=np.float32) / 255
    if cell >= _LABEL_CELL:  # numbers: input pixels, kernel weights, output steps
        transposed = geometry.transposed
        first = (min(0, -h.lo), min(0, -w.lo))  # drawn cell 0, inserted coordinates
        steps = (h.s, w.s) if transposed else (1, 1)
        for r, c in zip(*np.nonzero(kinds == INPUT)):
            i, j = (r + first[0]) // steps[0], (c + first[1]) // steps[1]
            _label(alpha, i * w.n + j, TITLE_PX + r * cell, c * cell, cell)
        for a in range(h.k):
            for b in range(w.k):
                # transposed: tap (a, b) multiplies the flipped weight
                weight = (h.k - 1 - a) * w.k + (w.k - 1 - b) if transposed else a * w.k + b
                _label(alpha, weight, TITLE_PX + a * cell, x_kernel + b * cell, cell)
        if size is not None:
            ow = size[1]
            for t in range(size[0] * ow):
                _label(alpha, t, TITLE_PX + (t // ow) * cell, x_output + (t % ow) * cell, cell)
    ys, xs = np.nonzero(alpha)
    return ys, xs, alpha[ys, xs][:, None]


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


def _panel(canvas: np.ndarray, colours: np.ndarray, y: int, x: int, cell: int) -> None:
    """Draw a grid of ``colours`` (``(rows, cols, 3)``), ``cell`` pixels a cell, at ``(y, x)``."""
    rows, cols = colours.shape[:2]
    block = colours.repeat(cell, axis=0).repeat(cell, axis=1)
    block[::cell, :] = LINE
    block[:, ::cell] = LINE
    canvas[y : y + rows * cell, x : x + cols * cell] = block
    canvas[y + rows * cell, x : x + cols * cell + 1] = LINE
    canvas[y : y + rows * cell + 1, x + cols * cell] = LINE


def _frame(canvas: np.ndarray, y: int, x: int, h: int, w: int) -> None:
    """A 2-pixel dark outline around the kernel window's span."""
    canvas[y : y + 2, x : x + w + 1] = INK
    canvas[y + h - 1 : y + h + 1, x : x + w + 1] = INK
    canvas[y : y + h + 1, x : x + 2] = INK
    canvas[y : y + h + 1, x + w - 1 : x + w + 1] = INK
