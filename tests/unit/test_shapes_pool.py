"""convbook.shapes.pool_out_size against real nn.MaxPool2d / nn.AvgPool2d, over a full grid."""

from __future__ import annotations

import itertools

import pytest
import torch
from torch import nn

from convbook.shapes import pool_out_size


def _torch_pool_out(layer_cls, n, k, s, p, d, ceil_mode):
    """Output (h, w) of a real torch layer, or None if torch refuses the combination."""
    kwargs = dict(kernel_size=k, stride=s, padding=p, ceil_mode=ceil_mode)
    if layer_cls is nn.MaxPool2d:
        kwargs["dilation"] = d
    try:
        return tuple(layer_cls(**kwargs)(torch.zeros(1, 1, *n)).shape[-2:])
    except RuntimeError:
        return None


def _check_grid(layer_cls, dilations):
    checked = refused = 0
    for n, k, s, p, d, ceil_mode in itertools.product(
        range(1, 9), range(1, 6), range(1, 5), range(3), dilations, (False, True)
    ):
        expected = _torch_pool_out(layer_cls, (n, n), k, s, p, d, ceil_mode)
        if expected is None:
            # Say why, independently of the code under test.
            reason = "more than half of kernel_size" if 2 * p > k else "larger than padded input"
            with pytest.raises(ValueError, match=reason):
                pool_out_size(n, k, s, p, d, ceil_mode)
            refused += 1
            continue
        assert pool_out_size(n, k, s, p, d, ceil_mode) == expected[0], (n, k, s, p, d, ceil_mode)
        checked += 1
    return checked, refused


def test_pool_out_size_matches_nn_maxpool2d_on_every_small_combination():
    checked, refused = _check_grid(nn.MaxPool2d, range(1, 4))
    assert checked > 1000 and refused > 100  # 2,880 combinations, both kinds present


def test_pool_out_size_matches_nn_avgpool2d_on_every_small_combination():
    checked, refused = _check_grid(nn.AvgPool2d, (1,))
    assert checked > 400 and refused > 100  # 960 combinations


def test_pool_out_size_pairs_match_torch():
    for (h, w), (kh, kw), (sh, sw), ceil_mode in itertools.product(
        [(1, 7), (6, 3), (9, 8)], [(1, 3), (2, 2), (3, 1)], [(1, 2), (3, 1)], (False, True)
    ):
        for p in [(0, 1), (1, 0)]:
            expected = _torch_pool_out(nn.MaxPool2d, (h, w), (kh, kw), (sh, sw), p, 1, ceil_mode)
            if expected is None:
                with pytest.raises(ValueError):
                    pool_out_size((h, w), (kh, kw), (sh, sw), p, ceil_mode=ceil_mode)
            else:
                assert pool_out_size((h, w), (kh, kw), (sh, sw), p, ceil_mode=ceil_mode) == expected


def test_pool_out_size_stride_defaults_to_kernel_size():
    # Hand-worked: 4 / 2 = 2 side-by-side windows; 5 in ceil mode -> 3 (last one half off).
    assert pool_out_size(4, 2) == 2
    assert pool_out_size(5, 2) == 2
    assert pool_out_size(5, 2, ceil_mode=True) == 3
    assert pool_out_size((4, 6), (2, 3)) == (2, 2)


def test_ceil_mode_never_starts_a_window_in_the_right_padding():
    # n=5, k=2, s=2, p=1: padded input is 7 cells (-1..5). Rounding up would give 4
    # windows starting at -1, 1, 3, 5, but 5 is the right padding, so torch keeps 3.
    assert pool_out_size(5, 2, 2, 1, ceil_mode=True) == 3
    assert nn.MaxPool2d(2, 2, 1, ceil_mode=True)(torch.zeros(1, 5, 5)).shape[-1] == 3


@pytest.mark.parametrize(
    "args, kwargs, message",
    [
        ((4, 5), {}, r"kernel_size 5 is larger than padded input 4 \(input 4 \+ 2 \* padding 0\)"),
        ((4, 3), dict(dilation=2),
         r"kernel_size 3 \(dilated to 5 by dilation 2\) is larger than padded input 4"),
        ((8, 3), dict(padding=2), r"padding 2 is more than half of kernel_size 3"),
        (
            ((8, 8), (3, 4)), dict(padding=(1, 3)),
            r"padding\[1\] 3 is more than half of kernel_size\[1\] 4",
        ),
        ((8, 2), dict(stride=0), "stride must be >= 1, got 0"),
        ((8, 2), dict(padding=-1), "padding must be >= 0, got -1"),
        ((8, 0), {}, "kernel_size must be >= 1, got 0"),
        ((8, 2), dict(dilation=0), "dilation must be >= 1, got 0"),
    ],
)
def test_pool_out_size_errors_say_why(args, kwargs, message):
    with pytest.raises(ValueError, match=message):
        pool_out_size(*args, **kwargs)


def test_pool_out_size_rejects_a_non_bool_ceil_mode():
    with pytest.raises(TypeError, match="ceil_mode must be True or False"):
        pool_out_size(8, 2, ceil_mode=1)
