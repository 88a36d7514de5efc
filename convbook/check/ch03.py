"""Self-checks for chapter 3 (multiple channels, 1x1 convolution, im2col).

Every expected answer comes from real torch layers (``numel`` of their parameters),
``F.conv2d`` (counting products, filtering test images) or ``F.unfold``, never from the
book's own code.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from convbook.check._answers import as_int_list, as_tensor, judge_int, wrong_kind
from convbook.check._lang import tr
from convbook.check._result import CheckResult, verdict

#: Exercise 5: a 3-channel 224x224 image, a 7x7 kernel, stride 2, padding 3 (ResNet's stem).
IM2COL_INPUT = (3, 224, 224)
IM2COL_LAYER = {"kernel_size": 7, "stride": 2, "padding": 3}


def _params(*layers: nn.Module) -> int:
    return sum(p.numel() for layer in layers for p in layer.parameters())


def param_count(answer: object) -> CheckResult:
    """Exercise 1: number of parameters of ``nn.Conv2d(64, 128, kernel_size=3)``.

    Answer: an int, the number of parameters.
    """
    expected = _params(nn.Conv2d(64, 128, 3))
    return judge_int(
        answer, expected, what=tr("the number of parameters", "参数的个数"),
        success=tr(f"{expected} = (64 * 3 * 3 + 1) * 128.",
                   f"{expected} = (64 * 3 * 3 + 1) * 128 个参数。"),
        hint=tr("each output channel has one kernel slice per input channel, plus a bias.",
                "每个输出通道对每个输入通道各有一片卷积核，另外还有一个偏置。"),
        typical={expected - 128: tr("almost: don't forget one bias per output channel.",
                                    "差一点：别忘了每个输出通道还有一个偏置。")},
    )


def mac_count(answer: object) -> CheckResult:
    """Exercise 2: multiply-accumulates of a 1x1 conv from 256 to 64 channels on 56x56.

    Counted by convolving all-ones input with all-ones kernels: every output value is then
    the number of products that produced it.

    Answer: an int, the number of multiply-accumulates.
    """
    ones = torch.ones(1, 256, 56, 56, dtype=torch.float64)
    expected = int(F.conv2d(ones, torch.ones(64, 256, 1, 1, dtype=torch.float64)).sum())
    return judge_int(
        answer, expected, what=tr("the number of multiply-accumulates", "乘加运算的次数"),
        success=tr(f"{expected:,} = 56 * 56 pixels * 64 outputs * 256 inputs.",
                   f"{expected:,} = 56 * 56 个像素 * 64 个输出 * 256 个输入。"),
        hint=tr("each of the 56 * 56 * 64 output values is a sum of c_in * k_h * k_w products.",
                "56 * 56 * 64 个输出值中的每一个都是 c_in * k_h * k_w 个乘积之和。"),
        typical={64 * 256: tr("that is the number of weights; each weight is used at every one "
                              "of 56 * 56 pixels",
                              "这是权重的个数；每个权重在 56 * 56 个像素上都要用一次")},
    )


def bottleneck_params(answer: object) -> CheckResult:
    """Exercise 3: weights (no biases) of one 3x3 convolution from 256 to 256 channels, and of
    the bottleneck 1x1 (256 to 64), 3x3 (64 to 64), 1x1 (64 to 256).

    Answer: a pair of ints, ``(standard, bottleneck)``.
    """
    standard = _params(nn.Conv2d(256, 256, 3, bias=False))
    bottleneck = _params(
        nn.Conv2d(256, 64, 1, bias=False), nn.Conv2d(64, 64, 3, bias=False),
        nn.Conv2d(64, 256, 1, bias=False),
    )
    got = as_int_list(answer, length=2)
    if got is None:
        return wrong_kind(answer, tr("a pair of ints: (standard, bottleneck)",
                                     "一对整数 (标准层, 瓶颈结构)"))
    if got == [bottleneck, standard]:
        return verdict(False, "", tr("the pair is the wrong way round: (standard, bottleneck)",
                                     "顺序反了：应该是 (标准层, 瓶颈结构)"))
    if got[0] != standard:
        return verdict(False, "", tr("the standard layer has 256 * 256 * 3 * 3 weights",
                                     "标准层有 256 * 256 * 3 * 3 个权重"))
    return verdict(
        got[1] == bottleneck,
        tr(f"{standard:,} against {bottleneck:,}: {standard / bottleneck:.1f} times fewer",
           f"{standard:,} 对 {bottleneck:,}：瓶颈结构的权重只有标准层的 "
           f"1/{standard / bottleneck:.1f}"),
        tr("add the three layers: 256 * 64 * 1 * 1 + 64 * 64 * 3 * 3 + 64 * 256 * 1 * 1",
           "把三层加起来：256 * 64 * 1 * 1 + 64 * 64 * 3 * 3 + 64 * 256 * 1 * 1"),
    )


def _step(channel: int, horizontal: bool, size: int = 12) -> torch.Tensor:
    """A (1, 3, size, size) image, grey 0.5, with a step of +0.4 in one channel: across a
    horizontal line (the bottom half brighter) or a vertical one (the right half)."""
    image = torch.full((1, 3, size, size), 0.5, dtype=torch.float64)
    if horizontal:
        image[0, channel, size // 2 :, :] += 0.4
    else:
        image[0, channel, :, size // 2 :] += 0.4
    return image


def blue_edge_kernel(K: object) -> CheckResult:
    """Exercise 4: a kernel of shape ``(3, k, k)`` (or ``(1, 3, k, k)``, k at most 5) that
    responds to horizontal edges in the blue channel, and gives zero on a flat image of any
    colour, on horizontal edges in red or green, and on vertical edges in blue.

    Answer: a tensor or nested list of shape ``(3, k, k)``.
    """
    t = as_tensor(K)
    if t is not None and t.dim() == 4 and t.shape[0] == 1:
        t = t[0]
    if t is None or t.dim() != 3 or t.shape[0] != 3 or max(t.shape[1:]) > 5:
        return wrong_kind(K, tr("a (3, k, k) kernel, one k x k slice per input channel (R, G, B)",
                                "一个 (3, k, k) 的卷积核，每个输入通道（R、G、B）一片 k x k"))
    w = t[None]

    def response(image: torch.Tensor) -> float:
        return float(F.conv2d(image, w).abs().max())

    # Linear: zero on a flat image of each pure colour means zero on any flat image.
    flat = max(response(torch.ones(1, 3, 12, 12, dtype=torch.float64) * colour.view(1, 3, 1, 1))
               for colour in torch.eye(3, dtype=torch.float64))
    if flat > 1e-6:
        return verdict(False, "", tr("a flat image must give 0: make each slice's weights sum "
                                     "to 0", "平坦的图像必须给出 0：让每一片的权重之和为 0"))
    if response(_step(2, horizontal=True)) < 0.1:
        return verdict(False, "", tr("it does not respond to a horizontal edge in blue: the blue "
                                     "slice must compare rows above with rows below",
                                     "它对蓝色通道中的水平边缘没有响应：蓝色那一片必须"
                                     "比较上面的行和下面的行"))
    for channel, name, zh_name in ((0, "red", "红色"), (1, "green", "绿色")):
        if response(_step(channel, horizontal=True)) > 1e-6:
            return verdict(False, "", tr(f"it also responds to a horizontal edge in {name}: "
                                         f"make the {name} slice zero",
                                         f"它对{zh_name}通道中的水平边缘也有响应："
                                         f"把{zh_name}那一片设为零"))
    if response(_step(2, horizontal=False)) > 1e-6:
        return verdict(False, "", tr("it also responds to a vertical edge in blue: each column of "
                                     "the blue slice must sum to 0",
                                     "它对蓝色通道中的竖直边缘也有响应：蓝色那一片的"
                                     "每一列之和都必须为 0"))
    return verdict(True, tr("it finds horizontal edges in blue, and only those",
                            "它找出了蓝色通道中的水平边缘，而且只找出这些"), "")


def im2col_entries(answer: object) -> CheckResult:
    """Exercise 5: the number of entries of the im2col matrix of a 3x224x224 image for a
    7x7 kernel with stride 2 and padding 3.

    Answer: an int, a number of matrix entries.
    """
    columns = F.unfold(torch.zeros(1, *IM2COL_INPUT), **IM2COL_LAYER)  # (1, C k k, windows)
    expected = columns.numel()
    c, n, _ = IM2COL_INPUT
    return judge_int(
        answer, expected, what=tr("a number of matrix entries", "矩阵元素的个数"),
        success=tr(f"{expected:,}: {expected / (c * n * n):.2f} times the {c * n * n:,} input "
                   "values",
                   f"{expected:,}：是 {c * n * n:,} 个输入值的 {expected / (c * n * n):.2f} 倍"),
        hint=tr("one row per window (112 x 112 of them), one column per input value it reads "
                "(3 x 7 x 7)",
                "每个窗口一行（共 112 x 112 个窗口），窗口读取的每个输入值一列（3 x 7 x 7）"),
        typical={
            c * 49 * (n - 7 + 1) ** 2: tr("that counts windows at stride 1 without padding; the "
                                          "stride is 2, the padding 3",
                                          "这是按步幅 1、没有填充数出的窗口；"
                                          "这里步幅是 2，填充是 3"),
            49 * 112 * 112: tr("each window reads 7 x 7 values from every one of the 3 channels",
                               "每个窗口要从 3 个通道中的每一个各读取 7 x 7 个值"),
        },
    )


def corr2d_as_matmul(fn: object) -> CheckResult:
    """Exercise 6 (D2L): ``fn(X, K)``, the cross-correlation of an ``(n_h, n_w)`` input with a
    ``(k_h, k_w)`` kernel computed as one matrix multiplication.

    The check runs ``fn`` on random inputs of several shapes and compares with ``F.conv2d``.

    Answer: a function ``fn(X, K) -> Y``.
    """
    if not callable(fn):
        return wrong_kind(fn, tr("a function fn(X, K) that returns the (n_h - k_h + 1, "
                                 "n_w - k_w + 1) output",
                                 "一个函数 fn(X, K)，返回形状为 (n_h - k_h + 1, "
                                 "n_w - k_w + 1) 的输出"))
    generator = torch.Generator().manual_seed(0)
    for (n_h, n_w), (k_h, k_w) in (((3, 3), (2, 2)), ((6, 8), (2, 3)), ((5, 4), (3, 1)),
                                    ((7, 5), (1, 1)), ((4, 4), (4, 4))):
        X = torch.rand(n_h, n_w, generator=generator, dtype=torch.float64)
        K = torch.rand(k_h, k_w, generator=generator, dtype=torch.float64)
        expected = F.conv2d(X[None, None], K[None, None])[0, 0]
        try:
            Y = as_tensor(_call(fn, X, K))
        except Exception as error:  # the reader's code: report, never raise
            return verdict(False, "", tr(f"fn raised {type(error).__name__}: {error} "
                                         f"(X {n_h}x{n_w}, K {k_h}x{k_w})",
                                         f"fn 抛出了 {type(error).__name__}：{error}"
                                         f"（X {n_h}x{n_w}，K {k_h}x{k_w}）"))
        if Y is None:
            return verdict(False, "", tr("fn must return a tensor of finite numbers",
                                         "fn 必须返回一个由有限数组成的张量"))
        if Y.dim() == 1 or Y.squeeze().shape == expected.shape:  # a flat vector, or (1, 1, h, w)
            Y = Y.reshape(expected.shape) if Y.numel() == expected.numel() else Y
        if Y.shape != expected.shape:
            return verdict(False, "", tr(f"for X {n_h}x{n_w} and K {k_h}x{k_w} the output is "
                                         f"{tuple(expected.shape)}, fn gave {tuple(Y.shape)}",
                                         f"对 {n_h}x{n_w} 的 X 和 {k_h}x{k_w} 的 K，输出的形状是 "
                                         f"{tuple(expected.shape)}，fn 给出的是 "
                                         f"{tuple(Y.shape)}"))
        if not torch.allclose(Y, expected, rtol=1e-4, atol=1e-6):
            flipped = F.conv2d(X[None, None], K.flip(0, 1)[None, None])[0, 0]
            if torch.allclose(Y, flipped, rtol=1e-4, atol=1e-6):
                return verdict(False, "", tr("that is the convolution (flipped kernel); "
                                             "cross-correlation multiplies X[i + a, j + b] by "
                                             "K[a, b]",
                                             "这是卷积（卷积核翻转了）；互相关运算是用 K[a, b] "
                                             "乘 X[i + a, j + b]"))
            if Y.shape[0] == Y.shape[1] and torch.allclose(Y, expected.T, rtol=1e-4, atol=1e-6):
                return verdict(False, "", tr("rows and columns are swapped: output (i, j) is the "
                                             "window whose top-left corner is X[i, j]",
                                             "行和列弄反了：输出 (i, j) 对应的是左上角为 "
                                             "X[i, j] 的窗口"))
            return verdict(False, "", tr(f"wrong values for X {n_h}x{n_w} and K {k_h}x{k_w}: the "
                                         "rows of the window matrix must follow the output "
                                         "positions in row-major order, and the columns the "
                                         "kernel entries",
                                         f"对 {n_h}x{n_w} 的 X 和 {k_h}x{k_w} 的 K，数值不对："
                                         "窗口矩阵的行必须按行优先的顺序对应输出位置，"
                                         "列对应卷积核的各个元素"))
    return verdict(True, tr("one matrix product: windows as rows, times the flattened kernel",
                            "一次矩阵乘法：以窗口为行的矩阵，乘以展平的卷积核"), "")


def _call(fn: Callable[..., object], X: torch.Tensor, K: torch.Tensor) -> object:
    with torch.no_grad():
        return fn(X.clone(), K.clone())
