"""The Chinese edition speaks Chinese in its set-up, catalogs and executed outputs, with the
English edition's numbers.

* Every chapter's first code cell is its set-up cell (tagged ``set-up``), which names its
  edition's language: ``convbook.set_language("en")``, ``"zh"`` in chapters/zh.
* The catalogs (convbook/messages/<lang>/*.toml: self-checks, widgets, figures) use the
  glossary's terms (tests/repo/test_translations.py's table), one size notation (× or ·,
  never x or * between numbers or letters), and no markdown (they are shown as plain text).
* The Chinese notebooks are executed, not copied: their self-checks answer in Chinese, and
  every output holds the numbers of the English chapter's same cell.
"""

from __future__ import annotations

import re
from pathlib import Path

import jupytext
import nbformat
import pytest
from catalogs import catalog

from tests.repo.test_translations import glossary, rejected_uses
from tools import translations

ROOT = Path(__file__).resolve().parents[2]
ENGLISH = sorted((ROOT / "chapters").glob("[0-9][0-9]_*.md"))
CHINESE = sorted((ROOT / "chapters" / "zh").glob("[0-9][0-9]_*.md"))
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
_NUMBER = re.compile(r"(?<![\w.])-?\d+(?:[.,]\d+)*(?:e[+-]?\d+)?(?![\w])")


# -- the set-up cell ---------------------------------------------------------------------

@pytest.mark.parametrize("md", ENGLISH + CHINESE,
                         ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_the_first_code_cell_sets_the_editions_language(md):
    lang = "zh" if md.parent.name == "zh" else "en"
    code = [c for c in jupytext.read(md).cells if c.cell_type == "code"]
    tagged = [i for i, c in enumerate(code) if "set-up" in c.metadata.get("tags", [])]
    assert tagged == [0], f"{md.name}: the set-up cell must be the first code cell, the only one"
    calls = re.findall(r'convbook\.set_language\("(\w+)"\)', code[0].source)
    assert calls == [lang], f"{md.name}: its set-up cell names {calls}, not [{lang!r}]"
    assert not any("set_language" in c.source for c in code[1:])


def test_the_translation_tool_names_the_language_and_refuses_a_set_up_cell_without_it():
    cell = '```{code-cell} ipython3\n:tags: [set-up]\n\nimport convbook\n\n' \
           'convbook.set_language("en")  # language\n```'
    assert translations.for_edition(cell, "zh") == cell.replace('("en")', '("zh")')
    plain = '```{code-cell} ipython3\nprint(\'set_language("en")\')\n```'
    assert translations.for_edition(plain, "zh") == plain  # not a set-up cell: as it is
    with pytest.raises(translations.TranslationError, match="set_language"):
        translations.for_edition(cell.replace('convbook.set_language("en")', "pass"), "zh")


# -- the catalogs ------------------------------------------------------------------------

#: a size or product written with x or * (``3x3``, ``k x k``, ``64 * 3``), not ``j *= s`` or
#: ``j**2`` (code)
_X_OR_STAR = re.compile(
    r"(?:\b(?:\d+|[a-z])|\})\s?x\s?(?:(?:\d+|[a-z])\b|\{)|[\w)}] ?\*(?![*=]) ?[\w({]")


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_catalogs_write_sizes_and_products_with_times(lang):
    bad = {key: words for key, words in catalog(lang).items()
           if _X_OR_STAR.search(words.replace("**", "^"))}
    assert not bad, f"write sizes and products with × (or ·): {bad}"


def test_the_notation_check_sees_x_and_star():
    for words in ("a 3x3 kernel", "k x k", "(64 * 3 + 1) * 2", "2*3", "{rows} x {cols}"):
        assert _X_OR_STAR.search(words), words
    assert not _X_OR_STAR.search("3×3, 2·{p}, j *= s, the x axis, export, max(x)")


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_catalogs_have_no_markdown(lang):
    emphasis = re.compile(r"(?<![*A-Za-z0-9])\*[^*\s][^*]*\*(?!\*)|(?<!\w)_[^_\s][^_]*_(?!\w)|`")
    bad = {key: words for key, words in catalog(lang).items() if emphasis.search(words)}
    assert not bad, f"shown as plain text, so no markdown: {bad}"
    assert emphasis.search("从*每一*侧") and emphasis.search("the *mean*")
    assert emphasis.search("use `conv2d`") and not emphasis.search("c_in × k_h, j**2, j *= s")


def test_chinese_catalogs_use_the_glossarys_terms():
    words = "\n".join(catalog("zh").values())
    found = []
    for english, chosen, rejected in glossary():
        used, mentioned = rejected_uses(words, chosen, rejected)
        if used or mentioned:
            found.append(f"{english}: {rejected} in the catalogs; the book says {chosen}")
    assert not found, "\n".join(found)


# -- the executed Chinese notebooks ------------------------------------------------------

def _outputs(cell: nbformat.NotebookNode) -> str:
    """What a reader reads in a code cell's outputs: streams and plain text."""
    return "\n".join(str(o.get("text", "")) + str(o.get("data", {}).get("text/plain", ""))
                     for o in cell.get("outputs", []))


def _code_cells(md: Path) -> list[nbformat.NotebookNode]:
    nb = nbformat.read(md.with_suffix(".ipynb"), as_version=4)
    return [c for c in nb.cells if c.cell_type == "code"]


def _numbers(text: str) -> list[str]:
    return sorted(m.group(0).replace(",", "") for m in _NUMBER.finditer(text))


@pytest.mark.parametrize("md", CHINESE, ids=lambda p: p.stem)
def test_chinese_self_checks_answer_in_chinese(md):
    checks = [c for c in _code_cells(md) if re.search(r"\bch\d\d\.\w+\(", c.source)]
    assert checks, f"{md.name} has no self-check"
    for cell in checks:
        out = _outputs(cell)
        assert out, f"{md.name}: a self-check cell has no output: execute the chapter"
        assert _CJK.search(out) and not re.search(r"Not yet|Right:", out), \
            f"{md.name}: a self-check answers in English: {out[:200]!r}"


@pytest.mark.parametrize("md", CHINESE, ids=lambda p: p.stem)
def test_chinese_outputs_have_the_english_numbers(md):
    """Cell by cell, the outputs of the Chinese notebook hold the numbers of the English one
    (cells whose output depends on time or the machine, tagged nbval-ignore-output, aside;
    in a self-check's words, no number the English words lack: they may order them
    differently, and write a small count as a word)."""
    english = _code_cells(ROOT / "chapters" / md.name)
    chinese = _code_cells(md)
    assert len(english) == len(chinese)
    differ = []
    for i, (en, zh) in enumerate(zip(english, chinese)):
        if "nbval-ignore-output" in en.metadata.get("tags", []):
            continue
        a, b = _outputs(en), _outputs(zh)
        if _CJK.search(b):  # a self-check's words: no number the English lacks (English
            same = set(_numbers(b)) <= set(_numbers(a))  # writes "4 ints", Chinese 四个整数)
        else:
            same = _numbers(a) == _numbers(b)
        if not same:
            differ.append(f"cell {i}: {a[:120]!r} / {b[:120]!r}")
    assert not differ, f"{md.name}: outputs differ from the English:\n" + "\n".join(differ)
