"""convbook.widgets.png: what the widgets send to the browser, decoded again with PIL."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image

from convbook.images import photo
from convbook.widgets.png import png_bytes, to_uint8


def _decode(data: bytes) -> np.ndarray:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image)


def test_to_uint8_maps_the_range_and_clips():
    x = torch.tensor([[-0.5, 0.0, 0.2, 0.5, 1.0, 1.5]], requires_grad=True)
    assert to_uint8(x).tolist() == [[0, 0, 51, 128, 255, 255]]  # round(0.5 * 255) = 128
    assert to_uint8(x, lo=-0.5, hi=1.5).tolist() == [[0, 64, 89, 128, 191, 255]]
    assert to_uint8(torch.full((2, 2), 7.0), lo=1.0, hi=1.0).tolist() == [[0, 0], [0, 0]]


def test_to_uint8_puts_channels_last():
    x = torch.stack([torch.zeros(2, 3), torch.full((2, 3), 0.2), torch.ones(2, 3)])
    out = to_uint8(x)
    assert out.shape == (2, 3, 3) and out.dtype == np.uint8
    assert out[1, 2].tolist() == [0, 51, 255]


@pytest.mark.parametrize("level", [1, 9])
def test_png_round_trip(level):
    image = photo("coffee", size=40)  # (3, 40, 60)
    decoded = _decode(png_bytes(image, compress_level=level))
    assert decoded.shape == (40, 60, 3)
    np.testing.assert_array_equal(decoded, to_uint8(image))


def test_png_of_a_uint8_array_and_scaling():
    array = np.array([[0, 255], [10, 20]], dtype=np.uint8)
    np.testing.assert_array_equal(_decode(png_bytes(array)), array)
    big = _decode(png_bytes(array, scale=3))
    assert big.shape == (6, 6)
    np.testing.assert_array_equal(big, array.repeat(3, axis=0).repeat(3, axis=1))


def test_higher_compression_gives_a_smaller_file_of_the_same_picture():
    image = photo("camera")
    fast, small = png_bytes(image), png_bytes(image, compress_level=9)
    assert len(small) < len(fast)
    np.testing.assert_array_equal(_decode(fast), _decode(small))
