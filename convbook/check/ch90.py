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
from convbook.check._lang import tr
from convbook.check._result import CheckResult, verdict

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
        return wrong_kind(answer, tr("a pair of ints: (top, bottom)", "一对整数 (上, 下)"))
    if got == expected[::-1]:
        return verdict(False, "", tr("TensorFlow puts the odd extra row at the bottom (after the "
                                     "input), not the top",
                                     "TensorFlow 把多出的那一行放在底部（输入之后），"
                                     "而不是顶部"))
    if got == [(k - 1) // 2] * 2:
        return verdict(False, "", tr("that is PyTorch's padding=3, which keeps the size only at "
                                     "stride 1; at stride 2 'same' needs only enough padding for "
                                     "ceil(224 / 2) = 112 outputs",
                                     "这是 PyTorch 的 padding=3，它只在步幅为 1 时保持尺寸不变；"
                                     "步幅为 2 时，'same' 只需要够得到 ceil(224 / 2) = 112 "
                                     "个输出的填充"))
    return verdict(
        got == expected,
        tr(f"{tuple(expected)}: {wanted} outputs need (112 - 1) * 2 + 7 = 229 rows, "
           f"{total} more than 224, split with the extra one at the bottom",
           f"{tuple(expected)}：{wanted} 个输出需要 (112 - 1) * 2 + 7 = 229 行，"
           f"比 224 多 {total} 行，分到上下两侧，多出的一行放在底部"),
        tr("out = ceil(n / s); total padding = max((out - 1) s + k - n, 0); top = total // 2",
           "out = ceil(n / s)；总填充 total = max((out - 1) s + k - n, 0)；"
           "顶部 top = total // 2"),
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
    return judge_int(
        answer, expected, what=tr("the output height", "输出的高度"),
        success=tr(f"{expected} = (16 - 1) * 2 + 3", f"输出高度 {expected} = (16 - 1) * 2 + 3"),
        hint=tr("'valid' crops nothing: (n - 1) s + k", "'valid' 不做任何裁剪：(n - 1) s + k"),
        typical={n * s: tr("n * s is the size with padding='same'; 'valid' keeps the whole last "
                           "kernel",
                           "n * s 是 padding='same' 时的尺寸；'valid' 会保留最后一个卷积核"
                           "覆盖的全部范围")},
    )


def nhwc_to_nchw(answer: object) -> CheckResult:
    """Exercise 3: the dimension order to pass to ``x.permute(...)`` that turns a TensorFlow
    batch ``(N, H, W, C)`` into PyTorch's ``(N, C, H, W)``.

    Answer: a list of 4 ints.
    """
    got = as_int_list(answer, length=4)
    if got is None or sorted(got) != [0, 1, 2, 3]:
        return wrong_kind(answer, tr("4 ints, each of 0, 1, 2, 3 once, e.g. (0, 1, 2, 3)",
                                     "四个整数，0、1、2、3 各出现一次，例如 (0, 1, 2, 3)"))
    nchw = torch.arange(2 * 3 * 4 * 5).reshape(2, 3, 4, 5)  # N=2, C=3, H=4, W=5
    nhwc = nchw.permute(0, 2, 3, 1).contiguous()  # the same numbers, channels last
    result = nhwc.permute(*got)
    if result.shape == nchw.shape and torch.equal(result, nchw):
        return verdict(True, tr(f"{tuple(got)}: dimension 3 (C) goes second",
                                f"{tuple(got)}：第 3 维（C）放到第二位"), "")
    if got == [0, 2, 3, 1]:
        return verdict(False, "", tr("that is the other way round, NCHW to NHWC: permute lists, "
                                     "for each new dimension, which old one goes there",
                                     "方向反了，这是从 NCHW 到 NHWC：permute 的参数按新维度的"
                                     "顺序，列出每个位置放的是哪个旧维度"))
    return verdict(False, "", tr(f"that gives shape {tuple(result.shape)} from (N, H, W, C) = "
                                 "(2, 4, 5, 3); the result must be (N, C, H, W) = (2, 3, 4, 5)",
                                 f"这会把 (N, H, W, C) = (2, 4, 5, 3) 变成形状 "
                                 f"{tuple(result.shape)}；结果必须是 (N, C, H, W) = (2, 3, 4, 5)"))
