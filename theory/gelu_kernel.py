"""Closed-form Gaussian moments of the exact (erf) GELU, ``phi(x) = x Phi(x)``.

Tsuchida, Pearce, van der Heide, Roosta & Gallagher 2021, "Avoiding kernel fixed points:
computing with ELU and GELU infinite networks" (AAAI; arXiv 2002.08517), Sec. 4: for
``u1, u2 ~ N(0, q)`` with covariance ``k = rho q`` and ``D = sqrt((1 + q)^2 - k^2)``,

``E[phi(u1) phi(u2)] = k/4 + (k^2 + q^2 D^2 / ... ) ...`` -- precisely
``k/4 + [ (k^2 + q^2 D^2) / ((1 + q)^2 D) + k atan2(k, D) ] / (2 pi)``,
``E[phi'(u1) phi'(u2)] = 1/4 + atan2(k, D)/(2 pi) + k (1/D^2 + (1 - q^2)/(1 + q)^2 + 1) / (2 pi D)``.

At ``rho = 1`` (``D^2 = 1 + 2q``) these give ``E[phi^2]`` and ``E[phi'^2]``.  For ``rho < 0``
the terms cancel (at ``rho = -1``, ``q = 100`` by ``~10^3``): :func:`accurate` returns the
value with the points where the condition number ``sum |term| / |sum|`` is below
``COND_MAX`` (the closed form's error bound holds there).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import sympy as sp

from .activations import Activation, Family, X
from .gaussian import COND_MAX


@lru_cache(maxsize=None)
def _is_gelu(fam: Family) -> bool:
    pieces = fam.pieces_sym(0)
    gelu = X * (1 + sp.erf(X / sp.sqrt(2))) / 2
    return not fam.breaks_sym and len(pieces) == 1 and sp.simplify(pieces[0] - gelu) == 0


def applies(act: Activation) -> bool:
    return _is_gelu(act.family)


def e_phi_phi(q, rho, order: int = 0):
    """``E[phi^(order)(u1) phi^(order)(u2)]``, ``order`` 0 or 1."""
    return _terms(q, rho, order)[0]


def accurate(q, rho, order: int = 0):
    """``(E[phi^(order)(u1) phi^(order)(u2)], ok)``: ``ok`` where the error bound holds."""
    value, size = _terms(q, rho, order)
    with np.errstate(invalid="ignore"):
        return value, np.asarray(size <= COND_MAX * np.abs(value))


def _terms(q, rho, order: int):
    """``(sum, sum of |terms|)`` of the closed form."""
    q = np.asarray(q, float)
    k = np.asarray(rho, float) * q
    qp = 1.0 + q
    d2 = (qp - k) * (qp + k)
    d = np.sqrt(d2)
    ang = np.arctan2(k, d)
    if order == 0:
        terms = (k / 4.0, (k * k + q * q * d2) / (qp * qp * d) / (2.0 * np.pi),
                 k * ang / (2.0 * np.pi))
    else:
        terms = (0.25, ang / (2.0 * np.pi),
                 k * (1.0 / d2 + 2.0 / qp) / (2.0 * np.pi * d))  # (1 - q^2)/(1 + q)^2 + 1
    return terms[0] + terms[1] + terms[2], sum(np.abs(t) for t in terms)
