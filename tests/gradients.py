"""Shared test helper: compare our op's gradients with torch's reference op."""

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
