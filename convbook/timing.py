"""Wall-clock timing of a function, for the chapters' speed comparisons and the benchmarks.

One helper instead of a timing loop in every chapter and script::

    best_time(lambda: conv2d(x, w), repeat=50)      # seconds, the fastest call
    median_time(lambda: model(x), repeat=5)         # seconds, the typical call
    measure(edit, repeat=50, warmup=2)              # seconds of each call, in order

Each first makes ``warmup`` untimed calls (caches, lazy initialisation, the allocator),
then times ``repeat`` calls one by one with :func:`time.perf_counter`.  The fastest call
is the best estimate of what the code itself costs on an otherwise idle machine (others'
work only ever adds time); the median is what a user typically waits.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

from convbook._args import check_callable, check_int, check_positive_int

__all__ = ["best_time", "measure", "median_time"]


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
