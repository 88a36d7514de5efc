"""A Chinese chapter answers in Chinese wherever it runs (issue 31 point 7), and draws its
figures' Chinese in a real CJK font, with no missing glyph (issue 32 point 3).

The first test copies chapter 01's set-up cell and an exercise's self-check out of
chapters/zh into a temporary folder and runs them in a fresh kernel there, with nothing in
the environment naming the language (no CONVBOOK_LANG, no JPY_SESSION_NAME, the working
directory outside chapters/): the set-up cell alone makes it Chinese.  The English chapter's
same cells, copied the same way, stay English.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import jupytext
import matplotlib.pyplot as plt
import nbformat
import pytest
import torch
from nbclient import NotebookClient

from convbook import fonts
from convbook.language import set_language

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


def _copied_cells(md: Path, folder: Path) -> Path:
    """The set-up cell and the first self-check cell of chapter ``md``, as a notebook in
    ``folder``."""
    cells = [c for c in jupytext.read(md).cells if c.cell_type == "code"]
    set_up = [c for c in cells if "set-up" in c.metadata.get("tags", [])]
    check = next(c for c in cells if "ch01." in c.source and "= None" in c.source)
    nb = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell(set_up[0].source),
               nbformat.v4.new_code_cell("from convbook.check import ch01"),
               nbformat.v4.new_code_cell(check.source)])
    path = folder / md.with_suffix(".ipynb").name
    nbformat.write(nb, path)
    return path


def _run(path: Path) -> str:
    """Run the notebook ``path`` in its folder (tests/conftest.py has removed CONVBOOK_LANG and
    JPY_SESSION_NAME from the environment); the plain text of its last cell's outputs."""
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    return "\n".join(str(o.get("text", "")) + str(o.get("data", {}).get("text/plain", ""))
                     for o in nb.cells[-1].outputs)


@pytest.mark.parametrize(("edition", "expected", "not_expected"),
                         [("zh", "把 None 换成你的答案", "Not yet"),
                          ("en", "Not yet: replace None with your answer", "把 None")])
def test_a_copied_chapter_answers_in_its_language(tmp_path, edition, expected, not_expected):
    folder = ROOT / "chapters" / ("zh" if edition == "zh" else "")
    copied = _copied_cells(folder / "01_cross_correlation.md", tmp_path)
    assert "chapters" not in copied.resolve().parts
    output = _run(copied)
    assert expected in output and not_expected not in output, output


def test_chinese_figures_are_drawn_in_an_installed_cjk_font_with_every_glyph():
    font = fonts.cjk_font()
    assert font is not None, ("no CJK font installed: .ci/run installs Debian's "
                              "fonts-noto-cjk (sudo apt-get install fonts-noto-cjk)")
    from convbook import models
    from convbook.block_diagram import block_diagram
    from convbook.plots import sliding_window_figure
    from convbook.training.live import LiveLoss

    set_language("zh")
    live = LiveLoss("silent")
    live.update(1.0, loss=1.0)
    live.epoch_end(1, test_acc=0.5)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        figures = [sliding_window_figure(torch.ones(3, 3), torch.ones(2, 2), torch.ones(2, 2)),
                   live.figure(),  # the layout is measured inside, before it returns:
                   block_diagram(models.build("fast"), title=fonts.drawn_text(
                       "figures.ch08.fastnet_widths"))]
        for figure in figures:
            figure.canvas.draw()  # every glyph is looked up here
    missing = [str(w.message) for w in caught if "missing from font" in str(w.message)]
    assert not missing, missing
    assert not [w for w in caught if issubclass(w.category, fonts.MissingFontWarning)]
    drawn = [t.get_text() for f in figures for t in f.findobj(plt.Text)]
    assert "卷积核 K" in drawn and "训练损失" in drawn
    assert fonts.has_cjk(figures[2].axes[0].get_title())
    for figure in figures:
        plt.close(figure)
