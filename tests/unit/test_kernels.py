"""convbook.kernels against facts computed independently."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from convbook import kernels


def _apply(X: torch.Tensor, K: torch.Tensor) -> torch.Tensor:
    return F.conv2d(X[None, None], K[None, None])[0, 0]


@pytest.mark.parametrize("name", list(kernels.PRESETS))
def test_presets_are_3x3_float(name):
    K = kernels.PRESETS[name]
    assert K.shape == (3, 3) and K.dtype == torch.float32


@pytest.mark.parametrize(
    "K",
    [kernels.box_blur(1), kernels.box_blur(3), kernels.box_blur(6), kernels.gaussian_blur(5, 1.3),
     kernels.gaussian_blur(4, 0.7), kernels.identity(5), kernels.sharpen(), kernels.emboss()],
)
def test_brightness_preserving_kernels_sum_to_one(K):
    assert math.isclose(float(K.sum()), 1.0, abs_tol=1e-6)


@pytest.mark.parametrize("K", [kernels.sobel_x(), kernels.sobel_y(), kernels.laplacian()])
def test_derivative_kernels_sum_to_zero_and_kill_constants(K):
    assert float(K.sum()) == 0.0
    assert torch.equal(_apply(torch.full((6, 7), 3.5), K), torch.zeros(4, 5))


def test_gaussian_is_outer_product_of_1d_gaussian():
    size, sigma = 5, 1.3
    g = [math.exp(-((x - 2) ** 2) / (2 * sigma**2)) for x in range(size)]
    total = sum(g)
    expected = torch.tensor([[a * b / total**2 for b in g] for a in g], dtype=torch.float32)
    torch.testing.assert_close(kernels.gaussian_blur(size, sigma), expected)


def test_even_gaussian_is_symmetric_about_its_centre():
    K = kernels.gaussian_blur(4, 1.0)
    torch.testing.assert_close(K, K.flip(0))
    torch.testing.assert_close(K, K.flip(1))
    torch.testing.assert_close(K, K.t())


def test_box_blur_is_the_window_mean():
    X = torch.rand(9, 9)
    torch.testing.assert_close(_apply(X, kernels.box_blur(3)), F.avg_pool2d(X[None], 3, 1)[0])


def test_identity_copies_the_image():
    X = torch.rand(8, 8)
    torch.testing.assert_close(F.conv2d(X[None, None], kernels.identity(3)[None, None],
                                        padding=1)[0, 0], X)


def test_sobel_x_on_horizontal_ramp_is_constant():
    ramp = torch.arange(10.0).expand(7, 10)  # brightness grows by 1 per column
    # Each of the three rows sees (x + 1) - (x - 1) = 2, weighted 1 + 2 + 1.
    assert torch.equal(_apply(ramp, kernels.sobel_x()), torch.full((5, 8), 8.0))
    assert torch.equal(_apply(ramp, kernels.sobel_y()), torch.zeros(5, 8))


def test_sobel_y_on_vertical_ramp_is_constant():
    ramp = torch.arange(9.0).view(9, 1).expand(9, 6)
    assert torch.equal(_apply(ramp, kernels.sobel_y()), torch.full((7, 4), 8.0))


def test_laplacian_of_a_quadratic_is_constant():
    i = torch.arange(8.0).view(8, 1)
    j = torch.arange(8.0).view(1, 8)
    X = i**2 + 3 * j**2  # d2/di2 + d2/dj2 = 2 + 6
    assert torch.equal(_apply(X, kernels.laplacian()), torch.full((6, 6), 8.0))


def test_sharpen_is_identity_minus_laplacian():
    torch.testing.assert_close(kernels.sharpen(), kernels.identity(3) - kernels.laplacian())


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: kernels.box_blur(0), "size must be >= 1, got 0"),
        (lambda: kernels.gaussian_blur(3, 0.0), "sigma must be a finite number > 0, got 0.0"),
        (lambda: kernels.gaussian_blur(3, float("nan")), "sigma must be a finite number > 0"),
    ],
)
def test_bad_arguments(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_size_must_be_int():
    with pytest.raises(TypeError, match=r"size must be an int, got 2\.5"):
        kernels.identity(2.5)


def test_presets_hand_out_fresh_tensors():
    first = kernels.PRESETS["sobel_x"]
    first[0, 0] = 100.0  # a caller changes its copy ...
    assert float(kernels.PRESETS["sobel_x"][0, 0]) == -1.0  # ... and nobody else sees it
    assert kernels.PRESETS["identity"] is not kernels.PRESETS["identity"]
    for name, K in kernels.PRESETS.items():
        K.zero_()
        assert float(kernels.PRESETS[name].abs().sum()) > 0, name


def test_presets_mapping_and_unknown_name():
    assert list(kernels.PRESETS) == [
        "identity", "box_blur", "gaussian_blur", "sharpen", "sobel_x", "sobel_y", "laplacian",
        "emboss",
    ]
    assert len(kernels.PRESETS) == 8 and "emboss" in kernels.PRESETS
    assert "blurry" not in kernels.PRESETS
    with pytest.raises(KeyError, match="unknown kernel 'blurry'; choose one of identity"):
        kernels.PRESETS["blurry"]
