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
connects to a running cluster instead, whose security is yours to set up (same module).
On SLURM, dask-jobqueue gives such an address (the workers need the project installed and
the results folder on a shared file system)::

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

The summary step (:mod:`sparsefield.sweep_summary`) writes one CSV row per (point, seed)
(grid keys and final metrics), a per-point CSV (means over seeds) and the figures named in
the file: ``tradeoff`` (accuracy against measured sparsity, one line per series of grid
values [BF2]) and ``clipping`` (:func:`sparsefield.figures.experiments.clipping` per
activation and target sparsity [P24]).  The grid is :mod:`sparsefield.sweep_grid`; this
module runs the tasks (one executor: on Dask, or in-process with ``workers=0``).
"""


from __future__ import annotations

import contextlib
import hashlib
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from tqdm.auto import tqdm

from sparsefield.empirical.chunks import chunks
from sparsefield.empirical.config import RunOptions, group_key
from sparsefield.empirical.store import SWEEP_RECORD, ResultStore, atomic_write_json, point_key, sweep_dir, versions
from sparsefield.results.names import POINT_ROWS
from sparsefield.theory.errors import InfeasibleError, ParameterError

from .sweep_grid import Sweep, label_of, load_sweep, pending, task_key  # noqa: F401 (API)
from .sweep_summary import atomic_write_csv, run_keys, summarise, summary_row, summary_up_to_date  # noqa: F401 (API)

POLL_S = 0.5


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
    (in sweep order, so a point's seeds sit together unless a chunk boundary splits them):
    the runner's own grouping (:func:`sparsefield.empirical.chunks.chunks`)."""
    return chunks(todo, group_key, max_members)


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


def _tasks(store: ResultStore, sweep: Sweep, todo, data_root: str | None, max_members: int):
    """``(function, args, key, runs)`` of every task: one batched ensemble per chunk of at
    most ``max_members`` runs (:func:`ensemble_chunks`), else one run per task; ``key`` is
    deterministic (two clients of one scheduler share the work), ``runs`` its
    ``(label, seed)``."""
    out = str(store.dir.parent)
    if max_members > 1:
        for chunk in ensemble_chunks(todo, max_members):
            key = "+".join(task_key(sweep, p, s) for _, p, s in chunk)
            yield (ensemble_task, (out, sweep.name, chunk, sweep.device, data_root),
                   "ensemble-" + hashlib.sha256(key.encode()).hexdigest()[:24],
                   [(label, seed) for label, _, seed in chunk])
    else:
        for label, p, seed in todo:
            yield (train_task, (out, sweep.name, label, p, seed, sweep.device, data_root),
                   task_key(sweep, p, seed), [(label, seed)])


def _account(report: SweepReport, runs: list, res: dict) -> None:
    """Book one finished task's ``runs`` as done (with its time) or failed (with why)."""
    if "error" in res:
        report.failed += [(label, seed, res["error"]) for label, seed in runs]
    else:
        report.task_s += res["wall_s"]
        report.done += runs


def _bar(sweep: Sweep, total: int, progress: bool):
    return tqdm(total=total, desc=f"sweep {sweep.name}", file=sys.stderr,
                disable=None if progress else True, dynamic_ncols=True)


def _execute(client, store: ResultStore, sweep: Sweep, todo, data_root: str | None,
             progress: bool, report: SweepReport, max_members: int = 1) -> None:
    """Submit every task to Dask and account for each as it finishes."""
    resources = {"GPU": 1} if sweep.gpu else None
    futures = {client.submit(fn, *args, key=key, retries=sweep.retries, resources=resources): runs
               for fn, args, key, runs in _tasks(store, sweep, todo, data_root, max_members)}
    keys, left = {f.key for f in futures}, set(futures)
    with _bar(sweep, len(todo), progress) as bar:
        while left:
            time.sleep(POLL_S)
            for fut in [f for f in left if f.done()]:
                left.discard(fut)
                res = fut.result() if fut.status == "finished" else {"error": _error(fut)}
                _account(report, futures[fut], res)
                fut.release()
                bar.update(len(futures[fut]))
            running = sum(len(keys.intersection(ks)) for ks in client.processing().values())
            bar.set_postfix(done=len(report.done), running=running,
                            failed=len(report.failed))


def _execute_local(store: ResultStore, sweep: Sweep, todo, data_root: str | None,
                   progress: bool, report: SweepReport, max_members: int = 1) -> None:
    """The same tasks run one after the other in this process (no Dask): ``workers=0``,
    for a machine without ``distributed`` (a GPU box)."""
    with _bar(sweep, len(todo), progress) as bar:
        for fn, args, _, runs in _tasks(store, sweep, todo, data_root, max_members):
            _account(report, runs, fn(*args))
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
        report.outputs, report.points = previous["outputs"], previous[POINT_ROWS]
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
        "runs": run_keys(sweep), "complete": not pending(store, sweep),
        "figures": list(sweep.figures), "scheduler": scheduler,
        "workers": None if scheduler else workers, "max_members": max_members, "submitted": report.submitted,
        "skipped": report.skipped, "done": len(report.done),
        "failed": [list(f) for f in report.failed], "task_s": report.task_s,
        "wall_s": report.wall_s, "outputs": report.outputs, POINT_ROWS: report.points,
        "versions": versions(("distributed",))})
    return report


