"""Self-checks for chapter 07 (convolution variants).

Each expected answer is computed by torch (real layers' ``numel``, ``nn.ChannelShuffle``,
autograd), never by the book's own code.
"""

from __future__ import annotations

import torch
from torch import nn

from convbook.check._result import CheckResult, verdict


def _as_int(answer: object) -> int | None:
    if isinstance(answer, bool) or not isinstance(answer, int):
        return None
    return answer


def separable_params(answer: object) -> CheckResult:
    """Exercise 1: parameters (no biases) of a depthwise separable convolution from 32 to 64
    channels with a 3×3 depthwise kernel."""
    depthwise = nn.Conv2d(32, 32, 3, groups=32, bias=False)
    pointwise = nn.Conv2d(32, 64, 1, bias=False)
    expected = sum(p.numel() for m in (depthwise, pointwise) for p in m.parameters())
    standard = nn.Conv2d(32, 64, 3, bias=False).weight.numel()
    got = _as_int(answer)
    if got is None:
        return verdict(False, "", "answer with an int: depthwise weights plus pointwise weights")
    if got == standard:
        return verdict(False, "", "that is the standard 3×3 convolution; split it in two")
    if got == 32 * 9:
        return verdict(False, "", "that is only the depthwise part; add the 1×1 pointwise layer")
    return verdict(
        got == expected,
        f"{expected}, about {standard / expected:.1f}× fewer than a standard 3×3 convolution",
        "depthwise: one 3×3 kernel per input channel; pointwise: C_in × C_out",
    )


def dilated_receptive_field(answer: object) -> CheckResult:
    """Exercise 2: the receptive field (width in pixels) of three stacked 3×3 convolutions
    with dilations 1, 2 and 4."""
    x = torch.zeros(1, 1, 41, 41, requires_grad=True)
    y = x
    for d in (1, 2, 4):
        y = nn.functional.conv2d(y, torch.ones(1, 1, 3, 3), dilation=d)
    c = y.shape[-1] // 2
    (grad,) = torch.autograd.grad(y[0, 0, c, c], x)
    cols = grad[0, 0].abs().sum(0).nonzero()
    expected = int(cols.max() - cols.min() + 1)
    got = _as_int(answer)
    if got is None:
        return verdict(False, "", "answer with an int: each layer adds d(k - 1)")
    if got == 7:
        return verdict(False, "", "7 is three undilated 3×3 layers; a dilated layer adds d(k - 1)")
    return verdict(
        got == expected,
        f"{expected}: 1 + 2·(1 + 2 + 4), exponential growth for linear cost",
        "start from 1 and add d(k - 1) for each layer",
    )


def shuffle_order(answer: object) -> CheckResult:
    """Exercise 3: after ``channel_shuffle(x, groups=3)`` on 6 channels, the original index of
    each output channel (a list of 6 ints)."""
    expected = nn.ChannelShuffle(3)(torch.arange(6.0).view(1, 6, 1, 1)).flatten().long().tolist()
    if not isinstance(answer, (list, tuple)) or len(answer) != 6:
        return verdict(False, "", "answer with a list of 6 channel indices")
    if list(answer) == [0, 3, 1, 4, 2, 5]:
        return verdict(False, "", "that is the shuffle for 2 groups; here there are 3 groups of 2")
    return verdict(
        list(answer) == expected,
        f"{expected}: one channel from each group in turn",
        "write the channels as a 3×2 grid (one row per group), transpose, read row by row",
    )
