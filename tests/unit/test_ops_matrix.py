"""kernel2matrix: the convolution matrix W, and the transposed convolution as W.T."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

from convbook.ops import corr2d, kernel2matrix


@st.composite
def shapes(draw):
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    return kh, kw, draw(st.integers(kh, 7)), draw(st.integers(kw, 7))


@given(shapes())
def test_W_times_X_is_the_cross_correlation(shape):
    kh, kw, h, w = shape
    K, X = torch.randn(kh, kw, dtype=torch.float64), torch.randn(h, w, dtype=torch.float64)
    W = kernel2matrix(K, (h, w))
    assert W.shape == ((h - kh + 1) * (w - kw + 1), h * w)
    torch.testing.assert_close(W @ X.flatten(), F.conv2d(X[None, None], K[None, None]).flatten())


@given(shapes())
def test_W_transpose_is_the_transposed_convolution(shape):
    kh, kw, h, w = shape
    K = torch.randn(kh, kw, dtype=torch.float64)
    Y = torch.randn(h - kh + 1, w - kw + 1, dtype=torch.float64)
    W = kernel2matrix(K, (h, w))
    expected = F.conv_transpose2d(Y[None, None], K[None, None]).flatten()
    torch.testing.assert_close(W.T @ Y.flatten(), expected)


def test_small_example_by_hand_and_with_corr2d():
    K = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    X = torch.arange(9.0).reshape(3, 3)
    W = kernel2matrix(K, (3, 3))
    assert W.tolist() == [
        [1, 2, 0, 3, 4, 0, 0, 0, 0],
        [0, 1, 2, 0, 3, 4, 0, 0, 0],
        [0, 0, 0, 1, 2, 0, 3, 4, 0],
        [0, 0, 0, 0, 1, 2, 0, 3, 4],
    ]
    torch.testing.assert_close((W @ X.flatten()).reshape(2, 2), corr2d(X, K))


def test_gradient_flows_to_the_kernel():
    K = torch.randn(2, 3, dtype=torch.float64, requires_grad=True)
    X = torch.randn(4, 5, dtype=torch.float64)
    (got,) = torch.autograd.grad((kernel2matrix(K, (4, 5)) @ X.flatten()).sum(), K)
    (expected,) = torch.autograd.grad(F.conv2d(X[None, None], K[None, None]).sum(), K)
    torch.testing.assert_close(got, expected)


def test_errors():
    with pytest.raises(ValueError, match=r"kernel K of shape \(3, 1\) is larger than input_shape"):
        kernel2matrix(torch.ones(3, 1), (2, 2))
    with pytest.raises(ValueError, match="K must be a 2D"):
        kernel2matrix(torch.ones(1, 2, 2), (3, 3))
    with pytest.raises(ValueError, match="input_shape must be >= 1, got 0"):
        kernel2matrix(torch.ones(1, 1), 0)
