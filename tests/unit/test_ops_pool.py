"""convbook.ops pooling against torch.nn.functional.max_pool2d / avg_pool2d."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import assume, given
from hypothesis import strategies as st

from convbook.ops import avg_pool2d, max_pool2d, pool2d

X_FIG = torch.arange(9.0).reshape(3, 3)


def test_pool2d_figure_example():
    # By hand: the 2x2 windows of [[0,1,2],[3,4,5],[6,7,8]] have max 4,5,7,8, means 2,3,5,6.
    assert pool2d(X_FIG, (2, 2)).tolist() == [[4.0, 5.0], [7.0, 8.0]]
    assert pool2d(X_FIG, 2, "avg").tolist() == [[2.0, 3.0], [5.0, 6.0]]


@given(st.integers(1, 6), st.integers(1, 6), st.integers(1, 4), st.integers(1, 4))
def test_pool2d_matches_torch_at_stride_1(h, w, ph, pw):
    assume(ph <= h and pw <= w)
    X = torch.randn(h, w, dtype=torch.float64)
    args = dict(kernel_size=(ph, pw), stride=1)
    torch.testing.assert_close(pool2d(X, (ph, pw)), F.max_pool2d(X[None], **args)[0])
    torch.testing.assert_close(pool2d(X, (ph, pw), "avg"), F.avg_pool2d(X[None], **args)[0])


def test_pool2d_errors():
    with pytest.raises(ValueError, match="mode must be 'max' or 'avg', got 'min'"):
        pool2d(X_FIG, 2, "min")
    with pytest.raises(ValueError, match=r"pool_size \(4, 1\) is larger than input X"):
        pool2d(X_FIG, (4, 1))
    with pytest.raises(ValueError, match="pool_size must be >= 1, got 0"):
        pool2d(X_FIG, 0)


@st.composite
def pool_cases(draw):
    ints_or_pairs = lambda lo, hi: st.one_of(  # noqa: E731
        st.integers(lo, hi), st.tuples(st.integers(lo, hi), st.integers(lo, hi))
    )
    k = draw(ints_or_pairs(1, 4))
    kh, kw = (k, k) if isinstance(k, int) else k
    # torch's rule: padding at most half the kernel, on each axis.
    p = draw(st.one_of(st.just(0), st.tuples(st.integers(0, kh // 2), st.integers(0, kw // 2))))
    return dict(
        shape=(  # unbatched (C, H, W) or batched (2, C, H, W)
            *draw(st.sampled_from([(), (2,)])),
            draw(st.integers(1, 3)), draw(st.integers(1, 9)), draw(st.integers(1, 9)),
        ),
        kernel_size=k,
        stride=draw(st.one_of(st.none(), ints_or_pairs(1, 5))),
        padding=p,
        dilation=draw(ints_or_pairs(1, 3)),
        ceil_mode=draw(st.booleans()),
        count_include_pad=draw(st.booleans()),
    )


def _call(fn, x, case, avg):
    keys = ["kernel_size", "stride", "padding", "ceil_mode"]
    keys += ["count_include_pad"] if avg else ["dilation"]
    return fn(x, **{k: case[k] for k in keys})


def _torch_or_none(fn, x, case, avg):
    try:
        return _call(fn, x, case, avg)
    except RuntimeError:
        return None


@pytest.mark.parametrize("ours, theirs, avg", [
    (max_pool2d, F.max_pool2d, False), (avg_pool2d, F.avg_pool2d, True),
])
@given(case=pool_cases())
def test_pooling_matches_torch_batched_and_unbatched(ours, theirs, avg, case):
    x = torch.randn(case["shape"], dtype=torch.float64)
    expected = _torch_or_none(theirs, x, case, avg)
    if expected is None:  # torch refuses: so must we, with a ValueError
        with pytest.raises(ValueError):
            _call(ours, x, case, avg)
        return
    got = _call(ours, x, case, avg)
    assert got.shape == expected.shape
    torch.testing.assert_close(got, expected)


def _window_only_in_padding(case, avg):
    """Whether some (dilated) window's taps all fall in the padding, by brute force.

    torch allows it (it only asks padding <= kernel_size / 2, ignoring dilation); the max
    is then -inf, and torch's own max_pool2d backward reads an invalid index there (it
    can crash the process), so gradients are compared only where every window sees input.
    """
    def pairs(v):
        return (v, v) if isinstance(v, int) else v

    k, p = pairs(case["kernel_size"]), pairs(case["padding"])
    s = k if case["stride"] is None else pairs(case["stride"])
    d = (1, 1) if avg else pairs(case["dilation"])
    for axis, n in enumerate(case["shape"][-2:]):
        start = -p[axis]
        while start <= n + p[axis] - 1:
            taps = [start + j * d[axis] for j in range(k[axis])]
            if all(t < 0 or t >= n for t in taps):
                return True
            start += s[axis]
    return False


@pytest.mark.parametrize("ours, theirs, avg", [
    (max_pool2d, F.max_pool2d, False), (avg_pool2d, F.avg_pool2d, True),
])
@given(case=pool_cases())
def test_pooling_gradients_match_torch(ours, theirs, avg, case):
    assume(not _window_only_in_padding(case, avg))
    x = torch.randn(case["shape"], dtype=torch.float64, requires_grad=True)
    expected = _torch_or_none(theirs, x, case, avg)
    assume(expected is not None)
    upstream = torch.randn_like(expected)
    (g_exp,) = torch.autograd.grad(expected, x, upstream)
    (g_got,) = torch.autograd.grad(_call(ours, x, case, avg), x, upstream)
    torch.testing.assert_close(g_got, g_exp)


def test_avg_pool_count_include_pad_by_hand():
    x = torch.ones(1, 1, 2, 2)
    # 2x2 windows, stride 2, padding 1: each window holds one real 1 and three padded zeros.
    assert avg_pool2d(x, 2, padding=1).flatten().tolist() == [0.25] * 4
    assert avg_pool2d(x, 2, padding=1, count_include_pad=False).flatten().tolist() == [1.0] * 4
    # ceil mode on a 3-wide input, k=2, s=2: the last window covers one cell past the edge,
    # which is not padding and so never counts: mean of a single 1 is 1.
    assert avg_pool2d(torch.ones(1, 1, 3), 2, ceil_mode=True).flatten().tolist() == [1.0, 1.0]


def test_max_pool_padding_never_wins():
    x = -torch.ones(1, 2, 2)  # all negative: zero padding would win, -inf padding does not
    assert max_pool2d(x, 2, padding=1).flatten().tolist() == [-1.0] * 4


def test_max_pool_window_entirely_in_padding_gives_minus_inf_like_torch():
    # Width 1, padding 1, kernel 2 dilated by 2: the taps sit at -1 and +1, both padding.
    x = torch.randn(1, 3, 1, dtype=torch.float64)
    got = max_pool2d(x, (1, 2), 1, (0, 1), 2)
    assert torch.isneginf(got).all()
    torch.testing.assert_close(got, F.max_pool2d(x, (1, 2), 1, (0, 1), 2))


def test_pooling_does_not_call_torch_pooling(monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("convbook.ops pooling must not call torch's pooling")

    for name in ("max_pool2d", "avg_pool2d", "max_pool2d_with_indices"):
        monkeypatch.setattr(F, name, forbidden, raising=False)
        monkeypatch.setattr(torch, name, forbidden, raising=False)
    x = torch.randn(1, 2, 5, 5)
    assert max_pool2d(x, 2).shape == avg_pool2d(x, 2).shape == (1, 2, 2, 2)


def test_pooling_errors():
    x = torch.randn(1, 1, 4, 4)
    with pytest.raises(ValueError, match="kernel_size 5 is larger than padded input 4"):
        max_pool2d(x, 5)
    with pytest.raises(ValueError, match="padding 2 is more than half of kernel_size 3"):
        avg_pool2d(x, 3, padding=2)
    with pytest.raises(ValueError, match="stride must be >= 1, got 0"):
        max_pool2d(x, 2, stride=0)
    with pytest.raises(ValueError, match=r"input must be a 3D \(C, H, W\) or 4D"):
        max_pool2d(torch.randn(4, 4), 2)
    with pytest.raises(TypeError, match="input must be a floating-point tensor"):
        avg_pool2d(torch.ones(1, 4, 4, dtype=torch.long), 2)


@given(case=pool_cases(), seed=st.integers(0, 2**16))
def test_max_pool_gradient_goes_where_torch_sends_it_with_ties(case, seed):
    """After a ReLU many cells of a window tie at 0 (and small integers tie too): torch gives
    the whole gradient to the first maximal cell in row-major order, never splits it."""
    assume(not _window_only_in_padding(case, avg=False))
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(-3, 3, case["shape"], generator=g).double().relu().requires_grad_(True)
    expected = _torch_or_none(F.max_pool2d, x, case, avg=False)
    assume(expected is not None)
    got = _call(max_pool2d, x, case, avg=False)
    torch.testing.assert_close(got, expected)
    upstream = torch.randn(expected.shape, generator=g, dtype=torch.float64)
    (g_exp,) = torch.autograd.grad(expected, x, upstream)
    (g_got,) = torch.autograd.grad(got, x, upstream)
    # A cell that wins several windows sums their gradients: only the order may differ.
    torch.testing.assert_close(g_got, g_exp, rtol=1e-12, atol=1e-12)


def test_max_pool_gradient_of_a_tie_by_hand():
    x = torch.zeros(1, 1, 2, 2, requires_grad=True)  # four cells tie: the first one wins
    max_pool2d(x, 2).sum().backward()
    assert x.grad.flatten().tolist() == [1.0, 0.0, 0.0, 0.0]


@pytest.mark.parametrize("nan_at", [[(0, 1)], [(1, 0)], [(0, 0), (1, 1)], [(0, 2), (2, 0)]])
def test_max_pool_nan_takes_the_whole_gradient_like_torch(nan_at):
    x = torch.arange(9.0, dtype=torch.float64).view(1, 1, 3, 3)
    for i, j in nan_at:
        x[0, 0, i, j] = float("nan")
    x.requires_grad_(True)
    for args in [dict(kernel_size=2, stride=1), dict(kernel_size=3, padding=1, stride=2)]:
        expected = F.max_pool2d(x, **args)
        got = max_pool2d(x, **args)
        torch.testing.assert_close(got, expected, equal_nan=True)
        upstream = torch.arange(1.0, expected.numel() + 1, dtype=torch.float64)
        upstream = upstream.view(expected.shape)
        (g_exp,) = torch.autograd.grad(expected, x, upstream)
        (g_got,) = torch.autograd.grad(got, x, upstream)
        torch.testing.assert_close(g_got, g_exp, rtol=0, atol=0)


def test_max_pool_all_minus_inf_window_routes_to_its_first_input_cell():
    # Padding comes first in the window; torch starts at the first cell inside the input.
    x = torch.full((1, 1, 3, 3), float("-inf"), dtype=torch.float64, requires_grad=True)
    expected = F.max_pool2d(x, 2, stride=2, padding=1)
    got = max_pool2d(x, 2, stride=2, padding=1)
    torch.testing.assert_close(got, expected)
    (g_exp,) = torch.autograd.grad(expected.sum(), x)
    (g_got,) = torch.autograd.grad(got.sum(), x)
    torch.testing.assert_close(g_got, g_exp, rtol=0, atol=0)
