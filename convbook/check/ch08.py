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
    return judge_int(answer, expected, "ch08.tutorial_flatten_size")


def conv_parameters(answer: object) -> CheckResult:
    """Exercise 2: parameters of ``nn.Conv2d(3, 32, 3)`` (weights and biases).

    Answer: an int, a number of parameters.
    """
    expected = sum(p.numel() for p in nn.Conv2d(3, 32, 3).parameters())
    return judge_int(answer, expected, "ch08.conv_parameters")


def optimizer_steps(answer: object) -> CheckResult:
    """Exercise 3: optimizer steps of the fast recipe (batch 1,000, 50,000 images, 3 epochs).

    Answer: an int, a number of steps.
    """
    images, batch, epochs = 50_000, 1_000, 3
    per_epoch = len(range(0, images, batch))  # one step per batch, a smaller last one too
    expected = epochs * per_epoch
    return judge_int(answer, expected, "ch08.optimizer_steps", per_epoch=per_epoch,
                     typical={per_epoch: "one_epoch"})


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
    return judge_int(answer, expected, "ch08.fastnet_final_size",
                     typical={4: "forgot_whitening"})
