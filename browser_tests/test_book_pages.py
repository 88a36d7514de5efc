"""The static HTML book (``make book``) in Chromium, with every request to another host
refused: every page opens, loads nothing from outside, its images load, its code is there,
its formulas are drawn (MathML, no TeX source left in the text), its Chinese is drawn in a
font that has it (no missing-glyph boxes), and its widgets show their stills.  Full-page
screenshots go to artifacts/."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import matplotlib
import pytest
from conftest import CHROMIUM_ARGS, chromium_path
from page_text import missing_glyphs, prose

from tools import build_book

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "chapters").glob("[0-9][0-9]_*.ipynb"))
TRANSLATED = sorted((ROOT / "chapters" / "zh").glob("[0-9][0-9]_*.ipynb"))
# TeX source a reader should never see: $...$, $$...$$, or a command such as \times
RAW_TEX = re.compile(r"\$[^$]+\$|\\[A-Za-z]{2,}|\\[{}_,;]")
LAUNCH_SITES = ("https://mybinder.org/", "https://colab.research.google.com/")


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("html")
    build_book.build(out)
    return out


def _open(page, path: Path) -> None:
    """Open ``path``; the ``page`` fixture refuses every request to another host."""
    page.goto(path.as_uri(), wait_until="load")


def _assert_offline_and_clean(page) -> None:
    """The page asked no other host for anything, and logged no error."""
    assert page.console.refused == [], "the page reached for another host"
    page.console.assert_clean()


def _assert_chinese_is_drawn(page) -> int:
    """Every Chinese character on the page has a glyph; returns how many were checked."""
    checked, missing = missing_glyphs(page)
    assert missing == [], (
        f"{len(missing)} of {checked} Chinese characters drawn as missing-glyph boxes "
        f"({''.join(missing[:20])}...): install a CJK font (Debian: fonts-noto-cjk)")
    return checked


def _images(page) -> list[dict]:
    return page.eval_on_selector_all(
        "img",
        "els => els.map(e => ({src: e.src, w: e.naturalWidth, complete: e.complete, alt: e.alt,"
        " still: !!e.closest('.widget-still'), shown: e.getBoundingClientRect().width}))",
    )


def test_index(book, page, artifacts):
    _open(page, book / "index.html")
    titles = page.eval_on_selector_all(".book-index li a", "els => els.map(e => e.textContent)")
    assert len(titles) == len(NOTEBOOKS)
    assert "make lab" in page.inner_text("body")
    assert _assert_chinese_is_drawn(page) > 0  # the link to the Chinese edition
    page.screenshot(path=str(artifacts / "index.png"), full_page=True)
    _assert_offline_and_clean(page)
    page.click(f"text={titles[1]}")  # the table of contents really leads to the chapter
    page.wait_for_load_state("load")
    assert page.url.endswith(NOTEBOOKS[1].with_suffix(".html").name)
    assert titles[1] in page.inner_text("h1")


def test_chinese_index_and_the_way_back(book, page, artifacts):
    _open(page, book / "zh" / "index.html")
    titles = page.eval_on_selector_all(".book-index li a", "els => els.map(e => e.textContent)")
    assert len(titles) == len(TRANSLATED)
    assert page.evaluate("document.documentElement.lang") == "zh"
    assert _assert_chinese_is_drawn(page) > 50
    page.screenshot(path=str(artifacts / "index-zh.png"), full_page=True)
    _assert_offline_and_clean(page)
    page.click(f"text={titles[0]}")  # a Chinese chapter, then its English version
    page.wait_for_load_state("load")
    assert page.url.endswith("/zh/" + TRANSLATED[0].with_suffix(".html").name)
    page.locator("nav.book-nav a.translation").first.click()
    page.wait_for_load_state("load")
    assert page.url.endswith("/" + TRANSLATED[0].with_suffix(".html").name)
    assert "/zh/" not in page.url
    _assert_offline_and_clean(page)


@pytest.mark.parametrize("notebook", NOTEBOOKS + TRANSLATED,
                         ids=lambda p: f"{p.parent.name}-{p.stem}")
def test_chapter_page(book, page, artifacts, notebook):
    nb = json.loads(notebook.read_text(encoding="utf-8"))
    folder = book / "zh" if notebook.parent.name == "zh" else book
    _open(page, folder / notebook.with_suffix(".html").name)

    # the launch badges are labels drawn by the page, inside links to the two services
    badges = page.eval_on_selector_all(
        ".launch-badge", "els => els.map(e => [e.textContent, e.closest('a').href])")
    assert [text for text, _ in badges] == ["Open in Binder", "Open in Colab"]
    assert [href.startswith(site) for (_, href), site in zip(badges, LAUNCH_SITES)] == [True] * 2

    images = _images(page)
    assert images, "a chapter without a single figure"
    assert all(i["src"].startswith("data:image/") for i in images), images
    assert all(i["complete"] and i["w"] > 0 for i in images), images
    # a static page cannot run a widget: each shows its still
    views = sum(
        "application/vnd.jupyter.widget-view+json" in o.get("data", {})
        for cell in nb["cells"]
        for o in cell.get("outputs", [])
    )
    stills = [i for i in images if i["still"]]
    assert len(stills) == views
    assert all(i["shown"] > 100 for i in stills)

    # code: one highlighted input per code cell
    code_cells = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert page.locator(".jp-CodeCell .jp-InputArea .highlight").count() == len(code_cells)

    # formulas: every one drawn as MathML (laid out as math, not as unknown inline tags),
    # and no TeX source left anywhere in the text outside code
    markdown = [c["source"] for c in nb["cells"] if c["cell_type"] == "markdown"]
    expected = sum(len(build_book.formulas("".join(source))) for source in markdown)
    if notebook.name.startswith(("01", "02", "05", "06")):  # chapters built on formulas
        assert expected > 0
    drawn = page.eval_on_selector_all(
        "math", "els => els.map(e => [getComputedStyle(e).display,"
        " e.getBoundingClientRect().width])")
    assert len(drawn) == expected
    assert all(display in ("math", "block math") and width > 0 for display, width in drawn), \
        drawn
    raw = [text for text in prose(page) if RAW_TEX.search(text)]
    assert raw == [], f"TeX source on the page: {raw[:3]}"

    checked = _assert_chinese_is_drawn(page)
    assert page.locator("nav.book-nav").count() == 2
    name = f"{notebook.parent.name}-{notebook.stem}"
    # the first screen (a whole long page costs 1 to 2 s a chapter: half this test's time)
    page.screenshot(path=str(artifacts / f"{name}.png"))
    if notebook.parent.name == "zh":
        assert checked > 100
        # one screen: the chapter's first figure with the Chinese prose above it
        page.locator("img:not(.widget-still img)").first.evaluate(
            "e => e.scrollIntoView({block: 'end'})")
        page.screenshot(path=str(artifacts / f"{name}-figure.png"))
        if stills:  # and one with the first widget's still, its labels in Chinese
            page.locator(".widget-still img").first.evaluate(
                "e => e.scrollIntoView({block: 'end'})")
            page.screenshot(path=str(artifacts / f"{name}-widget.png"))
    _assert_offline_and_clean(page)


def test_the_checks_see_tex_source_and_missing_glyphs(browser, page, tmp_path):
    """The page checks above can fail: TeX left in the text is found (and TeX inside code
    is not), and so are Chinese characters drawn as missing-glyph boxes."""
    sample = tmp_path / "sample.html"
    sample.write_text(
        '<!DOCTYPE html><html lang="zh"><meta charset="utf-8"><body>'
        r"<p>a $3 \times 3$ kernel</p><p>an n \times n grid</p>"
        r"<p><code>echo $HOME $PATH</code> and <pre>\times</pre></p>"
        "<p>卷积核与特征图</p></body></html>", encoding="utf-8")
    _open(page, sample)
    assert [text for text in prose(page) if RAW_TEX.search(text)] == \
        [r"a $3 \times 3$ kernel", r"an n \times n grid"]
    page.evaluate("""document.body.insertAdjacentHTML('beforeend',
        '<p style="font-family: monospace">\u4e00\u4e01</p>')""")
    checked, missing = missing_glyphs(page)
    assert checked == 9 and missing == []  # the Han characters only, all drawn

    # the same page in a Chromium that sees matplotlib's DejaVu fonts and nothing else:
    # the fonts of a machine without a CJK font
    fonts = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    config = tmp_path / "fonts.conf"
    config.write_text(
        '<?xml version="1.0"?><!DOCTYPE fontconfig SYSTEM "fonts.dtd"><fontconfig>'
        f"<dir>{fonts}</dir><cachedir>{tmp_path / 'fontcache'}</cachedir></fontconfig>")
    without_cjk = browser.browser_type.launch(
        executable_path=chromium_path(), args=CHROMIUM_ARGS,
        env={**os.environ, "FONTCONFIG_FILE": str(config)})
    try:
        bare = without_cjk.new_page()
        _open(bare, sample)
        checked, missing = missing_glyphs(bare)
        assert checked == 7 and sorted(missing) == sorted("卷积核与特征图")
    finally:
        without_cjk.close()
