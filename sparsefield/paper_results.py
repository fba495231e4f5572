"""The stored paper-size results (``docs/results/``): the [P24] DNN points at depth 100, the
depth sweep against the correlation map's depth scale, and the [DT26] q* runs.

Reads the result stores written by ``sparsefield sweep`` for ``sweeps/p24_dnn.toml``
(size ``paper-cpu``) and ``sweeps/p24_long.toml`` (4x the steps), ``sweeps/p24_depth.toml``
and ``sweeps/dt26_qstar.toml`` (sizes ``cpu`` and ``depth20``), adds the mean-field numbers of
each point (``V'(q*)``, the variance depth scale ``xi_q``, the edge-of-chaos kink coefficient
``K`` and ``ell_c = 2/K`` of
:mod:`sparsefield.theory.depth_scale`) and a verdict relative to the ReLU baseline, and
writes ``p24_depth100``, ``p24_depth_sweep`` and ``dt26_qstar`` (CSV + PNG).  Points with
missing seeds are written with the seeds present (column ``seeds``); points with none
are listed with ``seeds = 0``::

    python -m sparsefield.paper_results --results results --out docs/results
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import numpy as np

from sparsefield.empirical import verdicts
from sparsefield.empirical.experiments.stats import mean_sem
from sparsefield.empirical.store import PAPER_TABLES, TEST_ACC, TRAIN_ACC, ResultStore, final
from sparsefield.figures import depth, style
from sparsefield.results.names import (
    DEPTH_OVER_ELL_C,
    ELL_C,
    KINK_K,
    M_OVER_SQRT_Q,
    ONE_MINUS_RHO,
    PAPER_ACC,
    PAPER_NOTE,
    PAPER_SD,
    Q_FINAL_MAX,
    RELU_ACC,
    SEEDS_PLANNED,
    STEPS_NOTE,
    THEORY_VPRIME,
    VPRIME_TARGET,
    ZERO_FINAL,
    ZERO_INIT,
    seeds_key,
    sem_key,
)
from sparsefield.sweep import atomic_write_csv, load_sweep, summary_row
from sparsefield.sweep_files import sweep_path
from sparsefield.theory.clipping import UNCLIPPED
from sparsefield.theory.depth_scale import depth_scale, edge_approach
from sparsefield.theory.maps import MeanField

CHANCE = verdicts.CHANCE_10  # ten balanced classes
# [P24]'s numbers for the depth-100 MNIST DNN at 85% sparsity (mean, s.d.): one owner
PAPER, PAPER_FAILS = verdicts.P24_ACC, verdicts.P24_FAILS


NAMES = {"relu": "ReLU", "crelu": "CReLU", "cst": "CST", "relu_tau": "ReLU_tau", "st": "ST_tau"}


def short_label(p: dict) -> str:
    """``CReLU V'=0.5``, ``CReLU m=2.76``, ``ReLU_tau``: a point's activation and clip."""
    name = NAMES.get(p["activation"], p["activation"])
    if p["vprime"] is not None:
        return f"{name} V'={p['vprime']:g}"
    if p["m"] is not None:
        return f"{name} m={p['m']:.3g}"
    return name


WORDS = {"within": "matches ReLU", "failed": "failed", "degraded": "degraded",
         "trains": "degraded"}


def verdict(acc: float, relu_acc: float | None, diverged: bool) -> str:
    """``failed``, ``matches ReLU`` or ``degraded`` relative to the ReLU baseline of the
    same budget (:func:`sparsefield.empirical.verdicts.training_verdict`)."""
    return WORDS[verdicts.training_verdict(acc, CHANCE, relu_acc, diverged)]


def theory(p: dict) -> dict:
    """Mean-field numbers of a config point at its fixed point ``q*``."""
    # torch only when a point's theory is needed, not to read stored results
    from sparsefield.empirical.init import resolve

    member = resolve(p)
    ds = depth_scale(member.act, member.sigma_w2, member.sigma_b2, member.q_star)
    mf = MeanField(member.act, member.sigma_w2, member.sigma_b2)
    return {"tau": member.act.params.get("tau", 0.0), "m": member.act.params.get("m"),
            "sigma_w2": member.sigma_w2, "sigma_b2": member.sigma_b2,
            THEORY_VPRIME: float(mf.dV(member.q_star)), "xi_q": ds.xi_q,
            KINK_K: ds.kink_k, ELL_C: ds.ell_c,
            ONE_MINUS_RHO: float(edge_approach(ds.kink_k, 1.0, p["depth"]))}


def collect(sweep_file: Path, size: str | None, results: Path) -> list[dict]:
    """One row per point of a sweep: seeds present, accuracy statistics, sparsity, theory."""
    sw = load_sweep(sweep_file, size=size)
    store = ResultStore(results, sw.name)
    out = []
    for label, p in sw.points:
        runs = [summary_row(store.load(p, s), sw.axes) for s in sw.seeds if store.has(p, s)]
        accs = [r[TEST_ACC] for r in runs]
        ms = mean_sem(accs) if accs else {"mean": math.nan, "sem": math.nan}
        row = {"label": label, "short": short_label(p), "activation": p["activation"], "sparsity": p["sparsity"],
               VPRIME_TARGET: p["vprime"], "q_star": p["q_star"], "depth": p["depth"],
               "width": p["width"], "steps": p["steps"], "seeds": len(runs),
               SEEDS_PLANNED: len(sw.seeds), TEST_ACC: ms["mean"],
               sem_key(TEST_ACC): ms["sem"] if len(runs) > 1 else math.nan,
               seeds_key(TEST_ACC): accs,
               TRAIN_ACC: float(np.mean([r[TRAIN_ACC] for r in runs])) if runs else math.nan,
               "diverged": sum(bool(r["diverged"]) for r in runs),
               ZERO_INIT: float(np.mean([r[ZERO_INIT] for r in runs])) if runs else math.nan,
               ZERO_FINAL: float(np.mean([r[ZERO_FINAL] for r in runs])) if runs else math.nan,
               Q_FINAL_MAX: _nanmax([r[Q_FINAL_MAX] for r in runs])}
        row.update(theory(p))
        out.append(row)
    return out


def _nanmax(values) -> float:
    """Largest finite value (``nan`` if none: no run, or every run diverged)."""
    v = np.asarray(values, float)
    return float(np.max(v[np.isfinite(v)])) if np.isfinite(v).any() else math.nan


def with_verdicts(rows: list[dict], baseline) -> list[dict]:
    for r in rows:
        base = baseline(r)
        r[RELU_ACC] = base
        r["verdict"] = verdict(r[TEST_ACC], base, r["diverged"] > 0) if r["seeds"] else "not run"
        if r["activation"] == "relu" and r["verdict"] != "failed" and base is not None:
            r["verdict"] = "baseline"
    return rows


def _csv_rows(rows: list[dict]) -> list[dict]:
    return [{**r, seeds_key(TEST_ACC): ";".join(f"{a:.4f}" for a in r[seeds_key(TEST_ACC)])}
            for r in rows]


def relu_by(rows: list[dict], key: str) -> dict:
    """The ReLU baseline's accuracy per value of ``key`` (rows that have runs)."""
    return {r[key]: r[TEST_ACC] for r in rows if r["activation"] == "relu" and r["seeds"]}


def write_table(out: Path, name: str, rows: list[dict], draw, fig_rows: list[dict] | None = None,
           **fields) -> None:
    """``out/name.csv`` from ``rows``, and the figure ``draw(done, out, name)`` of the rows
    (``fig_rows``, default ``rows``) that have runs, each with ``chance`` and ``fields``."""
    atomic_write_csv(out / f"{name}.csv", _csv_rows(rows))
    done = [{**r, "chance": CHANCE, **fields} for r in (rows if fig_rows is None else fig_rows)
            if r["seeds"]]
    if done:
        draw(done, out, name)


def _paper_columns(rows: list[dict]) -> None:
    """Verdicts against the ReLU of the same budget, and [P24]'s numbers next to each point."""
    relu = relu_by(rows, "steps")
    with_verdicts(rows, lambda r: relu.get(r["steps"]))
    for r in rows:
        acc, sd = PAPER.get(r["label"], (None, None))
        r[PAPER_ACC], r[PAPER_SD] = acc, sd
        r[PAPER_NOTE] = "fails to train" if r["label"] in PAPER_FAILS else ""


def p24(results: Path, out: Path) -> list[dict]:
    rows = collect(sweep_path("p24_dnn"), "paper-cpu", results)
    long = collect(sweep_path("p24_long"), None, results)  # 4x the budget, one seed
    for r in long:
        r["short"] += f", {r['steps']} steps"
    rows += long
    _paper_columns(rows)
    steps = rows[0]["steps"]
    fig_rows = [{**r, STEPS_NOTE: "" if r["steps"] == steps else f"{r['steps']} steps, 1 seed"}
                for r in rows]
    write_table(out, PAPER_TABLES["p24"], rows, depth.p24_table, fig_rows,
           title=f"[P24] DNN, depth 100, width 300, 85% sparsity\n"
                 f"bundled MNIST 8k/2k, Adam lr 1e-4, batch 64, {steps} steps")
    for r, f in zip(rows, fig_rows):
        r[STEPS_NOTE] = f[STEPS_NOTE]
    return rows


def p24_long(results: Path, out: Path) -> list[dict]:
    """The same points with ``paper-cpu-long``'s schedule (warm-up, cosine, gradient clip)."""
    rows = collect(sweep_path("p24_dnn"), "paper-cpu-long", results)
    _paper_columns(rows)
    for r in rows:
        r[STEPS_NOTE] = ""
    write_table(out, PAPER_TABLES["p24long"], rows, depth.p24_table,
           title=f"[P24] DNN, depth 100, width 300, 85% sparsity\nMNIST 8k/2k, Adam 1e-4, "
                 f"batch 128, {rows[0]['steps']} steps, cosine, clip 1")
    return rows


def depth_sweep(results: Path, out: Path) -> list[dict]:
    rows = collect(sweep_path("p24_depth"), "cpu", results)
    relu = relu_by(rows, "depth")
    with_verdicts(rows, lambda r: relu.get(r["depth"]))
    for r in rows:
        r["series"] = r["short"]
        r[DEPTH_OVER_ELL_C] = r["depth"] / r[ELL_C]
        r["unstable"] = r["activation"] in UNCLIPPED
    write_table(out, PAPER_TABLES["depth"], rows, depth.depth_sweep)
    return rows


def dt26(results: Path, out: Path) -> list[dict]:
    rows = collect(sweep_path("dt26_qstar.toml"), "cpu", results) \
        + collect(sweep_path("dt26_qstar.toml"), "depth20", results)
    # the baseline: ReLU at the same depth, width and budget (the depth sweep's runs)
    sw = load_sweep(sweep_path("p24_depth"), "cpu")
    store = ResultStore(results, sw.name)
    relu = {}
    for _, p in sw.points:
        accs = [final(store.load(p, s), TEST_ACC) for s in sw.seeds
                if p["activation"] == "relu" and store.has(p, s)]
        if accs:
            relu[p["depth"]] = float(np.mean(accs))
    with_verdicts(rows, lambda r: relu.get(r["depth"]))
    fixed_m = "fixed m = 1.063, depth {}"
    fixed_v = "fixed V'(q*) = 0.7 = fixed m/sqrt(q*), depth {}"
    for r in rows:
        r["series"] = (fixed_v if r[VPRIME_TARGET] else fixed_m).format(r["depth"])
        r[M_OVER_SQRT_Q] = r["m"] / math.sqrt(r["q_star"])
    # q* = 1 belongs to both families (there fixed m is fixed V')
    rows_fig = rows + [{**r, "series": fixed_m.format(r["depth"])} for r in rows
                       if r["q_star"] == 1.0]
    write_table(out, PAPER_TABLES["dt26"], rows, depth.qstar_sweep, rows_fig,
           title=f"[DT26] CReLU at 90% sparsity, width 300\n"
                 f"{rows[0]['steps']} Adam steps, bundled MNIST 8k/2k")
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--results", default="results", help="results root of the sweeps")
    ap.add_argument("--out", default="docs/results", help="output folder")
    ap.add_argument("--only", choices=tuple(PAPER_TABLES), nargs="+",
                    default=["p24", "depth", "dt26"])
    args = ap.parse_args(argv)
    results, out = Path(args.results).resolve(), Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    tables = {"p24": p24, "p24long": p24_long, "depth": depth_sweep, "dt26": dt26}
    for name in args.only:
        with style.output(formats=("png",)):
            rows = tables[name](results, out)
        for r in rows:
            print(f"{name:6s} {r['label']:40s} seeds {r['seeds']}/{r[SEEDS_PLANNED]}  "
                  f"acc {r[TEST_ACC]:.3f} +- {r[sem_key(TEST_ACC)]:.2g}  {r['verdict']}  "
                  f"ell_c {r[ELL_C]:.3g}  xi_q {r['xi_q']:.3g}")
    print(json.dumps({"out": str(out)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
