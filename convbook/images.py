"""Pictures for the examples: real photos from the images that ship inside scikit-image
(:func:`photo`), a picture given as a tensor or an array (:func:`as_image`), and an image
file's bytes (:func:`read_image`: a reader's upload).

Nothing is downloaded: every name in :data:`PHOTOS` is a file in ``skimage/data``.
"""

from __future__ import annotations

import io
import warnings

import numpy as np
import torch
from PIL import Image

from convbook._args import check_bool, check_int, check_str, check_tensor

#: Bundled photos a chapter or widget can ask for by name.
PHOTOS: tuple[str, ...] = (
    "camera", "astronaut", "chelsea", "coffee", "coins", "rocket", "moon", "brick", "text",
)
#: The largest side a photo is resized to.
MAX_SIZE = 4096
#: The largest image file :func:`read_image` reads, in bytes.
MAX_FILE_BYTES = 20 * 2**20
#: The most pixels :func:`read_image` decodes (PIL's guard against decompression bombs).
MAX_PIXELS = Image.MAX_IMAGE_PIXELS
#: The file types :func:`read_image` names to a reader (PIL reads more).
FILE_TYPES = "PNG, JPEG, GIF, BMP or WebP"


def photo(name: str = "camera", *, gray: bool = False, size: int | None = None) -> torch.Tensor:
    """Load a bundled photo as a float tensor with values in [0, 1].

    Args:
        name: one of :data:`PHOTOS`.
        gray: convert a colour photo to one channel (ITU-R 601 luma weights).
        size: if given, resize (antialiased) so that the shorter side is ``size`` pixels.

    Returns:
        ``(H, W)`` for grayscale photos or ``gray=True``, else ``(3, H, W)``.
    """
    if not isinstance(name, str) or name not in PHOTOS:
        raise ValueError(f"name must be one of {', '.join(PHOTOS)}; got {name!r}")
    check_bool(gray, "gray")
    if size is not None:
        check_int(size, "size", minimum=1, maximum=MAX_SIZE)
    import skimage.data  # deferred: importing skimage takes a moment

    array = np.asarray(getattr(skimage.data, name)())
    image = torch.from_numpy(array).float() / 255.0
    if image.dim() == 3:
        image = image[..., :3].permute(2, 0, 1)  # (3, H, W)
        if gray:
            weights = torch.tensor([0.299, 0.587, 0.114]).view(3, 1, 1)
            image = (image * weights).sum(0)
    if size is not None:
        image = resize_shorter_side(image, size)
    return image


def resize_shorter_side(image: torch.Tensor, size: int) -> torch.Tensor:
    """Resize ``(H, W)`` or ``(C, H, W)`` so the shorter side is ``size`` (antialiased).

    ``size`` is at most :data:`MAX_SIZE`; the longer side follows the aspect ratio.
    """
    check_tensor(image, "image", [2, 3], ["(H, W)", "(C, H, W)"])
    if 0 in image.shape:
        raise ValueError(f"image must not be empty, got shape {tuple(image.shape)}")
    if not image.is_floating_point():
        raise TypeError(f"image must be a floating-point tensor, got {image.dtype}")
    size = check_int(size, "size", minimum=1, maximum=MAX_SIZE)
    h, w = image.shape[-2:]
    scale = size / min(h, w)
    new = (max(1, round(h * scale)), max(1, round(w * scale)))
    batch = image.reshape(-1, 1, h, w) if image.dim() == 2 else image.unsqueeze(0)
    out = torch.nn.functional.interpolate(
        batch, size=new, mode="bilinear", antialias=True, align_corners=False
    )
    return out.reshape(new) if image.dim() == 2 else out[0]


def as_image(image: torch.Tensor | np.ndarray, name: str = "image") -> torch.Tensor:
    """Return a picture given as a tensor or an array as a float ``(H, W)`` or
    ``(3, H, W)`` tensor, the layout of :func:`photo`.

    Layout: a torch tensor is ``(H, W)`` or ``(C, H, W)``, torch's convention; a numpy
    array is ``(H, W)`` or ``(H, W, C)``, the convention of PIL, matplotlib and
    scikit-image (pass ``torch.from_numpy(array)`` for a channels-first array).  ``C`` is
    1, 3 or 4: one channel becomes ``(H, W)``, a fourth (alpha) is dropped.

    Values: floating-point values are kept as they are (finite ones only); ``bool`` gives
    0 and 1; ``uint16`` is divided by 65535; every other integer type holds 8-bit values,
    0 to 255 (``uint8``, or ``np.array([[0, 255]])``'s int64), divided by 255.

    >>> as_image(np.zeros((4, 6, 3), dtype=np.uint8)).shape  # numpy: (H, W, C)
    torch.Size([3, 4, 6])
    >>> as_image(torch.zeros(3, 4, 6)).shape  # torch: (C, H, W)
    torch.Size([3, 4, 6])
    >>> as_image(np.array([[0, 255], [51, 102]])).tolist()  # int64 holding 8-bit values
    [[0.0, 1.0], [0.20000000298023224, 0.4000000059604645]]
    >>> as_image(np.array([[0, 65535]], dtype=np.uint16)).tolist()
    [[0.0, 1.0]]
    """
    check_str(name, "name")
    if isinstance(image, np.ndarray):
        if image.dtype.kind not in "buif":
            raise TypeError(f"{name} must hold numbers, got an array of dtype {image.dtype}")
        if image.ndim == 3:
            image = np.moveaxis(image, -1, 0)  # (H, W, C) -> (C, H, W)
        t = torch.from_numpy(np.ascontiguousarray(image))
    elif isinstance(image, torch.Tensor):
        if image.is_complex():
            raise TypeError(f"{name} must hold real numbers, got dtype {image.dtype}")
        t = image.detach().cpu()
    else:
        raise TypeError(f"{name} must be a torch.Tensor or numpy array, got {type(image).__name__}")
    layout = "(H, W, C)" if isinstance(image, np.ndarray) else "(C, H, W)"
    if t.dim() not in (2, 3):
        raise ValueError(f"{name} must be 2D (H, W) or 3D {layout}, got shape {tuple(t.shape)}")
    if t.dim() == 3 and t.shape[0] not in (1, 3, 4):
        shape = tuple(image.shape)
        raise ValueError(f"{name} {layout} must have 1, 3 or 4 channels, got shape {shape}")
    if t.shape[-1] < 1 or t.shape[-2] < 1:
        raise ValueError(f"{name} must not be empty, got shape {tuple(image.shape)}")
    if t.dim() == 3:
        t = t[0] if t.shape[0] == 1 else t[:3]
    return _to_unit_float(t, name).contiguous()


def _to_unit_float(t: torch.Tensor, name: str) -> torch.Tensor:
    """Integers scaled to [0, 1] by the rule of :func:`as_image`; floats as float32."""
    if t.dtype == torch.bool:
        return t.float()
    if t.is_floating_point():
        out = t.float()
        if not torch.isfinite(out).all():
            raise ValueError(f"{name} values must be finite numbers that fit float32")
        return out
    if t.dtype == torch.uint16:
        return t.to(torch.int32).float() / 65535.0
    lo, hi = int(t.min()), int(t.max())
    if lo < 0 or hi > 255:
        raise ValueError(
            f"{name} of dtype {str(t.dtype).removeprefix('torch.')} must hold 8-bit values "
            f"0..255, got {lo}..{hi}; pass uint16 for 16-bit images, or floats in [0, 1]"
        )
    return t.float() / 255.0


def read_image(content: bytes, name: str = "image", *, max_side: int | None = None) -> torch.Tensor:
    """An image file's bytes (a reader's upload) as a ``(3, H, W)`` float image in [0, 1];
    transparent pixels become white.

    ``max_side``: if given, a larger image is shrunk (antialiased) so that its longer side
    is ``max_side`` pixels; a JPEG is then decoded at a reduced size to begin with, which
    is many times faster for a camera's photo.

    Raises:
        ValueError: naming the file and saying, in a reader's words, why it cannot be used:
            empty, over :data:`MAX_FILE_BYTES`, not an image, more than
            :data:`MAX_PIXELS` pixels, or damaged.
    """
    if not isinstance(content, (bytes, bytearray, memoryview)):
        raise TypeError(f"content must be bytes, got {type(content).__name__}")
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, got {type(name).__name__}")
    if max_side is not None:
        check_int(max_side, "max_side", minimum=1)
    content = bytes(content)
    if not content:
        raise ValueError(f"{name!r} is empty: choose an image file ({FILE_TYPES})")
    if len(content) > MAX_FILE_BYTES:
        raise ValueError(
            f"{name!r} is {len(content) / 2**20:.1f} MB: images of up to "
            f"{MAX_FILE_BYTES // 2**20} MB can be read; save a smaller copy"
        )
    try:
        with warnings.catch_warnings():
            # PIL warns (and above twice the limit raises) for a huge image: said below
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(content))
    except (Image.UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError,
            SyntaxError):
        img = None
    if img is None:
        raise ValueError(
            f"{name!r} is not an image file that can be read: choose a {FILE_TYPES} file"
        )
    with img:
        width, height = img.size
        if width * height > MAX_PIXELS:
            raise ValueError(
                f"{name!r} is too large: {width} × {height} pixels "
                f"({width * height / 1e6:.0f} million); images of up to "
                f"{MAX_PIXELS / 1e6:.0f} million pixels can be read, so save a smaller copy"
            )
        try:
            if max_side is not None:
                img.draft("RGB", (max_side, max_side))  # JPEG: decode at 1/2, 1/4 or 1/8
            img.load()
            rgb = _rgb_on_white(img)
            if max_side is not None:
                rgb.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
        except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
            raise ValueError(
                f"{name!r} could not be read to the end: the file looks damaged or cut "
                f"short; choose another {FILE_TYPES} file"
            ) from None
    return as_image(np.asarray(rgb))


def _rgb_on_white(img: Image.Image) -> Image.Image:
    """``img`` as RGB, transparent pixels on white."""
    if img.mode in ("RGBA", "LA", "PA") or "transparency" in img.info:
        rgba = img.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return img.convert("RGB")
