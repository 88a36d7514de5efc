"""Self-checks of chapter 09: right answers pass, typical wrong ones fail with a hint."""

from __future__ import annotations

import numpy as np
import pytest
from verdicts import right_passes_wrong_fails

from convbook.check import ch09

# By hand: the whitening conv adds 1 pixel, blocks.0 adds 2 + 1 + 2*2 (j = 2 after its
# pooling), blocks.1 adds 2*2 + 1*2 + 2*4 (j = 4): r = 1 + 1 + 7 + 14 = 23.
# alpha = (0.5, -0.25): 0.5 A1 - 0.25 A2 = [[0.5, -0.75], [0.75, -0.75]], then the ReLU.
# ranks (1, 3, 2, 4) and (2, 1, 3, 4): d = (-1, 2, -1, 0), rho = 1 - 6 * 6 / 60 = 0.4.
# window starts 0, 4, ..., 24: 7 per axis, 49 windows and the unoccluded image.
PEARSON = float(np.corrcoef(ch09.MAP_A, ch09.MAP_B)[0, 1])


test_right_passes_wrong_fails = right_passes_wrong_fails(
    [
        (ch09.block_field, (23, 4), (12, 4), "the strides below it multiply"),
        (ch09.block_field, (23, 4), (22, 4), "count the 2×2 whitening convolution"),
        (ch09.block_field, (23, 4), (23, 2), "j doubles at each 2×2 pooling"),
        (ch09.block_field, [23, 4], (25, 4), "walk forward"),
        (ch09.grad_cam_by_hand, [[0.5, 0], [0.75, 0]], [[0.5, -0.75], [0.75, -0.75]],
         "Grad-CAM ends with a ReLU"),
        (ch09.grad_cam_by_hand, [[0.5, 0], [0.75, 0]], [[2, 0], [3, 0]], "mean of the gradient"),
        (ch09.grad_cam_by_hand, [[0.5, 0], [0.75, 0]], [[0.5, 0], [1, 0]],
         "first average each channel's gradient"),
        (ch09.grad_cam_by_hand, [[0.5, 0], [0.75, 0]], [[1, 0], [0, 1]], "α_k = mean"),
        (ch09.rank_correlation, 0.4, PEARSON, "that is Pearson's correlation"),
        (ch09.rank_correlation, 0.4, 0.6, "square the rank differences"),
        (ch09.rank_correlation, 0.4, -0.4, "rank each map"),
        (ch09.occlusion_passes, 50, 49, "the score without occlusion needs a forward pass"),
        (ch09.occlusion_passes, 50, 64, "the last window must fit"),
        (ch09.occlusion_passes, 50, 65, "the last window must fit"),
        (ch09.occlusion_passes, 50, 51, "count the window's starts"),
    ]
)


def test_spearman_answer_close_enough_passes():
    assert ch09.rank_correlation(0.4000001) and ch09.rank_correlation(2 / 5)
    assert not ch09.rank_correlation(0.41)


@pytest.mark.parametrize(
    "check, answers, hint",
    [
        (ch09.block_field, [None, 23, (23,), (23.0, 4), ("23", "4"), (True, 4)], "pair of ints"),
        (ch09.grad_cam_by_hand, [None, "map", [[0.5, 0]], [[0.5, 0, 0], [0, 0, 0]],
                                 [[float("nan"), 0], [0, 0]]], "2×2 nested list"),
        (ch09.rank_correlation, [None, "0.4", True, float("nan"), [0.4]], "a number between"),
        (ch09.occlusion_passes, [None, 50.0, "50", True], "answer with an int"),
    ],
)
def test_placeholder_and_wrong_types_fail(check, answers, hint):
    for answer in answers:
        result = check(answer)
        assert not result and hint in result.message, answer


def test_class_map_positions():
    rows, cols = (96 - 32) // 8 + 1, (128 - 32) // 8 + 1  # crops 8 pixels apart, by hand
    assert ch09.class_map_positions(rows * cols)
    assert "9×13" in ch09.class_map_positions(9 * 13).message
    assert "must fit inside" in ch09.class_map_positions(12 * 16).message
    assert "not every 32" in ch09.class_map_positions(3 * 4).message
    assert "add one along each side" in ch09.class_map_positions(8 * 12).message
    assert "how many starts" in ch09.class_map_positions(100).message
    assert "a number of positions" in ch09.class_map_positions(None).message
