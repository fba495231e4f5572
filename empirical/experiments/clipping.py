"""Clipping stabilises sparse deep networks [P24] (science.md 4.2-4.3).

A deep MLP on the edge of chaos at a target sparsity ``s``: CReLU (or CST) with the clip
``m`` set by :func:`sparsefield.theory.clipping.derive` for targets ``V'(q*)`` (0.5, 0.7, 0.9), and
beyond the bifurcation (``m = factor x critical_m(...)["bifurcation"]``), against the
unclipped ReLU_tau and ST_tau at the same sparsity.  Per point: whether training is
stable (finite losses, test accuracy above chance) and whether the measured exact-zero
fraction, over all hidden layers, stays at ``s`` at initialisation and after training;
``predicted_at_target`` is the mean-field verdict (clipped, no fixed point above ``q*``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..config import RunOptions
from .stats import by_label, mean_sem, series

NAME = "clipping"
HELP = "deep MLP at a target sparsity: clip m below/at/above the derived values vs unclipped [P24]"


@dataclass
class Config:
    clipped: str = "crelu"               # crelu | cst
    sparsity: float = 0.85
    vprimes: list[float] = field(default_factory=lambda: [0.5, 0.7, 0.9])
    beyond: list[float] = field(default_factory=lambda: [1.5])  # x the bifurcation m
    unclipped: list[str] = field(default_factory=lambda: ["relu_tau", "st"])
    q_star: float = 1.0
    width: int = 300
    depth: int = 100
    dataset: str = "auto"
    n_train: int | None = None
    n_test: int | None = None
    steps: int = 1000
    lr: float = 0.01
    optimizer: str = "sgd"
    momentum: float = 0.0
    batch_size: int = 128
    log_every: int = 10
    eval_every: int = 100
    eval_size: int = 2000
    checkpoint_every: int = 200  # long runs resume from the last checkpoint
    seeds: list[int] = field(default_factory=lambda: [0, 1, 2, 3, 4])
    tolerance: float = 0.05  # |measured - target sparsity| counted as "at target"
    learn_margin: float = 0.05  # test accuracy above chance counted as "trains"


def points(cfg: Config, data_root: str | None = None) -> list[tuple[str, dict]]:
    from sparsefield.theory.clipping import critical_m

    from ..config import point
    from ..data import resolve_name

    common = dict(width=cfg.width, depth=cfg.depth, dataset=resolve_name(cfg.dataset, data_root),
                  n_train=cfg.n_train, n_test=cfg.n_test, steps=cfg.steps, lr=cfg.lr,
                  optimizer=cfg.optimizer, momentum=cfg.momentum, batch_size=cfg.batch_size,
                  log_every=cfg.log_every, eval_every=cfg.eval_every, eval_size=cfg.eval_size,
                  checkpoint_every=cfg.checkpoint_every, q_star=cfg.q_star,
                  sparsity=cfg.sparsity)
    out = [(f"{cfg.clipped}-vprime{v:g}", point(activation=cfg.clipped, vprime=v, **common))
           for v in cfg.vprimes]
    bif = critical_m(cfg.clipped, cfg.sparsity, cfg.q_star)["bifurcation"]
    if bif is not None:
        out += [(f"{cfg.clipped}-bifurcation-x{f:g}", point(activation=cfg.clipped, m=f * bif, **common))
                for f in cfg.beyond]
    out += [(name, point(activation=name, **common)) for name in cfg.unclipped]
    return out


def _outcome(rec: dict, target: float, tol: float, learn_margin: float) -> dict:
    """Stability (finite losses and test accuracy above chance by ``learn_margin``) and
    sparsity of one run (hidden-layer averages)."""
    zero = series(rec, "eval", "test_zero_frac")
    q = series(rec, "eval", "test_q")
    loss = series(rec, "train", "loss_steps")
    finite = bool(loss.size and np.all(np.isfinite(loss)))
    f = rec["metrics"]["final"]
    chance = 1.0 / rec["metrics"]["data"]["n_classes"]
    learned = finite and f["test_acc"] is not None and f["test_acc"] > chance + learn_margin
    z0, z1 = float(np.mean(zero[0])), float(np.nanmean(zero[-1]))
    return {"stable": bool(learned), "finite": finite, "test_acc": f["test_acc"],
            "zero_init": z0, "zero_final": z1,
            "zero_init_last": float(zero[0][-1]), "zero_final_last": float(zero[-1][-1]),
            "q_init_max": float(np.nanmax(q[0])), "q_init_last": float(q[0][-1]),
            "at_target_init": abs(z0 - target) <= tol,
            "at_target_final": bool(np.isfinite(z1) and abs(z1 - target) <= tol)}


def summarise(records: list[dict], cfg: Config) -> dict:
    rows = {}
    for label, recs in by_label(records).items():
        outs = [_outcome(r, cfg.sparsity, cfg.tolerance, cfg.learn_margin) for r in recs]
        member = recs[0]["metrics"]["member"]
        row = {k: mean_sem([o[k] for o in outs]) for k in
               ("test_acc", "zero_init", "zero_final", "zero_init_last", "zero_final_last",
                "q_init_max", "q_init_last")}
        row.update({k: sum(o[k] for o in outs) for k in
                    ("stable", "finite", "at_target_init", "at_target_final")})
        # mean field: q* is attracting from both sides only when clipped without extra
        # fixed points above it (V'(q*) < 1, below the bifurcation) [P24]
        predicted = member["activation"] in ("crelu", "cst") and not member.get("extra_fixed_points")
        row.update(predicted_at_target=predicted,
                   agrees_init=(row["at_target_init"] == len(recs)) == predicted)
        row.update(seeds=len(recs), activation=member["activation"], tau=member["params"].get("tau"),
                   m=member["params"].get("m"), vprime=member.get("vprime"),
                   vsecond=member.get("vsecond"), critical_m=member.get("critical_m"),
                   extra_fixed_points=member.get("extra_fixed_points"))
        rows[label] = row
    return {"target_sparsity": cfg.sparsity, "tolerance": cfg.tolerance, "rows": rows}


def run(cfg: Config, opts: RunOptions, stop_after: int | None = None) -> dict:
    from ..runner import run_experiment

    return run_experiment(NAME, points(cfg, opts.data_root), summarise, cfg, opts, stop_after)


def table(summary: dict) -> str:
    head = (f"{'point':<28}{'m':>8}{'Vprime':>8}{'stable':>8}{'acc':>7}{'zero0':>7}"
            f"{'zeroT':>7}{'zeroT_L':>8}{'qmax0':>9}{'target0':>8}{'targetT':>8}")
    lines = [f"target sparsity {summary['target_sparsity']} (tolerance {summary['tolerance']})", head]
    for label, r in summary["rows"].items():
        n = r["seeds"]
        m = "-" if r["m"] is None else f"{r['m']:.3g}"
        vp = "-" if r["vprime"] is None else f"{r['vprime']:.3g}"
        lines.append(f"{label:<28}{m:>8}{vp:>8}{r['stable']:>5}/{n:<2}"
                     f"{r['test_acc']['mean']:>7.3f}{r['zero_init']['mean']:>7.3f}"
                     f"{r['zero_final']['mean']:>7.3f}{r['zero_final_last']['mean']:>8.3f}"
                     f"{r['q_init_max']['mean']:>9.3g}{r['at_target_init']:>6}/{n:<2}"
                     f"{r['at_target_final']:>5}/{n:<2}")
    return "\n".join(lines)
