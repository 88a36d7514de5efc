"""Chapter 4 self-checks: right answers pass, typical wrong ones fail with a hint."""

from convbook.check import ch04


def test_pool_output_size():
    assert ch04.pool_output_size(56)  # floor((112 + 2 - 3) / 2) + 1 = 56, by hand
    assert not ch04.pool_output_size(55)
    assert not ch04.pool_output_size(None)


def test_max_pool_values():
    assert ch04.max_pool_values([[6, 5], [7, 9]])  # the maxima of the 2x2 blocks, by hand
    assert not ch04.max_pool_values([[6, 6], [9, 9]])  # stride 1 misread
    assert not ch04.max_pool_values("six")
    assert not ch04.max_pool_values(None)
