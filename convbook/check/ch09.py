"""Self-checks for the exercises of chapter 09 (inside a trained CNN).

Each expected answer is computed here, without :mod:`convbook.explain` or
:mod:`convbook.receptive_field`: the receptive field by the forward recursion over
FastNet's layer list, Grad-CAM from its formula with plain tensor arithmetic, Spearman's
correlation from ``1 - 6 Σd² / (n(n² - 1))``, the forward passes by counting windows, the
positions of the class map by running a ``FastNet``'s layers on an empty photo.
"""

from __future__ import annotations

import math

import torch

from convbook.check._answers import judge_int
from convbook.check._result import CheckResult, verdict
from convbook.language import text
from convbook.models import FastNet

# (kernel, stride) of FastNet's convolutions and poolings up to the output of blocks.1
BLOCKS_1 = ((2, 1),  # the 2x2 whitening convolution
            (3, 1), (2, 2), (3, 1),  # blocks.0: conv1, pool, conv2
            (3, 1), (2, 2), (3, 1))  # blocks.1
# exercise 2: feature maps A (2 channels, 2x2) and the gradient of the score with respect to them
GRAD_CAM_A = (((1.0, 0.0), (2.0, -1.0)), ((0.0, 3.0), (1.0, 1.0)))
GRAD_CAM_G = (((0.5, 0.5), (0.5, 0.5)), ((-0.5, 0.0), (0.0, -0.5)))
# exercise 3: two saliency maps of four pixels each
MAP_A = (0.1, 0.4, 0.35, 0.8)
MAP_B = (0.2, 0.1, 0.5, 0.9)
# exercise 4: occlusion of a 32x32 image
IMAGE, WINDOW, STRIDE = 32, 8, 4
# exercise 7: the photo that the fully convolutional FastNet slides over
PHOTO = (96, 128)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _field(layers: tuple[tuple[int, int], ...]) -> tuple[int, int]:
    r, j = 1, 1
    for k, s in layers:
        r, j = r + (k - 1) * j, j * s
    return r, j


def block_field(answer: object) -> CheckResult:
    """Exercise 1: receptive field ``r`` and effective stride ``j`` of a unit of
    ``blocks.1``'s output, as ``(r, j)``."""
    expected = _field(BLOCKS_1)
    if not (isinstance(answer, (tuple, list)) and len(answer) == 2
            and all(_is_int(v) for v in answer)):
        return verdict(False, "", text("ch09.block_field.not_a_pair"))
    r, j = answer
    if (r, j) == expected:
        return verdict(True, text("ch09.block_field.success", r=expected[0], j=expected[1]), "")
    if j != expected[1]:
        return verdict(False, "", text("ch09.block_field.stride_doubles"))
    if r == 1 + sum(k - 1 for k, _ in BLOCKS_1):
        return verdict(False, "", text("ch09.block_field.strides_multiply"))
    if r == _field(BLOCKS_1[1:])[0]:
        return verdict(False, "", text("ch09.block_field.forgot_whitening"))
    return verdict(False, "", text("ch09.block_field.hint"))


def grad_cam_by_hand(answer: object) -> CheckResult:
    """Exercise 2: the Grad-CAM map ``ReLU(Σ_k α_k A^k)``, ``α_k`` the mean of ``∂S/∂A^k``,
    for :data:`GRAD_CAM_A` and :data:`GRAD_CAM_G`, as a 2x2 nested list."""
    A, G = torch.tensor(GRAD_CAM_A), torch.tensor(GRAD_CAM_G)
    alpha = G.mean(dim=(1, 2))
    weighted = (alpha[:, None, None] * A).sum(0)
    expected = weighted.clamp_min(0)
    try:
        got = torch.as_tensor(answer, dtype=torch.float32)
    except (TypeError, ValueError, RuntimeError):
        return verdict(False, "", text("ch09.grad_cam_by_hand.not_numbers"))
    if got.shape != (2, 2) or not torch.isfinite(got).all():
        return verdict(False, "", text("ch09.grad_cam_by_hand.wrong_shape"))
    if torch.allclose(got, expected, atol=1e-3):
        return verdict(True, text("ch09.grad_cam_by_hand.success", cam=expected.tolist(),
                                  alpha=alpha.tolist()), "")
    if torch.allclose(got, weighted, atol=1e-3):
        return verdict(False, "", text("ch09.grad_cam_by_hand.no_relu"))
    if torch.allclose(got, (G.sum(dim=(1, 2))[:, None, None] * A).sum(0).clamp_min(0),
                      atol=1e-3):
        return verdict(False, "", text("ch09.grad_cam_by_hand.summed_gradient"))
    if torch.allclose(got, (G * A).sum(0).clamp_min(0), atol=1e-3):
        return verdict(False, "", text("ch09.grad_cam_by_hand.not_averaged"))
    return verdict(False, "", text("ch09.grad_cam_by_hand.hint"))


def _ranks(values: tuple[float, ...]) -> list[int]:
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0] * len(values)
    for rank, i in enumerate(order, start=1):
        ranks[i] = rank
    return ranks


def rank_correlation(answer: object) -> CheckResult:
    """Exercise 3: Spearman's rank correlation of :data:`MAP_A` and :data:`MAP_B`."""
    ra, rb = _ranks(MAP_A), _ranks(MAP_B)
    n = len(ra)
    d2 = sum((a - b) ** 2 for a, b in zip(ra, rb))
    expected = 1 - 6 * d2 / (n * (n * n - 1))
    if isinstance(answer, bool) or not isinstance(answer, (int, float)) \
            or not math.isfinite(answer):
        return verdict(False, "", text("ch09.rank_correlation.not_a_number"))
    if abs(answer - expected) < 1e-3:
        return verdict(True, text("ch09.rank_correlation.success", rho=expected, ranks_a=ra,
                                  ranks_b=rb, sum_d2=d2), "")
    mean_a, mean_b = sum(MAP_A) / n, sum(MAP_B) / n
    cov = sum((a - mean_a) * (b - mean_b) for a, b in zip(MAP_A, MAP_B))
    pearson = cov / math.sqrt(sum((a - mean_a) ** 2 for a in MAP_A)
                              * sum((b - mean_b) ** 2 for b in MAP_B))
    if abs(answer - pearson) < 1e-3:
        return verdict(False, "", text("ch09.rank_correlation.pearson"))
    d1 = sum(abs(a - b) for a, b in zip(ra, rb))
    if abs(answer - (1 - 6 * d1 / (n * (n * n - 1)))) < 1e-3:
        return verdict(False, "", text("ch09.rank_correlation.unsquared"))
    return verdict(False, "", text("ch09.rank_correlation.hint"))


def occlusion_passes(answer: object) -> CheckResult:
    """Exercise 4: forward passes of ``occlusion(window=8, stride=4)`` for one 32x32 image,
    the unoccluded one included."""
    positions = sum(1 for _ in range(0, IMAGE - WINDOW + 1, STRIDE))
    expected = positions * positions + 1
    if not _is_int(answer):
        return verdict(False, "", text("ch09.occlusion_passes.not_an_int"))
    if answer == expected:
        return verdict(True, text("ch09.occlusion_passes.success", expected=expected,
                                  positions=positions), "")
    if answer == expected - 1:
        return verdict(False, "", text("ch09.occlusion_passes.forgot_unoccluded"))
    if answer in ((IMAGE // STRIDE) ** 2, (IMAGE // STRIDE) ** 2 + 1):
        return verdict(False, "", text("ch09.occlusion_passes.window_overhangs"))
    return verdict(False, "", text("ch09.occlusion_passes.hint"))


def class_map_positions(answer: object) -> CheckResult:
    """Exercise 7: how many positions (rows times columns) the fully convolutional FastNet's
    class map has for a :data:`PHOTO` (96 x 128) photo.

    Measured: a narrow ``FastNet`` (the same layers and strides) runs on an empty 32x32
    image, whose last feature map is the max pool's window, and on an empty photo, whose
    last feature map that window then slides over with stride 1.

    Answer: an int, a number of positions.
    """
    net = FastNet(widths=(2, 2, 2)).eval()
    with torch.no_grad():
        window = net.blocks(net.act(net.whiten(torch.zeros(1, 3, IMAGE, IMAGE)))).shape[2:]
        last = net.blocks(net.act(net.whiten(torch.zeros(1, 3, *PHOTO)))).shape[2:]
    rows, cols = (n - k + 1 for n, k in zip(last, window))
    h, w = PHOTO
    return judge_int(answer, rows * cols, "ch09.class_map_positions", rows=rows, cols=cols,
                     typical={(h // 8) * (w // 8): "no_crop", (h // 32) * (w // 32): "tiles",
                              ((h - 32) // 8) * ((w - 32) // 8): "fencepost"})
