"""A from-scratch ``conv_transpose2d`` with the semantics of ``F.conv_transpose2d``.

The idea (scatter-add): every input value multiplies the whole kernel, and the resulting
``k_h × k_w`` patch is *added* into the output at the input's position times the stride.
Vectorized: one matrix product makes all the (input pixel, kernel) products at once, and
``F.fold`` (col2im) adds the overlapping patches into place.  Then ``padding`` rows and
columns are cut from each side, and ``output_padding`` rows and columns are added at the
bottom and right.  No torch convolution function is called.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from convbook._args import (
    IntPair,
    check_allocation,
    check_bias,
    check_positive_int,
    check_same_dtype,
    check_tensor,
    pair,
)
from convbook.ops._layout import batched, channels_last, unbatched
from convbook.shapes import conv_transpose_out_size


def conv_transpose2d(
    input: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None = None,
    stride: IntPair = 1,
    padding: IntPair = 0,
    output_padding: IntPair = 0,
    groups: int = 1,
    dilation: IntPair = 1,
) -> torch.Tensor:
    """2D transposed convolution, like ``torch.nn.functional.conv_transpose2d``.

    Args:
        input: ``(N, C_in, H, W)`` or unbatched ``(C_in, H, W)``.
        weight: ``(C_in, C_out / groups, k_h, k_w)`` (note: input channels first).
        bias: ``(C_out,)`` or None.
        stride, dilation: int or ``(h, w)``, each >= 1.
        padding: int or ``(h, w)``: rows/columns removed from *each* side of the output.
        output_padding: int or ``(h, w)``: rows/columns added at the bottom/right; must be
            smaller than the stride or the dilation.
        groups: split the channels into this many independent transposed convolutions.

    Returns:
        ``(N, C_out, H_out, W_out)`` (or ``(C_out, H_out, W_out)`` if unbatched), with
        ``H_out = (H - 1)s - 2p + d(k_h - 1) + output_padding + 1``; see
        :func:`convbook.shapes.conv_transpose_out_size`. Differentiable in every tensor.
    """
    x, was_unbatched = batched(input, 2)
    check_tensor(weight, "weight", [4], ["(C_in, C_out/groups, k_h, k_w)"])
    check_same_dtype(input=input, weight=weight, bias=bias)
    groups = check_positive_int(groups, "groups")
    s = pair(stride, "stride", minimum=1)
    p = pair(padding, "padding", minimum=0)
    op = pair(output_padding, "output_padding", minimum=0)
    d = pair(dilation, "dilation", minimum=1)

    n, c_in, h, w = x.shape
    kh, kw = weight.shape[2], weight.shape[3]
    if weight.shape[0] != c_in:
        raise ValueError(
            f"weight's first axis ({weight.shape[0]}) must equal the input channels ({c_in})"
        )
    if c_in % groups:
        raise ValueError(f"input channels ({c_in}) must be divisible by groups ({groups})")
    if 0 in (kh, kw):
        raise ValueError(f"weight's kernel size must be >= 1 in each axis, got {(kh, kw)}")
    og = weight.shape[1]
    c_out = og * groups
    check_bias(bias, c_out)
    h_out, w_out = conv_transpose_out_size((h, w), (kh, kw), s, p, op, d)

    g, cg = groups, c_in // groups
    # Every (input pixel, kernel) product at once: for each group,
    # (N, H*W, C_in/G) @ (C_in/G, C_out/G * k_h * k_w).
    pixels = x.reshape(n, g, cg, h * w).transpose(2, 3)  # (N, G, H*W, Cg)
    kernels = weight.reshape(g, cg, og * kh * kw)  # (G, Cg, Og*kh*kw)
    patches = pixels @ kernels  # (N, G, H*W, Og*kh*kw): one scaled kernel per pixel
    cols = patches.transpose(2, 3).reshape(n, c_out * kh * kw, h * w)
    # Scatter-add: patch (i, j) goes to rows i*s .. i*s + d(k-1), overlapping ones add up.
    full = ((h - 1) * s[0] + d[0] * (kh - 1) + 1, (w - 1) * s[1] + d[1] * (kw - 1) + 1)
    check_allocation((n, c_out, *full), x.element_size(), f"stride {s} and dilation {d}",
                     "the output before padding is cut", device=str(x.device))
    out = F.fold(cols, full, (kh, kw), dilation=d, stride=s)  # (N, C_out, *full)
    # Cut ``padding`` from each side; output_padding adds zeros (or keeps rows) at the end.
    out = out[:, :, p[0] : p[0] + h_out, p[1] : p[1] + w_out]
    extra = (w_out - out.shape[3], h_out - out.shape[2])
    if any(extra):
        out = F.pad(out, (0, extra[0], 0, extra[1]))
    if bias is not None:
        out = out + bias.view(1, -1, 1, 1)
    if channels_last(x) or channels_last(weight):  # the layout torch returns
        out = out.contiguous(memory_format=torch.channels_last)
    return unbatched(out, was_unbatched)
