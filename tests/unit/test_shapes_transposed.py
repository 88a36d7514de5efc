"""convbook.shapes.conv_transpose_out_size against nn.ConvTranspose2d, over a full grid."""

from __future__ import annotations

import itertools

import pytest
import torch
from torch import nn

from convbook.shapes import conv_out_size, conv_transpose_out_size


def _torch_out(n, k, s, p, op, d):
    layer = nn.ConvTranspose2d(
        1, 1, k, stride=s, padding=p, output_padding=op, dilation=d, bias=False
    )
    with torch.no_grad():
        return tuple(layer(torch.zeros(1, 1, *n)).shape[-2:])


def test_matches_nn_conv_transpose2d_on_every_small_combination():
    checked = rejected = 0
    for n, k, s, p, op, d in itertools.product(
        range(1, 6), range(1, 5), range(1, 4), range(3), range(3), range(1, 3)
    ):
        if op >= s and op >= d:
            with pytest.raises(ValueError, match="must be smaller than stride or dilation"):
                conv_transpose_out_size(n, k, s, p, op, d)
            with pytest.raises(RuntimeError):
                _torch_out((n, n), k, s, p, op, d)
            rejected += 1
            continue
        try:
            expected = _torch_out((n, n), k, s, p, op, d)[0]
        except RuntimeError:
            expected = 0
        if expected == 0:  # torch refuses, or (for some 1-pixel inputs) returns an empty map
            with pytest.raises(ValueError, match=r"\(< 1\)"):
                conv_transpose_out_size(n, k, s, p, op, d)
            rejected += 1
            continue
        assert conv_transpose_out_size(n, k, s, p, op, d) == expected
        checked += 1
    assert checked > 600 and rejected > 100


def test_formula_by_hand():
    # (n - 1)s - 2p + d(k - 1) + output_padding + 1
    assert conv_transpose_out_size(2, 2) == 3  # D2L's 2x2 input, 2x2 kernel
    assert conv_transpose_out_size(2, 2, stride=2) == 4
    assert conv_transpose_out_size(4, 3, stride=2, padding=1, output_padding=1) == 8
    assert conv_transpose_out_size((3, 5), (2, 3), (1, 2), (0, 1), (0, 1), (2, 1)) == (5, 10)
    assert conv_transpose_out_size((3, 5), (2, 3), (1, 2), (0, 1), (0, 1), (2, 1)) == (
        _torch_out((3, 5), (2, 3), (1, 2), (0, 1), (0, 1), (2, 1))
    )


def test_undoes_conv_out_size():
    # A convolution maps the transposed convolution's output back to the input size.
    for n, k, s, p, d in itertools.product(range(1, 8), range(1, 5), range(1, 4), range(3),
                                           range(1, 3)):
        for op in range(s):  # an output_padding allowed only by the dilation adds a row
            try:
                m = conv_transpose_out_size(n, k, s, p, op, d)
            except ValueError:
                continue
            assert conv_out_size(m, k, s, p, d) == n


@pytest.mark.parametrize(
    "args, message",
    [
        ((4, 3, 2, 0, 2), "output_padding must be smaller than stride or dilation, got "
                          "output_padding 2, stride 2, dilation 1"),
        (((4, 4), 3, (1, 3), 0, (1, 1)), r"output_padding\[0\] must be smaller than stride\[0\]"),
        ((1, 1, 1, 1), r"output size would be -1 \(< 1\)"),
        ((4, 3, 0), "stride must be >= 1, got 0"),
        ((4, 3, 1, 0, -1), "output_padding must be >= 0, got -1"),
        ((0, 3), "n must be >= 1, got 0"),
    ],
)
def test_errors(args, message):
    with pytest.raises(ValueError, match=message):
        conv_transpose_out_size(*args)
