"""convbook.check.ch05: right answers pass, typical wrong ones fail with a hint."""

from __future__ import annotations

import torch

from convbook.check import ch05
from convbook.ops import corr2d


def test_output_size():
    assert ch05.output_size(10)  # (5 - 1)·2 - 2 + 4 = 10, worked by hand
    for wrong, hint in [(12, "forgot the padding"), (11, "subtract 2p"), (9, "(n - 1)s"),
                        (None, "int"), (True, "int")]:
        result = ch05.output_size(wrong)
        assert not result and hint in result.message


def test_stride_two():
    right = [[1, 1, 2, 2], [1, 1, 2, 2], [3, 3, 4, 4], [3, 3, 4, 4]]  # worked by hand
    assert ch05.stride_two(right)
    assert not ch05.stride_two([[1, 3, 2], [4, 10, 6], [3, 7, 4]])  # stride 1's answer
    assert "4×4" in ch05.stride_two(None).message
    wrong = [row[:] for row in right]
    wrong[0][0] = 0
    assert not ch05.stride_two(wrong)


def test_overlap_counts():
    assert ch05.overlap_counts([1, 1, 2, 1, 2, 1, 2, 1, 1])  # by hand: windows at 0, 2, 4, 6
    assert not ch05.overlap_counts([1, 1, 1, 1, 1, 1, 1, 1, 1])
    assert not ch05.overlap_counts(None)
    assert "9 ints" in ch05.overlap_counts([1, 2]).message


def test_code_bits_per_pixel():
    assert ch05.code_bits_per_pixel(4 * 8 * 8 * 4 / (32 * 32))  # 1.0, by hand
    assert ch05.code_bits_per_pixel(1)
    assert "float32" in ch05.code_bits_per_pixel(8.0).message  # 256 x 32 bits / 1024
    assert "log2(16)" in ch05.code_bits_per_pixel(4.0).message  # 16 "bits" per value
    assert not ch05.code_bits_per_pixel(0.25)  # values per pixel, not bits
    assert "a number" in ch05.code_bits_per_pixel("1 bit").message


def test_psnr_of_error():
    assert ch05.psnr_of_error(40)  # 10 log10(1 / 0.01²), by hand
    assert ch05.psnr_of_error(40.02)
    assert "squares it" in ch05.psnr_of_error(20).message
    assert not ch05.psnr_of_error(-40)
    assert not ch05.psnr_of_error(None)


def test_gradient_output_padding():
    # By hand: o = (15 + 4 - 5) // 4 + 1 = 4; (4 - 1)·4 - 4 + 5 = 13, so 2 rows are missing.
    assert ch05.gradient_output_padding(2)
    assert "13 rows" in ch05.gradient_output_padding(0).message
    assert "kernel's own extent" in ch05.gradient_output_padding(3).message  # (15 + 4) mod 4
    assert "(i + 2p - k) mod s" in ch05.gradient_output_padding(1).message
    assert "an int" in ch05.gradient_output_padding("2").message


def _dilated(dY):
    Z = torch.zeros(2 * dY.shape[0] - 1, 2 * dY.shape[1] - 1, dtype=dY.dtype)
    Z[::2, ::2] = dY
    return Z


def _by_loops(X, dY):
    # dK[u, v] = sum over i, j of dY[i, j] X[2i + u, 2j + v], written out
    dK = torch.zeros(3, 3, dtype=X.dtype)
    for u in range(3):
        for v in range(3):
            for i in range(dY.shape[0]):
                for j in range(dY.shape[1]):
                    dK[u, v] += dY[i, j] * X[2 * i + u, 2 * j + v]
    return dK


def test_kernel_gradient():
    assert ch05.kernel_gradient(_by_loops)
    read = lambda n: 2 * (n - 1) + 3  # noqa: E731  (rows the windows read)
    assert ch05.kernel_gradient(
        lambda X, dY: corr2d(X[: read(dY.shape[0]), : read(dY.shape[1])], _dilated(dY)))
    # forgetting to dilate dY gives a larger result; forgetting to crop X, a wrong shape
    assert "3×3" in ch05.kernel_gradient(lambda X, dY: corr2d(X, dY)).message
    assert "(4, 3)" in ch05.kernel_gradient(lambda X, dY: corr2d(X, _dilated(dY))).message
    assert "dilate it" in ch05.kernel_gradient(lambda X, dY: -_by_loops(X, dY)).message
    assert "ZeroDivisionError" in ch05.kernel_gradient(lambda X, dY: 1 / 0).message
    assert "finite numbers" in ch05.kernel_gradient(lambda X, dY: "dK").message
    assert "function" in ch05.kernel_gradient(None).message
