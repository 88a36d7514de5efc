"""Build the book as static HTML from the committed, executed chapter notebooks.

    python tools/build_book.py [--out _build/html]

Writes one page per chapter (``NN_name.html``, from ``chapters/NN_name.ipynb`` as committed:
nothing is executed), an ``index.html`` with the table of contents, and ``book.css``.
Pages are nbconvert's JupyterLab HTML export with the template in ``tools/book_template/``:
a contents / previous / next bar, the notebook's widget state embedded (online readers see
each widget live, in its last state), and beside each widget the still image it put in
its display bundle, for readers whose viewer cannot run the widget JavaScript.
Links between chapters (``02_padding_and_stride.md#anchor`` or ``.ipynb``) point to the pages.
"""

from __future__ import annotations

import argparse
import html
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbconvert import HTMLExporter

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = Path(__file__).resolve().parent / "book_template"
STYLESHEET = "book.css"
# a Markdown link target or an HTML href naming a chapter file: (prefix, stem, #anchor)
_LINK = re.compile(r"""(\]\(\s*|href=["'])(\d\d_[\w-]+)\.(?:md|ipynb)(#[^)"'\s]*)?""")


#: Chapters numbered from here on are appendices, lettered: 90 is A, 91 is B, ...
FIRST_APPENDIX = 90


@dataclass(frozen=True)
class Chapter:
    """One chapter: its notebook, number (from the file name) and title (first ``# `` heading)."""

    notebook: Path
    number: int
    title: str

    @property
    def label(self) -> str:
        """``"2"`` for chapter 2, ``"A"`` for the first appendix (file ``90_*``)."""
        if self.number >= FIRST_APPENDIX:
            return chr(ord("A") + self.number - FIRST_APPENDIX)
        return str(self.number)

    @property
    def page(self) -> str:
        """File name of the chapter's HTML page."""
        return self.notebook.with_suffix(".html").name


def title_of(nb: nbformat.NotebookNode) -> str:
    """The text of the notebook's first level-1 Markdown heading, without a leading number
    (``2.``) or appendix letter (``A.``)."""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):  # "# 2. Padding and stride": drop the number
                    return re.sub(r"^(\d+\.\s*|[A-Z]\.\s+)", "", line[2:].strip())
    raise ValueError("notebook has no '# ' heading to take its title from")


def find_chapters(folder: Path) -> list[tuple[Chapter, nbformat.NotebookNode]]:
    """Every ``NN_*.ipynb`` in ``folder``, in order, with its notebook read."""
    found = []
    for path in sorted(folder.glob("[0-9][0-9]_*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        found.append((Chapter(path, int(path.name[:2]), title_of(nb)), nb))
    if not found:
        raise FileNotFoundError(f"no chapter notebooks (NN_*.ipynb) in {folder}")
    return found


def rewrite_links(text: str, stems: set[str]) -> str:
    """Point links to chapter files (``.md`` / ``.ipynb``, optional ``#anchor``) at the pages.

    Links to files that are not chapters are left alone.
    """

    def page(match: re.Match) -> str:
        prefix, stem, anchor = match.group(1), match.group(2), match.group(3) or ""
        return f"{prefix}{stem}.html{anchor}" if stem in stems else match.group(0)

    return _LINK.sub(page, text)


def nav_bar(chapters: list[Chapter], i: int) -> str:
    """The contents / previous / next bar of chapter ``i``, as HTML."""
    links = ['<a class="contents" href="index.html">contents</a>']
    if i > 0:
        prev = chapters[i - 1]
        links.append(f'<a class="prev" rel="prev" href="{prev.page}">← {_label(prev)}</a>')
    if i + 1 < len(chapters):
        nxt = chapters[i + 1]
        links.append(f'<a class="next" rel="next" href="{nxt.page}">{_label(nxt)} →</a>')
    return f'<nav class="book-nav">{" ".join(links)}</nav>'


def _label(chapter: Chapter) -> str:
    return html.escape(f"{chapter.label}. {chapter.title}")


def index_page(chapters: list[Chapter]) -> str:
    """The table of contents, as a complete HTML page."""
    items = "\n".join(
        f'<li><span class="number">{c.label}.</span>'
        f'<a href="{c.page}">{html.escape(c.title)}</a></li>'
        for c in chapters
    )
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>convbook: convolution for deep learning</title>
<link rel="stylesheet" href="{STYLESHEET}">
</head>
<body class="book-index">
<h1 id="contents">convbook: convolution for deep learning</h1>
<p>An interactive textbook about image convolution for deep learning. These pages show
each chapter as it was last run, with its outputs. To run the book yourself, drag the
sliders and edit the kernels, clone the repository and type <code>make lab</code>, or open
a chapter on Binder or Colab with the badges under its title.</p>
<ol>
{items}
</ol>
</body>
</html>
"""


def _trusted(text: str | bytes) -> str:
    """Stand-in for nbconvert's ``clean_html`` filter: the HTML, unchanged."""
    return text.decode("utf-8") if isinstance(text, bytes) else text


def build(out: Path, folder: Path = ROOT / "chapters") -> list[Path]:
    """Write the book into ``out`` (created if needed); return the pages written, index first."""
    found = find_chapters(folder)
    chapters = [chapter for chapter, _ in found]
    stems = {c.notebook.stem for c in chapters}
    exporter = HTMLExporter(
        extra_template_basedirs=[str(TEMPLATE.parent)], template_name=TEMPLATE.name
    )
    # The chapters are this repository's own, trusted notebooks: skip the HTML sanitizer
    # (bleach), which took a third of the build and would strip what JupyterLab shows.
    exporter.register_filter("clean_html", _trusted)
    out.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(TEMPLATE / STYLESHEET, out / STYLESHEET)
    pages = [out / "index.html"]
    pages[0].write_text(index_page(chapters), encoding="utf-8")
    for i, (chapter, nb) in enumerate(found):
        for cell in nb.cells:
            if cell.cell_type == "markdown":
                cell.source = rewrite_links(cell.source, stems)
        resources = {
            "metadata": {"name": f"{chapter.label}. {chapter.title} · convbook"},
            "book_nav": nav_bar(chapters, i),
        }
        body, _ = exporter.from_notebook_node(nb, resources=resources)
        pages.append(out / chapter.page)
        pages[-1].write_text(body, encoding="utf-8")
    return pages


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "_build" / "html", help="output folder")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    pages = build(args.out)
    seconds = time.perf_counter() - start
    print(f"wrote {len(pages)} pages to {args.out} in {seconds:.1f} s; open {pages[0]}")


if __name__ == "__main__":
    main()
