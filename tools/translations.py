"""Keep the Chinese edition (``chapters/zh/``) in step with the English chapters.

A translated chapter ``chapters/zh/NN_name.md`` has exactly the code cells of
``chapters/NN_name.md`` (same source, same tags, same order); only its Markdown differs.
Its ``.ipynb`` is never executed: it is the Chinese Markdown with the code cells and their
outputs taken from the executed English ``chapters/NN_name.ipynb``.

Usage, from the repository root::

    python tools/translations.py          # copy the English code cells into every Chinese
                                          # chapter, then write every Chinese .ipynb
    python tools/translations.py --check  # exit 1, saying what differs, if anything would change

``make translations`` runs the first; ``make notebooks`` runs it after executing the English
chapters, so that the Chinese notebooks always carry the new outputs.  A Chinese chapter whose
number of code cells differs from the English one is refused (the translator must add or
remove the prose around the new cell by hand).
"""

from __future__ import annotations

import argparse
import copy
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import jupytext
import nbformat

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = ROOT / "chapters"
EDITIONS = {"zh": CHAPTERS / "zh"}

# A MyST code cell: its opening fence, an optional metadata line, the code, the closing fence.
_CODE_CELL = re.compile(r"^```\{code-cell\}[^\n]*\n.*?^```[ \t]*$", re.MULTILINE | re.DOTALL)


class TranslationError(Exception):
    """A translated chapter cannot be brought in step with its English original."""


@dataclass(frozen=True)
class Pair:
    """A translated chapter and its English original."""

    translated: Path  # chapters/zh/NN_name.md
    english: Path  # chapters/NN_name.md

    @property
    def name(self) -> str:
        return f"{self.translated.parent.name}/{self.translated.name}"


def pairs(edition: str = "zh") -> list[Pair]:
    """Every translated chapter of ``edition`` with its English original."""
    folder = EDITIONS[edition]
    found = []
    for md in sorted(folder.glob("[0-9][0-9]_*.md")):
        english = CHAPTERS / md.name
        if not english.exists():
            raise TranslationError(f"{md.relative_to(ROOT)} has no English original "
                                   f"{english.relative_to(ROOT)}")
        found.append(Pair(md, english))
    return found


def code_blocks(text: str) -> list[str]:
    """The MyST code cells of a chapter's text, fences included, in order."""
    return _CODE_CELL.findall(text)


def with_english_code(translated: str, english: str, name: str = "the chapter") -> str:
    """``translated`` with each of its code cells replaced by the English one at the same
    position; ``TranslationError`` if the two have different numbers of code cells."""
    ours, theirs = code_blocks(translated), code_blocks(english)
    if len(ours) != len(theirs):
        raise TranslationError(
            f"{name} has {len(ours)} code cells and its English original {len(theirs)}: add "
            "or remove the code cell (and translate the prose around it) by hand, then run "
            "this again")
    blocks = iter(theirs)
    return _CODE_CELL.sub(lambda _: next(blocks), translated)


def translated_notebook(translated_md: str, english_ipynb: Path, name: str = "the chapter"
                        ) -> nbformat.NotebookNode:
    """The notebook of a translated chapter (its MyST text ``translated_md``): its Markdown
    cells, and the English notebook's code cells with their outputs, in the translated
    chapter's order."""
    ours = jupytext.reads(translated_md, fmt="md:myst")
    theirs = nbformat.read(english_ipynb, as_version=4)
    english_code = [c for c in theirs.cells if c.cell_type == "code"]
    our_code = [c for c in ours.cells if c.cell_type == "code"]
    if len(our_code) != len(english_code):
        raise TranslationError(
            f"{name} has {len(our_code)} code cells, {english_ipynb.relative_to(ROOT)} "
            f"{len(english_code)}: run `make notebooks` for the English chapter")
    code = iter(english_code)
    cells = []
    for i, cell in enumerate(ours.cells):
        if cell.cell_type == "code":
            cells.append(copy.deepcopy(next(code)))  # keeps the English cell's id
        else:
            cells.append(nbformat.from_dict({
                "cell_type": "markdown", "id": f"zh-{i:04d}", "source": cell.source,
                "metadata": copy.deepcopy(dict(cell.metadata))}))
    nb = nbformat.from_dict({"cells": cells, "metadata": copy.deepcopy(theirs.metadata),
                             "nbformat": theirs.nbformat,
                             "nbformat_minor": theirs.nbformat_minor})
    nbformat.validate(nb)
    return nb


def _notebook_text(nb: nbformat.NotebookNode) -> str:
    return nbformat.writes(nb) + "\n"


def plan(pair: Pair) -> dict[Path, str]:
    """The new text of the translated ``.md`` and ``.ipynb`` of ``pair``."""
    md_text = with_english_code(pair.translated.read_text(encoding="utf-8"),
                                pair.english.read_text(encoding="utf-8"), pair.name)
    english_ipynb = pair.english.with_suffix(".ipynb")
    if not english_ipynb.exists():
        raise TranslationError(f"{english_ipynb.relative_to(ROOT)} is missing: run "
                               "`make notebooks` for the English chapter first")
    nb = translated_notebook(md_text, english_ipynb, pair.name)
    return {pair.translated: md_text, pair.translated.with_suffix(".ipynb"): _notebook_text(nb)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="change nothing; exit 1 naming every file that would change")
    args = parser.parse_args(argv)
    stale = []
    try:
        for pair in pairs():
            for path, text in plan(pair).items():
                old = path.read_text(encoding="utf-8") if path.exists() else None
                if old == text:
                    continue
                stale.append(path)
                if not args.check:
                    path.write_text(text, encoding="utf-8")
    except TranslationError as e:
        print(f"translations: {e}", file=sys.stderr)
        return 2
    for path in stale:
        print(f"{'out of date' if args.check else 'wrote'}: {path.relative_to(ROOT)}")
    if args.check and stale:
        print("run `make translations` (python tools/translations.py)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
