"""Mean-field figures: the variance map against the identity, ``V'(q*)`` and ``V''(q*)``
against the clip, the (sparsity, m) stability diagram, the bifurcation, edge-of-chaos
curves and sparsity against ``tau`` ([P24], [DT26], Poole et al. 2016).

Each function takes stored results (see :mod:`sparsefield.theory.curves` for the theory dicts and
:mod:`sparsefield.report` for the Monte Carlo ones) and an output folder, and returns the
written paths.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import NullFormatter

from sparsefield.results.names import PART_EOC_CURVES, PART_VARIANCE_MAPS, VPRIME_TARGET

from . import style


def _arr(v) -> np.ndarray:
    return np.asarray([np.nan if x is None else x for x in v], float)


def variance_maps(curves: dict, out: str | Path, mc: dict | None = None,
                  name: str = PART_VARIANCE_MAPS) -> list[Path]:
    """``V(q)`` on the edge of chaos (``q* = 1``) per family and sparsity, with the identity
    and, when given, Monte Carlo estimates ``sigma_w^2 mean(phi(sqrt(q) z)^2) + sigma_b^2``
    with 2-standard-error bars."""
    q = np.asarray(curves["q"])
    rows = curves["curves"]
    families = list(dict.fromkeys(p["activation"] for p in rows))
    sparsities = sorted({p["sparsity"] for p in rows})
    colors = dict(zip(sparsities, style.sequential(len(sparsities))))
    fig, axes = style.subplots(1, len(families), width=2.6, height=2.5, sharey=True)
    points = (mc or {}).get("points", [])
    for ax, fam in zip(axes[0], families):
        ax.plot(q, q, color="0.5", lw=1.0, ls=":", label="identity")
        for p in (p for p in rows if p["activation"] == fam):
            c = colors[p["sparsity"]]
            ax.plot(q, p["V"], color=c, label=f"s={p['sparsity']:g}")
            for pt in points:
                if pt["activation"] == fam and np.isclose(pt["sparsity"], p["sparsity"]):
                    ax.errorbar(pt["q"], pt["V"], yerr=2 * np.asarray(pt["V_se"]), color=c,
                                **style.MEASURED)
        ax.plot([1.0], [1.0], "k*", ms=7, zorder=5)
        clipped = any(p["m"] for p in rows if p["activation"] == fam)
        sub = rf", $V'(q^*)={curves[VPRIME_TARGET]:g}$" if clipped else r", $V'(q^*)=1$"
        ax.set_title(style.label(fam) + sub)
        ax.set_xlabel("$q$")
        ax.set_xlim(0, q[-1])
        ax.set_ylim(0, 1.6 * q[-1])
    axes[0][0].set_ylabel("$V(q)$")
    handles, labels = axes[0][0].get_legend_handles_labels()
    if points:
        handles.append(axes[0][0].errorbar([], [], yerr=[], color="0.3", **style.MEASURED))
        labels.append(f"Monte Carlo ({mc.get('source', 'MC')}, $\\pm 2$ s.e.)")
    fig.legend(handles, labels, loc="outside lower center", ncol=len(labels))
    fig.suptitle(r"Variance map on the edge of chaos ($\chi_1=1$, $q^*=1$ marked $\star$)")
    return style.save(fig, out, name)


def vprime_curves(curves: dict, out: str | Path, name: str = "vprime_vs_m") -> list[Path]:
    """``V'(q*)`` (top) and ``V''(q*)`` (bottom) on the edge of chaos against the clip ``m``,
    with the clips solving each target (circles), ``m(V''=0)`` (crosses) and the
    bifurcation clip (triangles) [P24]."""
    m = np.asarray(curves["m"])
    fams = curves["families"]
    fig, axes = style.subplots(2, len(fams), width=3.3, height=2.4, sharex=True)
    for j, (fam, d) in enumerate(fams.items()):
        colors = style.sequential(len(d["sparsities"]))
        top, bottom = axes[0][j], axes[1][j]
        for i, s in enumerate(d["sparsities"]):
            c = colors[i]
            v1, v2 = np.asarray(d["vprime"][i]), np.asarray(d["vsecond"][i])
            top.plot(m, v1, color=c, label=f"s={s:g}")
            bottom.plot(m, v2, color=c)
            for t, mt in zip(curves["targets"], d["target_m"][i]):
                top.plot(mt, t, "o", color=c, ms=4)
            crit = d["critical"][i]
            if crit["vsecond_zero"] is not None:
                bottom.plot(crit["vsecond_zero"], 0.0, "x", color=c, ms=6, mew=1.5)
            if crit["bifurcation"] is not None:
                mb = crit["bifurcation"]
                bottom.plot(mb, np.interp(np.log(mb), np.log(m), v2), "^", color=c, ms=5)
                top.plot(mb, np.interp(np.log(mb), np.log(m), v1), "^", color=c, ms=5)
        for t in curves["targets"]:
            top.axhline(t, color="0.6", lw=0.8, ls=":")
        bottom.axhline(0.0, color="0.4", lw=0.8)
        top.set_title(style.label(fam))
        top.set_ylim(0, 1.05)
        bottom.set_xscale("log")
        bottom.set_xlabel("clip $m$ ($q^*=1$)")
    axes[0][0].set_ylabel("$V'(q^*)$")
    axes[1][0].set_ylabel("$V''(q^*)$")
    marks = [Line2D([], [], marker="o", ls="none", color="0.3", label="derived $m$ for target"),
             Line2D([], [], marker="x", ls="none", color="0.3", label="$V''(q^*)=0$"),
             Line2D([], [], marker="^", ls="none", color="0.3", label="bifurcation")]
    axes[0][0].legend(loc="lower right")
    fig.legend(handles=marks, loc="outside lower center", ncol=len(marks))  # off the curves
    fig.suptitle(r"Slope and curvature of $V$ at $q^*$ on the edge of chaos vs the clip")
    return style.save(fig, out, name)


def stability_diagram(grid: dict, out: str | Path, default: dict | None = None,
                      name: str = "stability_diagram") -> list[Path]:
    """The (sparsity, m) plane: filled contours of ``V'(q*)``, the ``V''(q*) = 0`` line, the
    clips of each target, and the bifurcation region (hatched) [P24]."""
    s, m = np.asarray(grid["sparsity"]), np.asarray(grid["m"])
    fams = grid["families"]
    fig, axes = style.subplots(1, len(fams), width=3.4, height=2.9, sharey=True)
    levels = np.linspace(0, 1, 11)
    cs = None
    for ax, (fam, d) in zip(axes[0], fams.items()):
        cs = ax.contourf(s, m, np.asarray(d["vprime"]).T, levels=levels, cmap="Blues_r")
        ax.contour(s, m, np.asarray(d["vsecond"]).T, levels=[0.0], colors="k", linewidths=1.5)
        bif = _arr(d["bifurcation"])
        ok = np.isfinite(bif)
        ax.fill_between(s[ok], bif[ok], m[-1], facecolor="none", edgecolor="#d62728",
                        hatch="////", lw=0.0)
        ax.plot(s[ok], bif[ok], color="#d62728", lw=1.5)
        for k, t in enumerate(grid["targets"]):
            ax.plot(s, np.asarray(d["target_m"])[:, k], color="#ff7f0e", ls="--", lw=1.2)
            ax.annotate(f"$V'={t:g}$", (s[0], np.asarray(d["target_m"])[0, k]),
                        xytext=(2, 2), textcoords="offset points", fontsize=7, color="k",
                        bbox={"boxstyle": "round,pad=0.15", "fc": "#ffe8cc", "ec": "none"})
        if default and default["activation"] == fam:
            ax.plot(default["sparsity"], default["m"], "*", color="#ffdd00", mec="k", ms=11)
        ax.set_yscale("log")
        ax.set_ylim(m[0], m[-1])
        ax.grid(False)
        ax.set_title(style.label(fam))
        ax.set_xlabel("sparsity $s$")
    axes[0][0].set_ylabel("clip $m$ ($q^*=1$)")
    handles = [Line2D([], [], color="k", label="$V''(q^*)=0$ ($V''<0$ below and left)"),
               Patch(facecolor="none", edgecolor="#d62728", hatch="////",
                     label="bifurcation: extra fixed points"),
               Line2D([], [], color="#ff7f0e", ls="--", label="derived $m$ for target $V'$")]
    if default:
        handles.append(Line2D([], [], marker="*", ls="none", color="#ffdd00", mec="k", ms=9,
                              label="default init"))
    fig.colorbar(cs, ax=axes[0].tolist(), label="$V'(q^*)$", shrink=0.9)
    fig.legend(handles=handles, loc="outside lower center", ncol=2)
    fig.suptitle("Stability on the edge of chaos")
    return style.save(fig, out, name)


BIFURCATION_LABELS = {"derived": "derived", "vsecond_zero": "$V''(q^*)=0$",
                      "between": "between", "beyond": "beyond bifurcation"}


def bifurcation(data: dict, out: str | Path, name: str = "bifurcation") -> list[Path]:
    """``V(q) - q`` on the edge of chaos for clips below, between and beyond the critical
    clips; filled markers are stable fixed points, open ones unstable [P24]."""
    fig, axes = style.subplots(1, 1, width=5.6, height=3.5)
    ax = axes[0][0]
    colors = style.sequential(len(data["lines"]), "plasma")
    top = max(max(line["gap"]) for line in data["lines"])
    low = -max(1.0, 2 * top)
    q_right = 0.0
    for c, line in zip(colors, data["lines"]):
        q, gap = np.asarray(line["q"]), np.asarray(line["gap"])
        text = BIFURCATION_LABELS.get(line["label"], line["label"])
        ax.plot(q, gap, color=c,
                label=f"$m={line['m']:.3g}$: {text} ($V'(q^*)={line['vprime']:.2f}$)")
        q_right = max(q_right, float(q[gap >= low].max()))
        for fp in line["fixed_points"]:
            filled = fp["stability"] == "stable"
            ax.plot(fp["q"], 0.0, "o", color=c, ms=6, mfc=c if filled else "white", mew=1.3,
                    zorder=5)
    ax.axhline(0.0, color="0.4", lw=0.8)
    ax.set_xscale("log")
    ax.set_ylim(low, max(0.5, 1.5 * top))
    ax.set_xlim(right=1.3 * q_right)
    ax.set_xlabel("$q$")
    ax.set_ylabel("$V(q) - q$")
    ax.set_title(f"{style.label(data['activation'])}, $s={data['sparsity']:g}$: fixed points\n"
                 "(filled: stable, open: unstable)")
    fig.legend(loc="outside lower center", ncol=2, fontsize=7)  # below: off the curves
    return style.save(fig, out, name)


def eoc_curves(curves: dict, out: str | Path, name: str = PART_EOC_CURVES) -> list[Path]:
    """Edge-of-chaos curves in the (sigma_w^2, sigma_b^2) plane as ``q*`` varies; the
    point ``q* = 1`` is marked."""
    qs = np.asarray(curves["q_star"])
    fams = curves["families"]
    fig, axes = style.subplots(1, len(fams), width=2.5, height=2.4)
    i1 = int(np.argmin(np.abs(np.log(qs))))
    for ax, (fam, lines) in zip(axes[0], fams.items()):
        colors = style.sequential(len(lines), "plasma")
        for c, line in zip(colors, lines):
            w, b = _arr(line["sigma_w2"]), _arr(line["sigma_b2"])
            params = ", ".join(f"{k}={v:g}" for k, v in line["params"].items())
            lab = style.label(line["activation"]) if fam == "smooth" else params
            ax.plot(w, b, color=c, label=lab)
            if np.isfinite(w[i1]):
                ax.plot(w[i1], b[i1], "o", color=c, ms=4)
        if fam != "smooth":
            ax.set_xscale("log")
            ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_title("smooth" if fam == "smooth" else style.label(fam))
        ax.set_xlabel(r"$\sigma_w^2$")
        ax.legend(loc="best", fontsize=6.5)  # the least data under it
    axes[0][0].set_ylabel(r"$\sigma_b^2$")
    fig.suptitle(rf"Edge of chaos, $q^*$ from {qs[0]:g} to {qs[-1]:g} (dots: $q^*=1$)")
    return style.save(fig, out, name)


CLOUD = 30  # sources with more points than this are drawn as a light cloud


def sparsity_vs_tau(curves: dict, out: str | Path, measured: list[dict] | None = None,
                    name: str = "sparsity_vs_tau") -> list[Path]:
    """Exact-zero sparsity at initialisation against ``tau/sqrt(q)``: ``Phi(t)`` (one-sided)
    and ``2 Phi(t) - 1`` (two-sided) with measured points (``kind``, ``tau``, ``s``, ``se``,
    ``source``) [P24]."""
    tau = np.asarray(curves["tau"])
    fig, axes = style.subplots(1, 1, width=4.0, height=2.9)
    ax = axes[0][0]
    kinds = {"one_sided": (r"$\Phi(\tau/\sqrt{q})$: ReLU$_\tau$, CReLU", "#1f77b4"),
             "two_sided": (r"$2\Phi(\tau/\sqrt{q})-1$: ST, CST", "#2ca02c")}
    for kind, (lab, c) in kinds.items():
        ax.plot(tau, curves[kind], color=c, label=lab)
    markers = ["o", "s", "D", "^", "v"]
    sources = list(dict.fromkeys(p["source"] for p in measured or []))
    for k, src in enumerate(sources):
        mark = {**style.MEASURED, "marker": markers[k % len(markers)]}
        for kind, (_, c) in kinds.items():
            pts = [p for p in measured if p["source"] == src and p["kind"] == kind]
            if len(pts) > CLOUD:
                ax.plot([p["tau"] for p in pts], [p["s"] for p in pts], color=c, alpha=0.35,
                        **{**mark, "ms": 2.5, "mfc": c, "mew": 0})
            elif pts:
                ax.errorbar([p["tau"] for p in pts], [p["s"] for p in pts],
                            yerr=[2 * (p.get("se") or 0.0) for p in pts], color=c, **mark)
        ax.plot([], [], color="0.3", **mark, label=src)
    ax.set_xlim(0, tau[-1])
    ax.set_xlabel(r"$\tau/\sqrt{q}$")
    ax.set_ylabel("fraction of exact zeros")
    ax.set_ylim(0, 1.02)
    ax.legend(loc="lower right")
    ax.set_title("Sparsity at initialisation")
    return style.save(fig, out, name)
