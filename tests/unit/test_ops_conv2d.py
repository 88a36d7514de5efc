"""convbook.ops.conv2d and corr2d against torch.nn.functional.conv2d."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from against_torch import (
    assert_same_gradients,
    assert_same_output,
    conv_cases,
    conv_tolerance,
    fits_conv2d,
    make_conv2d,
)
from hypothesis import assume, given
from hypothesis import strategies as st

from convbook.ops import conv2d, corr2d
from convbook.shapes import conv_out_size


@given(conv_cases())
def test_conv2d_matches_torch(case):
    assume(fits_conv2d(case))
    x, weight, bias, args = make_conv2d(case)
    tol = conv_tolerance(case["dtype"])
    assert_same_output(conv2d, F.conv2d, (x, weight, bias), args, **tol)


@given(conv_cases())
def test_conv2d_output_shape_matches_conv_out_size(case):
    assume(fits_conv2d(case))
    x, weight, bias, args = make_conv2d(case)
    h_out, w_out = conv_out_size(
        (case["h"], case["w"]), (case["kh"], case["kw"]), case["stride"], case["padding"],
        case["dilation"],
    )
    assert conv2d(x, weight, bias, **args).shape[-2:] == (h_out, w_out)


@given(conv_cases())
def test_conv2d_gradients_match_torch(case):
    assume(fits_conv2d(case))
    case = {**case, "dtype": torch.float64}
    x, weight, bias, args = make_conv2d(case, requires_grad=True)
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


# --------------------------------------------------------------------------- layout, dtype, empty


def _dense_strides(t):
    """The strides that matter: those of axes longer than 1 (others are never stepped)."""
    return tuple(s for s, n in zip(t.stride(), t.shape) if n > 1)


_LAYOUTS = {
    "contiguous": lambda t: t.contiguous(),
    "channels_last": lambda t: t.contiguous(memory_format=torch.channels_last)
    if t.dim() == 4 else t.permute(1, 2, 0).contiguous().permute(2, 0, 1),
    "transposed": lambda t: t.transpose(-1, -2).contiguous().transpose(-1, -2),
    "sliced": lambda t: torch.cat([t, t], -1)[..., : t.shape[-1]],
}


@given(conv_cases(), st.sampled_from(sorted(_LAYOUTS)), st.sampled_from(["contiguous",
                                                                         "channels_last"]))
def test_conv2d_returns_the_memory_layout_torch_returns(case, x_layout, w_layout):
    assume(fits_conv2d(case))
    x, weight, bias, args = make_conv2d(case)
    x, weight = _LAYOUTS[x_layout](x), _LAYOUTS[w_layout](weight)
    got = conv2d(x, weight, bias, **args)
    if bias is not None and "channels_last" in (x_layout, w_layout):
        # torch 2.14.1's oneDNN kernel crashes (SIGSEGV) on some float32 convolutions with a
        # bias and a channels-last input or weight, e.g. x (1, 4, 9, 1), weight (2, 2, 4, 1)
        # channels-last, stride 2, padding 1, dilation 2, groups 2 (80,000 random cases
        # without the bias, or with contiguous tensors, never crashed): torch gives the values
        # from contiguous tensors and the layout from the same call without the bias.
        values = F.conv2d(x.contiguous(), weight.contiguous(), bias, **args)
        torch.testing.assert_close(got, values, **conv_tolerance(case["dtype"]))
        expected = F.conv2d(x, weight, None, **args)
    else:
        expected = F.conv2d(x, weight, bias, **args)
        torch.testing.assert_close(got, expected, **conv_tolerance(case["dtype"]))
    assert _dense_strides(got) == _dense_strides(expected)
    assert got.is_contiguous() == expected.is_contiguous()


@given(conv_cases())
def test_conv2d_gradients_match_torch_for_channels_last_input(case):
    assume(fits_conv2d(case))
    case = {**case, "dtype": torch.float64, "unbatched": False}
    x, weight, bias, args = make_conv2d(case)
    x = x.contiguous(memory_format=torch.channels_last).requires_grad_(True)
    weight.requires_grad_(True)
    if bias is not None:
        bias.requires_grad_(True)
    assert_same_gradients(conv2d, F.conv2d, (x, weight, bias), args, rtol=1e-9, atol=1e-9)


def test_conv2d_output_of_contiguous_input_views_flat():
    x, weight = torch.randn(2, 3, 8, 8), torch.randn(5, 3, 3, 3)
    out = conv2d(x, weight, torch.randn(5), padding=1)
    assert out.is_contiguous()
    assert out.view(2, -1).shape == (2, 5 * 64)
    cl = conv2d(x.contiguous(memory_format=torch.channels_last), weight, padding=1)
    assert cl.is_contiguous(memory_format=torch.channels_last)


@pytest.mark.parametrize("c_in, c_out, groups, stride, k", [
    (6, 4, 2, 1, 3),  # grouped by taps
    (6, 6, 6, 1, 3),  # depthwise
    (6, 4, 1, 1, 3),  # one matrix product
    (6, 4, 2, 2, 3),  # grouped, strided
    (6, 4, 1, 1, 1),  # 1x1
])
@pytest.mark.parametrize("channels_last", [False, True])
def test_conv2d_empty_batch_like_torch(c_in, c_out, groups, stride, k, channels_last):
    x = torch.randn(0, c_in, 7, 7, requires_grad=True)
    weight = torch.randn(c_out, c_in // groups, k, k, requires_grad=True)
    bias = torch.randn(c_out, requires_grad=True)
    if channels_last:
        x = x.detach().contiguous(memory_format=torch.channels_last).requires_grad_(True)
    args = dict(stride=stride, padding=1, groups=groups)
    expected = F.conv2d(x, weight, bias, **args)
    got = conv2d(x, weight, bias, **args)
    # Strides are not compared: torch returns ``input * weight[0]`` viewed to the output
    # shape for an empty batch, so its strides depend on whether the two shapes coincide.
    assert got.shape == expected.shape
    got.sum().backward()
    assert x.grad.shape == x.shape
    assert torch.equal(weight.grad, torch.zeros_like(weight))
    assert torch.equal(bias.grad, torch.zeros_like(bias))


def test_corr2d_rejects_an_empty_kernel():
    for shape in [(0, 0), (0, 2), (2, 0)]:
        with pytest.raises(ValueError, match=r"K must have at least one row and one column, "
                                             rf"got shape \({shape[0]}, {shape[1]}\)"):
            corr2d(torch.ones(3, 3), torch.ones(shape))
