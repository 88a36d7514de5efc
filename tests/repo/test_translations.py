"""The Chinese edition (chapters/zh/) is in step with the English chapters by construction.

Every translated chapter has exactly the English chapter's code cells (source, tags, order;
the set-up cell names the edition's language), its prose uses the glossary's terms and no
others, and the numbers it quotes are numbers of the English chapter.  Its executed
outputs: tests/repo/test_zh_edition.py.
"""

from __future__ import annotations

import re
from pathlib import Path

import jupytext
import nbformat
import pytest

from tools import translations

ROOT = Path(__file__).resolve().parents[2]
ENGLISH = sorted((ROOT / "chapters").glob("[0-9][0-9]_*.md"))
CHINESE = sorted((ROOT / "chapters" / "zh").glob("[0-9][0-9]_*.md"))
GLOSSARY = ROOT / "chapters" / "zh" / "GLOSSARY.md"

# text in Chinese quotation marks: a term mentioned, not used
_QUOTED = re.compile(r"“[^”]*”")
_FORMULA = re.compile(r"\$\$.*?\$\$|\$[^$\n]*\$", re.DOTALL)
_CODE = re.compile(r"`[^`\n]*`")
_LINK_TARGET = re.compile(r"\]\([^)]*\)")
_NUMBER = re.compile(r"(?<![\w.])\d+(?:[.,]\d+)*(?![\w])")


def test_every_chapter_is_translated():
    assert [p.name for p in CHINESE] == [p.name for p in ENGLISH]


def code_cells(path: Path) -> list[tuple[str, list[str]]]:
    nb = jupytext.read(path)
    return [(c.source, sorted(c.metadata.get("tags", []))) for c in nb.cells
            if c.cell_type == "code"]


@pytest.mark.parametrize("md", CHINESE, ids=lambda p: p.stem)
def test_code_cells_are_the_english_ones(md):
    english = ROOT / "chapters" / md.name
    ours, theirs = code_cells(md), code_cells(english)
    assert len(ours) == len(theirs), f"{md.name}: {len(ours)} code cells, English {len(theirs)}"
    for i, (a, b) in enumerate(zip(ours, theirs)):
        if "set-up" in b[1]:  # the set-up cell names the edition's language
            b = (b[0].replace('set_language("en")', 'set_language("zh")'), b[1])
        assert a == b, f"{md.name}: code cell {i} differs from the English one: run " \
                       "`make translations`, or restore it"


def test_nothing_is_out_of_date(capsys):
    assert translations.main(["--check"]) == 0, capsys.readouterr().out


def test_a_changed_code_cell_is_put_back_and_a_missing_one_refused():
    english = "# 1. X\n\n```{code-cell} ipython3\nx = 1\n```\n\ntext\n\n```{code-cell} ipython3\n" \
              ":tags: [nbval-ignore-output]\n\nprint(x)\n```\n"
    chinese = english.replace("text", "正文").replace("x = 1", "x = 2")
    fixed = translations.with_english_code(chinese, english)
    assert "x = 1" in fixed and "正文" in fixed and "x = 2" not in fixed
    missing = chinese.split("\n\n```{code-cell} ipython3\n:tags")[0] + "\n"
    with pytest.raises(translations.TranslationError, match="1 code cells and its English "
                                                             "original 2"):
        translations.with_english_code(missing, english)


# -- the glossary ---------------------------------------------------------------------------

def glossary() -> list[tuple[str, list[str], list[str]]]:
    """``(English, chosen translations, rejected translations)`` for every row of the table."""
    rows = []
    for line in GLOSSARY.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 3 or cells[0] in ("English", "---") or not line.startswith("|"):
            continue
        english, chosen, rejected = cells
        chosen = re.sub(r"（[^）]*）", "", chosen)  # remarks in brackets
        rows.append((english,
                     [t.strip() for t in re.split(r"[、/]", chosen) if t.strip()],
                     [t.strip() for t in rejected.split("、") if t.strip()]))
    return rows


def prose(md: Path) -> str:
    """The Markdown of a chapter without code, formulas, inline code and link targets."""
    text = "\n".join(c.source for c in jupytext.read(md).cells if c.cell_type == "markdown")
    for pattern in (_FORMULA, _CODE, _LINK_TARGET):
        text = pattern.sub(" ", text)
    return text


def rejected_uses(text: str, chosen: list[str], rejected: list[str]) -> tuple[int, int]:
    """How often ``text`` uses a rejected translation (outside quotation marks, and not as
    part of a chosen term: 组卷积 inside 分组卷积), and how often it mentions one in quotes."""
    allowed = [m.span() for term in chosen for m in re.finditer(re.escape(term), text)]
    quoted = [m.span() for m in _QUOTED.finditer(text)]
    used = mentioned = 0
    for term in rejected:
        for m in re.finditer(re.escape(term), text):
            a, b = m.span()
            if any(s <= a and b <= e for s, e in allowed):
                continue
            if any(s <= a and b <= e for s, e in quoted):
                mentioned += 1
            else:
                used += 1
    return used, mentioned


def test_the_glossary_is_a_table_with_choices():
    rows = glossary()
    assert len(rows) >= 40
    pooling = next(r for r in rows if r[0] == "pooling")
    assert pooling[1] == ["汇聚"] and pooling[2] == ["池化"]


@pytest.mark.parametrize("md", CHINESE, ids=lambda p: p.stem)
def test_no_chapter_uses_a_rejected_translation(md):
    text = prose(md)
    found = []
    for english, chosen, rejected in glossary():
        used, _ = rejected_uses(text, chosen, rejected)
        if used:
            found.append(f"{english}: {rejected} used {used} time(s); the book says {chosen}")
    assert not found, f"{md.name} mixes translations:\n" + "\n".join(found)


@pytest.mark.parametrize("md", CHINESE, ids=lambda p: p.stem)
def test_another_name_is_mentioned_at_most_once_in_a_chapter(md):
    # once per chapter, not once in the edition: a reader may open any chapter first, and
    # each chapter names d2l-zh's term where the book departs from it (test below)
    text = prose(md)
    for english, chosen, rejected in glossary():
        mentions = rejected_uses(text, chosen, rejected)[1]
        assert mentions <= 1, f"{md.name}: {english}: {rejected} mentioned {mentions} times " \
                              "in quotes"


def departures() -> list[tuple[str, str, str]]:
    """``(English, the book's term, d2l-zh's term)`` for every row of the glossary's table
    of departures from d2l-zh (the table with four columns)."""
    rows = []
    for line in GLOSSARY.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and len(cells) == 4 and cells[0] not in ("English", "---"):
            rows.append((cells[0], cells[1], cells[2]))
    return rows


def without_headings(text: str) -> str:
    return "\n".join("" if line.startswith("#") else line for line in text.splitlines())


def first_use(body: str, term: str) -> re.Match | None:
    """The first use of ``term`` in ``body`` (prose without headings). A one-character term
    (轮) is a measure word: it counts only after a number, 每, 几, 多少 or 第, emphasis
    allowed between (一*轮*; 车轮 is no epoch)."""
    if len(term) == 1:
        pattern = rf"(?:\d|[一二两三四五六七八九十百千几每多少第])[\s*]*{re.escape(term)}"
    else:
        pattern = re.escape(term)
    return re.search(pattern, body)


def test_the_glossary_says_where_the_book_departs_from_d2l_zh():
    rows = {english: (ours, theirs) for english, ours, theirs in departures()}
    assert rows["feature map"] == ("特征图", "特征映射")
    assert rows["accuracy"] == ("准确率", "精度") and rows["epoch"] == ("轮", "迭代周期")


def missing_bridges(body: str, rows: list[tuple[str, str, str]]) -> list[str]:
    """What is wrong with how ``body`` (prose without headings) names d2l-zh's terms: for
    each departure whose term the chapter uses, d2l-zh's term must be quoted exactly once,
    on the line of the first use."""
    problems = []
    for english, ours, theirs in rows:
        use = first_use(body, ours)
        bridge = f"“{theirs}”"
        if use is None:
            continue
        if body.count(bridge) != 1:
            problems.append(f"{english}: {bridge} written {body.count(bridge)} times, not once")
            continue
        line_end = body.find("\n", use.end())
        if not use.start() < body.index(bridge) < (len(body) if line_end < 0 else line_end):
            problems.append(f"{english}: {bridge} is not on the line where {ours} is first "
                            f"used: ...{body[use.start():use.start() + 40]}...")
    return problems


@pytest.mark.parametrize("md", CHINESE, ids=lambda p: p.stem)
def test_a_chapter_names_d2l_zh_term_once_at_its_first_use(md):
    problems = missing_bridges(without_headings(prose(md)), departures())
    assert not problems, f"{md.name}:\n" + "\n".join(problems)


def test_the_bridge_check_sees_a_missing_a_late_and_a_repeated_mention():
    rows = [("feature map", "特征图", "特征映射"), ("epoch", "轮", "迭代周期")]
    good = "特征图（d2l-zh 称为“特征映射”）很大。\n" \
           "训练 3 轮（d2l-zh 称为“迭代周期”），再训练 2 轮。"
    assert missing_bridges(good, rows) == []
    assert missing_bridges("车轮和前轮都不是轮数。", rows) == []
    assert len(missing_bridges(good.replace("（d2l-zh 称为“特征映射”）", ""), rows)) == 1
    late = "特征图很大。\n又一张特征图（d2l-zh 称为“特征映射”）。\n每轮（“迭代周期”）"
    assert [p.split(":")[0] for p in missing_bridges(late, rows)] == ["feature map"]
    twice = good + "\n特征图（“特征映射”）"
    assert "2 times" in missing_bridges(twice, rows)[0]


def test_the_first_use_of_a_measure_word_is_found():
    assert first_use("车轮转了。训练 3 轮之后", "轮").group(0) == "3 轮"
    body = without_headings("# 特征图\n第一张特征图")
    assert body[:first_use(body, "特征图").start()] == "\n第一张"
    assert first_use("前轮和车轮", "轮") is None
    assert first_use("称为一*轮*（epoch）", "轮").group(0) == "一*轮"


def test_the_glossary_check_sees_a_mixed_chapter():
    text = "汇聚层把特征图缩小。最大池化也一样。它也常译作“池化”。分组卷积不是组卷积。"
    assert rejected_uses(text, ["汇聚"], ["池化", "最大池化"]) == (2, 1)
    assert rejected_uses(text, ["分组卷积"], ["组卷积"]) == (1, 0)


# -- numbers -------------------------------------------------------------------------------

def numbers(text: str) -> set[str]:
    """The numbers written in ``text`` with digits (1,000 read as 1000), except those
    followed by 万 or 亿, which Chinese writes in other units than English."""
    found = set()
    for m in _NUMBER.finditer(text):
        if text[m.end():m.end() + 2].lstrip()[:1] in ("万", "亿"):
            continue
        found.add(m.group(0).replace(",", ""))
    return found


@pytest.mark.parametrize("md", CHINESE, ids=lambda p: p.stem)
def test_numbers_in_the_prose_are_those_of_the_english_chapter(md):
    english = ROOT / "chapters" / md.name
    nb = nbformat.read(english.with_suffix(".ipynb"), as_version=4)
    outputs = "\n".join(
        str(o.get("text", "")) + str(o.get("data", {}).get("text/plain", ""))
        for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
    source = english.read_text(encoding="utf-8")  # English prose, code, formulas
    known = numbers(source) | numbers(outputs)
    extra = sorted(numbers(prose(md)) - known, key=lambda n: float(n))
    assert not extra, f"{md.name} quotes numbers the English chapter does not: {extra}"


def test_the_number_check_reads_chinese_units():
    text = "共 1,000 张图像，约 1200 万像素，准确率 85.7%，第 3 章"
    assert numbers(text) == {"1000", "85.7", "3"}
