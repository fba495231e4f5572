"""Every figure, drawn from stored results: :func:`make_all` is ``sparsefield figures``.

A figure whose inputs are absent is skipped with a note (not an error); one whose
optional measurements are absent is drawn from theory alone, with a note.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
from tqdm.auto import tqdm

from sparsefield.results.names import (
    EVAL,
    MEMBER,
    PART_DRIFT_TABLE,
    PART_EOC_CURVES,
    PART_FINITE_SIZE,
    PART_GAUSSIAN_MC,
    PART_SPARSITY_CURVES,
    PART_STABILITY_GRID,
    PART_VARIANCE_MAPS,
    PART_VPRIME_CURVES,
    TEST_Q,
    TEST_ZERO_FRAC,
    part_file,
    series,
)
from sparsefield.theory.activations import CATALOGUE

from . import depth, diagnostics, experiments, finite_size, gpt, maps, style
from .experiments import group_by
from .results import Results


class Missing(Exception):
    """A figure's required stored input is absent."""


@dataclass
class Made:
    """The outcome of one figure: written ``paths`` or a ``note`` on what is missing."""

    name: str
    title: str
    caption: str
    paths: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def png(self) -> Path | None:
        return next((p for p in self.paths if p.suffix == ".png"), None)


@dataclass(frozen=True)
class Figure:
    name: str
    title: str
    caption: str
    draw: Callable[[Results, Path, list[str]], list[Path]]


def _need(value, what: str):
    if value is None or value == []:
        raise Missing(f"{what} not found")
    return value


def _part(res: Results, group: str, name: str, what: str = ""):
    """A stored report part's data, or :class:`Missing` naming its file."""
    return _need(res.part(group, name), part_file(group, name) + what)


def _variance_maps(res: Results, out: Path, notes: list[str]) -> list[Path]:
    curves = _part(res, "theory", PART_VARIANCE_MAPS)
    mc = res.part("numerics", PART_GAUSSIAN_MC)
    if mc is None:
        where = part_file("numerics", PART_GAUSSIAN_MC)
        notes.append(f"Monte Carlo points absent ({where}): theory only")
    return maps.variance_maps(curves, out, mc)


def _vprime(res: Results, out: Path, notes: list[str]) -> list[Path]:
    return maps.vprime_curves(_part(res, "theory", PART_VPRIME_CURVES), out)


def _stability(res: Results, out: Path, notes: list[str]) -> list[Path]:
    grid = _part(res, "theory", PART_STABILITY_GRID)
    default = (res.part("theory", "derivations") or {}).get("default")
    return maps.stability_diagram(grid, out, default)


def _bifurcation(res: Results, out: Path, notes: list[str]) -> list[Path]:
    return maps.bifurcation(_part(res, "theory", "bifurcation"), out)


def _depth(res: Results, out: Path, notes: list[str]) -> list[Path]:
    return depth.q_over_depth(_part(res, "numerics", "depth", " (finite-width networks)"), out)


def _finite_size(res: Results, out: Path, notes: list[str]) -> list[Path]:
    return finite_size.gain_vs_width(_part(res, "numerics", PART_FINITE_SIZE,
                                           " (finite-size scaling)"), out)


def _sparsity(res: Results, out: Path, notes: list[str]) -> list[Path]:
    curves = _part(res, "theory", PART_SPARSITY_CURVES)
    measured = list((res.part("numerics", PART_GAUSSIAN_MC) or {}).get("sparsity", []))
    measured += (res.part("numerics", "depth") or {}).get("sparsity", [])
    measured += network_sparsity(res.records("clipping"))
    if not measured:
        notes.append("no measured points (Monte Carlo or clipping runs): theory only")
    return maps.sparsity_vs_tau(curves, out, measured)


def network_sparsity(records: list[dict], near: float = 0.5) -> list[dict]:
    """Exact-zero fraction per hidden layer at initialisation in the clipping runs, against
    ``tau / sqrt(q^l)`` with the measured ``q^l`` (mean over seeds), for layers with
    ``|q^l / q* - 1| < near``: ``q^l`` is a mean over inputs, and where some inputs'
    variance has exploded it no longer describes the others, whose ``h ~ N(0, q)`` the
    formula assumes."""
    out = []
    for recs in group_by(records, lambda r: r["label"]).values():
        member = recs[0]["metrics"][MEMBER]
        tau = member.get("params", {}).get("tau")
        if tau is None:
            continue
        kind = "two_sided" if CATALOGUE[member["activation"]].sided == 2 else "one_sided"
        q_star = recs[0]["config"].get("q_star", 1.0)
        q = np.nanmean([series(r, EVAL, TEST_Q)[0] for r in recs], axis=0)
        z = np.nanmean([series(r, EVAL, TEST_ZERO_FRAC)[0] for r in recs], axis=0)
        out += [{"kind": kind, "tau": float(tau / np.sqrt(ql)), "s": float(zl), "se": None,
                 "source": "deep MLP layers at init (measured $q^l$)"}
                for ql, zl in zip(q, z) if abs(ql / q_star - 1) < near and np.isfinite(zl)]
    return out


def _eoc(res: Results, out: Path, notes: list[str]) -> list[Path]:
    return maps.eoc_curves(_part(res, "theory", PART_EOC_CURVES), out)


def _drift(res: Results, out: Path, notes: list[str]) -> list[Path]:
    table = _part(res, "theory", PART_DRIFT_TABLE)
    records = _need(res.records("drift"), "drift experiment records (drift/)")
    return experiments.drift(table, records, out, res.summary("drift"))


def _clipping(res: Results, out: Path, notes: list[str]) -> list[Path]:
    records = _need(res.records("clipping"), "clipping experiment records (clipping/)")
    return experiments.clipping(records, out, res.summary("clipping"))


def _diagnostics(res: Results, out: Path, notes: list[str]) -> list[Path]:
    records = _need(res.records("clipping"), "clipping experiment records (clipping/)")
    return diagnostics.diagnostics(records, out)


def _tradeoff(res: Results, out: Path, notes: list[str]) -> list[Path]:
    records = _need(res.records("tradeoff"), "trade-off experiment records (tradeoff/)")
    return experiments.tradeoff(records, out, res.summary("tradeoff"))


def _gpt(res: Results, out: Path, notes: list[str]) -> list[Path]:
    records = _need(res.records("gpt"), "GPT experiment records (gpt/)")
    return gpt.gpt(records, out, res.summary("gpt"))


FIGURES = [
    Figure(PART_VARIANCE_MAPS, "Variance map against the identity",
           "V(q) on the edge of chaos at q*=1 for the four sparsity-inducing families and "
           "several sparsities; unclipped ones touch the identity tangentially (V'(q*)=1, "
           "V''>0), clipped ones cross it with slope V'(q*)=0.5. Points: Monte Carlo.",
           _variance_maps),
    Figure("vprime_vs_m", "V'(q*) and V''(q*) against the clip m",
           "On the edge of chaos V'(q*) rises from 0 to 1 with m; circles are the clips "
           "derived for targets V'(q*)=0.5, 0.9, crosses where V''(q*) changes sign, "
           "triangles the bifurcation clip [P24].", _vprime),
    Figure("stability_diagram", "Stability diagram in (sparsity, m)",
           "Contours of V'(q*), the V''(q*)=0 line and the bifurcation region where V "
           "has extra fixed points above q*; the star is the default initialisation.",
           _stability),
    Figure("bifurcation", "The saddle-node bifurcation",
           "V(q)-q for the default sparsity at clips below, at and beyond the critical "
           "clips: beyond the bifurcation an unstable and a large stable fixed point appear.",
           _bifurcation),
    Figure("q_over_depth", "q^l over depth: theory vs finite-width networks",
           "Mean-field iteration against random networks (median and spread): the "
           "unclipped threshold drifts away from q* and explodes, the clipped one stays.",
           _depth),
    Figure("finite_width_gain", "Finite width: the typical gain per layer against 1/N",
           "Random networks at initialisation (points, +- 2 s.e.) against the finite-width "
           "theory (lines): the typical log gain per layer of a back-propagated gradient falls "
           "below mean field's log chi_1 = 0 by (3 kappa - 1)/(2N), kappa = E[phi'^4]/E[phi'^2]^2 "
           "(1/p for CReLU: p = 0.12 of the units carry the signal at 85% sparsity).",
           _finite_size),
    Figure("sparsity_vs_tau", "Sparsity at initialisation",
           "Exact-zero fraction against tau/sqrt(q): theory lines, Gaussian Monte Carlo "
           "and per-layer measurements in deep networks at initialisation.", _sparsity),
    Figure(PART_EOC_CURVES, "Edge-of-chaos curves",
           "(sigma_w^2, sigma_b^2) on the edge of chaos as q* varies, per activation "
           "family at fixed parameters.", _eoc),
    Figure("drift", "Negative weight drift",
           "Predicted drift sign (sign of E[phi phi'], Stein's lemma [BF2]) next to "
           "measured hidden weight-mean and bias-mean changes; controls (tanh, identity, "
           "|x|) dashed; ReLU sparsity rising from 50%.", _drift),
    Figure("clipping", "Clipping experiment",
           "Deep MLP at the target sparsity: training curves, q^l at initialisation, "
           "final accuracy and sparsity vs the clip m with the theory's critical clips.",
           _clipping),
    Figure("diagnostics", "Signal propagation in the clipping runs, against the theory",
           "Per point: the typical back-prop gain per layer at initialisation against the "
           "finite-width prediction log chi_1 - (3 kappa - 1)/(2N) (band: +-1 sd of one "
           "vector), its sum over depth, 1 - rho^l of input pairs against the mean-field "
           "correlation map, the linear-window fraction P(phi' != 0), the logit spread "
           "and the relative update |dW|/|W| per layer; dashed lines are predictions.",
           _diagnostics),
    Figure("tradeoff", "Sparsity-accuracy trade-off",
           "Accuracy against forced exact-zero sparsity (quantile shift, top-k) with the "
           "cliff [BF2].", _tradeoff),
    Figure("gpt", "GPT activation comparison",
           "Character-level GPT on Shakespeare: validation loss per activation, ReLU MLP "
           "sparsity per layer over training, maximum activation per layer (ReLU^2 spikes, "
           "bounded by the clip c, dashed) and per-batch unit usage of the first and last "
           "MLP layers [BF2, LN23, WA24].", _gpt),
]


def make_all(results: str | Path, out: str | Path, names: list[str] | None = None,
             progress: bool = True, formats=style.FORMATS, dpi: int = style.DPI) -> list[Made]:
    """Draw every figure (or those in ``names``) from the results under ``results``."""
    res, out = Results(results), Path(out)
    made = []
    figs = [f for f in FIGURES if names is None or f.name in names]
    with style.output(formats, dpi):
        for fig in tqdm(figs, desc="figures", disable=not progress, leave=False):
            m = Made(fig.name, fig.title, fig.caption)
            try:
                m.paths = fig.draw(res, out, m.notes)
            except Missing as err:
                m.notes.append(f"skipped: {err}")
            made.append(m)
    return made
