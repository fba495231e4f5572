"""The one timing statistic of the benchmarks: the median CPU time (``time.process_time``:
all threads of this process, a library's helper threads included; other work on a shared
machine affects it through caches, not the scheduler) of one call, over ``repeats`` rounds.

Each round runs ``inner`` calls and lasts at least ``ROUND_S`` of CPU time: ``inner`` is
sized as :mod:`timeit`'s ``autorange`` does (1, 2, 5, 10, 20, ... calls until a round is
long enough), so a call of a few microseconds is timed over thousands of calls and the
clock's resolution, a timer interrupt or one page fault moves the median by little.  Before
the rounds the function is warmed up for at least ``WARM_S`` (rules, caches, compilation,
branch predictors, CPU frequency).  A call that takes ``ONCE_S`` or longer is timed once
(its second call, the first being the warm-up: rounds would cost minutes, and such times
move little); ``warm=False`` times the first call alone (a cold call, or one that takes
minutes).

:func:`cpu_medians` times several functions with their rounds interleaved (round ``r`` of
each before round ``r + 1`` of any), so that drift in the machine's state over a row (another
job starting, a frequency change) moves every function of the row alike and their ratios
little.
"""

from __future__ import annotations

import statistics
import time
from typing import Callable, Mapping

ROUND_S = 0.025  # CPU seconds per round, at least
WARM_S = 0.05  # CPU seconds of warm-up calls, at least
REPEATS = 9  # rounds; the median is taken
ONCE_S = 1.0  # a call at least this long is timed once

Fn = Callable[[], object]


def _round(fn: Fn, inner: int) -> float:
    """CPU seconds of ``inner`` calls of ``fn``."""
    t0 = time.process_time()
    for _ in range(inner):
        fn()
    return time.process_time() - t0


def _sized(fn: Fn, inner: int) -> tuple[float, bool]:
    """``(CPU seconds of inner calls, whether the round is long enough)``: ``ROUND_S`` of
    CPU time, or of wall time for a function that mostly waits."""
    w0 = time.perf_counter()
    t = _round(fn, inner)
    return t, max(t, time.perf_counter() - w0) >= ROUND_S


def calibrate(fn: Fn, inner: int | None = None, warm: bool = True) -> tuple[int, float]:
    """Warm ``fn`` up and size its rounds: ``(inner, seconds per call)``.  ``inner`` is 0
    when ``fn`` is to be timed once: with ``warm=False`` (the seconds are then its first
    call's) or when a warm call takes ``ONCE_S`` or more (the seconds: its second call's)."""
    w0 = time.perf_counter()
    first = _round(fn, 1)
    if not warm:
        return 0, first
    spent, n = first, inner or 1
    while True:  # autorange: 1, 2, 5, 10, 20, 50, ... calls until a round lasts ROUND_S
        t, enough = _sized(fn, n)
        spent, per = spent + t, t / n
        if per >= ONCE_S:
            return 0, per
        if inner is not None or enough:
            break
        n = next(k * 10 ** e for e in range(12) for k in (1, 2, 5) if k * 10 ** e > n)
    while max(spent, time.perf_counter() - w0) < WARM_S:  # the rest of the warm-up
        spent += _round(fn, n)
    return n, per


def cpu_medians(fns: Mapping[str, Fn], repeats: int | Mapping[str, int] = REPEATS,
                inner: int | None = None, warm: bool = True) -> dict[str, float]:
    """Median CPU seconds of one call of each of ``fns`` (``repeats`` rounds each, or per
    name; ``inner``: calls per round, sized by :func:`calibrate` when None), the rounds of
    all functions interleaved."""
    plan = {k: calibrate(f, inner, warm) for k, f in fns.items()}
    reps = {k: repeats if isinstance(repeats, int) else repeats.get(k, REPEATS) for k in fns}
    times: dict[str, list[float]] = {k: [] for k in fns}
    for r in range(max(reps.values(), default=0)):
        for k, f in fns.items():
            n = plan[k][0]
            if n and r < reps[k]:
                times[k].append(_round(f, n) / n)
    return {k: statistics.median(times[k]) if times[k] else plan[k][1] for k in fns}


def cpu_median(fn: Fn, repeats: int = REPEATS, inner: int | None = None,
               warm: bool = True) -> float:
    """Median CPU seconds of one call of ``fn`` (``warm=False``: its first call, once)."""
    return cpu_medians({"": fn}, repeats, inner, warm)[""]
