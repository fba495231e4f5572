"""Clipping stabilises sparse deep networks [P24] (docs/theory.md section 4.2-4.3).

A deep MLP on the edge of chaos at a target sparsity ``s``: CReLU (or CST) with the clip
``m`` set by :func:`sparsefield.theory.clipping.derive` for targets ``V'(q*)`` (0.5, 0.7, 0.9), and
beyond the bifurcation (``m = factor x critical_m(...)["bifurcation"]``), against the
unclipped ReLU_tau and ST_tau at the same sparsity, and the dense baseline of [P24]: ReLU
(``tau = 0``) on its own edge of chaos (``sigma_w^2 = 2, sigma_b^2 = 0``), same depth,
width, optimiser and steps (label :data:`BASELINE_LABEL`).

Per point: the training verdict against that baseline (:mod:`.baseline`: within 2 points
of ReLU, degraded, or failed = diverged or at chance, with the numbers) and whether the
measured exact-zero fraction, over all hidden layers, stays at ``s`` at initialisation and
after training; ``predicted_at_target`` is the mean-field verdict (clipped, no fixed point
above ``q*``).

Input scale: inputs are standardised (zero-mean pixels, one global scale with
``E||x||^2 / dim = 1``, :meth:`sparsefield.empirical.data.Dataset.standardized`) and the
first layer's weights have variance ``(q* - sigma_b^2) / dim``
(:mod:`sparsefield.empirical.init`), so the first pre-activations start at
``q^1 = q*`` on average over inputs, the fixed point itself, for every activation.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sparsefield.results.names import (
    AT_TARGET_FINAL,
    AT_TARGET_INIT,
    EXTRA_FIXED_POINTS,
    Q_INIT_MAX,
    TARGET_SPARSITY,
    ZERO_FINAL,
    ZERO_INIT,
)

from ..config import RunOptions, point
from ..data import resolve_name
from ..store import (
    AGREES_INIT,
    EVAL,
    MEMBER,
    PREDICTED_AT_TARGET,
    TEST_ACC,
    TEST_Q,
    TEST_ZERO_FRAC,
    VERDICT_TEXT,
    final,
    section,
    series,
)
from . import baseline as B
from .ordering import ordering, point_predictions
from .stats import by_label, mean_sem

NAME = "clipping"
HELP = ("deep MLP at a target sparsity: clip m below/at/above the derived values vs unclipped, "
        "against the dense ReLU baseline [P24]")
BASELINE_LABEL = "relu-baseline"
# The quick report's size: the smallest at which the theory's ordering separates (module
# ``ordering``).  Measured on bundled MNIST (8,000 / 2,000 digits), 3 seeds, 300 Adam steps:
# at depth 10 (lr 3e-3) unclipped ReLU_tau reaches 0.870 +- 0.004, above CReLU V'=0.5's
# 0.839 +- 0.007 (reversed: the explosion of q^l needs tens of layers); at depth 25 (lr
# 3e-3) every sparse point stays near chance (0.17-0.32); at depth 20, lr 1e-3, CReLU V'=0.5
# reaches 0.659 +- 0.059 against ReLU_tau 0.164 +- 0.017 and ST_tau 0.124 +- 0.013
# (z = 8 and 9; ReLU 0.928, the clip beyond the bifurcation 0.488), 77 CPU-s for the
# 15 runs on one thread.
QUICK = dict(width=128, depth=20, steps=300, n_train=8000, n_test=2000, eval_size=2000,
             eval_every=50, optimizer="adam", lr=1e-3, vprimes=[0.5], beyond=[1.5],
             seeds=[0, 1, 2])


@dataclass(kw_only=True)
class Config:
    clipped: str = "crelu"               # one of theory.clipping.CLIPPED
    sparsity: float = 0.85
    vprimes: list[float] = field(default_factory=lambda: [0.5, 0.7, 0.9])
    beyond: list[float] = field(default_factory=lambda: [1.5])  # x the bifurcation m
    unclipped: list[str] | None = None  # None: theory.clipping.UNCLIPPED (ReLU_tau, ST)
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
    within: float = B.WITHIN  # accuracy below the ReLU baseline still "within" it
    chance_margin: float = B.CHANCE_MARGIN  # accuracy above chance still "at chance"


def points(cfg: Config, data_root: str | None = None) -> list[tuple[str, dict]]:
    # scipy/sympy only when the points are made: the CLI imports this module for its parser
    from sparsefield.theory.clipping import UNCLIPPED, critical_m

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
    out += [(name, point(activation=name, **common))
            for name in (UNCLIPPED if cfg.unclipped is None else cfg.unclipped)]
    dense = {**common, "sparsity": None, **B.BASELINE}
    return out + [(BASELINE_LABEL, point(**dense))]


def _outcome(rec: dict, target: float, tol: float) -> dict:
    """Sparsity and ``q^l`` of one run (hidden-layer averages)."""
    zero = series(rec, EVAL, TEST_ZERO_FRAC)
    q = series(rec, EVAL, TEST_Q)
    z0, z1 = float(np.mean(zero[0])), float(np.nanmean(zero[-1]))
    return {TEST_ACC: final(rec, TEST_ACC), ZERO_INIT: z0, ZERO_FINAL: z1,
            "zero_init_last": float(zero[0][-1]), "zero_final_last": float(zero[-1][-1]),
            Q_INIT_MAX: float(np.nanmax(q[0])), "q_init_last": float(q[0][-1]),
            AT_TARGET_INIT: abs(z0 - target) <= tol,
            AT_TARGET_FINAL: bool(np.isfinite(z1) and abs(z1 - target) <= tol)}


def summarise(records: list[dict], cfg: Config) -> dict:
    from sparsefield.theory.clipping import CLIPPED, UNCLIPPED

    groups = by_label(records)
    base = groups.get(BASELINE_LABEL)
    base_v = B.baseline_verdict(base, cfg.chance_margin) if base else None
    rows = {}
    for label, recs in groups.items():
        outs = [_outcome(r, cfg.sparsity, cfg.tolerance) for r in recs]
        member = section(recs[0], MEMBER)
        row = {k: mean_sem([o[k] for o in outs]) for k in
               (TEST_ACC, ZERO_INIT, ZERO_FINAL, "zero_init_last", "zero_final_last",
                Q_INIT_MAX, "q_init_last")}
        row.update({k: sum(o[k] for o in outs) for k in (AT_TARGET_INIT, AT_TARGET_FINAL)})
        v = base_v if label == BASELINE_LABEL else B.verdict(recs, base_v, cfg.within,
                                                              cfg.chance_margin)
        row.update({VERDICT_TEXT: v["text"]}, verdict=v["verdict"], failed=v["failed"],
                   diverged=v["diverged"], finite=len(recs) - v["diverged"], gap=v["gap"])
        # mean field: q* is attracting from both sides only when clipped without extra
        # fixed points above it (V'(q*) < 1, below the bifurcation) [P24]
        dense = label == BASELINE_LABEL
        predicted = member["activation"] in CLIPPED and not member.get(EXTRA_FIXED_POINTS)
        row.update({PREDICTED_AT_TARGET: None if dense else predicted,
                    AGREES_INIT: None if dense else (row[AT_TARGET_INIT] == len(recs)) == predicted})
        row.update(seeds=len(recs), activation=member["activation"], tau=member["params"].get("tau"),
                   m=member["params"].get("m"), vprime=member.get("vprime"),
                   vsecond=member.get("vsecond"), critical_m=member.get("critical_m"),
                   extra_fixed_points=member.get(EXTRA_FIXED_POINTS))
        row["predictions"] = point_predictions(recs, row[PREDICTED_AT_TARGET])
        rows[label] = row
    order = ordering(groups, [k for k, r in rows.items() if r[PREDICTED_AT_TARGET]],
                     [k for k, r in rows.items() if r["activation"] in UNCLIPPED],
                     cfg.chance_margin)
    setup = {k: getattr(cfg, k) for k in ("depth", "width", "steps", "optimizer", "lr",
                                          "batch_size")}
    return {TARGET_SPARSITY: cfg.sparsity, "tolerance": cfg.tolerance, "within": cfg.within,
            "baseline": base_v, "setup": setup, "rows": rows, "ordering": order}


def run(cfg: Config, opts: RunOptions, stop_after: int | None = None) -> dict:
    # torch only when a run starts: the CLI imports this module to build its parser
    from ..runner import run_experiment

    return run_experiment(NAME, points(cfg, opts.data_root), summarise, cfg, opts, stop_after)


def table(summary: dict) -> str:
    head = (f"{'point':<28}{'m':>8}{'Vprime':>8}{'acc':>7}{'zero0':>7}{'zeroT':>7}"
            f"{'zeroT_L':>8}{'qmax0':>9}{'target0':>8}{'targetT':>8}  verdict vs ReLU")
    lines = [f"target sparsity {summary[TARGET_SPARSITY]} (tolerance {summary['tolerance']})", head]
    for label, r in summary["rows"].items():
        n = r["seeds"]
        m = "-" if r["m"] is None else f"{r['m']:.3g}"
        vp = "-" if r["vprime"] is None else f"{r['vprime']:.3g}"
        at = (f"{'-':>9}{'-':>8}" if r[PREDICTED_AT_TARGET] is None else  # dense: no target
              f"{r[AT_TARGET_INIT]:>6}/{n:<2}{r[AT_TARGET_FINAL]:>5}/{n:<2}")
        lines.append(f"{label:<28}{m:>8}{vp:>8}"
                     f"{r[TEST_ACC]['mean']:>7.3f}{r[ZERO_INIT]['mean']:>7.3f}"
                     f"{r[ZERO_FINAL]['mean']:>7.3f}{r['zero_final_last']['mean']:>8.3f}"
                     f"{r[Q_INIT_MAX]['mean']:>9.3g}{at}  {r[VERDICT_TEXT]}")
    if "ordering" in summary:
        lines.append(summary["ordering"]["text"])
    return "\n".join(lines)
