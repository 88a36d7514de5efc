"""No output that nbval checks may depend on the machine: its CPU's features (bfloat16
arithmetic), its number of cores, or its speed.

`make test` runs every chapter under nbval with this machine's answer to "does the CPU have
bfloat16 arithmetic?", except the Chinese chapter 08: that one runs under nbval here, with
the *other* answer (forced in the notebook's kernel).  Chapter 08 is the chapter that trains
with ``precision="auto"``, and its two editions have the same code cells, so on every
machine the book passes under both answers, and each notebook still runs once (chapter 08
is the slowest to run in quick mode); a scan of every chapter keeps
machine-dependent calls out of the cells whose output is checked; and the precision logic of
the package (`resolve_precision`, `fit`, Muon, the command line) is run under both answers.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import nbformat
import pytest
import torch
from torch import nn

from convbook import cli, hardware, models
from convbook.data import ImageData
from convbook.training import recipes
from convbook.training.fit import fit

# training runs, subprocesses and the real archive: not in `make test-fast`
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
CHAPTERS = sorted((ROOT / "chapters").glob("[0-9][0-9]_*.md"))

# Calls whose result differs between machines.  A checked cell may use "auto" precision only
# together with the what-if argument hardware_bf16=..., which makes it the same everywhere.
MACHINE_DEPENDENT = {
    "the CPU's features": r"cpu_has_bf16\(|get_capabilities\(|get_cpu_capability\(",
    "the number of cores or threads": r"cpu_count\(|get_num_threads\(|num_threads",
    "the machine's name": r"\bplatform\.|/proc/cpuinfo",
    "a clock": r"perf_counter\(|time\.time\(|monotonic\(|\btiming\.|best_time\(|median_time\("
               r"|benchmark_time\(|time_algorithms\(|\.measure\(",
    "a measured speed": r"matmul_peak\(|copy_bandwidth\(",
    "precision='auto' on this machine": r"(describe|resolve)_precision\(\s*[\"']auto[\"']"
                                        r"(?![^)]*hardware_bf16)",
}


def checked_code_cells(md: Path) -> list[tuple[int, str]]:
    """``(cell number, source)`` of every code cell of a chapter whose output nbval checks:
    not tagged ``nbval-ignore-output``, with text output in the committed notebook."""
    nb = nbformat.read(md.with_suffix(".ipynb"), as_version=4)
    return [(i, c.source) for i, c in enumerate(nb.cells)
            if c.cell_type == "code"
            and "nbval-ignore-output" not in c.metadata.get("tags", [])
            and any(o.get("output_type") == "stream" or "text/plain" in o.get("data", {})
                    for o in c.get("outputs", []))]


def machine_dependent_patterns(md: Path) -> dict[str, str]:
    """:data:`MACHINE_DEPENDENT`, plus, for each function the chapter defines that calls one
    of them (directly or through another such function), a pattern for calls of it."""
    nb = nbformat.read(md.with_suffix(".ipynb"), as_version=4)
    functions = {}
    for cell in nb.cells:
        if cell.cell_type == "code":
            try:
                tree = ast.parse(cell.source)
            except SyntaxError:  # IPython magics: no function definitions to find there
                continue
            for node in ast.walk(tree):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    functions[node.name] = ast.get_source_segment(cell.source, node) or ""
    patterns = dict(MACHINE_DEPENDENT)
    changed = True
    while changed:  # until no further function calls a machine-dependent one
        changed = False
        for name, source in functions.items():
            key = f"{name}() (it calls something machine-dependent)"
            if key not in patterns and any(re.search(p, source) for p in patterns.values()):
                patterns[key] = rf"\b{re.escape(name)}\("
                changed = True
    return patterns


@pytest.mark.parametrize("md", CHAPTERS, ids=lambda p: p.stem)
def test_checked_cells_call_nothing_machine_dependent(md):
    patterns = machine_dependent_patterns(md)
    found = [f"cell {i} uses {what}: {m.group(0)!r}"
             for i, source in checked_code_cells(md)
             for what, pattern in patterns.items()
             for m in [re.search(pattern, source)] if m]
    assert not found, (f"{md.name}: tag these cells nbval-ignore-output (and assert in them "
                       "what holds on every machine), or print what is the same everywhere:\n"
                       + "\n".join(found))


def test_the_scan_finds_what_it_looks_for(tmp_path):
    samples = {
        "the CPU's features": "print(hardware.cpu_has_bf16())",
        "the number of cores or threads": "print(os.cpu_count())",
        "the machine's name": "print(platform.processor())",
        "a clock": "t = time.perf_counter()",
        "a measured speed": "peak = roofline.matmul_peak('float32')",
        "precision='auto' on this machine": "print(hardware.describe_precision('auto', cpu))",
    }
    for what, source in samples.items():
        assert re.search(MACHINE_DEPENDENT[what], source), what
    for timed in ("benchmark_time(f)", "time_algorithms(layer)", "explorer.measure()"):
        assert re.search(MACHINE_DEPENDENT["a clock"], timed), timed
    what_if = "hardware.describe_precision('auto', cpu, hardware_bf16=False)"
    assert not re.search(MACHINE_DEPENDENT["precision='auto' on this machine"], what_if)
    # a function that times, a function that calls it, and a printing cell that calls that
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("def ms(f):\n    return median_time(f)\n\n"
                                  "def report(f):\n    return round(ms(f))"),
        nbformat.v4.new_code_cell("print(report(g))", outputs=[
            nbformat.v4.new_output("stream", name="stdout", text="3\n")]),
        nbformat.v4.new_code_cell("x = report(g)"),  # prints nothing: nothing to compare
    ])
    nbformat.write(nb, tmp_path / "00_toy.ipynb")
    md = tmp_path / "00_toy.md"
    patterns = machine_dependent_patterns(md)
    assert any("report()" in what for what in patterns)
    assert [i for i, _ in checked_code_cells(md)] == [1]
    assert re.search(patterns["report() (it calls something machine-dependent)"], "report(g)")


# -- chapter 08 under the other answer ---------------------------------------------------

_STARTUP = textwrap.dedent('''
    # Written by tests/integration/test_machine_independence.py: force the answer of cpu_has_bf16().
    import os

    import convbook.hardware

    def _forced_answer():
        with open(os.environ["CONVBOOK_TEST_BF16_LOG"], "a") as log:
            log.write("asked\\n")
        return os.environ["CONVBOOK_TEST_BF16"] == "1"

    convbook.hardware.cpu_has_bf16 = _forced_answer
''')


def test_chinese_chapter_08_passes_nbval_with_the_other_bf16_answer(tmp_path):
    other = not hardware.cpu_has_bf16()  # make test ran the chapters with this machine's answer
    startup = tmp_path / "ipython" / "profile_default" / "startup"
    startup.mkdir(parents=True)
    (startup / "00-force-bf16.py").write_text(_STARTUP)
    log = tmp_path / "asked.log"
    env = {**os.environ, "IPYTHONDIR": str(tmp_path / "ipython"), "CONVBOOK_QUICK": "1",
           "CONVBOOK_TEST_BF16": "1" if other else "0", "CONVBOOK_TEST_BF16_LOG": str(log),
           "PYTHONPATH": os.pathsep.join(filter(None, (str(ROOT), os.environ.get("PYTHONPATH"))))}
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "--nbval", "--nbval-current-env", "-q",
         "--nbval-sanitize-with", "tests/nbval_sanitize.cfg", "--nbval-cell-timeout=900",
         "-p", "no:cacheprovider", "-p", "no:randomly", "chapters/zh/08_cifar10.ipynb"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    assert log.exists() and "asked" in log.read_text(), \
        "the chapter never asked whether the CPU has bfloat16 arithmetic: was it forced?"


# -- the package's precision logic under both answers -------------------------------------


@pytest.fixture(params=[True, False], ids=["bf16-cpu", "fp32-cpu"])
def bf16_answer(request, monkeypatch):
    """Run the test as on a CPU with (True) and without (False) bfloat16 arithmetic."""
    monkeypatch.setattr(hardware, "cpu_has_bf16", lambda: request.param)
    return request.param


def test_auto_precision_follows_the_answer(bf16_answer):
    cpu = torch.device("cpu")
    expected = "bf16" if bf16_answer else "fp32"
    assert hardware.resolve_precision("auto", cpu) == expected
    assert hardware.resolve_precision("fp32", cpu) == "fp32"  # asked for: no detection
    line = hardware.describe_precision("auto", cpu)
    assert line.startswith(f"precision: {expected}")
    assert ("no bfloat16 arithmetic" in line) == (not bf16_answer)


class _RecordsAutocast(nn.Module):
    """A tiny classifier that records, at every forward pass in training, whether CPU
    autocast was on and in which dtype."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.head = nn.Linear(4, 10)
        self.seen: set[tuple[bool, torch.dtype]] = set()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            self.seen.add((torch.is_autocast_enabled("cpu"),
                           torch.get_autocast_dtype("cpu")))
        return self.head(self.conv(x).amax(dim=(2, 3)))


def _toy_data(n: int = 40) -> ImageData:
    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (n, 3, 8, 8), dtype=torch.uint8, generator=g)
    labels = torch.arange(n) % 10
    return ImageData(images, labels, images[:10], labels[:10], tuple("abcdefghij"))


def test_fit_with_auto_precision_follows_the_answer(bf16_answer):
    net = _RecordsAutocast()
    fit(net, _toy_data(), 1, batch_size=20, progress=False, device="cpu")
    assert {on for on, _ in net.seen} == {bf16_answer}  # autocast on exactly with bf16
    if bf16_answer:
        assert {dtype for _, dtype in net.seen} == {torch.bfloat16}


def test_muon_orthogonalises_in_the_runs_precision(bf16_answer):
    net = models.FastNet(widths=(8, 8))
    prec = hardware.resolve_precision("auto", torch.device("cpu"))
    _, muon = recipes.make_optimizers(net, recipes.RECIPES["fast"], prec)
    assert muon.dtype == (torch.bfloat16 if bf16_answer else torch.float32)


def test_the_command_line_says_which_precision_it_chose(bf16_answer, tmp_path, monkeypatch,
                                                        capsys):
    from test_cli import make_tree

    monkeypatch.setenv("CONVBOOK_CACHE", str(tmp_path / "cache"))
    tree = make_tree(tmp_path / "ds", 2, 1)
    status = cli.main(["train", "--device", "cpu", "--no-progress", "--any-size",
                       "--model", "tutorial", "--epochs", "1", "--batch-size", "10",
                       "--data", str(tree), "--checkpoint", str(tmp_path / "c.pt")])
    out = capsys.readouterr().out
    assert status == 0, out
    expected = "bf16 mixed precision" if bf16_answer else "fp32 (this CPU has no bfloat16"
    assert f"precision: {expected}" in out
