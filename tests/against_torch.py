"""Shared test helpers for the from-scratch ops: random inputs (and random ``F.conv2d``
arguments, :func:`conv_cases`), then the same output and the same gradients as torch's
reference op."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from hypothesis import strategies as st


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


@st.composite
def conv_cases(draw):
    """Random ``F.conv2d`` arguments, including the awkward corners: a dict for
    :func:`make_conv2d` (check :func:`fits_conv2d` first)."""
    groups = draw(st.integers(1, 3))
    c_in = groups * draw(st.integers(1, 3))
    c_out = groups * draw(st.integers(1, 3))
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    stride = draw(st.one_of(st.integers(1, 5), st.tuples(st.integers(1, 5), st.integers(1, 5))))
    dilation = draw(st.one_of(st.integers(1, 3), st.tuples(st.integers(1, 3), st.integers(1, 3))))
    padding = draw(
        st.one_of(
            st.integers(0, 3),
            st.tuples(st.integers(0, 3), st.integers(0, 3)),
            st.sampled_from(["valid", "same"]),
        )
    )
    if padding == "same":
        stride = 1
    h, w = draw(st.integers(1, 10)), draw(st.integers(1, 10))
    return dict(
        n=draw(st.integers(1, 3)),
        unbatched=draw(st.booleans()),
        c_in=c_in, c_out=c_out, h=h, w=w, kh=kh, kw=kw,
        stride=stride, padding=padding, dilation=dilation, groups=groups,
        bias=draw(st.booleans()),
        dtype=draw(st.sampled_from([torch.float32, torch.float64])),
    )


def fits_conv2d(case: dict[str, Any]) -> bool:
    """Whether torch accepts the case: the dilated kernel fits the padded input."""
    p = case["padding"]
    if p == "same":
        return True
    ph, pw = (0, 0) if p == "valid" else ((p, p) if isinstance(p, int) else p)
    dh, dw = (case["dilation"],) * 2 if isinstance(case["dilation"], int) else case["dilation"]
    return dh * (case["kh"] - 1) + 1 <= case["h"] + 2 * ph and dw * (case["kw"] - 1) + 1 <= (
        case["w"] + 2 * pw
    )


def make_conv2d(case: dict[str, Any], requires_grad: bool = False) -> tuple:
    batch = () if case["unbatched"] else (case["n"],)
    x, weight, bias = random_inputs(
        (*batch, case["c_in"], case["h"], case["w"]),
        (case["c_out"], case["c_in"] // case["groups"], case["kh"], case["kw"]),
        case["c_out"] if case["bias"] else None,
        dtype=case["dtype"], seed=case["h"] * 100 + case["w"], requires_grad=requires_grad,
    )
    args = dict(
        stride=case["stride"], padding=case["padding"], dilation=case["dilation"],
        groups=case["groups"],
    )
    return x, weight, bias, args


def conv_tolerance(dtype: torch.dtype) -> dict[str, float]:
    return dict(rtol=1e-4, atol=1e-4) if dtype == torch.float32 else dict(rtol=1e-9, atol=1e-9)
