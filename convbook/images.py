"""Real photos for the examples, from the images that ship inside scikit-image.

Nothing is downloaded: every name in :data:`PHOTOS` is a file in ``skimage/data``.
"""

from __future__ import annotations

import numpy as np
import torch

from convbook._args import check_bool, check_int, check_tensor

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
