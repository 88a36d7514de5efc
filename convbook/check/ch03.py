"""Self-checks for chapter 3 (multiple channels, 1x1 convolution, im2col).

Every expected answer comes from real torch layers (``numel`` of their parameters),
``F.conv2d`` (counting products, filtering test images) or ``F.unfold``, never from the
book's own code.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from convbook.check._answers import as_int_list, as_tensor, judge_int, wrong_kind
from convbook.check._result import CheckResult, verdict
from convbook.language import text

#: Exercise 4: the largest kernel side the check takes (its test images grow with the kernel).
MAX_KERNEL = 64
#: Exercise 5: a 3-channel 224x224 image, a 7x7 kernel, stride 2, padding 3 (ResNet's stem).
IM2COL_INPUT = (3, 224, 224)
IM2COL_LAYER = {"kernel_size": 7, "stride": 2, "padding": 3}


def _params(*layers: nn.Module) -> int:
    return sum(p.numel() for layer in layers for p in layer.parameters())


def param_count(answer: object) -> CheckResult:
    """Exercise 1: number of parameters of ``nn.Conv2d(64, 128, kernel_size=3)``.

    Answer: an int, the number of parameters.
    """
    expected = _params(nn.Conv2d(64, 128, 3))
    return judge_int(answer, expected, "ch03.param_count", typical={expected - 128: "no_bias"})


def mac_count(answer: object) -> CheckResult:
    """Exercise 2: multiply-accumulates of a 1x1 conv from 256 to 64 channels on 56x56.

    Counted by convolving all-ones input with all-ones kernels: every output value is then
    the number of products that produced it.

    Answer: an int, the number of multiply-accumulates.
    """
    ones = torch.ones(1, 256, 56, 56, dtype=torch.float64)
    expected = int(F.conv2d(ones, torch.ones(64, 256, 1, 1, dtype=torch.float64)).sum())
    return judge_int(answer, expected, "ch03.mac_count", typical={64 * 256: "weights_only"})


def bottleneck_params(answer: object) -> CheckResult:
    """Exercise 3: weights (no biases) of one 3x3 convolution from 256 to 256 channels, and of
    the bottleneck 1x1 (256 to 64), 3x3 (64 to 64), 1x1 (64 to 256).

    Answer: a pair of ints, ``(standard, bottleneck)``.
    """
    standard = _params(nn.Conv2d(256, 256, 3, bias=False))
    bottleneck = _params(
        nn.Conv2d(256, 64, 1, bias=False), nn.Conv2d(64, 64, 3, bias=False),
        nn.Conv2d(64, 256, 1, bias=False),
    )
    got = as_int_list(answer, length=2)
    if got is None:
        return wrong_kind(answer, text("ch03.bottleneck_params.what"))
    if got == [bottleneck, standard]:
        return verdict(False, "", text("ch03.bottleneck_params.swapped"))
    if got[0] != standard:
        return verdict(False, "", text("ch03.bottleneck_params.wrong_standard"))
    return verdict(
        got[1] == bottleneck,
        text("ch03.bottleneck_params.success", standard=standard, bottleneck=bottleneck,
             ratio=standard / bottleneck),
        text("ch03.bottleneck_params.hint"),
    )


def _step(channel: int, horizontal: bool, size: int = 12) -> torch.Tensor:
    """A (1, 3, size, size) image, grey 0.5, with a step of +0.4 in one channel: across a
    horizontal line (the bottom half brighter) or a vertical one (the right half)."""
    image = torch.full((1, 3, size, size), 0.5, dtype=torch.float64)
    if horizontal:
        image[0, channel, size // 2 :, :] += 0.4
    else:
        image[0, channel, :, size // 2 :] += 0.4
    return image


def blue_edge_kernel(K: object) -> CheckResult:
    """Exercise 4: a kernel of shape ``(3, k, k)`` (or ``(3, k_h, k_w)``, or with a leading 1:
    ``(1, 3, k, k)``), each side from 1 to :data:`MAX_KERNEL`, that responds to horizontal
    edges in the blue channel, and gives zero on a flat image of any colour, on horizontal
    edges in red or green, and on vertical edges in blue.

    The test images are grey, ``2 * max(k_h, k_w) + 2`` pixels on a side (at least 12), so
    that every kernel fits and has windows across each edge.

    Answer: a tensor or nested list of shape ``(3, k, k)``.
    """
    t = as_tensor(K)
    if t is not None and t.dim() == 4 and t.shape[0] == 1:
        t = t[0]
    if t is None or t.dim() != 3 or t.shape[0] != 3:
        return wrong_kind(K, text("ch03.blue_edge_kernel.what", limit=MAX_KERNEL))
    if max(t.shape[1:]) > MAX_KERNEL:
        return verdict(False, "", text("ch03.blue_edge_kernel.too_large", limit=MAX_KERNEL,
                                       shape=tuple(t.shape)))
    w = t[None]
    size = max(12, 2 * max(t.shape[1:]) + 2)

    def response(image: torch.Tensor) -> float:
        return float(F.conv2d(image, w).abs().max())

    # Linear: zero on a flat image of each pure colour means zero on any flat image.
    flat = max(response(torch.ones(1, 3, size, size, dtype=torch.float64)
                        * colour.view(1, 3, 1, 1))
               for colour in torch.eye(3, dtype=torch.float64))
    if flat > 1e-6:
        return verdict(False, "", text("ch03.blue_edge_kernel.flat_not_zero"))
    if response(_step(2, horizontal=True, size=size)) < 0.1:
        return verdict(False, "", text("ch03.blue_edge_kernel.no_response"))
    for channel, colour in ((0, text("ch03.blue_edge_kernel.red")),
                            (1, text("ch03.blue_edge_kernel.green"))):
        if response(_step(channel, horizontal=True, size=size)) > 1e-6:
            return verdict(False, "", text("ch03.blue_edge_kernel.other_channel", colour=colour))
    if response(_step(2, horizontal=False, size=size)) > 1e-6:
        return verdict(False, "", text("ch03.blue_edge_kernel.vertical"))
    return verdict(True, text("ch03.blue_edge_kernel.success"), "")


def im2col_entries(answer: object) -> CheckResult:
    """Exercise 5: the number of entries of the im2col matrix of a 3x224x224 image for a
    7x7 kernel with stride 2 and padding 3.

    Answer: an int, a number of matrix entries.
    """
    columns = F.unfold(torch.zeros(1, *IM2COL_INPUT), **IM2COL_LAYER)  # (1, C k k, windows)
    expected = columns.numel()
    c, n, _ = IM2COL_INPUT
    inputs = c * n * n
    return judge_int(answer, expected, "ch03.im2col_entries", inputs=inputs,
                     ratio=expected / inputs,
                     typical={c * 49 * (n - 7 + 1) ** 2: "stride_one",
                              49 * 112 * 112: "one_channel"})


def corr2d_as_matmul(fn: object) -> CheckResult:
    """Exercise 6 (D2L): ``fn(X, K)``, the cross-correlation of an ``(n_h, n_w)`` input with a
    ``(k_h, k_w)`` kernel computed as one matrix multiplication.

    The check runs ``fn`` on random inputs of several shapes and compares with ``F.conv2d``.

    Answer: a function ``fn(X, K) -> Y``.
    """
    if not callable(fn):
        return wrong_kind(fn, text("ch03.corr2d_as_matmul.what"))
    generator = torch.Generator().manual_seed(0)
    for (n_h, n_w), (k_h, k_w) in (((3, 3), (2, 2)), ((6, 8), (2, 3)), ((5, 4), (3, 1)),
                                    ((7, 5), (1, 1)), ((4, 4), (4, 4))):
        X = torch.rand(n_h, n_w, generator=generator, dtype=torch.float64)
        K = torch.rand(k_h, k_w, generator=generator, dtype=torch.float64)
        expected = F.conv2d(X[None, None], K[None, None])[0, 0]
        try:
            Y = as_tensor(_call(fn, X, K))
        except Exception as error:  # the reader's code: report, never raise
            return verdict(False, "", text("ch03.corr2d_as_matmul.raised",
                                           error_type=type(error).__name__, error=error,
                                           n_h=n_h, n_w=n_w, k_h=k_h, k_w=k_w))
        if Y is None:
            return verdict(False, "", text("ch03.corr2d_as_matmul.not_a_tensor"))
        if Y.dim() == 1 or Y.squeeze().shape == expected.shape:  # a flat vector, or (1, 1, h, w)
            Y = Y.reshape(expected.shape) if Y.numel() == expected.numel() else Y
        if Y.shape != expected.shape:
            return verdict(False, "", text("ch03.corr2d_as_matmul.wrong_shape",
                                           n_h=n_h, n_w=n_w, k_h=k_h, k_w=k_w,
                                           out_shape=tuple(expected.shape),
                                           got_shape=tuple(Y.shape)))
        if not torch.allclose(Y, expected, rtol=1e-4, atol=1e-6):
            flipped = F.conv2d(X[None, None], K.flip(0, 1)[None, None])[0, 0]
            if torch.allclose(Y, flipped, rtol=1e-4, atol=1e-6):
                return verdict(False, "", text("ch03.corr2d_as_matmul.convolution"))
            if Y.shape[0] == Y.shape[1] and torch.allclose(Y, expected.T, rtol=1e-4, atol=1e-6):
                return verdict(False, "", text("ch03.corr2d_as_matmul.transposed"))
            return verdict(False, "", text("ch03.corr2d_as_matmul.wrong_values",
                                           n_h=n_h, n_w=n_w, k_h=k_h, k_w=k_w))
    return verdict(True, text("ch03.corr2d_as_matmul.success"), "")


def _call(fn: Callable[..., object], X: torch.Tensor, K: torch.Tensor) -> object:
    with torch.no_grad():
        return fn(X.clone(), K.clone())
