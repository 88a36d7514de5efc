"""Binder and Colab: what can be checked without either service.

binder/ is repo2docker's configuration (requirements.txt, postBuild, start, runtime.txt,
overrides.json); tools/launch_links.py writes the launch badges and the install cell of every
chapter from the repository URL in pyproject.toml.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import jupytext
import pytest
from jupyter_core.paths import jupyter_path

from tools import launch_links

ROOT = Path(__file__).resolve().parents[2]
BINDER = ROOT / "binder"
CHAPTERS = sorted((ROOT / "chapters").glob("[0-9][0-9]_*.md"))
TRANSLATIONS = sorted((ROOT / "chapters" / "zh").glob("[0-9][0-9]_*.md"))



def _project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _repo() -> tuple[str, str]:
    """(owner, name) read straight from pyproject.toml, not through the tool."""
    url = _project()["urls"]["Repository"]
    parts = urlsplit(url)
    assert parts.scheme == "https" and parts.netloc == "github.com", url
    owner, name = parts.path.strip("/").split("/")
    return owner, name


def _kernelspec() -> dict:
    specs = {
        json.dumps(jupytext.read(md).metadata["kernelspec"], sort_keys=True) for md in CHAPTERS
    }
    assert len(specs) == 1, f"chapters disagree on their kernelspec: {specs}"
    return json.loads(specs.pop())


# --- pyproject: the one place the repository URL lives -------------------------------------


def test_repository_url_is_in_pyproject():
    urls = _project()["urls"]
    assert urls["Homepage"] == urls["Repository"]
    assert _repo() == ("convbook", "convbook")


# --- binder/ ----------------------------------------------------------------------------


@pytest.mark.parametrize("script", ["postBuild", "start"])
def test_binder_scripts_are_valid_executable_bash(script):
    path = BINDER / script
    assert path.read_text().startswith("#!/bin/bash\n")
    assert os.access(path, os.X_OK), f"binder/{script} must be executable"
    subprocess.run(["bash", "-n", str(path)], check=True)


def test_binder_start_hands_over_to_the_server():
    # repo2docker: the last line of `start` must exec its arguments.
    lines = [line for line in (BINDER / "start").read_text().splitlines() if line.strip()]
    assert lines[-1] == 'exec "$@"'


def test_binder_start_sets_quick_mode_unless_given():
    script = str(BINDER / "start")
    probe = ["bash", "-c", 'echo "$CONVBOOK_QUICK"']
    env = {k: v for k, v in os.environ.items() if k != "CONVBOOK_QUICK"}
    out = subprocess.run([script, *probe], env=env, capture_output=True, text=True, check=True)
    assert out.stdout == "1\n"
    env["CONVBOOK_QUICK"] = "0"
    out = subprocess.run([script, *probe], env=env, capture_output=True, text=True, check=True)
    assert out.stdout == "0\n"


def test_binder_requirements_install_the_package_itself_with_cpu_torch():
    lines = [
        line.split("#", 1)[0].strip()
        for line in (BINDER / "requirements.txt").read_text().splitlines()
    ]
    lines = [line for line in lines if line]
    options = [line for line in lines if line.startswith("-")]
    requirements = [line for line in lines if not line.startswith("-")]
    # Installing "." (from the repository root, where repo2docker runs pip) makes
    # pyproject.toml the only list of dependencies, so the two cannot disagree.
    assert requirements == ["."]
    assert options == ["--extra-index-url https://download.pytorch.org/whl/cpu"]


def test_binder_runtime_satisfies_requires_python():
    runtime = (BINDER / "runtime.txt").read_text().strip()
    match = re.fullmatch(r"python-(\d+)\.(\d+)", runtime)
    assert match, runtime
    minimum = re.fullmatch(r">=(\d+)\.(\d+)", _project()["requires-python"])
    assert tuple(map(int, match.groups())) >= tuple(map(int, minimum.groups()))


def _labextension(name: str) -> Path:
    for base in jupyter_path("labextensions"):
        if (Path(base) / name / "package.json").exists():
            return Path(base) / name
    raise AssertionError(f"labextension {name} is not installed")


def _registered_viewers_and_file_types() -> tuple[set[str], set[str]]:
    """Widget factories and file types that the installed jupytext labextension registers."""
    ext = _labextension("jupyterlab-jupytext")
    assert json.loads((ext / "package.json").read_text())["name"] == "jupyterlab-jupytext"
    bundle = "\n".join(p.read_text() for p in (ext / "static").glob("*.js"))
    factories = set(re.findall(r'\bFACTORY="([^"]+)"', bundle))
    file_types = set(re.findall(r'addFileType\(\{name:"([^"]+)"', bundle))
    return factories, file_types


def _core_file_types() -> set[str]:
    for base in jupyter_path("lab"):
        static = Path(base) / "static"
        if static.is_dir():
            bundle = "\n".join(p.read_text() for p in static.glob("*.js"))
            return set(re.findall(r'\{name:"([\w-]+)",displayName:[^,]+,extensions:\[', bundle))
    raise AssertionError("JupyterLab's static bundle was not found")


def test_binder_overrides_make_jupytext_the_default_viewer_of_markdown():
    overrides = json.loads((BINDER / "overrides.json").read_text())
    assert list(overrides) == ["@jupyterlab/docmanager-extension:plugin"]
    # The plugin id and the setting exist in the installed JupyterLab's schemas.
    for base in jupyter_path("lab"):
        schema = Path(base) / "schemas/@jupyterlab/docmanager-extension/plugin.json"
        if schema.exists():
            assert "defaultViewers" in json.loads(schema.read_text())["properties"]
            break
    else:
        raise AssertionError("JupyterLab's docmanager schema was not found")

    viewers = overrides["@jupyterlab/docmanager-extension:plugin"]["defaultViewers"]
    factories, jupytext_types = _registered_viewers_and_file_types()
    assert factories, "no widget factory found in the jupytext labextension"
    core_types = _core_file_types()
    assert "markdown" in viewers, ".md files (JupyterLab's 'markdown' type) must open as notebooks"
    for file_type, viewer in viewers.items():
        assert viewer in factories, f"{viewer!r} is not a viewer jupytext registers: {factories}"
        assert file_type in jupytext_types | core_types, f"unknown file type {file_type!r}"


def test_binder_postbuild_installs_overrides(tmp_path):
    """Run postBuild against a stand-in for `jupyter`, in a scratch prefix."""
    bin_dir, app_dir = tmp_path / "bin", tmp_path / "share/jupyter/lab"
    bin_dir.mkdir()
    jupyter = bin_dir / "jupyter"
    jupyter.write_text(
        f'#!/bin/bash\n[ "$*" = "lab path" ] || exit 2\n'
        f'echo "Application directory:   {app_dir}"\necho "User Settings directory: /x"\n'
    )
    jupyter.chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    subprocess.run([str(BINDER / "postBuild")], cwd=ROOT, env=env, check=True)

    installed = app_dir / "settings/overrides.json"
    assert installed.read_text() == (BINDER / "overrides.json").read_text()


def test_chapters_use_the_kernel_every_jupyter_has():
    """No kernel to register on Binder or Colab: the chapters ask for plain ``python3``."""
    assert _kernelspec()["name"] == "python3"


# --- launch links ------------------------------------------------------------------------


def test_launch_links_are_up_to_date():
    assert launch_links.main(["--check"]) == 0, "run python tools/launch_links.py"


def test_launch_links_check_notices_drift():
    chapter = CHAPTERS[0]
    text = chapter.read_text()
    notebook = f"chapters/{chapter.stem}.ipynb"
    repo = launch_links.repository()
    assert launch_links.render_chapter(text, notebook, repo) == text
    stale = text.replace(f"/blob/main/{notebook}", "/blob/main/chapters/old.ipynb")
    assert stale != text
    assert launch_links.render_chapter(stale, notebook, repo) == text
    no_cell = text.replace(launch_links.install_cell(repo), "pass")
    assert launch_links.render_chapter(no_cell, notebook, repo) != no_cell


def _urls(text: str, host: str) -> list[str]:
    return re.findall(rf"https://{re.escape(host)}/[^\s)\]]+", text)


def _launch_pages() -> list[Path]:
    return [ROOT / "README.md", *CHAPTERS, *TRANSLATIONS]


def test_binder_urls_are_well_formed_and_point_at_files():
    owner, name = _repo()
    seen = 0
    for page in _launch_pages():
        for url in _urls(page.read_text(), "mybinder.org"):
            if url == "https://mybinder.org/badge_logo.svg":
                continue
            parts = urlsplit(url)
            assert parts.path == f"/v2/gh/{owner}/{name}/HEAD", url
            query = parse_qs(parts.query, strict_parsing=True)
            assert list(query) == ["urlpath"], url
            (urlpath,) = query["urlpath"]
            assert urlpath.startswith("lab/tree/"), url
            assert (ROOT / urlpath.removeprefix("lab/tree/")).exists(), url
            seen += 1
    # a badge per chapter and translation, their README rows, and the whole book
    assert seen == 2 * (len(CHAPTERS) + len(TRANSLATIONS)) + 1


def test_colab_urls_are_well_formed_and_point_at_notebooks():
    owner, name = _repo()
    seen = 0
    for page in _launch_pages():
        for url in _urls(page.read_text(), "colab.research.google.com"):
            if url.endswith("colab-badge.svg"):
                continue
            parts = urlsplit(url)
            prefix = f"/github/{owner}/{name}/blob/main/"
            assert parts.path.startswith(prefix) and not parts.query, url
            path = ROOT / parts.path.removeprefix(prefix)
            assert path.suffix == ".ipynb" and path.exists(), url
            seen += 1
    assert seen == 2 * (len(CHAPTERS) + len(TRANSLATIONS))


@pytest.mark.parametrize("md", CHAPTERS, ids=lambda p: p.name)
def test_chapter_badges_sit_under_the_title_and_open_that_chapter(md):
    cells = jupytext.read(md).cells
    title = cells[0].source.split("\n")
    assert title[0].startswith("# ")
    badges = title[2]
    assert badges.startswith("[![Open in Binder]")
    assert badges.count(f"chapters/{md.stem}.ipynb") == 2


# --- the install cell (Colab) -------------------------------------------------------------


def _first_code_cells() -> list[str]:
    return [
        next(c.source for c in jupytext.read(md).cells if c.cell_type == "code") for md in CHAPTERS
    ]


def test_install_cell_is_first_and_identical_in_every_chapter():
    # identical but for the language it names (tests/repo/test_zh_edition.py checks that)
    cells = {re.sub(r'set_language\("\w+"\)', "set_language(...)", cell)
             for cell in _first_code_cells()}
    assert len(cells) == 1, "the first code cell differs between chapters"
    (cell,) = cells
    owner, name = _repo()
    assert f'"convbook @ git+https://github.com/{owner}/{name}"' in cell
    assert "%" not in cell and "!" not in cell, "plain Python, no magics"


def _run_install_cell(monkeypatch, installed: bool) -> list[list[str]]:
    calls: list[list[str]] = []
    monkeypatch.setattr(subprocess, "check_call", lambda args: calls.append(args))
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec",
        lambda name, *a: real(name, *a) if installed or name != "convbook" else None,
    )
    exec(_first_code_cells()[0], {})
    return calls


def test_install_cell_is_silent_when_convbook_is_importable(monkeypatch, capsys):
    assert importlib.util.find_spec("convbook") is not None
    assert _run_install_cell(monkeypatch, installed=True) == []
    assert capsys.readouterr() == ("", "")


def test_install_cell_pip_installs_from_the_repository_when_missing(monkeypatch, capsys):
    owner, name = _repo()
    calls = _run_install_cell(monkeypatch, installed=False)
    assert calls == [[
        sys.executable, "-m", "pip", "install", "--quiet",
        f"convbook @ git+https://github.com/{owner}/{name}",
    ]]
    assert capsys.readouterr() == ("", "")


# --- chapters do not assume the repository layout ---------------------------------------------


@pytest.mark.parametrize("md", CHAPTERS, ids=lambda p: p.name)
def test_chapter_code_does_not_reach_outside_the_package(md):
    code = "\n".join(c.source for c in jupytext.read(md).cells if c.cell_type == "code")
    for pattern in (r"\.\./", r"\bshared/", r"\bchapters/", r"\bdata/", r"__file__", r"os\.getcwd"):
        assert not re.search(pattern, code), f"{md.name} code uses {pattern!r}"
