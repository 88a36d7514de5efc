"""Self-checks for chapter 08's exercises (CIFAR-10 case study)."""

from __future__ import annotations

from convbook.check._result import CheckResult, verdict
from convbook.shapes import conv_out_size


def tutorial_flatten_size(answer: object) -> CheckResult:
    """Exercise 1: the flattened feature count of ``TutorialNet``'s layers on a 28×28 input."""
    h = 28
    for k, s in ((5, 1), (2, 2), (5, 1), (2, 2)):
        h = conv_out_size(h, k, stride=s)
    expected = 16 * h * h
    return verdict(
        answer == expected,
        f"{expected}: 28 → 24 → 12 → 8 → 4, and 16·4·4 = {expected}.",
        "Apply H_out = H − k + 1 for each 5×5 convolution and halve for each pool, then "
        "multiply by the 16 channels.",
    )


def conv_parameters(answer: object) -> CheckResult:
    """Exercise 2: parameters of ``nn.Conv2d(3, 32, 3)`` (weights and biases)."""
    expected = 32 * 3 * 3 * 3 + 32
    return verdict(
        answer == expected,
        f"{expected}: 32 kernels of 3·3·3 weights, plus 32 biases.",
        "Each output channel has one 3×3 kernel per input channel, and one bias.",
    )


def optimizer_steps(answer: object) -> CheckResult:
    """Exercise 3: optimizer steps of the fast recipe (batch 1,000, 50,000 images, 4 epochs)."""
    per_epoch = -(-50_000 // 1_000)  # a last, smaller batch would count as a step too
    expected = 4 * per_epoch
    return verdict(
        answer == expected,
        f"{expected}: 50,000 / 1,000 = {per_epoch} steps an epoch, times 4 epochs.",
        "One step per batch: divide the images by the batch size (rounding up), then "
        "multiply by the number of epochs.",
    )


def fastnet_final_size(answer: object) -> CheckResult:
    """Exercise 4: height of FastNet's last feature maps for a 32×32 input."""
    h = 32 - 2 + 1  # the 2×2 whitening convolution, no padding
    for _ in range(3):  # each block: 3×3 convolutions with padding 1 keep it, the pool halves
        h //= 2
    return verdict(
        answer == h,
        f"{h}: 32 → 31 (2×2 filters, no padding) → 15 → 7 → {h}.",
        "The whitening layer takes one pixel off (32 − 2 + 1); the 3×3 convolutions keep "
        "the size; each 2×2 pool halves it, rounding down.",
    )
