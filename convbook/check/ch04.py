"""Self-checks for chapter 4 (pooling).

Every expected answer comes from real torch layers (``nn.MaxPool2d``), ``F.unfold`` (the
windows themselves), ``torch.amin`` or a measurement on a network (shifting its input and
comparing outputs), never from the book's own pooling code.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from convbook.check._answers import as_int, as_tensor, judge_int, wrong_kind
from convbook.check._result import CheckResult, verdict
from convbook.language import text

#: The 4x4 input of exercise 2.
EXERCISE_X = torch.tensor(
    [[1.0, 3.0, 2.0, 0.0], [4.0, 6.0, 5.0, 1.0], [7.0, 2.0, 9.0, 8.0], [0.0, 1.0, 3.0, 4.0]]
)
#: Exercise 3: ResNet's stem pooling, 3x3 windows, stride 2, padding 1, on 64x112x112.
COST_INPUT = (64, 112, 112)
COST_LAYER = {"kernel_size": 3, "stride": 2, "padding": 1}


def pool_output_size(answer: object) -> CheckResult:
    """Exercise 1: output width of ``nn.MaxPool2d(3, stride=2, padding=1)`` on 112x112.

    Answer: an int, the output width.
    """
    with torch.no_grad():
        expected = nn.MaxPool2d(3, stride=2, padding=1)(torch.zeros(1, 112, 112)).shape[-1]
    return judge_int(answer, expected, "ch04.pool_output_size",
                     typical={(112 + 2 - 3) // 1 + 1: "stride_one"})


def max_pool_values(answer: object) -> CheckResult:
    """Exercise 2: 2x2 max pooling (stride 2) of :data:`EXERCISE_X`, as a nested list.

    Answer: a 2x2 nested list or tensor.
    """
    expected = nn.MaxPool2d(2)(EXERCISE_X[None])[0].double()
    got = as_tensor(answer)
    if got is None:
        return wrong_kind(answer, text("ch04.max_pool_values.what"))
    if got.shape == (3, 3):
        return verdict(False, "", text("ch04.max_pool_values.stride_one"))
    return verdict(
        got.shape == expected.shape and torch.equal(got, expected),
        text("ch04.max_pool_values.success", maxima=expected.int().tolist()),
        text("ch04.max_pool_values.hint"),
    )


def pooling_reads(answer: object) -> CheckResult:
    """Exercise 3: how many window elements (padding included) ``nn.MaxPool2d(3, stride=2,
    padding=1)`` reads on a 64x112x112 input: the cost of one pass, in comparisons plus one
    per window.

    Answer: an int, a number of window elements.
    """
    # F.unfold cuts out every window: (1, C * 3 * 3, windows), padding included.
    expected = F.unfold(torch.zeros(1, *COST_INPUT), **COST_LAYER).numel()
    c, n, _ = COST_INPUT
    return judge_int(answer, expected, "ch04.pooling_reads",
                     typical={c * n * n * 9: "stride_one", 56 * 56 * 9: "one_channel"})


def min_pool(fn: object) -> CheckResult:
    """Exercise 4: ``fn(X, k)``, minimum pooling of ``X: (N, C, H, W)`` with ``k x k`` windows
    and stride ``k``, written with max pooling (no convolution can compute a minimum).

    The check compares ``fn`` with ``torch.amin`` over the windows, on random inputs.

    Answer: a function ``fn(X, k) -> Y``.
    """
    if not callable(fn):
        return wrong_kind(fn, text("ch04.min_pool.what"))
    generator = torch.Generator().manual_seed(0)
    for shape, k in (((1, 1, 4, 4), 2), ((2, 3, 6, 9), 3), ((1, 2, 5, 5), 2)):
        X = torch.randn(*shape, generator=generator)
        n, c, h, w = shape
        windows = F.unfold(X, k, stride=k).reshape(n, c, k * k, h // k, w // k)
        expected = windows.amin(dim=2)
        try:
            with torch.no_grad():
                Y = as_tensor(fn(X.clone(), k))
        except Exception as error:  # the reader's code: report, never raise
            return verdict(False, "", text("ch04.min_pool.raised",
                                           error_type=type(error).__name__, error=error))
        if Y is None or Y.shape != expected.shape:
            got_shape = None if Y is None else tuple(Y.shape)
            return verdict(False, "", text("ch04.min_pool.wrong_shape", shape=shape, k=k,
                                           out_shape=tuple(expected.shape), got_shape=got_shape))
        if torch.allclose(Y, -expected.double()):
            return verdict(False, "", text("ch04.min_pool.sign_flipped"))
        if not torch.allclose(Y, expected.double()):
            return verdict(False, "", text("ch04.min_pool.wrong_values"))
    return verdict(True, text("ch04.min_pool.success"), "")


def _three_stages(x: torch.Tensor) -> torch.Tensor:
    """Exercise 5's network with fixed whole-number weights (exact sums): three stages of a
    3x3 convolution with circular padding and ``nn.MaxPool2d(2)``."""
    generator = torch.Generator().manual_seed(0)
    for c_in, c_out in ((1, 2), (2, 2), (2, 2)):
        weight = torch.randint(-2, 3, (c_out, c_in, 3, 3), generator=generator).double()
        x = F.max_pool2d(F.conv2d(F.pad(x, (1, 1, 1, 1), mode="circular"), weight), 2)
    return x


def exact_shift(answer: object) -> CheckResult:
    """Exercise 5: the smallest shift to the right (circular) of the input of three stages of
    3x3 convolution (circular padding) and 2x2 max pooling that shifts their output exactly.

    Measured: the input is shifted by 1, 2, ... pixels until the output equals a shift of
    the unshifted output.

    Answer: an int, a number of pixels.
    """
    x = torch.randint(0, 10, (1, 1, 32, 32), generator=torch.Generator().manual_seed(1)).double()
    y = _three_stages(x)
    expected = next(s for s in range(1, 33)
                    if any(torch.equal(_three_stages(torch.roll(x, s, -1)), torch.roll(y, t, -1))
                           for t in range(y.shape[-1])))
    return judge_int(answer, expected, "ch04.exact_shift",
                     typical={1: "one_pixel", 2: "one_stage", 6: "added"})


def _shift_right(images: torch.Tensor) -> torch.Tensor:
    """``(N, C, H, W)`` images moved one pixel to the right, the new first column a copy of
    the second (chapter 4's ``shift_right``), written here with ``torch.cat``."""
    return torch.cat((images[..., 1:2], images[..., :-1]), dim=-1)


def pretrained_shift_survival(answer: object) -> CheckResult:
    """Exercise 6: of the 50 test images shipped with the pretrained network, how many keep
    their predicted class when moved one pixel to the right (the new first column a copy of
    the second)?

    Measured here: the shipped network's predictions before and after the shift, with the
    normalisation of ``pretrained_info()``.

    Answer: an int, a number of images.
    """
    if as_int(answer) is None:  # no need to load the network for the placeholder
        what = text("ch04.pretrained_shift_survival.what")
        return wrong_kind(answer, text("common.judge.an_int", what=what))
    from convbook import models  # deferred: loading the network takes a moment

    net = models.pretrained()
    info = models.pretrained_info()
    images, labels = models.pretrained_samples()
    mean = torch.tensor(info["mean"]).view(1, 3, 1, 1)
    std = torch.tensor(info["std"]).view(1, 3, 1, 1)
    with torch.no_grad():
        before = net((images.float() / 255 - mean) / std).argmax(1)
        after = net((_shift_right(images).float() / 255 - mean) / std).argmax(1)
    expected = int((before == after).sum())
    right_before, right_after = int((before == labels).sum()), int((after == labels).sum())
    return judge_int(answer, expected, "ch04.pretrained_shift_survival",
                     typical={right_before: "accuracy", right_after: "accuracy",
                              len(labels) - expected: "changed"},
                     images=len(labels))
