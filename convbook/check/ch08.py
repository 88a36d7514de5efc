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
