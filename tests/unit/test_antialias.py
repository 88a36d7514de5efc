"""convbook.antialias: blur then subsample, against the depthwise convolution it stands for."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from convbook.antialias import (
    BlurPool2d,
    MaxBlurPool2d,
    binomial_kernel,
    blur_pool2d,
    max_blur_pool2d,
)


def _binomial_conv(x: torch.Tensor, padded: torch.Tensor) -> torch.Tensor:
    """The 3x3 binomial kernel as a depthwise convolution at stride 2 over ``padded``."""
    c = x.shape[1]
    weight = torch.tensor([1.0, 2.0, 1.0], dtype=x.dtype)
    weight = (torch.outer(weight, weight) / 16).expand(c, 1, 3, 3)
    return F.conv2d(padded, weight, stride=2, groups=c)


shapes = st.tuples(st.integers(1, 2), st.integers(1, 3), st.integers(1, 9), st.integers(1, 9))


def test_binomial_kernel_is_the_outer_product_of_1_2_1_and_sums_to_one():
    row = torch.tensor([1.0, 2.0, 1.0]) / 4
    assert torch.equal(binomial_kernel(), torch.outer(row, row))
    assert binomial_kernel().sum() == 1
    # [1, 2, 1] / 4 is the two-tap average applied twice: what blur_pool2d computes
    twice = F.conv1d(F.conv1d(torch.tensor([[[0.0, 0, 1, 0, 0]]]), torch.full((1, 1, 2), 0.5)),
                     torch.full((1, 1, 2), 0.5))
    assert twice.flatten().tolist() == [0.25, 0.5, 0.25]


@settings(max_examples=60, deadline=None)
@given(shape=shapes, mode=st.sampled_from(["zeros", "circular"]), seed=st.integers(0, 99))
def test_blur_pool2d_is_the_depthwise_binomial_convolution(shape, mode, seed):
    x = torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    padded = F.pad(x, (1, 1, 1, 1), mode="circular") if mode == "circular" else F.pad(x, (1,) * 4)
    expected = _binomial_conv(x, padded)
    got = blur_pool2d(x, mode)
    assert got.shape[2:] == (-(-shape[2] // 2), -(-shape[3] // 2))  # ceil(H / 2)
    torch.testing.assert_close(got, expected)
    torch.testing.assert_close(BlurPool2d(mode)(x), expected)


@settings(max_examples=60, deadline=None)
@given(shape=shapes, mode=st.sampled_from(["zeros", "circular"]), seed=st.integers(0, 99))
def test_max_blur_pool2d_is_a_stride_1_max_then_the_binomial_blur(shape, mode, seed):
    if mode == "zeros" and min(shape[2:]) < 2:
        return  # refused, tested below
    x = torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    h, w = shape[2:]
    if mode == "circular":
        # window (i, j) covers rows i, i+1 and columns j, j+1, wrapping around
        maxima = F.max_pool2d(F.pad(x, (0, 1, 0, 1), mode="circular"), 2, stride=1)
        expected = _binomial_conv(x, F.pad(maxima, (1, 1, 1, 1), mode="circular"))
    else:
        # windows from (-1, -1) to (H-1, W-1), each ignoring what lies beyond the border;
        # output (i, j) is the blur centred on window (2i, 2j), which never needs padding
        maxima = F.max_pool2d(x, 2, stride=1, padding=1)  # window (i - 1, j - 1) at (i, j)
        expected = _binomial_conv(x, maxima)[..., : h // 2, : w // 2]
        assert expected.shape[2:] == F.max_pool2d(x, 2).shape[2:]  # MaxPool2d(2)'s shape
    torch.testing.assert_close(max_blur_pool2d(x, mode), expected)
    torch.testing.assert_close(MaxBlurPool2d(mode)(x), expected)


def test_zeros_and_circular_agree_away_from_the_border():
    x = torch.rand(2, 3, 10, 12)
    for fn in (blur_pool2d, max_blur_pool2d):
        zeros, circular = fn(x, "zeros"), fn(x, "circular")
        torch.testing.assert_close(zeros[..., 1:-1, 1:-1], circular[..., 1:-1, 1:-1])
        assert not torch.allclose(zeros, circular)


def test_circular_mode_commutes_exactly_with_even_shifts():
    x = torch.randint(0, 5, (1, 2, 8, 12)).float()  # whole numbers: exact sums
    for fn in (blur_pool2d, max_blur_pool2d):
        y = fn(x, "circular")
        for dy, dx in ((2, 0), (0, 2), (4, 6), (-2, 2)):
            moved = fn(torch.roll(x, (dy, dx), dims=(2, 3)), "circular")
            assert torch.equal(moved, torch.roll(y, (dy // 2, dx // 2), dims=(2, 3)))


def test_stripes_by_hand():
    """Zhang's example: stripes of period 4 at two phases."""
    x = torch.tensor([[[[0.0, 0, 1, 1, 0, 0, 1, 1]]]])
    shifted = torch.roll(x, 1, dims=-1)  # [1, 0, 0, 1, 1, 0, 0, 1]
    assert F.max_pool2d(x, (1, 2)).flatten().tolist() == [0, 1, 0, 1]
    assert F.max_pool2d(shifted, (1, 2)).flatten().tolist() == [1, 1, 1, 1]
    # maxima of windows (j, j+1): [0, 1, 1, 1, 0, 1, 1, 1]; blurred at 0, 2, 4, 6
    assert max_blur_pool2d(x, "circular").flatten().tolist() == [0.5, 1, 0.5, 1]
    # shifted: maxima [1, 0, 1, 1, 1, 0, 1, 1], blurred: (1 + 2 + 0) / 4 and so on
    assert max_blur_pool2d(shifted, "circular").flatten().tolist() == [0.75] * 4


def test_layers_have_no_parameters_and_gradients_flow():
    for layer in (BlurPool2d(), MaxBlurPool2d("circular")):
        assert list(layer.parameters()) == [] and list(layer.buffers()) == []
        assert "padding_mode=" in repr(layer)
    x = torch.rand(1, 2, 6, 6, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda v: blur_pool2d(v, "circular"), (x,))
    # generic x: the maxima are unique, so the max is differentiable there
    assert torch.autograd.gradcheck(lambda v: max_blur_pool2d(v, "zeros"), (x,))


def test_dtype_and_device_follow_the_input():
    x = torch.rand(1, 1, 4, 4, dtype=torch.float64)
    assert blur_pool2d(x).dtype == max_blur_pool2d(x).dtype == torch.float64


@pytest.mark.parametrize("fn", [blur_pool2d, max_blur_pool2d])
def test_bad_input(fn):
    with pytest.raises(TypeError, match=r"x must be a torch\.Tensor"):
        fn([[1.0]])
    with pytest.raises(ValueError, match=r"x must be a 4D \(N, C, H, W\) tensor"):
        fn(torch.rand(3, 4, 4))
    with pytest.raises(TypeError, match=r"x must be a floating-point tensor, got torch\.int64"):
        fn(torch.ones(1, 1, 4, 4, dtype=torch.int64))
    with pytest.raises(ValueError, match="padding_mode must be one of 'zeros', 'circular'"):
        fn(torch.rand(1, 1, 4, 4), "reflect")
    with pytest.raises(ValueError, match="x must not be empty"):
        fn(torch.rand(0, 1, 4, 4), "circular")


def test_max_blur_pool2d_zeros_needs_two_rows_and_columns():
    with pytest.raises(ValueError, match=r"x must be at least 2x2 for padding_mode='zeros', "
                                         r"got \(1, 8\)"):
        max_blur_pool2d(torch.rand(1, 1, 1, 8))
    assert max_blur_pool2d(torch.rand(1, 1, 1, 8), "circular").shape == (1, 1, 1, 4)
    assert blur_pool2d(torch.rand(1, 1, 1, 1)).shape == (1, 1, 1, 1)


def test_layer_constructors_check_the_mode():
    for layer in (BlurPool2d, MaxBlurPool2d):
        with pytest.raises(ValueError, match="padding_mode must be one of"):
            layer("reflect")
