"""Layers built from the book's own operations, to show what ``nn.Conv2d`` holds inside."""

from __future__ import annotations

import torch
from torch import nn

from convbook._args import IntPair, pair
from convbook.kernels import MAX_SIZE
from convbook.ops import corr2d


class Conv2D(nn.Module):
    """A single-channel convolution layer: ``Y = corr2d(X, weight) + bias``.

    Args:
        kernel_size: ``k`` or ``(k_h, k_w)``, each >= 1.

    Input ``X``: ``(n_h, n_w)``; output: ``(n_h - k_h + 1, n_w - k_w + 1)``.
    ``weight`` ``(k_h, k_w)`` starts uniform in [0, 1) and ``bias`` ``(1,)`` at zero; both
    are ``nn.Parameter`` s, so an optimizer (or a hand-written update) can learn them.
    """

    def __init__(self, kernel_size: IntPair) -> None:
        super().__init__()
        size = pair(kernel_size, "kernel_size", minimum=1)
        if max(size) > MAX_SIZE:
            raise ValueError(f"kernel_size must be <= {MAX_SIZE}, got {kernel_size}")
        self.weight = nn.Parameter(torch.rand(size))
        self.bias = nn.Parameter(torch.zeros(1))

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        return corr2d(X, self.weight) + self.bias
