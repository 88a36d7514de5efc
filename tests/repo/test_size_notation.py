"""One size notation in both editions: 3×3 in prose, ``\\times`` inside formulas.

A size in the prose is written with the multiplication sign and no spaces (a 3×3 kernel,
3×3 卷积); a formula uses ``\\times`` (``$k_h \\times k_w$``), and a formula that is nothing but
a size (``$3 \\times 3$``) is written in prose instead. Code cells and code spans keep
Python's notation and are not read.
"""

from __future__ import annotations

import re
from pathlib import Path

import jupytext
import pytest

ROOT = Path(__file__).resolve().parents[2]
CHAPTERS = sorted((ROOT / "chapters").glob("[0-9][0-9]_*.md")) + \
    sorted((ROOT / "chapters" / "zh").glob("[0-9][0-9]_*.md"))

_CODE = re.compile(r"`[^`\n]*`")
_FORMULA = re.compile(r"\$\$.*?\$\$|\$[^$]*\$", re.DOTALL)
_SIZE_FORMULA = re.compile(r"^\$\s*\d+(?:\s*\\times\s*\d+)+\s*\$$")
_SIZE_WITH_X = re.compile(r"(?<![\w.])\d+ ?[xX*] ?\d+(?![\w])")
_SPACED_TIMES = re.compile(r"\d(?:\s+×\s*|\s*×\s+)\d")  # 1 process × 2 threads is no size


def markdown(md: Path) -> str:
    return "\n".join(c.source for c in jupytext.read(md).cells if c.cell_type == "markdown")


def size_problems(text: str) -> list[str]:
    """Every size in ``text`` (Markdown) that is not written 3×3 in prose or with ``\\times``
    in a formula."""
    text = _CODE.sub(" ", text)
    problems = []
    for m in _FORMULA.finditer(text):
        formula = m.group(0)
        if _SIZE_FORMULA.match(formula):
            problems.append(f"{formula!r}: a size alone, write it in prose as "
                            + "×".join(re.findall(r"\d+", formula)))
        elif "×" in formula:
            problems.append(f"{formula!r}: × inside a formula, write \\times")
    prose = _FORMULA.sub(" ", text)
    problems += [f"{m.group(0)!r}: write sizes with × in prose"
                 for m in _SIZE_WITH_X.finditer(prose)]
    problems += [f"{prose[max(m.start() - 3, 0):m.end() + 3]!r}: no spaces around ×"
                 for m in _SPACED_TIMES.finditer(prose)]
    return problems


@pytest.mark.parametrize("md", CHAPTERS, ids=lambda p: str(p.relative_to(ROOT / "chapters")))
def test_sizes_are_written_one_way(md):
    problems = size_problems(markdown(md))
    assert not problems, f"{md.name}:\n" + "\n".join(problems)


def test_the_size_check_sees_each_other_notation():
    good = "A 3×3 kernel, 3×3 卷积, $k_h \\times k_w$, $2 \\times 2 = 4$, `(3, 3)`, `3x3`, " \
           "the 2 *largest*, 1 process × 2 threads"
    assert size_problems(good) == []
    bad = ["a 3x3 kernel", "a 3 x 3 kernel", "3*3 卷积", "a $3 \\times 3$ kernel",
           "$32 \\times\n32 \\times 3$", "3 × 3 卷积", "$k × k$"]
    for text in bad:
        assert len(size_problems(text)) == 1, text
