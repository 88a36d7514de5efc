"""Shared test helpers for the from-scratch ops: random inputs, then the same output and the
same gradients as torch's reference op."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch


def assert_same_gradients(
    ours: Callable[..., torch.Tensor],
    reference: Callable[..., torch.Tensor],
    tensors: Sequence[torch.Tensor | None],
    args: dict[str, Any],
    **tolerance: float,
) -> None:
    """Backpropagate one random upstream gradient through both ops and compare.

    ``tensors`` are the positional inputs (e.g. input, weight, bias; None allowed); those
    that are not None must require grad.
    """
    leaves = [t for t in tensors if t is not None]
    expected_out = reference(*tensors, **args)
    upstream = torch.randn_like(expected_out)
    expected = torch.autograd.grad(expected_out, leaves, upstream)
    got = torch.autograd.grad(ours(*tensors, **args), leaves, upstream)
    for g_got, g_exp in zip(got, expected):
        torch.testing.assert_close(g_got, g_exp, **tolerance)


def random_inputs(
    x_shape: Sequence[int], weight_shape: Sequence[int], bias: int | None, *,
    dtype: torch.dtype, seed: int, requires_grad: bool = False,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """``(x, weight, bias)`` drawn from a generator seeded with ``seed``; ``bias``: its
    length, or None for no bias."""
    g = torch.Generator().manual_seed(seed)
    kw: dict[str, Any] = dict(dtype=dtype, generator=g, requires_grad=requires_grad)
    x = torch.randn(*x_shape, **kw)
    weight = torch.randn(*weight_shape, **kw)
    return x, weight, (torch.randn(bias, **kw) if bias is not None else None)


def assert_same_output(
    ours: Callable[..., torch.Tensor],
    reference: Callable[..., torch.Tensor],
    tensors: Sequence[torch.Tensor | None],
    args: dict[str, Any],
    **tolerance: float,
) -> None:
    """``ours(*tensors, **args)`` has the shape, dtype and values of ``reference``'s."""
    expected = reference(*tensors, **args)
    got = ours(*tensors, **args)
    assert got.shape == expected.shape
    assert got.dtype == expected.dtype
    torch.testing.assert_close(got, expected, **tolerance)
