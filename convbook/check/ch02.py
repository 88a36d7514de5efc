"""Self-checks for chapter 2 (padding and stride).

Every expected answer comes from real torch layers (``nn.Conv2d`` output shapes) or from
``F.conv2d`` counting windows, never from the book's own ``conv_out_size``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from convbook.check._answers import as_int_list, judge_int, wrong_kind
from convbook.check._result import CheckResult, verdict
from convbook.language import text

#: Exercise 4: the input sizes to consider.
HALVING_SIZES = range(1, 21)


def _conv_shape(n: int, k: int, stride: int, padding: int, dilation: int = 1) -> int:
    layer = nn.Conv2d(1, 1, k, stride=stride, padding=padding, dilation=dilation, bias=False)
    with torch.no_grad():
        return layer(torch.zeros(1, 1, n, n)).shape[-1]


def output_size(answer: object) -> CheckResult:
    """Exercise 1: output width of a 7x7 conv, stride 2, padding 3 (per side) on 224x224.

    Answer: an int, the output width.
    """
    expected = _conv_shape(224, 7, 2, 3)
    return judge_int(answer, expected, "ch02.output_size",
                     # the usual slip: padding=3 read as the *total* padding
                     typical={(224 - 7 + 3 + 2) // 2: "total_padding"})


def same_padding(answer: object) -> CheckResult:
    """Exercise 2: per-side padding keeping a 5x5 kernel with dilation 2 'same' at stride 1.

    Answer: an int, the padding on each side.
    """
    (expected,) = [p for p in range(10) if _conv_shape(16, 5, 1, p, dilation=2) == 16]
    return judge_int(answer, expected, "ch02.same_padding",
                     typical={(5 - 1) // 2: "undilated", 2 * expected: "total_padding"})


def corner_windows(answer: object) -> CheckResult:
    """Exercise 3: how many 5x5 windows (stride 1, padding 2) contain the corner pixel of an
    8x8 input.

    Answer: an int, a number of windows.
    """
    # Independent count: a one-hot image at the corner, cross-correlated with an all-ones
    # kernel, gives 1 at every window that contains the corner pixel.
    one_hot = torch.zeros(1, 1, 8, 8, dtype=torch.float64)
    one_hot[..., 0, 0] = 1
    kernel = torch.ones(1, 1, 5, 5, dtype=torch.float64)
    expected = int(F.conv2d(one_hot, kernel, padding=2).sum())
    return judge_int(answer, expected, "ch02.corner_windows",
                     typical={25: "kernel_area", 1: "no_padding"})


def halving_sizes(answer: object) -> CheckResult:
    """Exercise 4: the input sizes ``n`` from 1 to 20 for which a 3x3 convolution with
    stride 2 and padding 1 gives exactly ``n / 2``.

    Answer: a list of ints.
    """
    expected = [n for n in HALVING_SIZES if 2 * _conv_shape(n, 3, 2, 1) == n]
    got = as_int_list(answer)
    if got is None:
        return wrong_kind(answer, text("ch02.halving_sizes.what"))
    got = sorted(set(got))
    odd = [n for n in got if n % 2]
    if odd:
        out = _conv_shape(odd[0], 3, 2, 1)
        return verdict(False, "", text("ch02.halving_sizes.odd_size", size=odd[0], output=out))
    return verdict(got == expected, text("ch02.halving_sizes.success"),
                   text("ch02.halving_sizes.hint"))
