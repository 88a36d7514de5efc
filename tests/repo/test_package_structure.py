"""The shape of the package: no import circles, no widget that reaches into training, no
private name used by another module, and the training engine in one package whose map
matches its files, in the order of its layers.  (One concept per module; a long module is
fine when it holds one concept: no line count is enforced.)"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "convbook"


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _type_checking_only(tree: ast.Module) -> set[int]:
    """The ids of the import statements inside ``if TYPE_CHECKING:`` blocks, which never run."""
    skipped = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(n) for stmt in node.body for n in ast.walk(stmt))
    return skipped


def imports(path: Path, known: set[str]) -> set[str]:
    """The convbook modules ``path`` imports, anywhere in it (inside functions too: a lazy
    import is still a dependency), except under ``if TYPE_CHECKING:`` (for annotations only:
    never run)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped = _type_checking_only(tree)
    found = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for a in node.names:  # `from convbook import data`: the module convbook.data
                sub = f"{node.module}.{a.name}"
                found.add(sub if sub in known else node.module)
    return {m for m in found if m in known}


def import_graph() -> dict[str, set[str]]:
    known = modules()
    return {name: imports(path, set(known)) - {name} for name, path in known.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected group of two or more modules (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_module_of_convbook_imports_one_that_imports_it_back():
    assert cycles(import_graph()) == []


def test_the_cycle_finder_finds_a_circle_and_only_that():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert cycles(graph) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    """Every module ``start`` imports, directly or through others."""
    seen: set[str] = set()
    todo = [start]
    while todo:
        for m in graph.get(todo.pop(), ()):
            if m not in seen:
                seen.add(m)
                todo.append(m)
    return seen


def test_no_widget_imports_the_training_engine_directly_or_through_another_module():
    graph = import_graph()
    widgets = [m for m in graph if m.startswith("convbook.widgets")]
    assert widgets
    for name in widgets:
        reached = sorted(m for m in reachable(graph, name) if m.startswith("convbook.training"))
        assert not reached, f"{name} imports {reached}"


def test_the_widget_rule_would_see_an_import_through_another_module():
    graph = {"convbook.widgets.w": {"convbook.inference"}, "convbook.inference": {"convbook.x"},
             "convbook.x": {"convbook.training.fit"}}
    assert "convbook.training.fit" in reachable(graph, "convbook.widgets.w")


def test_imports_for_type_checkers_only_are_no_dependency(tmp_path):
    source = tmp_path / "m.py"
    source.write_text("from typing import TYPE_CHECKING\n"
                      "import convbook.a\n"
                      "if TYPE_CHECKING:\n    import convbook.b\n"
                      "def f():\n    from convbook import c\n")
    known = {"convbook.a", "convbook.b", "convbook.c"}
    assert imports(source, known) == {"convbook.a", "convbook.c"}


def private_imports(path: Path, known: set[str]) -> list[str]:
    """Private names of other convbook modules that ``path`` uses: ``from convbook.x import
    _name``, and ``mod._name`` where ``mod`` is a convbook module imported by name
    (``from convbook.training import loader`` or ``import convbook.x as mod``).  Modules
    themselves (``convbook._args``) may be named so, and dunders are no one's secret."""
    found, aliases = [], {}
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and \
                node.module.startswith("convbook"):
            for a in node.names:
                full = f"{node.module}.{a.name}"
                if full in known:
                    aliases[a.asname or a.name] = full
                elif a.name.startswith("_"):
                    found.append(full)
        elif isinstance(node, ast.Import):
            aliases.update((a.asname, a.name) for a in node.names
                           if a.asname and a.name in known)
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and \
                node.value.id in aliases and node.attr.startswith("_") and \
                not node.attr.startswith("__") and \
                f"{aliases[node.value.id]}.{node.attr}" not in known:
            found.append(f"{aliases[node.value.id]}.{node.attr}")
    return found


def test_no_module_imports_a_private_name_of_another():
    known = set(modules())
    found = {name: private_imports(path, known) for name, path in modules().items()}
    assert {k: v for k, v in found.items() if v} == {}


def test_the_private_name_rule_sees_one(tmp_path):
    source = tmp_path / "m.py"
    source.write_text("from convbook.data.cache import _fingerprint, cache_dir\n"
                      "from convbook import _args\n")
    assert private_imports(source, {"convbook._args"}) == ["convbook.data.cache._fingerprint"]


def test_the_private_name_rule_sees_one_taken_through_a_module(tmp_path):
    source = tmp_path / "m.py"
    source.write_text("from convbook.training import loader\n"
                      "import convbook.data.batching as batching\n"
                      "from convbook import _args\n"
                      "x = loader._crop, loader.crop, loader.__doc__, batching._x, _args.pair\n")
    known = {"convbook.training.loader", "convbook.data.batching", "convbook._args"}
    assert private_imports(source, known) == ["convbook.training.loader._crop",
                                              "convbook.data.batching._x"]


def training_map() -> list[str]:
    """The modules that ``convbook/training/__init__.py``'s docstring lists, in its order."""
    import convbook.training as training

    return re.findall(r"^    ([a-z_]+) {2,}", training.__doc__, re.MULTILINE)


def test_the_training_package_map_lists_exactly_its_modules():
    files = {p.stem for p in (PACKAGE / "training").glob("*.py") if p.stem != "__init__"}
    assert sorted(training_map()) == sorted(files)


def test_the_training_modules_import_only_those_listed_after_them():
    """The order of the map in convbook/training/__init__.py is the order of the layers."""
    order = training_map()
    graph = import_graph()
    for i, name in enumerate(order):
        above = {f"convbook.training.{m}" for m in order[:i]}
        assert not graph[f"convbook.training.{name}"] & above, name


def test_the_training_package_re_exports_nothing():
    tree = ast.parse((PACKAGE / "training" / "__init__.py").read_text(encoding="utf-8"))
    assert [type(n).__name__ for n in tree.body] == ["Expr"]  # its docstring, nothing else


def contributing_map() -> set[str]:
    """The package paths the first column of CONTRIBUTING.md's map names: ``convbook/x.py``
    and, after it in the same cell, bare file names of the same folder (``kernels.py``)."""
    text = (ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")
    section = text.split("## Map of the package", 1)[1].split("\n## ", 1)[0]
    named = set()
    for line in section.splitlines():
        if not line.startswith("| `"):
            continue
        folder = ""
        for span in re.findall(r"`([^`]+)`", line.split("|")[1]):
            path = span if "/" in span else f"{folder}{span}"
            folder = path.rsplit("/", 1)[0] + "/" if "/" in path else folder
            if path.startswith("convbook/"):
                named.add(path.rstrip("/"))
    return named


def test_contributing_maps_every_module_and_only_existing_ones():
    named = contributing_map()
    for path in sorted(named):
        assert (ROOT / path).exists(), f"CONTRIBUTING.md names {path}, which does not exist"
    for path in sorted(PACKAGE.iterdir()):
        if path.name.startswith(".") or path.name in ("__pycache__", "__init__.py") or \
                path.suffix not in ("", ".py"):
            continue
        assert f"convbook/{path.name}" in named, \
            f"CONTRIBUTING.md's map does not mention convbook/{path.name}"


def test_the_map_reader_follows_bare_names_to_their_folder():
    assert "convbook/kernels.py" in contributing_map()
    assert "convbook/receptive_field" in contributing_map()


#: the training modules' old top-level names (convbook/train.py, ...), gone: each module has one
#: name, in convbook.training (or, for devices and evaluation, convbook.hardware and
#: convbook.inference)
OLD_NAMES = ("train", "recipes", "loader", "evaluation", "optim", "checkpoint", "distributed",
             "devices", "live")
_OLD = "|".join(OLD_NAMES)
_OLD_USE = re.compile(rf"\bconvbook\.({_OLD})\b|^\s*from convbook import ([^\n]*\b({_OLD})\b)",
                      re.MULTILINE)


def old_names_used(text: str) -> list[str]:
    """The uses of an old top-level name in ``text`` (code or Markdown)."""
    return [m.group(0).strip() for m in _OLD_USE.finditer(text)]


def test_nothing_uses_the_old_names_of_the_training_modules():
    files = [*ROOT.glob("*.md"), *(ROOT / "chapters").rglob("*.md"),
             *(ROOT / "benchmarks").glob("*.md")]
    for folder in ("convbook", "tests", "tools", "benchmarks", "browser_tests"):
        files += (ROOT / folder).rglob("*.py")
    found = {str(f.relative_to(ROOT)): old_names_used(f.read_text(encoding="utf-8"))
             for f in files if f.name != "test_package_structure.py"}
    assert {k: v for k, v in found.items() if v} == {}
    for name in OLD_NAMES:
        assert not (PACKAGE / f"{name}.py").exists(), name


def test_the_old_name_scan_finds_them():
    assert old_names_used("from convbook import data, train\nx = convbook.optim.Muon") == \
        ["from convbook import data, train", "convbook.optim"]
    assert old_names_used("from convbook.training import recipes\nconvbook.training.fit") == []
