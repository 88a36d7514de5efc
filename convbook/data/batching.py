"""Batches on the training device: :func:`batches` and :func:`num_batches` cut a data set into
batches; :func:`normalize` and :func:`reflect_pad` (the padding of random shifts and of
test-time augmentation) work on a whole batch of tensors at once, never image by image
through PIL.  A loop over batches checks the normalisation constants once
(:func:`check_mean_std`) and then calls :func:`normalize_unchecked`, which never waits for
the device.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch

from convbook._args import (
    check_bool,
    check_instance,
    check_int,
    check_positive_int,
    check_tensor,
)


def normalize(x: torch.Tensor, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    """``(N, C, H, W)`` uint8 (0..255) → float32 ``(x / 255 - mean) / std`` per channel.

    ``mean`` and ``std`` are ``(C,)`` tensors on the 0..1 scale (:meth:`ImageData.mean_std`);
    ``std`` must be positive and both finite.  A loop over batches checks them once
    (:func:`check_mean_std`) and calls :func:`normalize_unchecked`.
    """
    check_tensor(x, "x", [4], ["(N, C, H, W)"])
    if x.dtype != torch.uint8:
        raise TypeError(f"x must be a uint8 tensor (0..255), got {x.dtype}")
    check_mean_std(mean, std, x.shape[1], "x")
    return normalize_unchecked(x, mean, std)


def check_mean_std(mean: torch.Tensor, std: torch.Tensor, channels: int, images: str) -> None:
    """Raise unless ``mean`` and ``std`` are finite ``(channels,)`` tensors and ``std > 0``;
    ``images`` names the argument whose channels they normalise.  (Reading the values waits
    for the device: check once, before a loop over batches.)"""
    for t, name in ((mean, "mean"), (std, "std")):
        check_tensor(t, name, [1], [f"(C,) = ({channels},)"])
        if t.shape[0] != channels:
            raise ValueError(f"{name} must have one value per channel of {images} "
                             f"({channels}), got {t.shape[0]}")
        if not torch.isfinite(t).all():
            raise ValueError(f"{name} must be finite, got {t.tolist()}")
    if not (std > 0).all():
        raise ValueError(f"std must be > 0 in every channel, got {std.tolist()}")


def normalize_unchecked(x: torch.Tensor, mean: torch.Tensor, std: torch.Tensor
                        ) -> torch.Tensor:
    """:func:`normalize` for arguments already checked (:func:`check_mean_std`, a uint8
    ``x``): ``(N, C, H, W)`` uint8 → float32, ``mean`` and ``std`` ``(C,)``.  Nothing is
    read back from the device, so a training loop never waits on it."""
    mean = mean.to(x.device).view(1, -1, 1, 1)
    std = std.to(x.device).view(1, -1, 1, 1)
    return (x.float() / 255 - mean) / std


def reflect_pad(images: torch.Tensor, pad: int) -> torch.Tensor:
    """``(N, C, H, W)`` → ``(N, C, H + 2·pad, W + 2·pad)``, mirrored at the borders without
    repeating the edge pixel (like ``F.pad(..., mode="reflect")``, but for any dtype,
    uint8 included, and without a float copy of the whole data set).

    >>> reflect_pad(torch.tensor([[[[1, 2, 3]]]]).expand(1, 1, 2, 3), 1)[0, 0]
    tensor([[2, 1, 2, 3, 2],
            [2, 1, 2, 3, 2],
            [2, 1, 2, 3, 2],
            [2, 1, 2, 3, 2]])
    """
    check_tensor(images, "images", [4], ["(N, C, H, W)"])
    check_int(pad, "pad", minimum=0)
    h, w = images.shape[2:]
    if not 0 <= pad < min(h, w):
        raise ValueError(f"pad must be in [0, {min(h, w) - 1}] for {h}×{w} images, got {pad}")

    def index(n: int) -> torch.Tensor:
        i = torch.arange(-pad, n + pad, device=images.device).abs()
        return torch.where(i >= n, 2 * (n - 1) - i, i)

    return images.index_select(2, index(h)).index_select(3, index(w))


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

    A seeded ``generator`` makes the shuffled order reproducible.  Normalise the batches on
    the device afterwards (:func:`normalize`).  The arguments
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
    if generator is not None:
        check_instance(generator, "generator", torch.Generator, "a torch.Generator or None")
    check_instance(device, "device", (str, torch.device), "a str or torch.device")
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
