"""convbook.images: the bundled photos (checked against the files read with PIL) and
as_image, the one rule for turning a user's array or tensor into an image tensor."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from convbook.images import PHOTOS, as_image, photo, read_image, resize_shorter_side


def _file(name: str) -> Path:
    import skimage.data

    folder = Path(skimage.data.__file__).parent
    return next(folder.glob(f"{name}.*"))  # camera.png, rocket.jpg, ...


@pytest.mark.parametrize("name", PHOTOS)
def test_photo_is_the_file_scaled_to_unit_range(name):
    expected = np.asarray(Image.open(_file(name))).astype(np.float32) / 255
    image = photo(name)
    assert image.dtype == torch.float32
    if expected.ndim == 3:  # colour: (3, H, W), channels first
        expected = expected[..., :3].transpose(2, 0, 1)
    np.testing.assert_allclose(image.numpy(), expected, atol=1e-6)


def test_gray_is_the_luma_of_a_colour_photo_and_leaves_gray_ones_alone():
    rgb = np.asarray(Image.open(_file("astronaut"))).astype(np.float64) / 255
    luma = 0.299 * rgb[..., 0] + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2]  # ITU-R 601
    np.testing.assert_allclose(photo("astronaut", gray=True).numpy(), luma, atol=1e-5)
    assert torch.equal(photo("camera", gray=True), photo("camera"))


@pytest.mark.parametrize("name, size, shape", [("camera", 64, (64, 64)), ("coins", 101, (101, 128)),
                                              ("chelsea", 30, (3, 30, 45))])
def test_size_sets_the_shorter_side(name, size, shape):
    image = photo(name, size=size)
    assert tuple(image.shape) == shape
    assert float(image.min()) >= 0 and float(image.max()) <= 1


def test_resize_keeps_a_constant_image_constant():
    out = resize_shorter_side(torch.full((2, 40, 60), 0.25), 10)
    assert out.shape == (2, 10, 15)
    torch.testing.assert_close(out, torch.full((2, 10, 15), 0.25))


def test_bad_photo_arguments():
    with pytest.raises(ValueError, match="name must be one of camera, astronaut"):
        photo("lena")
    with pytest.raises(ValueError, match="size must be >= 1, got 0"):
        photo("camera", size=0)


# ---------------------------------------------------------------- as_image
@pytest.mark.parametrize(
    "value, shape",
    [
        (np.zeros((4, 6)), (4, 6)),
        (np.zeros((4, 6, 3)), (3, 4, 6)),  # numpy: (H, W, C)
        (np.zeros((3, 6, 4)), (3, 3, 6)),  # H = 3, C = 4 (alpha, dropped): still (H, W, C)
        (np.zeros((1, 6, 1)), (1, 6)),
        (torch.zeros(4, 6), (4, 6)),
        (torch.zeros(3, 4, 6), (3, 4, 6)),  # torch: (C, H, W)
        (torch.zeros(1, 4, 6), (4, 6)),
        (torch.zeros(4, 4, 6), (3, 4, 6)),  # alpha dropped
    ],
)
def test_as_image_layouts(value, shape):
    image = as_image(value)
    assert tuple(image.shape) == shape and image.dtype == torch.float32
    assert image.is_contiguous()


def test_as_image_keeps_channels_apart():
    array = np.stack([np.full((2, 3), 10), np.full((2, 3), 20), np.full((2, 3), 30)], axis=-1)
    image = as_image(array.astype(np.uint8))  # (2, 3, 3): H = 2, W = 3, C = 3
    assert [round(float(image[c, 0, 0]) * 255) for c in range(3)] == [10, 20, 30]


@pytest.mark.parametrize(
    "value, expected",
    [
        (np.array([[0, 255, 51]], dtype=np.uint8), [0.0, 1.0, 0.2]),
        (np.array([[0, 255, 51]], dtype=np.int64), [0.0, 1.0, 0.2]),
        (np.array([[0, 255, 51]], dtype=np.int16), [0.0, 1.0, 0.2]),
        (np.array([[0, 65535, 13107]], dtype=np.uint16), [0.0, 1.0, 0.2]),
        (np.array([[False, True, True]]), [0.0, 1.0, 1.0]),
        (np.array([[0.0, 2.0, -1.0]]), [0.0, 2.0, -1.0]),  # floats as given
        (torch.tensor([[0, 255, 51]], dtype=torch.uint8), [0.0, 1.0, 0.2]),
        (torch.tensor([[0, 255, 51]], dtype=torch.int32), [0.0, 1.0, 0.2]),
        (torch.tensor([[0.5, 1.0, 0.25]], dtype=torch.float64), [0.5, 1.0, 0.25]),
    ],
)
def test_as_image_values(value, expected):
    torch.testing.assert_close(as_image(value), torch.tensor([expected]))


def test_as_image_detaches_a_tensor_that_requires_grad():
    t = torch.rand(3, 4, 5, requires_grad=True)
    image = as_image(t)
    assert not image.requires_grad
    torch.testing.assert_close(image, t.detach())


@pytest.mark.parametrize(
    "value, error, message",
    [
        ([[0.0]], TypeError, "image must be a torch.Tensor or numpy array, got list"),
        (np.array([["a"]]), TypeError, "image must hold numbers, got an array of dtype <U1"),
        (torch.zeros(2, 2, dtype=torch.complex64), TypeError, "must hold real numbers"),
        (np.zeros(5), ValueError, r"image must be 2D \(H, W\) or 3D \(H, W, C\), got shape \(5,\)"),
        (torch.zeros(1, 1, 2, 2), ValueError, r"or 3D \(C, H, W\), got shape \(1, 1, 2, 2\)"),
        (np.zeros((4, 5, 2)), ValueError, r"image \(H, W, C\) must have 1, 3 or 4 channels"),
        (torch.zeros(2, 4, 5), ValueError, r"image \(C, H, W\) must have 1, 3 or 4 channels"),
        (np.zeros((0, 5)), ValueError, r"image must not be empty, got shape \(0, 5\)"),
        (np.array([[0, 256]]), ValueError, "must hold 8-bit values 0..255, got 0..256"),
        (np.array([[-1, 3]]), ValueError, "must hold 8-bit values 0..255, got -1..3"),
        (np.array([[np.nan]]), ValueError, "image values must be finite"),
        (np.array([[1e300]]), ValueError, "finite numbers that fit float32"),
    ],
)
def test_as_image_bad_input(value, error, message):
    with pytest.raises(error, match=message):
        as_image(value)
    with pytest.raises(error, match=message.replace("image", "picture", 1)):
        as_image(value, "picture")


# ------------------------------------------------------------------ read_image


def _encoded(image: Image.Image, fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


@pytest.mark.parametrize("mode", ["L", "P", "RGBA", "LA", "I;16", "CMYK"])
def test_read_image_reads_every_common_mode(mode):
    image = Image.new("RGB", (5, 3), (200, 100, 50)).convert(mode)
    picture = read_image(_encoded(image, "TIFF" if mode == "CMYK" else "PNG"))
    assert picture.shape == (3, 3, 5) and picture.min() >= 0 and picture.max() <= 1


def test_read_image_puts_transparency_on_white():
    picture = read_image(_encoded(Image.new("RGBA", (4, 4), (0, 0, 0, 0))))
    assert torch.equal(picture, torch.ones(3, 4, 4))


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", r"^'f' is empty: choose an image file \(PNG, JPEG, GIF, BMP or WebP\)$"),
        (b"hello, this is text", r"^'f' is not an image file that can be read: choose a PNG, "
                                 r"JPEG, GIF, BMP or WebP file$"),
    ],
)
def test_read_image_says_why_in_a_readers_words(content, message):
    with pytest.raises(ValueError, match=message):
        read_image(content, "f")


def test_read_image_refuses_a_huge_image_in_plain_words(monkeypatch):
    """A 12000 x 12000 PNG (139 kB of zeros): PIL's decompression-bomb warning is not
    what the reader sees."""
    content = _encoded(Image.new("L", (12000, 12000)))
    with pytest.raises(ValueError) as raised:
        read_image(content, "big.png")
    assert str(raised.value) == (
        "'big.png' is too large: 12000 × 12000 pixels (144 million); images of up to 89 "
        "million pixels can be read, so save a smaller copy")


def test_read_image_shrinks_to_max_side():
    rng = np.random.default_rng(0)
    photo_bytes = _encoded(Image.fromarray(rng.integers(0, 256, (300, 400, 3), dtype=np.uint8)),
                        "JPEG")
    assert read_image(photo_bytes, max_side=100).shape == (3, 75, 100)
    assert read_image(photo_bytes).shape == (3, 300, 400)
    with pytest.raises(TypeError, match="content must be bytes, got str"):
        read_image("picture.png")
