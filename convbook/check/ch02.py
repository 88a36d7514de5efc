"""Self-checks for chapter 2 (padding and stride).

Every expected answer comes from real torch layers (``nn.Conv2d`` output shapes) or from
``F.conv2d`` counting windows, never from the book's own ``conv_out_size``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from convbook.check._answers import as_int_list, judge_int, wrong_kind
from convbook.check._lang import tr
from convbook.check._result import CheckResult, verdict

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
    return judge_int(
        answer, expected, what=tr("the output width", "输出的宽度"),
        success=tr(f"{expected}: floor((224 + 2*3 - 7) / 2) + 1.",
                   f"{expected}：floor((224 + 2*3 - 7) / 2) + 1。"),
        hint=tr("use floor((n + 2p - k) / s) + 1 with p the padding on each side.",
                "用 floor((n + 2p - k) / s) + 1，其中 p 是每一侧的填充。"),
        # the usual slip: padding=3 read as the *total* padding
        typical={(224 - 7 + 3 + 2) // 2: tr("padding=3 is per side: the total padding is 6.",
                                            "padding=3 指每一侧的填充：总的填充是 6。")},
    )


def same_padding(answer: object) -> CheckResult:
    """Exercise 2: per-side padding keeping a 5x5 kernel with dilation 2 'same' at stride 1.

    Answer: an int, the padding on each side.
    """
    (expected,) = [p for p in range(10) if _conv_shape(16, 5, 1, p, dilation=2) == 16]
    return judge_int(
        answer, expected, what=tr("the padding on each side", "每一侧的填充"),
        success=tr(f"padding {expected}: the dilated kernel spans 5 + 4 * 1 = 9 pixels, "
                   "so 8 in total.",
                   f"填充 {expected}：带空洞的卷积核跨越 5 + 4 * 1 = 9 个像素，"
                   "所以总共要填充 8。"),
        hint=tr("work out the effective kernel size k + (k - 1)(d - 1) first, then split "
                "k_eff - 1 over the two sides.",
                "先算出等效的卷积核大小 k + (k - 1)(d - 1)，再把 k_eff - 1 平分到两侧。"),
        typical={
            (5 - 1) // 2: tr("that keeps an undilated 5x5 kernel 'same'; the dilated kernel "
                             "spans more pixels",
                             "这只能让没有空洞的 5x5 卷积核保持 'same'；"
                             "带空洞的卷积核跨越更多像素"),
            2 * expected: tr("that is the total padding; PyTorch's padding is per side",
                             "这是总的填充；PyTorch 的 padding 指每一侧的填充"),
        },
    )


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
    return judge_int(
        answer, expected, what=tr("a number of windows", "窗口的个数"),
        success=tr(f"{expected}: 3 window positions per axis (starting 2, 1 or 0 rows before "
                   "the corner)",
                   f"{expected}：每个轴上有 3 个窗口位置（从角落之前 2 行、1 行或 0 行开始）"),
        hint=tr("count the window positions along one axis that include row 0, then square",
                "数出一个轴上包含第 0 行的窗口位置，再取平方"),
        typical={
            25: tr("25 would need windows starting 4 rows above the image; with padding 2 the "
                   "first window starts only 2 rows above it",
                   "25 需要有从图像上方 4 行开始的窗口；填充为 2 时，"
                   "第一个窗口只从图像上方 2 行开始"),
            1: tr("that is without padding; padding 2 adds windows that hang over the border",
                  "这是没有填充时的个数；填充 2 会多出一些伸出边界的窗口"),
        },
    )


def halving_sizes(answer: object) -> CheckResult:
    """Exercise 4: the input sizes ``n`` from 1 to 20 for which a 3x3 convolution with
    stride 2 and padding 1 gives exactly ``n / 2``.

    Answer: a list of ints.
    """
    expected = [n for n in HALVING_SIZES if 2 * _conv_shape(n, 3, 2, 1) == n]
    got = as_int_list(answer)
    if got is None:
        return wrong_kind(answer, tr("a list of ints, e.g. [2, 4]", "一个整数列表，例如 [2, 4]"))
    got = sorted(set(got))
    odd = [n for n in got if n % 2]
    if odd:
        out = _conv_shape(odd[0], 3, 2, 1)
        return verdict(False, "", tr(
            f"{odd[0]} is odd: n / 2 is not a whole number of pixels, and "
            f"the layer gives {out}, that is (n + 1) / 2",
            f"{odd[0]} 是奇数：n / 2 不是整数个像素，而这一层给出 {out}，也就是 (n + 1) / 2"))
    return verdict(
        got == expected,
        tr("every even n: floor((n + 2 - 3) / 2) + 1 = n / 2 exactly when n is even",
           "所有偶数 n：floor((n + 2 - 3) / 2) + 1 = n / 2 当且仅当 n 是偶数"),
        tr("try each n with floor((n + 2p - k) / s) + 1; list every n from 1 to 20 that works",
           "对每个 n 用 floor((n + 2p - k) / s) + 1 试一试；列出 1 到 20 中所有符合的 n"),
    )
