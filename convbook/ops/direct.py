"""The direct method: a convolution computed exactly as its definition says, tap by tap.

Every output value is a sum over the kernel's taps ``(a, b)`` and the input channels ``c``:

    Y[n, o, i, j] = Σ_c Σ_a Σ_b  W[o, c, a, b] · X[n, c, i·s + a·d, j·s + b·d]

Chapter 1's ``corr2d`` runs the loops over the output position ``(i, j)`` in Python;
chapter 3's ``corr2d_multi_in_out`` adds the channels.  Here the order of the loops is
swapped: the Python loop runs over the ``k_h · k_w`` taps, and for one tap the input
values it multiplies, for every output position at once, are one strided view of the
padded input.  Summing over the channels is then a matrix product (a 1x1 convolution),
so each tap costs one product of ``(C_out, C_in)`` by ``(C_in, H_out · W_out)``.

No window matrix is built (im2col's copy of each input value ``k_h · k_w`` times): the
extra memory is one tap's view, the size of the input.
"""

from __future__ import annotations

import torch

from convbook._args import IntPair
from convbook.ops.conv import Padding, check_conv2d_args, finish_output


def conv2d_direct(
    input: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None = None,
    stride: IntPair = 1,
    padding: Padding = 0,
    dilation: IntPair = 1,
    groups: int = 1,
) -> torch.Tensor:
    """2D convolution (cross-correlation) by the direct method, like ``F.conv2d``.

    One multiply-accumulate of a shifted input view per kernel tap; the arithmetic is
    exactly the ``C_out · H_out · W_out · (C_in / groups) · k_h · k_w`` multiply-accumulates
    of the definition.

    Args:
        input: floating point, ``(N, C_in, H, W)`` or unbatched ``(C_in, H, W)``.
        weight: ``(C_out, C_in / groups, k_h, k_w)``.
        bias: ``(C_out,)`` or None.
        stride, dilation: int or ``(h, w)``, each >= 1.
        padding: int or ``(h, w)`` zeros on each side, or ``"valid"`` / ``"same"``.
        groups: split the channels into this many independent convolutions.

    Returns:
        ``(N, C_out, H_out, W_out)`` (unbatched: ``(C_out, H_out, W_out)``), the output of
        ``F.conv2d`` with the same arguments; differentiable.

    >>> X = torch.arange(9.0).reshape(1, 3, 3)
    >>> conv2d_direct(X, torch.tensor([[[[0.0, 1.0], [2.0, 3.0]]]]))
    tensor([[[19., 25.],
             [37., 43.]]])
    """
    a = check_conv2d_args(input, weight, bias, stride, padding, dilation, groups, floating=True)
    x = a.padded_input()
    n = x.shape[0]
    c_out, cg, kh, kw = weight.shape
    g, og = a.groups, c_out // a.groups
    (sh, sw), (dh, dw), (h_out, w_out) = a.stride, a.dilation, a.output_size
    x = x.reshape(n, g, cg, *x.shape[2:])  # (N, G, C_in/G, Hp, Wp)
    w = weight.reshape(g, og, cg, kh, kw)
    out = x.new_zeros(n, g, og, h_out * w_out)
    for i in range(kh):
        for j in range(kw):
            # The input value that tap (i, j) multiplies, for every output position.
            tap = x[..., i * dh :: sh, j * dw :: sw][..., :h_out, :w_out]
            tap = tap.reshape(n, g, cg, h_out * w_out)  # (N, G, C_in/G, H_out·W_out)
            out += w[..., i, j] @ tap  # (G, O/G, C_in/G) @ (.., C_in/G, ..): sum over C_in/G
    return finish_output(out.view(n, c_out, h_out, w_out), bias, a.was_unbatched)

