"""``sparsefield train | experiment NAME``: training runs and the experiments of :mod:`empirical`.

Results go to ``--out`` (default ``results/``) as one JSON per (config point, seed);
rerunning skips finished work.  Experiments are listed in
:data:`sparsefield.empirical.experiments.EXPERIMENTS`.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib

from sparsefield.cli import CliError
from sparsefield.empirical import experiments
from sparsefield.empirical.config import TrainConfig, check_value, validate
from sparsefield.empirical.config_cli import add_arguments, add_run_options, from_arguments, run_options
from sparsefield.empirical.data import DataUnavailable, resolve_name
from sparsefield.empirical.experiments import EXPERIMENTS
from sparsefield.empirical.store import FINAL, ResultStore, jsonable, section
from sparsefield.jsonout import dumps


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train MLP/CNN ensembles (one per seed) with instrumentation",
                       description="Train one config point for each seed; results in OUT/train/.")
    add_arguments(p, TrainConfig)
    p.add_argument("--seeds", type=int, nargs="+", default=[0], help="one run per seed (default 0)")
    add_run_options(p)
    p.add_argument("--json", action="store_true", help="print the final metrics as JSON")
    p.set_defaults(func=_train)

    p = sub.add_parser("experiment", help="run an experiment: " + ", ".join(EXPERIMENTS))
    esub = p.add_subparsers(dest="experiment", required=True)
    for name, path in EXPERIMENTS.items():
        mod = importlib.import_module(path)
        q = esub.add_parser(name, help=mod.HELP, description=(mod.__doc__ or "").split("\n\n")[0])
        add_arguments(q, mod.Config)
        add_run_options(q)
        q.add_argument("--json", action="store_true", help="print the summary as JSON")
        q.set_defaults(func=_experiment)


def _data_error(err: Exception):
    return CliError(str(err))


def _train(args: argparse.Namespace) -> int:
    cfg = from_arguments(TrainConfig, args, args.config)
    validate(dataclasses.asdict(cfg))
    check_value("seeds", args.seeds, list[int])
    opts = run_options(args)
    # torch when a run starts, not when the parser is built
    from sparsefield.empirical.runner import run_points

    p = validate({**dataclasses.asdict(cfg), "dataset": resolve_name(cfg.dataset, opts.data_root)})
    label = f"{p['model']}-{p['activation']}-{p['dataset']}"
    store = ResultStore(opts.out, "train")
    try:
        report = run_points(store, [(label, p)], args.seeds, opts)
    except DataUnavailable as err:
        raise _data_error(err) from None
    finals = {seed: section(store.load(p, seed), FINAL) for seed in args.seeds}
    if args.json:
        print(dumps(jsonable(finals)))
        return 0
    print(f"{label}: ran {len(report.ran)}, skipped {len(report.skipped)} (results in {store.dir})")
    for seed, f in finals.items():
        print(f"seed {seed}: " + _final_line(f))
    return 0


def _final_line(f: dict) -> str:
    """Headline numbers of one run; a diverged run (non-finite loss, stored as ``null``)
    is reported as such: divergence is a result."""
    def num(v, spec: str) -> str:
        return "nan" if v is None else format(v, spec)

    from sparsefield.empirical.store import FINITE, TEST_ACC, TEST_LOSS, TEST_ZERO_FRAC

    zeros = [z for z in f.get(TEST_ZERO_FRAC) or [] if z is not None]
    zero = sum(zeros) / len(zeros) if zeros else None
    line = (f"{TEST_ACC} {num(f.get(TEST_ACC), '.4f')}  "
            f"{TEST_LOSS} {num(f.get(TEST_LOSS), '.4g')}  "
            f"sparsity {num(zero, '.4f')}  {FINITE} {f.get(FINITE)}")
    return line + ("  (diverged: the loss became non-finite)" if not f.get(FINITE) else "")


def _experiment(args: argparse.Namespace) -> int:
    mod = experiments.get(args.experiment)
    cfg = from_arguments(mod.Config, args, args.config)
    opts = run_options(args)
    try:
        summary = mod.run(cfg, opts)
    except DataUnavailable as err:
        raise _data_error(err) from None
    print(dumps(jsonable(summary)) if args.json else mod.table(summary))
    return 0
