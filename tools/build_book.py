"""Build the book as static HTML from the committed, executed chapter notebooks.

    python tools/build_book.py [--out _build/html]

Writes one page per chapter (``NN_name.html``, from ``chapters/NN_name.ipynb`` as committed:
nothing is executed), an ``index.html`` with the table of contents, and ``book.css``; and the
same for the Chinese edition in ``zh/`` (from ``chapters/zh/``).  Every chapter's navigation bar
links to its translation, and each table of contents to the other edition's.
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
from dataclasses import dataclass, replace
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


@dataclass(frozen=True)
class Edition:
    """One language of the book: its chapters' folder, where its pages go, and its words."""

    lang: str  # "en", "zh"
    folder: Path  # chapters/ or chapters/zh/
    subdir: str  # "" or "zh": where its pages go inside the output folder
    name: str  # its name in its own language, for links to it: "English", "中文"
    words: dict[str, str]


EDITIONS = (
    Edition("en", ROOT / "chapters", "", "English", {
        "book": "convbook: convolution for deep learning",
        "intro": "An interactive textbook about image convolution for deep learning. These pages "
                 "show each chapter as it was last run, with its outputs. To run the book "
                 "yourself, drag the sliders and edit the kernels, clone the repository and type "
                 "<code>make lab</code>, or open a chapter on Binder or Colab with the badges "
                 "under its title.",
        "contents": "contents", "other": "这一章的中文版", "other_book": "中文版",
        "still": "The widget as it was when this cell ran. Run the chapter "
                 "(<code>make lab</code>) to use it."}),
    Edition("zh", ROOT / "chapters" / "zh", "zh", "中文", {
        "book": "convbook：深度学习中的卷积",
        "intro": "一本关于深度学习中图像卷积的交互式教材。这些页面展示每一章最近一次运行的结果。"
                 "要自己运行本书、拖动滑块、编辑卷积核，请克隆仓库并输入 <code>make lab</code>，"
                 "或者用每章标题下的徽章在 Binder 或 Colab 上打开。代码单元的输出与英文版相同。",
        "contents": "目录", "other": "English version of this chapter", "other_book": "English",
        "still": "运行这个单元时控件的样子。运行本章（<code>make lab</code>）即可使用它。"}),
)


def nav_bar(chapters: list[Chapter], i: int, words: dict[str, str] | None = None,
            translation: str | None = None) -> str:
    """The contents / previous / next bar of chapter ``i`` as HTML, with a link to the
    chapter's ``translation`` (a relative URL) if it has one."""
    words = words or EDITIONS[0].words
    links = [f'<a class="contents" href="index.html">{words["contents"]}</a>']
    if i > 0:
        prev = chapters[i - 1]
        links.append(f'<a class="prev" rel="prev" href="{prev.page}">← {_label(prev)}</a>')
    if i + 1 < len(chapters):
        nxt = chapters[i + 1]
        links.append(f'<a class="next" rel="next" href="{nxt.page}">{_label(nxt)} →</a>')
    if translation:
        links.append(f'<a class="translation" rel="alternate" href="{translation}">'
                     f'{words["other"]}</a>')
    return f'<nav class="book-nav">{" ".join(links)}</nav>'


def _label(chapter: Chapter) -> str:
    return html.escape(f"{chapter.label}. {chapter.title}")


def index_page(chapters: list[Chapter], edition: Edition | None = None,
               other: str | None = None) -> str:
    """The table of contents, as a complete HTML page (with a link to the ``other``
    edition's table of contents, if given)."""
    edition = edition or EDITIONS[0]
    words = edition.words
    items = "\n".join(
        f'<li><span class="number">{c.label}.</span>'
        f'<a href="{c.page}">{html.escape(c.title)}</a></li>'
        for c in chapters
    )
    switch = (f'\n<p class="other-edition"><a class="translation" rel="alternate" '
              f'href="{other}">{words["other_book"]}</a></p>' if other else "")
    return f"""<!DOCTYPE html>
<html lang="{edition.lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>{words["book"]}</title>
<link rel="stylesheet" href="{STYLESHEET}">
</head>
<body class="book-index">
<h1 id="contents">{words["book"]}</h1>{switch}
<p>{words["intro"]}</p>
<ol>
{{items}}
</ol>
</body>
</html>
""".replace("{items}", items)


def _trusted(text: str | bytes) -> str:
    """Stand-in for nbconvert's ``clean_html`` filter: the HTML, unchanged."""
    return text.decode("utf-8") if isinstance(text, bytes) else text


def build(out: Path, folder: Path | None = None) -> list[Path]:
    """Write the book into ``out`` (created if needed); return the pages written, index first.

    With ``folder``, only the chapters in it (one edition, no translations); else every
    edition of :data:`EDITIONS` that has chapters, each in its own subfolder of ``out``.
    """
    exporter = HTMLExporter(
        extra_template_basedirs=[str(TEMPLATE.parent)], template_name=TEMPLATE.name
    )
    # The chapters are this repository's own, trusted notebooks: skip the HTML sanitizer
    # (bleach), which took a third of the build and would strip what JupyterLab shows.
    exporter.register_filter("clean_html", _trusted)
    if folder is not None:
        return _build_edition(exporter, out, replace(EDITIONS[0], folder=folder), None)
    editions = [e for e in EDITIONS if any(e.folder.glob("[0-9][0-9]_*.ipynb"))]
    pages: list[Path] = []
    for edition in editions:
        others = [e for e in editions if e is not edition]
        pages += _build_edition(exporter, out, edition, others[0] if others else None)
    return pages


def _relative(source: Edition, target: Edition, page: str) -> str:
    """The URL of ``target``'s page ``page`` from a page of ``source``."""
    up = "../" if source.subdir else ""
    return f"{up}{target.subdir + '/' if target.subdir else ''}{page}"


def _build_edition(exporter: HTMLExporter, out: Path, edition: Edition,
                   other: Edition | None) -> list[Path]:
    found = find_chapters(edition.folder)
    chapters = [chapter for chapter, _ in found]
    stems = {c.notebook.stem for c in chapters}
    exporter.language_code = edition.lang  # <html lang=...> of its pages
    translated = ({p.stem for p in other.folder.glob("[0-9][0-9]_*.ipynb")} if other
                  else set())
    target = out / edition.subdir if edition.subdir else out
    target.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(TEMPLATE / STYLESHEET, target / STYLESHEET)
    pages = [target / "index.html"]
    other_index = _relative(edition, other, "index.html") if other else None
    pages[0].write_text(index_page(chapters, edition, other_index), encoding="utf-8")
    for i, (chapter, nb) in enumerate(found):
        for cell in nb.cells:
            if cell.cell_type == "markdown":
                cell.source = rewrite_links(cell.source, stems)
        translation = (_relative(edition, other, chapter.page)
                       if other and chapter.notebook.stem in translated else None)
        resources = {
            "metadata": {"name": f"{chapter.label}. {chapter.title} · convbook"},
            "book_nav": nav_bar(chapters, i, edition.words, translation),
            "still_caption": edition.words["still"],
        }
        body, _ = exporter.from_notebook_node(nb, resources=resources)
        pages.append(target / chapter.page)
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
