"""The width experiments of ``docs/results/`` set against the finite-width theory
(:mod:`sparsefield.theory.finite_width`, docs/theory.md section 7).

* ``p24_width``: [P24]'s depth-100 points at 85% sparsity (CReLU ``V'(q*)`` = 0.5, 0.7 and
  ReLU) at widths 300-1200 (``sweeps/p24_width.toml``; the width-300 runs are the
  ``paper-cpu-long`` rows of ``p24_depth100_long.csv``, trained with the same schedule);
* ``p24_phase``: ReLU, CReLU, CST over depth x width at a short budget, with the
  boundary ``L = c ell_N`` (``ell_N`` the finite-width depth scale at width ``N``), ``c``
  fitted on ReLU's cells alone and then tested on the clipped activations' cells;
* ``p24_clip``: accuracy against the clip at width 300, depth 50, against the clip the
  finite-width theory picks and the ``V'(q*)``-target clips;
* ``dt26_width``: [DT26]'s ``q*`` at 90% sparsity, fixed ``m`` vs fixed ``V'(q*)``, with
  the predicted active fraction and typical gain at width 300.

Every prediction is stated at the width and depth of its run::

    python -m sparsefield.width_results --results results --out docs/results
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
from pathlib import Path
from typing import Callable

import numpy as np

from sparsefield.empirical import verdicts
from sparsefield.empirical.init import resolve
from sparsefield.figures import style
from sparsefield.figures import width as width_fig
from sparsefield.paper_results import collect, with_verdicts, write_table
from sparsefield.results.names import (
    C_FIT,
    C_FIT_MEAN_FIELD,
    DEPTH_SCALE_FW,
    ELL_C,
    FIT_CELLS,
    FIT_ERRORS,
    FIT_ON,
    PAPER_TABLES,
    SEEDS_PLANNED,
    TEST_ACC,
    TEST_CELLS,
    TEST_ERRORS,
    TEST_ERRORS_MEAN_FIELD,
    TRAINABLE_AT,
    VPRIME_TARGET,
    seeds_key,
    sem_key,
)
from sparsefield.sweep_files import sweep_path
from sparsefield.theory.clip_width import best_clip
from sparsefield.theory.clipping import critical_m, derive
from sparsefield.theory.errors import ParameterError
from sparsefield.theory.finite_width import predict

TRAINABLE = verdicts.TRAINABLE  # a cell "trains" when its test accuracy reaches this
FW_KEYS = ("active_fraction", "kappa", "effective_width", "log_gain_per_layer",
           "log_gain_total_mean", "log_gain_total_sd", "depth_scale", "p_explode")
TABLES = {"width": "p24_width", "phase": "p24_phase", "clip": "p24_clip", "dt26w": "dt26_width"}


def predictions(p: dict) -> dict:
    """The finite-width theory at a row's own width and depth, from ``q^0 = q*``."""
    vprime = p.get(VPRIME_TARGET, p.get("vprime"))
    clip = p.get("m") if vprime is None and p.get("sparsity") is not None else None
    m = resolve({"activation": p["activation"], "sparsity": p.get("sparsity"), "vprime": vprime,
                 "m": clip, "q_star": p.get("q_star", 1.0), "init": "eoc"})
    fw = predict(m.act, int(p["width"]), int(p["depth"]), sigma_w2=m.sigma_w2,
                 sigma_b2=m.sigma_b2, q=m.q_star)
    d = fw.to_dict()
    out = {k: d[k] for k in FW_KEYS}
    out[DEPTH_SCALE_FW] = d["depth_scale"] if d["depth_scale"] is not None else math.inf
    return out


def _stored(rows: list[dict], results: Path, sweep: str) -> list[dict]:
    """The rows that have runs; none at all is an error naming the results root."""
    done = [r for r in rows if r["seeds"]]
    if not done:
        raise ParameterError("results", str(results), f"a results root holding runs of "
                             f"sweeps/{sweep}.toml (none stored there)")
    return done


def _with_predictions(rows: list[dict]) -> list[dict]:
    for r in rows:
        r.update(predictions(r))
    return rows


def stored_rows(path: Path, series: Callable[[dict], str | None]) -> list[dict]:
    """The rows of a stored table (``docs/results/*.csv``) that have runs and that ``series``
    names (``None``: left out), as ``collect`` rows."""
    out = []
    with open(path, newline="") as f:
        for r in csv.DictReader(f):
            name = series(r)
            if name is None or not int(r["seeds"]):
                continue
            seeds = [float(a) for a in r[seeds_key(TEST_ACC)].split(";") if a]
            out.append({"label": r["label"], "short": r["short"], "activation": r["activation"],
                        "sparsity": _num(r["sparsity"]), VPRIME_TARGET: _num(r[VPRIME_TARGET]),
                        "m": _num(r["m"]) if not _num(r[VPRIME_TARGET]) else None,
                        "q_star": float(r["q_star"]), "depth": int(r["depth"]),
                        "width": int(r["width"]), "steps": int(r["steps"]), "init": "eoc",
                        "seeds": len(seeds), SEEDS_PLANNED: int(r[SEEDS_PLANNED]),
                        TEST_ACC: float(r[TEST_ACC]), sem_key(TEST_ACC): _num(r[sem_key(TEST_ACC)]),
                        seeds_key(TEST_ACC): seeds, "diverged": int(r["diverged"]),
                        "series": name, "source": path.name})
    return out


def _num(s: str) -> float | None:
    return None if s in ("", "None") else float(s)


def width_control(results: Path, out: Path) -> list[dict]:
    """Depth 100, 85% sparsity, against width: the short budget (300 steps, the phase
    diagram's depth-100 cells and ``p24_width``'s ``cpu-short`` runs at width 1000) and the
    ``paper-cpu-long`` schedule (2000 steps: ``p24_width``'s ``cpu`` runs where stored, the
    width-300 rows of ``p24_depth100_long.csv``)."""
    short = [r for r in collect(sweep_path("p24_phase"), "cpu", results)
             if r["depth"] == 100 and r["activation"] in ("relu", "crelu")]
    short += collect(sweep_path("p24_width"), "cpu-short", results)
    long = [r for r in collect(sweep_path("p24_width"), "cpu", results) if r["seeds"]]
    # the V'(q*) = 0.7 clip (its size repeats the cpu size's ReLU points)
    long += [r for r in collect(sweep_path("p24_width"), "cpu-v07", results)
             if r["seeds"] and r["activation"] == "crelu"]
    labels = {"relu": "ReLU", "crelu_sparsity=0.85_vprime=0.5": "CReLU V'=0.5",
              "crelu_sparsity=0.85_vprime=0.7": "CReLU V'=0.7"}
    long += stored_rows(out / "p24_depth100_long.csv",
                      lambda r: labels.get(r["label"]) if r["width"] == "300" else None)
    rows = []
    for budget, rs in (("300 steps", short), ("2000 steps", long)):
        for r in rs:
            if r["seeds"]:
                r["series"] = f"{r['short'].split(',')[0]}, {budget}"
                r.setdefault("source", "this table's sweeps")
                rows.append(r)
    _with_predictions(rows)
    relu = {(r["width"], r["steps"]): r[TEST_ACC] for r in rows if r["activation"] == "relu"}
    with_verdicts(rows, lambda r: relu.get((r["width"], r["steps"])))
    rows.sort(key=lambda r: (r["series"], r["width"]))
    write_table(out, TABLES["width"], rows, width_fig.width_control,
                title="[P24] depth 100, 85% sparsity, against width (Adam 1e-4, batch 128, "
                      "cosine, clip 1; bundled MNIST)")
    return rows


def fit_boundary(x: np.ndarray, trains: np.ndarray) -> float:
    """The threshold ``c`` on ``x = L / ell_N`` that misclassifies fewest cells as
    ``trains = x < c`` (ties: the geometric middle of the gap)."""
    xs = np.sort(np.unique(x[np.isfinite(x)]))
    cands = np.concatenate([[xs[0] / 2], np.sqrt(xs[1:] * xs[:-1]), [xs[-1] * 2]])
    errors = [np.sum((x < c) != trains) for c in cands]
    return float(cands[int(np.argmin(errors))])


def phase(results: Path, out: Path) -> tuple[list[dict], dict]:
    rows = [r for size in ("cpu", "cpu-wide")
            for r in collect(sweep_path("p24_phase"), size, results)]
    # the width control's short-budget cells: the same schedule at width 1000, depth 100
    rows += collect(sweep_path("p24_width"), "cpu-short", results)
    rows = _with_predictions(_stored(rows, results, "p24_phase"))
    x = np.array([r["depth"] / r[DEPTH_SCALE_FW] for r in rows])
    trains = np.array([r[TEST_ACC] >= TRAINABLE for r in rows])
    fit = np.array([r["activation"] == "relu" for r in rows])
    c = fit_boundary(x[fit], trains[fit])
    test = ~fit
    # the same rule with the mean-field correlation depth scale ell_c instead of ell_N
    x_mf = np.array([r["depth"] / r[ELL_C] for r in rows])
    c_mf = fit_boundary(x_mf[fit], trains[fit])
    summary = {TRAINABLE_AT: TRAINABLE, C_FIT: c, FIT_ON: "relu",
               FIT_ERRORS: int(np.sum((x[fit] < c) != trains[fit])), FIT_CELLS: int(fit.sum()),
               TEST_ERRORS: int(np.sum((x[test] < c) != trains[test])),
               TEST_CELLS: int(test.sum()), C_FIT_MEAN_FIELD: c_mf,
               TEST_ERRORS_MEAN_FIELD: int(np.sum((x_mf[test] < c_mf) != trains[test]))}
    widths = np.geomspace(min(r["width"] for r in rows), max(r["width"] for r in rows), 12)
    boundary = {}
    for act in dict.fromkeys(r["activation"] for r in rows):
        p = next(r for r in rows if r["activation"] == act)
        pts = []
        for w in widths:
            ell = predictions({**p, "width": int(round(w)), "depth": 50})[DEPTH_SCALE_FW]
            pts.append((float(w), float(c * ell)))
        boundary[act] = pts
    for r, xi, f in zip(rows, x, fit):
        r.update(fit=bool(f), depth_over_ell_n=float(xi), predicted_trains=bool(xi < c),
                 trains=bool(r[TEST_ACC] >= TRAINABLE))
    write_table(out, TABLES["phase"], rows, width_fig.phase_diagram, c_fit=c, boundary=boundary,
           title=f"Trainability at 85% sparsity (V'=0.5), {rows[0]['steps']} steps: "
                 f"boundary fitted on ReLU, tested on CReLU/CST")
    (out / f"{TABLES['phase']}_fit.json").write_text(json.dumps(summary, indent=1) + "\n")
    return rows, summary


def clip(results: Path, out: Path) -> list[dict]:
    rows = _with_predictions(_stored(collect(sweep_path("p24_clip"), "cpu", results), results,
                                     "p24_clip"))
    p = rows[0]
    marks = [(derive("crelu", 0.85, vprime=v).m, f"V'(q*)={v}") for v in (0.5, 0.9)]
    best = _best_clip(p)
    marks.append((best["typical"], f"max typical gain (N={p['width']}, L={p['depth']})"))
    marks.append((best["robust"], "max typical - 1 sd"))
    bif = critical_m("crelu", p["sparsity"])["bifurcation"]
    write_table(out, TABLES["clip"], rows, width_fig.clip_sweep, marks=marks, bifurcation_m=bif,
           title=f"CReLU 85%, width {p['width']}, depth {p['depth']}, {p['steps']} steps")
    return rows


def _best_clip(p: dict) -> dict[str, float]:
    """The clips maximising the predicted typical (and one-sd-below-typical) end-to-end gain
    at the point's (N, L) (:func:`sparsefield.theory.finite_width.best_clip`)."""
    best = best_clip("crelu", p["sparsity"], width=int(p["width"]), depth=int(p["depth"]))
    return {k: best[k]["m"] for k in ("typical", "robust")}


def dt26_width(results: Path, out: Path) -> list[dict]:
    """[DT26] at width 300 and 90% sparsity through finite width: the ``depth50`` runs of
    ``sweeps/dt26_qstar.toml`` and the stored depth-20 and depth-100 rows of
    ``dt26_qstar.csv`` (same schedule), each with the prediction at its own depth."""
    rows = _stored(collect(sweep_path(PAPER_TABLES["dt26"]), "depth50", results), results,
                   PAPER_TABLES["dt26"])
    stored = out / f"{PAPER_TABLES['dt26']}.csv"
    if stored.exists():
        rows += stored_rows(stored, lambda r: "" if r["depth"] != "50" else None)
    for r in rows:
        fam = "fixed V'(q*)=0.7" if r[VPRIME_TARGET] else "fixed m=1.063"
        r["series"] = f"{fam}, depth {r['depth']}"
    # q* = 1 belongs to both families
    rows += [{**r, "series": f"fixed m=1.063, depth {r['depth']}"} for r in rows
             if r["q_star"] == 1.0]
    _with_predictions(rows)
    rows.sort(key=lambda r: (r["depth"], r["series"], r["q_star"]))
    write_table(out, TABLES["dt26w"], rows, width_fig.qstar_finite_width,
           title=f"[DT26] CReLU 90%, width 300, depth 20-100, {rows[0]['steps']} steps")
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--results", default="results", help="results root of the sweeps")
    ap.add_argument("--out", default="docs/results", help="output folder")
    ap.add_argument("--only", choices=tuple(TABLES), nargs="+", default=list(TABLES))
    args = ap.parse_args(argv)
    results, out = Path(args.results).resolve(), Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    run = {"width": width_control, "phase": lambda r, o: phase(r, o)[0], "clip": clip,
           "dt26w": dt26_width}
    for name in args.only:
        try:
            with style.output(formats=("png",)):
                rows = run[name](results, out)
        except ParameterError as err:
            print(f"width_results: error: {err}", file=sys.stderr)
            return 2
        for r in rows:
            print(f"{name:6s} {r['label']:45s} seeds {r['seeds']}  acc {r[TEST_ACC]:.3f}  "
                  f"log gain {r['log_gain_total_mean']:.2f} +- {r['log_gain_total_sd']:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
