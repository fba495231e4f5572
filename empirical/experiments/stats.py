"""Small torch-free helpers for summarising stored records across seeds."""

from __future__ import annotations

import math
from collections import defaultdict

import numpy as np


def by_label(records: list[dict]) -> dict[str, list[dict]]:
    """Records grouped by their point label (seeds together), in label order."""
    out: dict[str, list[dict]] = defaultdict(list)
    for r in records:
        out[r["label"]].append(r)
    return dict(sorted(out.items()))


def mean_sem(values) -> dict:
    """Mean, standard error over seeds and ``z = mean / sem`` (``nan`` for one seed)."""
    v = np.asarray(values, float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return {"mean": math.nan, "sem": math.nan, "z": math.nan, "n": 0}
    mean = float(v.mean())
    sem = float(v.std(ddof=1) / np.sqrt(v.size)) if v.size > 1 else math.nan
    z = mean / sem if sem and np.isfinite(sem) else math.nan
    return {"mean": mean, "sem": sem, "z": z, "n": int(v.size)}


def select(store, points: list[tuple[str, dict]], seeds: list[int]) -> list[dict]:
    """The stored records of these points and seeds (others in the store are ignored)."""
    from ..store import point_key

    keys = {point_key(p) for _, p in points}
    return [r for r in store if r["key"] in keys and r["seed"] in set(seeds)]


def loss_spikes(losses, factor: float = 2.0, window: int = 20) -> int:
    """Number of steps whose loss exceeds ``factor`` times the median of the ``window``
    steps before it (a non-finite loss counts as a spike once, then stops the count)."""
    v = np.asarray(losses, float)
    count = 0
    for t in range(window, v.size):
        if not np.isfinite(v[t]):
            return count + 1
        if v[t] > factor * np.median(v[t - window:t]):
            count += 1
    return count
