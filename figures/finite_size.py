"""The finite-width gain against ``1/N``: theory lines (:mod:`sparsefield.theory.finite_width`)
and simulated networks with standard errors (:mod:`sparsefield.numerics.finite_size`).
Drawing only: the records come from :func:`sparsefield.numerics.finite_size.figure_data`."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from . import style


def gain_vs_width(data: dict, out: str | Path, name: str = "finite_width_gain") -> list[Path]:
    """Two rows over ``1/N``: the typical log gain per layer
    ``E[log |g^l|^2/|g^{l+1}|^2]`` and its variance per layer; one column per activation.
    Mean field is the point ``1/N = 0`` (``log chi_1``, no spread).

    ``data``: ``depth``, ``curves`` (one per subplot) of ``activation``, ``theory`` (``inv_width``,
    ``log_gain_per_layer``, ``log_gain_sd_per_layer``: lists) and ``points`` (``width``,
    ``quantity``, ``estimate``, ``stderr``, ``n_networks``).
    """
    curves = data["curves"]
    fig, axes = style.subplots(2, len(curves), width=2.7, height=2.3, squeeze=False)
    for j, p in enumerate(curves):
        c = style.color(p["activation"])
        th = p["theory"]
        x = np.asarray(th["inv_width"], float)
        sd = np.asarray(th["log_gain_sd_per_layer"], float)
        axes[0][j].plot(x, th["log_gain_per_layer"], label="theory", **style.THEORY)
        axes[1][j].plot(x, sd * sd, label="theory", **style.THEORY)
        for row, key in ((0, "log_gain_per_layer"), (1, "log_gain_sd_per_layer")):
            pts = [q for q in p["points"] if q["quantity"] == key]
            if not pts:
                continue
            xs = np.array([1.0 / q["width"] for q in pts])
            est = np.array([q["estimate"] for q in pts])
            se = np.array([q["stderr"] for q in pts])
            y, err = (est, se) if row == 0 else (est * est, 2 * est * se)
            n = pts[0]["n_networks"]
            axes[row][j].errorbar(xs, y, yerr=err, color=c, marker="o", ms=4, lw=0,
                                  elinewidth=1.2, label=f"{n} networks / width")
        axes[0][j].set_title(style.label(p["activation"]), fontsize=9)
        axes[0][j].axhline(0.0, color="0.7", lw=0.6)
        axes[1][j].set_xlabel("$1/N$")
    axes[0][0].set_ylabel("log gain per layer")
    axes[1][0].set_ylabel("variance per layer")
    axes[0][0].legend(loc="lower left")
    fig.suptitle(f"Typical gain per layer vs 1/N\ndepth {data['depth']}", fontsize=9)
    return style.save(fig, out, name)
