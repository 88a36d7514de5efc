"""Self-checks for chapter 05 (transposed convolution, the backward pass and compression).

Each expected answer is computed by torch (``nn.ConvTranspose2d``/``1d``, ``F.mse_loss``,
autograd through ``F.conv2d``) or by counting bits of a tensor's elements, never by the
book's own code.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from convbook.check._answers import as_int_list, as_tensor, judge_int, judge_number, wrong_kind
from convbook.check._result import CheckResult, verdict
from convbook.language import text

#: Exercise 6: the input gradient of a 5x5 convolution with stride 4 and padding 2 on a
#: 15x15 input, as a transposed convolution.
GRADIENT_CONV = dict(size=15, kernel=5, stride=4, padding=2)

#: Exercise 7: the kernel gradient of a 3x3 convolution with stride 2, on inputs of these sizes.
KERNEL_GRADIENT_SIZES = ((7, 7), (8, 9), (3, 3), (10, 6))

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
    return judge_int(answer, expected, "ch05.output_size",
                     typical={(5 - 1) * 2 + 4: "no_padding", (5 - 1) * 2 + 4 - 1: "one_side"})


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
        return wrong_kind(answer, text("ch05.stride_two.what"))
    if got.shape != expected.shape:
        return verdict(False, "", text("ch05.stride_two.wrong_shape", shape=tuple(got.shape)))
    return verdict(
        torch.equal(got, expected),
        text("ch05.stride_two.success"),
        text("ch05.stride_two.hint"),
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
        return wrong_kind(answer, text("ch05.overlap_counts.what", count=len(expected)))
    return verdict(
        got == expected,
        text("ch05.overlap_counts.success", expected=expected),
        text("ch05.overlap_counts.hint"),
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
        answer, expected, "ch05.code_bits_per_pixel", tolerance=1e-9,
        typical={
            code.numel() * 32 / math.prod(PATCH): "float32",
            code.numel() * LEVELS / math.prod(PATCH): "levels_as_bits",
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
    return judge_number(answer, expected, "ch05.psnr_of_error", tolerance=0.05,
                        typical={20.0: "unsquared"})


def gradient_output_padding(answer: object) -> CheckResult:
    """Exercise 6: the ``output_padding`` with which ``conv_transpose2d(dY, K, stride=4,
    padding=2)`` returns the 15×15 input gradient of a 5×5 convolution with stride 4 and
    padding 2 on a 15×15 input.

    Answer: an int, the output_padding.
    """
    n, k, s, p = (GRADIENT_CONV[key] for key in ("size", "kernel", "stride", "padding"))
    x = torch.zeros(1, 1, n, n, requires_grad=True)
    w = torch.zeros(1, 1, k, k)
    y = F.conv2d(x, w, stride=s, padding=p)
    (dx,) = torch.autograd.grad(y, x, torch.ones_like(y))
    with torch.no_grad():
        expected = next(op for op in range(s) if F.conv_transpose2d(
            torch.ones_like(y), w, stride=s, padding=p, output_padding=op).shape == dx.shape)
    return judge_int(answer, expected, "ch05.gradient_output_padding",
                     typical={0: "none", (n + 2 * p) % s: "no_kernel"})


def kernel_gradient(fn: object) -> CheckResult:
    """Exercise 7: ``fn(X, dY)``, the gradient with respect to the 3×3 kernel of
    ``Y = corr2d`` at stride 2 (no padding), given the input ``X`` and ``dY = dL/dY``.

    The check runs ``fn`` on random inputs of several sizes and compares with autograd
    through ``F.conv2d``.

    Answer: a function ``fn(X, dY) -> dK``.
    """
    if not callable(fn):
        return wrong_kind(fn, text("ch05.kernel_gradient.what"))
    generator = torch.Generator().manual_seed(0)
    for h, w in KERNEL_GRADIENT_SIZES:
        X = torch.randn(h, w, generator=generator, dtype=torch.float64)
        K = torch.randn(3, 3, generator=generator, dtype=torch.float64, requires_grad=True)
        Y = F.conv2d(X[None, None], K[None, None], stride=2)[0, 0]
        dY = torch.randn(Y.shape, generator=generator, dtype=torch.float64)
        (expected,) = torch.autograd.grad(Y, K, dY)
        try:
            got = as_tensor(_call(fn, X, dY))
        except Exception as error:  # the reader's code: report, never raise
            return verdict(False, "", text("ch05.kernel_gradient.raised",
                                           error_type=type(error).__name__, error=error,
                                           h=h, w=w))
        if got is None:
            return verdict(False, "", text("ch05.kernel_gradient.not_a_tensor"))
        if got.shape != expected.shape:
            return verdict(False, "", text("ch05.kernel_gradient.wrong_shape", h=h, w=w,
                                           got_shape=tuple(got.shape)))
        if not torch.allclose(got, expected, rtol=1e-4, atol=1e-6):
            return verdict(False, "", text("ch05.kernel_gradient.wrong_values", h=h, w=w))
    return verdict(True, text("ch05.kernel_gradient.success"), "")


def _call(fn: Callable[..., object], X: torch.Tensor, dY: torch.Tensor) -> object:
    with torch.no_grad():
        return fn(X.clone(), dY.clone())
