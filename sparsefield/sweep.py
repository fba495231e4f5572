"""Sweeps at scale: a TOML grid of training points x seeds, one Dask task per (point, seed).

A sweep file names an experiment (the result store's folder), a base
:class:`sparsefield.empirical.config.TrainConfig` and one or more grids whose product gives the
config points; each (point, seed) is trained by :func:`sparsefield.empirical.runner.run_points` as one
Dask task that writes its own result JSON atomically (:class:`sparsefield.empirical.store.ResultStore`)::

    [sweep]
    name = "p24_dnn"            # experiment: results go to RESULTS/p24_dnn/
    seeds = [0, 1, 2, 3, 4]
    gpu = false                 # true: every task needs resources={"GPU": 1}
    device = "auto"             # passed to the runner (auto: CUDA when present)
    retries = 2                 # re-runs of a task that raised
    figures = ["clipping", "tradeoff"]

    [base]                      # TrainConfig fields shared by every point
    width = 300
    depth = 100

    [grid]                      # or several [[grid]] tables: their union
    activation = ["crelu", "cst"]
    sparsity = [0.6, 0.7, 0.8, 0.85]
    vprime = [0.5, 0.7, 0.9]

    [size.reduced]              # --size reduced: base fields, grid axes (lists) and
    width = 64                  # seeds / gpu / device / retries
    gpu = false

Cluster: by default an embedded ``LocalCluster`` (worker processes with one thread each,
bound to 127.0.0.1 only, TLS with a temporary certificate, no HTTP server; see
:mod:`sparsefield.sweep_cluster`); ``scheduler="tls://HOST:PORT"`` (or ``tcp://``)
connects to a running cluster instead, whose security is yours to set up (same module).  On SLURM, dask-jobqueue gives such an address (the workers need
the project installed and the results folder on a shared file system)::

    from dask_jobqueue import SLURMCluster
    cluster = SLURMCluster(cores=1, processes=1, memory="16GB",
                           job_extra_directives=["--gres=gpu:1"],
                           worker_extra_args=["--resources", "GPU=1"])
    cluster.scale(jobs=8)
    print(cluster.scheduler_address)   # sparsefield sweep FILE --scheduler ADDRESS

(keep that Python session open: the cluster lives as long as the object).  Tasks of a
``gpu = true`` sweep wait for workers declaring a ``GPU`` resource.  Every task calls
``torch.set_num_threads(1)``.

Resumable and idempotent: finished (point, seed) pairs are skipped before submission, so a
rerun after any interruption (the client included) trains only what is missing; a worker
killed mid-task loses only that task, which the scheduler reruns on another worker (a task
that raises is retried ``retries`` times; bad input is reported at once), and with
``checkpoint_every > 0`` the rerun resumes from the run's last checkpoint.  Task keys are
deterministic, so two clients running the same sweep on one scheduler share the work.

The summary step writes one CSV row per (point, seed) (grid keys and final metrics), a
per-point CSV (means over seeds) and the figures named in the file: ``tradeoff`` (accuracy
against measured sparsity, one line per series of grid values [BF2]) and ``clipping``
(:func:`sparsefield.figures.experiments.clipping` per activation and target sparsity [P24]).
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import itertools
import json
import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from sparsefield.empirical.config import RunOptions, group_key, point
from sparsefield.empirical.data import resolve_name
from sparsefield.empirical.experiments.stats import mean_sem
from sparsefield.empirical.store import (DATA, EVAL, FINAL, FINITE, MEMBER, RUN, SWEEP_POINTS_CSV,
                                         SWEEP_RECORD, SWEEP_SUMMARY_CSV, TEST_ACC,
                                         TEST_ACT_MAX, TEST_DEAD_FRAC, TEST_LOSS, TEST_Q,
                                         TEST_ZERO_FRAC, TRAIN_ACC, TRAIN_LOSS, CorruptRecord,
                                         ResultStore, atomic_write_json, atomic_write_text,
                                         figure_list, figure_paths, point_key, read_json,
                                         sweep_dir, versions)
from sparsefield.figures.sweep import plot_clipping, plot_tradeoff
from sparsefield.theory.activations import family
from sparsefield.theory.errors import InfeasibleError, ParameterError

from . import sweep_config

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

SWEEP_KEYS = ("name", "description", "seeds", "gpu", "device", "retries", "figures")
SIZE_SWEEP_KEYS = ("seeds", "gpu", "device", "retries")  # [sweep] keys a size may override
TABLES = ("sweep", "base", "grid", "size")
FIGURES = ("tradeoff", "clipping")
SPARSITY_AXES = ("sparsity", "force_sparsity", "tau")  # the x-axis of the figures
POLL_S = 0.5


@dataclass
class Sweep:
    """A parsed sweep file: its points (``(label, config point)``) and seeds."""

    name: str
    points: list[tuple[str, dict]]
    seeds: list[int]
    axes: tuple[str, ...]
    size: str | None = None
    gpu: bool = False
    device: str = "auto"
    retries: int = 2
    figures: tuple[str, ...] = FIGURES
    description: str = ""
    source: str = ""

    @property
    def tag(self) -> str:
        return self.size or "full"


@dataclass
class SweepReport:
    """What :func:`run_sweep` did; ``done``/``failed`` hold ``(label, seed[, error])``."""

    submitted: int = 0
    skipped: int = 0
    done: list[tuple[str, int]] = field(default_factory=list)
    failed: list[tuple[str, int, str]] = field(default_factory=list)
    task_s: float = 0.0
    wall_s: float = 0.0
    outputs: dict[str, str] = field(default_factory=dict)
    points: list[dict] = field(default_factory=list)  # per point: means over seeds


# --- the sweep file -----------------------------------------------------------------------
def _as_list(key: str, value) -> list:
    values = value if isinstance(value, list) else [value]
    if not values:
        raise ParameterError(f"grid.{key}", value, "a non-empty list")
    return values


def _fmt(v) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def label_of(over: dict) -> str:
    """``crelu_sparsity=0.85_vprime=0.5``: the grid values of a point (activation bare,
    ``None`` left out)."""
    parts = [_fmt(v) if k == "activation" else f"{k}={_fmt(v)}" for k, v in over.items()
             if v is not None]
    return "_".join(parts) or "base"


def load_sweep(path: str | Path, size: str | None = None,
               data_root: str | None = None) -> Sweep:
    """Parse a sweep file; ``size`` applies its ``[size.NAME]`` overrides.  ``dataset =
    "auto"`` is resolved here (the point keys name the data actually used)."""
    path = Path(path)
    doc = sweep_config.read(path)
    sweep_config.validate(doc, size)
    sweep_config.check_name(doc.get("sweep", {}).get("name", path.stem))
    for table in doc:
        if table not in TABLES:
            raise ParameterError("table", table, f"one of {list(TABLES)}")
    head, base = dict(doc.get("sweep", {})), dict(doc.get("base", {}))
    for key in head:
        if key not in SWEEP_KEYS:
            raise ParameterError(f"sweep.{key}", head[key], f"one of {list(SWEEP_KEYS)}")
    raw = doc.get("grid", {})
    grids = [{k: _as_list(k, v) for k, v in g.items()}
             for g in (raw if isinstance(raw, list) else [raw])]
    if size is not None:
        sizes = doc.get("size", {})
        if size not in sizes:
            raise ParameterError("size", size, f"one of {sorted(sizes)}")
        for key, value in sizes[size].items():
            if key in SIZE_SWEEP_KEYS:
                head[key] = value
            elif any(key in g for g in grids):
                grids = [{**g, key: _as_list(key, value)} if key in g else g for g in grids]
            else:
                base[key] = value
    figures = tuple(head.get("figures", FIGURES))
    for fig in figures:
        if fig not in FIGURES:
            raise ParameterError("sweep.figures", fig, f"a subset of {list(FIGURES)}")
    axes = tuple(dict.fromkeys(k for g in grids for k in g))
    points, labels, keys = [], {}, set()
    for g in grids:
        for combo in itertools.product(*g.values()):
            over = dict(zip(g, combo))
            merged = {**base, **over}
            merged["dataset"] = resolve_name(merged.get("dataset", "auto"), data_root)
            p = point(**merged)
            family(p["activation"])  # a misspelt name fails here, not in every task
            label, key = label_of(over), point_key(p)
            if labels.setdefault(label, key) != key:
                raise ParameterError("grid", label, "values giving distinct labels")
            if key not in keys:  # the first label of a point repeated by another grid
                keys.add(key)
                points.append((label, p))
    return Sweep(name=head.get("name", path.stem), points=points,
                 seeds=[int(s) for s in head.get("seeds", [0])], axes=axes, size=size,
                 gpu=bool(head.get("gpu", False)), device=head.get("device", "auto"),
                 retries=int(head.get("retries", 2)), figures=figures,
                 description=head.get("description", ""), source=str(path))


def pending(store: ResultStore, sweep: Sweep) -> list[tuple[str, dict, int]]:
    """The (label, point, seed) triples without a stored result."""
    return [(label, p, s) for label, p in sweep.points for s in sweep.seeds
            if not store.has(p, s)]


# --- the Dask side ------------------------------------------------------------------------
def train_task(out: str, experiment: str, label: str, p: dict, seed: int,
               device: str = "auto", data_root: str | None = None) -> dict:
    """One Dask task: train ``(p, seed)`` with the runner (a no-op when already stored).

    Bad input (:class:`ParameterError`, :class:`InfeasibleError`) is deterministic, so it
    is returned as ``{"error": ...}`` rather than raised and retried."""
    # torch only on the workers: the client side of a sweep never trains
    import torch

    from sparsefield.empirical.runner import run_points

    torch.set_num_threads(1)
    t0 = time.perf_counter()
    opts = RunOptions(out=out, device=device, data_root=data_root, max_members=1,
                      progress=False)
    try:
        report = run_points(ResultStore(out, experiment), [(label, p)], [seed], opts)
    except (ParameterError, InfeasibleError) as err:
        return {"error": f"{type(err).__name__}: {err}", "wall_s": time.perf_counter() - t0}
    return {"ran": len(report.ran), "wall_s": time.perf_counter() - t0}


def ensemble_task(out: str, experiment: str, runs: list[tuple[str, dict, int]],
                  device: str = "auto", data_root: str | None = None) -> dict:
    """One Dask task training ``runs`` (``(label, point, seed)`` of one ensemble group:
    equal :func:`sparsefield.empirical.config.group_key`) as one batched ensemble (on a GPU,
    several seeds and clips at the price of about one run).  Errors as :func:`train_task`."""
    # torch only on the workers: the client side of a sweep never trains
    import torch

    from sparsefield.empirical import locks
    from sparsefield.empirical.runner import EnsembleTrainer, run_chunk
    from sparsefield.empirical.train import resolve_device

    torch.set_num_threads(1)
    t0 = time.perf_counter()
    store = ResultStore(out, experiment)
    opts = RunOptions(out=out, device=device, data_root=data_root, max_members=len(runs),
                      progress=False)
    todo: list = []
    try:  # under the runs' locks: another sweep on this folder may be training them
        with locks.hold([locks.lock_path(store.dir, p, s) for _, p, s in runs]):
            todo = [(label, p, int(seed)) for label, p, seed in runs if not store.has(p, seed)]
            if todo:  # exactly these runs (a point's seeds may be split over chunks)
                run_chunk(store, todo, EnsembleTrainer(opts), resolve_device(device))
    except (ParameterError, InfeasibleError) as err:
        return {"error": f"{type(err).__name__}: {err}", "wall_s": time.perf_counter() - t0}
    return {"ran": len(todo), "wall_s": time.perf_counter() - t0}


def ensemble_chunks(todo: list[tuple[str, dict, int]], max_members: int) -> list[list]:
    """Pending runs grouped by ensemble group key, in chunks of at most ``max_members``
    (in sweep order, so a point's seeds sit together unless a chunk boundary splits them)."""
    groups: dict[str, list] = {}
    for run in todo:
        groups.setdefault(group_key(run[1]), []).append(run)
    chunks = []
    for runs in groups.values():
        chunk: list = []
        for run in runs:
            if len(chunk) >= max_members:
                chunks.append(chunk)
                chunk = []
            chunk.append(run)
        chunks.append(chunk)
    return chunks


def task_key(sweep: Sweep, p: dict, seed: int) -> str:
    return f"sweep-{sweep.name}-{point_key(p)}-seed{seed}"


@contextlib.contextmanager
def connect(scheduler: str | None, workers: int, gpu: bool = False):
    """A ``Client``: to ``scheduler`` when given, else to an embedded loopback
    ``LocalCluster`` of ``workers`` single-threaded processes (each declaring one GPU
    resource when ``gpu``), TLS-authenticated, without HTTP servers
    (:mod:`sparsefield.sweep_cluster`)."""
    # distributed (the [sweep] extra) only when a cluster is used
    from .sweep_cluster import local_client, remote_client

    with (remote_client(scheduler) if scheduler is not None else local_client(workers, gpu)) as client:
        yield client


def _error(future) -> str:
    try:
        exc = future.exception()
    except Exception as err:  # cancelled or lost with the scheduler
        exc = err
    return f"{type(exc).__name__}: {exc}"[:300]


def _execute(client, store: ResultStore, sweep: Sweep, todo, data_root: str | None,
             progress: bool, report: SweepReport, max_members: int = 1) -> None:
    futures = {}
    resources = {"GPU": 1} if sweep.gpu else None
    if max_members > 1:
        for chunk in ensemble_chunks(todo, max_members):
            key = "+".join(task_key(sweep, p, s) for _, p, s in chunk)
            fut = client.submit(ensemble_task, str(store.dir.parent), sweep.name, chunk,
                                sweep.device, data_root, retries=sweep.retries,
                                key="ensemble-" + hashlib.sha256(key.encode()).hexdigest()[:24],
                                resources=resources)
            futures[fut] = [(label, seed) for label, _, seed in chunk]
    for label, p, seed in todo if max_members <= 1 else []:
        fut = client.submit(train_task, str(store.dir.parent), sweep.name, label, p, seed,
                            sweep.device, data_root, key=task_key(sweep, p, seed),
                            retries=sweep.retries, resources=resources)
        futures[fut] = [(label, seed)]
    keys, left = {f.key for f in futures}, set(futures)
    with tqdm(total=sum(map(len, futures.values())), desc=f"sweep {sweep.name}", file=sys.stderr,
              disable=None if progress else True, dynamic_ncols=True) as bar:
        while left:
            time.sleep(POLL_S)
            for fut in [f for f in left if f.done()]:
                left.discard(fut)
                runs = futures[fut]
                res = fut.result() if fut.status == "finished" else {"error": _error(fut)}
                if "error" in res:
                    report.failed += [(label, seed, res["error"]) for label, seed in runs]
                else:
                    report.task_s += res["wall_s"]
                    report.done += runs
                fut.release()
                bar.update(len(runs))
            running = sum(len(keys.intersection(ks)) for ks in client.processing().values())
            bar.set_postfix(done=len(report.done), running=running,
                            failed=len(report.failed))


def _execute_local(store: ResultStore, sweep: Sweep, todo, data_root: str | None,
                   progress: bool, report: SweepReport, max_members: int = 1) -> None:
    """The tasks of :func:`_execute` run one after the other in this process (no Dask):
    ``workers=0``, for a machine without ``distributed`` (a GPU box)."""
    out = str(store.dir.parent)
    if max_members > 1:
        tasks = [(lambda c=c: ensemble_task(out, sweep.name, c, sweep.device, data_root),
                  [(label, seed) for label, _, seed in c])
                 for c in ensemble_chunks(todo, max_members)]
    else:
        tasks = [(lambda l=l, p=p, s=s: train_task(out, sweep.name, l, p, s, sweep.device,
                                                   data_root), [(l, s)]) for l, p, s in todo]
    with tqdm(total=len(todo), desc=f"sweep {sweep.name}", file=sys.stderr,
              disable=None if progress else True, dynamic_ncols=True) as bar:
        for task, runs in tasks:
            res = task()
            if "error" in res:
                report.failed += [(label, seed, res["error"]) for label, seed in runs]
            else:
                report.task_s += res["wall_s"]
                report.done += runs
            bar.update(len(runs))


def run_sweep(sweep: Sweep, results: str | Path = "results", scheduler: str | None = None,
              workers: int = 2, data_root: str | None = None,
              progress: bool = True, max_members: int = 1) -> SweepReport:
    """Train every missing (point, seed) of ``sweep`` on Dask, then summarise all of them
    (a rerun with nothing to train reuses an up-to-date summary: it does no work).

    ``max_members > 1``: one task per ensemble group (:func:`ensemble_chunks`), trained as
    one batched ensemble of up to that many members (for GPUs; on a CPU one member per
    task is as fast).  ``workers=0`` (and no ``scheduler``) runs the tasks in this process,
    one after the other, without Dask."""
    if max_members < 1:
        raise ParameterError("max_members", max_members, "an integer >= 1")
    t0 = time.perf_counter()
    store = ResultStore(Path(results).resolve(), sweep.name)
    todo = pending(store, sweep)
    report = SweepReport(submitted=len(todo),
                         skipped=len(sweep.points) * len(sweep.seeds) - len(todo))
    record_path = sweep_dir(store.dir, sweep.tag) / SWEEP_RECORD
    if not todo and summary_up_to_date(record_path, store, sweep):
        previous = json.loads(record_path.read_text())
        report.outputs, report.points = previous["outputs"], previous["point_rows"]
        report.wall_s = time.perf_counter() - t0
        return report
    if todo and scheduler is None and workers == 0:
        _execute_local(store, sweep, todo, data_root, progress, report, max_members)
    elif todo:
        with connect(scheduler, workers, sweep.gpu) as client:
            _execute(client, store, sweep, todo, data_root, progress, report, max_members)
    report.wall_s = time.perf_counter() - t0
    report.outputs, report.points = summarise(store, sweep)
    atomic_write_json(record_path, {
        "sweep": sweep.name, "size": sweep.size, "source": sweep.source,
        "seeds": sweep.seeds, "points": [{"label": l, "key": point_key(p), "config": p}
                                         for l, p in sweep.points],
        "runs": _runs(sweep), "complete": not pending(store, sweep),
        "figures": list(sweep.figures), "scheduler": scheduler,
        "workers": None if scheduler else workers, "max_members": max_members, "submitted": report.submitted,
        "skipped": report.skipped, "done": len(report.done),
        "failed": [list(f) for f in report.failed], "task_s": report.task_s,
        "wall_s": report.wall_s, "outputs": report.outputs, "point_rows": report.points,
        "versions": versions(("distributed",))})
    return report


def _runs(sweep: Sweep) -> list[list]:
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
    if not isinstance(rec, dict) or not rec.get("complete") or rec.get("runs") != _runs(sweep) \
            or rec.get("figures") != list(sweep.figures):
        return False
    outputs = [rec["outputs"][k] for k in ("summary", "points")] + figure_paths(rec["outputs"])
    stamp = record_path.stat().st_mtime
    return all(Path(f).exists() for f in outputs) and all(
        store.path(p, s).stat().st_mtime <= stamp for _, p in sweep.points for s in sweep.seeds)


# --- summary ------------------------------------------------------------------------------
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
        "activation": cfg["activation"], "target_sparsity": target,
        "act_tau": params.get("tau"), "act_m": params.get("m"),
        "sigma_w2": member.get("sigma_w2"), "sigma_b2": member.get("sigma_b2"),
        "theory_vprime": member.get("vprime"), "theory_vsecond": member.get("vsecond"),
        "extra_fixed_points": len(member.get("extra_fixed_points") or []),
        TEST_ACC: fin[TEST_ACC], TRAIN_ACC: fin[TRAIN_ACC],
        TEST_LOSS: fin[TEST_LOSS], TRAIN_LOSS: fin[TRAIN_LOSS],
        "diverged": not fin[FINITE] or not math.isfinite(test_loss),
        "zero_init": zero[0], "zero_final": zero[-1],
        "zero_final_last_layer": float(_layers(ev[TEST_ZERO_FRAC][-1])[-1]),
        "zero_traj_min": _stat(np.nanmin, zero), "zero_traj_max": _stat(np.nanmax, zero),
        "dead_final": _stat(np.nanmean, ev[TEST_DEAD_FRAC][-1]),
        "q_init_max": _stat(np.nanmax, ev[TEST_Q][0]),
        "q_final_max": _stat(np.nanmax, ev[TEST_Q][-1]),
        "act_max_final": _stat(np.nanmax, ev[TEST_ACT_MAX][-1]),
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
               "activation": rs[0]["activation"], "target_sparsity": rs[0]["target_sparsity"],
               "act_tau": rs[0]["act_tau"], "act_m": rs[0]["act_m"],
               "seeds": len(rs), "diverged": sum(bool(r["diverged"]) for r in rs)}
        for k in (TEST_ACC, "zero_init", "zero_final", "zero_traj_max", "q_final_max"):
            ms = mean_sem([r[k] for r in rs])
            row[k], row[f"{k}_sem"] = ms["mean"], ms["sem"]
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
