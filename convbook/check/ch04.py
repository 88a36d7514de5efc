"""Self-checks for chapter 4 (pooling).

Every expected answer comes from real torch layers (``nn.MaxPool2d``), ``F.unfold`` (the
windows themselves) or ``torch.amin``, never from the book's own pooling code.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from convbook.check._answers import as_tensor, judge_int, wrong_kind
from convbook.check._lang import tr
from convbook.check._result import CheckResult, verdict

#: The 4x4 input of exercise 2.
EXERCISE_X = torch.tensor(
    [[1.0, 3.0, 2.0, 0.0], [4.0, 6.0, 5.0, 1.0], [7.0, 2.0, 9.0, 8.0], [0.0, 1.0, 3.0, 4.0]]
)
#: Exercise 3: ResNet's stem pooling, 3x3 windows, stride 2, padding 1, on 64x112x112.
COST_INPUT = (64, 112, 112)
COST_LAYER = {"kernel_size": 3, "stride": 2, "padding": 1}


def pool_output_size(answer: object) -> CheckResult:
    """Exercise 1: output width of ``nn.MaxPool2d(3, stride=2, padding=1)`` on 112x112.

    Answer: an int, the output width.
    """
    with torch.no_grad():
        expected = nn.MaxPool2d(3, stride=2, padding=1)(torch.zeros(1, 112, 112)).shape[-1]
    return judge_int(
        answer, expected, what=tr("the output width", "输出的宽度"),
        success=tr(f"{expected}: floor((112 + 2 - 3) / 2) + 1.",
                   f"{expected}：floor((112 + 2 - 3) / 2) + 1。"),
        hint=tr("pooling uses the same size formula as convolution: floor((n + 2p - k) / s) + 1.",
                "汇聚的输出大小公式和卷积一样：floor((n + 2p - k) / s) + 1。"),
        typical={(112 + 2 - 3) // 1 + 1: tr("that is stride 1; this layer has stride 2",
                                            "这是步幅为 1 的结果；这一层的步幅是 2")},
    )


def max_pool_values(answer: object) -> CheckResult:
    """Exercise 2: 2x2 max pooling (stride 2) of :data:`EXERCISE_X`, as a nested list.

    Answer: a 2x2 nested list or tensor.
    """
    expected = nn.MaxPool2d(2)(EXERCISE_X[None])[0].double()
    got = as_tensor(answer)
    if got is None:
        return wrong_kind(answer, tr("a 2x2 nested list of numbers, e.g. [[1, 2], [3, 4]]",
                                     "一个 2x2 的数字嵌套列表，例如 [[1, 2], [3, 4]]"))
    if got.shape == (3, 3):
        return verdict(False, "", tr("that is stride 1; the stride defaults to the window size, "
                                     "so the output is 2x2",
                                     "这是步幅为 1 的结果；步幅默认等于窗口大小，"
                                     "所以输出是 2x2 的"))
    return verdict(
        got.shape == expected.shape and torch.equal(got, expected),
        tr(f"{expected.int().tolist()}: the largest value in each of the four 2x2 blocks.",
           f"{expected.int().tolist()}：四个 2x2 块各自的最大值。"),
        tr("stride defaults to the kernel size, so the 2x2 windows do not overlap: "
           "four blocks, one maximum each.",
           "步幅默认等于窗口大小（kernel_size），所以 2x2 的窗口互不重叠："
           "四个块，每块取一个最大值。"),
    )


def pooling_reads(answer: object) -> CheckResult:
    """Exercise 3: how many window elements (padding included) ``nn.MaxPool2d(3, stride=2,
    padding=1)`` reads on a 64x112x112 input: the cost of one pass, in comparisons plus one
    per window.

    Answer: an int, a number of window elements.
    """
    # F.unfold cuts out every window: (1, C * 3 * 3, windows), padding included.
    expected = F.unfold(torch.zeros(1, *COST_INPUT), **COST_LAYER).numel()
    c, n, _ = COST_INPUT
    return judge_int(
        answer, expected, what=tr("a number of window elements", "窗口元素的个数"),
        success=tr(f"{expected:,} = 64 channels x 56 x 56 windows x 9",
                   f"{expected:,} = 64 个通道 x 56 x 56 个窗口 x 9"),
        hint=tr("c * h_out * w_out windows of p * q elements each",
                "c * h_out * w_out 个窗口，每个窗口有 p * q 个元素"),
        typical={
            c * n * n * 9: tr("that is one window per input pixel (stride 1); with stride 2 "
                              "there are 56 x 56",
                              "这是每个输入像素一个窗口（步幅 1）；步幅为 2 时只有 56 x 56 个"),
            56 * 56 * 9: tr("pooling works on each of the 64 channels separately: multiply by c",
                            "汇聚在 64 个通道上各自进行：还要乘以 c"),
        },
    )


def min_pool(fn: object) -> CheckResult:
    """Exercise 4: ``fn(X, k)``, minimum pooling of ``X: (N, C, H, W)`` with ``k x k`` windows
    and stride ``k``, written with max pooling (no convolution can compute a minimum).

    The check compares ``fn`` with ``torch.amin`` over the windows, on random inputs.

    Answer: a function ``fn(X, k) -> Y``.
    """
    if not callable(fn):
        return wrong_kind(fn, tr("a function fn(X, k) returning the k x k minimum pooling",
                                 "一个函数 fn(X, k)，返回 k x k 的最小汇聚结果"))
    generator = torch.Generator().manual_seed(0)
    for shape, k in (((1, 1, 4, 4), 2), ((2, 3, 6, 9), 3), ((1, 2, 5, 5), 2)):
        X = torch.randn(*shape, generator=generator)
        n, c, h, w = shape
        windows = F.unfold(X, k, stride=k).reshape(n, c, k * k, h // k, w // k)
        expected = windows.amin(dim=2)
        try:
            with torch.no_grad():
                Y = as_tensor(fn(X.clone(), k))
        except Exception as error:  # the reader's code: report, never raise
            return verdict(False, "", tr(f"fn raised {type(error).__name__}: {error}",
                                         f"fn 抛出了 {type(error).__name__}：{error}"))
        if Y is None or Y.shape != expected.shape:
            got_shape = None if Y is None else tuple(Y.shape)
            return verdict(False, "", tr(f"for X of shape {shape} and k={k} the output is "
                                         f"{tuple(expected.shape)}; fn gave {got_shape}",
                                         f"对形状为 {shape} 的 X 和 k={k}，输出的形状是 "
                                         f"{tuple(expected.shape)}；fn 给出的是 {got_shape}"))
        if torch.allclose(Y, -expected.double()):
            return verdict(False, "", tr("the sign is flipped: negate once more after pooling, "
                                         "-max_pool(-X)",
                                         "符号反了：汇聚之后再取一次负，-max_pool(-X)"))
        if not torch.allclose(Y, expected.double()):
            return verdict(False, "", tr("wrong values: the minimum of a window is minus the "
                                         "maximum of the negated window",
                                         "数值不对：一个窗口的最小值，等于把窗口取负后的"
                                         "最大值再取负"))
    return verdict(True, tr("min pooling is -maxpool(-X): free, and as non-linear as max",
                            "最小汇聚就是 -maxpool(-X)：不费额外的代价，而且和最大汇聚"
                            "一样是非线性的"), "")
