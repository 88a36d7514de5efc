"""What the from-scratch convolutions promise besides their values: conv2d, chapter 10's
conv2d_direct and conv2d_fft, conv3d and conv_transpose2d never call torch's convolution,
and reject bad arguments, shapes and dtypes with the same messages; then, in one table, the
rules each op has of its own (padding strings, output_padding, ...).  Their values are
tested against torch in test_ops_*.py (chapter 10's in unit/test_ops_algorithms.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import pytest
import torch
import torch.nn.functional as F

from convbook.ops import conv2d, conv2d_direct, conv2d_fft, conv3d, conv_transpose2d


@dataclass(frozen=True)
class Op:
    fn: Callable[..., torch.Tensor]
    reference: Callable[..., torch.Tensor]  # torch's own, for the output shape
    dims: int  # spatial axes
    weight_axes: str  # the weight's axes, as its error message names them
    transposed: bool = False

    def make(self, groups: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
        """A valid (input, weight) pair for ``groups``: 6 input channels, 3-wide kernels."""
        x = torch.randn(1, 6, *[3 if self.transposed else 5] * self.dims)
        first, second = (6, 2) if self.transposed else (6, 6 // groups)
        return x, torch.randn(first, second, *[3] * self.dims)


OPS = {
    "conv2d": Op(conv2d, F.conv2d, 2, "(C_out, C_in/groups, k_h, k_w)"),
    "conv2d_direct": Op(conv2d_direct, F.conv2d, 2, "(C_out, C_in/groups, k_h, k_w)"),
    "conv2d_fft": Op(conv2d_fft, F.conv2d, 2, "(C_out, C_in/groups, k_h, k_w)"),
    "conv3d": Op(conv3d, F.conv3d, 3, "(C_out, C_in/groups, k_d, k_h, k_w)"),
    "conv_transpose2d": Op(conv_transpose2d, F.conv_transpose2d, 2,
                           "(C_in, C_out/groups, k_h, k_w)", transposed=True),
}
each_op = pytest.mark.parametrize("op", OPS.values(), ids=OPS.keys())


@each_op
def test_does_not_call_torch_convolution(op, monkeypatch):
    x, weight = op.make()
    expected = op.reference(x, weight, stride=2).shape

    def forbidden(*args, **kwargs):
        raise AssertionError(f"{op.fn.__name__} must not call torch's convolution")

    for name in ("conv1d", "conv2d", "conv3d", "convolution", "conv_transpose1d",
                 "conv_transpose2d", "conv_transpose3d"):
        monkeypatch.setattr(F, name, forbidden, raising=False)
        monkeypatch.setattr(torch, name, forbidden, raising=False)
    assert op.fn(x, weight, stride=2).shape == expected


@each_op
@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        (dict(stride=0), ValueError, "stride must be >= 1, got 0"),
        (dict(dilation=0), ValueError, "dilation must be >= 1, got 0"),
        (dict(padding=-1), ValueError, "padding must be >= 0, got -1"),
        (dict(groups=0), ValueError, "groups must be >= 1, got 0"),
        (dict(groups=4), ValueError, r"input channels \(6\) must be divisible by groups \(4\)"),
        (dict(stride=True), TypeError, "stride must be an int or a tuple of {dims} ints, got True"),
        (dict(dilation=2.0), TypeError, r"dilation must be an int or a tuple of {dims} ints"),
    ],
)
def test_rejects_bad_arguments(op, kwargs, error, message):
    x, weight = op.make()
    with pytest.raises(error, match=message.format(dims=op.dims)):
        op.fn(x, weight, **kwargs)


@each_op
def test_rejects_bad_inputs_weights_and_biases(op):
    x, weight = op.make()
    n = op.dims
    with pytest.raises(TypeError, match=r"input must be a torch\.Tensor, got list"):
        op.fn(x.tolist(), weight)
    with pytest.raises(TypeError, match=r"weight must be a torch\.Tensor, got list"):
        op.fn(x, weight.tolist())
    with pytest.raises(ValueError, match=rf"input must be a {n + 1}D \(C, .*\) or {n + 2}D \(N, "
                                         rf"C, .*\) tensor, got a {n}D tensor"):
        op.fn(x[0, 0], weight)
    axes = re.escape(op.weight_axes)
    with pytest.raises(ValueError, match=rf"weight must be a {n + 2}D {axes} tensor, got a "
                                         rf"{n + 1}D tensor"):
        op.fn(x, weight[0])
    out_channels = op.reference(x, weight).shape[1]
    with pytest.raises(ValueError, match=rf"bias must have shape \({out_channels},\), got \(7,\)"):
        op.fn(x, weight, torch.randn(7))


@each_op
@pytest.mark.parametrize("groups", [1, 2, 6])
def test_a_dtype_mismatch_names_both(op, groups):
    x, weight = op.make(groups)
    with pytest.raises(TypeError, match=r"input \(torch\.float32\) and weight \(torch\.float64\)"
                                        r" must have the same dtype; convert one with "
                                        r"\.to\(torch\.float32\)"):
        op.fn(x, weight.double(), groups=groups)
    bias = torch.zeros(op.reference(x, weight, groups=groups).shape[1], dtype=torch.float16)
    with pytest.raises(TypeError, match=r"input \(torch\.float32\) and bias \(torch\.float16\)"):
        op.fn(x, weight, bias, groups=groups)


# Each op's own rules: (op, input shape, weight shape, arguments, the ValueError's message).
C2, W2 = (1, 6, 8, 8), (4, 6, 3, 3)
T2, V2 = (1, 6, 3, 3), (6, 2, 3, 3)
C3, W3 = (1, 6, 5, 5, 5), (4, 6, 3, 3, 3)
OWN_RULES = [
    ("conv2d", C2, W2, dict(stride=(1, -2)), r"stride must be >= 1, got \(1, -2\)"),
    ("conv2d", C2, W2, dict(padding="full"), "padding must be an int, a pair, 'valid' or 'same'"),
    ("conv2d", C2, W2, dict(padding="same", stride=2), "padding='same' requires stride 1"),
    ("conv2d", C2, W2, dict(stride=(1, 2, 3)), "stride must be an int or a tuple of 2 ints"),
    ("conv2d", (1, 1, 4, 4), (1, 1, 5, 5), {}, r"larger than the padded input \(4, 4\)"),
    ("conv2d", (1, 1, 4, 4), (1, 1, 3, 3), dict(dilation=2), r"dilated: \(5, 5\)"),
    ("conv2d", (1, 3, 4, 4), (1, 2, 3, 3), {},
     r"weight expects 2 \* groups 1 = 2 input channels"),
    ("conv3d", C3, W3, dict(stride=(1, 2)), "stride must be an int or a tuple of 3 ints"),
    ("conv3d", C3, W3, dict(dilation=(1, 0, 1)), r"dilation must be >= 1, got \(1, 0, 1\)"),
    ("conv3d", C3, W3, dict(dilation=3),
     r"dilated: \(7, 7, 7\) by dilation \(3, 3, 3\)\) is larger than the padded input "
     r"\(5, 5, 5\)"),
    ("conv_transpose2d", T2, V2, dict(output_padding=-1), "output_padding must be >= 0, got -1"),
    ("conv_transpose2d", T2, V2, dict(stride=2, output_padding=2),
     r"output_padding\[0\] must be smaller than stride\[0\] or dilation\[0\], got "
     "output_padding 2, stride 2, dilation 1"),
    ("conv_transpose2d", T2, V2, dict(output_padding=(0, 1)),
     r"output_padding\[1\] must be smaller than stride\[1\]"),
    ("conv_transpose2d", T2, V2, dict(padding=5), r"output size\[0\] would be -5 \(< 1\)"),
    ("conv_transpose2d", (1, 3, 4, 4), (2, 1, 3, 3), {},
     r"weight's first axis \(2\) must equal the input"),
]


@pytest.mark.parametrize("name, x_shape, weight_shape, kwargs, message", OWN_RULES)
def test_each_ops_own_rules(name, x_shape, weight_shape, kwargs, message):
    with pytest.raises(ValueError, match=message):
        OPS[name].fn(torch.randn(x_shape), torch.randn(weight_shape), **kwargs)
