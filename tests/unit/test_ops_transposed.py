"""convbook.ops.conv_transpose2d against torch.nn.functional.conv_transpose2d."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from against_torch import assert_same_gradients, assert_same_output, random_inputs
from hypothesis import assume, given
from hypothesis import strategies as st

from convbook.ops import conv_transpose2d
from convbook.shapes import conv_transpose_out_size

ints_or_pairs = lambda lo, hi: st.one_of(  # noqa: E731
    st.integers(lo, hi), st.tuples(st.integers(lo, hi), st.integers(lo, hi))
)


def _both(value):
    return (value, value) if isinstance(value, int) else value


@st.composite
def cases(draw):
    """Random conv_transpose2d arguments, including the awkward corners."""
    groups = draw(st.integers(1, 3))
    stride = draw(ints_or_pairs(1, 5))
    dilation = draw(ints_or_pairs(1, 3))
    # output_padding must be smaller than stride or dilation, per axis.
    limits = [max(s, d) - 1 for s, d in zip(_both(stride), _both(dilation))]
    output_padding = (draw(st.integers(0, limits[0])), draw(st.integers(0, limits[1])))
    return dict(
        n=draw(st.integers(1, 3)),
        unbatched=draw(st.booleans()),
        c_in=groups * draw(st.integers(1, 3)),
        c_out=groups * draw(st.integers(1, 3)),
        h=draw(st.integers(1, 6)), w=draw(st.integers(1, 6)),
        kh=draw(st.integers(1, 4)), kw=draw(st.integers(1, 4)),
        stride=stride, padding=draw(ints_or_pairs(0, 3)), output_padding=output_padding,
        dilation=dilation, groups=groups,
        bias=draw(st.booleans()),
        dtype=draw(st.sampled_from([torch.float32, torch.float64])),
    )


def _fits(case) -> bool:
    """Whether the output has at least one row and one column."""
    s, p, d = _both(case["stride"]), _both(case["padding"]), _both(case["dilation"])
    op = case["output_padding"]
    sizes = [
        (n - 1) * s[i] - 2 * p[i] + d[i] * (k - 1) + op[i] + 1
        for i, (n, k) in enumerate([(case["h"], case["kh"]), (case["w"], case["kw"])])
    ]
    return min(sizes) >= 1


def _make(case, requires_grad=False):
    batch = () if case["unbatched"] else (case["n"],)
    x, weight, bias = random_inputs(
        (*batch, case["c_in"], case["h"], case["w"]),
        (case["c_in"], case["c_out"] // case["groups"], case["kh"], case["kw"]),
        case["c_out"] if case["bias"] else None,
        dtype=case["dtype"], seed=case["h"] * 100 + case["w"], requires_grad=requires_grad,
    )
    args = dict(
        stride=case["stride"], padding=case["padding"], output_padding=case["output_padding"],
        groups=case["groups"], dilation=case["dilation"],
    )
    return x, weight, bias, args


@given(cases())
def test_conv_transpose2d_matches_torch(case):
    assume(_fits(case))
    x, weight, bias, args = _make(case)
    tol = dict(rtol=1e-4, atol=1e-4) if case["dtype"] == torch.float32 else {}
    assert_same_output(conv_transpose2d, F.conv_transpose2d, (x, weight, bias), args, **tol)


@given(cases())
def test_conv_transpose2d_shape_matches_conv_transpose_out_size(case):
    assume(_fits(case))
    x, weight, bias, args = _make(case)
    expected = conv_transpose_out_size(
        (case["h"], case["w"]), (case["kh"], case["kw"]), case["stride"], case["padding"],
        case["output_padding"], case["dilation"],
    )
    assert conv_transpose2d(x, weight, bias, **args).shape[-2:] == expected


@given(cases())
def test_conv_transpose2d_gradients_match_torch(case):
    assume(_fits(case))
    case = {**case, "dtype": torch.float64}
    x, weight, bias, args = _make(case, requires_grad=True)
    assert_same_gradients(
        conv_transpose2d, F.conv_transpose2d, (x, weight, bias), args, rtol=1e-9, atol=1e-9
    )


def test_figure_example_scatter_add():
    # D2L's figure: each input value times the 2x2 kernel, added at its own offset.
    X = torch.tensor([[0.0, 1.0], [2.0, 3.0]])
    K = torch.tensor([[0.0, 1.0], [2.0, 3.0]])
    Y = conv_transpose2d(X[None, None], K[None, None])[0, 0]
    assert Y.tolist() == [[0.0, 0.0, 1.0], [0.0, 4.0, 6.0], [4.0, 12.0, 9.0]]
    # Stride 2: the four scaled kernels no longer overlap.
    Y2 = conv_transpose2d(X[None, None], K[None, None], stride=2)[0, 0]
    assert Y2.tolist() == [
        [0.0, 0.0, 0.0, 1.0], [0.0, 0.0, 2.0, 3.0], [0.0, 2.0, 0.0, 3.0], [4.0, 6.0, 6.0, 9.0]
    ]


@pytest.mark.parametrize(
    "h, w, k, stride, output_padding, dilation",
    [
        (1, 1, 1, 1, 0, 1), (1, 1, 1, 7, 6, 1), (1, 9, 2, 4, 0, 1), (5, 5, 2, 9, 3, 1),
        (3, 2, 3, 1, 2, 3),  # output_padding allowed by the dilation, not the stride
    ],
)
def test_awkward_cases(h, w, k, stride, output_padding, dilation):
    x, weight = torch.randn(2, 3, h, w), torch.randn(3, 4, k, k)
    args = dict(stride=stride, output_padding=output_padding, dilation=dilation)
    torch.testing.assert_close(
        conv_transpose2d(x, weight, **args), F.conv_transpose2d(x, weight, **args)
    )


@pytest.mark.parametrize(
    "stride, padding, dilation, groups", [(1, 0, 1, 1), (2, 1, 1, 2), (3, 2, 2, 1)]
)
def test_is_the_adjoint_of_conv2d(stride, padding, dilation, groups):
    # <conv(x), y> == <x, conv_transpose(y)>: the transposed convolution is W.T.
    from convbook.ops import conv2d

    x = torch.randn(2, 4, 9, 8, dtype=torch.float64)
    w = torch.randn(6, 4 // groups, 3, 2, dtype=torch.float64)
    args = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    y = torch.randn_like(conv2d(x, w, **args))
    # output_padding recovers the rows the strided convolution skipped over
    op = tuple(
        n - conv_transpose_out_size(m, k, stride, padding, 0, dilation)
        for n, m, k in zip(x.shape[2:], y.shape[2:], w.shape[2:])
    )
    back = conv_transpose2d(y, w, stride=stride, padding=padding, output_padding=op,
                            dilation=dilation, groups=groups)
    torch.testing.assert_close((conv2d(x, w, **args) * y).sum(), (x * back).sum())


@pytest.mark.parametrize("x_cl, weight_cl", [(False, False), (True, False), (False, True)])
def test_memory_layout_and_empty_batch_like_torch(x_cl, weight_cl):
    for n in (2, 0):
        x, weight = torch.randn(n, 4, 3, 5), torch.randn(4, 3, 3, 2)
        if x_cl:
            x = x.contiguous(memory_format=torch.channels_last)
        if weight_cl:
            weight = weight.contiguous(memory_format=torch.channels_last)
        expected = F.conv_transpose2d(x, weight, stride=2, groups=2)
        got = conv_transpose2d(x, weight, stride=2, groups=2)
        assert got.shape == expected.shape
        if n:
            torch.testing.assert_close(got, expected)
            assert got.stride() == expected.stride()
