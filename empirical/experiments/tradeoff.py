"""Sparsity-accuracy trade-off [BF2] (docs/theory.md section 4.6).

Sparsity is forced in every hidden layer, per sample, by a quantile shift before the
activation or by an exact top-k ([LN23]); see :mod:`sparsefield.empirical.forcing`.  Accuracy
against the *measured* exact-zero fraction (runs that diverged are counted, not averaged)
locates the cliff: the sparsity at which test
accuracy first falls ``cliff_drop`` below the unforced baseline (linear interpolation
between grid points); [BF2] report it near 70%.  Every point also gets the training
verdict of :mod:`.baseline` against the unforced network (within 2 points of it, degraded,
or failed = diverged or at chance).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..config import RunOptions, point
from ..data import resolve_name
from ..store import EVAL, FINITE, TEST_ACC, TEST_ZERO_FRAC, VERDICT_TEXT, final, series
from . import baseline as B
from .stats import by_label, mean_sem

NAME = "tradeoff"
HELP = "accuracy vs forced sparsity (quantile shift, top-k): locate the cliff [BF2]"


@dataclass(kw_only=True)
class Config:
    activation: str = "relu"
    forces: list[str] = field(default_factory=lambda: ["quantile", "topk"])
    sparsities: list[float] = field(default_factory=lambda: [
        0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99])
    width: int = 256
    depth: int = 3
    dataset: str = "auto"
    n_train: int | None = None
    n_test: int | None = None
    steps: int = 2000
    lr: float = 0.01
    optimizer: str = "sgd"
    momentum: float = 0.9
    batch_size: int = 128
    init: str = "eoc"
    log_every: int = 50
    eval_every: int = 500
    eval_size: int = 5000
    seeds: list[int] = field(default_factory=lambda: [0, 1, 2])
    cliff_drop: float = 0.02  # accuracy loss (absolute) that marks the cliff


def points(cfg: Config, data_root: str | None = None) -> list[tuple[str, dict]]:
    common = dict(activation=cfg.activation, width=cfg.width, depth=cfg.depth,
                  dataset=resolve_name(cfg.dataset, data_root), n_train=cfg.n_train,
                  n_test=cfg.n_test, steps=cfg.steps, lr=cfg.lr, optimizer=cfg.optimizer,
                  momentum=cfg.momentum, batch_size=cfg.batch_size, init=cfg.init,
                  log_every=cfg.log_every, eval_every=cfg.eval_every, eval_size=cfg.eval_size)
    out = [("baseline", point(**common))]
    out += [(f"{f}-s{s:g}", point(force=f, force_sparsity=s, **common))
            for f in cfg.forces for s in cfg.sparsities]
    return out


def cliff(sparsity: np.ndarray, acc: np.ndarray, baseline: float, drop: float) -> float | None:
    """First sparsity (interpolated) where ``acc`` falls ``drop`` below ``baseline``;
    ``None`` when it never does.  ``sparsity`` must be increasing."""
    below = baseline - drop
    for i, (s, a) in enumerate(zip(sparsity, acc)):
        if a < below:
            if i == 0:
                return float(s)
            s0, a0 = sparsity[i - 1], acc[i - 1]
            return float(s0 + (a0 - below) * (s - s0) / (a0 - a))
    return None


def summarise(records: list[dict], cfg: Config) -> dict:
    rows, groups = {}, by_label(records)
    base_v = B.baseline_verdict(groups["baseline"]) if "baseline" in groups else None
    for label, recs in groups.items():
        c = recs[0]["config"]
        ok = [r for r in recs if final(r, FINITE)]  # diverged runs: counted only
        zero = [float(np.mean(series(r, EVAL, TEST_ZERO_FRAC)[-1])) for r in ok]
        v = base_v if label == "baseline" else B.verdict(recs, base_v,
                                                          ref=f"unforced {cfg.activation}")
        rows[label] = {"force": c["force"], "target": c["force_sparsity"], "seeds": len(recs),
                       "diverged": len(recs) - len(ok),
                       TEST_ACC: mean_sem([final(r, TEST_ACC) for r in ok]),
                       "measured": mean_sem(zero), "verdict": v["verdict"],
                       VERDICT_TEXT: v["text"], "failed": v["failed"]}
    base = rows.get("baseline")
    setup = {k: getattr(cfg, k) for k in ("depth", "width", "steps", "optimizer", "lr")}
    out = {"rows": rows, "cliff_drop": cfg.cliff_drop, "cliffs": {}, "baseline": base_v,
           "setup": setup}
    if base is None:
        return out
    for force in cfg.forces:
        pts = sorted((r["measured"]["mean"], r[TEST_ACC]["mean"]) for r in rows.values()
                     if r["force"] == force and r["measured"]["n"])
        if pts:
            s, a = np.array(pts).T
            out["cliffs"][force] = cliff(s, a, base[TEST_ACC]["mean"], cfg.cliff_drop)
    return out


def run(cfg: Config, opts: RunOptions, stop_after: int | None = None) -> dict:
    # torch only when a run starts: the CLI imports this module to build its parser
    from ..runner import run_experiment

    return run_experiment(NAME, points(cfg, opts.data_root), summarise, cfg, opts, stop_after)


def table(summary: dict) -> str:
    lines = [f"{'point':<18}{'target':>8}{'measured':>10}{TEST_ACC:>10}{'sem':>8}"
             f"{'diverged':>10}  verdict vs unforced"]
    for label, r in sorted(summary["rows"].items(),
                           key=lambda kv: (kv[1]["force"], kv[1]["target"] or 0)):
        t = "-" if r["target"] is None else f"{r['target']:.3g}"
        num = {k: float("nan") if v is None else v for k, v in  # JSON stores nan as null
               (("measured", r["measured"]["mean"]), ("acc", r[TEST_ACC]["mean"]),
                ("sem", r[TEST_ACC]["sem"]))}
        lines.append(f"{label:<18}{t:>8}{num['measured']:>10.4f}"
                     f"{num['acc']:>10.4f}{num['sem']:>8.4f}"
                     f"{r['diverged']:>7}/{r['seeds']:<2}  {r[VERDICT_TEXT]}")
    for force, s in summary.get("cliffs", {}).items():
        where = "not reached" if s is None else f"at sparsity {s:.3f}"
        lines.append(f"cliff ({force}, accuracy {summary['cliff_drop']:g} below baseline): {where}")
    return "\n".join(lines)
