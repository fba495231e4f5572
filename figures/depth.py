"""``q^l`` over depth: the infinite-width map ``q^{l+1} = V(q^l)`` against finite-width random
networks (median and spread over networks): unclipped thresholds explode, clipped ones stay
at ``q*`` [P24]."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.ticker import NullFormatter

from sparsefield.results.names import (
    ELL_C,
    ONE_MINUS_RHO,
    PAPER_ACC,
    PAPER_SD,
    PAPER_TABLES,
    TEST_ACC,
    seeds_key,
    sem_key,
)

from . import style


def q_over_depth(data: dict, out: str | Path, name: str = "q_over_depth") -> list[Path]:
    """One subplot per activation: theory ``q^l`` (dashed), the median over networks of the
    finite-width ``q^l`` and the band between the stored quantiles; log scale for
    unclipped activations (they explode), linear around ``q*`` for clipped ones.

    ``data``: ``width``, ``n_networks``, ``curves`` (one per subplot) of ``activation``, ``sparsity``, ``m``,
    ``theory``, ``median``, ``lo``, ``hi`` (lists over layers ``0..depth``), ``quantiles``.
    """
    curves = data["curves"]
    fig, axes = style.subplots(1, len(curves), width=2.7, height=2.5)
    for ax, p in zip(axes[0], curves):
        layers = np.arange(len(p["median"]))
        c = style.color(p["activation"])
        lo, hi = np.asarray(p["lo"], float), np.asarray(p["hi"], float)
        q_lo, q_hi = (int(100 * x) for x in p["quantiles"])
        ax.fill_between(layers, lo, hi, color=c, alpha=0.25, lw=0,
                        label=f"{q_lo}-{q_hi}% of networks")
        ax.plot(layers, p["median"], color=c, label=f"median, width {data['width']}")
        ax.plot(np.arange(len(p["theory"])), p["theory"], label="mean field", **style.THEORY)
        if p.get("m"):
            ax.set_ylim(0, max(2.0, 1.2 * float(np.nanmax(hi))))
        else:
            ax.set_yscale("log")
            ax.set_ylim(bottom=0.3)
        ax.set_xlabel("layer $l$")
        extra = f", $m={p['m']:.3g}$" if p.get("m") else ""
        ax.set_title(f"{style.label(p['activation'])}, $s={p['sparsity']:g}${extra}", fontsize=9)
    fig.legend(*axes[0][0].get_legend_handles_labels(), loc="outside lower center", ncol=3)
    axes[0][0].set_ylabel("$q^l$ (mean $h^2$ of one input)")
    sep = " " if len(data["curves"]) > 2 else "\n"  # two subplots: too narrow for one line
    fig.suptitle(f"Variance over depth on the edge of chaos:{sep}theory vs {data['n_networks']} "
                 f"random networks per activation")
    return style.save(fig, out, name)


def acc_points(ax, xs, rows, color, marker="o", label=None) -> None:
    """Mean +- s.e.m. over seeds, and each seed as a small dot."""
    ax.errorbar(xs, [r[TEST_ACC] for r in rows], yerr=[r[sem_key(TEST_ACC)] for r in rows],
                color=color, marker=marker, ms=4, lw=0, elinewidth=1.2, label=label)
    for x, r in zip(xs, rows):
        seeds = r[seeds_key(TEST_ACC)]
        ax.plot([x] * len(seeds), seeds, ".", color=color, ms=3, alpha=0.6)


def p24_table(rows: list[dict], out: str | Path, name: str = PAPER_TABLES["p24"]) -> list[Path]:
    """Final test accuracy per [P24] point (mean +- s.e.m., seeds as dots) against the ReLU
    baseline and chance; [P24]'s reported numbers as open diamonds where it gives one.

    ``rows``: ``short`` (tick label), ``activation``, ``test_acc``, ``test_acc_sem``, ``test_acc_seeds``,
    ``paper_acc`` (or ``None``), ``paper_sd``, ``chance``, and ``title``."""
    fig, axes = style.subplots(1, 1, width=max(4.5, 0.55 * len(rows) + 1.5), height=3.2)
    ax = axes[0][0]
    xs = np.arange(len(rows))
    for x, r in zip(xs, rows):
        acc_points(ax, [x], [r], style.color(r["activation"]))
        if r.get(PAPER_ACC) is not None:
            ax.errorbar([x + 0.25], [r[PAPER_ACC]], yerr=[r.get(PAPER_SD) or 0.0],
                        marker="D", ms=4, mfc="white", color="k", lw=0, elinewidth=0.8)
    base = [r for r in rows if r["activation"] == "relu"]
    if base:
        ax.axhline(base[0][TEST_ACC], color=style.color("relu"), lw=0.8, ls=":",
                   label=f"ReLU baseline {base[0][TEST_ACC]:.3f}")
    ax.axhline(rows[0]["chance"], color="0.6", lw=0.8, ls="--", label="chance")
    ax.plot([], [], "D", mfc="white", color="k", ms=4, label="[P24] reported")
    ax.set_xticks(xs, [r["short"] for r in rows], rotation=35, ha="right", fontsize=7)
    ax.set_ylabel("final test accuracy")
    ax.set_ylim(0, 1)
    ax.set_title(rows[0].get("title", ""), fontsize=9)
    ax.legend(loc="upper center", fontsize=6.5)
    return style.save(fig, out, name)


def depth_sweep(rows: list[dict], out: str | Path, name: str = PAPER_TABLES["depth"]) -> list[Path]:
    """Left: final test accuracy against depth per activation (fixed training budget).
    Middle: the mean-field prediction for the same points, ``1 - rho^L`` of two orthogonal
    inputs on the edge of chaos, ``(1 + K L / 2)^{-2}`` (theory.depth_scale), log scale.
    Right: accuracy against ``L / ell_c`` (open markers: ``unstable`` rows, the unclipped
    thresholds whose ``q*`` attracts only from below).

    ``rows``: ``series``, ``activation``, ``depth``, ``test_acc``, ``test_acc_sem``,
    ``test_acc_seeds``, ``one_minus_rho``, ``ell_c`` and ``unstable``; ``chance``."""
    fig, axes = style.subplots(1, 3, width=3.4, height=2.9)
    series: dict[str, list[dict]] = {}
    for r in rows:
        series.setdefault(r["series"], []).append(r)
    markers = "osD^vP*X"
    for i, (sname, rs) in enumerate(series.items()):
        rs = sorted(rs, key=lambda r: r["depth"])
        c, mk = style.color(rs[0]["activation"]), markers[i % len(markers)]
        depths = [r["depth"] for r in rs]
        acc_points(axes[0][0], depths, rs, c, mk, label=sname)
        axes[0][0].plot(depths, [r[TEST_ACC] for r in rs], color=c, lw=0.8, alpha=0.7)
        axes[0][1].plot(depths, [r[ONE_MINUS_RHO] for r in rs], color=c, marker=mk, ms=3.5,
                        label=f"{sname}: $\\ell_c$={rs[0][ELL_C]:.2g}")
        ratio = [r["depth"] / r[ELL_C] for r in rs]
        axes[0][2].errorbar(ratio, [r[TEST_ACC] for r in rs],
                            yerr=[r[sem_key(TEST_ACC)] for r in rs], color=c, marker=mk, ms=4,
                            mfc="white" if rs[0].get("unstable") else c, lw=0.8)
    axes[0][0].axhline(rows[0]["chance"], color="0.6", lw=0.8, ls="--")
    axes[0][0].set_xscale("log")
    axes[0][0].set_xlabel("depth $L$")
    axes[0][0].set_ylabel("final test accuracy")
    axes[0][0].set_ylim(0, 1)
    axes[0][0].legend(loc="lower left", fontsize=6.5)
    axes[0][0].set_title("trained (fixed budget)", fontsize=9)
    axes[0][1].set_xscale("log")
    axes[0][1].set_yscale("log")
    axes[0][1].set_xlabel("depth $L$")
    axes[0][1].set_ylabel(r"$1-\rho^L$ (orthogonal inputs)")
    axes[0][1].legend(loc="lower left", fontsize=6.5)
    axes[0][1].set_title(r"mean field: $1-\rho^L \approx (\ell_c/L)^2$", fontsize=9)
    axes[0][2].axhline(rows[0]["chance"], color="0.6", lw=0.8, ls="--")
    axes[0][2].set_xscale("log")
    axes[0][2].xaxis.set_minor_formatter(NullFormatter())
    axes[0][2].set_ylim(0, 1)
    axes[0][2].set_xlabel(r"$L / \ell_c$")
    axes[0][2].set_ylabel("final test accuracy")
    axes[0][2].set_title("against the depth scale (open: unstable $q^*$)", fontsize=9)
    return style.save(fig, out, name)


def qstar_sweep(rows: list[dict], out: str | Path, name: str = PAPER_TABLES["dt26"]) -> list[Path]:
    """[DT26]: final test accuracy against the fixed point ``q*``, one line per family
    (fixed ``V'(q*)`` = fixed ``m/sqrt(q*)``, and fixed ``m``).

    ``rows``: ``series``, ``q_star``, ``test_acc``, ``test_acc_sem``, ``test_acc_seeds``;
    ``chance``, ``title``."""
    fig, axes = style.subplots(1, 1, width=5.0, height=3.2)
    ax = axes[0][0]
    series: dict[str, list[dict]] = {}
    for r in rows:
        series.setdefault(r["series"], []).append(r)
    for i, (sname, rs) in enumerate(series.items()):
        rs = sorted(rs, key=lambda r: r["q_star"])
        c = style.sequential(len(series) + 1)[i]
        qs = [r["q_star"] for r in rs]
        ls = "-" if "V'" in sname else "--"
        acc_points(ax, qs, rs, c, "os"[i % 2], label=sname)
        ax.plot(qs, [r[TEST_ACC] for r in rs], color=c, lw=0.8, ls=ls)
    ax.axhline(rows[0]["chance"], color="0.6", lw=0.8, ls="--", label="chance")
    ax.set_xscale("log")
    ax.set_xlabel("fixed point $q^*$")
    ax.set_ylabel("final test accuracy")
    ax.set_ylim(0, 1)
    ax.set_title(rows[0].get("title", ""), fontsize=9)
    ax.legend(loc="lower left", bbox_to_anchor=(0.02, 0.14), fontsize=6.5)
    return style.save(fig, out, name)
