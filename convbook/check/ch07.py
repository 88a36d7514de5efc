"""Self-checks for chapter 07 (convolution variants).

Each expected answer is computed by torch (real layers' ``numel``, ``nn.ChannelShuffle``,
autograd, ``F.conv2d`` and ``torch.linalg.svd``), never by the book's own code.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from convbook.check._answers import as_int_list, as_number, judge_int, wrong_kind
from convbook.check._result import CheckResult, verdict
from convbook.images import photo

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
    return judge_int(
        answer, expected, what="depthwise weights plus pointwise weights",
        success=f"{expected}, about {standard / expected:.1f}× fewer than a standard 3×3 "
        "convolution",
        hint="depthwise: one 3×3 kernel per input channel; pointwise: C_in × C_out",
        typical={standard: "that is the standard 3×3 convolution; split it in two",
                 32 * 9: "that is only the depthwise part; add the 1×1 pointwise layer"},
    )


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
    return judge_int(
        answer, expected, what="each layer adds d(k - 1)",
        success=f"{expected}: 1 + 2·(1 + 2 + 4), exponential growth for linear cost",
        hint="start from 1 and add d(k - 1) for each layer",
        typical={7: "7 is three undilated 3×3 layers; a dilated layer adds d(k - 1)"},
    )


def shuffle_order(answer: object) -> CheckResult:
    """Exercise 3: after ``channel_shuffle(x, groups=3)`` on 6 channels, the original index of
    each output channel (a list of 6 ints).

    Answer: a list of 6 ints.
    """
    expected = nn.ChannelShuffle(3)(torch.arange(6.0).view(1, 6, 1, 1)).flatten().long().tolist()
    got = as_int_list(answer, length=6)
    if got is None:
        return wrong_kind(answer, "a list of 6 channel indices")
    if got == [0, 3, 1, 4, 2, 5]:
        return verdict(False, "", "that is the shuffle for 2 groups; here there are 3 groups of 2")
    return verdict(
        got == expected,
        f"{expected}: one channel from each group in turn",
        "write the channels as a 3×2 grid (one row per group), transpose, read row by row",
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
    got = as_number(answer)
    if got is None:
        return wrong_kind(answer, "a number: the relative error, e.g. 0.25")
    hint = ("keep the largest singular value: K ≈ S[0] U[:, 0] Vh[0]; apply the column, then "
            "the row, and divide the norm of the difference by the norm of the exact output")
    kernel_error = float((S[0] * torch.outer(U[:, 0], Vh[0]) - K).norm() / K.norm())
    if abs(got - kernel_error) < 1e-3:
        hint = "that is the error of the kernel itself; the exercise asks for the output's"
    return verdict(
        abs(got - expected) <= 1e-3 * max(1.0, expected),
        f"{expected:.3f}: the rank-1 pair keeps {float(S[0] ** 2 / (S ** 2).sum()):.0%} of "
        "the kernel's energy, but not all of the output",
        hint,
    )


def grouped_params(answer: object) -> CheckResult:
    """Exercise 5: weights (no biases) of ``nn.Conv2d(64, 128, 3, groups=8, bias=False)``.

    Answer: an int, a number of weights.
    """
    expected = nn.Conv2d(**GROUPED, bias=False).weight.numel()
    return judge_int(
        answer, expected, what="a number of weights",
        success=f"{expected:,}: 8 times fewer than without groups",
        hint="each output channel sees only C_in / groups input channels: "
        "128 × (64 / 8) × 3 × 3",
        typical={
            128 * 64 * 9: "that is the ungrouped layer; each output channel sees only 64 / 8 "
            "inputs",
            (128 // 8) * (64 // 8) * 9: "dividing by 8 once is enough: 128 × (64 / 8) × 3 × 3",
        },
    )
