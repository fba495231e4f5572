"""Gauss-Legendre rules on short intervals with an a-priori error bound (docs/theory.md 3.2).

For an entire integrand ``f = P F`` on ``[lo, lo + 2 ell]`` (``P`` a non-negative polynomial
factor, ``F`` Gaussian and normal-tail factors), the ``n``-point rule errs by at most
``(64/15) M R^{-2n} / (R^2 - 1)`` per axis, ``M = max |f|`` on the Bernstein ellipse ``E_R``
(Trefethen, *Approximation Theory and Approximation Practice*, Thm 19.3).  With ``U`` a bound on
``Re log F`` over ``E_R``, ``g = log F(-1)`` and ``G >= |d log F / d xi|`` on the real segment,
``F >= F(-1) e^{-G (1 + xi)}`` there, so ``I >= F(-1) int P e^{-G (1 + xi)}`` and
``log(M / I) <= U - g + log(max_E |P| / int P e^{-G(1 + xi)})``.  :func:`level` picks, per
point, the smallest ``n`` of ``LEVELS`` whose bound is ``<= QUAD_TOL`` relative; the
``log_*`` functions give ``(U, g, G)`` per factor.  Used by :mod:`.pl_narrow`.
"""

from __future__ import annotations

import numpy as np
from scipy.special import log_ndtr

EPS = np.finfo(float).eps
LEVELS = (6, 8, 10, 12, 16, 20, 24, 32)
RULES = {n: np.polynomial.legendre.leggauss(n) for n in LEVELS}
RADII = np.array([1.5, 2.0, 3.0, 4.5, 7.0, 11.0, 17.0])
QUAD_TOL = 2e-15  # relative quadrature error allowed per pair term
INV_SQRT2PI = 1.0 / np.sqrt(2.0 * np.pi)


def ellipse():
    R = RADII[:, None]
    return R, 0.5 * (R + 1.0 / R), 0.5 * (R - 1.0 / R)


def crude_gauss(m, ell, A, B):
    """``max_{E_R} Re g - min_{[-1,1]} g`` for ``g(xi) = -(m + ell xi)^2 / 2`` (then
    ``M/I <= e^span max|P| / int P``: :mod:`.pl_narrow_odd`)."""
    return np.abs(m) * ell * (A + 1.0) + 0.5 * ell * ell * (B * B + 1.0)


def crude_gauss_u(um, su, A, B):
    """The same for ``-u^2/2``, ``u = um + su xi`` (``|Re u - um| <= su A``, ``|Im u| <= su B``)."""
    hi = 0.5 * (np.abs(um) + su) ** 2
    return hi + 0.5 * (su * B) ** 2 - 0.5 * np.maximum(np.abs(um) - su * A, 0.0) ** 2


def log_gamma(m, ell, A, B):
    """``(U, g, G)`` of ``log gamma(x)``, ``x = m + ell xi`` on ``[a, b] = [m - ell, m + ell]``,
    ``a >= 0``: ``U`` bounds ``Re log`` on the ellipse, ``g`` is the value at ``xi = -1`` and
    ``G`` bounds ``|d/dxi log|`` on ``[-1, 1]``."""
    U = 0.5 * (ell * B) ** 2 - 0.5 * np.maximum(m - ell * A, 0.0) ** 2
    return U, -0.5 * (m - ell) ** 2, ell * (m + ell)


def log_gauss(vm, s, A, B):
    """The same for ``-v^2/2``, ``v = vm + sum_d s_d xi_d``: ``G`` per axis."""
    tot = sum(np.abs(sd) for sd in s)
    U = 0.5 * (tot * B) ** 2 - 0.5 * np.maximum(np.abs(vm) - tot * A, 0.0) ** 2
    return U, -0.5 * (vm - sum(s)) ** 2, [np.abs(sd) * (np.abs(vm) + tot) for sd in s]


def log_q(um, su, A, B):
    """The same for ``log Q(u)``, ``u = um + su xi``: ``|Q(u)| <= exp((Im u^2 - Re u^2)/2)/2``
    for ``Re u >= 0`` (Faddeeva: ``|erfcx| <= 1`` there), ``<= 1 + exp(Im u^2 / 2)/2`` else;
    ``|d log Q/du| = gamma/Q <= max(u, 0) + 1``."""
    im2 = 0.5 * (su * B) ** 2
    re = um - np.abs(su) * A
    U = np.where(re > 0.0, im2 - 0.5 * np.maximum(re, 0.0) ** 2 - np.log(2.0),
                 np.log1p(0.5 * np.exp(np.minimum(im2, 700.0))))
    return U, log_ndtr(-(um - su)), np.abs(su) * (np.maximum(um + np.abs(su), 0.0) + 1.0)


def poly_ratio(A, G, order, degree=1):
    """``log`` of ``max_E |P| / (ell^k int P e^{-G (1 + xi)})`` for ``P = ell (1 + xi)``
    (``order`` 0; ``degree`` 2: its square; ``degree`` 0: ``P = p0 + ell (1 + xi)``, ``p0 >=
    0``) or ``1`` (``order`` 1)."""
    G = np.maximum(G, 1e-3)  # a larger G keeps F >= F(-1) e^{-G (1 + xi)} true
    if order == 1:
        return np.log(G / -np.expm1(-2.0 * G))
    if degree == 2:
        return 2.0 * np.log(A + 1.0) + (np.log(3.0 / 8.0) + 2.0 * G)
    box = np.log(G / -np.expm1(-2.0 * G))
    ramp = np.log(G * G / (-np.expm1(-2.0 * G) - 2.0 * G * np.exp(-2.0 * G)))
    return np.log(A + 1.0) + (ramp if degree == 1 else np.maximum(ramp, box))


def level(logs):
    """Per point, the smallest ``n`` in ``LEVELS`` whose bound ``4 (64/15) R^{-2n} / (R^2 - 1)
    M/I`` is ``<= QUAD_TOL`` for every ``log(M/I)`` in ``logs`` (``0`` where none is):
    Trefethen's bound per axis of the tensor rule, ``I >= F(-1) int P e^{-G (1 + xi)}`` with
    ``F >= F(-1) e^{-G (1 + xi)}`` on the real segment."""
    R, _, _ = ellipse()
    const = np.log(4.0 * (64.0 / 15.0) / (R * R - 1.0))
    worst = np.max(np.stack(logs), axis=0)  # (radii, points)
    need = np.zeros(worst.shape[1], int)
    for n in LEVELS[::-1]:
        with np.errstate(invalid="ignore"):
            ok = np.min(const - 2.0 * n * np.log(R) + worst, axis=0) <= np.log(QUAD_TOL)
        need[ok] = n
    return need


def gl(n, lo, hi):
    """Nodes, their offsets from ``lo`` (exact to an ulp: ``P`` near ``lo`` keeps its relative
    accuracy) and weights of the ``n``-point rule on ``[lo, hi]`` per row (empty: weight 0)."""
    x, w = RULES[n]
    half = 0.5 * np.maximum(hi - lo, 0.0)[:, None]
    t = half * (1.0 + x)
    return lo[:, None] + t, t, half * w


def gam(x):
    return np.exp(-0.5 * x * x) * INV_SQRT2PI


def poly(t, shift, order):
    """``P = z - a`` at the nodes ``lo + t`` (``shift = lo - a >= 0``), or ``1``."""
    return t + shift[:, None] if order == 0 else 1.0


def wmean(f, k, axes):
    """``sum |f| k / sum |f|``: the relative rounding bound of ``sum f`` whose terms carry
    relative errors ``<= k eps`` (first order)."""
    f = np.abs(f)
    den = f.sum(axis=axes)
    return np.where(den > 0.0, (f * k).sum(axis=axes) / np.where(den > 0.0, den, 1.0), 0.0)


def node_kappa(x, b):
    """Relative error of ``gamma`` at a node ``x`` (itself ``2 eps b`` off) in ulps."""
    return 4.0 + x * x + 2.0 * b[:, None] * np.abs(x)
