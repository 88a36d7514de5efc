"""Chapter 1 self-checks: right answers pass, typical wrong answers fail with a useful hint."""

from __future__ import annotations

import pytest
import torch

from convbook.check import ch01


@pytest.mark.parametrize(
    "check",
    [ch01.output_shape, ch01.fc_parameters, ch01.weight_counts, ch01.diagonal_edge_kernel,
     ch01.second_derivative_kernel, ch01.corr2d_by_hand],
)
def test_placeholder_none_is_not_yet(check):
    result = check(None)
    assert not result and "None" in result.message
    assert repr(result).startswith("❌ Not yet")


def test_output_shape():
    assert ch01.output_shape((220, 178))  # 224 - 5 + 1, 180 - 3 + 1
    assert ch01.output_shape([220, 178])
    assert "off by one" in ch01.output_shape((219, 177)).message
    assert "swapped" in ch01.output_shape((178, 220)).message
    assert not ch01.output_shape((224, 180))
    assert "pair of ints" in ch01.output_shape(220).message
    assert ch01.output_shape((220.0, 178))
    assert not ch01.output_shape((True, 178))


def test_fc_parameters():
    weights = 640 * 480 * 3 * 1000
    assert ch01.fc_parameters(weights + 1000)
    assert "add one bias" in ch01.fc_parameters(weights).message
    assert "3 colour channels" in ch01.fc_parameters(640 * 480 * 1000 + 1000).message
    assert not ch01.fc_parameters(3_600_000_000)
    assert "an int" in ch01.fc_parameters("many").message
    assert ch01.fc_parameters(float(weights + 1000))


def test_weight_counts():
    # 28x28 -> 28x28: 784 * 784 weights; offsets -27..27 (55 values) per axis; -2..2 (5).
    right = [784 * 784, 55 * 55, 5 * 5]
    assert ch01.weight_counts(right)
    assert ch01.weight_counts(tuple(float(c) for c in right))
    assert "784 output pixels" in ch01.weight_counts([784, 3025, 25]).message
    assert "above or to the left" in ch01.weight_counts([614656, 784, 25]).message
    assert "from -27 to 27" in ch01.weight_counts([614656, 54 * 54, 25]).message
    assert "from -2 to 2" in ch01.weight_counts([614656, 3025, 9]).message
    assert "three ints" in ch01.weight_counts([614656, 3025]).message
    assert not ch01.weight_counts([614656, 3025, 25.5])


@pytest.mark.parametrize(
    "K",
    [[[1.0, 0.0], [0.0, -1.0]], [[-2.0, 0.0], [0.0, 2.0]]],  # Roberts cross and a multiple
)
def test_diagonal_edge_kernel_accepts_main_diagonal_differences(K):
    assert ch01.diagonal_edge_kernel(torch.tensor(K))


def test_diagonal_edge_kernel_accepts_a_3x3_difference():
    assert ch01.diagonal_edge_kernel([[1.0, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, -1.0]])


@pytest.mark.parametrize("size", [6, 9, 31])
def test_diagonal_edge_kernel_accepts_kernels_of_any_size(size):
    # the difference along the main diagonal, spread over a size x size kernel
    K = torch.zeros(size, size)
    K[0, 0], K[-1, -1] = 1.0, -1.0
    assert ch01.diagonal_edge_kernel(K)
    assert "sum to 0" in ch01.diagonal_edge_kernel(torch.ones(size, size)).message


@pytest.mark.parametrize(
    "K, hint",
    [
        ([[1.0, 1.0], [1.0, 1.0]], "sum to 0"),
        ([[0.0, 1.0], [-1.0, 0.0]], "does not respond to the anti-diagonal"),
        ([[1.0, -1.0]], "also fires on the main-diagonal"),  # vertical-edge kernel
        ([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]], "also fires"),  # Sobel x
        (torch.ones(6, 6), "sum to 0"),
        (torch.ones(2, 2, 2), "a 2D kernel"),
        ([[float("nan")]], "finite"),
    ],
)
def test_diagonal_edge_kernel_rejects(K, hint):
    result = ch01.diagonal_edge_kernel(K)
    assert not result and hint in result.message


def test_second_derivative_kernel():
    assert ch01.second_derivative_kernel(torch.tensor([[1.0, -2.0, 1.0]]))
    assert ch01.second_derivative_kernel([1, -2, 1])
    assert "sign is flipped" in ch01.second_derivative_kernel([-1, 2, -1]).message
    assert "column" in ch01.second_derivative_kernel([[1.0], [-2.0], [1.0]]).message
    assert not ch01.second_derivative_kernel([1.0, -1.0, 0.0])  # a first difference
    assert not ch01.second_derivative_kernel([1.0, -2.0])


def test_corr2d_by_hand():
    X, K = ch01.HAND_X, ch01.HAND_K
    # Worked by hand: Y[i, j] = sum of X[i:i+2, j:j+2] * K.
    expected = [[1 * 1 + 2 * -1 + 0 * 0 + 1 * 2, 2 * 1 + 0 * -1 + 1 * 0 + 3 * 2],
                [0 * 1 + 1 * -1 + 2 * 0 + 1 * 2, 1 * 1 + 3 * -1 + 1 * 0 + 1 * 2]]
    assert ch01.corr2d_by_hand(expected)
    assert ch01.corr2d_by_hand(torch.tensor(expected))
    flipped = torch.nn.functional.conv2d(X[None, None], K.flip(0, 1)[None, None])[0, 0]
    assert "flipped kernel" in ch01.corr2d_by_hand(flipped).message
    wrong = [row[:] for row in expected]
    wrong[1][0] += 1
    assert "Y[1, 0] is off" in ch01.corr2d_by_hand(wrong).message
    assert "2×2" in ch01.corr2d_by_hand([[1.0, 8.0, 0.0]]).message
