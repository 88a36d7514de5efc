"""Shared pytest configuration: hypothesis profiles, determinism, and an English reader."""

import os

# Under pytest-xdist each worker gets its share of the cores, and so do the notebook
# kernels and subprocesses it starts (they inherit the environment): two workers with
# two threads each on two cores made `make test` three times slower, not faster.
_workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
if _workers > 1:
    _threads = str(max(1, (os.cpu_count() or 1) // _workers))
    os.environ["OMP_NUM_THREADS"] = _threads
    os.environ["MKL_NUM_THREADS"] = _threads

import pytest  # noqa: E402
import torch  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402

# "ci" (default) keeps the suite fast on 2 cores; "thorough" is for local bug hunts:
#   HYPOTHESIS_PROFILE=thorough make test-python
settings.register_profile(
    "ci", max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "thorough", max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

torch.manual_seed(0)


@pytest.fixture(autouse=True)
def _english_reader(monkeypatch):
    """The tests compare the English words of the self-checks, widgets and figures:
    whatever the environment of the person running them says (CONVBOOK_LANG=zh, a Jupyter
    session in chapters/zh), answer in English unless a test asks for another language
    itself, and a test that does leaves no language behind."""
    from convbook.language import set_language

    monkeypatch.delenv("CONVBOOK_LANG", raising=False)
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    set_language(None)
    yield
    set_language(None)


@pytest.fixture
def check_catalog(tmp_path, monkeypatch):
    """Self-check messages of the test's own (chapter ``ch99``: an int check ``size`` and a
    number check ``ratio``, in English and Chinese) in place of the package's catalogs."""
    from convbook import language

    words = {
        "en": ("a size", "right", "try again", "padding {p} per side", "a ratio", "upside down"),
        "zh": ("尺寸", "对", "再试试", "每侧填充 {p}", "比值", "颠倒了"),
    }
    for lang, (size, success, hint, padding, ratio, upside) in words.items():
        (tmp_path / lang).mkdir()
        (tmp_path / lang / "ch99.toml").write_text(
            f'[size]\nwhat = "{size}"\nsuccess = "{success}: {{expected}}"\nhint = "{hint}"\n'
            f'typical.padding = "{padding}"\ntypical.never = "never shown"\n\n'
            f'[ratio]\nwhat = "{ratio}"\nsuccess = "{success}"\nhint = "{hint}"\n'
            f'typical.upside_down = "{upside}"\ntypical.never = "never shown"\n',
            encoding="utf-8")
        (tmp_path / lang / "common.toml").write_bytes(
            (language.MESSAGES / lang / "common.toml").read_bytes())
    monkeypatch.setattr(language, "MESSAGES", tmp_path)
    yield tmp_path
    language.set_language(None)
