"""``q^l`` over depth: the infinite-width map ``q^{l+1} = V(q^l)`` against finite-width random
networks (median and spread over networks): unclipped thresholds explode, clipped ones stay
at ``q*`` [P24]."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from . import style


def q_over_depth(data: dict, out: str | Path, name: str = "q_over_depth") -> list[Path]:
    """One panel per activation: theory ``q^l`` (dashed), the median over networks of the
    finite-width ``q^l`` and the band between the stored quantiles; log scale for
    unclipped activations (they explode), linear around ``q*`` for clipped ones.

    ``data``: ``width``, ``n_networks``, ``panels`` of ``activation``, ``sparsity``, ``m``,
    ``theory``, ``median``, ``lo``, ``hi`` (lists over layers ``0..depth``), ``quantiles``.
    """
    panels = data["panels"]
    fig, axes = style.subplots(1, len(panels), width=2.7, height=2.5)
    for ax, p in zip(axes[0], panels):
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
    axes[0][0].legend(loc="upper left")
    axes[0][0].set_ylabel("$q^l$ (mean $h^2$ of one input)")
    fig.suptitle(f"Variance over depth on the edge of chaos: theory vs {data['n_networks']} "
                 f"random networks per activation")
    return style.save(fig, out, name)
