"""Negative weight drift [BF2] (docs/theory.md section 4.5): MLPs trained with cross-entropy and
plain SGD on random inputs with random labels and on real data.

Measured against :func:`sparsefield.theory.drift.drift_stats` (sign of ``E[phi phi']`` at ``q*``):

* hidden biases and hidden-to-hidden weight means (and the projection of weight rows on
  the running input mean) drift negative for ReLU, GELU, SiLU, ReLU^2, not for the
  controls tanh, identity, |x|;
* the first layer, fed zero-mean inputs, does not drift;
* ReLU exact-zero sparsity rises from 50%;
* the class-mean of every output-weight column is conserved exactly.

Drifts are changes between initialisation and the end of training, averaged over layers
and compared across seeds by ``z = mean / sem``.  The mean bias gradient of the last hidden
layer at initialisation is compared with the Stein prediction (:func:`stein_prediction`).
On real data the learning signal can reverse the drift after a few steps; the
initialisation gradient is the sign the theory predicts.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sparsefield.results.names import ZERO_FINAL, ZERO_INIT

from ..config import RunOptions, point
from ..data import resolve_name
from ..store import (
    AGREES_INIT,
    B_GRAD_MEAN,
    B_MEAN,
    CE_HESS_TRACE,
    EVAL,
    FINITE,
    INIT,
    MEMBER,
    OUT_COLMEAN_DEV,
    TRAIN,
    TRAIN_ZERO_FRAC,
    W_MEAN,
    W_PROJ,
    final,
    section,
    series,
)
from .stats import by_label, mean_sem

NAME = "drift"
HELP = "weight/bias drift sign vs theory.drift for relu-like activations and controls [BF2]"


@dataclass(kw_only=True)
class Config:
    activations: list[str] | None = None  # None: default_activations()
    datasets: list[str] = field(default_factory=lambda: ["random", "auto"])
    width: int = 256
    depth: int = 3
    steps: int = 200
    lr: float = 0.05
    batch_size: int = 128
    n_train: int = 20000
    n_test: int = 2000
    init: str = "eoc"
    q_star: float = 1.0
    log_every: int = 10
    eval_every: int = 50
    eval_size: int = 2000
    seeds: list[int] = field(default_factory=lambda: [0, 1, 2, 3])
    z_sign: float = 4.0  # |z| over seeds above which a drift counts as signed ...
    min_effect: float = 0.01  # ... and |drift| above this many Stein units (see summarise)


def default_activations() -> list[str]:
    """The catalogue's drift set (tag ``drift``: ReLU, GELU, SiLU, ReLU^2) then its controls
    (tag ``control``: tanh, identity, |x|)."""
    from sparsefield.theory.activations import names

    return [*names(tag="drift"), *names(tag="control")]


def points(cfg: Config, data_root: str | None = None) -> list[tuple[str, dict]]:
    out = []
    acts = default_activations() if cfg.activations is None else cfg.activations
    for ds in cfg.datasets:
        name = resolve_name(ds, data_root)
        for act in acts:
            out.append((f"{act}-{name}", point(
                activation=act, dataset=name, width=cfg.width, depth=cfg.depth,
                steps=cfg.steps, lr=cfg.lr, batch_size=cfg.batch_size, n_train=cfg.n_train,
                n_test=cfg.n_test, init=cfg.init, q_star=cfg.q_star, optimizer="sgd",
                momentum=0.0, weight_decay=0.0, loss="ce", log_every=cfg.log_every,
                eval_every=cfg.eval_every, eval_size=cfg.eval_size)))
    return out


def stein_prediction(rec: dict, e_phi_dphi: float) -> float:
    """[BF2] expected ``dL/dz_j`` of the last hidden layer at initialisation, averaged over
    units: ``sigma^2 E[phi phi'] E[tr Hess]`` with ``sigma^2 = sigma_w^2 / width`` (the
    read-out weight variance) and the measured ``E[sum_c p_c (1 - p_c)]``."""
    c, member = rec["config"], section(rec, MEMBER)
    return member["sigma_w2"] / c["width"] * e_phi_dphi * section(rec, INIT)[CE_HESS_TRACE]


def _deltas(rec: dict) -> dict[str, float]:
    """Init-to-end changes of one run, averaged over the relevant layers, and the
    last hidden layer's mean bias gradient at initialisation."""
    depth = rec["config"]["depth"]
    d = {k: series(rec, EVAL, k)[-1] - series(rec, EVAL, k)[0] for k in (W_MEAN, B_MEAN)}
    proj = series(rec, TRAIN, W_PROJ)
    zero = series(rec, EVAL, TRAIN_ZERO_FRAC)
    return {
        "grad_init": float(section(rec, INIT)[B_GRAD_MEAN][depth - 1]),
        "w_hidden": float(np.mean(d[W_MEAN][1:depth])),
        "b_hidden": float(np.mean(d[B_MEAN][:depth])),
        "w_first": float(d[W_MEAN][0]),
        # along the running input mean, from the first logged step (it needs a mean)
        "w_proj_hidden": float(np.mean(proj[-1][1:depth] - proj[0][1:depth])),
        ZERO_INIT: float(np.mean(zero[0])),
        ZERO_FINAL: float(np.mean(zero[-1])),
        "colmean_dev": float(np.max(series(rec, TRAIN, OUT_COLMEAN_DEV))),
    }


def _sign(stat: dict, unit: float, cfg: Config) -> str:
    """``negative``/``positive`` when ``|z| >= z_sign`` and ``|mean| >= min_effect * unit``,
    else ``none`` (a drift both resolved across seeds and of a size that matters)."""
    z, mean = stat["z"], stat["mean"]
    if not np.isfinite(z) or abs(z) < cfg.z_sign or abs(mean) < cfg.min_effect * unit:
        return "none"
    return "negative" if z < 0 else "positive"


def summarise(records: list[dict], cfg: Config) -> dict:
    """Per (activation, data): drift statistics over seeds and the verdict vs theory."""
    # scipy/sympy only when the points are made: the CLI imports this module for its parser
    from sparsefield.theory.activations import get
    from sparsefield.theory.drift import drift_stats

    rows = {}
    for label, recs in by_label(records).items():
        c = recs[0]["config"]
        pred = drift_stats(get(c["activation"]), c["q_star"])
        ds = [_deltas(r) for r in recs]
        row = {k: mean_sem([d[k] for d in ds]) for k in ds[0]}
        row["grad_init_pred"] = mean_sem([stein_prediction(r, pred["E_phi_dphi"]) for r in recs])
        # units: the Stein gradient sigma^2 E[phi phi'] tr H at E[phi phi'] tr H = 1, and
        # the drift it gives over the run
        grad_unit = section(recs[0], MEMBER)["sigma_w2"] / c["width"]
        unit = c["lr"] * c["steps"] * grad_unit
        diverged = sum(not final(r, FINITE) for r in recs)
        observed = "diverged" if diverged else _sign(row["b_hidden"], unit, cfg)
        flip = {**row["grad_init"], "mean": -row["grad_init"]["mean"], "z": -row["grad_init"]["z"]}
        row.update(activation=c["activation"], dataset=c["dataset"], seeds=len(recs),
                   diverged=diverged, predicted=pred["drift"], E_phi_dphi=pred["E_phi_dphi"],
                   observed_bias=observed,
                   observed_weight=_sign(row["w_hidden"], unit, cfg),
                   observed_first=_sign(row["w_first"], unit, cfg),
                   observed_init=_sign(flip, grad_unit, cfg),
                   agrees=observed == pred["drift"],
                   colmean_dev_max=max(d["colmean_dev"] for d in ds))
        row[AGREES_INIT] = row["observed_init"] == pred["drift"]
        rows[label] = row
    return {"rows": rows, "all_agree": all(r["agrees"] for r in rows.values()),
            "all_agree_init": all(r[AGREES_INIT] for r in rows.values())}


def run(cfg: Config, opts: RunOptions, stop_after: int | None = None) -> dict:
    # torch only when a run starts: the CLI imports this module to build its parser
    from ..runner import run_experiment

    return run_experiment(NAME, points(cfg, opts.data_root), summarise, cfg, opts, stop_after)


def _cell(value, spec: str) -> str:
    """``value`` formatted by ``spec``; ``None`` (a non-finite number stored as JSON
    ``null``: one seed's undefined z, a diverged run) is shown as ``nan``."""
    return format(float("nan") if value is None else value, spec)


def table(summary: dict) -> str:
    """Plain-text table of the verdicts (of a summary just computed or read back from JSON,
    where non-finite numbers are ``null``)."""
    head = (f"{'point':<24}{'pred':>9}{'grad0':>10}{'stein':>10}{'obs':>9}{'db_hidden':>11}"
            f"{'z':>7}{'dw_hidden':>11}{'z':>7}{'dw_first':>10}{'zero0':>7}{'zeroT':>7}"
            f"{'colmean':>9}")
    lines = [head]
    for label, r in summary["rows"].items():
        cells = [(r["grad_init"]["mean"], ">10.3g"), (r["grad_init_pred"]["mean"], ">10.3g"),
                 (r["observed_bias"], ">9"), (r["b_hidden"]["mean"], ">11.3g"),
                 (r["b_hidden"]["z"], ">7.1f"), (r["w_hidden"]["mean"], ">11.3g"),
                 (r["w_hidden"]["z"], ">7.1f"), (r["w_first"]["mean"], ">10.2g"),
                 (r[ZERO_INIT]["mean"], ">7.3f"), (r[ZERO_FINAL]["mean"], ">7.3f"),
                 (r["colmean_dev_max"], ">9.1e")]
        lines.append(f"{label:<24}{r['predicted']:>9}" + "".join(_cell(v, f) for v, f in cells))
    return "\n".join(lines)
