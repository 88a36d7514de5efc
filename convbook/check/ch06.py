"""Self-checks for the exercises of chapter 06 (receptive fields).

Each expected answer is computed here from the layer list with the closed form
``r = 1 + sum_l (k'_l - 1) prod_{i<l} s_i`` or by counting the weights of real layers;
none calls :func:`convbook.receptive_field.receptive_field`.
"""

from __future__ import annotations

import math

from torch import nn

from convbook.check._result import CheckResult, verdict

# (kernel, stride, dilation) of each layer in exercise 1
MIXED_STACK = ((3, 1, 1), (2, 2, 1), (3, 1, 1), (2, 2, 1), (3, 1, 1))
DILATIONS = (1, 2, 4, 8)


def _closed_form(layers: tuple[tuple[int, int, int], ...]) -> int:
    return 1 + sum(
        d * (k - 1) * math.prod(s for _, s, _ in layers[:i]) for i, (k, _, d) in enumerate(layers)
    )


def _is_int(answer: object) -> bool:
    return isinstance(answer, int) and not isinstance(answer, bool)


def mixed_stack(answer: object) -> CheckResult:
    """Exercise 1: receptive field of conv 3x3, max-pool 2x2 (stride 2), conv 3x3, max-pool
    2x2 (stride 2), conv 3x3 (all convolutions stride 1)."""
    expected = _closed_form(MIXED_STACK)
    naive = 1 + sum(k - 1 for k, _, _ in MIXED_STACK)
    if not _is_int(answer):
        return verdict(False, "", "answer with an int: the receptive field in pixels")
    hint = (
        f"{answer} is what you get when each layer adds k - 1 pixels; a layer after a "
        "stride-2 pooling adds (k - 1) times the product of the strides before it"
        if answer == naive
        else "walk forward: r += (k - 1) * j, then j *= s, starting from r = j = 1"
    )
    return verdict(answer == expected, f"{expected} pixels.", hint)


def layers_for_field(answer: object) -> CheckResult:
    """Exercise 2: the fewest stride-1 3x3 convolutions whose stack sees at least 100 pixels."""
    expected = next(n for n in range(1, 1000) if _closed_form(((3, 1, 1),) * n) >= 100)
    if not _is_int(answer):
        return verdict(False, "", "answer with an int: the number of layers")
    if answer < expected:
        hint = f"{answer} layers see only {_closed_form(((3, 1, 1),) * max(answer, 0))} pixels"
    else:
        hint = "fewer layers are enough: n stacked 3x3 layers see 1 + 2n pixels"
    return verdict(answer == expected, f"{expected} layers: r = 1 + 2n >= 100.", hint)


def dilated_stack(answer: object) -> CheckResult:
    """Exercise 3: receptive field of 3x3 convolutions with dilations 1, 2, 4, 8 (stride 1)."""
    expected = _closed_form(tuple((3, 1, d) for d in DILATIONS))
    if not _is_int(answer):
        return verdict(False, "", "answer with an int: the receptive field in pixels")
    hint = (
        "a dilated kernel spans d(k - 1) + 1 pixels, not k"
        if answer == 1 + 2 * len(DILATIONS)
        else "add d(k - 1) = 2d per layer to r = 1"
    )
    return verdict(answer == expected, f"{expected} pixels, from only 4 layers.", hint)


def weights_saved(answer: object, channels: int = 32) -> CheckResult:
    """Exercise 4: how many more weights one 7x7 convolution (``channels`` in and out, no
    bias) has than three stacked 3x3 convolutions with the same channels."""
    one = sum(p.numel() for p in nn.Conv2d(channels, channels, 7, bias=False).parameters())
    three = sum(
        p.numel() for _ in range(3)
        for p in nn.Conv2d(channels, channels, 3, bias=False).parameters()
    )
    expected = one - three
    if not _is_int(answer):
        return verdict(False, "", "answer with an int: a number of weights")
    hint = (
        "count the channels: a k x k layer from C to C channels has k * k * C * C weights"
        if answer == 49 - 27
        else "49 C^2 - 3 * 9 C^2 with C = 32"
    )
    return verdict(answer == expected, f"{expected} weights saved.", hint)
