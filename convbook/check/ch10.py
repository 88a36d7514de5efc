"""Self-checks for chapter 10 (how a convolution is computed fast, and the roofline).

Each expected answer is worked out here, independently of the book's code: Winograd's
count from the size of a transformed tile, a layer's multiply-accumulates by torch's
``FlopCounterMode`` on a real ``nn.Conv2d``, its intensity from the bytes of the real
tensors, and the FFT crossover from the chapter's operation counts, written out again.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from convbook.check._answers import judge_int, judge_number
from convbook.check._result import CheckResult

#: Exercise 1: Winograd F(m×m, r×r) with these m and r.
WINOGRAD = {"m": 4, "r": 3}
#: Exercises 2 and 3: a layer of FastNet (its second block's first convolution) and its input.
LAYER = {"in_channels": 32, "out_channels": 128, "kernel_size": 3, "padding": 1}
LAYER_INPUT = (1, 32, 15, 15)
#: Exercise 4: a layer with this many input and output channels on a square image of this
#: size, 'same' padding, batch 1.
CROSSOVER = {"channels": 16, "size": 32}


def winograd_multiplications(answer: object) -> CheckResult:
    """Exercise 1: multiplications of Winograd F(4×4, 3×3) per output tile and per pair of
    input and output channels.

    Answer: an int, a number of multiplications.
    """
    m, r = WINOGRAD["m"], WINOGRAD["r"]
    side = m + r - 1  # m outputs of an r-tap filter read m + r - 1 inputs
    expected = side * side  # one product per entry of the transformed tile
    direct = m * m * r * r  # m·m outputs, r·r products each
    return judge_int(answer, expected, "ch10.winograd_multiplications", direct=direct,
                     ratio=direct / expected,
                     typical={direct: "direct", side: "one_axis", 16: "f2x2"})


def _layer_run() -> tuple[int, int]:
    """FLOPs (torch's count) and bytes of input, weights and output of :data:`LAYER`."""
    conv = nn.Conv2d(**LAYER, bias=False)
    x = torch.zeros(LAYER_INPUT)
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        y = conv(x)
    moved = sum(t.numel() * t.element_size() for t in (x, conv.weight, y))
    return counter.get_total_flops(), moved


def layer_macs(answer: object) -> CheckResult:
    """Exercise 2: multiply-accumulates of ``nn.Conv2d(32, 128, 3, padding=1)`` on one
    32×15×15 input.

    Answer: an int, a number of multiply-accumulates.
    """
    flops, _ = _layer_run()
    expected = flops // 2  # torch counts a multiply-add as 2 FLOPs
    unpadded = expected * 13 * 13 // (15 * 15)
    return judge_int(answer, expected, "ch10.layer_macs",
                     typical={flops: "flops", unpadded: "no_padding"})


def layer_intensity(answer: object) -> CheckResult:
    """Exercise 3: arithmetic intensity (FLOP per byte, float32) of the layer of exercise 2
    on one input, its input and weights read once and its output written once.

    Answer: a number, FLOP per byte.
    """
    flops, moved = _layer_run()
    expected = flops / moved
    return judge_number(answer, expected, "ch10.layer_intensity", tolerance=0.1,
                        typical={expected / 2: "macs", expected * 4: "elements",
                                 expected * 2: "bfloat16"})


def fft_crossover(answer: object) -> CheckResult:
    """Exercise 4: the smallest odd kernel size ``k`` for which the FFT method's operation
    count is below the direct method's, for ``C_in = C_out = 16`` on a 32×32 image, batch 1,
    padding ``k // 2`` (the counts of the chapter's section on the FFT).

    Answer: an int, a kernel size.
    """
    c, n = CROSSOVER["channels"], CROSSOVER["size"]
    expected = None
    for k in range(1, 4 * n, 2):
        side = n + 2 * (k // 2)  # the padded image, the transforms' size
        points = side * side
        transforms = (c + c * c + c) * 2.5 * points * math.log2(points)
        products = 8 * c * c * side * (side // 2 + 1)
        direct = 2 * c * c * k * k * n * n  # the output is n × n
        if transforms + products < direct:
            expected = k
            break
    assert expected is not None
    return judge_int(answer, expected, "ch10.fft_crossover",
                     typical={3: "three", expected + 2: "next"})
