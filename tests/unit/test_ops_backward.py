"""convbook.ops.conv2d_backward against autograd through torch.nn.functional.conv2d.

The random configurations are the forward op's (``conv_cases`` of against_torch.py: stride
larger than the kernel, dilation, groups, 'same' padding of even kernels, which is
asymmetric, 1-pixel images, batches of one and unbatched inputs).
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from against_torch import conv_cases, fits_conv2d, make_conv2d
from hypothesis import assume, given

from convbook.ops import conv2d_backward, conv_transpose2d


def _autograd(x, weight, bias, args, dY=None):
    """The forward pass by torch, one random upstream gradient, and autograd's (dX, dK, db)."""
    x, weight = x.detach().requires_grad_(), weight.detach().requires_grad_()
    b = torch.zeros(weight.shape[0], dtype=x.dtype, requires_grad=True) if bias is None else (
        bias.detach().requires_grad_())
    Y = F.conv2d(x, weight, b, **args)
    if dY is None:
        dY = torch.randn(Y.shape, dtype=x.dtype, generator=torch.Generator().manual_seed(1))
    return dY, torch.autograd.grad(Y, (x, weight, b), dY)


def _assert_matches_autograd(x, weight, bias, args, **tolerance):
    dY, expected = _autograd(x, weight, bias, args)
    got = conv2d_backward(x, weight, dY, **args)
    for name, g, e in zip(("dX", "dK", "db"), got, expected):
        assert g.shape == e.shape and g.dtype == e.dtype, name
        torch.testing.assert_close(g, e, **tolerance, msg=lambda m, name=name: f"{name}: {m}")


@given(conv_cases())
def test_gradients_match_autograd(case):
    assume(fits_conv2d(case))
    x, weight, bias, args = make_conv2d(case)
    tol = dict(rtol=1e-4, atol=1e-4) if case["dtype"] == torch.float32 else {}
    _assert_matches_autograd(x, weight, bias, args, **tol)


@pytest.mark.parametrize(
    "n, c_in, c_out, h, w, k, stride, padding, dilation, groups",
    [
        (1, 1, 1, 1, 1, 1, 1, 0, 1, 1),  # a 1-pixel image
        (1, 2, 3, 1, 1, 1, 7, 0, 1, 1),  # stride far larger than the kernel and the image
        (2, 3, 4, 9, 1, (1, 1), (5, 2), 0, 1, 1),  # a one-column image
        (1, 2, 2, 7, 8, 2, 1, "same", 1, 1),  # an even kernel: 'same' pads asymmetrically
        (3, 4, 4, 9, 7, (2, 3), 1, "same", (1, 2), 2),  # ... dilated and grouped
        (2, 4, 8, 10, 11, 3, (3, 2), (2, 1), (2, 3), 4),  # depthwise with a multiplier
        (1, 6, 6, 12, 12, 3, 2, 1, 1, 6),  # depthwise, batch of one
        (2, 3, 5, 11, 9, 3, 4, 0, 1, 1),  # rows and columns no window reads
        (1, 2, 2, 5, 5, 5, 1, 0, 1, 1),  # the kernel as big as the image: a 1x1 output
    ],
)
def test_awkward_cases(n, c_in, c_out, h, w, k, stride, padding, dilation, groups):
    kh, kw = (k, k) if isinstance(k, int) else k
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, c_in, h, w, dtype=torch.float64, generator=g)
    weight = torch.randn(c_out, c_in // groups, kh, kw, dtype=torch.float64, generator=g)
    args = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    _assert_matches_autograd(x, weight, None, args)


def test_unbatched_input_gives_unbatched_gradients():
    x, weight = torch.randn(3, 6, 5, dtype=torch.float64), torch.randn(2, 3, 2, 2,
                                                                       dtype=torch.float64)
    dY, (dX, dK, db) = _autograd(x[None], weight, None, dict(stride=2))
    got = conv2d_backward(x, weight, dY[0], stride=2)
    assert got[0].shape == x.shape
    for g, e in zip(got, (dX[0], dK, db)):
        torch.testing.assert_close(g, e)


def test_an_empty_batch_gives_zero_gradients_like_autograd():
    x, weight = torch.randn(0, 2, 5, 5), torch.randn(3, 2, 3, 3)
    _assert_matches_autograd(x, weight, None, dict(padding=1))


def test_channels_last_inputs():
    x = torch.randn(2, 4, 7, 6, dtype=torch.float64).contiguous(memory_format=torch.channels_last)
    weight = torch.randn(6, 2, 3, 3, dtype=torch.float64)
    _assert_matches_autograd(x, weight, None, dict(stride=2, padding=1, groups=2))


def test_the_input_gradient_is_the_transposed_convolution():
    # The lesson of chapter 05: with no padding and no skipped rows, dX is exactly
    # conv_transpose2d(dY, K) with the forward pass's stride, dilation and groups.
    x, weight = torch.randn(2, 4, 9, 9, dtype=torch.float64), torch.randn(6, 2, 3, 3,
                                                                         dtype=torch.float64)
    dY = torch.randn(2, 6, 4, 4, dtype=torch.float64)
    dX, _, _ = conv2d_backward(x, weight, dY, stride=2, groups=2)
    torch.testing.assert_close(dX, conv_transpose2d(dY, weight, stride=2, groups=2))


def test_the_kernel_gradient_is_a_correlation_with_the_dilated_output_gradient():
    # dK = corr(X, dY with s - 1 zeros between its values), one channel, stride s.
    x, dY = torch.randn(1, 1, 9, 9, dtype=torch.float64), torch.randn(1, 1, 3, 3,
                                                                     dtype=torch.float64)
    _, dK, _ = conv2d_backward(x, torch.zeros(1, 1, 3, 3, dtype=torch.float64), dY, stride=3)
    stuffed = torch.zeros(7, 7, dtype=torch.float64)
    stuffed[::3, ::3] = dY[0, 0]
    torch.testing.assert_close(dK, F.conv2d(x, stuffed[None, None]))


def test_does_not_call_torch_convolution_or_autograd(monkeypatch):
    x, weight = torch.randn(2, 4, 8, 7), torch.randn(6, 2, 3, 2)
    args = dict(stride=2, padding=(1, 0), dilation=(1, 2), groups=2)
    dY, expected = _autograd(x, weight, None, args)

    def forbidden(*args, **kwargs):
        raise AssertionError("conv2d_backward must not call torch's convolution or autograd")

    for name in ("conv1d", "conv2d", "conv3d", "convolution", "conv_transpose1d",
                 "conv_transpose2d", "conv_transpose3d"):
        monkeypatch.setattr(F, name, forbidden, raising=False)
        monkeypatch.setattr(torch, name, forbidden, raising=False)
    for name in ("grad", "backward"):
        monkeypatch.setattr(torch.autograd, name, forbidden)
    monkeypatch.setattr(torch.Tensor, "backward", forbidden)
    with torch.no_grad():
        got = conv2d_backward(x, weight, dY, **args)
    for g, e in zip(got, expected):
        torch.testing.assert_close(g, e, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        (dict(stride=0), ValueError, "stride must be >= 1, got 0"),
        (dict(padding="full"), ValueError, "padding must be an int, a pair, 'valid' or 'same'"),
        (dict(padding="same", stride=2), ValueError, "padding='same' requires stride 1"),
        (dict(groups=3), ValueError, r"X channels \(4\) must be divisible by groups \(3\)"),
        (dict(dY=torch.zeros(1, 6, 4, 4)), ValueError,
         r"dY must have the shape of conv2d's output .*\(1, 6, 3, 3\), got \(1, 6, 4, 4\)"),
        (dict(dY=torch.zeros(6, 3, 3)), ValueError, "dY must be a 4D"),
        (dict(K=torch.zeros(6, 4, 3, 3)), ValueError, "K expects 4 \\* groups 2 = 8 input"),
        (dict(K=torch.zeros(6, 2, 9, 3)), ValueError, r"K's kernel of size \(9, 3\)"),
        (dict(X=torch.zeros(1, 4, 5, 5, dtype=torch.int64)), TypeError,
         "X must be a floating-point tensor"),
        (dict(dY=torch.zeros(1, 6, 3, 3, dtype=torch.float64)), TypeError,
         r"X \(torch.float32\) and dY \(torch.float64\) must have the same dtype"),
    ],
)
def test_rejects_bad_arguments_naming_them(kwargs, error, message):
    call = dict(X=torch.zeros(1, 4, 5, 5), K=torch.zeros(6, 2, 3, 3), dY=torch.zeros(1, 6, 3, 3),
                groups=2)
    call.update(kwargs)
    with pytest.raises(error, match=message):
        conv2d_backward(**call)
