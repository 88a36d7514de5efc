"""Self-checks for chapter 08's exercises (CIFAR-10 case study).

The expected answers come from real torch layers (the output shape of the layers on a
zero input, ``numel`` of a layer's parameters), never from ``convbook.shapes`` or
``convbook.models``.
"""

from __future__ import annotations

import torch
from torch import nn

from convbook.check._answers import judge_int
from convbook.check._lang import tr
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
        answer, expected, what=tr("a number of features", "特征的个数"),
        success=tr(f"{expected}: 28 → 24 → 12 → 8 → 4, and 16·4·4 = {expected}.",
                   f"{expected}：28 → 24 → 12 → 8 → 4，而 16·4·4 = {expected}。"),
        hint=tr("Apply H_out = H − k + 1 for each 5×5 convolution and halve for each pool, then "
                "multiply by the 16 channels.",
                "每个 5×5 卷积用 H_out = H − k + 1，每个汇聚层减半，最后乘以 16 个通道。"),
    )


def conv_parameters(answer: object) -> CheckResult:
    """Exercise 2: parameters of ``nn.Conv2d(3, 32, 3)`` (weights and biases).

    Answer: an int, a number of parameters.
    """
    expected = sum(p.numel() for p in nn.Conv2d(3, 32, 3).parameters())
    return judge_int(
        answer, expected, what=tr("a number of parameters", "参数的个数"),
        success=tr(f"{expected}: 32 kernels of 3·3·3 weights, plus 32 biases.",
                   f"{expected}：32 个卷积核，每个有 3·3·3 个权重，再加上 32 个偏置。"),
        hint=tr("Each output channel has one 3×3 kernel per input channel, and one bias.",
                "每个输出通道对每个输入通道各有一个 3×3 卷积核，另外还有一个偏置。"),
    )


def optimizer_steps(answer: object) -> CheckResult:
    """Exercise 3: optimizer steps of the fast recipe (batch 1,000, 50,000 images, 3 epochs).

    Answer: an int, a number of steps.
    """
    images, batch, epochs = 50_000, 1_000, 3
    per_epoch = len(range(0, images, batch))  # one step per batch, a smaller last one too
    expected = epochs * per_epoch
    return judge_int(
        answer, expected, what=tr("a number of steps", "优化器的步数"),
        success=tr(f"{expected}: 50,000 / 1,000 = {per_epoch} steps an epoch, times 3 epochs.",
                   f"{expected}：50,000 / 1,000 = 每轮 {per_epoch} 步，乘以 3 轮。"),
        hint=tr("One step per batch: divide the images by the batch size (rounding up), then "
                "multiply by the number of epochs.",
                "每个小批量走一步：用图像数除以批量大小（向上取整），再乘以轮数。"),
        typical={per_epoch: tr("That is one epoch; the recipe trains for three.",
                               "这只是一轮；这个配方要训练三轮。")},
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
        answer, expected, what=tr("a height in pixels", "以像素计的高度"),
        success=tr(f"{expected}: 32 → 31 (2×2 filters, no padding) → 15 → 7 → {expected}.",
                   f"{expected}：32 → 31（2×2 滤波器，没有填充）→ 15 → 7 → {expected}。"),
        hint=tr("The whitening layer takes one pixel off (32 − 2 + 1); the 3×3 convolutions keep "
                "the size; each 2×2 pool halves it, rounding down.",
                "白化层去掉一个像素 (32 − 2 + 1)；3×3 卷积保持尺寸不变；"
                "每个 2×2 汇聚层把尺寸减半，向下取整。"),
        typical={4: tr("32 → 16 → 8 → 4 forgets the whitening layer's lost pixel: "
                       "31 // 2 = 15.",
                       "32 → 16 → 8 → 4 忘了白化层去掉的那个像素：31 // 2 = 15。")},
    )
