"""The arithmetic of receptive fields, one formula per function, along one axis.

Follows Araujo, Norris and Sim, "Computing Receptive Fields of Convolutional Neural
Networks" (Distill, 2019).  Walking forward from the input (``r_0 = 1, j_0 = 1, P_0 = 0``),
a layer with kernel ``k``, stride ``s``, padding ``p`` and dilation ``d`` gives, per axis,

* kernel extent ``k' = d(k - 1) + 1``;
* receptive field ``r_l = r_{l-1} + (k' - 1) j_{l-1}`` (input pixels one unit sees);
* effective stride ``j_l = j_{l-1} s`` (input pixels between neighbouring units);
* effective padding ``P_l = P_{l-1} + p j_{l-1}``;

so output unit ``i`` of layer ``l`` sees input pixels ``i j_l - P_l`` to
``i j_l - P_l + r_l - 1`` (the range may run into the padding), centred at
``i j_l + (r_l - 1) / 2 - P_l``.  Also here: a layer's window arguments (:func:`window_arguments`)
and the output size of a sliding window (:func:`window_out_size`), which the tracer uses.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from torch import nn

from convbook._args import Pair, check_instance, check_int, check_positive_int, pair
from convbook.shapes import conv_out_size, pool_out_size


def window_out_size(n: int, k: int, s: int, p: int, d: int, ceil_mode: bool) -> int:
    """Output size of a sliding window along one axis, by :mod:`convbook.shapes`."""
    if ceil_mode:
        return pool_out_size(n, k, s, p, d, ceil_mode=True)
    return conv_out_size(n, k, s, p, d)


def next_field(
    r: int, j: int, P: int, kernel_size: int, stride: int = 1, padding: int = 0,
    dilation: int = 1,
) -> tuple[int, int, int]:
    """One step of the forward recursion, along one axis: the receptive field ``r``,
    effective stride ``j`` and effective padding ``P`` of a layer's output units, from
    those of its input and the layer's own arguments (a convolution or a pooling).

    >>> next_field(1, 1, 0, kernel_size=3, stride=2, padding=1)  # on the input pixels
    (3, 2, 1)
    """
    for name, value, least in (("r", r, 1), ("j", j, 1), ("P", P, None),
                               ("kernel_size", kernel_size, 1), ("stride", stride, 1),
                               ("padding", padding, 0), ("dilation", dilation, 1)):
        check_int(value, name, minimum=least)
    k = dilation * (kernel_size - 1) + 1  # the dilated kernel's extent
    return r + (k - 1) * j, j * stride, P + padding * j


def field_size(
    kernel_sizes: Sequence[int], strides: Sequence[int], dilations: Sequence[int] | None = None
) -> int:
    """Receptive field of a chain of layers along one axis, in closed form:
    ``1 + sum_l (k'_l - 1) * prod_{i < l} s_i``, with ``k'_l = d_l (k_l - 1) + 1``.

    >>> field_size([5, 2, 3], [1, 2, 1])  # 1 + 4 + 1 * 1 + 2 * 2
    10
    """
    check_instance(kernel_sizes, "kernel_sizes", Sequence, "a sequence of ints")
    check_instance(strides, "strides", Sequence, "a sequence of ints")
    if dilations is not None:
        check_instance(dilations, "dilations", Sequence, "a sequence of ints or None")
    if dilations is None:
        dilations = [1] * len(kernel_sizes)
    if not len(kernel_sizes) == len(strides) == len(dilations):
        raise ValueError(
            f"kernel_sizes, strides and dilations must have the same length, got "
            f"{len(kernel_sizes)}, {len(strides)} and {len(dilations)}"
        )
    for name, values in (("kernel_sizes", kernel_sizes), ("strides", strides),
                         ("dilations", dilations)):
        for v in values:
            check_positive_int(v, name)
    return 1 + sum(
        d * (k - 1) * math.prod(strides[:layer])
        for layer, (k, d) in enumerate(zip(kernel_sizes, dilations))
    )


def _conv_padding(conv: nn.Conv2d) -> Pair:
    """Padding before the first row / column (torch puts the odd extra of 'same' after)."""
    if conv.padding == "valid":
        return (0, 0)
    if conv.padding == "same":
        return tuple(d * (k - 1) // 2 for k, d in zip(conv.kernel_size, conv.dilation))  # type: ignore[return-value]
    return pair(tuple(conv.padding), "padding", minimum=0)


def window_arguments(module: nn.Module) -> tuple[Pair, Pair, Pair, Pair, bool]:
    """Kernel, stride, padding, dilation and ceil_mode of a conv or pooling layer."""
    if isinstance(module, nn.Conv2d):
        return (module.kernel_size, module.stride, _conv_padding(module),  # type: ignore[return-value]
                module.dilation, False)
    k = pair(module.kernel_size, "kernel_size", minimum=1)
    s = pair(module.stride if module.stride is not None else k, "stride", minimum=1)
    p = pair(module.padding, "padding", minimum=0)
    d = pair(getattr(module, "dilation", 1), "dilation", minimum=1)
    return k, s, p, d, bool(module.ceil_mode)
