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
def _english_self_checks(monkeypatch):
    """The tests compare the self-checks' English messages: whatever the environment of the
    person running them says (CONVBOOK_LANG=zh, a Jupyter session in chapters/zh), answer
    in English unless a test asks for another language itself."""
    monkeypatch.delenv("CONVBOOK_LANG", raising=False)
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
