"""Closed-form Gaussian moments of the exact (erf) GELU, ``phi(x) = x Phi(x)``.

Tsuchida, Pearce, van der Heide, Roosta & Gallagher 2021, "Avoiding kernel fixed points:
computing with ELU and GELU infinite networks" (AAAI; arXiv 2002.08517), Sec. 4: for
``u1, u2 ~ N(0, q)`` with covariance ``k = rho q`` and ``D = sqrt((1 + q)^2 - k^2)``,

``E[phi(u1) phi(u2)] = k/4 + (k^2 + q^2 D^2 / ... ) ...`` -- precisely
``k/4 + [ (k^2 + q^2 D^2) / ((1 + q)^2 D) + k atan2(k, D) ] / (2 pi)``,
``E[phi'(u1) phi'(u2)] = 1/4 + atan2(k, D)/(2 pi) + k (1/D^2 + (1 - q^2)/(1 + q)^2 + 1) / (2 pi D)``.

At ``rho = 1`` (``D^2 = 1 + 2q``) these give ``E[phi^2]`` and ``E[phi'^2]``.  For ``rho < 0``
these terms cancel (at ``rho = -1``, ``q = 100`` by ``~10^3``); there, with ``a = -k > 0``,
``t = D / a``, ``e = q (1 + rho)``, ``D^2 = (1 + e)(1 + 2q - e)`` and
``pi/2 + atan2(k, D) = atan t``, the same expressions regroup (docs/theory.md section 3)
into terms that do not cancel near ``rho = -1``:

``2 pi E[phi phi] = (1 + q - 2 D^2) / ((1 + q) D) + a (t - atan t)``,
``2 pi E[phi' phi'] = (atan t - t) + N / (a D (1 + q)) - a / D^3``,
``N = 1 + 3q + e q (1 - rho)(3 + q)``,

(``atan t - t`` by its series for small ``t``); of the forms, each point takes the one with
the smaller condition number ``sum |term| / |sum|``.  :func:`accurate` marks the points where
the rounding error ``~ eps sum |term|`` is below ``COND_MAX eps`` times
``max(|value|, E[phi^(order) 2])``: relative where the value is not small, and in the
kernel's own scale (Cauchy-Schwarz, ``|E[phi(u1) phi(u2)]| <= E[phi^2]``) where it crosses
zero -- the accuracy any quadrature of the same integral has there.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from . import numeric_forms
from ._lazy import sympy as sp
from .activations import Activation, Family
from .gaussian import COND_MAX


@lru_cache(maxsize=None)
def _is_gelu(fam: Family) -> bool:
    pieces = fam.pieces_sym(0)
    from .grammar import X
    gelu = X * (1 + sp.erf(X / sp.sqrt(2))) / 2
    return not fam.breaks_sym and len(pieces) == 1 and sp.simplify(pieces[0] - gelu) == 0


def applies(act: Activation) -> bool:
    """``phi`` is GELU (proved with sympy once per family, cached with its generated forms)."""
    return numeric_forms.family_fact(act.family, "applies_gelu_kernel",
                                     lambda: bool(_is_gelu(act.family)), __file__)


def e_phi_phi(q, rho, order: int = 0):
    """``E[phi^(order)(u1) phi^(order)(u2)]``, ``order`` 0 or 1."""
    return _terms(q, rho, order)[0]


def accurate(q, rho, order: int = 0):
    """``(E[phi^(order)(u1) phi^(order)(u2)], ok)``: ``ok`` where the error bound holds
    (module docstring)."""
    value, size = _terms(q, rho, order)
    scale = _terms(q, 1.0, order)[0]  # E[phi^2] resp. E[phi'^2] at this q
    with np.errstate(invalid="ignore"):
        return value, np.asarray(size <= COND_MAX * np.maximum(np.abs(value), scale))


def _terms(q, rho, order: int):
    """``(sum, sum of |terms|)`` of the better-conditioned form at each point."""
    q, rho = np.broadcast_arrays(np.asarray(q, float), np.asarray(rho, float))
    shape = q.shape
    q, rho = q.reshape(-1), rho.reshape(-1)
    value, size = _plain(q, rho, order)
    neg = rho < 0.0
    if np.any(neg):
        v2, s2 = _regrouped(q[neg], rho[neg], order)
        better = s2 * np.abs(value[neg]) < size[neg] * np.abs(v2)  # smaller sum|t| / |sum|
        value, size = value.copy(), size.copy()
        value[neg] = np.where(better, v2, value[neg])
        size[neg] = np.where(better, s2, size[neg])
    return value.reshape(shape)[()], size.reshape(shape)[()]


def _plain(q, rho, order: int):
    """Tsuchida et al.'s terms as printed (module docstring)."""
    k = rho * q
    qp = 1.0 + q
    d2 = (qp - k) * (qp + k)
    d = np.sqrt(d2)
    ang = np.arctan2(k, d)
    if order == 0:
        terms = (k / 4.0, (k * k + q * q * d2) / (qp * qp * d) / (2.0 * np.pi),
                 k * ang / (2.0 * np.pi))
    else:
        terms = (0.25 + 0.0 * k, ang / (2.0 * np.pi),
                 k * (1.0 / d2 + 2.0 / qp) / (2.0 * np.pi * d))  # (1 - q^2)/(1 + q)^2 + 1
    return terms[0] + terms[1] + terms[2], sum(np.abs(t) for t in terms)


def _regrouped(q, rho, order: int):
    """The ``rho < 0`` form of the module docstring (no cancellation near ``rho = -1``)."""
    a = -rho * q
    e = q * (1.0 + rho)
    qp = 1.0 + q
    d2 = (1.0 + e) * (1.0 + 2.0 * q - e)
    d = np.sqrt(d2)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        t = d / a
        h = _atan_minus(t)  # atan t - t
        if order == 0:
            terms = ((qp - 2.0 * d2) / (qp * d), -a * h)
        else:
            n = 1.0 + 3.0 * q + e * q * (1.0 - rho) * (3.0 + q)
            terms = (h, n / (a * d * qp), -a / (d2 * d))
    value = sum(terms) / (2.0 * np.pi)
    size = sum(np.abs(x) for x in terms) / (2.0 * np.pi)
    bad = ~np.isfinite(value) | ~np.isfinite(size)  # a = 0 (rho = -0.0): not this form
    return np.where(bad, 0.0, value), np.where(bad, np.inf, size)


def _atan_minus(t):
    """``atan t - t``: for ``t < 0.3`` the series ``t^3 sum_j (-1)^(j+1) t^(2j) / (2j + 3)``
    (17 terms: ``0.09^17 < 1e-17``), else directly (relative error ``<= 3 eps / t^2``)."""
    small = t < 0.3
    ts = np.where(small, t, 0.0)
    t2 = ts * ts
    acc = np.zeros_like(ts)
    for j in range(16, -1, -1):
        acc = (-1.0) ** (j + 1) / (2 * j + 3) + t2 * acc
    return np.where(small, ts * t2 * acc, np.arctan(t) - t)
