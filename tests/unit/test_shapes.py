"""convbook.shapes against the output shapes of real torch layers, over a full grid."""

from __future__ import annotations

import itertools

import pytest
import torch
from torch import nn

from convbook.shapes import conv_out_size, effective_kernel_size


def _torch_conv_out(n, k, s, p, d):
    layer = nn.Conv2d(1, 1, k, stride=s, padding=p, dilation=d, bias=False)
    with torch.no_grad():
        return tuple(layer(torch.zeros(1, 1, *n)).shape[-2:])


GRID = [
    (n, k, s, p, d)
    for n, k, s, p, d in itertools.product(
        range(1, 9), range(1, 6), range(1, 5), range(3), range(1, 4)
    )
]


def test_conv_out_size_matches_nn_conv2d_on_every_small_combination():
    checked = 0
    for n, k, s, p, d in GRID:
        if d * (k - 1) + 1 > n + 2 * p:
            with pytest.raises(ValueError, match="larger than the padded input"):
                conv_out_size(n, k, s, p, d)
            with pytest.raises(RuntimeError):
                _torch_conv_out((n, n), k, s, p, d)
            continue
        assert conv_out_size(n, k, s, p, d) == _torch_conv_out((n, n), k, s, p, d)[0]
        checked += 1
    assert checked > 900  # most of the 1,440 combinations are valid


def test_conv_out_size_pairs_and_asymmetric_arguments():
    cases = [((8, 8), (3, 5), (3, 4), (0, 1), (1, 1)), ((7, 12), (2, 3), (1, 2), (1, 0), (2, 1))]
    for n, k, s, p, d in cases:
        assert conv_out_size(n, k, s, p, d) == _torch_conv_out(n, k, s, p, d)


def test_textbook_total_padding_form_agrees():
    # floor((n - k + p_total + s) / s) with p_total = 2p, the form other books print.
    for n, k, s, p in itertools.product(range(1, 12), range(1, 6), range(1, 5), range(4)):
        if k <= n + 2 * p:
            assert conv_out_size(n, k, s, p) == (n - k + 2 * p + s) // s


def test_same_and_valid_padding():
    assert conv_out_size((9, 4), (4, 3), padding="same", dilation=2) == (9, 4)
    assert conv_out_size(9, 4, padding="valid") == 6
    with pytest.raises(ValueError, match="padding='same' requires stride 1, got stride 2"):
        conv_out_size(9, 3, stride=2, padding="same")


def test_effective_kernel_size():
    for k, d in itertools.product(range(1, 6), range(1, 5)):
        assert effective_kernel_size(k, d) == k + (k - 1) * (d - 1)


@pytest.mark.parametrize(
    "args, message",
    [
        ((4, 5), r"kernel_size 5 is larger than the padded input 4 \(input 4 \+ 2 \* padding 0\)"),
        ((4, 3, 1, 0, 2),
         r"kernel_size 3 \(dilated to 5 by dilation 2\) is larger than the padded input 4"),
        ((8, 3, 0), "stride must be >= 1, got 0"),
        ((8, 3, 1, -1), "padding must be >= 0, got -1"),
        ((0, 1), "n must be >= 1, got 0"),
        (((8, 2), (3, 3)), r"kernel_size\[1\] 3 is larger than the padded input 2"),
    ],
)
def test_conv_out_size_errors(args, message):
    with pytest.raises(ValueError, match=message):
        conv_out_size(*args)
