"""What the report computes, as data: the sizes (``full``, ``quick``, ``tiny``) with the
experiments' overrides, and the theory and Monte Carlo parts with the config each is stored
under (a part stored with the same config is not computed again).

Parts: theory curves (:mod:`sparsefield.theory.curves`); Gaussian Monte Carlo of ``V(q)``,
``V'(q*)``, ``chi_1`` and the sparsity, and finite-width random networks ``q^l`` over depth
(:mod:`sparsefield.numerics.derivation_checks`); the verification matrix
(:func:`sparsefield.numerics.check.run`).  Every part stores the theory values it is
compared with, so rendering derives nothing.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from sparsefield.empirical.experiments.clipping import QUICK as CLIPPING_QUICK
from sparsefield.figures.results import Results
from sparsefield.numerics import finite_size
from sparsefield.results.names import (
    PART_DRIFT_TABLE,
    PART_EOC_CURVES,
    PART_FINITE_SIZE,
    PART_GAUSSIAN_MC,
    PART_SPARSITY_CURVES,
    PART_STABILITY_GRID,
    PART_VARIANCE_MAPS,
    PART_VPRIME_CURVES,
)
from sparsefield.theory import curves
from sparsefield.theory.clipping import CLIPPED, Derivation, derive

SEED = 20240216
EXPERIMENTS = ("drift", "clipping", "tradeoff", "gpt")
GROUPS = ("theory", "numerics")
# parts whose stored layout changed: an older record of them is computed again
# 2: V_theory and z stored at every point; 3: a figure's per-activation entries under
# "curves" (was "panels", a word kept for the quadrature panels)
SCHEMA = {PART_GAUSSIAN_MC: {"schema": 3}, "depth": {"schema": 3}, PART_FINITE_SIZE: {"schema": 3},
          PART_VARIANCE_MAPS: {"schema": 3}}


@dataclass(frozen=True, kw_only=True)
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
    check: bool = True      # run the verification matrix (numerics.check)


_SMALL = dict(steps=20, n_train=256, n_test=128, eval_size=128, eval_every=10, log_every=5)
SIZES = {
    "full": Size(name="full", n_curve=161, stability=(36, 200), mc_samples=1 << 20,
                 mc_q=(0.25, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0), width=300, depth=100, networks=256,
                 drift={}, clipping={}, tradeoff={}, gpt={}),
    "quick": Size(name="quick", n_curve=121, stability=(20, 120), mc_samples=1 << 18,
                  mc_q=(0.5, 1.0, 2.0, 3.0, 4.0), width=300, depth=100, networks=64,
                  drift=dict(width=128, depth=3, steps=50, n_train=5000, n_test=1000,
                             eval_size=1000, eval_every=10, seeds=[0, 1, 2, 3, 4]),
                  # depth 20, where the predicted ordering separates (clipping.QUICK)
                  clipping=dict(CLIPPING_QUICK),
                  tradeoff=dict(width=128, depth=3, steps=300, n_train=8000, n_test=2000,
                                eval_size=2000, eval_every=100, lr=0.05,
                                sparsities=[0.5, 0.7, 0.8, 0.9, 0.95, 0.99], seeds=[0, 1]),
                  gpt=dict(size="ci", steps=300, eval_every=50)),
    "tiny": Size(name="tiny", n_curve=25, stability=(3, 24), mc_samples=1 << 15, mc_q=(0.5, 2.0),
                 width=32, depth=12, networks=8,
                 drift=dict(activations=["relu", "tanh"], datasets=["random"], width=16, depth=2,
                            seeds=[0, 1], **_SMALL),
                 clipping=dict(vprimes=[0.5], beyond=[1.5], unclipped=["relu_tau"], width=16,
                               depth=6, seeds=[0, 1], **_SMALL),
                 tradeoff=dict(sparsities=[0.7, 0.9], forces=["quantile"], width=16, depth=2,
                               seeds=[0], **_SMALL),
                 gpt=dict(size="ci", activations=["relu", "relu2", "crelu2:c=1"], steps=6,
                          eval_every=3, topk=[0.5]),
                 sparsities=(0.85,), check=False),
}
# the finite-size scaling figure's simulations per size (widths, depth, networks, activations)
FINITE_SIZE = {"full": finite_size.FULL,
               "quick": finite_size.Plan((100, 300, 1000), 30, 64, ("crelu", "relu")),
               "tiny": finite_size.Plan((50, 100), 8, 16, ("crelu",))}
NOTES = {"check": "numerics.check (the verification matrix) is left out at the tiny size; "
                  "run --quick or the full report for it"}


@dataclass(frozen=True)
class Part:
    """One stored part: ``<group>/<name>.json`` holds ``compute()`` under ``config``."""

    group: str
    name: str
    compute: Callable[[], dict]
    config: dict
    seed: int | None


def derivations() -> dict:
    """The default initialisation and the four families at the default sparsity."""
    d = curves.DEFAULT
    out = {"default": derive(d["activation"], d["sparsity"], vprime=d["vprime"]).to_dict()}
    out["families"] = {n: derive(n, d["sparsity"], vprime=d["vprime"] if n in CLIPPED
                                 else None).to_dict() for n in curves.FAMILIES}
    return out


def stored_derivations(results: Path) -> list[Derivation]:
    """The stored families' derivations as records (read back, not derived again)."""
    fams = Results(results).part("theory", "derivations")["families"]
    return [Derivation(**d) for d in fams.values()]


def gaussian_mc_part(size: Size) -> dict:
    """Gaussian Monte Carlo at every family and sparsity (theory values stored alongside)."""
    from sparsefield.numerics.derivation_checks import gaussian_mc

    ds = [derive(n, sp, vprime=curves.DEFAULT["vprime"] if n in CLIPPED else None)
          for n in curves.FAMILIES for sp in size.sparsities]
    return gaussian_mc(ds, size.mc_q, size.mc_samples, SEED)


def depth_part(size: Size, results: Path) -> dict:
    from sparsefield.numerics.derivation_checks import finite_networks

    return finite_networks(stored_derivations(results), size.width, size.depth,
                           size.networks, seed=SEED)


def check_part(size: Size) -> dict:
    """The verification matrix of :func:`sparsefield.numerics.check.run` with its summary."""
    from sparsefield.numerics import check

    rows = check.run(quick=size.name != "full", seed=SEED)
    return _plain({"rows": [r.to_dict() for r in rows], "summary": check.summary(rows)})


def _plain(obj):
    """Numpy scalars inside dicts and lists as Python numbers (for JSON)."""
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_plain(v) for v in obj]
    return obj.item() if isinstance(obj, np.generic) else obj


def part_config(size: Size, group: str) -> dict:
    """The config a part of ``group`` is stored under (what changes its numbers)."""
    d = dataclasses.asdict(size)
    keep = {"size": size.name, "sparsities": list(size.sparsities)}
    if group == "numerics":
        keep.update({k: d[k] for k in ("mc_samples", "width", "depth", "networks")},
                    mc_q=list(size.mc_q))
    else:
        keep.update(n_curve=size.n_curve, stability=list(size.stability), default=curves.DEFAULT)
    return keep


def parts(size: Size, results: Path) -> list[Part]:
    """Every part of ``size``, in computing order (the depth part reads the stored
    derivations)."""
    sp, n = size.sparsities, size.n_curve
    theory = {
        "derivations": derivations,
        PART_VARIANCE_MAPS: lambda: curves.variance_maps(sp, n=n),
        PART_VPRIME_CURVES: lambda: curves.vprime_curves(sp, n=2 * n),
        PART_STABILITY_GRID: lambda: curves.stability_grid(n_s=size.stability[0],
                                                        n_m=size.stability[1]),
        "bifurcation": lambda: curves.bifurcation_maps(n=2 * n),
        PART_EOC_CURVES: lambda: curves.eoc_curves(n=max(10, n // 4)),
        PART_SPARSITY_CURVES: lambda: curves.sparsity_curves(n=n),
        PART_DRIFT_TABLE: lambda: curves.drift_table(),
    }
    numerics = {PART_GAUSSIAN_MC: lambda: gaussian_mc_part(size),
                "depth": lambda: depth_part(size, results),
                PART_FINITE_SIZE: lambda: finite_size.figure_data(FINITE_SIZE[size.name])}
    if size.check:
        numerics["check"] = lambda: check_part(size)
    return ([Part("theory", k, f, {**part_config(size, "theory"), **SCHEMA.get(k, {})}, None)
             for k, f in theory.items()]
            + [Part("numerics", k, f, {**part_config(size, "numerics"), **SCHEMA.get(k, {})},
                    SEED) for k, f in numerics.items()])


def notes(size: Size) -> list[str]:
    """What this size leaves out, for the report's notes."""
    return [] if size.check else [NOTES["check"]]
