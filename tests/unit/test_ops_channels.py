"""convbook.ops multi-channel cross-correlation against torch.nn.functional.conv2d."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

from convbook.ops import corr2d_multi_in, corr2d_multi_in_out, corr2d_multi_in_out_1x1

# D2L's figure: two input channels, a 2x2 kernel per channel.
X_FIG = torch.tensor(
    [[[0.0, 1.0, 2.0], [3.0, 4.0, 5.0], [6.0, 7.0, 8.0]],
     [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]]]
)
K_FIG = torch.tensor([[[0.0, 1.0], [2.0, 3.0]], [[1.0, 2.0], [3.0, 4.0]]])


def test_corr2d_multi_in_figure_example():
    # By hand, top-left: (0*0 + 1*1 + 3*2 + 4*3) + (1*1 + 2*2 + 4*3 + 5*4) = 19 + 37 = 56.
    assert corr2d_multi_in(X_FIG, K_FIG).tolist() == [[56.0, 72.0], [104.0, 120.0]]


def test_corr2d_multi_in_out_stacks_kernels():
    K = torch.stack((K_FIG, K_FIG + 1, K_FIG + 2), 0)
    Y = corr2d_multi_in_out(X_FIG, K)
    assert Y.shape == (3, 2, 2)
    # K + 1 adds the sums of the top-left 2x2 windows: (0+1+3+4) + (1+2+4+5) = 8 + 12.
    assert Y[1, 0, 0].item() == 56.0 + 8.0 + 12.0


channel_cases = st.tuples(
    st.integers(1, 4), st.integers(1, 3),  # c_in, c_out
    st.integers(1, 6), st.integers(1, 6),  # h, w
    st.integers(1, 3), st.integers(1, 3),  # kh, kw
)


@given(channel_cases)
def test_multi_in_and_multi_in_out_match_torch(case):
    c_in, c_out, h, w, kh, kw = case
    kh, kw = min(kh, h), min(kw, w)
    g = torch.Generator().manual_seed(h * 10 + w)
    X = torch.randn(c_in, h, w, dtype=torch.float64, generator=g)
    K = torch.randn(c_out, c_in, kh, kw, dtype=torch.float64, generator=g)
    expected = F.conv2d(X[None], K)[0]
    torch.testing.assert_close(corr2d_multi_in_out(X, K), expected)
    torch.testing.assert_close(corr2d_multi_in(X, K[0]), expected[0])


@given(channel_cases)
def test_1x1_matches_torch_and_the_loop(case):
    c_in, c_out, h, w, _, _ = case
    g = torch.Generator().manual_seed(h * 10 + w)
    X = torch.randn(c_in, h, w, dtype=torch.float64, generator=g)
    K = torch.randn(c_out, c_in, 1, 1, dtype=torch.float64, generator=g)
    got = corr2d_multi_in_out_1x1(X, K)
    torch.testing.assert_close(got, F.conv2d(X[None], K)[0])
    torch.testing.assert_close(got, corr2d_multi_in_out(X, K))


def test_channel_functions_are_differentiable():
    X = torch.randn(3, 5, 4, dtype=torch.float64, requires_grad=True)
    K = torch.randn(2, 3, 2, 2, dtype=torch.float64, requires_grad=True)
    K1 = torch.randn(2, 3, 1, 1, dtype=torch.float64, requires_grad=True)
    for fn, k in ((corr2d_multi_in_out, K), (corr2d_multi_in_out_1x1, K1)):
        got = torch.autograd.grad(fn(X, k).square().sum(), (X, k))
        expected = torch.autograd.grad(F.conv2d(X[None], k).square().sum(), (X, k))
        for a, b in zip(got, expected):
            torch.testing.assert_close(a, b)


def test_channel_errors():
    with pytest.raises(ValueError, match="K expects 3 input channels, but X has 2"):
        corr2d_multi_in(X_FIG, torch.randn(3, 2, 2))
    with pytest.raises(ValueError, match="K expects 3 input channels, but X has 2"):
        corr2d_multi_in_out(X_FIG, torch.randn(1, 3, 2, 2))
    with pytest.raises(ValueError, match=r"K must be a 1x1 kernel, got kernel size \(2, 2\)"):
        corr2d_multi_in_out_1x1(X_FIG, torch.randn(1, 2, 2, 2))
    with pytest.raises(ValueError, match=r"X must be a 3D \(c_in, n_h, n_w\) tensor"):
        corr2d_multi_in(X_FIG[0], K_FIG)
    with pytest.raises(ValueError, match=r"K must be a 4D"):
        corr2d_multi_in_out(X_FIG, K_FIG)
