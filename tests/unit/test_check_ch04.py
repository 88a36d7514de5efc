"""Chapter 4 self-checks: right answers pass, typical wrong ones fail with a hint."""

import torch
import torch.nn.functional as F
from shift_survival import pretrained_survivors

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


def test_exact_shift():
    assert ch04.exact_shift(8)  # three halvings: 2 * 2 * 2, by hand
    assert "first pooling" in ch04.exact_shift(1).message
    assert "halve the shift again" in ch04.exact_shift(2).message
    assert "strides multiply" in ch04.exact_shift(6).message
    assert "which is the first shift" in ch04.exact_shift(4).message
    assert not ch04.exact_shift(16)  # a shift that works, but not the smallest
    assert "a number of pixels" in ch04.exact_shift(None).message


def test_pretrained_shift_survival():
    survivors, right, n = pretrained_survivors()
    assert ch04.pretrained_shift_survival(survivors)
    assert f"{survivors} of {n}" in ch04.pretrained_shift_survival(survivors).message
    if right != survivors:
        assert "counts correct predictions" in ch04.pretrained_shift_survival(right).message
    if n - survivors != survivors:
        changed = ch04.pretrained_shift_survival(n - survivors)
        assert "prediction changed" in changed.message
    assert not ch04.pretrained_shift_survival(n + 1)
    assert "a number of images" in ch04.pretrained_shift_survival(None).message
