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
    assert "undilated" in ch02.same_padding(2).message  # forgot the dilation
    assert "total" in ch02.same_padding(8).message  # total, not per side
    assert not ch02.same_padding(3)
    assert not ch02.same_padding(None)


def test_corner_windows():
    # By hand: windows starting 2, 1 or 0 rows (and columns) before the corner contain it.
    assert ch02.corner_windows(3 * 3)
    assert "hang over the border" in ch02.corner_windows(1).message  # no padding
    assert "first window starts only 2 rows above" in ch02.corner_windows(25).message
    assert not ch02.corner_windows(4)  # the 3x3 kernel, padding 1 of the text
    assert "an int" in ch02.corner_windows("nine").message


def test_halving_sizes():
    evens = list(range(2, 21, 2))  # by hand: floor((n - 1) / 2) + 1 = n / 2 iff n is even
    assert ch02.halving_sizes(evens)
    assert ch02.halving_sizes(tuple(reversed(evens)))
    odd = ch02.halving_sizes([*evens, 5])
    assert not odd and "5 is odd" in odd.message and "gives 3" in odd.message
    assert not ch02.halving_sizes(evens[:-1])  # 20 forgotten
    assert not ch02.halving_sizes([4, 8, 16])  # powers of two only
    assert "list of ints" in ch02.halving_sizes(2).message
