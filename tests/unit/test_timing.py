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
