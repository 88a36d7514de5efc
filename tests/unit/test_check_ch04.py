"""Chapter 4 self-checks: right answers pass, typical wrong ones fail with a hint."""

import torch
import torch.nn.functional as F

from convbook.check import ch04


def test_pool_output_size():
    assert ch04.pool_output_size(56)  # floor((112 + 2 - 3) / 2) + 1 = 56, by hand
    assert "stride 1" in ch04.pool_output_size(112).message
    assert not ch04.pool_output_size(55)
    assert not ch04.pool_output_size(None)


def test_max_pool_values():
    assert ch04.max_pool_values([[6, 5], [7, 9]])  # the maxima of the 2x2 blocks, by hand
    assert ch04.max_pool_values(torch.tensor([[6.0, 5.0], [7.0, 9.0]]))
    assert not ch04.max_pool_values([[6, 6], [9, 9]])
    stride_one = [[6, 6, 5], [7, 9, 9], [7, 9, 9]]
    assert "stride 1" in ch04.max_pool_values(stride_one).message
    assert not ch04.max_pool_values("six")
    assert not ch04.max_pool_values(None)


def test_pooling_reads():
    assert ch04.pooling_reads(64 * 56 * 56 * 9)  # 56 = floor((112 + 2 - 3) / 2) + 1, by hand
    assert "stride 1" in ch04.pooling_reads(64 * 112 * 112 * 9).message
    assert "multiply by c" in ch04.pooling_reads(56 * 56 * 9).message
    assert not ch04.pooling_reads(64 * 56 * 56)  # windows, not elements
    assert not ch04.pooling_reads(None)


def test_min_pool():
    assert ch04.min_pool(lambda X, k: -F.max_pool2d(-X, k))
    loop = ch04.min_pool(  # a slow but right answer: amin over unfolded windows
        lambda X, k: F.unfold(X, k, stride=k).reshape(*X.shape[:2], k * k,
                                                      X.shape[2] // k, X.shape[3] // k).amin(2)
    )
    assert loop
    assert "sign is flipped" in ch04.min_pool(lambda X, k: F.max_pool2d(-X, k)).message
    assert "wrong values" in ch04.min_pool(lambda X, k: F.avg_pool2d(X, k)).message
    assert "output is" in ch04.min_pool(lambda X, k: -F.max_pool2d(-X, k, stride=1)).message
    assert "fn raised" in ch04.min_pool(lambda X, k: F.max_pool2d(X)).message
    assert "a function" in ch04.min_pool(None).message
