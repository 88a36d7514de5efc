"""Counting a convolution's cost: parameters, multiply-accumulates (MACs) and bytes moved.

Every variant of the book (standard, grouped, depthwise, dilated, spatially separable, 3D)
is one formula with the right arguments, and the two-layer ones (depthwise separable, a
``k×1`` then ``1×k`` pair) are sums of two:

* parameters: ``C_out · (C_in / groups) · ∏k  (+ C_out for the bias)``;
* MACs: every output value is one dot product of ``(C_in / groups) · ∏k`` terms, so
  ``C_out · ∏out · (C_in / groups) · ∏k``, where ``out`` is the output's spatial size.
  Dilation and stride change the output size, never the work per output value;
* bytes moved: the least memory traffic a layer can get away with, reading its input and
  weights once and writing its output once (chapter 10's roofline).

Spatial sizes and kernel sizes are tuples of any length (2 for images, 3 for volumes).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from convbook._args import check_bool, check_positive_int, is_int


def _sizes(value: int | Sequence[int], name: str) -> tuple[int, ...]:
    if is_int(value):
        values: tuple = (value,)
    elif isinstance(value, Sequence) and not isinstance(value, str):
        values = tuple(value)
    else:
        raise TypeError(f"{name} must be an int or a tuple of ints, got {value!r}")
    if not values:
        raise ValueError(f"{name} must have at least one axis, got {value!r}")
    return tuple(check_positive_int(v, name) for v in values)


def _channels(in_channels: int, out_channels: int, groups: int) -> int:
    for v, name in ((in_channels, "in_channels"), (out_channels, "out_channels")):
        check_positive_int(v, name)
    check_positive_int(groups, "groups")
    for v, name in ((in_channels, "in_channels"), (out_channels, "out_channels")):
        if v % groups:
            raise ValueError(f"{name} ({v}) must be divisible by groups ({groups})")
    return in_channels // groups


def conv_params(
    in_channels: int,
    out_channels: int,
    kernel_size: int | Sequence[int],
    groups: int = 1,
    bias: bool = True,
) -> int:
    """Number of learnable parameters of ``nn.Conv{1,2,3}d`` with these arguments.

    ``kernel_size`` is an int (a 1D kernel) or a tuple, e.g. ``(3, 3)`` or ``(3, 3, 3)``.

    >>> conv_params(64, 128, (3, 3))
    73856
    >>> conv_params(64, 64, (3, 3), groups=64, bias=False)  # depthwise
    576
    """
    per_group = _channels(in_channels, out_channels, groups)
    check_bool(bias, "bias")
    weights = out_channels * per_group * math.prod(_sizes(kernel_size, "kernel_size"))
    return weights + (out_channels if bias else 0)


def conv_macs(
    in_channels: int,
    out_channels: int,
    kernel_size: int | Sequence[int],
    output_size: int | Sequence[int],
    groups: int = 1,
) -> int:
    """Multiply-accumulates of one forward pass of one input (batch size 1).

    ``output_size`` is the output's spatial size (see :func:`convbook.shapes.conv_out_size`),
    with as many axes as ``kernel_size``.  The bias adds are not counted.

    >>> conv_macs(64, 128, (3, 3), (32, 32))
    75497472
    """
    per_group = _channels(in_channels, out_channels, groups)
    k = _sizes(kernel_size, "kernel_size")
    out = _sizes(output_size, "output_size")
    if len(k) != len(out):
        raise ValueError(
            f"kernel_size {k} and output_size {out} must have the same number of axes"
        )
    return out_channels * math.prod(out) * per_group * math.prod(k)


def conv_bytes(
    in_channels: int,
    out_channels: int,
    kernel_size: int | Sequence[int],
    input_size: int | Sequence[int],
    output_size: int | Sequence[int],
    groups: int = 1,
    batch: int = 1,
    element_size: int = 4,
) -> int:
    """Bytes a convolution moves at least: its input and weights read once, its output
    written once, each value ``element_size`` bytes (4 for float32, 2 for bfloat16).

    ``batch · C_in · ∏input + C_out · (C_in / groups) · ∏k + batch · C_out · ∏out`` values;
    padding zeros are not read from memory and the bias is left out.  Real kernels move
    more when the tensors do not fit in the caches.

    >>> conv_bytes(64, 128, (3, 3), (32, 32), (32, 32))  # (65,536 + 73,728 + 131,072) · 4
    1081344
    """
    per_group = _channels(in_channels, out_channels, groups)
    k = _sizes(kernel_size, "kernel_size")
    n_in = _sizes(input_size, "input_size")
    n_out = _sizes(output_size, "output_size")
    if not len(k) == len(n_in) == len(n_out):
        raise ValueError(f"kernel_size {k}, input_size {n_in} and output_size {n_out} must "
                         "have the same number of axes")
    batch = check_positive_int(batch, "batch")
    element_size = check_positive_int(element_size, "element_size")
    values = (batch * in_channels * math.prod(n_in)
              + out_channels * per_group * math.prod(k)
              + batch * out_channels * math.prod(n_out))
    return values * element_size
