"""Build the book as static HTML from the committed, executed chapter notebooks.

    python tools/build_book.py [--out _build/html]

Writes one page per chapter (``NN_name.html``, from ``chapters/NN_name.ipynb`` as committed:
nothing is executed), an ``index.html`` with the table of contents, and ``book.css``; and the
same for the Chinese edition in ``zh/`` (from ``chapters/zh/``).  Every chapter's navigation bar
links to its translation, and each table of contents to the other edition's.
Pages are nbconvert's JupyterLab HTML export with the template in ``tools/book_template/``:
a contents / previous / next bar, and for each widget the still image it put in its display
bundle (a widget needs the chapter's kernel to do anything, which a static page has not).
Links between chapters (``02_padding_and_stride.md#anchor`` or ``.ipynb``) point to the pages.

The pages load nothing from another host, so the book reads the same offline: each formula
(``$...$``, ``$$...$$``, ``\\begin{...}``) is drawn at build time as MathML, which browsers
draw natively, by math-core (a formula it cannot convert stops the build, naming the chapter
and the formula); the Binder and Colab badge images under each title become text labels; the
template drops the scripts nbconvert would load from CDNs (MathJax, require.js, mermaid and
the Jupyter widget manager); and an image on another host in a chapter stops the build.
"""

from __future__ import annotations

import argparse
import functools
import html
import re
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import urlsplit

import nbformat
from jinja2 import pass_context
from math_core import LatexError, LatexToMathML
from nbconvert import HTMLExporter
from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath

try:  # as tools.build_book (tests, PYTHONPATH at the root), or as the script tools/build_book.py
    from tools.launch_links import BINDER_BADGE, COLAB_BADGE
except ModuleNotFoundError:
    from launch_links import BINDER_BADGE, COLAB_BADGE

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = Path(__file__).resolve().parent / "book_template"
STYLESHEET = "book.css"
MERMAID = "text/vnd.mermaid"
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


class BookBuildError(ValueError):
    """A chapter the static book cannot show offline as written: a formula that does not
    convert, an image on another host, a mermaid diagram (its renderer comes from a CDN)."""


@dataclass(frozen=True)
class Formula:
    """One formula of a Markdown text: its LaTeX source, and whether it is displayed
    (``$$...$$``, ``\\begin{...}``) or inline (``$...$``)."""

    tex: str
    display: bool


@functools.cache
def _converter() -> LatexToMathML:
    return LatexToMathML(fancy_error=False)


def mathml(formula: Formula) -> str:
    """The formula as one MathML Core ``<math>`` element (``display="block"`` if displayed).

    >>> mathml(Formula("k_h", display=False))
    '<math><msub><mi>k</mi><mi>h</mi></msub></math>'
    >>> mathml(Formula("n + 1", display=True))
    '<math display="block"><mi>n</mi><mo>+</mo><mn>1</mn></math>'

    Raises :class:`BookBuildError` naming the formula if math-core cannot convert it (an
    unknown command, an unclosed brace, ``&`` outside a table).
    """
    try:
        return _converter().convert_with_local_state(formula.tex, displaystyle=formula.display)
    except LatexError as err:
        raise BookBuildError(f"cannot draw the formula {formula.tex!r}: {err}") from None


#: The launch badges' images (tools/launch_links.py writes them under every chapter's title):
#: on the static page, text labels inside the same links.
LAUNCH_BADGES = frozenset({BINDER_BADGE, COLAB_BADGE})


class BookRenderer(IPythonRenderer):
    """nbconvert's Markdown renderer, with each formula given to ``draw`` (by default
    :func:`mathml`) instead of left as TeX for MathJax, and images on other hosts refused."""

    def __init__(self, *args, draw: Callable[[Formula], str] = mathml, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.draw = draw

    def block_math(self, body: str) -> str:
        return self.draw(Formula(body, display=True))

    def inline_math(self, body: str) -> str:
        return self.draw(Formula(body, display=False))

    def latex_environment(self, name: str, body: str) -> str:
        return self.draw(Formula(f"\\begin{{{name}}}{body}\\end{{{name}}}", display=True))

    def image(self, text: str, url: str, title: str | None = None) -> str:
        if url in LAUNCH_BADGES:
            return f'<span class="launch-badge">{text}</span>'
        if urlsplit(url).scheme in ("http", "https") or url.startswith("//"):
            raise BookBuildError(
                f"the image {url!r} is on another host: offline readers would not see it; "
                "put it in the repository and link it by a relative path")
        return super().image(text, url, title)

    def block_mermaidjs(self, code: str) -> str:
        raise BookBuildError("a mermaid diagram needs mermaid's JavaScript from a CDN: "
                             "draw it as an image instead")


def formulas(markdown: str) -> list[Formula]:
    """Every formula in a Markdown text, in order, as nbconvert's Markdown parser finds them
    (so ``$`` inside code spans and fenced code is not a formula).

    >>> formulas(r"a $k \\times k$ kernel, `$HOME`, and $$n + 1$$")
    [Formula(tex='k \\\\times k', display=False), Formula(tex='n + 1', display=True)]
    """
    found: list[Formula] = []

    def keep(formula: Formula) -> str:
        found.append(formula)
        return ""

    MarkdownWithMath(renderer=BookRenderer(escape=False, draw=keep)).render(markdown)
    return found


class BookExporter(HTMLExporter):
    """nbconvert's HTML exporter with :class:`BookRenderer` for every Markdown cell and
    Markdown output."""

    @pass_context
    def markdown2html(self, context, source: str) -> str:
        cell = context.get("cell", {})
        renderer = BookRenderer(
            escape=False,
            attachments=cell.get("attachments", {}),
            embed_images=self.embed_images,
            path=context.get("resources", {}).get("metadata", {}).get("path", ""),
            anchor_link_text=self.anchor_link_text,
            exclude_anchor_links=self.exclude_anchor_links,
            **self.lexer_options,
        )
        return MarkdownWithMath(renderer=renderer).render(source)


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
    exporter = BookExporter(
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
        try:
            if any(MERMAID in output.get("data", {})
                   for cell in nb.cells for output in cell.get("outputs", [])):
                raise BookBuildError("a mermaid output needs mermaid's JavaScript from a CDN")
            body, _ = exporter.from_notebook_node(nb, resources=resources)
        except BookBuildError as err:
            raise BookBuildError(f"{chapter.notebook}: {err}") from None
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
