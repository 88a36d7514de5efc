"""Augmented training batches, made on the training device a whole batch at a time.

:class:`TrainLoader` shuffles the training set every epoch, shifts each image by up to
``translate`` pixels (a random crop of the reflect-padded image) and mirrors it left-right,
then normalises the batch.  Everything random in an epoch is drawn at its start from a
generator seeded with ``(seed, epoch)``, so epoch ``e`` is the same whenever it runs: a run
that stops in the middle of an epoch and resumes there sees exactly the batches it would
have seen.

In a data-parallel run (:mod:`convbook.training.distributed`) every process draws the same
epoch and
takes its own part of every batch (``rank`` and ``world_size``): the parts are disjoint and
together make up the batch a single process would train on.

Flipping can be ``"random"`` (each image with probability 1/2, afresh every epoch) or
``"alternating"`` (airbench's trick: a random half of the images is flipped in even epochs and
the other half in odd epochs, so every pair of consecutive epochs shows each image both
ways, instead of by chance both times the same way).
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
import torch.nn.functional as F

from convbook._args import (
    check_choice,
    check_instance,
    check_int,
    check_number,
    check_positive_int,
    check_tensor,
)
from convbook.data import check_mean_std, normalize_unchecked, reflect_pad
from convbook.hardware import select_device
from convbook.training.recipes import FLIPS


def crop(padded: torch.Tensor, dy: torch.Tensor, dx: torch.Tensor, size: tuple[int, int]
         ) -> torch.Tensor:
    """Image ``n`` of ``padded: (N, C, H', W')`` cropped to ``size`` from row ``dy[n]``,
    column ``dx[n]``; returns ``(N, C, *size)``."""
    check_tensor(padded, "padded", [4], ["(N, C, H', W')"])
    n, _, hp, wp = padded.shape
    check_instance(size, "size", (tuple, list), "a pair (h, w)")
    if len(size) != 2:
        raise ValueError(f"size must be a pair (h, w), got {size!r}")
    h = check_int(size[0], "size", minimum=1, maximum=hp)
    w = check_int(size[1], "size", minimum=1, maximum=wp)
    for name, offsets, limit in (("dy", dy, hp - h), ("dx", dx, wp - w)):
        check_tensor(offsets, name, [1], ["(N,)"])
        if len(offsets) != n or offsets.is_floating_point() or offsets.dtype == torch.bool:
            raise ValueError(f"{name} must hold {n} integer offsets, one per image, got "
                             f"{tuple(offsets.shape)} {offsets.dtype}")
        if n and (offsets.min() < 0 or offsets.max() > limit):
            raise ValueError(f"{name} must lie in [0, {limit}] to crop {h}×{w} from "
                             f"{hp}×{wp} images, got values from {int(offsets.min())} to "
                             f"{int(offsets.max())}")
    return _crop(padded, dy, dx, (h, w))


def _crop(padded: torch.Tensor, dy: torch.Tensor, dx: torch.Tensor, size: tuple[int, int]
          ) -> torch.Tensor:
    """:func:`crop` for checked arguments (every batch of :class:`TrainLoader`): image ``n``
    of ``padded: (N, C, H', W')`` from row ``dy[n]``, column ``dx[n]`` (``dy``, ``dx``:
    ``(N,)`` integers, on any device), ``size = (h, w)``; returns ``(N, C, h, w)``, one
    gather, nothing read back from the device."""
    n, c = padded.shape[:2]
    h, w = size
    dev = padded.device
    rows = (dy.to(dev)[:, None] + torch.arange(h, device=dev))[:, None, :, None]  # (N,1,h,1)
    cols = (dx.to(dev)[:, None] + torch.arange(w, device=dev))[:, None, None, :]  # (N,1,1,w)
    batch = torch.arange(n, device=dev)[:, None, None, None]
    chans = torch.arange(c, device=dev)[None, :, None, None]
    return padded[batch, chans, rows, cols]


def downscale(images: torch.Tensor, scale: float) -> torch.Tensor:
    """``(N, C, H, W)`` float → ``(N, C, round(scale·H), round(scale·W))``: each image shrunk
    as a whole (bilinear, antialiased: every output pixel averages the input pixels it
    covers), so that a network sees the same objects at a smaller scale.  Training the first
    epochs on smaller images (*progressive resizing*) costs less per image: a convolution's
    work grows with the area of its input.  ``scale`` is in ``(0, 1]``."""
    check_tensor(images, "images", [4], ["(N, C, H, W)"])
    if not images.is_floating_point():
        raise TypeError(f"images must be floating point (normalised), got {images.dtype}")
    scale = check_number(scale, "scale", low=0, low_ok=False, high=1, high_ok=True)
    return _downscale(images, scale)


def _downscale(images: torch.Tensor, scale: float) -> torch.Tensor:
    """:func:`downscale` for checked arguments (every batch of :class:`TrainLoader`):
    ``images: (N, C, H, W)`` float → ``(N, C, round(scale·H), round(scale·W))`` (at least
    1×1), ``images`` itself when the size stays the same."""
    h, w = images.shape[2:]
    size = (max(1, round(scale * h)), max(1, round(scale * w)))
    if size == (h, w):
        return images
    return F.interpolate(images, size=size, mode="bilinear", antialias=True,
                         align_corners=False)


def shard(n: int, rank: int, size: int) -> slice:
    """Part ``rank`` of ``range(n)`` cut into ``size`` contiguous parts.

    The parts' lengths differ by at most one (the first ``n % size`` are one longer), like
    ``torch.tensor_split``; together they cover ``range(n)`` without overlap.

    >>> [shard(10, r, 3) for r in range(3)]
    [slice(0, 4, None), slice(4, 7, None), slice(7, 10, None)]
    """
    check_int(n, "n", minimum=0)
    check_int(size, "size", minimum=1)
    check_int(rank, "rank", minimum=0, maximum=size - 1)
    base, extra = divmod(n, size)
    start = rank * base + min(rank, extra)
    return slice(start, start + base + (rank < extra))


class TrainLoader:
    """Shuffled, augmented, normalised training batches.

    Args:
        images: ``(N, C, H, W)`` uint8 training images.
        labels: ``(N,)`` int64.
        batch_size: images per batch (the last batch of an epoch may be smaller).
        mean, std: ``(C,)`` normalisation constants (0..1 scale).
        translate: largest shift in pixels (0: no shifts).
        flip: ``"alternating"``, ``"random"`` or ``"none"``.
        seed: makes every epoch reproducible.
        device: where the batches are made (the data set is copied there once, padded).
        memory_format: of the batches (``torch.channels_last`` for convolutions).
        rank, world_size: in a data-parallel run of ``world_size`` processes, this process's
            number; it then gets part ``rank`` of every batch
            (:func:`shard`): ``batch_size`` is the batch of all processes
            together.

    ``loader.epoch(e)`` yields ``(x, y)``: ``x`` float32 ``(B, C, H, W)``, ``y`` int64 ``(B,)``.
    """

    def __init__(
        self,
        images: torch.Tensor,
        labels: torch.Tensor,
        batch_size: int,
        mean: torch.Tensor,
        std: torch.Tensor,
        *,
        translate: int = 0,
        flip: str = "none",
        seed: int = 0,
        device: torch.device | str = "cpu",
        memory_format: torch.memory_format = torch.contiguous_format,
        rank: int = 0,
        world_size: int = 1,
    ) -> None:
        check_tensor(images, "images", [4], ["(N, C, H, W)"])
        check_tensor(labels, "labels", [1], ["(N,)"])
        if len(images) != len(labels):
            raise ValueError(
                f"images and labels must have the same length, got {len(images)} and "
                f"{len(labels)}"
            )
        if len(labels) == 0:
            raise ValueError("images must hold at least one image, got 0")
        check_positive_int(batch_size, "batch_size")
        check_choice(flip, "flip", FLIPS)
        check_int(seed, "seed", minimum=0)
        check_int(translate, "translate", minimum=0, maximum=min(images.shape[2:]) - 1)
        if images.dtype != torch.uint8:
            raise TypeError(f"images must be a uint8 tensor (0..255), got {images.dtype}")
        check_mean_std(mean, std, images.shape[1], "images")  # once: batches trust them
        check_instance(memory_format, "memory_format", torch.memory_format,
                       "a torch.memory_format")
        device = select_device(device)
        check_positive_int(world_size, "world_size")
        check_int(rank, "rank", minimum=0, maximum=world_size - 1)
        last = len(labels) % batch_size or batch_size  # images in the last batch of an epoch
        if min(batch_size, last) < world_size:
            what = (f"batch_size is {batch_size}" if batch_size < world_size else
                    f"the last batch of an epoch holds {last} of the {len(labels)} images")
            raise ValueError(
                f"every batch must have at least one image for each of the {world_size} "
                f"processes, but {what}: choose another batch size")
        self.rank, self.world_size = rank, world_size
        self.batch_size = batch_size
        self.translate = translate
        self.flip = flip
        self.seed = seed
        self.device = torch.device(device)
        self.memory_format = memory_format
        self.size = tuple(images.shape[2:])
        self.mean, self.std = mean.to(self.device), std.to(self.device)
        self.padded = reflect_pad(images, translate).to(self.device)
        self.labels = labels.to(self.device)
        # "alternating": which images are mirrored in the even epochs (fixed for the run)
        base = torch.Generator().manual_seed(seed)
        self._flip_even = torch.rand(len(labels), generator=base) < 0.5

    def __len__(self) -> int:
        """Batches per epoch."""
        return -(-len(self.labels) // self.batch_size)

    def batch_len(self, b: int) -> int:
        """Images in batch ``b`` of an epoch, all processes' parts together."""
        return min(self.batch_size, len(self.labels) - b * self.batch_size)

    def _draws(self, epoch: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
        n, r = len(self.labels), self.translate
        order = torch.randperm(n, generator=g)
        dy = torch.randint(0, 2 * r + 1, (n,), generator=g)
        dx = torch.randint(0, 2 * r + 1, (n,), generator=g)
        if self.flip == "random":
            flips = torch.rand(n, generator=g) < 0.5
        elif self.flip == "alternating":
            flips = self._flip_even ^ bool(epoch % 2)
        else:
            flips = torch.zeros(n, dtype=torch.bool)
        return order, dy, dx, flips[order]

    def epoch(self, epoch: int, start: int = 0, scale: float = 1.0
              ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """The batches of epoch ``epoch`` (0-based), beginning with batch number ``start``;
        with ``scale < 1``, every image is scaled down by ``scale`` (:func:`downscale`)
        after its shift and flip."""
        check_int(epoch, "epoch", minimum=0)
        check_int(start, "start", minimum=0, maximum=len(self))
        scale = check_number(scale, "scale", low=0, low_ok=False, high=1, high_ok=True)
        order, dy, dx, flips = self._draws(epoch)
        for b in range(start, len(self)):
            first = b * self.batch_size
            part = shard(self.batch_len(b), self.rank, self.world_size)  # all in a plain run
            sl = slice(first + part.start, first + part.stop)
            idx = order[sl].to(self.device)
            x = _crop(self.padded[idx], dy[sl], dx[sl], self.size)  # (B, C, H, W) uint8
            mirror = flips[sl].to(self.device).view(-1, 1, 1, 1)
            x = torch.where(mirror, x.flip(3), x)
            x = _downscale(normalize_unchecked(x, self.mean, self.std), scale)
            yield x.contiguous(memory_format=self.memory_format), self.labels[idx]
