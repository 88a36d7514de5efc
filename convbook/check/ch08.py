"""Self-checks for chapter 08's exercises (CIFAR-10 case study).

The expected answers come from real torch layers (the output shape of the layers on a
zero input, ``numel`` of a layer's parameters), never from ``convbook.shapes`` or
``convbook.models``.
"""

from __future__ import annotations

import torch
from torch import nn

from convbook.check._answers import judge_int
from convbook.check._result import CheckResult


def tutorial_flatten_size(answer: object) -> CheckResult:
    """Exercise 1: the flattened feature count of ``TutorialNet``'s layers on a 28×28 input.

    Answer: an int, a number of features.
    """
    layers = nn.Sequential(  # TutorialNet's convolutions and poolings
        nn.Conv2d(3, 6, 5), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5), nn.MaxPool2d(2),
    )
    with torch.no_grad():
        expected = layers(torch.zeros(1, 3, 28, 28)).numel()
    return judge_int(
        answer, expected, what="a number of features",
        success=f"{expected}: 28 → 24 → 12 → 8 → 4, and 16·4·4 = {expected}.",
        hint="Apply H_out = H − k + 1 for each 5×5 convolution and halve for each pool, then "
        "multiply by the 16 channels.",
    )


def conv_parameters(answer: object) -> CheckResult:
    """Exercise 2: parameters of ``nn.Conv2d(3, 32, 3)`` (weights and biases).

    Answer: an int, a number of parameters.
    """
    expected = sum(p.numel() for p in nn.Conv2d(3, 32, 3).parameters())
    return judge_int(
        answer, expected, what="a number of parameters",
        success=f"{expected}: 32 kernels of 3·3·3 weights, plus 32 biases.",
        hint="Each output channel has one 3×3 kernel per input channel, and one bias.",
    )
