"""convbook.check.ch07: right answers pass, typical wrong ones fail with a hint."""

from __future__ import annotations

import torch

from convbook.check import ch07
from convbook.images import photo
from convbook.ops import conv2d


def test_separable_params():
    assert ch07.separable_params(32 * 9 + 32 * 64)  # worked by hand: 2336
    for wrong, hint in [(32 * 64 * 9, "standard"), (288, "pointwise"), (None, "int"),
                        (2000, "depthwise")]:
        result = ch07.separable_params(wrong)
        assert not result and hint in result.message


def test_dilated_receptive_field():
    assert ch07.dilated_receptive_field(15)  # 1 + 2 * (1 + 2 + 4)
    assert "undilated" in ch07.dilated_receptive_field(7).message
    assert not ch07.dilated_receptive_field(13)
    assert not ch07.dilated_receptive_field("15")


def test_shuffle_order():
    assert ch07.shuffle_order([0, 2, 4, 1, 3, 5])  # 3 groups of 2, by hand
    assert "2 groups" in ch07.shuffle_order([0, 3, 1, 4, 2, 5]).message
    assert not ch07.shuffle_order([0, 1, 2, 3, 4, 5])
    assert not ch07.shuffle_order(None)


def _rank1_error(kernel_relative=False):
    """The exercise worked with the book's conv2d and a rank-1 pair from an SVD in float32."""
    K = ch07.RANK1_KERNEL
    U, S, Vh = torch.linalg.svd(K)
    col, row = (U[:, 0] * S[0]).reshape(1, 1, 3, 1), Vh[0].reshape(1, 1, 1, 3)
    if kernel_relative:
        return float((S[0] * torch.outer(U[:, 0], Vh[0]) - K).norm() / K.norm())
    X = photo("camera", size=128)[None, None]
    Y = conv2d(X, K[None, None])
    return float((conv2d(conv2d(X, col), row) - Y).norm() / Y.norm())


def test_rank1_error():
    right = _rank1_error()
    assert 0.05 < right < 1
    assert ch07.rank1_error(right)
    assert ch07.rank1_error(round(right, 4))
    kernel = _rank1_error(kernel_relative=True)
    assert "error of the kernel itself" in ch07.rank1_error(kernel).message
    assert not ch07.rank1_error(right * 1.1)
    assert not ch07.rank1_error(0.0)
    assert "a number" in ch07.rank1_error("small").message


def test_grouped_params():
    assert ch07.grouped_params(128 * 8 * 3 * 3)  # C_out * (C_in / g) * k * k, by hand
    assert "ungrouped" in ch07.grouped_params(128 * 64 * 9).message
    assert "once is enough" in ch07.grouped_params(16 * 8 * 9).message
    assert not ch07.grouped_params(128 * 8 * 3 * 3 + 128)  # with biases
    assert not ch07.grouped_params(None)
