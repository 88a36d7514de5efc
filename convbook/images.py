"""Real photos for the examples, from the images that ship inside scikit-image.

Nothing is downloaded: every name in :data:`PHOTOS` is a file in ``skimage/data``.
"""

from __future__ import annotations

import numpy as np
import torch

from convbook._args import check_bool, check_int, check_str, check_tensor

#: Bundled photos a chapter or widget can ask for by name.
PHOTOS: tuple[str, ...] = (
    "camera", "astronaut", "chelsea", "coffee", "coins", "rocket", "moon", "brick", "text",
)
#: The largest side a photo is resized to.
MAX_SIZE = 4096


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
