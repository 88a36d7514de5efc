"""Batch and memory layout of the ops' tensors: shared by conv2d, conv3d, the transposed
convolution and pooling.

* :func:`batched` checks an ``(N, C, *spatial)`` or unbatched ``(C, *spatial)`` input and
  returns it batched; :func:`unbatched` undoes that on the output.
* :func:`channels_last` tells whether torch's convolution would return a channels-last
  tensor for these input and weight strides, the rule of ``Tensor.suggest_memory_format``;
* :func:`grouped_product` multiplies im2col matrices by kernels straight into that layout.
"""

from __future__ import annotations

import math

import torch

from convbook._args import check_tensor

_LAYOUTS = {
    2: ["(C, H, W)", "(N, C, H, W)"],
    3: ["(C, D, H, W)", "(N, C, D, H, W)"],
}


def batched(
    input: torch.Tensor, spatial: int, *, floating: bool = False, name: str = "input"
) -> tuple[torch.Tensor, bool]:
    """Check ``input`` and return it as ``(N, C, *spatial)``, and whether it came unbatched.

    Args:
        input: ``(N, C, *spatial)`` or ``(C, *spatial)`` with ``spatial`` (2 or 3) axes.
        floating: require a floating-point dtype (pooling).
        name: the argument's name in error messages.
    """
    check_tensor(input, name, [spatial + 1, spatial + 2], _LAYOUTS[spatial])
    if floating and not input.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got {input.dtype}")
    if input.dtype == torch.bool:
        raise TypeError(f"{name} must be a numeric tensor, got {input.dtype}")
    if 0 in input.shape[-spatial:]:
        raise ValueError(f"{name} must have at least one pixel along each spatial axis, got "
                         f"shape {tuple(input.shape)}")
    unbatched = input.dim() == spatial + 1
    return (input.unsqueeze(0) if unbatched else input), unbatched


def unbatched(output: torch.Tensor, was_unbatched: bool) -> torch.Tensor:
    """``output`` without its batch axis if the input came without one."""
    return output.squeeze(0) if was_unbatched else output


def channels_last(t: torch.Tensor) -> bool:
    """Whether ``t`` (4D or 5D) has channels-last strides, as torch decides for its layout.

    The rule of ``c10::is_channels_last_strides_2d/3d``: walking the axes C, W, H(, D), N,
    each stride must be at least the extent of the axes before it; ambiguous cases (an
    empty tensor, an N x 1 x 1 x 1 tensor) count as contiguous (NCHW).
    """
    sizes, strides = t.shape, t.stride()
    if strides[1] == 0:
        return False
    order = (1, 3, 2, 0) if t.dim() == 4 else (1, 4, 3, 2, 0)
    least = 0
    for d in order:
        if sizes[d] == 0 or strides[d] < least:
            return False
        if d == 0 and least == strides[1]:
            return False
        least = strides[d] * (sizes[d] if sizes[d] > 1 else 1)
    return True


def grouped_product(
    cols: torch.Tensor, kernels: torch.Tensor, n: int, size: tuple[int, ...], nchw: bool
) -> torch.Tensor:
    """The im2col matrix product of every group, laid out as the output should be.

    Args:
        cols: ``(G, M, K)``: one row per output pixel, ``M = N * prod(size)`` in
            ``(N, *size)`` order, one column per (kernel tap, input channel of the group).
        kernels: ``(G, K, O_g)``.
        n: batch size ``N``; size: the output's spatial size.
        nchw: contiguous ``(N, C, *size)`` output, else channels last.

    Returns:
        ``(N, G * O_g, *size)``: a fresh tensor (a later in-place bias add is safe).
    """
    g, _, k = cols.shape
    c_out = g * kernels.shape[2]
    if g == 1 and nchw:
        # (C_out, K) @ (N, K, prod(size)): the product lands in NCHW order, no copy.
        per_image = cols[0].view(n, math.prod(size), k).transpose(1, 2)
        return torch.matmul(kernels[0].t(), per_image).view(n, c_out, *size)
    if g == 1:
        return (cols[0] @ kernels[0]).view(n, *size, c_out).movedim(-1, 1)
    out = torch.bmm(cols, kernels).view(g, n, *size, kernels.shape[2])  # (G, N, *size, O_g)
    last = out.dim() - 1
    spatial = range(2, last)
    if nchw:  # one copy either way
        return out.permute(1, 0, last, *spatial).contiguous().view(n, c_out, *size)
    out = out.permute(1, *spatial, 0, last).contiguous().view(n, *size, c_out)
    return out.movedim(-1, 1)
