"""Chapter 2 self-checks: right answers pass, typical wrong ones fail with a hint."""

from convbook.check import ch02


def test_output_size():
    assert ch02.output_size(112)  # floor((224 + 6 - 7) / 2) + 1, by hand
    assert not ch02.output_size(None)
    wrong = ch02.output_size(111)  # padding 3 read as total: floor((224 - 7 + 3 + 2) / 2)
    assert not wrong and "per side" in wrong.message
    assert not ch02.output_size(224)


def test_same_padding():
    assert ch02.same_padding(4)  # (d(k - 1)) / 2 = 2 * 4 / 2, by hand
    assert not ch02.same_padding(2)  # forgot the dilation
    assert not ch02.same_padding(8)  # total, not per side
    assert not ch02.same_padding(None)
