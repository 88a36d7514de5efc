"""Self-checks for chapter 07 (convolution variants).

Each expected answer is computed by torch (real layers' ``numel``, ``nn.ChannelShuffle``,
autograd, ``F.conv2d`` and ``torch.linalg.svd``), never by the book's own code.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from convbook.check._answers import as_int_list, judge_int, judge_number, wrong_kind
from convbook.check._result import CheckResult, verdict
from convbook.images import photo
from convbook.language import text

#: Exercise 4: the kernel to approximate, and the photo to filter.
RANK1_KERNEL = torch.tensor([[1.0, 2.0, 0.0], [-1.0, 0.0, 1.0], [0.0, 1.0, 3.0]])
RANK1_PHOTO = {"name": "camera", "size": 128}
#: Exercise 5: a grouped layer.
GROUPED = {"in_channels": 64, "out_channels": 128, "kernel_size": 3, "groups": 8}


def separable_params(answer: object) -> CheckResult:
    """Exercise 1: parameters (no biases) of a depthwise separable convolution from 32 to 64
    channels with a 3×3 depthwise kernel.

    Answer: an int, a number of weights.
    """
    depthwise = nn.Conv2d(32, 32, 3, groups=32, bias=False)
    pointwise = nn.Conv2d(32, 64, 1, bias=False)
    expected = sum(p.numel() for m in (depthwise, pointwise) for p in m.parameters())
    standard = nn.Conv2d(32, 64, 3, bias=False).weight.numel()
    return judge_int(answer, expected, "ch07.separable_params", ratio=standard / expected,
                     typical={standard: "standard", 32 * 9: "depthwise_only"})


def dilated_receptive_field(answer: object) -> CheckResult:
    """Exercise 2: the receptive field (width in pixels) of three stacked 3×3 convolutions
    with dilations 1, 2 and 4.

    Answer: an int, a width in pixels.
    """
    x = torch.zeros(1, 1, 41, 41, requires_grad=True)
    y = x
    for d in (1, 2, 4):
        y = nn.functional.conv2d(y, torch.ones(1, 1, 3, 3), dilation=d)
    c = y.shape[-1] // 2
    (grad,) = torch.autograd.grad(y[0, 0, c, c], x)
    cols = grad[0, 0].abs().sum(0).nonzero()
    expected = int(cols.max() - cols.min() + 1)
    return judge_int(answer, expected, "ch07.dilated_receptive_field",
                     typical={7: "undilated"})


def shuffle_order(answer: object) -> CheckResult:
    """Exercise 3: after ``channel_shuffle(x, groups=3)`` on 6 channels, the original index of
    each output channel (a list of 6 ints).

    Answer: a list of 6 ints.
    """
    expected = nn.ChannelShuffle(3)(torch.arange(6.0).view(1, 6, 1, 1)).flatten().long().tolist()
    got = as_int_list(answer, length=6)
    if got is None:
        return wrong_kind(answer, text("ch07.shuffle_order.what"))
    if got == [0, 3, 1, 4, 2, 5]:
        return verdict(False, "", text("ch07.shuffle_order.two_groups"))
    return verdict(
        got == expected,
        text("ch07.shuffle_order.success", expected=expected),
        text("ch07.shuffle_order.hint"),
    )


def rank1_error(answer: object) -> CheckResult:
    """Exercise 4: the relative error ``‖Y_rank1 - Y‖ / ‖Y‖`` (Frobenius norms) on the camera
    photo (128 pixels) when :data:`RANK1_KERNEL` is replaced by its best rank-1
    approximation, applied as a 3×1 then a 1×3 convolution (no padding).

    Answer: a number, the relative error.
    """
    K = RANK1_KERNEL.double()
    U, S, Vh = torch.linalg.svd(K)
    u, v = U[:, 0] * S[0], Vh[0]  # the best rank-1 approximation is S[0] u v^T
    X = photo(**RANK1_PHOTO).double()[None, None]
    Y = F.conv2d(X, K[None, None])
    Y1 = F.conv2d(F.conv2d(X, u.reshape(1, 1, 3, 1)), v.reshape(1, 1, 1, 3))
    expected = float((Y1 - Y).norm() / Y.norm())
    kernel_error = float((S[0] * torch.outer(U[:, 0], Vh[0]) - K).norm() / K.norm())
    energy = float(S[0] ** 2 / (S ** 2).sum())
    return judge_number(answer, expected, "ch07.rank1_error", tolerance=1e-3, energy=energy,
                        typical={kernel_error: "kernel_error"})


def grouped_params(answer: object) -> CheckResult:
    """Exercise 5: weights (no biases) of ``nn.Conv2d(64, 128, 3, groups=8, bias=False)``.

    Answer: an int, a number of weights.
    """
    expected = nn.Conv2d(**GROUPED, bias=False).weight.numel()
    return judge_int(answer, expected, "ch07.grouped_params",
                     typical={128 * 64 * 9: "ungrouped",
                              (128 // 8) * (64 // 8) * 9: "divided_twice"})
