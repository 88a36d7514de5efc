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


def optimizer_steps(answer: object) -> CheckResult:
    """Exercise 3: optimizer steps of the fast recipe (batch 1,000, 50,000 images, 3 epochs).

    Answer: an int, a number of steps.
    """
    images, batch, epochs = 50_000, 1_000, 3
    per_epoch = len(range(0, images, batch))  # one step per batch, a smaller last one too
    expected = epochs * per_epoch
    return judge_int(
        answer, expected, what="a number of steps",
        success=f"{expected}: 50,000 / 1,000 = {per_epoch} steps an epoch, times 3 epochs.",
        hint="One step per batch: divide the images by the batch size (rounding up), then "
        "multiply by the number of epochs.",
        typical={per_epoch: "That is one epoch; the recipe trains for three."},
    )


def fastnet_final_size(answer: object) -> CheckResult:
    """Exercise 4: height of FastNet's last feature maps for a 32×32 input.

    Answer: an int, a height in pixels.
    """
    layers = nn.Sequential(  # FastNet's sizes: 2×2 whitening, then per block conv, pool, conv
        nn.Conv2d(3, 1, 2),
        *(m for _ in range(3) for m in (nn.Conv2d(1, 1, 3, padding=1), nn.MaxPool2d(2),
                                        nn.Conv2d(1, 1, 3, padding=1))),
    )
    with torch.no_grad():
        expected = layers(torch.zeros(1, 3, 32, 32)).shape[-1]
    return judge_int(
        answer, expected, what="a height in pixels",
        success=f"{expected}: 32 → 31 (2×2 filters, no padding) → 15 → 7 → {expected}.",
        hint="The whitening layer takes one pixel off (32 − 2 + 1); the 3×3 convolutions keep "
        "the size; each 2×2 pool halves it, rounding down.",
        typical={4: "32 → 16 → 8 → 4 forgets the whitening layer's lost pixel: 31 // 2 = 15."},
    )
