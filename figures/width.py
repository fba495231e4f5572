"""Width experiments against the finite-width theory: the width control at depth 100, the
trainability phase diagram over depth x width, accuracy against the clip, and [DT26]'s
``q*`` through finite width.  Draws rows written by :mod:`sparsefield.width_results`."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sparsefield.results.names import BIFURCATION_M, C_FIT, DEPTH_SCALE_FW, TEST_ACC

from . import style
from .depth import acc_points
from .experiments import group_by


def width_control(rows: list[dict], out: str | Path, name: str) -> list[Path]:
    """Left: final test accuracy against width per series (mean +- s.e.m., seeds as dots).
    Right: the predicted typical end-to-end log gain ``E[log |v^L|^2/|v^0|^2]`` at each
    width (+- its standard deviation over networks), the finite-width theory's number.

    ``rows``: ``series``, ``activation``, ``width``, ``test_acc``, ``test_acc_sem``,
    ``test_acc_seeds``, ``log_gain_total_mean``, ``log_gain_total_sd``; ``chance``, ``title``."""
    fig, axes = style.subplots(1, 2, width=3.6, height=3.0)
    series = group_by(rows, lambda r: r["series"])
    for i, (sname, rs) in enumerate(series.items()):
        rs = sorted(rs, key=lambda r: r["width"])
        c, mk = style.color(rs[0]["activation"]), "osD^v"[i % 5]
        ws = [r["width"] for r in rs]
        done = [r for r in rs if r["seeds"]]
        if done:
            acc_points(axes[0][0], [r["width"] for r in done], done, c, mk, label=sname)
            axes[0][0].plot([r["width"] for r in done], [r[TEST_ACC] for r in done], color=c,
                            lw=0.8, alpha=0.7)
        mean = np.array([r["log_gain_total_mean"] for r in rs], float)
        sd = np.array([r["log_gain_total_sd"] for r in rs], float)
        axes[0][1].errorbar(ws, mean, yerr=sd, color=c, marker=mk, ms=4, lw=0.8, capsize=2,
                            label=sname)
    axes[0][0].axhline(rows[0]["chance"], color="0.6", lw=0.8, ls="--", label="chance")
    for ax in axes[0]:
        ax.set_xscale("log")
        ax.set_xlabel("width $N$")
        ax.set_xticks(sorted({r["width"] for r in rows}),
                      [str(w) for w in sorted({r["width"] for r in rows})])
        ax.minorticks_off()
    axes[0][0].set_ylim(0, 1)
    axes[0][0].set_ylabel("final test accuracy")
    axes[0][0].set_title("trained, depth 100", fontsize=9)
    axes[0][0].legend(loc="upper left", fontsize=6, ncol=2)
    axes[0][0].set_ylim(0, 1.15)
    axes[0][1].axhline(0, color="0.6", lw=0.8)
    axes[0][1].set_ylabel("predicted $E\\log(|v^L|^2/|v^0|^2)$ $\\pm$ sd")
    axes[0][1].set_title("finite-width theory at init", fontsize=9)
    axes[0][1].legend(loc="lower right", fontsize=6)
    fig.suptitle(rows[0].get("title", ""), fontsize=9)
    return style.save(fig, out, name)


def phase_diagram(rows: list[dict], out: str | Path, name: str) -> list[Path]:
    """One subplot per activation: final test accuracy over (width, depth) as coloured cells,
    and the predicted trainable boundary ``L = c ell_N`` (``ell_N`` the finite-width depth
    scale at width ``N``, ``c`` fitted once); last subplot: accuracy against ``L / ell_N`` for
    every cell (the collapse the theory predicts), cells used for the fit filled.

    ``rows``: ``activation``, ``short``, ``width``, ``depth``, ``test_acc``, ``depth_scale_fw``,
    ``fit`` (bool); ``c_fit``, ``boundary`` (``{activation: [(width, depth), ...]}``),
    ``chance``, ``title``."""
    acts = list(dict.fromkeys(r["activation"] for r in rows))
    fig, axes = style.subplots(1, len(acts) + 1, width=2.9, height=2.9)
    widths = sorted({r["width"] for r in rows})
    depths = sorted({r["depth"] for r in rows})
    image = None
    for ax, act in zip(axes[0], acts):
        grid = np.full((len(depths), len(widths)), np.nan)
        for r in rows:
            if r["activation"] == act and r["seeds"]:
                grid[depths.index(r["depth"]), widths.index(r["width"])] = r[TEST_ACC]
        image = ax.imshow(grid, origin="lower", cmap="viridis", vmin=0.1, vmax=1.0, aspect="auto")
        ax.grid(False)
        for (i, j), v in np.ndenumerate(grid):
            if np.isfinite(v):
                ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=6.5,
                        color="w" if v < 0.6 else "k")
        bw, bd = zip(*rows[0]["boundary"][act])
        xs = np.interp(np.log(bw), np.log(widths), np.arange(len(widths)))
        ys = np.interp(np.log(bd), np.log(depths), np.arange(len(depths)), left=-0.5,
                       right=len(depths) - 0.5)
        ax.plot(xs, ys, color="r", lw=1.5, label=f"$L = {rows[0][C_FIT]:.2g}\\,\\ell_N$")
        ax.set_xticks(range(len(widths)), [str(w) for w in widths])
        ax.set_yticks(range(len(depths)), [str(d) for d in depths])
        ax.set_xlim(-0.5, len(widths) - 0.5)
        ax.set_ylim(-0.5, len(depths) - 0.5)
        ax.set_xlabel("width $N$")
        ax.set_title(style.label(act), fontsize=9)
        ax.legend(loc="upper left", fontsize=6)
    axes[0][0].set_ylabel("depth $L$")
    if image is not None:
        fig.colorbar(image, ax=axes[0][len(acts) - 1], fraction=0.05, label="test accuracy")
    ax = axes[0][-1]
    for act in acts:
        rs = [r for r in rows if r["activation"] == act and r["seeds"]]
        x = [r["depth"] / r[DEPTH_SCALE_FW] for r in rs]
        for xi, r in zip(x, rs):
            ax.plot(xi, r[TEST_ACC], "o", ms=4, color=style.color(act),
                    mfc=style.color(act) if r["fit"] else "white")
        ax.plot([], [], "o", color=style.color(act), label=style.label(act))
    ax.axvline(rows[0][C_FIT], color="r", lw=1, ls="--", label="fitted boundary")
    ax.axhline(rows[0]["chance"], color="0.6", lw=0.8, ls=":")
    ax.set_xscale("log")
    ax.set_xlabel("$L / \\ell_N$ (finite-width depth scale)")
    ax.set_ylabel("final test accuracy")
    ax.set_ylim(0, 1)
    ax.set_title("collapse (filled: fit)", fontsize=9)
    ax.legend(loc="lower left", fontsize=6)
    fig.suptitle(rows[0].get("title", ""), fontsize=9)
    return style.save(fig, out, name)


def clip_sweep(rows: list[dict], out: str | Path, name: str) -> list[Path]:
    """Final test accuracy against the clip ``m`` (mean +- s.e.m., seeds as dots), with the
    clips the theory names as vertical lines (``marks``: ``[(m, label), ...]``), the
    region past the bifurcation clip shaded, and below it the predicted typical
    end-to-end log gain (+- sd) on a second axis.

    ``rows``: ``m``, ``activation``, ``test_acc`` ..., ``log_gain_total_mean``,
    ``log_gain_total_sd``; ``marks``, ``bifurcation_m``, ``chance``, ``title``."""
    fig, axes = style.subplots(1, 1, width=5.6, height=3.4)
    ax = axes[0][0]
    rows = sorted(rows, key=lambda r: r["m"])
    done = [r for r in rows if r["seeds"]]
    c = style.color(rows[0]["activation"])
    acc_points(ax, [r["m"] for r in done], done, c, label="trained")
    ax.plot([r["m"] for r in done], [r[TEST_ACC] for r in done], color=c, lw=0.8)
    for i, (m, label) in enumerate(rows[0]["marks"]):
        ax.axvline(m, color=f"C{i + 1}", lw=1.2, ls="--", label=f"{label}: m={m:.2f}")
    bif = rows[0][BIFURCATION_M]
    ax.axvspan(bif, max(r["m"] for r in rows) * 1.05, color="0.85", zorder=0,
               label=f"past the bifurcation (m > {bif:.2f})")
    ax.axhline(rows[0]["chance"], color="0.6", lw=0.8, ls=":")
    ax.set_xlabel("clip $m$")
    ax.set_ylabel("final test accuracy")
    ax.set_ylim(0, 1)
    twin = ax.twinx()
    below = [r for r in rows if r["m"] < bif]
    twin.errorbar([r["m"] for r in below], [r["log_gain_total_mean"] for r in below],
                  yerr=[r["log_gain_total_sd"] for r in below], color="0.5", lw=1, marker="x",
                  ms=3, capsize=2)
    twin.set_ylabel("predicted $E\\log$ end-to-end gain $\\pm$ sd", color="0.4")
    ax.legend(loc="upper left", bbox_to_anchor=(1.15, 1.0), fontsize=6.5)
    ax.set_title(rows[0].get("title", ""), fontsize=9)
    return style.save(fig, out, name)


def qstar_finite_width(rows: list[dict], out: str | Path, name: str) -> list[Path]:
    """[DT26] through finite width. Left: final test accuracy against ``q*`` per series
    (family and depth). Right: the predicted active fraction ``p`` (dashed) and typical
    end-to-end log gain per series against ``q*``.

    ``rows``: ``series``, ``q_star``, ``test_acc`` ..., ``active_fraction``,
    ``log_gain_total_mean``; ``chance``, ``title``."""
    fig, axes = style.subplots(1, 2, width=3.6, height=3.0)
    series = group_by(rows, lambda r: r["series"])
    for i, (sname, rs) in enumerate(series.items()):
        rs = sorted(rs, key=lambda r: r["q_star"])
        c = f"C{i}"
        done = [r for r in rs if r["seeds"]]
        if done:
            acc_points(axes[0][0], [r["q_star"] for r in done], done, c, label=sname)
            axes[0][0].plot([r["q_star"] for r in done], [r[TEST_ACC] for r in done], color=c,
                            lw=0.8)
        axes[0][1].plot([r["q_star"] for r in rs], [r["log_gain_total_mean"] for r in rs],
                        color=c, marker="o", ms=3, label=sname)
    axes[0][0].axhline(rows[0]["chance"], color="0.6", lw=0.8, ls="--")
    axes[0][0].set_ylim(0, 1)
    axes[0][0].set_ylabel("final test accuracy")
    axes[0][0].legend(loc="upper right", fontsize=6)
    axes[0][1].set_ylabel("predicted $E\\log$ end-to-end gain")
    for ax in axes[0]:
        ax.set_xscale("log")
        ax.set_xlabel("$q^*$")
        ax.set_xticks([1, 3, 10], ["1", "3", "10"])
        ax.minorticks_off()
    fig.suptitle(rows[0].get("title", ""), fontsize=9)
    return style.save(fig, out, name)
