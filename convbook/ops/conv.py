"""A from-scratch, vectorized ``conv2d`` with the semantics of ``torch.nn.functional.conv2d``.

The idea (im2col): cut every kernel-sized window out of the padded input, lay the
windows out as the rows of one matrix, and the whole convolution becomes a single matrix
product with the flattened kernels.  No torch convolution function is called.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from convbook._args import (
    IntPair,
    check_allocation,
    check_conv_weight,
    check_positive_int,
    check_same_dtype,
    check_tensor,
    pair,
)
from convbook.ops._layout import batched, channels_last, grouped_product, unbatched
from convbook.shapes import effective_kernel_size

Padding = IntPair | str
_BLOCK_ROWS = 4096  # rows of pixels per block in _grouped_by_taps


def padding_per_side(
    padding: Padding, kernel: tuple[int, int], stride: tuple[int, int], dilation: tuple[int, int]
) -> tuple[int, int, int, int]:
    """Return ``(top, bottom, left, right)`` padding for ``padding`` as ``F.conv2d`` reads it."""
    if isinstance(padding, str):
        if padding == "valid":
            return (0, 0, 0, 0)
        if padding == "same":
            if stride != (1, 1):
                raise ValueError(f"padding='same' requires stride 1, got stride {stride}")
            # Same rule as torch: the total padding d(k - 1) is split with the odd extra
            # row or column at the bottom or right.
            th, tw = (d * (k - 1) for k, d in zip(kernel, dilation))
            return (th // 2, th - th // 2, tw // 2, tw - tw // 2)
        raise ValueError(f"padding must be an int, a pair, 'valid' or 'same', got {padding!r}")
    ph, pw = pair(padding, "padding", minimum=0)
    return (ph, ph, pw, pw)


@dataclass(frozen=True)
class Conv2dArgs:
    """The arguments of a 2D convolution, checked and worked out once for every algorithm.

    Attributes:
        x: the input as ``(N, C_in, H, W)``, not yet padded.
        was_unbatched: the input came as ``(C_in, H, W)``.
        stride, dilation: ``(h, w)`` pairs.
        groups: number of groups.
        padding: ``(top, bottom, left, right)`` zeros to add.
        output_size: ``(H_out, W_out)``.
    """

    x: torch.Tensor
    was_unbatched: bool
    stride: tuple[int, int]
    dilation: tuple[int, int]
    groups: int
    padding: tuple[int, int, int, int]
    output_size: tuple[int, int]

    def padded_input(self) -> torch.Tensor:
        """``x`` with its zero padding, ``(N, C_in, H + top + bottom, W + left + right)``."""
        top, bottom, left, right = self.padding
        return F.pad(self.x, (left, right, top, bottom)) if any(self.padding) else self.x


def check_conv2d_args(
    input: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None,
    stride: IntPair,
    padding: Padding,
    dilation: IntPair,
    groups: int,
    *,
    floating: bool = False,
) -> Conv2dArgs:
    """Check the arguments of :func:`conv2d` (and of the other algorithms with its
    signature) as ``F.conv2d`` reads them, and work out the padding and the output size;
    ``floating``: the input must have a floating-point dtype.

    Raises:
        TypeError, ValueError: naming the argument and the rule.
    """
    x, was_unbatched = batched(input, 2, floating=floating)
    check_tensor(weight, "weight", [4], ["(C_out, C_in/groups, k_h, k_w)"])
    check_same_dtype(input=input, weight=weight, bias=bias)
    groups = check_positive_int(groups, "groups")
    s = pair(stride, "stride", minimum=1)
    d = pair(dilation, "dilation", minimum=1)
    k = (weight.shape[2], weight.shape[3])
    top, bottom, left, right = padding_per_side(padding, k, s, d)
    check_conv_weight(x.shape[1], weight, bias, groups)
    ek = (effective_kernel_size(k[0], d[0]), effective_kernel_size(k[1], d[1]))
    hp, wp = x.shape[2] + top + bottom, x.shape[3] + left + right
    if ek[0] > hp or ek[1] > wp:
        raise ValueError(
            f"kernel of size {k} (dilated: {ek} by dilation {d}) is larger than the padded "
            f"input ({hp}, {wp})"
        )
    if any((top, bottom, left, right)):
        check_allocation((x.shape[0], x.shape[1], hp, wp), x.element_size(), "padding",
                         "the padded input", device=str(x.device))
    size = ((hp - ek[0]) // s[0] + 1, (wp - ek[1]) // s[1] + 1)
    return Conv2dArgs(x, was_unbatched, s, d, groups, (top, bottom, left, right), size)


def conv2d(
    input: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None = None,
    stride: IntPair = 1,
    padding: Padding = 0,
    dilation: IntPair = 1,
    groups: int = 1,
) -> torch.Tensor:
    """2D convolution (cross-correlation), like ``torch.nn.functional.conv2d``.

    Args:
        input: ``(N, C_in, H, W)`` or unbatched ``(C_in, H, W)``.
        weight: ``(C_out, C_in / groups, k_h, k_w)``.
        bias: ``(C_out,)`` or None.
        stride, dilation: int or ``(h, w)``, each >= 1.
        padding: int or ``(h, w)`` zeros added on *each* side, or ``"valid"`` / ``"same"``.
        groups: split the channels into this many independent convolutions.

    Returns:
        ``(N, C_out, H_out, W_out)`` (or ``(C_out, H_out, W_out)`` if unbatched), with
        ``H_out = floor((H + 2p - d(k - 1) - 1) / s) + 1``; see
        :func:`convbook.shapes.conv_out_size`. Differentiable in input, weight and bias.
    """
    a = check_conv2d_args(input, weight, bias, stride, padding, dilation, groups)
    s, d, (h_out, w_out) = a.stride, a.dilation, a.output_size
    n, c_in = a.x.shape[:2]
    c_out, _, *k = weight.shape
    ek = (effective_kernel_size(k[0], d[0]), effective_kernel_size(k[1], d[1]))
    # torch's rule: channels-last output if the input or the weight is channels-last.
    nchw = not (channels_last(a.x) or channels_last(weight))
    g, cg, og = a.groups, c_in // a.groups, c_out // a.groups

    x = a.padded_input()
    if cg == 1 and nchw:
        out = _depthwise_nchw(x, weight, s, d, (h_out, w_out))
        return finish_output(out, bias, a.was_unbatched)
    # Channels last (one copy), so that the C_in values of a pixel are contiguous and
    # every window row below is one contiguous run of k_w * C_in values.
    x = x.permute(0, 2, 3, 1).contiguous()  # (N, Hp, Wp, C_in)
    if g > 1 and cg > 1 and s == (1, 1) and n > 0:
        out = _grouped_by_taps(x, weight, g, d, (h_out, w_out), nchw)
        return finish_output(out, bias, a.was_unbatched)
    # Windows of the dilated extent, then keep every d-th row/column of each window.
    x = x.unfold(1, ek[0], s[0])[..., :: d[0]]  # (N, H_out, Wp, C_in, k_h)
    x = x.unfold(2, ek[1], s[1])[..., :: d[1]]  # (N, H_out, W_out, C_in, k_h, k_w)
    windows = x.permute(0, 1, 2, 4, 5, 3)  # (N, H_out, W_out, k_h, k_w, C_in), a view
    # Kernels laid out like the windows: (G, k_h, k_w, C_in/G, C_out/G).
    kernels = weight.reshape(g, og, cg, k[0], k[1]).permute(0, 3, 4, 2, 1)
    if cg == 1:  # depthwise, channels last
        out = _depthwise(windows, kernels).reshape(n, h_out, w_out, c_out)
        return finish_output(out.permute(0, 3, 1, 2), bias, a.was_unbatched)
    m = n * h_out * w_out
    # The im2col matrix of each group, (G, M, k_h * k_w * C_in/G): this reshape copies.
    cols = windows.reshape(m, k[0] * k[1], g, cg).permute(2, 0, 1, 3)
    cols = cols.reshape(g, m, k[0] * k[1] * cg)
    kernels = kernels.reshape(g, k[0] * k[1] * cg, og)
    out = grouped_product(cols, kernels, n, (h_out, w_out), nchw)
    return finish_output(out, bias, a.was_unbatched)


def finish_output(
    out: torch.Tensor, bias: torch.Tensor | None, was_unbatched: bool
) -> torch.Tensor:
    """Add the bias to ``(N, C_out, H_out, W_out)`` (a fresh tensor, in place) and unbatch."""
    if bias is not None:
        out += bias.view(-1, 1, 1)
    return unbatched(out, was_unbatched)


def _grouped_by_taps(
    x: torch.Tensor,
    weight: torch.Tensor,
    groups: int,
    d: tuple[int, int],
    size: tuple[int, int],
    nchw: bool,
) -> torch.Tensor:
    """Stride-1 grouped convolution as one batched matrix product per kernel tap.

    im2col would copy k_h * k_w values per input value, whatever the number of groups,
    while the arithmetic shrinks with the groups; here nothing is copied.  Flatten the
    padded input to rows of pixels, ``(N * Hp * Wp, C_in)``: tap ``(a, b)`` of the output
    at flat position ``i`` reads row ``i + a * d_h * Wp + b * d_w``, so each tap multiplies
    one contiguous slice of rows.  Positions with ``w >= W_out`` or ``h >= H_out`` are
    computed too (they straddle rows or images) and cut away at the end.

    Args:
        x: padded input, channels last, contiguous ``(N, Hp, Wp, C_in)``.
        weight: ``(C_out, C_in / G, k_h, k_w)``.
        size: ``(H_out, W_out)``.
        nchw: lay the output out as NCHW, else channels last.

    Returns:
        ``(N, C_out, H_out, W_out)``.
    """
    n, hp, wp, _ = x.shape
    c_out, cg, kh, kw = weight.shape
    g, og = groups, c_out // groups
    rows = x.reshape(n * hp * wp, g, cg).permute(1, 0, 2)  # (G, N*Hp*Wp, C_in/G), a view
    taps = weight.reshape(g, og, cg, kh, kw).permute(3, 4, 0, 2, 1)  # (k_h, k_w, G, cg, og)
    last = (kh - 1) * d[0] * wp + (kw - 1) * d[1]  # offset of the last tap
    length = n * hp * wp - last  # output rows that every tap can read
    blocks = []
    # A block of rows at a time, all taps on it while it is in the cache: 2.5x faster
    # than one pass over all rows per tap (a matmul with inner size C_in/G is memory-bound).
    for start in range(0, length, _BLOCK_ROWS):
        rows_here = min(_BLOCK_ROWS, length - start)
        acc = None
        for a in range(kh):
            for b in range(kw):
                offset = start + a * d[0] * wp + b * d[1]
                part = rows[:, offset : offset + rows_here]  # (G, rows_here, C_in/G)
                acc = part @ taps[a, b] if acc is None else torch.baddbmm(acc, part, taps[a, b])
        blocks.append(acc)
    out = torch.cat(blocks, dim=1)  # (G, length, og)
    out = F.pad(out, (0, 0, 0, last))  # (G, N*Hp*Wp, og): back to one row per pixel
    out = out.reshape(g, n, hp, wp, og)[:, :, : size[0], : size[1]]
    if nchw:  # one copy into the output's layout
        return out.permute(1, 0, 4, 2, 3).contiguous().view(n, c_out, *size)
    return out.permute(1, 2, 3, 0, 4).contiguous().view(n, *size, c_out).permute(0, 3, 1, 2)


def _depthwise(windows: torch.Tensor, kernels: torch.Tensor) -> torch.Tensor:
    """Convolution with one input channel per group, as k_h * k_w multiply-adds.

    A matrix product per group would have inner size k_h * k_w only, so instead each
    kernel tap scales a shifted view of the input and the taps are summed.

    Args:
        windows: ``(N, H_out, W_out, k_h, k_w, G)``.
        kernels: ``(G, k_h, k_w, 1, O_g)``.

    Returns:
        ``(N, H_out, W_out, G, O_g)``.
    """
    taps = kernels[:, :, :, 0, :]  # (G, k_h, k_w, O_g)
    out = windows[:, :, :, 0, 0, :, None] * taps[:, 0, 0, :]  # (N, H_out, W_out, G, O_g)
    for i in range(windows.shape[3]):
        for j in range(windows.shape[4]):
            if i or j:
                out.addcmul_(windows[:, :, :, i, j, :, None], taps[:, i, j, :])
    return out


def _depthwise_nchw(
    x: torch.Tensor, weight: torch.Tensor, s: tuple[int, int], d: tuple[int, int],
    size: tuple[int, int],
) -> torch.Tensor:
    """:func:`_depthwise` on an NCHW input, giving an NCHW output without any copy.

    Args:
        x: padded input ``(N, G, Hp, Wp)``.
        weight: ``(G * O_g, 1, k_h, k_w)``.
        s, d: stride and dilation.
        size: ``(H_out, W_out)``.

    Returns:
        ``(N, G * O_g, H_out, W_out)``.
    """
    n, g = x.shape[:2]
    c_out, _, kh, kw = weight.shape
    taps = weight.reshape(g, c_out // g, kh, kw, 1, 1)  # (G, O_g, k_h, k_w, 1, 1)
    out = None
    for i in range(kh):
        for j in range(kw):
            rows = slice(i * d[0], i * d[0] + (size[0] - 1) * s[0] + 1, s[0])
            cols = slice(j * d[1], j * d[1] + (size[1] - 1) * s[1] + 1, s[1])
            tap = x[:, :, None, rows, cols]  # (N, G, 1, H_out, W_out): a view
            if out is None:  # (N, G, O_g, H_out, W_out); a copy only for odd input strides
                out = (tap * taps[:, :, i, j]).contiguous()
            else:
                out.addcmul_(tap, taps[:, :, i, j])
    assert out is not None
    return out.view(n, c_out, *size)
