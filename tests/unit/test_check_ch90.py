"""Appendix A self-checks: right answers pass, typical wrong ones fail with a hint."""

import torch

from convbook.check import ch90


def test_same_padding():
    # By hand, TensorFlow's rule: out = ceil(224 / 2) = 112, total = (112 - 1) * 2 + 7 - 224 = 5,
    # top = 5 // 2 = 2, bottom = 3.
    assert ch90.same_padding((2, 3))
    assert ch90.same_padding([2.0, 3])
    assert "bottom" in ch90.same_padding((3, 2)).message
    assert "PyTorch's padding=3" in ch90.same_padding((3, 3)).message
    assert not ch90.same_padding((2, 2))
    assert "pair of ints" in ch90.same_padding(5).message


def test_transpose_size():
    assert ch90.transpose_size(33)  # Keras: 16 * 2 + max(3 - 2, 0), by hand
    assert "padding='same'" in ch90.transpose_size(32).message
    assert not ch90.transpose_size(31)
    assert not ch90.transpose_size(None)


def test_keras_valid_rule_is_torch_without_padding():
    # Keras's deconv_output_length for 'valid' and output_padding=None, n * s + max(k - s, 0),
    # equals torch's (n - 1) s + k whenever k >= s.
    for n in range(1, 6):
        for k in range(1, 6):
            for s in range(1, k + 1):
                out = torch.nn.functional.conv_transpose1d(
                    torch.zeros(1, 1, n), torch.zeros(1, 1, k), stride=s).shape[-1]
                assert out == n * s + max(k - s, 0)


def test_nhwc_to_nchw():
    assert ch90.nhwc_to_nchw((0, 3, 1, 2))
    assert ch90.nhwc_to_nchw(torch.tensor([0, 3, 1, 2]))
    assert "other way round" in ch90.nhwc_to_nchw([0, 2, 3, 1]).message
    assert "(2, 3, 4, 5)" in ch90.nhwc_to_nchw([0, 3, 2, 1]).message  # H and W swapped
    assert "each of 0, 1, 2, 3 once" in ch90.nhwc_to_nchw([0, 3, 3, 1]).message
    assert not ch90.nhwc_to_nchw(None)
