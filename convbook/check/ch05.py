"""Self-checks for chapter 05 (transposed convolution and compression).

Each expected answer is computed by torch (``nn.ConvTranspose2d``/``1d``, ``F.mse_loss``)
or by counting bits of a tensor's elements, never by the book's own code.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from convbook.check._answers import as_int_list, as_number, as_tensor, judge_int, wrong_kind
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
        answer, expected, what="(n - 1)s - 2p + k + output_padding",
        success=f"{expected}: the 4×4 kernel with stride 2 and padding 1 exactly doubles "
        "the size",
        hint="use (n - 1)s - 2p + k with n = 5, s = 2, p = 1, k = 4",
        typical={
            (5 - 1) * 2 + 4: "you forgot the padding: it removes p rows from *each* side, "
            "2p in all",
            (5 - 1) * 2 + 4 - 1: "padding removes p rows from *each* side: subtract 2p",
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
        return wrong_kind(answer, "a 4×4 nested list of numbers")
    if got.shape != expected.shape:
        return verdict(
            False, "", f"the output is 4×4: (2 - 1)·2 + 2 = 4; your answer is {tuple(got.shape)}"
        )
    return verdict(
        torch.equal(got, expected),
        "each input value paints its own 2×2 block: with stride 2 the blocks do not overlap",
        "multiply K by each input value and put the block at (2i, 2j); nothing overlaps",
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
        return wrong_kind(answer, f"a list of {len(expected)} ints")
    return verdict(
        got == expected,
        f"{expected}: every other position gets two kernels, hence the checkerboard",
        "place a 3-wide window at positions 0, 2, 4, 6 and count how many cover each cell",
    )


def code_bits_per_pixel(answer: object) -> CheckResult:
    """Exercise 4: bits per pixel of a 32×32 patch stored as a 4×8×8 code whose every value is
    one of 16 levels, written with a fixed number of bits per value (no entropy coding).

    Answer: a number, bits per pixel.
    """
    code = torch.zeros(CODE_SHAPE)
    bits_per_value = math.ceil(math.log2(LEVELS))
    expected = code.numel() * bits_per_value / math.prod(PATCH)
    got = as_number(answer)
    if got is None:
        return wrong_kind(answer, "a number: bits per pixel, e.g. 0.5")
    hint = "bits = (number of code values) x (bits per value); divide by the 32 x 32 pixels"
    if math.isclose(got, code.numel() * 32 / math.prod(PATCH)):
        hint = "that is the float32 code, 32 bits per value; 16 levels need only 4 bits"
    elif math.isclose(got, code.numel() * LEVELS / math.prod(PATCH)):
        hint = "16 levels take log2(16) = 4 bits, not 16"
    return verdict(
        math.isclose(got, expected),
        f"{expected:g} bits per pixel: 256 values x 4 bits over 1,024 pixels "
        "(8 for the uint8 image itself)",
        hint,
    )


def psnr_of_error(answer: object) -> CheckResult:
    """Exercise 5: the PSNR, in dB, of a reconstruction of an image in [0, 1] in which every
    pixel is off by exactly 0.01.

    Answer: a number, decibels.
    """
    image = torch.rand(16, 16, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    mse = nn.functional.mse_loss(image + 0.01, image).item()
    expected = 10 * math.log10(1 / mse)
    got = as_number(answer)
    if got is None:
        return wrong_kind(answer, "a number: the PSNR in decibels")
    hint = "PSNR = 10 log10(1 / MSE), and the MSE is the mean of the squared errors"
    if abs(got - 20.0) < 0.05:
        hint = "that uses the error 0.01 itself; the MSE squares it, 0.0001"
    return verdict(abs(got - expected) < 0.05,
                   f"{expected:.1f} dB: MSE = 0.01² = 1e-4, and 10 log10(1e4) = 40", hint)
