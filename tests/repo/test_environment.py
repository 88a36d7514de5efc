"""environment.yml (conda) and pyproject.toml (pip) must ask for the same packages."""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
# PyPI name -> conda-forge name, where they differ.
CONDA_NAME = {"torch": "pytorch"}


def _split(requirement: str) -> tuple[str, str]:
    match = re.fullmatch(r"\s*([A-Za-z0-9_.\-]+)\s*(.*?)\s*", requirement)
    assert match, requirement
    return match.group(1).lower(), match.group(2).replace(" ", "")


def test_environment_yml_matches_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pip_reqs = project["dependencies"] + project["optional-dependencies"]["test"]
    expected = {CONDA_NAME.get(n, n): spec for n, spec in map(_split, pip_reqs)}
    expected["python"] = project["requires-python"]

    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert env["channels"] == ["conda-forge"]
    conda = dict(
        _split(dep) for dep in env["dependencies"] if isinstance(dep, str) and dep != "pip"
    )
    # what conda-forge may lack comes from PyPI, in the pip section (not its pip options)
    from_pypi = dict(
        _split(dep) for entry in env["dependencies"] if isinstance(entry, dict)
        for dep in entry.get("pip", []) if not dep.startswith("-")
    )
    assert not conda.keys() & from_pypi.keys()
    assert conda | from_pypi == expected


def _minimum_python() -> tuple[int, int]:
    spec = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    match = re.fullmatch(r">=(\d+)\.(\d+)", spec)
    assert match, f"requires-python should be a plain lower bound, got {spec!r}"
    return int(match.group(1)), int(match.group(2))


def test_the_declared_python_is_the_one_everywhere_and_the_one_tested():
    major, minor = _minimum_python()
    # the package and its tests use tomllib (3.11+): nothing older may be declared
    assert (major, minor) >= (3, 11)
    # the tests run on a declared version, so the declared minimum is a tested one
    assert sys.version_info[:2] >= (major, minor)
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert config["tool"]["ruff"]["target-version"] == f"py{major}{minor}"
    readme = (ROOT / "README.md").read_text()
    assert f"You need Python {major}.{minor} or newer" in readme
    makefile = (ROOT / "Makefile").read_text()
    assert f"Python {major}.{minor}+ installed" in makefile
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert f"python >={major}.{minor}" in env["dependencies"]
