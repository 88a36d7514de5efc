"""convbook.timing: the calls it makes, and the times it reports, on a scripted clock."""

from __future__ import annotations

import itertools

import pytest

from convbook import timing


@pytest.fixture
def clock(monkeypatch):
    """A fake ``time.perf_counter``: each call to ``tick(seconds)`` is one timed call."""
    now = [0.0]
    monkeypatch.setattr(timing.time, "perf_counter", lambda: now[0])

    def tick(durations):
        steps = iter(durations)

        def fn():
            now[0] += next(steps)

        return fn

    return tick


def test_measure_times_each_call_after_the_warmup(clock):
    fn = clock([100.0, 3.0, 1.0, 2.0])  # the first call is the warm-up
    assert timing.measure(fn, repeat=3, warmup=1) == [3.0, 1.0, 2.0]


def test_best_and_median(clock):
    assert timing.best_time(clock([9.0, 5.0, 2.0, 7.0]), repeat=3) == 2.0
    assert timing.median_time(clock([9.0, 5.0, 2.0, 7.0]), repeat=3) == 5.0
    assert timing.median_time(clock([4.0, 1.0]), repeat=2, warmup=0) == 2.5


def test_calls_fn_warmup_plus_repeat_times():
    calls = itertools.count()
    times = timing.measure(lambda: next(calls), repeat=4, warmup=2)
    assert next(calls) == 6
    assert len(times) == 4 and all(t >= 0 for t in times)


def test_real_clock_sees_a_slow_call():
    import time

    assert timing.best_time(lambda: time.sleep(0.01), repeat=2, warmup=0) >= 0.009


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"repeat": 0}, ValueError, "repeat must be >= 1, got 0"),
        ({"repeat": 2.0}, TypeError, "repeat must be an int"),
        ({"warmup": -1}, ValueError, "warmup must be >= 0, got -1"),
        ({"warmup": True}, TypeError, "warmup must be an int"),
    ],
)
def test_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        timing.measure(lambda: None, **kwargs)


def test_fn_must_be_callable():
    with pytest.raises(TypeError, match="fn must be callable as fn\\(\\), got 3"):
        timing.best_time(3)


def test_lazy_import_from_the_package():
    import convbook

    assert convbook.timing is timing and "timing" in dir(convbook)


# --------------------------------------------------------------------------- benchmark_time


def test_benchmark_time_sees_a_slow_call():
    import time

    seconds = timing.benchmark_time(lambda: time.sleep(0.005), min_run_time=0.05)
    assert 0.0049 <= seconds < 0.5


def test_benchmark_time_min_is_the_fastest_block_and_median_the_middle_one(monkeypatch):
    """By default the fastest block, as best_time keeps the fastest call."""
    from types import SimpleNamespace

    class FakeTimer:
        def __init__(self, stmt, globals, **kwargs):
            pass

        def blocked_autorange(self, min_run_time):
            return SimpleNamespace(times=[3.0, 1.0, 2.0], median=2.0)

    monkeypatch.setattr(timing, "_torch_benchmark", lambda: SimpleNamespace(Timer=FakeTimer))
    assert timing.benchmark_time(lambda: None) == 1.0
    assert timing.benchmark_time(lambda: None, statistic="median") == 2.0


def test_benchmark_time_runs_with_the_threads_asked_for_and_puts_them_back():
    import torch

    before = torch.get_num_threads()
    seen = []
    timing.benchmark_time(lambda: seen.append(torch.get_num_threads()), num_threads=1,
                          min_run_time=0.01)
    assert set(seen) == {1}
    assert torch.get_num_threads() == before


def test_benchmark_time_does_not_log_the_cuda_toolkit_warning(tmp_path):
    """torch.utils.benchmark imports torch.utils.cpp_extension, which logs "No CUDA runtime
    is found" where a CUDA toolkit is installed but no GPU is usable: a warning in a
    chapter's output that depends on the machine.  A fresh process with a fake toolkit
    (CUDA_HOME) and no GPU: nothing is logged while benchmark_time imports it, and the same
    lookup done again afterwards does log (so the test would see the warning)."""
    import os
    import subprocess
    import sys

    code = ("import sys\n"
            "from convbook.timing import benchmark_time\n"
            "benchmark_time(lambda: None, min_run_time=0.001)\n"
            "print('MARK', file=sys.stderr, flush=True)\n"
            "from torch.utils import cpp_extension\n"
            "cpp_extension._find_cuda_home()\n")
    env = {**os.environ, "CUDA_HOME": str(tmp_path), "CUDA_VISIBLE_DEVICES": ""}
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                            text=True, timeout=120, check=True)
    before, after = result.stderr.split("MARK")
    assert "No CUDA runtime" not in before
    assert "No CUDA runtime" in after


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"num_threads": 0}, ValueError, "num_threads must be >= 1, got 0"),
        ({"num_threads": 1.5}, TypeError, "num_threads must be an int"),
        ({"min_run_time": 0}, ValueError, r"min_run_time must be > 0, got 0"),
        ({"min_run_time": float("nan")}, ValueError, "min_run_time must be a finite number"),
        ({"min_run_time": "1"}, TypeError, "min_run_time must be a number"),
        ({"statistic": "mean"}, ValueError, "statistic must be one of 'median', 'min'"),
    ],
)
def test_benchmark_time_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        timing.benchmark_time(lambda: None, **kwargs)
    with pytest.raises(TypeError, match="fn must be callable, got int"):
        timing.benchmark_time(3)
