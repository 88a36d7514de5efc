"""convbook.check.ch07: right answers pass, typical wrong ones fail with a hint."""

from __future__ import annotations

from convbook.check import ch07


def test_separable_params():
    assert ch07.separable_params(32 * 9 + 32 * 64)  # worked by hand: 2336
    for wrong, hint in [(32 * 64 * 9, "standard"), (288, "pointwise"), (None, "int"),
                        (2000, "depthwise")]:
        result = ch07.separable_params(wrong)
        assert not result and hint in result.message


def test_dilated_receptive_field():
    assert ch07.dilated_receptive_field(15)  # 1 + 2 * (1 + 2 + 4)
    assert "undilated" in ch07.dilated_receptive_field(7).message
    assert not ch07.dilated_receptive_field(13)
    assert not ch07.dilated_receptive_field("15")


def test_shuffle_order():
    assert ch07.shuffle_order([0, 2, 4, 1, 3, 5])  # 3 groups of 2, by hand
    assert "2 groups" in ch07.shuffle_order([0, 3, 1, 4, 2, 5]).message
    assert not ch07.shuffle_order([0, 1, 2, 3, 4, 5])
    assert not ch07.shuffle_order(None)
