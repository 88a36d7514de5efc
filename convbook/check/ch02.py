"""Self-checks for chapter 2 (padding and stride). Answers are computed by real torch layers."""

from __future__ import annotations

import torch
from torch import nn

from convbook.check._result import CheckResult, verdict


def _conv_shape(n: int, k: int, stride: int, padding: int, dilation: int = 1) -> int:
    layer = nn.Conv2d(1, 1, k, stride=stride, padding=padding, dilation=dilation, bias=False)
    with torch.no_grad():
        return layer(torch.zeros(1, 1, n, n)).shape[-1]


def output_size(answer: object) -> CheckResult:
    """Exercise 1: output width of a 7x7 conv, stride 2, padding 3 (per side) on 224x224."""
    expected = _conv_shape(224, 7, 2, 3)
    # The usual slip: treating padding=3 as the *total* padding.
    total_instead = (224 - 7 + 3 + 2) // 2
    if answer == total_instead and answer != expected:
        return verdict(False, "", "padding=3 is per side: the total padding is 6.")
    return verdict(
        answer == expected,
        f"{expected}: floor((224 + 2*3 - 7) / 2) + 1.",
        "use floor((n + 2p - k) / s) + 1 with p the padding on each side.",
    )


def same_padding(answer: object) -> CheckResult:
    """Exercise 2: per-side padding keeping a 5x5 kernel with dilation 2 'same' at stride 1."""
    fits = [p for p in range(10) if _conv_shape(16, 5, 1, p, dilation=2) == 16]
    return verdict(
        isinstance(answer, int) and answer in fits,
        f"padding {fits[0]}: the dilated kernel spans 5 + 4 * 1 = 9 pixels, so 8 in total.",
        "work out the effective kernel size k + (k - 1)(d - 1) first, then split k_eff - 1 "
        "over the two sides.",
    )
