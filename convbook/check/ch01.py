"""Self-checks for Chapter 1's exercises (cross-correlation).

Every expected answer is computed here independently: shapes by running
``torch.nn.functional.conv2d``, parameter counts by building the layer on the ``meta``
device, kernel responses with ``F.conv2d`` on test images.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from convbook.check._answers import as_int_list, as_tensor, judge_int, wrong_kind
from convbook.check._result import CheckResult, verdict
from convbook.language import text

#: Exercise 1: input and kernel sizes.
OUTPUT_SHAPE_INPUT = (224, 180)
OUTPUT_SHAPE_KERNEL = (5, 3)

#: Exercise 2: a 640x480 RGB image into a fully connected layer with 1000 units.
FC_IMAGE = (480, 640, 3)
FC_HIDDEN = 1000

#: Exercise 3: a dense layer from a 28x28 image to a 28x28 image, then translation
#: invariance, then locality (offsets up to 2 in each direction).
DENSE_SIZE = 28
LOCAL_DELTA = 2

#: Exercise 6: corr2d by hand.
HAND_X = torch.tensor([[1.0, 2.0, 0.0], [0.0, 1.0, 3.0], [2.0, 1.0, 1.0]])
HAND_K = torch.tensor([[1.0, -1.0], [0.0, 2.0]])


def _corr(X: torch.Tensor, K: torch.Tensor) -> torch.Tensor:
    """Cross-correlation by torch (independent of convbook.ops)."""
    return F.conv2d(X[None, None].double(), K[None, None].double())[0, 0]


def output_shape(answer: object) -> CheckResult:
    """Exercise 1: output shape of corr2d for a 224x180 input and a 5x3 kernel.

    Answer: a ``(height, width)`` pair of ints.
    """
    n, k = OUTPUT_SHAPE_INPUT, OUTPUT_SHAPE_KERNEL
    expected = tuple(F.conv2d(torch.zeros(1, 1, *n), torch.zeros(1, 1, *k)).shape[-2:])
    ints = as_int_list(answer, length=2)
    if ints is None:
        return wrong_kind(answer, text("ch01.output_shape.what"))
    got = tuple(ints)
    hint = text("ch01.output_shape.hint")
    if got == (n[0] - k[0], n[1] - k[1]):
        hint = text("ch01.output_shape.off_by_one")
    elif got == (expected[1], expected[0]):
        hint = text("ch01.output_shape.swapped")
    return verdict(got == expected, text("ch01.output_shape.success", expected=expected), hint)


def fc_parameters(answer: object) -> CheckResult:
    """Exercise 2: parameters (weights and biases) of ``nn.Linear`` from a 640x480 RGB
    image, flattened, to 1000 hidden units.

    Answer: an int, the number of parameters.
    """
    inputs = FC_IMAGE[0] * FC_IMAGE[1] * FC_IMAGE[2]
    layer = nn.Linear(inputs, FC_HIDDEN, device="meta")  # no memory is allocated
    expected = sum(p.numel() for p in layer.parameters())
    weights = expected - FC_HIDDEN
    return judge_int(answer, expected, "ch01.fc_parameters",
                     typical={weights: "weights_only", weights // 3 + FC_HIDDEN: "one_channel",
                              weights // 3: "one_channel"})


def weight_counts(answer: object) -> CheckResult:
    """Exercise 3: the weights of a dense layer from a 28x28 image to a 28x28 image, of the
    same layer made translation invariant (one weight per offset between input and output
    pixel), and made local too (offsets up to 2 in each direction).

    Answer: a list of three ints, ``[dense, translation invariant, local]``.
    """
    n, delta = DENSE_SIZE, LOCAL_DELTA
    dense = nn.Linear(n * n, n * n, bias=False, device="meta").weight.numel()
    # every offset k - i along one axis, counted from all (i, k); a 2D offset is a pair
    offsets = (torch.arange(n).view(1, -1) - torch.arange(n).view(-1, 1)).unique()
    shared = len(offsets) ** 2
    local = int((offsets.abs() <= delta).sum()) ** 2
    got = as_int_list(answer, length=3)
    if got is None:
        return wrong_kind(answer, text("ch01.weight_counts.what"))
    dense_got, shared_got, local_got = got
    hint = ""
    if dense_got != dense:
        hint = text("ch01.weight_counts.dense", pixels=n * n)
    elif shared_got == n * n:
        hint = text("ch01.weight_counts.shared_one_sided", low=-(n - 1), high=n - 1)
    elif shared_got != shared:
        hint = text("ch01.weight_counts.shared", low=-(n - 1), high=n - 1)
    elif local_got != local:
        hint = text("ch01.weight_counts.local", delta=delta)
    return verdict(not hint, text("ch01.weight_counts.success", dense=dense, shared=shared,
                                  local=local), hint)


def _diagonal_steps(n: int) -> tuple[torch.Tensor, torch.Tensor]:
    i = torch.arange(n).view(n, 1)
    j = torch.arange(n).view(1, n)
    anti = (i + j >= n).double()  # edge along the anti-diagonal (bottom-left to top-right)
    main = (j > i).double()  # edge along the main diagonal (top-left to bottom-right)
    return anti, main


def diagonal_edge_kernel(K: object) -> CheckResult:
    """Exercise 4: a kernel (of any size) that responds to an edge along the anti-diagonal
    (``X[i, j] = 1 if i + j >= n``), gives zero on a flat image, and gives zero on an edge
    along the other diagonal (``X[i, j] = 1 if j > i``).

    The test images are 8 pixels larger than the kernel (at least 12x12), so that the
    kernel meets each edge at 9 x 9 or more positions whatever its size.
    """
    t = as_tensor(K, ndim=2)
    if t is None:
        return wrong_kind(K, text("ch01.diagonal_edge_kernel.what"))
    anti, main = _diagonal_steps(max(12, max(t.shape) + 8))
    flat = _corr(torch.ones_like(anti), t).abs().max()
    found = _corr(anti, t).abs().max()
    other = _corr(main, t).abs().max()
    if flat > 1e-6:
        return verdict(False, "", text("ch01.diagonal_edge_kernel.flat_not_zero"))
    if found < 0.5:
        return verdict(False, "", text("ch01.diagonal_edge_kernel.no_response"))
    if other > 1e-6:
        return verdict(False, "", text("ch01.diagonal_edge_kernel.fires_on_main"))
    return verdict(True, text("ch01.diagonal_edge_kernel.success"), "")


def second_derivative_kernel(K: object) -> CheckResult:
    """Exercise 5: a 1x3 kernel whose output on any row ``f(j)`` is the second difference
    ``f(j) - 2 f(j+1) + f(j+2)``: 2 on ``j**2``, 0 on a ramp and on a constant."""
    t = as_tensor(K)
    if t is not None and t.dim() == 1:
        t = t[None]
    if t is None or t.shape != (1, 3):
        if t is not None and tuple(t.shape) == (3, 1):
            return verdict(False, "", text("ch01.second_derivative_kernel.column"))
        return wrong_kind(K, text("ch01.second_derivative_kernel.what"))
    j = torch.arange(8, dtype=torch.float64)
    square, ramp, const = (f.expand(4, 8) for f in (j**2, j, torch.ones(8, dtype=torch.float64)))
    ok = (
        torch.allclose(_corr(square, t), torch.full((4, 6), 2.0, dtype=torch.float64))
        and torch.allclose(_corr(ramp, t), torch.zeros(4, 6, dtype=torch.float64))
        and torch.allclose(_corr(const, t), torch.zeros(4, 6, dtype=torch.float64))
    )
    hint = text("ch01.second_derivative_kernel.hint")
    minus_two = torch.full((4, 6), -2.0, dtype=torch.float64)
    if not ok and torch.allclose(_corr(square, t), minus_two):
        hint = text("ch01.second_derivative_kernel.sign_flipped")
    return verdict(ok, text("ch01.second_derivative_kernel.success"), hint)


def corr2d_by_hand(Y: object) -> CheckResult:
    """Exercise 6: ``corr2d(HAND_X, HAND_K)``, worked out by hand."""
    t = as_tensor(Y)
    expected = _corr(HAND_X, HAND_K)
    if t is None:
        return wrong_kind(Y, text("ch01.corr2d_by_hand.what"))
    if t.shape != expected.shape:
        return verdict(False, "", text("ch01.corr2d_by_hand.wrong_shape"))
    if torch.allclose(t, F.conv2d(HAND_X[None, None].double(),
                                  HAND_K.flip(0, 1)[None, None].double())[0, 0]):
        return verdict(False, "", text("ch01.corr2d_by_hand.convolution"))
    wrong = [
        (i, j) for i in range(2) for j in range(2) if abs(float(t[i, j] - expected[i, j])) > 1e-6
    ]
    hint = ""
    if wrong:
        i, j = wrong[0]
        hint = text("ch01.corr2d_by_hand.wrong_entry", row=i, col=j, row_end=i + 2,
                    col_end=j + 2)
    return verdict(not wrong, text("ch01.corr2d_by_hand.success"), hint)
