"""convbook.check.ch05: right answers pass, typical wrong ones fail with a hint."""

from __future__ import annotations

from convbook.check import ch05


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
