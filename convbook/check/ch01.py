"""Self-checks for Chapter 1's exercises (cross-correlation).

Every expected answer is computed here independently: shapes by running
``torch.nn.functional.conv2d``, parameter counts by building the layer on the ``meta``
device, kernel responses with ``F.conv2d`` on test images.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from convbook.check._answers import as_int_list, as_tensor, judge_int, wrong_kind
from convbook.check._lang import tr
from convbook.check._result import CheckResult, verdict

#: Exercise 1: input and kernel sizes.
OUTPUT_SHAPE_INPUT = (224, 180)
OUTPUT_SHAPE_KERNEL = (5, 3)

#: Exercise 2: a 640x480 RGB image into a fully connected layer with 1000 units.
FC_IMAGE = (480, 640, 3)
FC_HIDDEN = 1000

#: Exercise 5: corr2d by hand.
HAND_X = torch.tensor([[1.0, 2.0, 0.0], [0.0, 1.0, 3.0], [2.0, 1.0, 1.0]])
HAND_K = torch.tensor([[1.0, -1.0], [0.0, 2.0]])


def _corr(X: torch.Tensor, K: torch.Tensor) -> torch.Tensor:
    """Cross-correlation by torch (independent of convbook.ops)."""
    return F.conv2d(X[None, None].double(), K[None, None].double())[0, 0]


def output_shape(answer: object) -> CheckResult:
    """Exercise 1: output shape of corr2d for a 224x180 input and a 5x3 kernel.

    Answer: a ``(height, width)`` pair of ints.
    """
    n, k = OUTPUT_SHAPE_INPUT, OUTPUT_SHAPE_KERNEL
    expected = tuple(F.conv2d(torch.zeros(1, 1, *n), torch.zeros(1, 1, *k)).shape[-2:])
    ints = as_int_list(answer, length=2)
    if ints is None:
        return wrong_kind(answer, tr("a (height, width) pair of ints", "一对整数 (高, 宽)"))
    got = tuple(ints)
    hint = tr("each axis shrinks by (kernel size - 1): n - k + 1",
              "每个轴都缩小 (卷积核大小 - 1)：n - k + 1")
    if got == (n[0] - k[0], n[1] - k[1]):
        hint = tr("off by one: count the positions, n - k + 1, not n - k",
                  "差了 1：要数的是窗口位置的个数，n - k + 1，而不是 n - k")
    elif got == (expected[1], expected[0]):
        hint = tr("height and width are swapped: (n_h - k_h + 1, n_w - k_w + 1)",
                  "高和宽弄反了：(n_h - k_h + 1, n_w - k_w + 1)")
    return verdict(got == expected, tr(f"{expected}: n_h - k_h + 1 by n_w - k_w + 1",
                                       f"{expected}：高 n_h - k_h + 1，宽 n_w - k_w + 1"), hint)


def fc_parameters(answer: object) -> CheckResult:
    """Exercise 2: parameters (weights and biases) of ``nn.Linear`` from a 640x480 RGB
    image, flattened, to 1000 hidden units.

    Answer: an int, the number of parameters.
    """
    inputs = FC_IMAGE[0] * FC_IMAGE[1] * FC_IMAGE[2]
    layer = nn.Linear(inputs, FC_HIDDEN, device="meta")  # no memory is allocated
    expected = sum(p.numel() for p in layer.parameters())
    weights = expected - FC_HIDDEN
    grey = tr("the image has 3 colour channels: each pixel gives 3 inputs",
              "图像有 3 个颜色通道：每个像素提供 3 个输入")
    return judge_int(
        answer, expected, what=tr("the number of parameters", "参数的个数"),
        success=tr(f"{expected:,} parameters, about 0.92 billion",
                   f"{expected:,} 个参数，约 9.2 亿"),
        hint=tr("every input value connects to every hidden unit, and each unit has a bias",
                "每个输入值都连到每个隐藏单元，而且每个单元还有一个偏置"),
        typical={weights: tr("almost: you counted the weights; add one bias per hidden unit",
                             "差一点：你只数了权重；还要给每个隐藏单元加一个偏置"),
                 weights // 3 + FC_HIDDEN: grey, weights // 3: grey},
    )


def _diagonal_steps(n: int = 12) -> tuple[torch.Tensor, torch.Tensor]:
    i = torch.arange(n).view(n, 1)
    j = torch.arange(n).view(1, n)
    anti = (i + j >= n).double()  # edge along the anti-diagonal (bottom-left to top-right)
    main = (j > i).double()  # edge along the main diagonal (top-left to bottom-right)
    return anti, main


def diagonal_edge_kernel(K: object) -> CheckResult:
    """Exercise 3: a kernel (at most 5x5) that responds to an edge along the anti-diagonal
    (``X[i, j] = 1 if i + j >= n``), gives zero on a flat image, and gives zero on an edge
    along the other diagonal (``X[i, j] = 1 if j > i``)."""
    t = as_tensor(K, ndim=2)
    if t is None or not (t.shape[0] <= 5 and t.shape[1] <= 5):
        return wrong_kind(K, tr("a 2D kernel of finite numbers, at most 5x5, "
                                "e.g. torch.tensor([[a, b], [c, d]])",
                                "一个由有限数组成的二维卷积核，最大 5x5，"
                                "例如 torch.tensor([[a, b], [c, d]])"))
    anti, main = _diagonal_steps()
    flat = _corr(torch.ones_like(anti), t).abs().max()
    found = _corr(anti, t).abs().max()
    other = _corr(main, t).abs().max()
    if flat > 1e-6:
        return verdict(False, "", tr("a flat image must give 0: make the weights sum to 0",
                                     "平坦的图像必须给出 0：让权重之和为 0"))
    if found < 0.5:
        return verdict(False, "", tr(
            "it does not respond to the anti-diagonal edge: compare "
            "pixels across that edge, e.g. one pixel with its lower-right neighbour",
            "它对沿反对角线的边缘没有响应：比较这条边缘两侧的像素，"
            "例如一个像素和它右下方的邻居"))
    if other > 1e-6:
        return verdict(False, "", tr(
            "it also fires on the main-diagonal edge: take the difference "
            "along the main diagonal, where that edge does not change",
            "它对沿主对角线的边缘也有响应：沿主对角线方向取差分，那条边缘在这个方向上不变"))
    return verdict(True, tr("it finds the anti-diagonal edge and ignores the other one",
                            "它找出了沿反对角线的边缘，并且忽略另一条"), "")


def second_derivative_kernel(K: object) -> CheckResult:
    """Exercise 4: a 1x3 kernel whose output on any row ``f(j)`` is the second difference
    ``f(j) - 2 f(j+1) + f(j+2)``: 2 on ``j**2``, 0 on a ramp and on a constant."""
    t = as_tensor(K)
    if t is not None and t.dim() == 1:
        t = t[None]
    if t is None or t.shape != (1, 3):
        if t is not None and tuple(t.shape) == (3, 1):
            return verdict(False, "", tr("that is a column: it differentiates down the columns; "
                                         "use a 1x3 row",
                                         "这是一列：它沿列向下求差分；请用 1x3 的一行"))
        return wrong_kind(K, tr("a 1x3 kernel (one row, three columns), e.g. "
                                "torch.tensor([[a, b, c]])",
                                "一个 1x3 的卷积核（一行三列），例如 torch.tensor([[a, b, c]])"))
    j = torch.arange(8, dtype=torch.float64)
    square, ramp, const = (f.expand(4, 8) for f in (j**2, j, torch.ones(8, dtype=torch.float64)))
    ok = (
        torch.allclose(_corr(square, t), torch.full((4, 6), 2.0, dtype=torch.float64))
        and torch.allclose(_corr(ramp, t), torch.zeros(4, 6, dtype=torch.float64))
        and torch.allclose(_corr(const, t), torch.zeros(4, 6, dtype=torch.float64))
    )
    hint = tr("not yet: the output on j**2 must be 2 everywhere and 0 on a ramp; "
              "a second difference is the difference of two first differences",
              "在 j**2 上的输出必须处处为 2，在斜坡上必须为 0；"
              "二阶差分是两个一阶差分之差")
    minus_two = torch.full((4, 6), -2.0, dtype=torch.float64)
    if not ok and torch.allclose(_corr(square, t), minus_two):
        hint = tr("the sign is flipped: the second derivative of j**2 is +2",
                  "符号反了：j**2 的二阶导数是 +2")
    return verdict(ok, tr("[1, -2, 1]: the difference of [-1, 1] with itself",
                          "[1, -2, 1]：把差分 [-1, 1] 连做两次"), hint)


def corr2d_by_hand(Y: object) -> CheckResult:
    """Exercise 5: ``corr2d(HAND_X, HAND_K)``, worked out by hand."""
    t = as_tensor(Y)
    expected = _corr(HAND_X, HAND_K)
    if t is None:
        return wrong_kind(Y, tr("a 2x2 nested list or tensor of numbers",
                                "一个 2x2 的数字嵌套列表或张量"))
    if t.shape != expected.shape:
        return verdict(False, "", tr("the output is 2x2: (3 - 2 + 1) by (3 - 2 + 1)",
                                     "输出是 2x2 的：(3 - 2 + 1) 乘 (3 - 2 + 1)"))
    if torch.allclose(t, F.conv2d(HAND_X[None, None].double(),
                                  HAND_K.flip(0, 1)[None, None].double())[0, 0]):
        return verdict(False, "", tr("that is the convolution (flipped kernel): cross-correlation "
                                     "puts K[0, 0] on the window's top-left pixel",
                                     "这是卷积（卷积核翻转了）：互相关运算把 K[0, 0] "
                                     "对准窗口左上角的像素"))
    wrong = [
        (i, j) for i in range(2) for j in range(2) if abs(float(t[i, j] - expected[i, j])) > 1e-6
    ]
    hint = ""
    if wrong:
        i, j = wrong[0]
        hint = tr(f"Y[{i}, {j}] is off: it is the sum of X[{i}:{i + 2}, {j}:{j + 2}] "
                  "times K, element by element",
                  f"Y[{i}, {j}] 不对：它是 X[{i}:{i + 2}, {j}:{j + 2}] 与 K 逐元素相乘后的和")
    return verdict(not wrong, tr("right, every window multiplied by K and summed",
                                 "每个窗口都与 K 逐元素相乘再求和"), hint)
