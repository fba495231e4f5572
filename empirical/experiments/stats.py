"""Small torch-free helpers for summarising stored records across seeds."""

from __future__ import annotations

import math
from collections import defaultdict

import numpy as np

from sparsefield.numerics.stats import z_score


def by_label(records: list[dict]) -> dict[str, list[dict]]:
    """Records grouped by their point label (seeds together), in label order."""
    out: dict[str, list[dict]] = defaultdict(list)
    for r in records:
        out[r["label"]].append(r)
    return dict(sorted(out.items()))


def mean_sem(values) -> dict:
    """Mean, standard error over seeds and ``z = mean / sem``
    (:func:`sparsefield.numerics.stats.z_score`; ``nan`` for one seed)."""
    v = np.asarray(values, float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return {"mean": math.nan, "sem": math.nan, "z": math.nan, "n": 0}
    mean = float(v.mean())
    sem = float(v.std(ddof=1) / np.sqrt(v.size)) if v.size > 1 else math.nan
    z = z_score(mean, 0.0, sem) if v.size > 1 else math.nan
    return {"mean": mean, "sem": sem, "z": z, "n": int(v.size)}
