"""Gaussian integrals that respect breakpoints.

Two tools, both for ``x ~ N(mu, v)``:

* :func:`truncated_moments` -- exact ``E[x^k 1{lo <= x < hi}]`` for ``k = 0, 1, 2``
  (closed form in ``Phi`` and ``gamma``), vectorised; the building block of every
  piecewise-linear closed form.
* :func:`split_expect` -- ``E[f_k(x)]`` summed over intervals, each integrated by
  adaptive quadrature on a smooth piece ``f_k`` only, so kinks and jumps never sit
  inside an integration interval.
"""

from __future__ import annotations

import warnings
from typing import Callable, Sequence

import numpy as np
from scipy import special

SQRT2PI = np.sqrt(2.0 * np.pi)
QUAD_OPTS = dict(epsabs=1e-15, epsrel=1e-12, limit=200)
# A closed form written as a sum of terms is used where sum |term| / |sum| <= COND_MAX: its
# rounding error is then below COND_MAX eps ~ 6e-14 relative (theory/routes.py).
COND_MAX = 256.0


def gamma(z):
    """Standard normal density ``gamma(z) = exp(-z^2/2) / sqrt(2 pi)``."""
    z = np.asarray(z, dtype=float)
    with np.errstate(over="ignore"):
        return np.exp(-0.5 * z * z) / SQRT2PI


def interval_prob(alpha, beta):
    """``Phi(beta) - Phi(alpha)`` for ``alpha <= beta``, without tail cancellation."""
    alpha, beta = np.asarray(alpha, float), np.asarray(beta, float)
    right = special.ndtr(-alpha) - special.ndtr(-beta)
    left = special.ndtr(beta) - special.ndtr(alpha)
    return np.where(alpha > 0, right, left)


def with_scale_points(q, rho):
    """``(qa, ra, n, inv, shape)`` for a bivariate map evaluated in one pass at the points
    ``(q, rho)`` (broadcast, flattened: the first ``n`` entries of ``qa, ra``) and, per
    distinct ``q``, at ``rho = 1`` (the scale ``E[phi^2]`` of its error bound: entry
    ``n + inv[i]`` belongs to point ``i``)."""
    q, rho = np.broadcast_arrays(np.asarray(q, float), np.asarray(rho, float))
    qf, rf = q.ravel(), rho.ravel()
    uq, inv = (qf[:1], np.zeros(qf.size, int)) if qf.size == 1 or np.all(qf == qf[0]) else \
        np.unique(qf, return_inverse=True)
    return (np.concatenate([qf, uq]), np.concatenate([rf, np.ones(uq.size)]), qf.size, inv,
            q.shape)


def _z_gamma(z):
    """``z gamma(z)`` with the limit 0 at ``z = +-inf``."""
    z = np.asarray(z, float)
    with np.errstate(invalid="ignore"):
        return np.where(np.isinf(z), 0.0, z * gamma(z))


def truncated_moments(lo, hi, mu=0.0, v=1.0):
    """``(E[1], E[x], E[x^2])`` restricted to ``lo <= x < hi`` for ``x ~ N(mu, v)``.

    With ``a = (lo - mu)/s``, ``b = (hi - mu)/s``, ``s = sqrt(v)``:
    ``M0 = Phi(b) - Phi(a)``, ``M1 = mu M0 + s (gamma(a) - gamma(b))``,
    ``M2 = (mu^2 + v) M0 + 2 mu s (gamma(a) - gamma(b)) + v (a gamma(a) - b gamma(b))``.
    """
    mu, v = np.asarray(mu, float), np.asarray(v, float)
    s = np.sqrt(v)
    with np.errstate(invalid="ignore", divide="ignore"):
        a = (np.asarray(lo, float) - mu) / s
        b = (np.asarray(hi, float) - mu) / s
    m0 = interval_prob(a, b)
    dg = gamma(a) - gamma(b)
    m1 = mu * m0 + s * dg
    m2 = (mu * mu + v) * m0 + 2.0 * mu * s * dg + v * (_z_gamma(a) - _z_gamma(b))
    return m0, m1, m2


def split_expect(pieces: Sequence[Callable | None], breaks: Sequence[float], q: float,
                 mu: float = 0.0, lo: float = -np.inf, hi: float = np.inf) -> float:
    """``E[f(x) 1{lo <= x < hi}]``, ``x ~ N(mu, q)``, where ``f = pieces[k]`` on interval ``k``.

    Interval ``k`` is ``[breaks[k-1], breaks[k])``; ``None`` marks an identically zero
    piece.  Each interval is integrated in ``z = (x - mu)/sqrt(q)`` against ``gamma(z)``
    by ``scipy.integrate.quad`` on the smooth piece alone.
    """
    from scipy import integrate  # the slow reference only: its import pulls in scipy.optimize

    s = float(np.sqrt(q))
    edges = np.concatenate(([-np.inf], np.asarray(breaks, float), [np.inf]))
    total = 0.0
    for k, f in enumerate(pieces):
        a, b = max(edges[k], lo), min(edges[k + 1], hi)
        if f is None or not a < b:
            continue
        za, zb = (a - mu) / s, (b - mu) / s

        def integrand(z, f=f):
            g = gamma(z)
            return f(mu + s * z) * g if g > 0.0 else 0.0  # never evaluate f where z^2 > 1490
        with warnings.catch_warnings():  # quad flags roundoff once within ~1e-14 of the answer
            warnings.simplefilter("ignore", integrate.IntegrationWarning)
            total += integrate.quad(integrand, za, zb, **QUAD_OPTS)[0]
    return total
