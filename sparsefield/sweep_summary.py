"""The summary of a sweep: one CSV row per (point, seed) (grid values, the derived
activation, final metrics, the exact-zero fraction along the run), one per point (means and
standard errors over seeds), the figures, and whether a stored summary is up to date.
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

import numpy as np

from sparsefield.empirical.experiments.stats import mean_sem
from sparsefield.empirical.store import (
    DATA,
    EVAL,
    FINAL,
    FINITE,
    MEMBER,
    RUN,
    SWEEP_POINTS_CSV,
    SWEEP_SUMMARY_CSV,
    TEST_ACC,
    TEST_ACT_MAX,
    TEST_DEAD_FRAC,
    TEST_LOSS,
    TEST_Q,
    TEST_ZERO_FRAC,
    TRAIN_ACC,
    TRAIN_LOSS,
    CorruptRecord,
    ResultStore,
    atomic_write_text,
    figure_list,
    figure_paths,
    point_key,
    read_json,
    sweep_dir,
)
from sparsefield.figures.sweep import plot_clipping, plot_tradeoff
from sparsefield.results.names import (
    ACT_M,
    ACT_MAX_FINAL,
    ACT_TAU,
    DEAD_FINAL,
    EXTRA_FIXED_POINTS,
    Q_FINAL_MAX,
    Q_INIT_MAX,
    TARGET_SPARSITY,
    THEORY_VPRIME,
    THEORY_VSECOND,
    ZERO_FINAL,
    ZERO_FINAL_LAST_LAYER,
    ZERO_INIT,
    ZERO_TRAJ_MAX,
    ZERO_TRAJ_MIN,
    sem_key,
)

from .sweep_grid import SPARSITY_AXES, Sweep, label_of


def run_keys(sweep: Sweep) -> list[list]:
    """``[point key, seed]`` of every run of ``sweep`` (stored in ``sweep.json``)."""
    return [[point_key(p), s] for _, p in sweep.points for s in sweep.seeds]


def summary_up_to_date(record_path: Path, store: ResultStore, sweep: Sweep) -> bool:
    """Whether ``sweep.json`` summarised every run of ``sweep``, its outputs exist and no
    result file is newer than it."""
    if not record_path.exists():
        return False
    try:
        rec = read_json(record_path)
    except CorruptRecord:  # redo the summary, which rewrites it
        return False
    if not isinstance(rec, dict) or not rec.get("complete") or rec.get("runs") != run_keys(sweep) \
            or rec.get("figures") != list(sweep.figures):
        return False
    outputs = [rec["outputs"][k] for k in ("summary", "points")] + figure_paths(rec["outputs"])
    stamp = record_path.stat().st_mtime
    return all(Path(f).exists() for f in outputs) and all(
        store.path(p, s).stat().st_mtime <= stamp for _, p in sweep.points for s in sweep.seeds)


def _layers(values) -> np.ndarray:
    """One logged statistic over hidden layers (``None``, a diverged value, is ``nan``)."""
    return np.atleast_1d(np.asarray(values if values is not None else [], float))


def _stat(fn, values) -> float:
    """``fn`` (``np.nanmean``, ``np.nanmax``, ...) over the finite entries; ``nan`` if none."""
    v = _layers(values)
    return float(fn(v)) if np.isfinite(v).any() else math.nan


def summary_row(record: dict, axes: tuple[str, ...]) -> dict:
    """One (point, seed): grid values, the derived activation, final metrics, and the
    exact-zero fraction (mean over hidden layers, test data) along the run."""
    cfg, met = record["config"], record["metrics"]
    fin, member, ev = met[FINAL], met.get(MEMBER, {}), met[EVAL]
    zero = [_stat(np.nanmean, z) for z in ev[TEST_ZERO_FRAC]]
    params = member.get("params", {})
    target = cfg["sparsity"] if cfg["sparsity"] is not None else cfg["force_sparsity"]
    test_loss = fin[TEST_LOSS] if fin[TEST_LOSS] is not None else math.nan
    row = {"label": record["label"], "seed": record["seed"], "key": record["key"]}
    row.update({k: cfg[k] for k in axes})
    row.update({
        "activation": cfg["activation"], TARGET_SPARSITY: target,
        ACT_TAU: params.get("tau"), ACT_M: params.get("m"),
        "sigma_w2": member.get("sigma_w2"), "sigma_b2": member.get("sigma_b2"),
        THEORY_VPRIME: member.get("vprime"), THEORY_VSECOND: member.get("vsecond"),
        EXTRA_FIXED_POINTS: len(member.get(EXTRA_FIXED_POINTS) or []),
        TEST_ACC: fin[TEST_ACC], TRAIN_ACC: fin[TRAIN_ACC],
        TEST_LOSS: fin[TEST_LOSS], TRAIN_LOSS: fin[TRAIN_LOSS],
        "diverged": not fin[FINITE] or not math.isfinite(test_loss),
        ZERO_INIT: zero[0], ZERO_FINAL: zero[-1],
        ZERO_FINAL_LAST_LAYER: float(_layers(ev[TEST_ZERO_FRAC][-1])[-1]),
        ZERO_TRAJ_MIN: _stat(np.nanmin, zero), ZERO_TRAJ_MAX: _stat(np.nanmax, zero),
        DEAD_FINAL: _stat(np.nanmean, ev[TEST_DEAD_FRAC][-1]),
        Q_INIT_MAX: _stat(np.nanmax, ev[TEST_Q][0]),
        Q_FINAL_MAX: _stat(np.nanmax, ev[TEST_Q][-1]),
        ACT_MAX_FINAL: _stat(np.nanmax, ev[TEST_ACT_MAX][-1]),
        "width": cfg["width"], "depth": cfg["depth"], "steps": cfg["steps"],
        "dataset": met.get(DATA, {}).get("name", cfg["dataset"]),
        "device": met.get(RUN, {}).get("device"),
    })
    return row


def point_rows(rows: list[dict], axes: tuple[str, ...]) -> list[dict]:
    """Per point (label): means and standard errors over seeds, diverged runs counted."""
    groups: dict[str, list[dict]] = {}
    for r in rows:
        groups.setdefault(r["label"], []).append(r)
    out = []
    for label, rs in groups.items():
        row = {"label": label, **{k: rs[0][k] for k in axes},
               "activation": rs[0]["activation"], TARGET_SPARSITY: rs[0][TARGET_SPARSITY],
               ACT_TAU: rs[0][ACT_TAU], ACT_M: rs[0][ACT_M],
               "seeds": len(rs), "diverged": sum(bool(r["diverged"]) for r in rs)}
        for k in (TEST_ACC, ZERO_INIT, ZERO_FINAL, ZERO_TRAJ_MAX, Q_FINAL_MAX):
            ms = mean_sem([r[k] for r in rs])
            row[k], row[sem_key(k)] = ms["mean"], ms["sem"]
        out.append(row)
    return out


def atomic_write_csv(path: Path, rows: list[dict]) -> Path:
    """Write ``rows`` (dicts; columns in first-seen order) atomically."""
    columns = list(dict.fromkeys(k for r in rows for k in r))
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return atomic_write_text(path, buf.getvalue())


def summarise(store: ResultStore, sweep: Sweep) -> tuple[dict[str, str], list[dict]]:
    """Write ``summary.csv`` (per run), ``points.csv`` (per point) and the figures (PNG and
    PDF) under ``RESULTS/<name>/sweep-<size>/``; return their paths (``figures``: a list,
    :func:`sparsefield.empirical.store.figure_list`) and the per-point rows."""
    wanted = {(point_key(p), s): i for i, (p, s) in enumerate(
        (p, s) for _, p in sweep.points for s in sweep.seeds)}
    records = sorted((r for r in store if (r["key"], r["seed"]) in wanted),
                     key=lambda r: wanted[(r["key"], r["seed"])])
    rows = [summary_row(r, sweep.axes) for r in records]
    out = sweep_dir(store.dir, sweep.tag)
    paths = {"dir": str(out), "summary": str(atomic_write_csv(out / SWEEP_SUMMARY_CSV, rows))}
    prow = point_rows(rows, sweep.axes)
    figs: list[Path] = []
    if rows:
        paths["points"] = str(atomic_write_csv(out / SWEEP_POINTS_CSV, prow))
        if "tradeoff" in sweep.figures:
            figs += plot_tradeoff(_series(prow, sweep.axes), out)
        if "clipping" in sweep.figures:
            figs += plot_clipping(records, out)
    paths["figures"] = figure_list(figs)
    return paths, prow


def _series(rows: list[dict], axes: tuple[str, ...]) -> dict[str, list[dict]]:
    """Point rows grouped by their grid values other than the sparsity axes."""
    keys = [k for k in axes if k not in SPARSITY_AXES]
    out: dict[str, list[dict]] = {}
    for r in rows:
        name = label_of({k: r[k] for k in keys}) if keys else r["activation"]
        out.setdefault(name, []).append(r)
    return out
