"""The one timing statistic of the benchmarks: the median CPU time (``time.process_time``,
robust to other work on a shared machine) of one call, over ``repeats`` rounds of ``inner``
calls each, after one warm-up call (rules, caches, compilation)."""

from __future__ import annotations

import statistics
import time
from typing import Callable


def cpu_median(fn: Callable[[], object], repeats: int = 5, inner: int = 1,
               warm: bool = True) -> float:
    """Median CPU seconds of one call of ``fn`` (``warm=False``: no warm-up call)."""
    if warm:
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.process_time()
        for _ in range(inner):
            fn()
        times.append((time.process_time() - t0) / inner)
    return statistics.median(times)
