"""The layer explorer's pictures, as uint8 RGB arrays: the input with a unit's receptive field
and gradient, one channel's feature map with the unit marked, a grid of all channels, the
top-5 bars, and the still that puts them together; and its HTML: the top-5 bars and the
line about the unit.

Feature maps are coloured red for positive and blue for negative values, white at zero,
each channel on its own symmetric scale; the gradient is a heat map (``inferno``) whose
opacity grows with its size, so pixels the unit does not see show the plain image.
"""

from __future__ import annotations

import html
import math

import numpy as np
import torch
from PIL import Image, ImageDraw

from convbook.fonts import drawn_text, pil_font
from convbook.language import text
from convbook.widgets.layer_explorer_state import Box, LayerInfo
from convbook.widgets.png import to_uint8

PADDING_GREY = 225  # the margin around the image: where a receptive field meets padding
BOX = (0, 220, 255)  # cyan: the receptive field
UNIT = (255, 200, 0)  # amber: the chosen unit and channel
EDGE = (90, 90, 90)  # the image's border
INK = (40, 40, 40)
BAR = (76, 120, 168)
GAP = 2  # pixels between tiles in the grid
_TILE_PX = 64  # a tile of the grid is about this many pixels wide ...
_GRID_PX = 720  # ... in a grid at most about this wide (it is shown at its own size)
_VIEW_PX = 168  # the enlarged channel map is about this many pixels wide


def diverging(values: torch.Tensor) -> np.ndarray:
    """``(h, w)`` values as RGB: red positive, blue negative, white zero, scaled by the
    largest magnitude (all white if every value is 0)."""
    v = values.detach().float().cpu().numpy()
    top = float(np.abs(v).max()) if v.size else 0.0
    v = v / top if top > 0 else np.zeros_like(v)
    pos, neg = np.clip(v, 0, 1), np.clip(-v, 0, 1)
    rgb = np.stack([1 - neg, 1 - pos - neg, 1 - pos], axis=-1)
    return np.rint(rgb * 255).astype(np.uint8)


def _inferno(values: np.ndarray) -> np.ndarray:
    import matplotlib

    return matplotlib.colormaps["inferno"](values)[..., :3]


def heat_map(gradient: torch.Tensor) -> torch.Tensor:
    """A ``(3, H, W)`` input gradient as an ``(H, W)`` heat map in [0, 1]: its magnitude
    summed over the colours, divided by the largest sum (all 0 if every value is 0)."""
    heat = gradient.abs().sum(0)
    top = float(heat.max())
    return heat / top if top > 0 else heat


def input_picture(image: torch.Tensor, heat: torch.Tensor | None, box: Box | None,
                  margin: int, scale: int) -> np.ndarray:
    """The image ``(3, H, W)`` in [0, 1], ``scale`` pixels per pixel, inside a grey margin of
    ``margin`` image pixels; ``heat: (H, W)`` in [0, 1] blended over it; ``box``'s rows and
    columns (inclusive, may reach into the margin) outlined."""
    h, w = image.shape[1:]
    rgb = to_uint8(image).astype(np.float64)
    if heat is not None:
        hv = heat.detach().float().cpu().numpy()
        alpha = 0.85 * np.sqrt(np.clip(hv, 0, 1))[..., None]
        rgb = (1 - alpha) * rgb + alpha * 255 * _inferno(hv)
    big = np.rint(rgb).astype(np.uint8).repeat(scale, 0).repeat(scale, 1)
    side_h, side_w = (h + 2 * margin) * scale, (w + 2 * margin) * scale
    canvas = np.full((side_h, side_w, 3), PADDING_GREY, dtype=np.uint8)
    m = margin * scale
    canvas[m:m + h * scale, m:m + w * scale] = big
    picture = Image.fromarray(canvas)
    draw = ImageDraw.Draw(picture)
    draw.rectangle((m - 1, m - 1, m + w * scale, m + h * scale), outline=EDGE)
    if box is not None:
        (top, bottom), (left, right) = box
        x0, y0 = (left + margin) * scale, (top + margin) * scale
        x1, y1 = (right + 1 + margin) * scale - 1, (bottom + 1 + margin) * scale - 1
        draw.rectangle((max(x0, 0), max(y0, 0), min(x1, side_w - 1), min(y1, side_h - 1)),
                       outline=BOX, width=2)
    return np.asarray(picture)


def channel_picture(maps: torch.Tensor, position: tuple[int, int]) -> np.ndarray:
    """One channel's map ``(h, w)`` enlarged, the unit at ``position`` framed."""
    h, w = maps.shape
    scale = max(1, _VIEW_PX // max(h, w))
    picture = Image.fromarray(diverging(maps).repeat(scale, 0).repeat(scale, 1))
    i, j = position
    ImageDraw.Draw(picture).rectangle(
        (j * scale, i * scale, (j + 1) * scale - 1, (i + 1) * scale - 1), outline=UNIT,
        width=max(1, min(3, scale // 4)))
    return np.asarray(picture)


def grid_layout(channels: int, h: int, w: int) -> tuple[int, int, int]:
    """``(columns, rows, scale)`` of the grid of ``channels`` maps of ``h × w``: about twice
    as many columns as rows, tiles about ``_TILE_PX`` wide in a grid at most ``_GRID_PX``
    wide (drawn at the size it is shown at, so nothing is stretched)."""
    cols = max(1, min(channels, math.ceil(math.sqrt(2 * channels))))
    fit = (_GRID_PX // cols - 2 * (GAP + 1)) // w
    scale = max(1, min(_TILE_PX // max(h, w), fit))
    return cols, math.ceil(channels / cols), scale


def grid_picture(maps: torch.Tensor, selected: int) -> np.ndarray:
    """All channels ``(K, h, w)`` as tiles, row-major, the ``selected`` one framed."""
    k, h, w = maps.shape
    cols, rows, scale = grid_layout(k, h, w)
    th, tw = h * scale, w * scale
    pad = GAP + 1  # room for the frame
    canvas = np.full((rows * (th + 2 * pad), cols * (tw + 2 * pad), 3), 255, dtype=np.uint8)
    for c in range(k):
        r, q = divmod(c, cols)
        y, x = r * (th + 2 * pad) + pad, q * (tw + 2 * pad) + pad
        canvas[y:y + th, x:x + tw] = diverging(maps[c]).repeat(scale, 0).repeat(scale, 1)
        if c == selected:
            canvas[y - pad:y + th + pad, x - pad:x - pad + 2] = UNIT
            canvas[y - pad:y + th + pad, x + tw + pad - 2:x + tw + pad] = UNIT
            canvas[y - pad:y - pad + 2, x - pad:x + tw + pad] = UNIT
            canvas[y + th + pad - 2:y + th + pad, x - pad:x + tw + pad] = UNIT
    return canvas


def _text(draw: ImageDraw.ImageDraw, xy: tuple[int, int], words: str) -> None:
    draw.text(xy, words, fill=INK, font=pil_font(12))


def still(pictures: list[tuple[str, np.ndarray]], grid: tuple[str, np.ndarray],
          top5: list[tuple[str, float]]) -> np.ndarray:
    """The widget as one picture: titled pictures in a row with the top-5 bars beside them,
    and the grid of channels under them."""
    title_px, gap = 16, 16
    bars_w = 200
    row_h = max(p.shape[0] for _, p in pictures) + title_px
    grid_title, grid_img = grid
    width = max(sum(p.shape[1] for _, p in pictures) + gap * len(pictures) + bars_w,
                grid_img.shape[1])
    height = row_h + gap + title_px + grid_img.shape[0]
    canvas = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(canvas)
    x = 0
    for title, picture in pictures:
        _text(draw, (x, 2), title)
        canvas.paste(Image.fromarray(picture), (x, title_px))
        x += picture.shape[1] + gap
    _text(draw, (x, 2), drawn_text("widgets.layer_explorer.top5_title"))
    for n, (name, p) in enumerate(top5):
        y = title_px + 4 + 22 * n
        _text(draw, (x, y), f"{name} {100 * p:.1f}%")
        draw.rectangle((x, y + 13, x + max(1, round(p * (bars_w - 20))), y + 18), fill=BAR)
    _text(draw, (0, row_h + gap), grid_title)
    canvas.paste(Image.fromarray(grid_img), (0, row_h + gap + title_px))
    return np.asarray(canvas)


def top5_html(top5: list[tuple[str, float]], truth: str | None) -> str:
    """The top-5 classes as an HTML table of bars, and the true class under it if known."""
    rows = []
    for name, p in top5:
        bar = (f'<div style="background:#4c78a8;height:10px;width:{round(120 * p)}px">'
               "</div>")
        rows.append(f"<tr><td style='padding-right:0.6em'>{html.escape(name)}</td>"
                    f"<td style='width:125px'>{bar}</td>"
                    f"<td style='text-align:right'>{100 * p:.1f}%</td></tr>")
    truth_html = ("" if truth is None else
                  f"<p>{html.escape(text('widgets.layer_explorer.true_class', truth=truth))}</p>")
    return f"<table>{''.join(rows)}</table>{truth_html}"


def unit_html(info: LayerInfo, channel: int, position: tuple[int, int], value: float,
              box: Box) -> str:
    """The line about unit ``position`` of ``channel`` of layer ``info``: its value and its
    receptive field ``box``."""
    (top, bottom), (left, right) = box
    (i, j), c = position, channel
    words = text("widgets.layer_explorer.unit", i=i, j=j, channel=c, layer=info.name,
                 shape=f"{info.channels}×{info.size[0]}×{info.size[1]}", value=f"{value:.3f}",
                 field=f"{info.r[0]}×{info.r[1]}", top=top, bottom=bottom, left=left,
                 right=right, jump=info.j[0])
    return f'<span class="convbook-unit">{html.escape(words)}</span>'

