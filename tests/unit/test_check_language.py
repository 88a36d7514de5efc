"""The self-checks answer in the reader's language: English, or Chinese in chapters/zh/.

Every message comes from the catalogs (convbook/messages, tested in test_messages.py);
the language comes from ``set_language`` (each chapter's set-up cell), else
``CONVBOOK_LANG``, else the notebook's path (``JPY_SESSION_NAME``) or the working directory
(``.../chapters/zh``), else English (convbook/language.py).
"""

from __future__ import annotations

import functools
import importlib
import inspect
import math
import pkgutil
import re
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import convbook.check
from convbook.check import CheckResult, ch01, ch02, ch07, ch09, get_language, set_language
from convbook.language import text

CJK = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]")


@pytest.fixture(autouse=True)
def _automatic_language(monkeypatch, tmp_path):
    """Each test starts from the automatic language, outside any chapters/zh folder."""
    set_language(None)
    monkeypatch.delenv("CONVBOOK_LANG", raising=False)
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    monkeypatch.chdir(tmp_path)
    yield
    set_language(None)


# ---------------------------------------------------------------------------------------
# Every check, in both languages


def _im2col(X, K):
    k_h, k_w = K.shape
    rows = F.unfold(X[None, None], (k_h, k_w))[0].T
    return (rows @ K.reshape(-1)).reshape(X.shape[0] - k_h + 1, X.shape[1] - k_w + 1)


def _kernel_gradient(X, dY):
    """Exercise 7 of chapter 5 worked with F.conv2d: X correlated with dY dilated by 2."""
    rows, cols = 2 * dY.shape[0] + 1, 2 * dY.shape[1] + 1  # what the windows read
    return F.conv2d(X[None, None, :rows, :cols], dY[None, None], dilation=2)[0, 0]


def _blue(rows):
    K = torch.zeros(3, 3, 3)
    K[2] = torch.tensor(rows)
    return K


@functools.cache
def _rank1_errors() -> tuple[float, float]:
    """Exercise 4 of chapter 7 worked with F.conv2d: (output error, kernel error)."""
    from convbook.images import photo

    K = ch07.RANK1_KERNEL.double()
    U, S, Vh = torch.linalg.svd(K)
    X = photo("camera", size=128).double()[None, None]
    Y = F.conv2d(X, K[None, None])
    Y1 = F.conv2d(F.conv2d(X, (U[:, 0] * S[0]).reshape(1, 1, 3, 1)), Vh[0].reshape(1, 1, 1, 3))
    kernel = (S[0] * torch.outer(U[:, 0], Vh[0]) - K).norm() / K.norm()
    return float((Y1 - Y).norm() / Y.norm()), float(kernel)


W = 640 * 480 * 3 * 1000  # chapter 1's fully connected weights
EVENS = list(range(2, 21, 2))
STANDARD, BOTTLENECK = 256 * 256 * 9, 256 * 64 + 64 * 64 * 9 + 64 * 256
SOBEL_Y = [[1.0, 2, 1], [0, 0, 0], [-1, -2, -1]]
STRIDE_TWO = [[1, 1, 2, 2], [1, 1, 2, 2], [3, 3, 4, 4], [3, 3, 4, 4]]

# name: (a right answer, the typical wrong answers), from the tests of each chapter's checks;
# None (the placeholder) is tried on every check too.
CASES = {
    "ch01.output_shape": ((220, 178), [(219, 177), (178, 220), (224, 180), 220, (True, 178)]),
    "ch01.fc_parameters": (W + 1000, [W, W // 3 + 1000, W // 3, 3_600_000_000, "many"]),
    "ch01.weight_counts": ([614656, 3025, 25], [
        [784, 3025, 25], [614656, 784, 25], [614656, 2916, 25], [614656, 3025, 9], [1, 2]]),
    "ch01.diagonal_edge_kernel": ([[1.0, 0.0], [0.0, -1.0]], [
        [[1.0, 1.0], [1.0, 1.0]], [[0.0, 1.0], [-1.0, 0.0]], [[1.0, -1.0]], torch.ones(6, 6),
        [[float("nan")]]]),
    "ch01.second_derivative_kernel": ([1, -2, 1], [
        [-1, 2, -1], [[1.0], [-2.0], [1.0]], [1.0, -1.0, 0.0], [1.0, -2.0]]),
    "ch01.corr2d_by_hand": ([[1, 8], [1, 0]], [
        F.conv2d(ch01.HAND_X[None, None], ch01.HAND_K.flip(0, 1)[None, None])[0, 0],
        [[1, 8], [2, 0]], [[1.0, 8.0, 0.0]]]),
    "ch02.output_size": (112, [111, 224, True]),
    "ch02.same_padding": (4, [2, 8, 3]),
    "ch02.corner_windows": (9, [1, 25, 4, "nine"]),
    "ch02.halving_sizes": (EVENS, [[*EVENS, 5], EVENS[:-1], [4, 8, 16], 2]),
    "ch03.param_count": ((64 * 9 + 1) * 128, [64 * 9 * 128, 9 * 128]),
    "ch03.mac_count": (56 * 56 * 64 * 256, [64 * 256, 56 * 56 * 64]),
    "ch03.bottleneck_params": ((STANDARD, BOTTLENECK), [
        (BOTTLENECK, STANDARD), (256 * 9, BOTTLENECK), (STANDARD, 64 * 64 * 9), STANDARD]),
    "ch03.blue_edge_kernel": (_blue([[1.0, 1, 1], [0, 0, 0], [-1, -1, -1]]), [
        _blue([[1.0, 1, 1], [0, 0, 0], [0, 0, 0]]), _blue([[2.0, 1, 0], [0, 0, 0], [0, -1, -2]]),
        torch.zeros(3, 3, 3), torch.stack([torch.tensor(SOBEL_Y)] * 3), torch.zeros(3, 3)]),
    "ch03.im2col_entries": (112 * 112 * 3 * 49, [3 * 49 * 218 * 218, 49 * 112 * 112, True]),
    "ch03.corr2d_as_matmul": (_im2col, [
        lambda X, K: _im2col(X, K.flip(0, 1)), lambda X, K: _im2col(X.T, K.T),
        lambda X, K: _im2col(X, K)[:2, :2], lambda X, K: _im2col(X, K) + 1e-3,
        lambda X, K: X @ K, lambda X, K: None]),
    "ch04.pool_output_size": (56, [112, 55]),
    "ch04.max_pool_values": ([[6, 5], [7, 9]], [
        [[6, 6], [9, 9]], [[6, 6, 5], [7, 9, 9], [7, 9, 9]], "six"]),
    "ch04.pooling_reads": (64 * 56 * 56 * 9, [64 * 112 * 112 * 9, 56 * 56 * 9, 64 * 56 * 56]),
    "ch04.min_pool": (lambda X, k: -F.max_pool2d(-X, k), [
        lambda X, k: F.max_pool2d(-X, k), lambda X, k: F.avg_pool2d(X, k),
        lambda X, k: -F.max_pool2d(-X, k, stride=1), lambda X, k: F.max_pool2d(X)]),
    "ch04.exact_shift": (8, [1, 2, 6, 4, True]),
    "ch04.pretrained_shift_survival": None,  # depends on the shipped weights: see _case
    "ch05.output_size": (10, [12, 11, 9, True]),
    "ch05.stride_two": (STRIDE_TWO, [
        [[1, 3, 2], [4, 10, 6], [3, 7, 4]], [[0, 1, 2, 2], *STRIDE_TWO[1:]]]),
    "ch05.overlap_counts": ([1, 1, 2, 1, 2, 1, 2, 1, 1], [[1] * 9, [1, 2]]),
    "ch05.code_bits_per_pixel": (1.0, [8.0, 4.0, 0.25, "1 bit"]),
    "ch05.psnr_of_error": (40, [20, -40]),
    "ch05.gradient_output_padding": (2, [0, 3, 1, "2"]),
    "ch05.kernel_gradient": (_kernel_gradient, [
        lambda X, dY: F.conv2d(X[None, None], dY[None, None])[0, 0], lambda X, dY: 1 / 0,
        lambda X, dY: torch.zeros(3, 3), lambda X, dY: "dK"]),
    "ch06.mixed_stack": (18, [9, 17, "18", 18.5, True]),
    "ch06.layers_for_field": (50, [49, 51, 0]),
    "ch06.dilated_stack": (31, [9, 30]),
    "ch06.weights_saved": (22528, [22, 22527]),
    "ch06.stem_geometry": ((11, 4, 5), [(9, 4, 5), (13, 4, 5), (11, 2, 5), (11, 4, 4), (11, 4)]),
    "ch07.separable_params": (32 * 9 + 32 * 64, [32 * 64 * 9, 288, 2000]),
    "ch07.dilated_receptive_field": (15, [7, 13, "15"]),
    "ch07.shuffle_order": ([0, 2, 4, 1, 3, 5], [[0, 3, 1, 4, 2, 5], [0, 1, 2, 3, 4, 5]]),
    "ch07.rank1_error": None,  # needs the photo: see _case
    "ch07.grouped_params": (128 * 8 * 9, [128 * 64 * 9, 16 * 8 * 9, 128 * 8 * 9 + 128]),
    "ch08.tutorial_flatten_size": (16 * 4 * 4, [400, 576]),
    "ch08.conv_parameters": (32 * 27 + 32, [864, 288, True]),
    "ch08.optimizer_steps": (150, [50, 3, 151]),
    "ch08.fastnet_final_size": (3, [4, 2, 32]),
    "ch09.block_field": ((23, 4), [(12, 4), (22, 4), (23, 2), (25, 4), (23,), ("23", "4")]),
    "ch09.grad_cam_by_hand": ([[0.5, 0], [0.75, 0]], [
        [[0.5, -0.75], [0.75, -0.75]], [[2, 0], [3, 0]], [[0.5, 0], [1, 0]], [[1, 0], [0, 1]],
        "map", [[0.5, 0]]]),
    "ch09.rank_correlation": (0.4, [float(np.corrcoef(ch09.MAP_A, ch09.MAP_B)[0, 1]), 0.6,
                                    -0.4, "0.4", math.nan]),
    "ch09.occlusion_passes": (50, [49, 64, 51, "50"]),
    "ch10.winograd_multiplications": (36, [144, 6, 16, 36.5]),
    "ch10.layer_macs": (8_294_400, [16_588_800, 6_230_016, "8294400"]),
    "ch10.layer_intensity": (16_588_800 / 291_456, [16_588_800 / 291_456 / 2, 1.0, "57"]),
    "ch10.fft_crossover": (5, [3, 7, 9, True]),
    "ch09.class_map_positions": (117, [192, 12, 96, 100, True]),
    "ch90.same_padding": ((2, 3), [(3, 2), (3, 3), (2, 2), 5]),
    "ch90.transpose_size": (33, [32, 31]),
    "ch90.nhwc_to_nchw": ((0, 3, 1, 2), [[0, 2, 3, 1], [0, 3, 2, 1], [0, 3, 3, 1]]),
}


def _case(name):
    if name == "ch04.pretrained_shift_survival":
        from shift_survival import pretrained_survivors

        survivors, _, n = pretrained_survivors()
        return survivors, [n - survivors, str(survivors)]
    if name == "ch07.rank1_error":
        right, kernel = _rank1_errors()
        return right, [kernel, right * 1.1, 0.0, "small"]
    return CASES[name]


def _public_checks():
    """Every public function of every convbook.check.chNN module, by ``chNN.name``."""
    found = {}
    for info in pkgutil.iter_modules(convbook.check.__path__):
        if not re.fullmatch(r"ch\d+", info.name):
            continue
        module = importlib.import_module(f"convbook.check.{info.name}")
        for name, fn in inspect.getmembers(module, inspect.isfunction):
            if fn.__module__ == module.__name__ and not name.startswith("_"):
                found[f"{info.name}.{name}"] = fn
    return found


CHECKS = _public_checks()


def test_the_table_names_every_check():
    assert set(CHECKS) == set(CASES)
    assert len({name.split(".")[0] for name in CHECKS}) == 11


def _in(lang, check, answer):
    set_language(lang)
    try:
        return check(answer)
    finally:
        set_language(None)


@pytest.mark.parametrize("name", sorted(CASES))
def test_every_check_answers_in_both_languages(name):
    check = CHECKS[name]
    right, wrongs = _case(name)
    for i, answer in enumerate([None, right, *wrongs]):
        en, zh = _in("en", check, answer), _in("zh", check, answer)
        where = (name, i, en.message, zh.message)
        assert en.ok == zh.ok == (i == 1), where
        assert en.lang == "en" and zh.lang == "zh", where
        assert en.message and not CJK.search(en.message), where
        assert CJK.search(zh.message), where
        assert repr(en).startswith("✅ Correct: " if en.ok else "❌ Not yet: "), where
        assert repr(zh).startswith("✅ 正确：" if zh.ok else "❌ 还不对："), where
        # Automatic, outside chapters/zh: English, exactly as before.
        assert check(answer) == en, where


def test_a_check_run_in_chapters_zh_answers_in_chinese(monkeypatch, tmp_path):
    english = ch02.output_size(111)
    assert english.message == "padding=3 is per side: the total padding is 6."
    folder = tmp_path / "book" / "chapters" / "zh"
    folder.mkdir(parents=True)
    monkeypatch.chdir(folder)
    chinese = ch02.output_size(111)
    assert not chinese and chinese.message == "padding=3 指每一侧的填充：总的填充是 6。"
    assert repr(chinese) == "❌ 还不对：padding=3 指每一侧的填充：总的填充是 6。"


def test_a_result_keeps_the_language_it_was_made_in():
    set_language("zh")
    result = ch02.output_size(112)
    set_language("en")
    assert repr(result).startswith("✅ 正确：112：")
    assert "✅ 正确" in result._repr_html_()
    assert repr(CheckResult(True, "fine")) == "✅ Correct: fine"  # default: English
    assert repr(CheckResult(False, "不对", "zh")) == "❌ 还不对：不对"
    with pytest.raises(ValueError, match="lang must be 'en' or 'zh', got 'fr'"):
        CheckResult(True, "fine", "fr")


# ---------------------------------------------------------------------------------------
# How the language is chosen


def _chinese_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "convbook" / "chapters" / "zh"
    folder.mkdir(parents=True)
    return folder


def test_english_by_default():
    assert get_language() == "en" and text("common.judge.an_int", what="x") == "an int: x"


def test_set_language_wins(monkeypatch, tmp_path):
    monkeypatch.chdir(_chinese_folder(tmp_path))
    monkeypatch.setenv("JPY_SESSION_NAME", "chapters/zh/01_cross_correlation.ipynb")
    monkeypatch.setenv("CONVBOOK_LANG", "zh")
    set_language("en")
    assert get_language() == "en" and text("common.judge.an_int", what="x") == "an int: x"
    monkeypatch.setenv("CONVBOOK_LANG", "en")
    set_language("zh")
    assert get_language() == "zh" and text("common.judge.an_int", what="x") == "一个整数（x）"
    set_language(None)
    assert get_language() == "en"  # back to automatic: CONVBOOK_LANG


def test_convbook_lang_beats_the_notebook(monkeypatch, tmp_path):
    monkeypatch.setenv("CONVBOOK_LANG", "zh")
    assert get_language() == "zh"
    monkeypatch.chdir(_chinese_folder(tmp_path))
    monkeypatch.setenv("JPY_SESSION_NAME", "chapters/zh/01_cross_correlation.ipynb")
    monkeypatch.setenv("CONVBOOK_LANG", "en")
    assert get_language() == "en"
    for ignored in ("fr", "", "chinese"):  # not a language: the notebook decides
        monkeypatch.setenv("CONVBOOK_LANG", ignored)
        assert get_language() == "zh"


@pytest.mark.parametrize(
    "path, lang",
    [
        ("chapters/zh/05_transposed_convolution.ipynb", "zh"),
        ("/home/reader/convbook/chapters/zh/05_transposed_convolution.ipynb", "zh"),
        ("C:\\Users\\reader\\convbook\\chapters\\zh\\05_transposed_convolution.ipynb", "zh"),
        ("chapters/05_transposed_convolution.ipynb", "en"),
        ("zh/chapters/05_transposed_convolution.ipynb", "en"),
        ("chapters/extra/zh/05_transposed_convolution.ipynb", "en"),
        ("chapters/zh_old/05_transposed_convolution.ipynb", "en"),
        ("chapters_zh/05_transposed_convolution.ipynb", "en"),
        ("", "en"),
    ],
)
def test_jpy_session_name(monkeypatch, path, lang):
    monkeypatch.setenv("JPY_SESSION_NAME", path)
    assert get_language() == lang


def test_working_directory(monkeypatch, tmp_path):
    folder = _chinese_folder(tmp_path)
    for english in (folder.parent, tmp_path / "zh", tmp_path / "zh" / "chapters"):
        english.mkdir(parents=True, exist_ok=True)
        monkeypatch.chdir(english)
        assert get_language() == "en", english
    monkeypatch.chdir(folder)
    assert get_language() == "zh"
    # A Chinese chapter's notebook path, or its folder, is enough on its own.
    monkeypatch.setenv("JPY_SESSION_NAME", "chapters/05_transposed_convolution.ipynb")
    assert get_language() == "zh"
    monkeypatch.chdir(tmp_path)
    assert get_language() == "en"
    monkeypatch.setenv("JPY_SESSION_NAME", "chapters/zh/05_transposed_convolution.ipynb")
    assert get_language() == "zh"


def test_nothing_is_cached(monkeypatch):
    assert get_language() == "en"
    monkeypatch.setenv("CONVBOOK_LANG", "zh")
    assert get_language() == "zh"
    monkeypatch.delenv("CONVBOOK_LANG")
    assert get_language() == "en"


@pytest.mark.parametrize("bad", ["fr", "EN", "zh-CN", ""])
def test_set_language_rejects_other_languages(bad):
    set_language("zh")
    message = f"lang must be 'en' or 'zh' (or None for automatic), got {bad!r}"
    with pytest.raises(ValueError, match=re.escape(message)):
        set_language(bad)
    assert get_language() == "zh"  # unchanged


@pytest.mark.parametrize("bad", [1, True, b"zh", ["zh"]])
def test_set_language_rejects_other_types(bad):
    with pytest.raises(TypeError, match=r"^lang must be a str or None, got "):
        set_language(bad)
    assert get_language() == "en"


def test_exported_from_convbook_check():
    assert {"set_language", "get_language"} <= set(convbook.check.__all__)
    assert convbook.check.set_language is set_language
