"""Self-checks for the exercises of chapter 09 (inside a trained CNN).

Each expected answer is computed here, without :mod:`convbook.explain` or
:mod:`convbook.receptive_field`: the receptive field by the forward recursion over
FastNet's layer list, Grad-CAM from its formula with plain tensor arithmetic, Spearman's
correlation from ``1 - 6 Σd² / (n(n² - 1))``, the forward passes by counting windows.
"""

from __future__ import annotations

import math

import torch

from convbook.check._lang import tr
from convbook.check._result import CheckResult, verdict

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
        return verdict(False, "", tr("answer with a pair of ints: (r, j), in input pixels",
                                     "答案应是一对整数 (r, j)，以输入像素计"))
    r, j = answer
    if (r, j) == expected:
        return verdict(True, tr(f"r = {expected[0]} pixels, j = {expected[1]}: the layer "
                                "explorer's box for blocks.1 has that size, and moves 4 pixels "
                                "per unit.",
                                f"r = {expected[0]} 个像素，j = {expected[1]}：层浏览器里 "
                                "blocks.1 的方框就是这么大，每个单元移动 4 个像素。"), "")
    if j != expected[1]:
        return verdict(False, "", tr("j doubles at each 2x2 pooling with stride 2, and blocks.1's "
                                     "output comes after two of them",
                                     "每经过一个步幅为 2 的 2x2 汇聚，j 就翻一倍，"
                                     "而 blocks.1 的输出在两个这样的汇聚之后"))
    if r == 1 + sum(k - 1 for k, _ in BLOCKS_1):
        return verdict(False, "", tr("a layer adds (k - 1) times the effective stride j of its "
                                     "input, not k - 1: the strides below it multiply",
                                     "一层增加的是 (k - 1) 乘以其输入的等效步幅 j，而不是 k - 1："
                                     "它下面各层的步幅要相乘"))
    if r == _field(BLOCKS_1[1:])[0]:
        return verdict(False, "", tr("count the 2x2 whitening convolution too: it adds 1 pixel",
                                     "把 2x2 的白化卷积也算上：它增加 1 个像素"))
    return verdict(False, "", tr("walk forward from r = j = 1: r += (k - 1) j, then j *= s",
                                 "从 r = j = 1 开始从前往后逐层推：r += (k - 1) j，然后 j *= s"))


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
        return verdict(False, "", tr("answer with a 2x2 nested list of numbers",
                                     "答案应是一个 2x2 的数字嵌套列表"))
    if got.shape != (2, 2) or not torch.isfinite(got).all():
        return verdict(False, "", tr("answer with a 2x2 nested list of numbers: one per position",
                                     "答案应是一个 2x2 的数字嵌套列表：每个位置一个数"))
    if torch.allclose(got, expected, atol=1e-3):
        return verdict(True, tr(f"{expected.tolist()}: α = {alpha.tolist()}; the ReLU keeps only "
                                "the evidence for the class.",
                                f"{expected.tolist()}：α = {alpha.tolist()}；ReLU 只保留支持"
                                "这个类别的证据。"), "")
    if torch.allclose(got, weighted, atol=1e-3):
        return verdict(False, "", tr("keep only the positive part: Grad-CAM ends with a ReLU",
                                     "只保留正的部分：Grad-CAM 最后要经过一个 ReLU"))
    if torch.allclose(got, (G.sum(dim=(1, 2))[:, None, None] * A).sum(0).clamp_min(0),
                      atol=1e-3):
        return verdict(False, "", tr("α_k is the *mean* of the gradient over the positions, not "
                                     "its sum",
                                     "α_k 是梯度在各个位置上的*平均值*，而不是总和"))
    if torch.allclose(got, (G * A).sum(0).clamp_min(0), atol=1e-3):
        return verdict(False, "", tr("first average each channel's gradient into one weight "
                                     "α_k, then weight the whole map A^k by it",
                                     "先把每个通道的梯度平均成一个权重 α_k，"
                                     "再用它给整张特征图 A^k 加权"))
    return verdict(False, "", tr("α_k = mean of channel k's gradient; the map is the ReLU of "
                                 "α_1 A^1 + α_2 A^2",
                                 "α_k = 通道 k 的梯度的平均值；Grad-CAM 图是 "
                                 "α_1 A^1 + α_2 A^2 经过 ReLU 的结果"))


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
        return verdict(False, "", tr("answer with a number between -1 and 1",
                                     "答案应是 -1 到 1 之间的一个数"))
    if abs(answer - expected) < 1e-3:
        return verdict(True, tr(f"ρ = {expected:g}: ranks {ra} and {rb}, Σd² = {d2}.",
                                f"ρ = {expected:g}：秩分别是 {ra} 和 {rb}，Σd² = {d2}。"), "")
    mean_a, mean_b = sum(MAP_A) / n, sum(MAP_B) / n
    cov = sum((a - mean_a) * (b - mean_b) for a, b in zip(MAP_A, MAP_B))
    pearson = cov / math.sqrt(sum((a - mean_a) ** 2 for a in MAP_A)
                              * sum((b - mean_b) ** 2 for b in MAP_B))
    if abs(answer - pearson) < 1e-3:
        return verdict(False, "", tr("that is Pearson's correlation of the values: replace each "
                                     "value by its rank (1 for the smallest) first",
                                     "这是数值本身的皮尔逊相关系数：先把每个值换成它的秩"
                                     "（最小的为 1）"))
    d1 = sum(abs(a - b) for a, b in zip(ra, rb))
    if abs(answer - (1 - 6 * d1 / (n * (n * n - 1)))) < 1e-3:
        return verdict(False, "", tr("square the rank differences d before adding them",
                                     "先把秩差 d 平方，再相加"))
    return verdict(False, "", tr("rank each map (1 = smallest), then "
                                 "ρ = 1 - 6 Σd² / (n(n² - 1)) with n = 4",
                                 "给每张图的值排秩（最小的为 1），再算 "
                                 "ρ = 1 - 6 Σd² / (n(n² - 1))，其中 n = 4"))


def occlusion_passes(answer: object) -> CheckResult:
    """Exercise 4: forward passes of ``occlusion(window=8, stride=4)`` for one 32x32 image,
    the unoccluded one included."""
    positions = sum(1 for _ in range(0, IMAGE - WINDOW + 1, STRIDE))
    expected = positions * positions + 1
    if not _is_int(answer):
        return verdict(False, "", tr("answer with an int: a number of forward passes",
                                     "答案应是一个整数：前向传播的次数"))
    if answer == expected:
        return verdict(True, tr(f"{expected}: {positions} × {positions} window positions and the "
                                "image itself.",
                                f"{expected}：{positions} × {positions} 个窗口位置，"
                                "再加上图像本身。"), "")
    if answer == expected - 1:
        return verdict(False, "", tr("the score without occlusion needs a forward pass too",
                                     "没有遮挡时的得分也需要一次前向传播"))
    if answer in ((IMAGE // STRIDE) ** 2, (IMAGE // STRIDE) ** 2 + 1):
        return verdict(False, "", tr("the last window must fit in the image: it starts at "
                                     "32 - 8 = 24 at the latest",
                                     "最后一个窗口必须完全落在图像里：它最晚从 32 - 8 = 24 开始"))
    return verdict(False, "", tr("count the window's starts along one axis, 0, 4, ..., 24, then "
                                 "square and add the unoccluded pass",
                                 "数出一个轴上窗口的起点 0, 4, ..., 24，取平方，"
                                 "再加上不遮挡的那一次"))
