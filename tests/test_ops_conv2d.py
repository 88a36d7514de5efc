"""convbook.ops.conv2d and corr2d against torch.nn.functional.conv2d."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from gradients import assert_same_gradients
from hypothesis import assume, given
from hypothesis import strategies as st

from convbook.ops import conv2d, corr2d
from convbook.shapes import conv_out_size


@st.composite
def conv_cases(draw):
    """Random conv2d arguments, including the awkward corners."""
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


def _fits(case) -> bool:
    """Whether torch accepts the case: the dilated kernel fits the padded input."""
    p = case["padding"]
    if p == "same":
        return True
    ph, pw = (0, 0) if p == "valid" else ((p, p) if isinstance(p, int) else p)
    dh, dw = (case["dilation"],) * 2 if isinstance(case["dilation"], int) else case["dilation"]
    return dh * (case["kh"] - 1) + 1 <= case["h"] + 2 * ph and dw * (case["kw"] - 1) + 1 <= (
        case["w"] + 2 * pw
    )


def _make(case, requires_grad=False):
    shape = (case["c_in"], case["h"], case["w"])
    if not case["unbatched"]:
        shape = (case["n"], *shape)
    g = torch.Generator().manual_seed(case["h"] * 100 + case["w"])
    kw = dict(dtype=case["dtype"], generator=g)
    x = torch.randn(shape, **kw)
    c_per_group = case["c_in"] // case["groups"]
    weight = torch.randn(case["c_out"], c_per_group, case["kh"], case["kw"], **kw)
    bias = torch.randn(case["c_out"], **kw) if case["bias"] else None
    if requires_grad:
        for t in (x, weight, bias):
            if t is not None:
                t.requires_grad_(True)
    args = dict(
        stride=case["stride"], padding=case["padding"], dilation=case["dilation"],
        groups=case["groups"],
    )
    return x, weight, bias, args


def _tol(dtype):
    return dict(rtol=1e-4, atol=1e-4) if dtype == torch.float32 else dict(rtol=1e-9, atol=1e-9)


@given(conv_cases())
def test_conv2d_matches_torch(case):
    assume(_fits(case))
    x, weight, bias, args = _make(case)
    expected = F.conv2d(x, weight, bias, **args)
    got = conv2d(x, weight, bias, **args)
    assert got.shape == expected.shape
    assert got.dtype == expected.dtype
    torch.testing.assert_close(got, expected, **_tol(case["dtype"]))


@given(conv_cases())
def test_conv2d_output_shape_matches_conv_out_size(case):
    assume(_fits(case))
    x, weight, bias, args = _make(case)
    h_out, w_out = conv_out_size(
        (case["h"], case["w"]), (case["kh"], case["kw"]), case["stride"], case["padding"],
        case["dilation"],
    )
    assert conv2d(x, weight, bias, **args).shape[-2:] == (h_out, w_out)


@given(conv_cases())
def test_conv2d_gradients_match_torch(case):
    assume(_fits(case))
    case = {**case, "dtype": torch.float64}
    x, weight, bias, args = _make(case, requires_grad=True)
    assert_same_gradients(conv2d, F.conv2d, (x, weight, bias), args, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize(
    "n, c_in, c_out, size, k, padding, dilation, groups",
    [
        (2, 8, 4, 50, 3, 1, 1, 2),  # 2 * 52 * 52 pixel rows: two blocks of 4096
        (3, 12, 6, (40, 61), (2, 3), (0, 2), (2, 1), 3),  # asymmetric, dilated, 3 blocks
        (1, 4, 8, 70, 5, "same", 2, 2),
    ],
)
def test_grouped_conv2d_over_several_row_blocks(n, c_in, c_out, size, k, padding, dilation, groups):
    """Stride-1 grouped convolution works on blocks of 4096 pixel rows; the hypothesis
    cases above are too small to need more than one block."""
    h, w = (size, size) if isinstance(size, int) else size
    kh, kw = (k, k) if isinstance(k, int) else k
    x = torch.randn(n, c_in, h, w, dtype=torch.float64, requires_grad=True)
    weight = torch.randn(c_out, c_in // groups, kh, kw, dtype=torch.float64, requires_grad=True)
    bias = torch.randn(c_out, dtype=torch.float64, requires_grad=True)
    args = {"padding": padding, "dilation": dilation, "groups": groups}
    torch.testing.assert_close(conv2d(x, weight, bias, **args), F.conv2d(x, weight, bias, **args))
    assert_same_gradients(conv2d, F.conv2d, (x, weight, bias), args, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize(
    "h, w, k, stride",
    [(1, 1, 1, 1), (1, 1, 1, 7), (1, 9, 1, 4), (5, 5, 2, 9), (7, 3, 3, (5, 2))],
)
def test_conv2d_tiny_images_and_large_strides(h, w, k, stride):
    x, weight = torch.randn(2, 3, h, w), torch.randn(4, 3, k, k)
    torch.testing.assert_close(conv2d(x, weight, stride=stride), F.conv2d(x, weight, stride=stride))


def test_conv2d_does_not_call_torch_convolution(monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("convbook.ops.conv2d must not call torch's convolution")

    for name in ("conv2d", "convolution", "conv_transpose2d"):
        monkeypatch.setattr(F, name, forbidden, raising=False)
        monkeypatch.setattr(torch, name, forbidden, raising=False)
    x, weight = torch.randn(1, 2, 5, 5), torch.randn(3, 2, 3, 3)
    assert conv2d(x, weight).shape == (1, 3, 3, 3)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(stride=0), "stride must be >= 1, got 0"),
        (dict(stride=(1, -2)), r"stride must be >= 1, got \(1, -2\)"),
        (dict(dilation=0), "dilation must be >= 1, got 0"),
        (dict(padding=-1), "padding must be >= 0, got -1"),
        (dict(padding="full"), "padding must be an int, a pair, 'valid' or 'same'"),
        (dict(padding="same", stride=2), "padding='same' requires stride 1"),
        (dict(groups=0), "groups must be >= 1, got 0"),
        (dict(groups=4), r"input channels \(6\) must be divisible by groups \(4\)"),
        (dict(stride=(1, 2, 3)), "stride must be an int or a tuple of 2 ints"),
    ],
)
def test_conv2d_rejects_bad_arguments(kwargs, message):
    x, weight = torch.randn(1, 6, 8, 8), torch.randn(4, 6, 3, 3)
    with pytest.raises(ValueError, match=message):
        conv2d(x, weight, **kwargs)


def test_conv2d_errors_for_shapes():
    with pytest.raises(ValueError, match=r"larger than the padded input \(4, 4\)"):
        conv2d(torch.randn(1, 1, 4, 4), torch.randn(1, 1, 5, 5))
    with pytest.raises(ValueError, match=r"dilated: \(5, 5\)"):
        conv2d(torch.randn(1, 1, 4, 4), torch.randn(1, 1, 3, 3), dilation=2)
    with pytest.raises(ValueError, match=r"input must be a 3D \(C, H, W\) or 4D"):
        conv2d(torch.randn(4, 4), torch.randn(1, 1, 3, 3))
    with pytest.raises(ValueError, match=r"weight must be a 4D"):
        conv2d(torch.randn(1, 1, 4, 4), torch.randn(3, 3))
    with pytest.raises(ValueError, match=r"weight expects 2 \* groups 1 = 2 input channels"):
        conv2d(torch.randn(1, 3, 4, 4), torch.randn(1, 2, 3, 3))
    with pytest.raises(ValueError, match=r"bias must have shape \(1,\)"):
        conv2d(torch.randn(1, 1, 4, 4), torch.randn(1, 1, 3, 3), torch.randn(2))
    with pytest.raises(TypeError, match=r"input must be a torch\.Tensor"):
        conv2d([[1.0]], torch.randn(1, 1, 1, 1))


def test_corr2d_figure_example():
    X = torch.tensor([[0.0, 1.0, 2.0], [3.0, 4.0, 5.0], [6.0, 7.0, 8.0]])
    K = torch.tensor([[0.0, 1.0], [2.0, 3.0]])
    # Worked by hand: 0*0 + 1*1 + 3*2 + 4*3 = 19, and so on.
    assert corr2d(X, K).tolist() == [[19.0, 25.0], [37.0, 43.0]]


@given(
    st.integers(1, 7), st.integers(1, 7), st.integers(1, 7), st.integers(1, 7),
)
def test_corr2d_matches_torch(h, w, kh, kw):
    assume(kh <= h and kw <= w)
    X, K = torch.randn(h, w, dtype=torch.float64), torch.randn(kh, kw, dtype=torch.float64)
    expected = F.conv2d(X[None, None], K[None, None])[0, 0]
    torch.testing.assert_close(corr2d(X, K), expected)


def test_corr2d_is_differentiable():
    X = torch.randn(5, 6, dtype=torch.float64, requires_grad=True)
    K = torch.randn(2, 3, dtype=torch.float64, requires_grad=True)
    got = torch.autograd.grad(corr2d(X, K).sum(), (X, K))
    expected = torch.autograd.grad(F.conv2d(X[None, None], K[None, None]).sum(), (X, K))
    for a, b in zip(got, expected):
        torch.testing.assert_close(a, b)


def test_corr2d_rejects_a_kernel_larger_than_the_input():
    with pytest.raises(ValueError, match=r"kernel K of shape \(3, 1\) is larger than input X"):
        corr2d(torch.ones(2, 2), torch.ones(3, 1))
    with pytest.raises(ValueError, match="X must be a 2D"):
        corr2d(torch.ones(1, 2, 2), torch.ones(1, 1))
