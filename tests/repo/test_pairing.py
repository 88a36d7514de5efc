"""Every chapter is a Jupytext pair, and the two halves hold the same cells."""

from __future__ import annotations

from pathlib import Path

import jupytext
import pytest

CHAPTERS = Path(__file__).resolve().parents[2] / "chapters"
MARKDOWN = sorted(CHAPTERS.glob("[0-9][0-9]_*.md"))


def _cells(path: Path) -> list[tuple[str, str, list[str]]]:
    nb = jupytext.read(path)
    return [
        (c.cell_type, c.source.strip(), sorted(c.metadata.get("tags", []))) for c in nb.cells
    ]


def test_there_are_chapters():
    assert MARKDOWN, "no chapters/NN_name.md found"


@pytest.mark.parametrize("md", MARKDOWN, ids=lambda p: p.name)
def test_chapter_pair_in_sync(md: Path):
    ipynb = md.with_suffix(".ipynb")
    assert ipynb.exists(), f"{ipynb.name} is missing: run `make notebooks`"
    md_cells, nb_cells = _cells(md), _cells(ipynb)
    for i, (a, b) in enumerate(zip(md_cells, nb_cells)):
        assert a == b, f"cell {i} differs between {md.name} and {ipynb.name}: run `make sync`"
    assert len(md_cells) == len(nb_cells), f"{md.name} and {ipynb.name} differ in cell count"


@pytest.mark.parametrize("md", MARKDOWN, ids=lambda p: p.name)
def test_chapter_notebook_is_executed(md: Path):
    nb = jupytext.read(md.with_suffix(".ipynb"))
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code, f"{md.name} has no code"
    missing = [i for i, c in enumerate(code) if c.get("execution_count") is None]
    assert not missing, f"{md.name}: code cells {missing} were never executed: run `make notebooks`"
    # the standard name: Colab knows no other, and any Jupyter started from the venv runs
    # its own Python under it
    assert nb.metadata["kernelspec"]["name"] == "python3"


@pytest.mark.parametrize("ipynb", sorted(CHAPTERS.glob("[0-9][0-9]_*.ipynb"))
                         + sorted(CHAPTERS.glob("zh/[0-9][0-9]_*.ipynb")),
                         ids=lambda p: str(p.relative_to(CHAPTERS)))
def test_no_committed_output_is_a_warning_or_error_stream(ipynb: Path):
    """A reader would see it as a pink box (a missing glyph, a deprecation): fix its cause."""
    nb = jupytext.read(ipynb)
    streams = [(i, "".join(o.get("text", ""))[:200]) for i, c in enumerate(nb.cells)
               for o in c.get("outputs", []) if o.get("name") == "stderr"]
    assert not streams, streams
