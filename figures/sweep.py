"""Figures of a sweep (:mod:`sparsefield.sweep`): the sparsity-accuracy trade-off over any
grid and the [P24] clipping figure per activation and target sparsity.  Drawing only: the
sweep groups its rows and passes them in."""

from __future__ import annotations

from pathlib import Path

from sparsefield.results.names import TEST_ACC, ZERO_FINAL, sem_key

from . import experiments, style


def plot_tradeoff(series: dict[str, list[dict]], out: Path) -> list[Path]:
    """Test accuracy against the measured final exact-zero fraction, one line per series
    of grid values (``series``: name -> point rows; mean +- s.e.m. over seeds) [BF2].  Unlike
    :func:`sparsefield.figures.experiments.tradeoff` (forced sparsity against one unforced baseline)
    it takes any grid: theory-initialised and forced points alike."""
    fig, axs = style.subplots(1, 1, width=4.4, height=3.0)
    ax = axs[0][0]
    for name, rs in series.items():
        rs = sorted(rs, key=lambda r: r[ZERO_FINAL])
        n_div = sum(r["diverged"] for r in rs)
        ax.errorbar([r[ZERO_FINAL] for r in rs], [r[TEST_ACC] for r in rs],
                    xerr=[r[sem_key(ZERO_FINAL)] for r in rs], yerr=[r[sem_key(TEST_ACC)] for r in rs],
                    marker="o", ms=3.5, label=name + (f" ({n_div} diverged)" if n_div else ""))
    ax.set_xlabel("measured exact-zero fraction (final, test, hidden layers)")
    ax.set_ylabel("final test accuracy")
    ax.set_title("Sparsity-accuracy trade-off")
    ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5))
    return style.save(fig, out, "tradeoff")


def plot_clipping(records: list[dict], out: Path) -> list[Path]:
    """[P24] clipping figure (:func:`sparsefield.figures.experiments.clipping`: training curves,
    ``q^l`` at initialisation, accuracy and sparsity against ``m``), one per activation
    and target sparsity of the sweep (each with its own critical clips)."""
    groups: dict[tuple[str, float], list[dict]] = {}
    for r in records:
        if r["config"]["sparsity"] is not None:
            groups.setdefault((r["config"]["activation"], r["config"]["sparsity"]), []).append(r)
    return [path for (act, s), recs in sorted(groups.items())
            for path in experiments.clipping(recs, out, name=f"clipping_{act}_s{s:g}")]
