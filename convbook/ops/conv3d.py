"""A from-scratch ``conv3d`` with the semantics of ``torch.nn.functional.conv3d``.

The same im2col idea as :func:`convbook.ops.conv2d`, with one more axis: cut every
``k_d × k_h × k_w`` window out of the padded volume (``Tensor.unfold`` along depth,
height and width), lay the windows out as rows, and multiply by the flattened kernels.
No torch convolution function is called.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from convbook._args import (
    check_allocation,
    check_conv_weight,
    check_positive_int,
    check_same_dtype,
    check_tensor,
    ntuple,
)
from convbook.ops._layout import batched, channels_last, grouped_product, unbatched
from convbook.shapes import effective_kernel_size

IntTriple = int | tuple[int, int, int]


def conv3d(
    input: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None = None,
    stride: IntTriple = 1,
    padding: IntTriple = 0,
    dilation: IntTriple = 1,
    groups: int = 1,
) -> torch.Tensor:
    """3D convolution (cross-correlation), like ``torch.nn.functional.conv3d``.

    Args:
        input: ``(N, C_in, D, H, W)`` or unbatched ``(C_in, D, H, W)``.
        weight: ``(C_out, C_in / groups, k_d, k_h, k_w)``.
        bias: ``(C_out,)`` or None.
        stride, dilation: int or ``(d, h, w)``, each >= 1.
        padding: int or ``(d, h, w)`` zeros added on *each* side.
        groups: split the channels into this many independent convolutions.

    Returns:
        ``(N, C_out, D_out, H_out, W_out)`` (or unbatched), each axis
        ``floor((n + 2p - d(k - 1) - 1) / s) + 1``. Differentiable in every tensor.
    """
    x, was_unbatched = batched(input, 3)
    check_tensor(weight, "weight", [5], ["(C_out, C_in/groups, k_d, k_h, k_w)"])
    check_same_dtype(input=input, weight=weight, bias=bias)
    groups = check_positive_int(groups, "groups")
    s = ntuple(stride, "stride", 3, minimum=1)
    p = ntuple(padding, "padding", 3, minimum=0)
    dil = ntuple(dilation, "dilation", 3, minimum=1)
    k = tuple(weight.shape[2:])

    n, c_in = x.shape[:2]
    c_out = weight.shape[0]
    check_conv_weight(c_in, weight, bias, groups)
    ek = tuple(effective_kernel_size(k[i], dil[i]) for i in range(3))
    padded = tuple(x.shape[2 + i] + 2 * p[i] for i in range(3))
    if any(ek[i] > padded[i] for i in range(3)):
        raise ValueError(
            f"kernel of size {k} (dilated: {ek} by dilation {dil}) is larger than the padded "
            f"input {padded}"
        )
    if any(p):
        check_allocation((n, c_in, *padded), x.element_size(), "padding", "the padded input",
                         device=str(x.device))
    # torch's rule: channels-last output if the input or the weight is channels-last.
    ncdhw = not (channels_last(x) or channels_last(weight))

    if any(p):
        x = F.pad(x, (p[2], p[2], p[1], p[1], p[0], p[0]))
    x = x.permute(0, 2, 3, 4, 1)  # (N, Dp, Hp, Wp, C_in): channels last, a view
    x = x.unfold(1, ek[0], s[0])[..., :: dil[0]]  # (N, D_out, Hp, Wp, C_in, k_d)
    x = x.unfold(2, ek[1], s[1])[..., :: dil[1]]  # (..., H_out, Wp, C_in, k_d, k_h)
    x = x.unfold(3, ek[2], s[2])[..., :: dil[2]]  # (N, D_out, H_out, W_out, C_in, kd, kh, kw)
    d_out, h_out, w_out = x.shape[1:4]
    m = n * d_out * h_out * w_out
    g, cg, og = groups, c_in // groups, c_out // groups
    size = cg * k[0] * k[1] * k[2]
    cols = x.reshape(m, g, size).transpose(0, 1)  # (G, M, Cg*kd*kh*kw)
    kernels = weight.reshape(g, og, size).transpose(1, 2)  # (G, Cg*kd*kh*kw, Og)
    out = grouped_product(cols, kernels, n, (d_out, h_out, w_out), ncdhw)
    if bias is not None:  # out is fresh: add in place
        out += bias.view(-1, 1, 1, 1)
    return unbatched(out, was_unbatched)  # (N, C_out, D_out, H_out, W_out)
