"""Wall-clock timing of a function, for the chapters' speed comparisons and the benchmarks.

One helper instead of a timing loop in every chapter and script::

    best_time(lambda: conv2d(x, w), repeat=50)      # seconds, the fastest call
    median_time(lambda: model(x), repeat=5)         # seconds, the typical call
    measure(edit, repeat=50, warmup=2)              # seconds of each call, in order
    benchmark_time(lambda: conv(x), num_threads=1)  # seconds, torch.utils.benchmark

Each of the first three makes ``warmup`` untimed calls (caches, lazy initialisation, the allocator),
then times ``repeat`` calls one by one with :func:`time.perf_counter`.  The fastest call
is the best estimate of what the code itself costs on an otherwise idle machine (others'
work only ever adds time); the median is what a user typically waits.

:func:`benchmark_time` leaves the loop to ``torch.utils.benchmark``: it runs blocks of
calls until ``min_run_time`` seconds have passed (sizing the blocks so that the clock's
resolution does not matter) and returns the fastest (or the median) block's time per
call; it also runs the calls with a given number of torch threads, and puts the process's
setting back afterwards.
"""

from __future__ import annotations

import importlib
import logging
import statistics
import time
from collections.abc import Callable
from types import ModuleType

from convbook._args import (
    check_callable,
    check_choice,
    check_int,
    check_number,
    check_positive_int,
)

__all__ = ["benchmark_time", "best_time", "measure", "median_time"]


def measure(fn: Callable[[], object], repeat: int = 5, warmup: int = 1) -> list[float]:
    """Seconds taken by each of ``repeat`` calls of ``fn()``, after ``warmup`` untimed calls.

    Args:
        fn: called with no arguments; its result is ignored.
        repeat: number of timed calls, >= 1.
        warmup: number of untimed calls first, >= 0.

    Returns:
        ``repeat`` durations in seconds, in the order the calls were made.
    """
    check_callable(fn, "fn", "as fn()")
    repeat = check_positive_int(repeat, "repeat")
    warmup = check_int(warmup, "warmup", minimum=0)
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def best_time(fn: Callable[[], object], repeat: int = 5, warmup: int = 1) -> float:
    """Seconds taken by the fastest of ``repeat`` calls of ``fn()`` (see :func:`measure`)."""
    return min(measure(fn, repeat, warmup))


def median_time(fn: Callable[[], object], repeat: int = 5, warmup: int = 1) -> float:
    """Median seconds of ``repeat`` calls of ``fn()`` (see :func:`measure`)."""
    return statistics.median(measure(fn, repeat, warmup))


def benchmark_time(
    fn: Callable[[], object], *, num_threads: int | None = None, min_run_time: float = 0.2,
    statistic: str = "min",
) -> float:
    """Seconds per call of ``fn()``, measured by ``torch.utils.benchmark``.

    Args:
        fn: called with no arguments; its result is ignored.
        num_threads: torch threads during the measurement (``None``: the process's current
            number, ``torch.get_num_threads()``); restored afterwards.
        min_run_time: seconds to keep measuring, > 0; at least one block of calls runs.
        statistic: over the blocks of calls, ``"min"`` (the fastest block: the best
            estimate of what the code costs, as for :func:`best_time`) or ``"median"`` (the
            typical time per call on this machine as it is).

    Returns:
        The time per call, in seconds.
    """
    if not callable(fn):
        raise TypeError(f"fn must be callable, got {type(fn).__name__}")
    if num_threads is not None:
        check_positive_int(num_threads, "num_threads")
    min_run_time = check_number(min_run_time, "min_run_time", low=0.0, low_ok=False)
    check_choice(statistic, "statistic", ["median", "min"])
    benchmark = _torch_benchmark()
    threads = {} if num_threads is None else {"num_threads": num_threads}
    timer = benchmark.Timer(stmt="fn()", globals={"fn": fn}, **threads)
    measurement = timer.blocked_autorange(min_run_time=min_run_time)
    return float(min(measurement.times) if statistic == "min" else measurement.median)


def _torch_benchmark() -> ModuleType:
    """``torch.utils.benchmark``, imported on first use without the warning that its C++
    helpers log on machines with a CUDA toolkit but no GPU (irrelevant to timing on a CPU)."""
    logger = logging.getLogger("torch.utils.cpp_extension")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        return importlib.import_module("torch.utils.benchmark")
    finally:
        logger.setLevel(level)
