"""Gaussian Monte Carlo estimates of the moments and maps of :mod:`theory`.

For ``x ~ N(0, q)`` and ``u1, u2`` of variance ``q`` and correlation ``rho``
(docs/theory.md section 3; Poole et al. 2016; [P24]):

* ``E[phi]``, ``E[phi^2]``, ``E[phi'^2]``, ``E[phi phi']`` (all, ``x >= 0``, ``x < 0``),
  ``P(phi = 0)``, ``E[phi(u1) phi(u2)]``, ``E[phi'(u1) phi'(u2)]``;
* ``V(q) = sigma_w^2 E[phi^2] + sigma_b^2``, ``chi_1(q) = sigma_w^2 E[phi'^2]``;
* ``R(rho) = (sigma_w^2 E[phi(u1) phi(u2)] + sigma_b^2) / V(q)`` and
  ``R'(rho) = sigma_w^2 E[phi'(u1) phi'(u2)] q / V(q)`` (delta-method errors).

Variance reduction (``reduce=True``): antithetic pairs ``(z1, z2), (-z1, -z2)`` (only the
even part of each integrand is sampled) and control variates with exactly known means
(:data:`sparsefield.numerics.kernels.CONTROLS`).  ``reduce=False`` is plain Monte Carlo with the same
number of draws.
"""

from __future__ import annotations

import math

import numpy as np

from sparsefield.theory.activations import Activation
from sparsefield.theory.errors import ParameterError, check_positive

from . import kernels
from .stats import Estimate, Moments

DRAWS_PER_PAIR = 4  # two points (u1, u2) per draw, two draws per pair
BLOCKS = 128  # i.i.d. blocks (batch means) when there are enough draws
MAX_BLOCK = 4096  # pairs per block, at most
DEFAULT_N = 1 << 20


def moments(act: Activation, q: float, rho: float = 0.0, n: int = DEFAULT_N, seed: int = 0,
            reduce: bool = True) -> Moments:
    """Means of :data:`sparsefield.numerics.kernels.FEATURES` from about ``n`` Gaussian points.

    The points come in blocks of ``clip(n / (4 BLOCKS), 16, MAX_BLOCK)`` pairs; the block
    layout depends on ``n`` only, so results depend on ``(n, seed)`` only.
    """
    q = check_positive("q", q)
    if not -1.0 <= rho <= 1.0:
        raise ParameterError("rho", rho, "in [-1, 1]")
    if not (isinstance(n, (int, np.integer)) and n >= 2):
        raise ParameterError("n", n, "an integer >= 2 (number of Gaussian points)")
    block = int(np.clip(n // (DRAWS_PER_PAIR * BLOCKS), 16, MAX_BLOCK))
    n_blocks = max(32, math.ceil(n / (DRAWS_PER_PAIR * block)))
    seeds = kernels.block_seeds(seed, n_blocks)
    means = kernels.run_blocks(kernels.fused(act.family), seeds, block * (2 if reduce else 4),
                               act.values, math.sqrt(q), float(rho), block, bool(reduce))
    return Moments.from_block_means(kernels.FEATURES + kernels.CONTROLS, means,
                                    DRAWS_PER_PAIR * block * n_blocks,
                                    len(kernels.CONTROLS) if reduce else 0)


def estimates(act: Activation, q: float, sigma_w2: float, sigma_b2: float,
              rho: float = 0.0, n: int = DEFAULT_N, seed: int = 0,
              reduce: bool = True) -> dict[str, Estimate]:
    """All quantities of the module docstring, keyed ``e_phi, e_phi2, e_dphi2, e_phi_dphi,
    e_phi_dphi_pos, e_phi_dphi_neg, p_zero, V, chi1, e_phi_phi, e_dphi_dphi, R, dR``."""
    m = moments(act, q, rho, n, seed, reduce)
    den = ({"phi2": sigma_w2}, sigma_b2)
    return {"e_phi": m["phi"], "e_phi2": m["phi2"], "e_dphi2": m["dphi2"],
            "e_phi_dphi": m["phi_dphi"], "e_phi_dphi_pos": m["phi_dphi_pos"],
            "e_phi_dphi_neg": m.linear({"phi_dphi": 1.0, "phi_dphi_pos": -1.0}),
            "p_zero": m["zero"], "V": m.linear(*den), "chi1": m.linear({"dphi2": sigma_w2}),
            "e_phi_phi": m["phi_phi"], "e_dphi_dphi": m["dphi_dphi"],
            "R": m.ratio({"phi_phi": sigma_w2}, sigma_b2, *den),
            "dR": m.ratio({"dphi_dphi": sigma_w2 * q}, 0.0, *den)}
