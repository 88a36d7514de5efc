"""Self-checks for chapter 07 (convolution variants).

Each expected answer is computed by torch (real layers' ``numel``, ``nn.ChannelShuffle``,
autograd, ``F.conv2d`` and ``torch.linalg.svd``), never by the book's own code.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from convbook.check._answers import as_int_list, judge_int, judge_number, wrong_kind
from convbook.check._lang import tr
from convbook.check._result import CheckResult, verdict
from convbook.images import photo

#: Exercise 4: the kernel to approximate, and the photo to filter.
RANK1_KERNEL = torch.tensor([[1.0, 2.0, 0.0], [-1.0, 0.0, 1.0], [0.0, 1.0, 3.0]])
RANK1_PHOTO = {"name": "camera", "size": 128}
#: Exercise 5: a grouped layer.
GROUPED = {"in_channels": 64, "out_channels": 128, "kernel_size": 3, "groups": 8}


def separable_params(answer: object) -> CheckResult:
    """Exercise 1: parameters (no biases) of a depthwise separable convolution from 32 to 64
    channels with a 3×3 depthwise kernel.

    Answer: an int, a number of weights.
    """
    depthwise = nn.Conv2d(32, 32, 3, groups=32, bias=False)
    pointwise = nn.Conv2d(32, 64, 1, bias=False)
    expected = sum(p.numel() for m in (depthwise, pointwise) for p in m.parameters())
    standard = nn.Conv2d(32, 64, 3, bias=False).weight.numel()
    return judge_int(
        answer, expected, what=tr("depthwise weights plus pointwise weights",
                                  "深度卷积的权重加上逐点卷积的权重"),
        success=tr(f"{expected}, about {standard / expected:.1f}× fewer than a standard 3×3 "
                   "convolution",
                   f"{expected}，约为标准 3×3 卷积的 1/{standard / expected:.1f}"),
        hint=tr("depthwise: one 3×3 kernel per input channel; pointwise: C_in × C_out",
                "深度卷积：每个输入通道一个 3×3 卷积核；逐点卷积：C_in × C_out"),
        typical={standard: tr("that is the standard 3×3 convolution; split it in two",
                              "这是标准 3×3 卷积的权重；把它拆成两步"),
                 32 * 9: tr("that is only the depthwise part; add the 1×1 pointwise layer",
                            "这只是深度卷积的部分；还要加上 1×1 的逐点卷积层")},
    )


def dilated_receptive_field(answer: object) -> CheckResult:
    """Exercise 2: the receptive field (width in pixels) of three stacked 3×3 convolutions
    with dilations 1, 2 and 4.

    Answer: an int, a width in pixels.
    """
    x = torch.zeros(1, 1, 41, 41, requires_grad=True)
    y = x
    for d in (1, 2, 4):
        y = nn.functional.conv2d(y, torch.ones(1, 1, 3, 3), dilation=d)
    c = y.shape[-1] // 2
    (grad,) = torch.autograd.grad(y[0, 0, c, c], x)
    cols = grad[0, 0].abs().sum(0).nonzero()
    expected = int(cols.max() - cols.min() + 1)
    return judge_int(
        answer, expected, what=tr("each layer adds d(k - 1)", "每层增加 d(k - 1)"),
        success=tr(f"{expected}: 1 + 2·(1 + 2 + 4), exponential growth for linear cost",
                   f"{expected}：1 + 2·(1 + 2 + 4)，只付出线性的代价，换来指数级的增长"),
        hint=tr("start from 1 and add d(k - 1) for each layer",
                "从 1 开始，每层加上 d(k - 1)"),
        typical={7: tr("7 is three undilated 3×3 layers; a dilated layer adds d(k - 1)",
                       "7 是三个没有空洞的 3×3 层；空洞率为 d 的层增加 d(k - 1)")},
    )


def shuffle_order(answer: object) -> CheckResult:
    """Exercise 3: after ``channel_shuffle(x, groups=3)`` on 6 channels, the original index of
    each output channel (a list of 6 ints).

    Answer: a list of 6 ints.
    """
    expected = nn.ChannelShuffle(3)(torch.arange(6.0).view(1, 6, 1, 1)).flatten().long().tolist()
    got = as_int_list(answer, length=6)
    if got is None:
        return wrong_kind(answer, tr("a list of 6 channel indices", "一个含 6 个通道索引的列表"))
    if got == [0, 3, 1, 4, 2, 5]:
        return verdict(False, "", tr("that is the shuffle for 2 groups; here there are 3 groups "
                                     "of 2", "这是分成 2 组时的通道混洗；这里是 3 组，每组 2 个"))
    return verdict(
        got == expected,
        tr(f"{expected}: one channel from each group in turn",
           f"{expected}：轮流从每组各取一个通道"),
        tr("write the channels as a 3×2 grid (one row per group), transpose, read row by row",
           "把通道写成 3×2 的网格（每组一行），转置，再逐行读出"),
    )


def rank1_error(answer: object) -> CheckResult:
    """Exercise 4: the relative error ``‖Y_rank1 - Y‖ / ‖Y‖`` (Frobenius norms) on the camera
    photo (128 pixels) when :data:`RANK1_KERNEL` is replaced by its best rank-1
    approximation, applied as a 3×1 then a 1×3 convolution (no padding).

    Answer: a number, the relative error.
    """
    K = RANK1_KERNEL.double()
    U, S, Vh = torch.linalg.svd(K)
    u, v = U[:, 0] * S[0], Vh[0]  # the best rank-1 approximation is S[0] u v^T
    X = photo(**RANK1_PHOTO).double()[None, None]
    Y = F.conv2d(X, K[None, None])
    Y1 = F.conv2d(F.conv2d(X, u.reshape(1, 1, 3, 1)), v.reshape(1, 1, 1, 3))
    expected = float((Y1 - Y).norm() / Y.norm())
    kernel_error = float((S[0] * torch.outer(U[:, 0], Vh[0]) - K).norm() / K.norm())
    energy = float(S[0] ** 2 / (S ** 2).sum())
    return judge_number(
        answer, expected, what=tr("the relative error, e.g. 0.25", "相对误差，例如 0.25"),
        tolerance=1e-3,
        success=tr(f"{expected:.3f}: the rank-1 pair keeps {energy:.0%} of "
                   "the kernel's energy, but not all of the output",
                   f"{expected:.3f}：这对秩 1 的卷积核保留了原卷积核 {energy:.0%} 的能量，"
                   "但输出并没有全部保留"),
        hint=tr("keep the largest singular value: K ≈ S[0] U[:, 0] Vh[0]; apply the column, "
                "then the row, and divide the norm of the difference by the norm of the exact "
                "output",
                "保留最大的奇异值：K ≈ S[0] U[:, 0] Vh[0]；先用列、再用行做卷积，"
                "然后用差的范数除以精确输出的范数"),
        typical={kernel_error: tr("that is the error of the kernel itself; the exercise asks "
                                  "for the output's",
                                  "这是卷积核本身的误差；练习问的是输出的误差")},
    )


def grouped_params(answer: object) -> CheckResult:
    """Exercise 5: weights (no biases) of ``nn.Conv2d(64, 128, 3, groups=8, bias=False)``.

    Answer: an int, a number of weights.
    """
    expected = nn.Conv2d(**GROUPED, bias=False).weight.numel()
    return judge_int(
        answer, expected, what=tr("a number of weights", "权重的个数"),
        success=tr(f"{expected:,}: 8 times fewer than without groups",
                   f"{expected:,}：只有不分组时的 1/8"),
        hint=tr("each output channel sees only C_in / groups input channels: "
                "128 × (64 / 8) × 3 × 3",
                "每个输出通道只看到 C_in / groups 个输入通道：128 × (64 / 8) × 3 × 3"),
        typical={
            128 * 64 * 9: tr("that is the ungrouped layer; each output channel sees only 64 / 8 "
                             "inputs",
                             "这是不分组的层；分组卷积的每个输出通道只看到 64 / 8 个输入"),
            (128 // 8) * (64 // 8) * 9: tr("dividing by 8 once is enough: "
                                           "128 × (64 / 8) × 3 × 3",
                                           "只需除以 8 一次：128 × (64 / 8) × 3 × 3"),
        },
    )
