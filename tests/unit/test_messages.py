"""The message catalogs: convbook/messages/<lang>/<catalog>.toml (the self-checks', one
per chapter, and the widgets' and figures').

Every language has the same messages with the same fields; every key the code names exists,
with every field its messages need passed in; every message is used; and no check, widget
or figure shows words that bypass the catalogs.
"""

from __future__ import annotations

import ast
import re
import string
from collections.abc import Callable
from pathlib import Path

import jupytext
import pytest
from catalogs import WIDGET_AND_FIGURE_CATALOGS, catalog

import convbook.check
from convbook.check import set_language
from convbook.check._answers import judge_int, wrong_kind
from convbook.language import MESSAGES, fields, message, template, text

CHECK_DIR = Path(convbook.check.__file__).parent
PACKAGE = CHECK_DIR.parent
LANGS = ("en", "zh")
CJK = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]")


def test_there_is_a_catalog_for_every_check_module_and_language():
    modules = {p.stem for p in CHECK_DIR.glob("ch*.py")}
    assert len(modules) == 11
    for lang in LANGS:
        assert {p.stem for p in (MESSAGES / lang).glob("*.toml")} == \
            modules | {"common", *WIDGET_AND_FIGURE_CATALOGS}


def test_every_language_has_the_same_keys_and_fields():
    en, zh = catalog("en"), catalog("zh")
    assert len(en) >= 200
    assert sorted(en) == sorted(zh)
    for key in en:
        assert fields(en[key]) == fields(zh[key]), key


@pytest.mark.parametrize("lang", LANGS)
def test_every_message_formats(lang):
    for key, words in catalog(lang).items():
        values = {}
        for _, name, spec, conversion in string.Formatter().parse(words):
            if name:
                values[name.split(".")[0]] = 1 if spec or conversion else "x"
        assert words.format(**values), key


def test_english_is_english_and_chinese_is_chinese():
    for key, words in catalog("en").items():
        assert words.strip() and not CJK.search(words), key
    for key, words in catalog("zh").items():
        assert CJK.search(words), key


# ---------------------------------------------------------------------------------------
# The code against the catalogs: every key it names exists, every field gets a value,
# every message is used.

JUDGES = {"judge_int", "judge_number"}


def _name(func: ast.expr) -> str:
    if isinstance(func, ast.Name):
        return func.id
    return func.attr if isinstance(func, ast.Attribute) else ""


def _literal(node: ast.expr | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


#: a key of the widgets' and figures' words, wherever it is written (a table of keys,
#: ``ERROR_NOTE``) for a call to look up
WIDGET_OR_FIGURE_KEY = re.compile(r"(?:widgets|figures)(?:\.[a-z0-9_]+){2,}")


def uses(source: str, filename: str) -> tuple[dict[str, set[str] | None], list[str]]:
    """The keys ``source`` names, each with the names of the values passed with it (None
    where ``**values`` passes unknown ones, or where a widget's or figure's key is written
    in a table for a call to look up), and ``file:line`` of every key that is not a string
    literal in a chapter's module."""
    keys: dict[str, set[str] | None] = {}
    problems = []
    chapter_module = re.fullmatch(r"ch\d+\.py", filename) is not None

    def passed(call: ast.Call, extra: set[str]) -> set[str] | None:
        if any(k.arg is None for k in call.keywords):
            return None
        return {k.arg for k in call.keywords if k.arg} | extra

    def add(key: str, names: set[str] | None) -> None:
        old = keys.get(key, set())
        keys[key] = None if old is None or names is None else old | names

    tree = ast.parse(source, filename)
    called: set[int] = set()  # the nodes of keys passed to a call
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = _name(node.func)
        if name in ("text", "drawn_text", "message"):
            i = 1 if name == "message" else 0
            key = _literal(node.args[i]) if len(node.args) > i else None
            if key is None:
                if chapter_module:
                    problems.append(f"{filename}:{node.lineno}")
                continue
            called.add(id(node.args[i]))
            add(key, passed(node, set()))
        elif name in JUDGES:
            key = _literal(node.args[2]) if len(node.args) > 2 else None
            if key is None:
                problems.append(f"{filename}:{node.lineno}")
                continue
            values = passed(node, {"expected"})
            if values is not None:
                values -= {"typical", "tolerance"}
            for part in ("what", "success", "hint"):
                add(f"{key}.{part}", values)
            typical = next((k.value for k in node.keywords if k.arg == "typical"), None)
            if typical is not None:
                if not isinstance(typical, ast.Dict):
                    problems.append(f"{filename}:{node.lineno}")
                    continue
                for value in typical.values:
                    if _literal(value) is None:
                        problems.append(f"{filename}:{value.lineno}")
                    else:
                        add(f"{key}.typical.{_literal(value)}", values)
    for node in ast.walk(tree):
        key = _literal(node) if isinstance(node, ast.Constant) else None
        if key is not None and id(node) not in called and WIDGET_OR_FIGURE_KEY.fullmatch(key):
            add(key, None)
    return keys, problems


def chapter_code(path: Path) -> str:
    """The code cells of the chapter ``path`` (MyST Markdown), one after another."""
    cells = jupytext.read(path).cells
    return "\n".join(c.source for c in cells if c.cell_type == "code")


#: the English chapters; the Chinese edition's code cells are the same (tests/repo)
CHAPTERS = sorted((PACKAGE.parent / "chapters").glob("[0-9][0-9]_*.md"))


def _code_uses():
    keys: dict[str, set[str] | None] = {}
    problems = []
    sources = [(path.read_text(encoding="utf-8"), path.name)
               for path in sorted(PACKAGE.rglob("*.py"))]
    sources += [(chapter_code(path), path.name) for path in CHAPTERS]
    for source, name in sources:
        found, bad = uses(source, name)
        problems += bad
        for key, names in found.items():
            old = keys.get(key, set())
            keys[key] = None if old is None or names is None else old | names
    return keys, problems


def test_every_key_in_the_code_is_a_literal_that_exists_with_its_values():
    keys, problems = _code_uses()
    assert problems == [], "keys that are not string literals: " + ", ".join(problems)
    en = catalog("en")
    assert len(keys) >= 200
    missing = sorted(set(keys) - set(en))
    assert missing == [], f"keys without a message: {missing}"
    for key, names in keys.items():
        if names is not None:
            for lang in LANGS:
                need = fields(template(lang, key))
                assert need <= names, (key, lang, sorted(need - names))


def test_every_message_is_used():
    keys, _ = _code_uses()
    unused = sorted(set(catalog("en")) - set(keys))
    assert unused == [], f"messages no code uses: {unused}"


def test_the_key_scan_finds_keys_and_rejects_computed_ones():
    source = '''
def check(answer, key):
    judge_int(answer, 3, "ch99.size", typical={2: "off_by_one"}, width=4)
    text("ch99.size.extra", shape=(1, 2))
    text(key)
    judge_int(answer, 3, f"ch99.{key}")
    judge_number(answer, 1.0, "ch99.ratio", tolerance=0.1, typical={0.5: key})
'''
    keys, problems = uses(source, "ch99.py")
    assert keys["ch99.size.hint"] == {"expected", "width"}
    assert keys["ch99.size.typical.off_by_one"] == {"expected", "width"}
    assert keys["ch99.size.extra"] == {"shape"}
    assert keys["ch99.ratio.what"] == {"expected"}
    assert problems == ["ch99.py:5", "ch99.py:6", "ch99.py:7"]


# ---------------------------------------------------------------------------------------
# No words outside the catalogs

# function name: (positions of its message arguments, their keyword names)
MESSAGE_ARGS = {
    "verdict": ((1, 2), {"success", "hint"}),
    "CheckResult": ((1,), {"message"}),
    "wrong_kind": ((1,), {"expected"}),
}
WORDS = re.compile(r"[A-Za-z\u3400-\u4dbf\u4e00-\u9fff]")


def _literal_text(node: ast.expr) -> str | None:
    """The text of a string literal or the fixed parts of an f-string, else None."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value for v in node.values if isinstance(v, ast.Constant))
    return None


class _ShownStrings:
    """String literals with words that reach an expression a reader sees: directly, in a
    tuple, list or conditional expression, through ``+``, or through a local variable of
    ``scope``.  ``has_words(text)`` says which literals count; ``found`` collects
    ``(line, column, code)``."""

    def __init__(self, has_words: Callable[[str], bool]) -> None:
        self.has_words = has_words
        self.found: set[tuple[int, int, str]] = set()

    @staticmethod
    def assigned(scope: ast.AST, name: str) -> list[ast.expr]:
        values = []
        for node in ast.walk(scope):
            targets = (node.targets if isinstance(node, ast.Assign)
                       else [node.target] if isinstance(node, ast.AnnAssign) and node.value
                       else [])
            if any(isinstance(t, ast.Name) and t.id == name for t in targets):
                values.append(node.value)
        return values

    def check(self, node: ast.expr, scope: ast.AST, seen: frozenset[str] = frozenset()) -> None:
        words = _literal_text(node)
        if words is not None:
            if self.has_words(words):
                self.found.add((node.lineno, node.col_offset, ast.unparse(node)[:70]))
        elif isinstance(node, ast.IfExp):
            self.check(node.body, scope, seen)
            self.check(node.orelse, scope, seen)
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            self.check(node.left, scope, seen)
            self.check(node.right, scope, seen)
        elif isinstance(node, (ast.Tuple, ast.List)):
            for item in node.elts:
                self.check(item, scope, seen)
        elif isinstance(node, ast.Name) and node.id not in seen:
            for value in self.assigned(scope, node.id):
                self.check(value, scope, seen | {node.id})

    def report(self, filename: str) -> list[str]:
        return [f"{filename}:{line}: {code}" for line, _, code in sorted(self.found)]


def bare_words(source: str, filename: str) -> list[str]:
    """``file:line: code`` of every string with words in it shown to the reader without the
    catalogs: a message argument of ``verdict``/``CheckResult``/``wrong_kind``, or a value
    passed to ``text``/``judge_int``/``judge_number``, directly, through a conditional
    expression, a ``+``, or a local variable.  ``text(...)`` and ``""`` are fine."""
    tree = ast.parse(source, filename)
    scopes = [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    shown = _ShownStrings(lambda words: bool(WORDS.search(words)))
    check = shown.check

    for scope in scopes:
        for call in (n for n in ast.walk(scope) if isinstance(n, ast.Call)):
            name = _name(call.func)
            positions, keywords = MESSAGE_ARGS.get(name, ((), set()))
            for i in positions:
                if i < len(call.args):
                    check(call.args[i], scope)
            for keyword in call.keywords:
                if keyword.arg in keywords or (
                    name in JUDGES | {"text"} and keyword.arg not in (None, "typical")
                ):
                    check(keyword.value, scope)
    return shown.report(filename)


def test_no_check_shows_words_outside_the_catalogs():
    sources = sorted(CHECK_DIR.glob("*.py"))
    assert len(sources) >= 14
    problems = [p for path in sources
                for p in bare_words(path.read_text(encoding="utf-8"), path.name)]
    assert problems == [], "words outside the catalogs:\n" + "\n".join(problems)


def test_the_word_scan_catches_bare_strings():
    source = '''
def check(answer):
    hint = "a bare hint"
    if answer:
        hint = text("ch99.fine")
    judge_int(answer, 1, "ch99.size", shape="bare value", count=3, note=hint)
    wrong_kind(answer, f"bare {answer}")
    CheckResult(False, "bare message")
    other = "not a message"
    text("ch99.size.extra", unit="bare unit", sign="+")
    return verdict(False, "", "a bare verdict" if answer else text("ch99.fine") + "!")
'''
    problems = bare_words(source, "bare.py")
    assert [int(p.split(":")[1]) for p in problems] == [3, 6, 7, 8, 10, 11], problems
    assert problems[0] == "bare.py:3: 'a bare hint'"


def test_the_tr_helper_is_gone():
    for path in CHECK_DIR.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        assert not [n for n in ast.walk(tree) if isinstance(n, ast.Call) and _name(n.func) == "tr"]


# ---------------------------------------------------------------------------------------
# No widget or figure shows words outside the catalogs

#: the modules that draw figures or build widgets
LABELLED = sorted([*(PACKAGE / "widgets").glob("*.py"), PACKAGE / "plots.py",
                   PACKAGE / "volume_figure.py", PACKAGE / "roofline.py",
                   PACKAGE / "receptive_field" / "plot.py", PACKAGE / "training" / "live.py"])
#: calls whose positional arguments a reader sees: matplotlib's, PIL's, ipywidgets'
SHOWN_ARGS = {"set_title", "set_xlabel", "set_ylabel", "suptitle", "HTML", "Label",
              "_text", "column", "_channel_column", "draw_grid"}
#: keyword arguments a reader sees
SHOWN_KEYWORDS = {"title", "label", "description", "tooltip", "xlabel", "ylabel", "options"}
#: a word: two letters in a row, or a CJK character (one-letter symbols such as K, Y are
#: names in a formula)
LABEL_WORD = re.compile(r"[A-Za-z]{2}|[\u3400-\u4dbf\u4e00-\u9fff]")
_NOT_WORDS = re.compile(r"\$[^$]*\$|<[^>]*>")  # mathtext, HTML tags


def bare_labels(source: str, filename: str) -> list[str]:
    """``file:line: code`` of every string with words in it that a widget or figure shows
    without the catalogs: an argument of a call that draws or labels (``set_title``,
    ``ax.text``, ``draw.text``, ``widgets.HTML``, ``description=``, ``options=``, ...),
    directly, in a tuple, list or conditional expression, through ``+``, or through a local
    variable."""
    tree = ast.parse(source, filename)
    scopes = [tree, *(n for n in ast.walk(tree)
                      if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)))]
    shown = _ShownStrings(lambda words: bool(LABEL_WORD.search(_NOT_WORDS.sub(" ", words))))
    check = shown.check

    for scope in scopes:
        for call in (n for n in ast.walk(scope) if isinstance(n, ast.Call)):
            name = _name(call.func)
            method_text = name == "text" and isinstance(call.func, ast.Attribute)  # ax.text
            if name in SHOWN_ARGS or method_text:
                for arg in call.args:
                    check(arg, scope)
            for keyword in call.keywords:
                value = keyword.value
                if keyword.arg == "options" and isinstance(value, (ast.List, ast.Tuple)):
                    # (label, value) pairs: the value is a name for code, not shown
                    for item in value.elts:
                        check(item.elts[0] if isinstance(item, ast.Tuple) else item, scope)
                elif keyword.arg in SHOWN_KEYWORDS:
                    check(value, scope)
    return shown.report(filename)


def test_no_widget_or_figure_shows_words_outside_the_catalogs():
    assert len(LABELLED) >= 20
    problems = [p for path in LABELLED
                for p in bare_labels(path.read_text(encoding="utf-8"), path.name)]
    assert problems == [], "words outside the catalogs:\n" + "\n".join(problems)


#: words a chapter's figure shows that are names the reader types, the same in every
#: language: ``nn.Conv2d``'s ``padding_mode="zeros"`` (chapter 02's padding modes)
CODE_NAMES = {"'zeros'"}


def test_no_chapter_figure_shows_words_outside_the_catalogs():
    assert len(CHAPTERS) >= 10
    problems = [p for path in CHAPTERS
                for p in bare_labels(chapter_code(path), path.name)
                if p.split(": ", 1)[1] not in CODE_NAMES]
    assert problems == [], "words outside the catalogs:\n" + "\n".join(problems)


def test_the_label_scan_catches_bare_words():
    source = '''
def figure(ax, draw, n):
    title = "a bare title"
    ax.set_title(title)
    ax.set_xlabel(drawn_text("figures.x.label"))
    ax.text(0.5, 0.5, "⋆")
    ax.text(0, 0, f"input\\n$C_{{in}} \\\\times H$ = {n}")
    draw.text((0, 0), "kernel" if n else drawn_text("figures.x.kernel"))
    ax.plot([1], [2], label="bare legend")
    slider = widgets.IntSlider(description=text("widgets.x.step"))
    toggle = widgets.ToggleButtons(options=[("clip", "clip"), (text("widgets.x.n"), "n")])
    widgets.HTML(f"<b>{text('widgets.x.title')}</b>")
    ax.set_title("K")
    text("widgets.x.y")
    return widgets.HTML("<b>top classes</b>")
'''
    problems = bare_labels(source, "bare.py")
    assert [int(p.split(":")[1]) for p in problems] == [3, 7, 8, 9, 11, 15], problems


# ---------------------------------------------------------------------------------------
# The mechanism


def test_judge_int_reads_its_messages_in_the_readers_language(check_catalog):
    def judge(answer):
        return judge_int(answer, 10, "ch99.size", typical={12: "padding"}, p=1)

    set_language("zh")
    assert judge(10).message == "对: 10" and judge(12).message == "每侧填充 1"
    assert judge(11).message == "再试试"
    assert judge("10").message == "答案应是一个整数（尺寸）；你给的是 '10'"
    assert judge(None).message == "把 None 换成你的答案：一个整数（尺寸）"
    assert repr(judge(10)) == "✅ 正确：对: 10"
    set_language("en")
    assert judge(None).message == "replace None with your answer: an int: a size"
    assert repr(judge(11)) == "❌ Not yet: try again"


def test_wrong_kind_shortens_a_long_answer():
    set_language("en")
    try:
        message_ = wrong_kind("x" * 100, "an int").message
    finally:
        set_language(None)
    assert message_ == f"answer with an int; got '{'x' * 56}..."


def test_a_missing_message_or_value_is_named(check_catalog):
    with pytest.raises(KeyError, match=r"no message 'ch99\.size\.nothing' in .*en.ch99\.toml"):
        message("en", "ch99.size.nothing")
    with pytest.raises(KeyError, match=r"'ch99\.size\.typical' in .* is a table of messages"):
        message("en", "ch99.size.typical")
    with pytest.raises(KeyError, match=r"no catalog .*ch98\.toml for the messages of 'ch98'"):
        message("en", "ch98.size.what")
    with pytest.raises(KeyError, match=r"message 'ch99\.size\.typical\.padding' \(zh\) needs "
                                       "the value 'p'"):
        message("zh", "ch99.size.typical.padding")
    set_language("zh")
    assert text("ch99.size.typical.padding", p=3) == "每侧填充 3"


def test_a_broken_catalog_is_named(check_catalog):
    good = (check_catalog / "en" / "ch99.toml").read_text(encoding="utf-8")
    (check_catalog / "en" / "ch97.toml").write_text(good[:25], encoding="utf-8")  # cut short
    with pytest.raises(ValueError, match=r"the message catalog .*ch97\.toml is not valid TOML"):
        message("en", "ch97.size.what")
    (check_catalog / "en" / "ch96.toml").write_text("", encoding="utf-8")  # empty
    with pytest.raises(KeyError, match=r"no message 'ch96\.size\.what' in .*ch96\.toml"):
        message("en", "ch96.size.what")
    for key in ("ch99", "ch99.", "", ".size.what", "ch99.size..what"):
        with pytest.raises(KeyError, match=r"a message key is '<catalog>\.<table>\.<name>', "
                                           "got "):
            message("en", key)
    with pytest.raises(KeyError, match=r"no message 'ch99\.sizes\.what' in .*ch99\.toml"):
        message("en", "ch99.sizes.what")
    with pytest.raises(TypeError, match="key must be a str, got NoneType"):
        message("en", None)


def test_fields_names_what_a_message_needs():
    assert fields("{expected}, about {ratio:.1f}× fewer, {shape!r} {{not a field}}") == {
        "expected", "ratio", "shape"}
    assert fields("no fields") == set()
