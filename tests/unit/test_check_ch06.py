"""Self-checks of chapter 06: right answers pass, typical wrong ones fail with a hint."""

from __future__ import annotations

import pytest
from verdicts import right_passes_wrong_fails

from convbook.check import ch06

test_right_passes_wrong_fails = right_passes_wrong_fails(
    [
        # 1 + 2 + 1*1 + 2*2 + 1*2 + 2*4, worked by hand
        (ch06.mixed_stack, 18, 9, "product of the strides"),
        (ch06.mixed_stack, 18, 17, "walk forward"),
        # 1 + 2n >= 100
        (ch06.layers_for_field, 50, 49, "49 layers see only 99 pixels"),
        (ch06.layers_for_field, 50, 51, "fewer layers are enough"),
        # 1 + 2 (1 + 2 + 4 + 8)
        (ch06.dilated_stack, 31, 9, "d(k - 1) + 1"),
        (ch06.dilated_stack, 31, 30, "add d(k - 1)"),
        # 32 * 32 * (49 - 27)
        (ch06.weights_saved, 22528, 22, "k × k × C × C"),
        (ch06.weights_saved, 22528, 22527, "49 C^2"),
    ]
)


@pytest.mark.parametrize(
    "check", [ch06.mixed_stack, ch06.layers_for_field, ch06.dilated_stack, ch06.weights_saved]
)
def test_placeholder_and_wrong_types_fail(check):
    assert "replace None with your answer: an int" in check(None).message
    for answer in ("18", 18.5, True):
        result = check(answer)
        assert not result and "answer with an int" in result.message
        assert repr(result).startswith("❌ Not yet")


def test_layers_for_field_nonsense_counts():
    assert "at least one layer" in ch06.layers_for_field(0).message
    assert "at least one layer" in ch06.layers_for_field(-3).message


def test_stem_geometry():
    # By hand: conv r = 7, j = 2, P = 3; pool r = 7 + 2 * 2 = 11, j = 4, P = 3 + 1 * 2 = 5.
    assert ch06.stem_geometry((11, 4, 5))
    assert ch06.stem_geometry([11.0, 4, 5])
    assert "pooling adds (3 - 1) times the stride" in ch06.stem_geometry((9, 4, 5)).message
    assert "walk forward" in ch06.stem_geometry((13, 4, 5)).message
    assert "strides multiply" in ch06.stem_geometry((11, 2, 5)).message
    assert "P += p j" in ch06.stem_geometry((11, 4, 4)).message  # 3 + 1, stride forgotten
    assert "triple of ints" in ch06.stem_geometry((11, 4)).message
    assert "replace None" in ch06.stem_geometry(None).message


def test_weights_saved_other_channel_count():
    assert ch06.weights_saved(64 * 64 * 22, channels=64)
    assert not ch06.weights_saved(22528, channels=64)
