"""The shape of the package: no import circles, modules a reader can take in at once, the
training engine in one package whose map matches its files, and the old names still working."""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "convbook"

#: modules allowed past MAX_LINES, and why each is one concept
LONG_MODULES: dict[str, str] = {}
MAX_LINES = 450

#: the old top-level names of the training engine's modules
ALIASES = {"train": "train", "recipes": "recipes", "loader": "loader",
           "evaluation": "evaluation", "optim": "optim", "checkpoint": "checkpoint",
           "distributed": "distributed", "devices": "devices", "live": "live"}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imports(path: Path, known: set[str]) -> set[str]:
    """The convbook modules ``path`` imports, anywhere in it (inside functions too: a lazy
    import is still a dependency)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
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


@pytest.mark.parametrize("name, path", sorted(modules().items()), ids=lambda v: str(v))
def test_every_module_can_be_read_in_one_sitting(name, path):
    if not isinstance(path, Path):
        return
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES or name in LONG_MODULES, (
        f"{name} has {lines} lines: split it by the concepts it holds (or say in "
        "LONG_MODULES why it is one)")


def test_the_training_package_map_lists_exactly_its_modules():
    import convbook.training as training

    files = {p.stem for p in (PACKAGE / "training").glob("*.py") if p.stem != "__init__"}
    listed = set(re.findall(r"^    ([a-z_]+) {2,}", training.__doc__, re.MULTILINE))
    assert listed == files
    assert set(training._MODULES) == files


def test_the_training_modules_import_only_those_listed_after_them():
    """The order of the map in convbook/training/__init__.py is the order of the layers."""
    import convbook.training as training

    order = re.findall(r"^    ([a-z_]+) {2,}", training.__doc__, re.MULTILINE)
    graph = import_graph()
    for i, name in enumerate(order):
        above = {f"convbook.training.{m}" for m in order[:i]}
        assert not graph[f"convbook.training.{name}"] & above, name


@pytest.mark.parametrize("old, new", sorted(ALIASES.items()))
def test_the_old_names_are_the_new_modules(old, new):
    assert importlib.import_module(f"convbook.{old}") is \
        importlib.import_module(f"convbook.training.{new}")
    import convbook

    assert getattr(convbook, old) is importlib.import_module(f"convbook.training.{new}")


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


def test_the_old_names_are_kept_out_of_doctest_collection():
    import tomllib

    options = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]
    addopts = options["ini_options"]["addopts"]
    aliases = [p.stem for p in PACKAGE.glob("*.py")
               if "sys.modules[__name__] = " in p.read_text(encoding="utf-8")]
    assert sorted(aliases) == sorted(ALIASES)
    for name in aliases:
        assert f"--ignore=convbook/{name}.py" in addopts, name
