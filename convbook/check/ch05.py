"""Self-checks for chapter 05 (transposed convolution and compression).

Each expected answer is computed by torch (``nn.ConvTranspose2d``/``1d``, ``F.mse_loss``)
or by counting bits of a tensor's elements, never by the book's own code.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from convbook.check._answers import as_int_list, as_tensor, judge_int, judge_number, wrong_kind
from convbook.check._lang import tr
from convbook.check._result import CheckResult, verdict

#: Exercise 4: a 32x32 patch coded as 4 channels of 8x8, each value stored with 16 levels.
CODE_SHAPE = (4, 8, 8)
PATCH = (32, 32)
LEVELS = 16


def output_size(answer: object) -> CheckResult:
    """Exercise 1: the height of ``nn.ConvTranspose2d(1, 1, 4, stride=2, padding=1)``'s
    output for a 5×5 input.

    Answer: an int, the output height.
    """
    layer = nn.ConvTranspose2d(1, 1, 4, stride=2, padding=1)
    with torch.no_grad():
        expected = layer(torch.zeros(1, 1, 5, 5)).shape[-1]
    return judge_int(
        answer, expected, what=tr("(n - 1)s - 2p + k + output_padding",
                                  "按 (n - 1)s - 2p + k + output_padding 算出的高度"),
        success=tr(f"{expected}: the 4×4 kernel with stride 2 and padding 1 exactly doubles "
                   "the size",
                   f"{expected}：4×4 的卷积核配上步幅 2 和填充 1，恰好把尺寸放大到两倍"),
        hint=tr("use (n - 1)s - 2p + k with n = 5, s = 2, p = 1, k = 4",
                "用 (n - 1)s - 2p + k，其中 n = 5、s = 2、p = 1、k = 4"),
        typical={
            (5 - 1) * 2 + 4: tr("you forgot the padding: it removes p rows from *each* side, "
                                "2p in all",
                                "你忘了填充：它从*每一*侧去掉 p 行，一共 2p 行"),
            (5 - 1) * 2 + 4 - 1: tr("padding removes p rows from *each* side: subtract 2p",
                                    "填充从*每一*侧去掉 p 行：要减去 2p"),
        },
    )


def stride_two(answer: object) -> CheckResult:
    """Exercise 2: the transposed convolution of ``X = [[1, 2], [3, 4]]`` with
    ``K = [[1, 1], [1, 1]]`` and stride 2, as a nested list (4×4).

    Answer: a 4×4 nested list or tensor.
    """
    X = torch.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=torch.float64)
    K = torch.ones(2, 2, dtype=torch.float64)
    with torch.no_grad():
        expected = nn.functional.conv_transpose2d(X[None, None], K[None, None], stride=2)[0, 0]
    got = as_tensor(answer)
    if got is None:
        return wrong_kind(answer, tr("a 4×4 nested list of numbers", "一个 4×4 的数字嵌套列表"))
    if got.shape != expected.shape:
        return verdict(
            False, "", tr(f"the output is 4×4: (2 - 1)·2 + 2 = 4; your answer is "
                          f"{tuple(got.shape)}",
                          f"输出是 4×4 的：(2 - 1)·2 + 2 = 4；你的答案是 {tuple(got.shape)}")
        )
    return verdict(
        torch.equal(got, expected),
        tr("each input value paints its own 2×2 block: with stride 2 the blocks do not overlap",
           "每个输入值各自画出一个 2×2 的块：步幅为 2 时这些块互不重叠"),
        tr("multiply K by each input value and put the block at (2i, 2j); nothing overlaps",
           "用每个输入值去乘 K，把得到的块放在 (2i, 2j)；没有任何重叠"),
    )


def overlap_counts(answer: object) -> CheckResult:
    """Exercise 3: how many kernel placements cover each of the 9 output positions of a 1D
    transposed convolution of 4 inputs with kernel size 3 and stride 2 (a list of 9 ints).

    Answer: a list of 9 ints.
    """
    with torch.no_grad():
        expected = nn.functional.conv_transpose1d(
            torch.ones(1, 1, 4), torch.ones(1, 1, 3), stride=2
        )[0, 0].to(torch.int64).tolist()
    got = as_int_list(answer, length=len(expected))
    if got is None:
        return wrong_kind(answer, tr(f"a list of {len(expected)} ints",
                                     f"一个含 {len(expected)} 个整数的列表"))
    return verdict(
        got == expected,
        tr(f"{expected}: every other position gets two kernels, hence the checkerboard",
           f"{expected}：每隔一个位置就有两个卷积核叠在一起，棋盘格伪影由此而来"),
        tr("place a 3-wide window at positions 0, 2, 4, 6 and count how many cover each cell",
           "在位置 0、2、4、6 各放一个宽为 3 的窗口，数一数每个格子被几个窗口覆盖"),
    )


def code_bits_per_pixel(answer: object) -> CheckResult:
    """Exercise 4: bits per pixel of a 32×32 patch stored as a 4×8×8 code whose every value is
    one of 16 levels, written with a fixed number of bits per value (no entropy coding).

    Answer: a number, bits per pixel.
    """
    code = torch.zeros(CODE_SHAPE)
    bits_per_value = math.ceil(math.log2(LEVELS))
    expected = code.numel() * bits_per_value / math.prod(PATCH)
    return judge_number(
        answer, expected, what=tr("bits per pixel, e.g. 0.5", "每个像素的比特数，例如 0.5"),
        tolerance=1e-9,
        success=tr(f"{expected:g} bits per pixel: 256 values x 4 bits over 1,024 pixels "
                   "(8 for the uint8 image itself)",
                   f"每个像素 {expected:g} 比特：256 个值 x 4 比特，分摊到 1,024 个像素上"
                   "（uint8 图像本身是每个像素 8 比特）"),
        hint=tr("bits = (number of code values) x (bits per value); divide by the 32 x 32 "
                "pixels",
                "比特数 = （编码值的个数）x（每个值的比特数）；再除以 32 x 32 个像素"),
        typical={
            code.numel() * 32 / math.prod(PATCH):
                tr("that is the float32 code, 32 bits per value; 16 levels need only 4 bits",
                   "这是 float32 编码，每个值 32 比特；16 个等级只需要 4 比特"),
            code.numel() * LEVELS / math.prod(PATCH):
                tr("16 levels take log2(16) = 4 bits, not 16",
                   "16 个等级占 log2(16) = 4 比特，而不是 16 比特"),
        },
    )


def psnr_of_error(answer: object) -> CheckResult:
    """Exercise 5: the PSNR, in dB, of a reconstruction of an image in [0, 1] in which every
    pixel is off by exactly 0.01.

    Answer: a number, decibels.
    """
    image = torch.rand(16, 16, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    mse = nn.functional.mse_loss(image + 0.01, image).item()
    expected = 10 * math.log10(1 / mse)
    return judge_number(
        answer, expected, what=tr("the PSNR in decibels", "以分贝为单位的 PSNR"), tolerance=0.05,
        success=tr(f"{expected:.1f} dB: MSE = 0.01² = 1e-4, and 10 log10(1e4) = 40",
                   f"{expected:.1f} dB：MSE = 0.01² = 1e-4，而 10 log10(1e4) = 40"),
        hint=tr("PSNR = 10 log10(1 / MSE), and the MSE is the mean of the squared errors",
                "PSNR = 10 log10(1 / MSE)，而 MSE 是误差平方的平均值"),
        typical={20.0: tr("that uses the error 0.01 itself; the MSE squares it, 0.0001",
                          "这里直接用了误差 0.01；MSE 要先把它平方，得到 0.0001")},
    )
