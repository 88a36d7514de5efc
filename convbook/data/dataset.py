"""The data set as tensors: :class:`ImageData` (train and test images and labels, class names)
and :func:`channel_stats`, the per-channel mean and std its :meth:`ImageData.mean_std` keeps.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch

from convbook._args import check_instance, check_int, check_tensor

_STATS_CHUNK = 1024  # images per step of channel_stats


@dataclass(frozen=True)
class ImageData:
    """A labelled image data set split into train and test.

    Attributes:
        train_images: ``(N_train, 3, H, W)`` uint8.
        train_labels: ``(N_train,)`` int64 class indices.
        test_images: ``(N_test, 3, H, W)`` uint8.
        test_labels: ``(N_test,)`` int64.
        classes: class names, ``classes[label]``.
    """

    train_images: torch.Tensor
    train_labels: torch.Tensor
    test_images: torch.Tensor
    test_labels: torch.Tensor
    classes: tuple[str, ...]
    _stats: tuple[torch.Tensor, torch.Tensor] | None = field(
        default=None, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        """Raise a ``TypeError``/``ValueError`` naming the first part that does not fit."""
        for split in ("train", "test"):
            images, labels = getattr(self, f"{split}_images"), getattr(self, f"{split}_labels")
            check_tensor(images, f"{split}_images", [4], ["(N, 3, H, W)"])
            if images.dtype != torch.uint8:
                raise TypeError(f"{split}_images must be uint8 (0..255), got {images.dtype}")
            check_tensor(labels, f"{split}_labels", [1], ["(N,)"])
            if labels.dtype != torch.int64:
                raise TypeError(f"{split}_labels must be int64 class indices, got "
                                f"{labels.dtype}")
            if len(labels) != len(images):
                raise ValueError(f"{split}_labels must have one label per image of "
                                 f"{split}_images ({len(images)}), got {len(labels)}")
        if self.test_images.shape[1:] != self.train_images.shape[1:]:
            raise ValueError(f"test_images must have the training images' shape "
                             f"{tuple(self.train_images.shape[1:])}, got "
                             f"{tuple(self.test_images.shape[1:])}")
        check_instance(self.classes, "classes", tuple, "a tuple of class names")
        if not self.classes or not all(isinstance(c, str) for c in self.classes):
            raise ValueError(f"classes must be a non-empty tuple of names, got {self.classes!r}")
        k = len(self.classes)
        for split in ("train", "test"):
            labels = getattr(self, f"{split}_labels")
            if len(labels) and not 0 <= int(labels.min()) <= int(labels.max()) < k:
                raise ValueError(f"{split}_labels must be class indices in 0..{k - 1}, got "
                                 f"values from {int(labels.min())} to {int(labels.max())}")

    def subset(self, n_train: int, n_test: int, seed: int = 0) -> ImageData:
        """A random, class-mixed subset of ``n_train`` training and ``n_test`` test images,
        drawn with ``seed`` (an int >= 0)."""
        n_train = check_int(n_train, "n_train", minimum=1, maximum=len(self.train_labels))
        n_test = check_int(n_test, "n_test", minimum=1, maximum=len(self.test_labels))
        seed = check_int(seed, "seed", minimum=0)
        g = torch.Generator().manual_seed(seed)
        tr = torch.randperm(len(self.train_labels), generator=g)[:n_train]
        te = torch.randperm(len(self.test_labels), generator=g)[:n_test]
        return ImageData(
            self.train_images[tr], self.train_labels[tr],
            self.test_images[te], self.test_labels[te], self.classes,
        )

    def mean_std(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-channel mean and standard deviation of the training images, on the 0..1 scale.

        Returns two ``(3,)`` float32 tensors, computed from the data (never copied constants)
        on the first call and kept: later calls return the same tensors (do not modify them).
        """
        if self._stats is None:  # a frozen dataclass: set the kept value behind its back
            object.__setattr__(self, "_stats", channel_stats(self.train_images))
        assert self._stats is not None
        return self._stats

    def __repr__(self) -> str:
        shape = tuple(self.train_images.shape[1:])
        return (
            f"ImageData(train={len(self.train_labels):,}, test={len(self.test_labels):,}, "
            f"image shape={shape}, classes={len(self.classes)})"
        )


def channel_stats(images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel mean and (unbiased) std of ``images: (N, C, H, W)`` uint8, scaled to 0..1.

    Exact sums in integers, a chunk of images at a time: no float64 copy of the data set
    (which for CIFAR-10's 50,000 training images would take 1.2 GB).

    Returns:
        ``(mean, std)``, two ``(C,)`` float32 tensors on ``images``' device.
    """
    check_tensor(images, "images", [4], ["(N, C, H, W)"])
    if images.dtype != torch.uint8:
        raise TypeError(f"images must be a uint8 tensor (0..255), got {images.dtype}")
    c = images.shape[1]
    n = images.numel() // c if c else 0
    if n == 0:
        raise ValueError(f"images must hold at least one pixel per channel, got shape "
                         f"{tuple(images.shape)}")
    total = torch.zeros(c, dtype=torch.int64, device=images.device)
    squares = torch.zeros(c, dtype=torch.int64, device=images.device)
    for start in range(0, len(images), _STATS_CHUNK):
        x = images[start:start + _STATS_CHUNK].to(torch.int32)
        total += x.sum(dim=(0, 2, 3), dtype=torch.int64)
        squares += (x * x).sum(dim=(0, 2, 3), dtype=torch.int64)
    # In Python's exact integers: n * sum(x^2) - (sum x)^2 = n (n - 1) * variance * 255^2.
    sums, sums_sq = total.tolist(), squares.tolist()
    mean = [t / (n * 255) for t in sums]
    std = [math.sqrt((n * q - t * t) / (n * (n - 1))) / 255 if n > 1 else math.nan
           for t, q in zip(sums, sums_sq)]
    return (torch.tensor(mean, dtype=torch.float32, device=images.device),
            torch.tensor(std, dtype=torch.float32, device=images.device))

