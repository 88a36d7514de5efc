"""Self-checks for appendix A (from TensorFlow and Keras to PyTorch).

TensorFlow is not installed: each expected answer follows TensorFlow's documented rules
(``tf.nn``'s notes on padding: ``'SAME'`` gives ``ceil(n / s)`` outputs and puts the odd
extra padding after the input; Keras's ``deconv_output_length`` for ``Conv2DTranspose``),
evaluated here with torch, by counting the padding that a PyTorch convolution needs for that
output size, or by applying the reader's permutation to a tensor.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from convbook.check._answers import as_int_list, judge_int, wrong_kind
from convbook.check._result import CheckResult, verdict
from convbook.language import text

#: Exercise 1: a 7x7 Conv2D with strides 2 and padding='same' on 224x224.
SAME_INPUT, SAME_KERNEL, SAME_STRIDE = 224, 7, 2
#: Exercise 2: Conv2DTranspose(kernel_size=3, strides=2, padding='valid') on 16x16.
TRANSPOSE_INPUT, TRANSPOSE_KERNEL, TRANSPOSE_STRIDE = 16, 3, 2


def same_padding(answer: object) -> CheckResult:
    """Exercise 1: the padding ``(top, bottom)`` that TensorFlow adds for a 7x7 convolution
    with stride 2 and ``padding='same'`` on a 224x224 input.

    Answer: a pair of ints, ``(top, bottom)``.
    """
    n, k, s = SAME_INPUT, SAME_KERNEL, SAME_STRIDE
    wanted = math.ceil(n / s)  # 'SAME': ceil(n / s) outputs
    # The least total padding with which a torch convolution gives that many outputs...
    total = next(t for t in range(2 * k) if F.conv1d(
        torch.zeros(1, 1, n + t), torch.zeros(1, 1, k), stride=s).shape[-1] == wanted)
    expected = [total // 2, total - total // 2]  # ...with the odd extra after the input
    got = as_int_list(answer, length=2)
    if got is None:
        return wrong_kind(answer, text("ch90.same_padding.what"))
    if got == expected[::-1]:
        return verdict(False, "", text("ch90.same_padding.extra_on_top"))
    if got == [(k - 1) // 2] * 2:
        return verdict(False, "", text("ch90.same_padding.pytorch_padding"))
    return verdict(
        got == expected,
        text("ch90.same_padding.success", padding=tuple(expected), outputs=wanted, total=total),
        text("ch90.same_padding.hint"),
    )


def transpose_size(answer: object) -> CheckResult:
    """Exercise 2: the output height of Keras's ``Conv2DTranspose(filters, kernel_size=3,
    strides=2, padding='valid')`` on a 16x16 input (no ``output_padding``).

    Answer: an int, the output height.
    """
    n, k, s = TRANSPOSE_INPUT, TRANSPOSE_KERNEL, TRANSPOSE_STRIDE
    # Keras's rule for 'valid' without output_padding is n * s + max(k - s, 0): every input
    # places a k-wide kernel s apart, nothing is cropped.  For k >= s that is the torch layer.
    with torch.no_grad():
        full = F.conv_transpose2d(torch.zeros(1, 1, n, n), torch.zeros(1, 1, k, k), stride=s)
    expected = full.shape[-1]
    return judge_int(answer, expected, "ch90.transpose_size", typical={n * s: "same_padding"})


def nhwc_to_nchw(answer: object) -> CheckResult:
    """Exercise 3: the dimension order to pass to ``x.permute(...)`` that turns a TensorFlow
    batch ``(N, H, W, C)`` into PyTorch's ``(N, C, H, W)``.

    Answer: a list of 4 ints.
    """
    got = as_int_list(answer, length=4)
    if got is None or sorted(got) != [0, 1, 2, 3]:
        return wrong_kind(answer, text("ch90.nhwc_to_nchw.what"))
    nchw = torch.arange(2 * 3 * 4 * 5).reshape(2, 3, 4, 5)  # N=2, C=3, H=4, W=5
    nhwc = nchw.permute(0, 2, 3, 1).contiguous()  # the same numbers, channels last
    result = nhwc.permute(*got)
    if result.shape == nchw.shape and torch.equal(result, nchw):
        return verdict(True, text("ch90.nhwc_to_nchw.success", order=tuple(got)), "")
    if got == [0, 2, 3, 1]:
        return verdict(False, "", text("ch90.nhwc_to_nchw.reversed"))
    return verdict(False, "", text("ch90.nhwc_to_nchw.hint", shape=tuple(result.shape)))
