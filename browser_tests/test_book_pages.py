"""The static HTML book (``make book``) in Chromium, offline: every page opens, its images
load, its code and formulas are there, the widgets show their stills, nothing errs but the
CDN scripts that cannot load without internet.  Full-page screenshots go to artifacts/."""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from conftest import BADGE_HOSTS

from tools import build_book

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "chapters").glob("[0-9][0-9]_*.ipynb"))
TRANSLATED = sorted((ROOT / "chapters" / "zh").glob("[0-9][0-9]_*.ipynb"))
# The pages load require.js, MathJax and the Jupyter widget manager from these CDNs.
CDN_HOSTS = {"cdnjs.cloudflare.com", "cdn.jsdelivr.net", "unpkg.com"}


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("html")
    build_book.build(out)
    return out


def _open(page, path: Path) -> None:
    """Open ``path``; the ``page`` fixture refuses every request to the internet."""
    page.goto(path.as_uri(), wait_until="load")
    page.wait_for_timeout(200)  # let DOMContentLoaded handlers add their scripts


def _images(page) -> list[dict]:
    return page.eval_on_selector_all(
        "img",
        "els => els.map(e => ({src: e.src, w: e.naturalWidth, complete: e.complete, alt: e.alt,"
        " still: !!e.closest('.widget-still'), shown: e.getBoundingClientRect().width}))",
    )


def test_index(book, page, artifacts):
    _open(page, book / "index.html")
    assert page.console.refused == []
    titles = page.eval_on_selector_all(".book-index li a", "els => els.map(e => e.textContent)")
    assert len(titles) == len(NOTEBOOKS)
    assert "make lab" in page.inner_text("body")
    page.screenshot(path=str(artifacts / "index.png"), full_page=True)
    page.console.assert_clean()
    page.click(f"text={titles[1]}")  # the table of contents really leads to the chapter
    page.wait_for_load_state("load")
    assert page.url.endswith(NOTEBOOKS[1].with_suffix(".html").name)
    assert titles[1] in page.inner_text("h1")


def test_chinese_index_and_the_way_back(book, page, artifacts):
    _open(page, book / "zh" / "index.html")
    titles = page.eval_on_selector_all(".book-index li a", "els => els.map(e => e.textContent)")
    assert len(titles) == len(TRANSLATED)
    assert page.evaluate("document.documentElement.lang") == "zh"
    page.screenshot(path=str(artifacts / "index-zh.png"), full_page=True)
    page.console.assert_clean()
    page.click(f"text={titles[0]}")  # a Chinese chapter, then its English version
    page.wait_for_load_state("load")
    assert page.url.endswith("/zh/" + TRANSLATED[0].with_suffix(".html").name)
    page.locator("nav.book-nav a.translation").first.click()
    page.wait_for_load_state("load")
    assert page.url.endswith("/" + TRANSLATED[0].with_suffix(".html").name)
    assert "/zh/" not in page.url


@pytest.mark.parametrize("notebook", NOTEBOOKS + TRANSLATED,
                         ids=lambda p: f"{p.parent.name}-{p.stem}")
def test_chapter_page(book, page, artifacts, notebook):
    nb = json.loads(notebook.read_text(encoding="utf-8"))
    folder = book / "zh" if notebook.parent.name == "zh" else book
    _open(page, folder / notebook.with_suffix(".html").name)

    images = _images(page)
    badges = [i for i in images if urlsplit(i["src"]).hostname in BADGE_HOSTS]
    assert [b["alt"] for b in badges] == ["Open in Binder", "Open in Colab"]
    images = [i for i in images if i not in badges]  # the rest is the page's own
    assert images, "a chapter without a single figure"
    assert all(i["complete"] and i["w"] > 0 for i in images), images
    # offline the widget JavaScript cannot load: every still stays visible
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
    # formulas: the first inline formula of the notebook is in the page's text (typeset by
    # MathJax online; as TeX source offline)
    prose = "".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
    formula = re.search(r"\$[^$\n]+\$", prose)
    if notebook.name.startswith(("01", "02", "05", "06")):  # chapters built on formulas
        assert formula is not None
    if formula is not None:
        assert formula.group(0) in page.inner_text("main")

    assert page.locator("nav.book-nav").count() == 2
    page.screenshot(path=str(artifacts / f"{notebook.parent.name}-{notebook.stem}.png"),
                    full_page=True)
    page.console.assert_clean(external_hosts=CDN_HOSTS | BADGE_HOSTS)


def test_still_hides_once_the_live_widget_renders(book, page):
    """What the widget manager does when it loads: a rendered view in a .widget-subarea."""
    _open(page, book / "02_padding_and_stride.html")
    still = page.locator(".widget-still").first
    assert still.is_visible()
    page.evaluate(
        """() => {
        const view = document.querySelector('.widget-still').previousElementSibling;
        const area = document.createElement('div');
        area.className = 'widget-subarea';
        view.insertBefore(area, view.firstChild);
        area.appendChild(document.createElement('div'));
    }"""
    )
    still.wait_for(state="hidden", timeout=2000)
