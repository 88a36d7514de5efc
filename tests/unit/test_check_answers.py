"""One rule for reading answers in every chapter's self-checks (convbook/check/_answers.py)."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import numpy as np
import pytest
import torch

import convbook.check
from convbook.check._answers import (
    as_int,
    as_int_list,
    as_number,
    as_tensor,
    judge_int,
    judge_number,
    wrong_kind,
)


@pytest.mark.parametrize(
    "answer",
    [112, 112.0, np.int64(112), np.int32(112), np.float32(112.0), torch.tensor(112),
     torch.tensor(112.0), np.array(112), torch.Size([3, 112])[-1]],
)
def test_integers_in_any_form_read_as_int(answer):
    value = as_int(answer)
    assert value == 112 and type(value) is int


@pytest.mark.parametrize(
    "answer",
    [True, False, np.bool_(True), torch.tensor(True), "112", 112.5, float("nan"), float("inf"),
     None, [112], torch.tensor([112, 1]), np.array([112]), 1 + 2j],
)
def test_non_integers_are_not_ints(answer):
    assert as_int(answer) is None


def test_numbers():
    assert as_number(0.375) == 0.375 and as_number(3) == 3.0
    assert as_number(np.float64(1.5)) == 1.5 and as_number(torch.tensor(2.5)) == 2.5
    for bad in (True, "0.3", float("nan"), float("-inf"), None, [1.0]):
        assert as_number(bad) is None


def test_int_lists():
    assert as_int_list([0, 2.0, np.int64(4)]) == [0, 2, 4]
    assert as_int_list((1, 2)) == [1, 2] and as_int_list(torch.Size([3, 4])) == [3, 4]
    assert as_int_list(torch.tensor([5, 6])) == [5, 6]
    assert as_int_list(np.array([7, 8]), length=2) == [7, 8]
    for bad in ([1, True], [1, 2.5], "12", 12, torch.ones(2, 2), [1, 2, 3]):
        assert as_int_list(bad, length=None if bad != [1, 2, 3] else 2) is None


def test_tensors():
    t = as_tensor([[1, 2], [3, 4]])
    assert t.dtype == torch.float64 and t.shape == (2, 2)
    assert as_tensor(np.eye(2), ndim=2) is not None
    for bad in (None, "1", True, [[1, float("nan")]], torch.ones(2, dtype=torch.bool),
                [[1, 2], [3]], []):
        assert as_tensor(bad) is None
    assert as_tensor([1, 2], ndim=2) is None


def test_wrong_kind_messages():
    assert wrong_kind(None, "an int").message == "replace None with your answer: an int"
    result = wrong_kind(True, "an int: a width")
    assert not result and result.message == "answer with an int: a width; got True"
    assert len(wrong_kind("x" * 500, "an int").message) < 100


def _pretrained_survivors() -> int:
    """Exercise 4.6's answer depends on the shipped weights: measured by its own test."""
    from shift_survival import pretrained_survivors

    return pretrained_survivors()[0]


# The right answer of every check whose answer is one int, worked out by hand (the tests of
# each chapter's checks derive them), or a function that measures it.
RIGHT_INTS = {
    "ch01.fc_parameters": 640 * 480 * 3 * 1000 + 1000,
    "ch02.output_size": 112,
    "ch02.same_padding": 4,
    "ch02.corner_windows": 9,
    "ch03.param_count": (64 * 9 + 1) * 128,
    "ch03.mac_count": 56 * 56 * 64 * 256,
    "ch03.im2col_entries": 112 * 112 * 3 * 49,
    "ch04.pool_output_size": 56,
    "ch04.pooling_reads": 64 * 56 * 56 * 9,
    "ch04.exact_shift": 2 * 2 * 2,
    "ch04.pretrained_shift_survival": _pretrained_survivors,
    "ch05.output_size": 10,
    "ch05.gradient_output_padding": 2,
    "ch06.mixed_stack": 18,
    "ch06.layers_for_field": 50,
    "ch06.dilated_stack": 31,
    "ch06.weights_saved": 32 * 32 * (49 - 27),
    "ch07.separable_params": 32 * 9 + 32 * 64,
    "ch07.dilated_receptive_field": 15,
    "ch07.grouped_params": 128 * 8 * 9,
    "ch08.tutorial_flatten_size": 16 * 4 * 4,
    "ch08.conv_parameters": 32 * 27 + 32,
    "ch08.optimizer_steps": 3 * 50,
    "ch08.fastnet_final_size": 3,
    "ch10.winograd_multiplications": (4 + 3 - 1) ** 2,
    "ch10.layer_macs": 128 * 15 * 15 * 32 * 9,
    "ch10.fft_crossover": 5,
    "ch09.class_map_positions": ((96 - 32) // 8 + 1) * ((128 - 32) // 8 + 1),
    "ch90.transpose_size": 16 * 2 + (3 - 2),
}


def test_judge_int(check_catalog):
    def judge(answer):
        return judge_int(answer, 10, "ch99.size", typical={12: "padding", 10: "never"}, p=1)

    assert judge(10) and judge(10.0) and judge(10).message == "right: 10"
    assert not judge(12) and judge(12).message == "padding 1 per side"
    assert not judge(11) and judge(11).message == "try again"
    assert judge(True).message == "answer with an int: a size; got True"
    assert judge(None).message == "replace None with your answer: an int: a size"


def test_judge_number(check_catalog):
    def judge(answer):
        return judge_number(answer, 0.5, "ch99.ratio", tolerance=0.01,
                            typical={2.0: "upside_down", 0.505: "never"})

    assert judge(0.5) and judge(0.509) and judge(np.float32(0.495)).message == "right"
    assert not judge(0.52) and judge(0.52).message == "try again"
    assert not judge(2.009) and judge(2.009).message == "upside down"
    assert judge(float("nan")).message == "answer with a number: a ratio; got nan"
    assert judge("0.5").message == "answer with a number: a ratio; got '0.5'"
    assert judge(None).message == "replace None with your answer: a number: a ratio"


def _integer_checks():
    """Every check in convbook.check.chNN whose docstring says ``Answer: an int``."""
    found = {}
    for info in pkgutil.iter_modules(convbook.check.__path__):
        if not info.name.startswith("ch"):
            continue
        module = importlib.import_module(f"convbook.check.{info.name}")
        for name, fn in inspect.getmembers(module, inspect.isfunction):
            public = fn.__module__ == module.__name__ and not name.startswith("_")
            if public and "Answer: an int" in (fn.__doc__ or ""):
                found[f"{info.name}.{name}"] = fn
    return found


INTEGER_CHECKS = _integer_checks()


def test_the_table_names_every_integer_check():
    assert set(INTEGER_CHECKS) == set(RIGHT_INTS)
    assert len({name.split(".")[0] for name in INTEGER_CHECKS}) >= 8


@pytest.mark.parametrize("name", sorted(INTEGER_CHECKS))
def test_every_integer_check_reads_answers_alike(name):
    check, right = INTEGER_CHECKS[name], RIGHT_INTS[name]
    right = right() if callable(right) else right
    for same in (right, float(right), np.int64(right), torch.tensor(right)):
        assert check(same), (name, same)
    assert not check(right + 1)
    for bad in (True, str(right), right + 0.5):
        result = check(bad)
        assert not result and "answer with an int" in result.message, (name, bad)
    assert "replace None with your answer: an int" in check(None).message
