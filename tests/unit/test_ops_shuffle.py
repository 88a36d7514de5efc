"""channel_shuffle against nn.ChannelShuffle and a hand-worked permutation."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch import nn

from convbook.ops import channel_shuffle


def test_hand_worked_permutation():
    # 2 groups of 3 channels: [a0 a1 a2 | b0 b1 b2] -> [a0 b0 a1 b1 a2 b2]
    x = torch.arange(6.0).view(1, 6, 1, 1)
    assert channel_shuffle(x, 2).flatten().tolist() == [0, 3, 1, 4, 2, 5]
    assert channel_shuffle(x[0], 3).flatten().tolist() == [0, 2, 4, 1, 3, 5]


@given(st.integers(1, 4), st.integers(1, 4), st.integers(1, 3), st.booleans())
def test_matches_nn_channel_shuffle(groups, per_group, n, unbatched):
    x = torch.randn(n, groups * per_group, 3, 2)
    expected = nn.ChannelShuffle(groups)(x)
    if unbatched:
        x, expected = x[0], expected[0]
    assert torch.equal(channel_shuffle(x, groups), expected)


def test_errors():
    with pytest.raises(ValueError, match=r"channels \(5\) must be divisible by groups \(2\)"):
        channel_shuffle(torch.randn(1, 5, 2, 2), 2)
    with pytest.raises(ValueError, match="groups must be >= 1, got 0"):
        channel_shuffle(torch.randn(1, 4, 2, 2), 0)
