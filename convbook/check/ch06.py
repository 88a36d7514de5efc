"""Self-checks for the exercises of chapter 06 (receptive fields).

Each expected answer is *measured* on real torch layers, never computed with the book's
formulas or its :func:`convbook.receptive_field.receptive_field`: build the stack along
one axis (``conv1d`` with all-ones kernels, so that no gradient cancels, and average
pooling, which passes the gradient to every pixel of its window), backpropagate from
output units, and see which input pixels receive a gradient.  Weights are counted with
``numel`` on real ``nn.Conv2d`` layers.
"""

from __future__ import annotations

import functools

import torch
import torch.nn.functional as F
from torch import nn

from convbook.check._answers import as_int, as_int_list, judge_int, wrong_kind
from convbook.check._lang import tr
from convbook.check._result import CheckResult, verdict

#: (kind, kernel, stride, padding, dilation) of each layer, along one axis.
Layer = tuple[str, int, int, int, int]

# Exercise 1: conv 3, pool 2/2, conv 3, pool 2/2, conv 3.
MIXED_STACK: tuple[Layer, ...] = (
    ("conv", 3, 1, 0, 1), ("pool", 2, 2, 0, 1), ("conv", 3, 1, 0, 1), ("pool", 2, 2, 0, 1),
    ("conv", 3, 1, 0, 1),
)
# Exercise 3: four 3x3 convolutions with dilations 1, 2, 4, 8.
DILATIONS = (1, 2, 4, 8)
# Exercise 5: ResNet's stem, a 7x7 convolution (stride 2, padding 3), then 3x3 max pooling
# (stride 2, padding 1).
STEM: tuple[Layer, ...] = (("conv", 7, 2, 3, 1), ("pool", 3, 2, 1, 1))


def _forward(x: torch.Tensor, layers: tuple[Layer, ...]) -> torch.Tensor:
    for kind, k, s, p, d in layers:
        if kind == "conv":
            x = F.conv1d(x, torch.ones(1, 1, k, dtype=x.dtype), stride=s, padding=p, dilation=d)
        else:  # average pooling: the same window as max pooling, gradient to every pixel
            x = F.avg_pool1d(x, k, stride=s, padding=p)
    return x


def _fields(layers: tuple[Layer, ...], units: tuple[int, ...], n: int) -> list[range]:
    """The input pixels (first to last, inclusive) that each output unit depends on,
    measured with autograd on an input of length ``n``."""
    x = torch.zeros(1, 1, n, dtype=torch.float64, requires_grad=True)
    y = _forward(x, layers)
    found = []
    for unit in units:
        (grad,) = torch.autograd.grad(y[0, 0, unit], x, retain_graph=True)
        seen = grad[0, 0].nonzero().flatten()
        found.append(range(int(seen.min()), int(seen.max()) + 1))
    return found


@functools.cache
def _field_size(layers: tuple[Layer, ...], n: int = 400) -> int:
    """Receptive field, in pixels, of a unit in the middle of the output."""
    middle = _forward(torch.zeros(1, 1, n, dtype=torch.float64), layers).shape[-1] // 2
    return len(_fields(layers, (middle,), n)[0])


def mixed_stack(answer: object) -> CheckResult:
    """Exercise 1: receptive field of conv 3x3, max-pool 2x2 (stride 2), conv 3x3, max-pool
    2x2 (stride 2), conv 3x3 (all convolutions stride 1).

    Answer: an int, the receptive field in pixels.
    """
    expected = _field_size(MIXED_STACK)
    naive = 1 + sum(k - 1 for _, k, _, _, _ in MIXED_STACK)
    return judge_int(
        answer, expected, what=tr("the receptive field in pixels", "以像素计的感受野"),
        success=tr(f"{expected} pixels.", f"{expected} 个像素。"),
        hint=tr("walk forward: r += (k - 1) * j, then j *= s, starting from r = j = 1",
                "从前往后逐层推：r += (k - 1) * j，然后 j *= s，从 r = j = 1 开始"),
        typical={naive: tr(f"{naive} is what you get when each layer adds k - 1 pixels; a layer "
                           "after a stride-2 pooling adds (k - 1) times the product of the "
                           "strides before it",
                           f"每层都只加 k - 1 个像素才会得到 {naive}；步幅为 2 的汇聚之后的层，"
                           "要加 (k - 1) 乘以它之前所有步幅的乘积")},
    )


def layers_for_field(answer: object) -> CheckResult:
    """Exercise 2: the fewest stride-1 3x3 convolutions whose stack sees at least 100 pixels.

    Answer: an int, a number of layers.
    """
    conv3 = ("conv", 3, 1, 0, 1)
    expected = next(n for n in range(1, 200) if _field_size((conv3,) * n) >= 100)
    got = as_int(answer)
    if got is None:
        return wrong_kind(answer, tr("an int: a number of layers", "一个整数（层数）"))
    if 1 <= got < expected:
        seen = _field_size((conv3,) * got)
        hint = tr(f"{got} layers see only {seen} pixels", f"{got} 层只能看到 {seen} 个像素")
    elif got < 1:
        hint = tr("a stack has at least one layer", "一个堆叠至少有一层")
    else:
        hint = tr("fewer layers are enough: each stride-1 3x3 layer adds 2 pixels to r = 1",
                  "更少的层就够了：每个步幅为 1 的 3x3 层在 r = 1 的基础上增加 2 个像素")
    return verdict(got == expected, tr(f"{expected} layers: r = 1 + 2n >= 100.",
                                       f"{expected} 层：r = 1 + 2n >= 100。"), hint)


def dilated_stack(answer: object) -> CheckResult:
    """Exercise 3: receptive field of 3x3 convolutions with dilations 1, 2, 4, 8 (stride 1).

    Answer: an int, the receptive field in pixels.
    """
    expected = _field_size(tuple(("conv", 3, 1, 0, d) for d in DILATIONS))
    return judge_int(
        answer, expected, what=tr("the receptive field in pixels", "以像素计的感受野"),
        success=tr(f"{expected} pixels, from only 4 layers.", f"{expected} 个像素，只用了 4 层。"),
        hint=tr("add d(k - 1) = 2d per layer to r = 1",
                "从 r = 1 开始，每层加上 d(k - 1) = 2d"),
        typical={1 + 2 * len(DILATIONS): tr("a dilated kernel spans d(k - 1) + 1 pixels, not k",
                                            "空洞卷积核跨越 d(k - 1) + 1 个像素，而不是 k 个")},
    )


def weights_saved(answer: object, channels: int = 32) -> CheckResult:
    """Exercise 4: how many more weights one 7x7 convolution (``channels`` in and out, no
    bias) has than three stacked 3x3 convolutions with the same channels.

    Answer: an int, a number of weights.
    """
    one = sum(p.numel() for p in nn.Conv2d(channels, channels, 7, bias=False).parameters())
    three = sum(
        p.numel() for _ in range(3)
        for p in nn.Conv2d(channels, channels, 3, bias=False).parameters()
    )
    return judge_int(
        answer, one - three, what=tr("a number of weights", "权重的个数"),
        success=tr(f"{one - three} weights saved.", f"省下了 {one - three} 个权重。"),
        hint=tr(f"49 C^2 - 3 * 9 C^2 with C = {channels}",
                f"49 C^2 - 3 * 9 C^2，其中 C = {channels}"),
        typical={49 - 27: tr("count the channels: a k x k layer from C to C channels has "
                             "k * k * C * C weights",
                             "别忘了通道：从 C 个通道到 C 个通道的 k x k 层有 "
                             "k * k * C * C 个权重")},
    )


def stem_geometry(answer: object) -> CheckResult:
    """Exercise 5: receptive field ``r``, effective stride ``j`` and effective padding ``P``
    of the output units of ResNet's stem: a 7x7 convolution with stride 2 and padding 3,
    then 3x3 max pooling with stride 2 and padding 1.

    Measured: unit ``i`` sees input pixels ``i j - P`` to ``i j - P + r - 1``.

    Answer: a triple of ints, ``(r, j, P)``.
    """
    first, second = _fields(STEM, (10, 11), n=200)  # two units well inside the image
    j = second.start - first.start
    expected = [len(first), j, 10 * j - first.start]
    got = as_int_list(answer, length=3)
    if got is None:
        return wrong_kind(answer, tr("a triple of ints: (r, j, P)", "三个整数 (r, j, P)"))
    r, j, P = expected
    if got[0] != r:
        hint = (tr("r: the pooling adds (3 - 1) times the stride below it, 2, to the "
                   "convolution's 7",
                   "r：汇聚层在卷积的 7 之上，再加 (3 - 1) 乘以它下面的步幅 2")
                if got[0] == 7 + 2 else tr("r: walk forward, r += (k - 1) j, j *= s",
                                           "r：从前往后逐层推，r += (k - 1) j，j *= s"))
        return verdict(False, "", hint)
    if got[1] != j:
        return verdict(False, "", tr("j: the strides multiply, 2 x 2", "j：步幅要相乘，2 x 2"))
    return verdict(
        got[2] == P,
        tr(f"(r, j, P) = ({r}, {j}, {P}): unit i sees pixels {j}i - {P} to {j}i + {r - P - 1}",
           f"(r, j, P) = ({r}, {j}, {P})：单元 i 看到的是像素 {j}i - {P} 到 "
           f"{j}i + {r - P - 1}"),
        tr("P: each layer's padding counts in input pixels, p times the stride j below it: "
           "P += p j",
           "P：每层的填充都要换算成输入像素，即 p 乘以它下面的步幅 j：P += p j"),
    )
