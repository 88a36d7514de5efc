"""The kernel editor's pictures, as uint8 RGB arrays: the kernel's preview (positive weights
red, negative blue, white at zero) and the still of input | kernel | output.
"""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image

from convbook.widgets.png import to_uint8

CELL_PX = 16  # kernel preview: pixels per kernel cell
_STILL_GAP = 12  # still picture: white pixels between input, kernel and output
_FRAME_GREY = 160  # still picture: the frame around the kernel
_STILL_MAX = 320  # still picture: largest side of input and output, in pixels


def _rgb(array: np.ndarray) -> np.ndarray:
    """A uint8 ``(H, W)`` or ``(H, W, 3)`` array as ``(H, W, 3)``."""
    return np.repeat(array[..., None], 3, axis=-1) if array.ndim == 2 else array


def _fit(array: np.ndarray) -> np.ndarray:
    """Shrink a uint8 ``(H, W, 3)`` picture to at most ``_STILL_MAX`` pixels a side."""
    h, w = array.shape[:2]
    if max(h, w) <= _STILL_MAX:
        return array
    size = (max(1, round(w * _STILL_MAX / max(h, w))), max(1, round(h * _STILL_MAX / max(h, w))))
    return np.asarray(Image.fromarray(array).resize(size, Image.Resampling.BOX))


def kernel_picture(K: torch.Tensor) -> np.ndarray:
    """Kernel as RGB: positive weights red, negative blue, white at zero."""
    m = float(K.abs().max())
    v = (K / m).numpy() if m > 0 else np.zeros(K.shape, dtype=np.float32)
    pos, neg = np.clip(v, 0, 1), np.clip(-v, 0, 1)
    rgb = np.stack([1 - neg, 1 - pos - neg, 1 - pos], axis=-1)
    return (rgb * 255).round().astype(np.uint8)


def still(image: torch.Tensor, K: torch.Tensor, shown: torch.Tensor) -> np.ndarray:
    """Input | kernel | output, side by side: ``image`` and ``shown`` ``(H, W)`` or
    ``(C, H, W)`` in [0, 1], and the kernel ``K: (k, k)``.

    The three pictures are top-aligned on a white canvas, ``_STILL_GAP`` pixels apart;
    the kernel is its preview (``CELL_PX`` pixels per cell, red positive, blue negative)
    in a 1-pixel grey frame, so that white (zero) cells show on the white canvas.  Input
    and output are shrunk to at most ``_STILL_MAX`` pixels a side, the size the widget
    shows them at, which keeps notebooks small.
    """
    kernel = kernel_picture(K).repeat(CELL_PX, 0).repeat(CELL_PX, 1)
    framed = np.pad(kernel, ((1, 1), (1, 1), (0, 0)), constant_values=_FRAME_GREY)
    pieces = [_fit(_rgb(to_uint8(image))), framed, _fit(_rgb(to_uint8(shown)))]
    height = max(p.shape[0] for p in pieces)
    width = sum(p.shape[1] for p in pieces) + _STILL_GAP * (len(pieces) - 1)
    canvas = np.full((height, width, 3), 255, dtype=np.uint8)
    x = 0
    for piece in pieces:
        canvas[: piece.shape[0], x : x + piece.shape[1]] = piece
        x += piece.shape[1] + _STILL_GAP
    return canvas
