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
from convbook.check._result import CheckResult, verdict
from convbook.language import text

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
    return judge_int(answer, expected, "ch06.mixed_stack", naive=naive,
                     typical={naive: "naive"})


def layers_for_field(answer: object) -> CheckResult:
    """Exercise 2: the fewest stride-1 3x3 convolutions whose stack sees at least 100 pixels.

    Answer: an int, a number of layers.
    """
    conv3 = ("conv", 3, 1, 0, 1)
    expected = next(n for n in range(1, 200) if _field_size((conv3,) * n) >= 100)
    got = as_int(answer)
    if got is None:
        return wrong_kind(answer, text("ch06.layers_for_field.what"))
    if 1 <= got < expected:
        seen = _field_size((conv3,) * got)
        hint = text("ch06.layers_for_field.too_few", got=got, seen=seen)
    elif got < 1:
        hint = text("ch06.layers_for_field.no_layers")
    else:
        hint = text("ch06.layers_for_field.too_many")
    return verdict(got == expected, text("ch06.layers_for_field.success", expected=expected),
                   hint)


def dilated_stack(answer: object) -> CheckResult:
    """Exercise 3: receptive field of 3x3 convolutions with dilations 1, 2, 4, 8 (stride 1).

    Answer: an int, the receptive field in pixels.
    """
    expected = _field_size(tuple(("conv", 3, 1, 0, d) for d in DILATIONS))
    return judge_int(answer, expected, "ch06.dilated_stack",
                     typical={1 + 2 * len(DILATIONS): "undilated"})


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
    return judge_int(answer, one - three, "ch06.weights_saved", channels=channels,
                     typical={49 - 27: "no_channels"})


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
        return wrong_kind(answer, text("ch06.stem_geometry.what"))
    r, j, P = expected
    if got[0] != r:
        hint = (text("ch06.stem_geometry.r_pooling") if got[0] == 7 + 2
                else text("ch06.stem_geometry.r_walk"))
        return verdict(False, "", hint)
    if got[1] != j:
        return verdict(False, "", text("ch06.stem_geometry.j_multiply"))
    return verdict(
        got[2] == P,
        text("ch06.stem_geometry.success", r=r, j=j, P=P, last=r - P - 1),
        text("ch06.stem_geometry.hint"),
    )
