"""Batches on the training device: :func:`batches` and :func:`num_batches` cut a data set into
batches, :func:`normalize` and :func:`augment` (random crop after padding, horizontal flip)
work on a whole batch of tensors at once, never image by image through PIL.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
import torch.nn.functional as F

from convbook._args import check_bool, check_choice, check_int, check_positive_int, check_tensor


def normalize(x: torch.Tensor, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    """``(N, C, H, W)`` uint8 (0..255) → float32 ``(x / 255 - mean) / std`` per channel.

    ``mean`` and ``std`` are ``(C,)`` tensors on the 0..1 scale (:meth:`ImageData.mean_std`);
    ``std`` must be positive and both finite.
    """
    check_tensor(x, "x", [4], ["(N, C, H, W)"])
    if x.dtype != torch.uint8:
        raise TypeError(f"x must be a uint8 tensor (0..255), got {x.dtype}")
    c = x.shape[1]
    for t, name in ((mean, "mean"), (std, "std")):
        check_tensor(t, name, [1], [f"(C,) = ({c},)"])
        if t.shape[0] != c:
            raise ValueError(f"{name} must have one value per channel of x ({c}), got "
                             f"{t.shape[0]}")
        if not torch.isfinite(t).all():
            raise ValueError(f"{name} must be finite, got {t.tolist()}")
    if not (std > 0).all():
        raise ValueError(f"std must be > 0 in every channel, got {std.tolist()}")
    mean = mean.to(x.device).view(1, -1, 1, 1)
    std = std.to(x.device).view(1, -1, 1, 1)
    return (x.float() / 255 - mean) / std


def augment(
    x: torch.Tensor,
    *,
    pad: int = 4,
    flip: bool = True,
    padding_mode: str = "reflect",
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Random crop after padding, and random horizontal flip, for a whole batch at once.

    Args:
        x: ``(N, C, H, W)`` images (any dtype) on any device.
        pad: pixels added on each side before cropping back to ``H × W``; 0 turns cropping off.
        flip: flip each image left-right with probability 1/2.
        padding_mode: ``"reflect"`` or ``"constant"`` (zeros); ``pad`` must be smaller than
            ``H`` and ``W``.
        generator: CPU generator for the random offsets (seeded → reproducible).

    Returns:
        ``(N, C, H, W)``, same dtype and device: image ``n`` is the window of the padded image
        starting at row ``dy[n]``, column ``dx[n]``, each uniform in ``0..2·pad``.
    """
    check_tensor(x, "x", [4], ["(N, C, H, W)"])
    n, _, h, w = x.shape
    pad = check_int(pad, "pad", minimum=0)
    if pad and pad >= min(h, w):
        raise ValueError(f"pad must be smaller than the images' height and width "
                         f"{(h, w)}, got {pad}")
    check_bool(flip, "flip")
    check_choice(padding_mode, "padding_mode", ("reflect", "constant"))
    _check_generator(generator)
    if pad:
        xp = F.pad(x.float() if padding_mode == "reflect" else x, (pad,) * 4, mode=padding_mode)
        xp = xp.to(x.dtype)
        dy = torch.randint(0, 2 * pad + 1, (n,), generator=generator).to(x.device)
        dx = torch.randint(0, 2 * pad + 1, (n,), generator=generator).to(x.device)
        rows = (dy[:, None] + torch.arange(h, device=x.device))[:, :, None]  # (N, H, 1)
        cols = (dx[:, None] + torch.arange(w, device=x.device))[:, None, :]  # (N, 1, W)
        idx = torch.arange(n, device=x.device)[:, None, None]
        x = xp.permute(0, 2, 3, 1)[idx, rows, cols].permute(0, 3, 1, 2)  # (N, C, H, W)
    if flip:
        mask = (torch.rand(n, generator=generator) < 0.5).to(x.device).view(-1, 1, 1, 1)
        x = torch.where(mask, x.flip(3), x)
    return x.contiguous()


def batches(
    images: torch.Tensor,
    labels: torch.Tensor,
    batch_size: int,
    *,
    shuffle: bool = False,
    generator: torch.Generator | None = None,
    drop_last: bool = False,
    device: torch.device | str = "cpu",
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Yield ``(images, labels)`` batches (uint8 ``(B, C, H, W)``, int64 ``(B,)``) on ``device``.

    A seeded ``generator`` makes the shuffled order reproducible.  Normalise and augment the
    batches on the device afterwards (:func:`normalize`, :func:`augment`).  The arguments
    are checked when it is called, before the first batch.
    """
    check_tensor(images, "images", [4], ["(N, C, H, W)"])
    check_tensor(labels, "labels", [1], ["(N,)"])
    if len(images) != len(labels):
        raise ValueError(f"images ({len(images)}) and labels ({len(labels)}) must have the "
                         "same length")
    batch_size = check_positive_int(batch_size, "batch_size")
    check_bool(shuffle, "shuffle")
    check_bool(drop_last, "drop_last")
    _check_generator(generator)
    if not isinstance(device, (str, torch.device)):
        raise TypeError(f"device must be a str or torch.device, got {device!r}")
    try:
        device = torch.device(device)
    except RuntimeError as e:
        raise ValueError(f"device must name a torch device ('cpu', 'cuda', 'mps', ...), got "
                         f"{device!r}") from e
    return _batches(images, labels, batch_size, shuffle, generator, drop_last, device)


def _batches(
    images: torch.Tensor, labels: torch.Tensor, batch_size: int, shuffle: bool,
    generator: torch.Generator | None, drop_last: bool, device: torch.device,
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    n = len(labels)
    order = torch.randperm(n, generator=generator) if shuffle else torch.arange(n)
    stop = n - n % batch_size if drop_last else n
    for start in range(0, stop, batch_size):
        i = order[start:start + batch_size]
        yield (images[i].to(device, non_blocking=True), labels[i].to(device, non_blocking=True))


def num_batches(n: int, batch_size: int, drop_last: bool = False) -> int:
    """How many batches :func:`batches` yields for ``n`` items."""
    n = check_int(n, "n", minimum=0)
    batch_size = check_positive_int(batch_size, "batch_size")
    check_bool(drop_last, "drop_last")
    return n // batch_size if drop_last else -(-n // batch_size)


def _check_generator(generator: object) -> None:
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator or None, got {generator!r}")
