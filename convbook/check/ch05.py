"""Self-checks for chapter 05 (transposed convolution).

Each expected answer is computed by torch (``nn.ConvTranspose2d``/``1d``), never by the
book's own code.
"""

from __future__ import annotations

import torch
from torch import nn

from convbook.check._result import CheckResult, verdict


def _as_int(answer: object) -> int | None:
    if isinstance(answer, bool) or not isinstance(answer, int):
        return None
    return answer


def output_size(answer: object) -> CheckResult:
    """Exercise 1: the height of ``nn.ConvTranspose2d(1, 1, 4, stride=2, padding=1)``'s
    output for a 5×5 input."""
    layer = nn.ConvTranspose2d(1, 1, 4, stride=2, padding=1)
    with torch.no_grad():
        expected = layer(torch.zeros(1, 1, 5, 5)).shape[-1]
    got = _as_int(answer)
    if got is None:
        return verdict(False, "", "answer with an int: (n - 1)s - 2p + k + output_padding")
    if got == expected + 2:
        return verdict(False, "", "padding removes p rows from *each* side: subtract 2p")
    if got == (5 - 1) * 2 + 4:
        return verdict(False, "", "you forgot the padding: it removes rows from the output")
    return verdict(
        got == expected,
        f"{expected}: the 4×4 kernel with stride 2 and padding 1 exactly doubles the size",
        "use (n - 1)s - 2p + k with n = 5, s = 2, p = 1, k = 4",
    )


def stride_two(answer: object) -> CheckResult:
    """Exercise 2: the transposed convolution of ``X = [[1, 2], [3, 4]]`` with
    ``K = [[1, 1], [1, 1]]`` and stride 2, as a nested list (4×4)."""
    X = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    K = torch.ones(2, 2)
    with torch.no_grad():
        expected = nn.functional.conv_transpose2d(X[None, None], K[None, None], stride=2)[0, 0]
    try:
        got = torch.as_tensor(answer, dtype=torch.float32)
    except (TypeError, ValueError, RuntimeError):
        return verdict(False, "", "answer with a 4×4 nested list of numbers")
    if got.shape != expected.shape:
        return verdict(
            False, "", f"the output is 4×4: (2 - 1)·2 + 2 = 4; your answer is {tuple(got.shape)}"
        )
    return verdict(
        torch.equal(got, expected),
        "each input value paints its own 2×2 block: with stride 2 the blocks do not overlap",
        "multiply K by each input value and put the block at (2i, 2j); nothing overlaps",
    )


def overlap_counts(answer: object) -> CheckResult:
    """Exercise 3: how many kernel placements cover each of the 9 output positions of a 1D
    transposed convolution of 4 inputs with kernel size 3 and stride 2 (a list of 9 ints)."""
    with torch.no_grad():
        expected = nn.functional.conv_transpose1d(
            torch.ones(1, 1, 4), torch.ones(1, 1, 3), stride=2
        )[0, 0].to(torch.int64).tolist()
    if not isinstance(answer, (list, tuple)) or len(answer) != len(expected):
        return verdict(False, "", f"answer with a list of {len(expected)} ints")
    return verdict(
        list(answer) == expected,
        f"{expected}: every other position gets two kernels, hence the checkerboard",
        "place a 3-wide window at positions 0, 2, 4, 6 and count how many cover each cell",
    )
