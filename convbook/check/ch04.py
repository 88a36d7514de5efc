"""Self-checks for chapter 4 (pooling). Answers come from real torch layers."""

from __future__ import annotations

import torch
from torch import nn

from convbook.check._result import CheckResult, verdict

#: The 4x4 input of exercise 2.
EXERCISE_X = torch.tensor(
    [[1.0, 3.0, 2.0, 0.0], [4.0, 6.0, 5.0, 1.0], [7.0, 2.0, 9.0, 8.0], [0.0, 1.0, 3.0, 4.0]]
)


def pool_output_size(answer: object) -> CheckResult:
    """Exercise 1: output width of ``nn.MaxPool2d(3, stride=2, padding=1)`` on 112x112."""
    with torch.no_grad():
        expected = nn.MaxPool2d(3, stride=2, padding=1)(torch.zeros(1, 112, 112)).shape[-1]
    return verdict(
        answer == expected,
        f"{expected}: floor((112 + 2 - 3) / 2) + 1.",
        "pooling uses the same size formula as convolution: floor((n + 2p - k) / s) + 1.",
    )


def max_pool_values(answer: object) -> CheckResult:
    """Exercise 2: 2x2 max pooling (stride 2) of :data:`EXERCISE_X`, as a nested list."""
    expected = nn.MaxPool2d(2)(EXERCISE_X[None])[0].tolist()
    try:
        got = torch.as_tensor(answer, dtype=torch.float32).tolist()
    except (TypeError, ValueError, RuntimeError):
        got = None
    return verdict(
        got == expected,
        f"{expected}: the largest value in each of the four 2x2 blocks.",
        "stride defaults to the kernel size, so the 2x2 windows do not overlap: "
        "four blocks, one maximum each.",
    )
