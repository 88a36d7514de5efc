"""convbook.counting against real layers: numel for parameters, two measurements for MACs."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import assume, given
from hypothesis import strategies as st
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from convbook.counting import conv_bytes, conv_macs, conv_params

CONV = {2: (nn.Conv2d, F.conv2d), 3: (nn.Conv3d, F.conv3d)}


def _brute_force_macs(layer: nn.Module, size: tuple[int, ...]) -> int:
    """Count the products by making each one equal 1: all-ones input *and padding*,
    all-ones weight, no bias; the output then sums to the number of multiply-adds."""
    dims = len(size)
    _, conv = CONV[dims]
    pad = [p for p in reversed(layer.padding) for _ in range(2)]
    x = F.pad(torch.ones(1, layer.in_channels, *size, dtype=torch.float64), pad, value=1.0)
    w = torch.ones_like(layer.weight, dtype=torch.float64)
    out = conv(x, w, None, layer.stride, 0, layer.dilation, layer.groups)
    return int(out.sum().item())


def _flop_counter_macs(layer: nn.Module, size: tuple[int, ...]) -> int:
    x = torch.zeros(1, layer.in_channels, *size)
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        layer(x)
    return counter.get_total_flops() // 2  # torch counts a multiply-add as 2 FLOPs


VARIANTS = [
    # name, in, out, kernel, groups, stride, padding, dilation, input size
    ("standard", 8, 16, (3, 3), 1, 1, 1, 1, (12, 12)),
    ("strided", 3, 5, (4, 4), 1, 2, 1, 1, (11, 9)),
    ("grouped", 8, 12, (3, 3), 4, 1, 0, 1, (10, 10)),
    ("depthwise", 6, 6, (3, 3), 6, 1, 1, 1, (8, 8)),
    ("depthwise multiplier 2", 6, 12, (5, 5), 6, 1, 2, 1, (8, 8)),
    ("pointwise", 6, 10, (1, 1), 1, 1, 0, 1, (8, 8)),
    ("spatial 3x1", 4, 4, (3, 1), 1, 1, (1, 0), 1, (9, 9)),
    ("spatial 1x3", 4, 4, (1, 3), 1, 1, (0, 1), 1, (9, 9)),
    ("dilated", 4, 6, (3, 3), 1, 1, 2, 2, (10, 10)),
    ("3d", 3, 4, (3, 3, 3), 1, 1, 1, 1, (5, 6, 7)),
    ("3d grouped strided", 4, 6, (2, 3, 1), 2, (1, 2, 1), 0, (2, 1, 1), (5, 6, 7)),
]


@pytest.mark.parametrize("variant", VARIANTS, ids=[v[0] for v in VARIANTS])
@pytest.mark.parametrize("bias", [True, False])
def test_counts_match_real_layers(variant, bias):
    _, c_in, c_out, k, g, s, p, d, size = variant
    layer = CONV[len(k)][0](c_in, c_out, k, stride=s, padding=p, dilation=d, groups=g, bias=bias)
    assert conv_params(c_in, c_out, k, groups=g, bias=bias) == sum(
        t.numel() for t in layer.parameters()
    )
    out_size = tuple(layer(torch.zeros(1, c_in, *size)).shape[2:])
    macs = conv_macs(c_in, c_out, k, out_size, groups=g)
    assert macs == _brute_force_macs(layer, size)
    assert macs == _flop_counter_macs(layer, size)


def test_separable_pairs_are_sums_and_cheaper():
    # Depthwise separable: depthwise 3x3 then pointwise 1x1, versus one 3x3 conv.
    c_in, c_out, out = 32, 64, (16, 16)
    full = conv_macs(c_in, c_out, (3, 3), out)
    separable = conv_macs(c_in, c_in, (3, 3), out, groups=c_in) + conv_macs(
        c_in, c_out, (1, 1), out
    )
    # The textbook ratio 1/C_out + 1/k^2.
    assert separable / full == pytest.approx(1 / c_out + 1 / 9)
    # Spatially separable 3x1 then 1x3: 6 weights instead of 9.
    assert conv_params(1, 1, (3, 1), bias=False) + conv_params(1, 1, (1, 3), bias=False) == 6


def test_hand_worked_numbers():
    assert conv_params(3, 64, (11, 11)) == 3 * 64 * 121 + 64
    assert conv_macs(1, 1, (2, 2), (2, 2)) == 16  # four outputs, four products each
    assert conv_macs(1, 1, 3, 10) == 30  # 1D


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda: conv_params(6, 4, 3, groups=4), ValueError,
         r"in_channels \(6\) must be divisible by groups \(4\)"),
        (lambda: conv_params(4, 6, 3, groups=4), ValueError,
         r"out_channels \(6\) must be divisible by groups \(4\)"),
        (lambda: conv_params(0, 4, 3), ValueError, "in_channels must be >= 1, got 0"),
        (lambda: conv_params(1, 4, (3, 0)), ValueError, "kernel_size must be >= 1, got 0"),
        (lambda: conv_macs(1, 1, (3, 3), (4, 4, 4)), ValueError, "same number of axes"),
        (lambda: conv_macs(1, 1, (), ()), ValueError, "kernel_size must have at least one axis"),
        (lambda: conv_params(1.5, 4, 3), TypeError, "in_channels must be an int"),
    ],
)
def test_errors(call, error, message):
    with pytest.raises(error, match=message):
        call()


@given(
    st.integers(1, 3), st.integers(1, 3), st.integers(1, 3), st.integers(1, 4),
    st.integers(1, 4), st.integers(1, 3), st.integers(0, 2), st.integers(1, 2),
    st.integers(5, 9),
)
def test_macs_match_brute_force_on_random_layers(g, cin, cout, kh, kw, s, p, d, n):
    layer = nn.Conv2d(g * cin, g * cout, (kh, kw), stride=s, padding=p, dilation=d, groups=g)
    assume(d * (max(kh, kw) - 1) < n + 2 * p)  # the dilated kernel fits the padded input
    out = tuple(layer(torch.zeros(1, g * cin, n, n)).shape[2:])
    assert conv_macs(g * cin, g * cout, (kh, kw), out, groups=g) == _brute_force_macs(layer, (n, n))


# --------------------------------------------------------------------------- bytes moved


@given(st.integers(1, 4), st.integers(1, 3), st.integers(1, 3), st.integers(1, 3),
       st.integers(3, 9), st.integers(1, 3), st.integers(0, 2))
def test_conv_bytes_are_the_tensors_a_real_layer_reads_and_writes(batch, g, c_in, c_out, size,
                                                                   k, padding):
    layer = nn.Conv2d(g * c_in, g * c_out, k, padding=padding, groups=g, bias=False)
    x = torch.zeros(batch, g * c_in, size, size + 1)
    y = layer(x)
    expected = sum(t.numel() * t.element_size() for t in (x, layer.weight, y))
    assert conv_bytes(g * c_in, g * c_out, (k, k), (size, size + 1), tuple(y.shape[2:]),
                      groups=g, batch=batch) == expected
    half = sum(t.numel() * 2 for t in (x, layer.weight, y))
    assert conv_bytes(g * c_in, g * c_out, (k, k), (size, size + 1), tuple(y.shape[2:]),
                      groups=g, batch=batch, element_size=2) == half


def test_conv_bytes_rejects_mismatched_axes():
    with pytest.raises(ValueError, match=r"kernel_size \(3, 3\), input_size \(8,\) and "
                                         r"output_size \(6, 6\) must have the same number"):
        conv_bytes(4, 4, (3, 3), 8, (6, 6))
