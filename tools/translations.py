"""Keep the Chinese edition (``chapters/zh/``) in step with the English chapters.

A translated chapter ``chapters/zh/NN_name.md`` has exactly the code cells of
``chapters/NN_name.md`` (same source, same tags, same order); only its Markdown differs, and
its set-up cell: the code cell tagged ``set-up`` says ``convbook.set_language("en")`` in
English and ``convbook.set_language("zh")`` here, so that a chapter answers in its
language wherever it runs (a copied folder, Binder, Colab).  Its ``.ipynb`` is executed like
the English one (``make notebooks CHAPTERS=chapters/zh/NN_name.md``): its outputs are what a
Chinese reader gets (self-check verdicts, widget labels, figure text in Chinese), and nbval
checks them.

Usage, from the repository root::

    python tools/translations.py          # copy the English code cells into every Chinese
                                          # chapter's .md and .ipynb (outputs of unchanged
                                          # cells are kept; changed cells lose theirs)
    python tools/translations.py --check  # exit 1, saying what differs, if anything would change

``make translations`` runs the first; ``make notebooks`` runs it before executing the
chapters.  A Chinese chapter whose number of code cells differs from the English one is
refused (the translator must add or remove the prose around the new cell by hand).
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import jupytext
import nbformat
from jupytext.combine import combine_inputs_with_outputs

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


#: the tag of a chapter's set-up cell, and the call in it that names the edition's language
SET_UP_TAG = "set-up"
_SET_LANGUAGE = re.compile(r'convbook\.set_language\("(\w+)"\)')
_TAGS = re.compile(r"^:tags:\s*\[([^\]]*)\]", re.MULTILINE)


def for_edition(block: str, edition: str, name: str = "the chapter") -> str:
    """The English code cell ``block`` (fences included) as it stands in ``edition``: the
    same, except a ``set-up`` cell, whose ``convbook.set_language("en")`` names ``edition``
    instead; ``TranslationError`` if a set-up cell does not call it exactly once."""
    tags = _TAGS.search(block.split("\n\n", 1)[0])
    if tags is None or SET_UP_TAG not in [t.strip() for t in tags.group(1).split(",")]:
        return block
    calls = _SET_LANGUAGE.findall(block)
    if calls != ["en"]:
        raise TranslationError(
            f"{name}: its English set-up cell must call convbook.set_language(\"en\") once, "
            f"found {len(calls)} calls naming {calls}")
    return _SET_LANGUAGE.sub(f'convbook.set_language("{edition}")', block)


def with_english_code(translated: str, english: str, name: str = "the chapter",
                      edition: str = "zh") -> str:
    """``translated`` with each of its code cells replaced by the English one at the same
    position (:func:`for_edition`); ``TranslationError`` if the two have different numbers
    of code cells."""
    ours, theirs = code_blocks(translated), code_blocks(english)
    if len(ours) != len(theirs):
        raise TranslationError(
            f"{name} has {len(ours)} code cells and its English original {len(theirs)}: add "
            "or remove the code cell (and translate the prose around it) by hand, then run "
            "this again")
    blocks = iter([for_edition(block, edition, name) for block in theirs])
    return _CODE_CELL.sub(lambda _: next(blocks), translated)


def translated_notebook(translated_md: str, executed: nbformat.NotebookNode | None
                        ) -> nbformat.NotebookNode:
    """The notebook of a translated chapter (its MyST text ``translated_md``), with the
    outputs and metadata of its ``executed`` notebook (the committed ``.ipynb``, if any) for
    every code cell whose source is unchanged."""
    ours = jupytext.reads(translated_md, fmt="md:myst")
    nb = ours if executed is None else combine_inputs_with_outputs(ours, executed, fmt="md:myst")
    nbformat.validate(nb)
    return nb


def _notebook_text(nb: nbformat.NotebookNode) -> str:
    return nbformat.writes(nb) + "\n"


def plan(pair: Pair, edition: str = "zh") -> dict[Path, str]:
    """The new text of the translated ``.md`` and ``.ipynb`` of ``pair``."""
    md_text = with_english_code(pair.translated.read_text(encoding="utf-8"),
                                pair.english.read_text(encoding="utf-8"), pair.name, edition)
    ipynb = pair.translated.with_suffix(".ipynb")
    executed = nbformat.read(ipynb, as_version=4) if ipynb.exists() else None
    nb = translated_notebook(md_text, executed)
    return {pair.translated: md_text, ipynb: _notebook_text(nb)}


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
