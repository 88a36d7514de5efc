"""Self-checks for chapter 3 (multiple channels). Answers come from real torch layers."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from convbook.check._result import CheckResult, verdict


def param_count(answer: object) -> CheckResult:
    """Exercise 1: number of parameters of ``nn.Conv2d(64, 128, kernel_size=3)``."""
    expected = sum(p.numel() for p in nn.Conv2d(64, 128, 3).parameters())
    if answer == expected - 128:
        return verdict(False, "", "almost: don't forget one bias per output channel.")
    return verdict(
        answer == expected,
        f"{expected} = (64 * 3 * 3 + 1) * 128.",
        "each output channel has one kernel slice per input channel, plus a bias.",
    )


def mac_count(answer: object) -> CheckResult:
    """Exercise 2: multiply-accumulates of a 1x1 conv from 256 to 64 channels on 56x56.

    Counted by convolving all-ones input with all-ones kernels: every output value is then
    the number of products that produced it.
    """
    ones = torch.ones(1, 256, 56, 56, dtype=torch.float64)
    expected = int(F.conv2d(ones, torch.ones(64, 256, 1, 1, dtype=torch.float64)).sum())
    return verdict(
        answer == expected,
        f"{expected:,} = 56 * 56 pixels * 64 outputs * 256 inputs.",
        "each of the 56 * 56 * 64 output values is a sum of c_in * k_h * k_w products.",
    )
