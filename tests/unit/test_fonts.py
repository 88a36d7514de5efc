"""Figures and widget pictures draw the reader's language where a font can, else English
with one notice, never missing-glyph boxes (convbook/fonts.py).

Both branches run on every machine: the font lookup is replaced by a stand-in, ``None``
(no CJK font installed) or matplotlib's own DejaVu Sans posing as the CJK font (a real
file, so PIL can load it).  tests/integration/test_zh_edition_runs_anywhere.py draws with
the real font.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt
import pytest
import torch
from matplotlib.text import Text

from convbook import fonts
from convbook.language import set_language
from convbook.plots import sliding_window_figure

DEJAVU = fonts.Font("DejaVu Sans",
                    str(Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"))


@pytest.fixture
def no_cjk_font(monkeypatch):
    monkeypatch.setattr(fonts, "cjk_font", lambda: None)
    monkeypatch.setattr(fonts, "_noticed", False)


@pytest.fixture
def a_cjk_font(monkeypatch):
    monkeypatch.setattr(fonts, "cjk_font", lambda: DEJAVU)
    monkeypatch.setattr(fonts, "_noticed", False)


def texts(figure) -> list[Text]:
    return [t for t in figure.findobj(Text) if t.get_text()]


def test_without_a_cjk_font_chinese_figures_are_english_with_one_notice(no_cjk_font):
    set_language("zh")
    X, K, Y = torch.arange(9.0).reshape(3, 3), torch.ones(2, 2), torch.zeros(2, 2)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        figures = [sliding_window_figure(X, K, Y) for _ in range(3)]
        assert fonts.drawn_text("figures.live.epoch") == "epoch"
    notices = [w for w in caught if issubclass(w.category, fonts.MissingFontWarning)]
    assert len(notices) == 1, [str(w.message) for w in caught]
    assert "fonts-noto-cjk" in str(notices[0].message)
    assert fonts.has_cjk(str(notices[0].message))  # in the reader's language
    for figure in figures:
        words = [t.get_text() for t in texts(figure)]
        assert "input X" in words and "kernel K" in words
        assert not any(fonts.has_cjk(w) for w in words), words
        plt.close(figure)


def test_without_a_cjk_font_widget_labels_stay_chinese_and_pictures_english(no_cjk_font):
    from convbook.language import text

    set_language("zh")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", fonts.MissingFontWarning)
        assert text("widgets.layer_explorer.row") == "行"  # drawn by the browser
        assert fonts.drawn_text("widgets.layer_explorer.top5_title") == "top-5 classes"
        assert fonts.drawing_language() == "en"
        from PIL import ImageFont

        font, default = fonts.pil_font(12), ImageFont.load_default()
        assert type(font) is type(default)
        assert not isinstance(getattr(font, "path", None), str)  # PIL's own, not a file


def test_with_a_cjk_font_chinese_figures_are_chinese_in_that_font(a_cjk_font):
    set_language("zh")
    X, K, Y = torch.arange(9.0).reshape(3, 3), torch.ones(2, 2), torch.zeros(2, 2)
    with warnings.catch_warnings():
        warnings.simplefilter("error", fonts.MissingFontWarning)
        # the stand-in has no Chinese glyphs (a real font: tests/integration/
        # test_zh_edition_runs_anywhere.py)
        warnings.filterwarnings("ignore", message="Glyph .* missing from font")
        figure = sliding_window_figure(X, K, Y)
    chinese = [t for t in texts(figure) if fonts.has_cjk(t.get_text())]
    assert {t.get_text() for t in chinese} == {"输入 X", "卷积核 K", "输出 Y"}
    for t in chinese:
        assert t.get_fontfamily() == ["DejaVu Sans", "DejaVu Sans"]
    others = [t for t in texts(figure) if not fonts.has_cjk(t.get_text())]
    assert others and all(t.get_fontfamily() == ["sans-serif"] for t in others)
    plt.close(figure)
    assert fonts.pil_font(12).path == DEJAVU.path


def test_english_figures_never_ask_for_a_cjk_font(no_cjk_font):
    set_language("en")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        figure = sliding_window_figure(torch.arange(9.0).reshape(3, 3), torch.ones(2, 2),
                                       torch.zeros(2, 2))
    assert "input X" in [t.get_text() for t in texts(figure)]
    plt.close(figure)


def test_has_cjk_sees_chinese_and_its_punctuation_only():
    assert fonts.has_cjk("输出") and fonts.has_cjk("（") and fonts.has_cjk("，")
    assert not fonts.has_cjk("3×3 ⋆ → ∂unit/∂pixel ±1e308")
