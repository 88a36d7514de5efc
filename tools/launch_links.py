"""Write (or, with ``--check``, verify) the Binder and Colab launch links of the book.

Everything derives from the repository URL in ``pyproject.toml`` (``[project.urls]
Repository``), so that the links never drift from it or from the chapter files:

* in each ``chapters/NN_name.md`` and each Chinese ``chapters/zh/NN_name.md``: a line of two
  badges right under the title, and a first code cell (with one sentence of prose before it,
  in the chapter's language) that installs ``convbook`` when it is missing, as on Colab;
* in ``README.md``: the section between the ``launch-links`` markers, with a Binder badge for
  the whole book and a table of both links for every chapter and its Chinese translation.

Usage, from the repository root::

    python tools/launch_links.py          # rewrite the chapters and README.md
    python tools/launch_links.py --check  # exit 1, naming the files, if any is out of date

After a rewrite, run ``make notebooks`` so the ``.ipynb`` files pick up the change.
"""

from __future__ import annotations

import argparse
import re
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHAPTER_GLOB = "chapters/[0-9][0-9]_*.md"
TRANSLATION_GLOB = "chapters/zh/[0-9][0-9]_*.md"

BINDER_BADGE = "https://mybinder.org/badge_logo.svg"
COLAB_BADGE = "https://colab.research.google.com/assets/colab-badge.svg"
# mybinder.org builds the default branch's newest commit; Colab needs a branch name.
BINDER_REF = "HEAD"
COLAB_BRANCH = "main"

README_START = "<!-- launch-links:start (written by tools/launch_links.py; do not edit) -->"
README_END = "<!-- launch-links:end -->"

INSTALL_PROSE = [
    "The first code cell installs the `convbook` package when it is missing (on Colab, for",
    "instance) and does nothing where it is already installed.",
]
INSTALL_PROSE_ZH = [
    "第一个代码单元会在缺少 `convbook` 包时安装它（例如在 Colab 上），已经安装时什么也不做。",
]
INSTALL_MARKER = 'importlib.util.find_spec("convbook") is None'
CODE_FENCE = "```{code-cell} ipython3"
SET_UP_TAGS = ":tags: [set-up]"


@dataclass(frozen=True)
class Repository:
    """A GitHub repository, ``https://github.com/<owner>/<name>``."""

    owner: str
    name: str

    @property
    def url(self) -> str:
        return f"https://github.com/{self.owner}/{self.name}"

    def binder_url(self, path: str) -> str:
        """mybinder.org link that opens ``path`` (relative to the repository root) in JupyterLab."""
        repo = f"{self.owner}/{self.name}"
        return f"https://mybinder.org/v2/gh/{repo}/{BINDER_REF}?urlpath=lab/tree/{path}"

    def colab_url(self, path: str) -> str:
        """Colab link that opens the notebook ``path`` straight from GitHub."""
        repo = f"{self.owner}/{self.name}"
        return f"https://colab.research.google.com/github/{repo}/blob/{COLAB_BRANCH}/{path}"

    def pip_requirement(self) -> str:
        return f"convbook @ git+{self.url}"


def repository(root: Path = ROOT) -> Repository:
    """The repository named by ``[project.urls] Repository`` in ``pyproject.toml``."""
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    url = project["urls"]["Repository"]
    match = re.fullmatch(r"https://github\.com/([\w.-]+)/([\w.-]+)", url)
    if match is None:
        raise ValueError(
            f"[project.urls] Repository must be https://github.com/<owner>/<name>, got {url!r}"
        )
    return Repository(match.group(1), match.group(2))


def install_cell(repo: Repository, lang: str = "en") -> str:
    """Source of the first code cell of every chapter, its set-up cell: install convbook only
    if it is missing, then name the chapter's language (``lang``: ``"en"``, ``"zh"``), so that
    its self-checks, widgets and figures speak it wherever the notebook runs."""
    return (
        "import importlib.util\n"
        "import subprocess\n"
        "import sys\n"
        "\n"
        f"if {INSTALL_MARKER}:\n"
        '    pip = [sys.executable, "-m", "pip", "install", "--quiet"]\n'
        f'    subprocess.check_call([*pip, "{repo.pip_requirement()}"])\n'
        "\n"
        "import convbook  # noqa: E402\n"
        "\n"
        f'convbook.set_language("{lang}")  # the self-checks\', widgets\' and figures\' language'
    )


def badge_line(repo: Repository, notebook: str) -> str:
    """The two badges for one chapter; ``notebook`` is e.g. ``chapters/01_x.ipynb``."""
    return (
        f"[![Open in Binder]({BINDER_BADGE})]({repo.binder_url(notebook)}) "
        f"[![Open in Colab]({COLAB_BADGE})]({repo.colab_url(notebook)})"
    )


def _is_badge_line(line: str) -> bool:
    return line.startswith("[![Open in Binder]")


def render_chapter(text: str, notebook: str, repo: Repository,
                   prose: list[str] = INSTALL_PROSE, lang: str = "en") -> str:
    """``text`` (a chapter's MyST source) with its badges and install cell brought up to date;
    ``prose`` is the sentence before the install cell, in the chapter's language."""
    lines = text.split("\n")
    title = next((i for i, line in enumerate(lines) if line.startswith("# ")), None)
    if title is None:
        raise ValueError(f"{notebook}: no '# ' title line")
    # Badges: the first non-blank line after the title.
    after = title + 1
    while after < len(lines) and not lines[after].strip():
        after += 1
    if after < len(lines) and _is_badge_line(lines[after]):
        del lines[title + 1 : after + 1]
    lines[title + 1 : title + 1] = ["", badge_line(repo, notebook)]

    # Install cell: the first code cell, preceded by one paragraph of prose.
    fence = lines.index(CODE_FENCE, title)
    end = lines.index("```", fence + 1)
    if any(INSTALL_MARKER in line for line in lines[fence + 1 : end]):
        start = fence
        # Remove the cell, the blank lines around it and the prose sentence before it.
        while start > 0 and not lines[start - 1].strip():
            start -= 1
        if lines[max(start - len(prose), 0) : start] == prose:
            start -= len(prose)
            while start > 0 and not lines[start - 1].strip():
                start -= 1
        stop = end + 1
        while stop < len(lines) and not lines[stop].strip():
            stop += 1
        del lines[start:stop]
        lines[start:start] = [""]
        fence = start + 1
    block = [*prose, "", CODE_FENCE, SET_UP_TAGS, "", *install_cell(repo, lang).split("\n"),
             "```", ""]
    lines[fence:fence] = block
    return "\n".join(lines)


def chapter_title(text: str) -> str:
    return next(line[2:].strip() for line in text.split("\n") if line.startswith("# "))


def readme_section(repo: Repository, chapters: list[tuple[str, str]],
                   translations: dict[str, tuple[str, str]] | None = None) -> str:
    """The README block; ``chapters`` holds ``(notebook path, title)`` pairs, and
    ``translations`` maps an English notebook path to its Chinese one and title."""
    translations = translations or {}

    def chinese(nb: str) -> str:
        if nb not in translations:
            return ""
        zh, title = translations[nb]
        return f"[{title}]({repo.binder_url(zh)}) ([Colab]({repo.colab_url(zh)}))"

    rows = [
        f"| {title} | [Binder]({repo.binder_url(nb)}) | [Colab]({repo.colab_url(nb)}) | "
        f"{chinese(nb)} |"
        for nb, title in chapters
    ]
    return "\n".join([
        README_START,
        f"[![Open in Binder]({BINDER_BADGE})]({repo.binder_url('chapters')})",
        "",
        "Run the book without installing anything: Binder opens JupyterLab on the chapters",
        "(CPU only; the first start builds the environment, which takes a few minutes), and",
        "Colab opens one chapter at a time, installing `convbook` in its first cell. The last",
        "column opens the Chinese edition (中文版, in `chapters/zh/`) on Binder and on Colab.",
        "",
        "| chapter | Binder | Colab | 中文版 |",
        "| --- | --- | --- | --- |",
        *rows,
        README_END,
    ])


def render_readme(text: str, section: str) -> str:
    start, end = text.find(README_START), text.find(README_END)
    if start < 0 or end < start:
        raise ValueError(f"README.md has no {README_START!r} ... {README_END!r} section")
    return text[:start] + section + text[end + len(README_END) :]


def expected_files(root: Path = ROOT) -> dict[Path, str]:
    """Every file this tool manages, mapped to the content it should have."""
    repo = repository(root)
    out: dict[Path, str] = {}
    chapters = []
    for md in sorted(root.glob(CHAPTER_GLOB)):
        notebook = md.relative_to(root).with_suffix(".ipynb").as_posix()
        text = md.read_text()
        out[md] = render_chapter(text, notebook, repo)
        chapters.append((notebook, chapter_title(text)))
    translations = {}
    for md in sorted(root.glob(TRANSLATION_GLOB)):
        notebook = md.relative_to(root).with_suffix(".ipynb").as_posix()
        text = md.read_text()
        out[md] = render_chapter(text, notebook, repo, INSTALL_PROSE_ZH, "zh")
        english = f"chapters/{md.with_suffix('.ipynb').name}"
        translations[english] = (notebook, chapter_title(text))
    readme = root / "README.md"
    out[readme] = render_readme(readme.read_text(),
                                readme_section(repo, chapters, translations))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="only report out-of-date files")
    args = parser.parse_args(argv)
    expected = expected_files()
    stale = [path for path, text in expected.items() if path.read_text() != text]
    if args.check:
        for path in stale:
            name = path.relative_to(ROOT)
            print(f"{name}: launch links out of date; run python tools/launch_links.py")
        return 1 if stale else 0
    for path in stale:
        path.write_text(expected[path])
        print(f"updated {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
