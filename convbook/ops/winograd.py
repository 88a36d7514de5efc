"""Winograd's minimal filtering F(2×2, 3×3) (Lavin & Gray, 2016): a 3×3 convolution with
16 multiplications per 2×2 output tile instead of 36.

In one dimension, two outputs of a 3-tap correlation, ``y0 = d0 g0 + d1 g1 + d2 g2`` and
``y1 = d1 g0 + d2 g1 + d3 g2``, need 6 multiplications done directly, but only 4 as

    m1 = (d0 - d2) g0        m2 = (d1 + d2) (g0 + g1 + g2) / 2
    m4 = (d1 - d3) g2        m3 = (d2 - d1) (g0 - g1 + g2) / 2
    y0 = m1 + m2 + m3        y1 = m2 - m3 - m4

where the kernel's combinations are computed once per kernel.  In matrix form
``y = Aᵀ [(G g) ⊙ (Bᵀ d)]`` with the matrices below; nesting the 1D algorithm in itself
gives the 2D one, ``Y = Aᵀ [(G g Gᵀ) ⊙ (Bᵀ d B)] A``, for a 4×4 input tile ``d`` and a
3×3 kernel ``g``: 4·4 = 16 multiplications for 2·2 outputs, where the direct method
needs 2·2·3·3 = 36.

For a layer, the element-wise product ``⊙`` becomes, at each of the 16 positions of the
transformed tile, a matrix product over the input channels: 16 products of
``(C_out, C_in)`` by ``(C_in, tiles)``.  The transforms themselves are additions (and
halvings, once per kernel), done once per tile and channel, not per channel pair.  The
price is rounding: the transformed values are sums and differences, larger than the
inputs, so the result rounds differently from the direct method.
"""

from __future__ import annotations

import torch

from convbook._args import IntPair
from convbook.ops.conv import Padding, check_conv2d_args, finish_output

#: ``Bᵀ``, ``G`` and ``Aᵀ`` of F(2, 3) (Lavin & Gray, 2016, section 4.1)
INPUT_TRANSFORM = torch.tensor(
    [[1.0, 0.0, -1.0, 0.0], [0.0, 1.0, 1.0, 0.0], [0.0, -1.0, 1.0, 0.0], [0.0, 1.0, 0.0, -1.0]]
)
KERNEL_TRANSFORM = torch.tensor(
    [[1.0, 0.0, 0.0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0.0, 0.0, 1.0]]
)
OUTPUT_TRANSFORM = torch.tensor([[1.0, 1.0, 1.0, 0.0], [0.0, 1.0, -1.0, -1.0]])


def conv2d_winograd(
    input: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None = None,
    stride: IntPair = 1,
    padding: Padding = 0,
    dilation: IntPair = 1,
    groups: int = 1,
) -> torch.Tensor:
    """A 3×3 convolution (cross-correlation) by Winograd's F(2×2, 3×3), like ``F.conv2d``.

    The output is cut into 2×2 tiles (the input padded at the bottom and right to a whole
    number of them, then cropped); each tile reads a 4×4 tile of the input, and tiles
    overlap by 2.  Only 3×3 kernels, stride 1 and dilation 1: the algorithm is built for
    them (``stride`` and ``dilation`` are there so that the signature is ``F.conv2d``'s).

    Args:
        input: floating point, ``(N, C_in, H, W)`` or unbatched ``(C_in, H, W)``.
        weight: ``(C_out, C_in / groups, 3, 3)``.
        bias: ``(C_out,)`` or None.
        stride, dilation: 1.
        padding: int or ``(h, w)`` zeros on each side, or ``"valid"`` / ``"same"``.
        groups: split the channels into this many independent convolutions.

    Returns:
        ``(N, C_out, H_out, W_out)`` (unbatched: ``(C_out, H_out, W_out)``), the output of
        ``F.conv2d`` up to rounding; differentiable.

    >>> X = torch.arange(16.0).reshape(1, 4, 4)
    >>> conv2d_winograd(X, torch.ones(1, 1, 3, 3))
    tensor([[[45., 54.],
             [81., 90.]]])
    """
    a = check_conv2d_args(input, weight, bias, stride, padding, dilation, groups, floating=True)
    if weight.shape[2:] != (3, 3):
        raise ValueError(f"weight must have 3x3 kernels for Winograd F(2x2, 3x3), got "
                         f"{tuple(weight.shape[2:])}")
    for name, value in (("stride", a.stride), ("dilation", a.dilation)):
        if value != (1, 1):
            raise ValueError(f"{name} must be 1 for Winograd F(2x2, 3x3), got {value}")
    x = a.padded_input()
    n = x.shape[0]
    c_out, cg = weight.shape[:2]
    g, og = a.groups, c_out // a.groups
    h_out, w_out = a.output_size
    th, tw = (h_out + 1) // 2, (w_out + 1) // 2  # 2×2 output tiles along each axis
    # One more row or column of zeros where an output size is odd: whole tiles.
    x = torch.nn.functional.pad(x, (0, 2 * tw + 2 - x.shape[3], 0, 2 * th + 2 - x.shape[2]))
    d = x.unfold(2, 4, 2).unfold(3, 4, 2)  # 4×4 input tiles, stride 2: (N, C_in, Th, Tw, 4, 4)
    V = transform_input(d)  # Bᵀ d B
    U = transform_kernel(weight)  # G g Gᵀ: (C_out, C_in/G, 4, 4)
    # The 16 positions ξν of a transformed tile are independent: 16 matrix products, each
    # (O/G, C_in/G) @ (C_in/G, N·Th·Tw) per group.  This is where all multiplications are.
    V = V.reshape(n, g, cg, th * tw, 16).permute(4, 1, 2, 0, 3)
    V = V.reshape(16, g, cg, n * th * tw)
    U = U.reshape(g, og, cg, 16).permute(3, 0, 1, 2)  # (16, G, O/G, C_in/G)
    M = (U @ V).reshape(4, 4, c_out, n, th, tw).permute(3, 2, 4, 5, 0, 1)  # (N, C, Th, Tw, 4, 4)
    Y = transform_output(M)  # Aᵀ M A: (N, C_out, Th, Tw, 2, 2)
    Y = Y.permute(0, 1, 2, 4, 3, 5).reshape(n, c_out, 2 * th, 2 * tw)[..., :h_out, :w_out]
    return finish_output(Y.contiguous(), bias, a.was_unbatched)


def transform_input(d: torch.Tensor) -> torch.Tensor:
    """``Bᵀ d B`` for every 4×4 tile ``d`` in the last two axes: additions only."""
    return _along_both_axes(d, _input_1d)


def transform_kernel(g: torch.Tensor) -> torch.Tensor:
    """``G g Gᵀ`` for every 3×3 kernel ``g`` in the last two axes: a 4×4 tile."""
    return _along_both_axes(g, _kernel_1d)


def transform_output(m: torch.Tensor) -> torch.Tensor:
    """``Aᵀ m A`` for every 4×4 tile ``m`` in the last two axes: a 2×2 tile of outputs."""
    return _along_both_axes(m, _output_1d)


def _along_both_axes(t: torch.Tensor, transform_1d) -> torch.Tensor:
    """``T t Tᵀ``: the 1D transform ``T`` applied to every column, then to every row."""
    return transform_1d(transform_1d(t, -2), -1)


def _input_1d(d: torch.Tensor, dim: int) -> torch.Tensor:
    d0, d1, d2, d3 = d.unbind(dim)
    return torch.stack((d0 - d2, d1 + d2, d2 - d1, d1 - d3), dim)


def _kernel_1d(g: torch.Tensor, dim: int) -> torch.Tensor:
    g0, g1, g2 = g.unbind(dim)
    return torch.stack((g0, (g0 + g1 + g2) / 2, (g0 - g1 + g2) / 2, g2), dim)


def _output_1d(m: torch.Tensor, dim: int) -> torch.Tensor:
    m0, m1, m2, m3 = m.unbind(dim)
    return torch.stack((m0 + m1 + m2, m1 - m2 - m3), dim)
