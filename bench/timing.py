"""Timing helpers shared by the benchmark scripts (run as ``python bench/<script>.py``, so this
module is importable as ``timing``)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def median_time(fn: Callable[[], object], repeat: int, setup: Callable[[], object] | None = None) -> float:
    """Median wall time of ``fn()`` over ``repeat`` runs; ``setup()`` runs untimed before each."""
    times = []
    for _ in range(repeat):
        if setup is not None:
            setup()
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def paired(
    a: Callable[[], object],
    b: Callable[[], object],
    repeat: int,
    setup_a: Callable[[], object] | None = None,
    setup_b: Callable[[], object] | None = None,
) -> tuple[float, float]:
    """Medians of ``a`` and ``b`` timed alternately (a, b, a, b, …): load from other processes on
    the machine hits both alike."""
    ta, tb = [], []
    for _ in range(repeat):
        ta.append(median_time(a, 1, setup_a))
        tb.append(median_time(b, 1, setup_b))
    return statistics.median(ta), statistics.median(tb)
