"""The static book draws every formula at build time (tools/build_book.py: LaTeX to MathML
with math-core) and loads nothing from another host: every formula of both editions
converts, and what cannot be shown offline stops the build with a message naming it."""

from __future__ import annotations

import doctest
import json
from pathlib import Path

import nbformat
import pytest

from tools import build_book

ROOT = Path(__file__).resolve().parent.parent.parent
EDITIONS = {"en": ROOT / "chapters", "zh": ROOT / "chapters" / "zh"}


def _markdown_texts(notebook: Path) -> list[str]:
    """The Markdown the page renders: every Markdown cell and every text/markdown output."""
    nb = json.loads(notebook.read_text(encoding="utf-8"))
    texts = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown"]
    texts += ["".join(o["data"]["text/markdown"]) for c in nb["cells"]
              for o in c.get("outputs", []) if "text/markdown" in o.get("data", {})]
    return texts


@pytest.mark.parametrize("edition", EDITIONS)
def test_every_formula_of_the_edition_converts_to_mathml(edition):
    found, failed = 0, []
    for notebook in sorted(EDITIONS[edition].glob("[0-9][0-9]_*.ipynb")):
        for text in _markdown_texts(notebook):
            for formula in build_book.formulas(text):
                found += 1
                try:
                    drawn = build_book.mathml(formula)
                except build_book.BookBuildError as err:
                    failed.append(f"{notebook.name}: {err}")
                    continue
                assert drawn.startswith("<math") and drawn.endswith("</math>")
                assert ('display="block"' in drawn.split(">", 1)[0]) == formula.display
    assert failed == []
    assert found > 300  # both editions are written with LaTeX formulas


def test_formulas_are_found_where_markdown_puts_them():
    text = (r"Inline $k_h \times k_w$, display $$\sum_i x_i$$, `$HOME` in code," "\n\n"
            "```bash\necho $PATH $USER\n```\n\n"
            r"\begin{aligned} a &= b \\ c &= d \end{aligned}")
    assert build_book.formulas(text) == [
        build_book.Formula(r"k_h \times k_w", display=False),
        build_book.Formula(r"\sum_i x_i", display=True),
        build_book.Formula(r"\begin{aligned} a &= b \\ c &= d \end{aligned}", display=True),
    ]
    assert all(build_book.mathml(f) for f in build_book.formulas(text))


@pytest.mark.parametrize("tex", [r"\foo x", r"\frac{1}{", "a & b", r"\text{a_b}"])
def test_a_formula_that_does_not_convert_is_named(tex):
    with pytest.raises(build_book.BookBuildError, match="cannot draw the formula") as err:
        build_book.mathml(build_book.Formula(tex, display=False))
    assert repr(tex) in str(err.value)


def _chapter(tmp_path: Path, *cells: nbformat.NotebookNode) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# 1. A chapter"), *cells]
    folder = tmp_path / "chapters"
    folder.mkdir(exist_ok=True)
    nbformat.write(nb, folder / "01_chapter.ipynb")
    return folder


def test_the_build_stops_at_a_formula_it_cannot_draw(tmp_path):
    folder = _chapter(tmp_path, nbformat.v4.new_markdown_cell(r"Fine $n + 1$, wrong $\nosuch{k}$."))
    with pytest.raises(build_book.BookBuildError) as err:
        build_book.build(tmp_path / "html", folder=folder)
    assert "01_chapter.ipynb" in str(err.value) and r"'\\nosuch{k}'" in str(err.value)


@pytest.mark.parametrize("markdown, outputs, words", [
    ("![a figure](https://example.org/figure.png)", [], "is on another host"),
    ("```mermaid\ngraph LR; a-->b\n```", [], "mermaid"),
    ("text", [nbformat.v4.new_output("display_data", data={"text/vnd.mermaid": "graph LR"})],
     "mermaid"),
])
def test_the_build_stops_at_what_needs_another_host(tmp_path, markdown, outputs, words):
    code = nbformat.v4.new_code_cell("", outputs=outputs)
    folder = _chapter(tmp_path, nbformat.v4.new_markdown_cell(markdown), code)
    with pytest.raises(build_book.BookBuildError, match=words) as err:
        build_book.build(tmp_path / "html", folder=folder)
    assert "01_chapter.ipynb" in str(err.value)


def test_a_chapter_with_formulas_and_badges_builds_into_an_offline_page(tmp_path):
    badges = (f"[![Open in Binder]({build_book.BINDER_BADGE})](https://mybinder.org/v2/x) "
              f"[![Open in Colab]({build_book.COLAB_BADGE})](https://colab.research.google.com/x)")
    folder = _chapter(tmp_path, nbformat.v4.new_markdown_cell(
        badges + "\n\n" + r"A $3 \times 3$ kernel: $$n_\text{out} = n - k + 1$$"))
    build_book.build(tmp_path / "html", folder=folder)
    page = (tmp_path / "html" / "01_chapter.html").read_text(encoding="utf-8")
    assert page.count("<math") == 2 and page.count('<math display="block">') == 1
    assert "$" not in page.split("<main>", 1)[1]
    assert '<span class="launch-badge">Open in Binder</span>' in page
    assert '<span class="launch-badge">Open in Colab</span>' in page
    assert "<script" not in page
    assert build_book.BINDER_BADGE not in page and build_book.COLAB_BADGE not in page


def test_the_docstring_examples_hold():
    result = doctest.testmod(build_book)
    assert result.attempted >= 3 and result.failed == 0
