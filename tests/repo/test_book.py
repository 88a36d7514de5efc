"""The static HTML book (tools/build_book.py): built once from the committed notebooks, then
every page checked against the notebooks' JSON, read independently here."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from tools import build_book

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "chapters").glob("[0-9][0-9]_*.ipynb"))
TRANSLATED = sorted((ROOT / "chapters" / "zh").glob("[0-9][0-9]_*.ipynb"))
VIEW = "application/vnd.jupyter.widget-view+json"
STATE = "application/vnd.jupyter.widget-state+json"
# Elements whose text is not prose: code, listings, drawn formulas, scripts and styles.
NOT_PROSE = frozenset({"code", "pre", "kbd", "samp", "math", "script", "style"})
# TeX source a reader should never see: $...$, $$...$$, or a command such as \times
RAW_TEX = re.compile(r"\$[^$]+\$|\\[A-Za-z]{2,}|\\[{}_,;]")
# The attributes through which an element makes the browser load something.
LOADING = {"img": ("src", "srcset"), "script": ("src",), "link": ("href",), "iframe": ("src",),
           "source": ("src", "srcset"), "video": ("src", "poster"), "audio": ("src",),
           "embed": ("src",), "object": ("data",), "track": ("src",), "input": ("src",)}
CSS_URL = re.compile(r"""url\(\s*['"]?([^'")]*)|@import\s+['"]([^'"]*)""")


class Page(HTMLParser):
    """Start tags (name, attributes), the text of every <script> and <style>, and the prose
    (text outside :data:`NOT_PROSE` elements) of one HTML page."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.scripts: list[tuple[str, str]] = []  # (type, text)
        self.styles: list[str] = []
        self.prose: list[str] = []
        self._script: str | None = None
        self._style = False
        self._not_prose = 0  # depth inside NOT_PROSE elements
        self.feed(path.read_text(encoding="utf-8"))

    def handle_starttag(self, tag: str, attrs: list) -> None:
        a = {k: v or "" for k, v in attrs}
        self.tags.append((tag, a))
        self._not_prose += tag in NOT_PROSE
        if tag == "script":
            self._script = a.get("type", "")
            self._text: list[str] = []
        self._style = tag == "style"

    def handle_data(self, data: str) -> None:
        if self._script is not None:
            self._text.append(data)
        if self._style:
            self.styles.append(data)
        if not self._not_prose:
            self.prose.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag in NOT_PROSE and self._not_prose:
            self._not_prose -= 1
        if tag == "script" and self._script is not None:
            self.scripts.append((self._script, "".join(self._text)))
            self._script = None
        self._style = False

    def all(self, tag: str, **attrs: str) -> list[dict[str, str]]:
        """Attributes of every ``tag`` whose attributes contain ``attrs`` (class: one word)."""
        found = []
        for name, a in self.tags:
            if name != tag:
                continue
            if all(
                v in a.get("class", "").split() if k == "class_" else a.get(k) == v
                for k, v in attrs.items()
            ):
                found.append(a)
        return found

    @property
    def ids(self) -> set[str]:
        return {a["id"] for _, a in self.tags if "id" in a} | {
            a["name"] for t, a in self.tags if t == "a" and "name" in a
        }


def _outputs(notebook: Path) -> list[dict]:
    """Every display/execute output's data dict, read straight from the .ipynb JSON."""
    nb = json.loads(notebook.read_text(encoding="utf-8"))
    return [o["data"] for cell in nb["cells"] for o in cell.get("outputs", []) if "data" in o]


@dataclass
class Book:
    out: Path
    pages: dict[str, Page]  # by file name


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> Book:
    out = tmp_path_factory.mktemp("html")
    build_book.build(out)
    return Book(out, {path.relative_to(out).as_posix(): Page(path)
                      for path in out.rglob("*.html")})


def _page(book: Book, notebook: Path) -> Page:
    name = notebook.with_suffix(".html").name
    assert name in book.pages, f"no page for {notebook.name}"
    return book.pages[name]


def test_there_are_chapters():
    assert len(NOTEBOOKS) >= 8


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_figure_is_on_the_page(book, notebook):
    # one <img> per image/png output: figures, and the stills of widgets
    expected = sum("image/png" in data for data in _outputs(notebook))
    images = [a for a in _page(book, notebook).all("img") if a["src"].startswith("data:image/png")]
    assert len(images) == expected


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_widgets_show_their_still(book, notebook):
    # a widget needs the chapter's kernel: the page shows the still each widget put in its
    # display bundle (KernelEditor, ConvExplorer, LayerExplorer), and neither the widget's
    # view nor the notebook's widget state, which only the widget JavaScript could use
    page = _page(book, notebook)
    views = [data for data in _outputs(notebook) if VIEW in data]
    assert all("image/png" in data for data in views)
    stills = page.all("figure", class_="widget-still")
    assert len(stills) == len(views)
    assert [kind for kind, _ in page.scripts if kind in (VIEW, STATE)] == []


def _is_remote(url: str) -> bool:
    """Whether loading ``url`` from a page asks another host (``data:`` and relative: no)."""
    return url.strip().startswith("//") or urlsplit(url.strip()).scheme not in ("", "data")


def test_pages_load_nothing_from_another_host(book):
    stylesheets = [(path.relative_to(book.out).as_posix(), path.read_text(encoding="utf-8"))
                   for path in book.out.rglob("*.css")]
    assert stylesheets
    for name, page in book.pages.items():
        assert page.scripts == [], f"{name}: a script"  # none is needed: nothing to fetch
        for tag, attrs in page.tags:
            for attr in LOADING.get(tag, ()):
                urls = [u.split()[0] for u in attrs.get(attr, "").split(",") if u.strip()]
                assert not any(map(_is_remote, urls)), f"{name}: <{tag} {attr}={urls}>"
        css = page.styles + [a["style"] for _, a in page.tags if "style" in a]
        stylesheets += [(name, text) for text in css]
    for name, text in stylesheets:
        urls = [url or imported for url, imported in CSS_URL.findall(text)]
        assert not any(map(_is_remote, urls)), f"{name}: {[u for u in urls if _is_remote(u)]}"


@pytest.mark.parametrize("notebook", NOTEBOOKS + TRANSLATED,
                         ids=lambda p: f"{p.parent.name}-{p.stem}")
def test_every_formula_is_drawn_and_no_tex_is_left(book, notebook):
    name = notebook.with_suffix(".html").name
    page = book.pages[f"zh/{name}" if notebook.parent.name == "zh" else name]
    nb = json.loads(notebook.read_text(encoding="utf-8"))
    markdown = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown"]
    markdown += ["".join(data["text/markdown"]) for data in _outputs(notebook)
                 if "text/markdown" in data]
    expected = sum(len(build_book.formulas(text)) for text in markdown)
    assert len(page.all("math")) == expected
    assert [t for t in page.prose if RAW_TEX.search(t)] == []
    # the launch badges are text labels: their images would be loaded from those services
    assert len(page.all("span", class_="launch-badge")) == 2


def test_the_page_checks_see_tex_and_loads(tmp_path):
    sample = tmp_path / "sample.html"
    sample.write_text(
        '<html><head><style>@import "https://fonts.example.org/a.css";</style>'
        '<script src="https://cdn.example.org/x.js"></script></head><body>'
        r"<p>a $3 \times 3$ kernel, <code>$HOME</code></p><pre>\times</pre>"
        r'<math><mi>x</mi></math><p style="background: url(//cdn.example.org/b.png)">'
        r"n \times n</p></body></html>", encoding="utf-8")
    page = Page(sample)
    assert [t for t in page.prose if RAW_TEX.search(t)] == [r"a $3 \times 3$ kernel, ",
                                                             r"n \times n"]
    assert _is_remote(page.all("script")[0]["src"])
    urls = [u or i for text in [*page.styles, page.all("p")[1]["style"]]
            for u, i in CSS_URL.findall(text)]
    assert urls == ["https://fonts.example.org/a.css", "//cdn.example.org/b.png"]
    assert all(map(_is_remote, urls)) and not _is_remote("data:image/png;base64,x")
    assert not _is_remote("book.css") and not _is_remote("../zh/index.html#top")


def test_appendices_are_lettered(book):
    found = {c.notebook.name: c for c, _ in build_book.find_chapters(ROOT / "chapters")}
    appendix = found["90_appendix_keras.ipynb"]
    assert appendix.label == "A" and appendix.title == "From TensorFlow and Keras to PyTorch"
    assert found["02_padding_and_stride.ipynb"].label == "2"
    assert build_book.Chapter(Path("91_more.ipynb"), 91, "More").label == "B"
    index = (book.out / "index.html").read_text(encoding="utf-8")
    assert '<span class="number">A.</span>' in index
    assert '<span class="number">90.</span>' not in index


def test_index_lists_every_chapter_in_order(book):
    links = [a["href"] for a in book.pages["index.html"].all("a")
             if "translation" not in a.get("class", "")]
    assert links == [nb.with_suffix(".html").name for nb in NOTEBOOKS]
    assert "<code>make lab</code>" in (book.out / "index.html").read_text(encoding="utf-8")


def test_navigation_bars(book):
    pages = [nb.with_suffix(".html").name for nb in NOTEBOOKS]
    for i, name in enumerate(pages):
        page = book.pages[name]
        assert len(page.all("nav", class_="book-nav")) == 2  # top and bottom
        assert {a["href"] for a in page.all("a", class_="contents")} == {"index.html"}
        prev = {a["href"] for a in page.all("a", rel="prev")}
        nxt = {a["href"] for a in page.all("a", rel="next")}
        assert prev == ({pages[i - 1]} if i > 0 else set())
        assert nxt == ({pages[i + 1]} if i + 1 < len(pages) else set())


def test_no_broken_internal_links(book):
    checked = 0
    for name, page in book.pages.items():
        folder = (book.out / name).parent
        for tag, attr in (("a", "href"), ("link", "href"), ("img", "src"), ("script", "src")):
            for a in page.all(tag):
                target = a.get(attr, "")
                parts = urlsplit(target)
                if not target or parts.scheme or target.startswith("//"):
                    continue  # absent, data:, http(s): not internal
                file = (folder / unquote(parts.path)).resolve() if parts.path \
                    else book.out / name
                assert file.is_file(), f"{name}: {tag} {attr}={target!r} points to no file"
                if parts.fragment:
                    assert file.suffix == ".html", f"{name}: fragment on {target!r}"
                    ids = book.pages[file.relative_to(book.out.resolve()).as_posix()].ids
                    # a browser tries the fragment as written, then percent-decoded
                    found = {parts.fragment, unquote(parts.fragment)} & ids
                    assert found, f"{name}: no id for {target!r}"
                checked += 1
    assert checked >= 3 * (len(NOTEBOOKS) + len(TRANSLATED))  # stylesheet and bars at least


def test_the_chinese_edition_has_a_page_for_every_translated_chapter(book):
    assert TRANSLATED, "no chapters/zh/NN_name.ipynb"
    for nb in TRANSLATED:
        name = nb.with_suffix(".html").name
        zh, en = book.pages[f"zh/{name}"], book.pages[name]
        # each chapter's bars link to its translation, both ways
        assert {a["href"] for a in zh.all("a", class_="translation")} == {f"../{name}"}
        assert {a["href"] for a in en.all("a", class_="translation")} == {f"zh/{name}"}
        assert ("html", {"lang": "zh"}) in [(t, {"lang": a.get("lang")}) for t, a in zh.tags
                                             if t == "html"]
    untranslated = {nb.with_suffix(".html").name for nb in NOTEBOOKS} - \
        {nb.with_suffix(".html").name for nb in TRANSLATED}
    for name in untranslated:  # no link to a page that does not exist
        assert book.pages[name].all("a", class_="translation") == []


def test_the_two_tables_of_contents_link_to_each_other(book):
    zh_index = book.pages["zh/index.html"]
    chapters = [a["href"] for a in zh_index.all("a") if "translation" not in a.get("class", "")]
    assert chapters == [nb.with_suffix(".html").name for nb in TRANSLATED]
    assert [a["href"] for a in zh_index.all("a", class_="translation")] == ["../index.html"]
    assert [a["href"] for a in book.pages["index.html"].all("a", class_="translation")] == \
        ["zh/index.html"]


@pytest.mark.parametrize(
    "text, expected",
    [
        (
            "see [chapter 2](02_padding_and_stride.md).",
            "see [chapter 2](02_padding_and_stride.html).",
        ),
        ("[x](04_pooling.ipynb#Max-pooling)", "[x](04_pooling.html#Max-pooling)"),
        ('<a href="01_cross_correlation.md">', '<a href="01_cross_correlation.html">'),
        (
            "[readme](../README.md) [no](09_missing.md)",
            "[readme](../README.md) [no](09_missing.md)",
        ),
        ("[web](https://example.org/02_padding_and_stride.md)", None),
    ],
)
def test_links_to_chapters_are_rewritten(text, expected):
    stems = {"01_cross_correlation", "02_padding_and_stride", "04_pooling"}
    assert build_book.rewrite_links(text, stems) == (text if expected is None else expected)


def test_source_listings_are_highlighted_on_the_page(tmp_path):
    # a chapter with one show_source output, as IPython writes it into the notebook
    import nbformat
    from IPython.core.formatters import DisplayFormatter

    from convbook.shapes import effective_kernel_size
    from convbook.source import show_source

    data, _ = DisplayFormatter().format(show_source(effective_kernel_size))
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# 1. Listing"),
        nbformat.v4.new_code_cell(
            "show_source(effective_kernel_size)",
            outputs=[nbformat.v4.new_output("execute_result", data=data, execution_count=1)],
        ),
    ]
    (tmp_path / "chapters").mkdir()
    nbformat.write(nb, tmp_path / "chapters" / "01_listing.ipynb")
    build_book.build(tmp_path / "html", folder=tmp_path / "chapters")
    text = (tmp_path / "html" / "01_listing.html").read_text(encoding="utf-8")
    output = text[text.index('data-mime-type="text/markdown" tabindex') :]
    # pygments' markup: the keyword and the function's name as tokens, in the output area
    assert output.lstrip().split(">", 1)[1].lstrip().startswith('<div class="highlight">')
    assert '<span class="k">def</span>' in output
    assert '<span class="nf">effective_kernel_size</span>' in output
