"""The three finite-width claims of [P24] (docs/theory.md section 4.2, 4.3), reproduced by simulation.

* Unclipped thresholds (ReLU_tau, ST) on the edge of chaos: ``V'(q*) = 1``, ``V'' > 0``,
  so finite-width noise pushes ``q^l`` above ``q*`` and it explodes in most networks.
* Clipped (CReLU, CST) with ``m`` from the solver at a target ``V'(q*) < 1``: ``q^l``
  stays near ``q*`` and the sparsity at its target.
* Clips past the bifurcation (``m > critical_m(...)["bifurcation"]``): some networks jump
  to the large stable fixed point, losing sparsity; the jump probability is estimated.
"""

from __future__ import annotations

import math

import numpy as np

from sparsefield.theory import moments
from sparsefield.theory.clipping import critical_m, derive
from sparsefield.theory.errors import ParameterError
from sparsefield.theory.maps import extra_fixed_points

from .finite_width import Ensemble, simulate
from .stats import Estimate, proportion, sample_mean, wilson

EXPLODED = 10.0  # q^L > EXPLODED q*: the variance has exploded
NEAR = 0.5  # |q^L / q* - 1| < NEAR: q^l stayed near q*
TAIL = 10  # layers averaged at the end of the network
SPARSITY_TOL = 0.02  # clipped networks keep their sparsity within this of the target


def _run(d, depth: int, width: int, n_networks: int, seed: int) -> Ensemble:
    return simulate(d.activation_fn(), d.sigma_w2, d.sigma_b2, depth, width, n_networks,
                    q0=d.q_star, seed=seed, gradients=False)


def explosion(name: str, sparsity: float = 0.85, depth: int = 100, width: int = 300,
              n_networks: int = 64, seed: int = 0) -> dict:
    """Fraction of networks whose ``q^L`` exceeds ``EXPLODED q*`` (unclipped, on the EoC)."""
    d = derive(name, sparsity)
    ens = _run(d, depth, width, n_networks, seed)
    k = int(np.sum(ens.q_mean[:, -1] > EXPLODED * d.q_star))
    return {"fraction": proportion(k, n_networks), "interval": wilson(k, n_networks),
            "derivation": d, "ensemble": ens}


def stability(name: str, sparsity: float = 0.85, vprime: float = 0.5, depth: int = 100,
              width: int = 300, n_networks: int = 32, seed: int = 0) -> dict:
    """Clipped at target ``V'(q*)``: fraction of networks with ``|q^L/q* - 1| < NEAR``,
    and ``q``, sparsity averaged over the last ``TAIL`` layers (mean over networks)."""
    d = derive(name, sparsity, vprime=vprime)
    ens = _run(d, depth, width, n_networks, seed)
    k = int(np.sum(np.abs(ens.q_mean[:, -1] / d.q_star - 1.0) < NEAR))
    return {"near": proportion(k, n_networks), "interval": wilson(k, n_networks),
            "q_tail": sample_mean(ens.q_mean[:, -TAIL:].mean(1)),
            "sparsity_tail": sample_mean(ens.sparsity[:, -TAIL:].mean((1, 2))),
            "derivation": d, "ensemble": ens}


def bifurcation(name: str, sparsity: float = 0.85, factor: float = 1.1, depth: int = 100,
                width: int = 300, n_networks: int = 128, seed: int = 0) -> dict:
    """Clip ``m = factor * bifurcation``: probability that a network ends (mean ``q`` over
    the last ``TAIL`` layers) above the geometric midpoint of the unstable and the large
    stable fixed point, i.e. jumped to the large one."""
    m = factor * critical_m(name, sparsity)["bifurcation"]
    d = derive(name, sparsity, m=m)
    above = extra_fixed_points(d.fixed_points, d.q_star)
    if not above:
        raise ParameterError("factor", factor, "> 1: a clip past the bifurcation, where V "
                             "has fixed points above q*")
    big = max(f["q"] for f in above)
    low = min([f["q"] for f in above if f["stability"] == "unstable"] or [d.q_star])
    threshold = math.sqrt(low * big)
    ens = _run(d, depth, width, n_networks, seed)
    jumped = ens.q_mean[:, -TAIL:].mean(1) > threshold
    k = int(jumped.sum())
    sp = ens.sparsity[:, -TAIL:].mean((1, 2))
    return {"probability": proportion(k, n_networks), "interval": wilson(k, n_networks),
            "q_large": big, "threshold": threshold,
            "sparsity_large": float(moments.p_zero(d.activation_fn(), big)),
            "sparsity_jumped": (sample_mean(sp[jumped]) if k > 1
                                else Estimate(math.nan, math.nan, k)),
            "derivation": d, "ensemble": ens}
