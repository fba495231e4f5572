"""The bivariate map of piecewise-polynomial activations where a finite piece is narrow.

Clipped ReLU^2 (``x^2`` on ``[0, sqrt c]``) and hardswish (``x (x + 3)/6`` on ``[-3, 3]``) at
large ``q``: the rectangle moments of :mod:`.exp_bivariate` on a rectangle a small fraction of
``sqrt(q)`` wide are differences of nearly equal orthant probabilities.  There the integral
over a finite piece ``[l, r]`` of width ``w`` is taken by ``GL_N``-node Gauss-Legendre
(docs/theory.md section 3.3):

* both pieces finite: the tensor rule of ``F1(x1) F2(x2) p(x1, x2)``;
* one finite: the rule in ``x1`` of ``F1(x1) p_q(x1) E[F2(x2) 1{x2 in I2} | x1]``, the
  inner expectation in closed form (``x2 | x1 ~ N(rho x1, q (1 - rho^2))``: truncated normal
  moments);
* both infinite: the closed form of :mod:`.exp_bivariate`.

The integrands are polynomials times the Gaussian density, which varies on the scale
``sqrt(q) c`` (``c = sqrt(1 - rho^2)``) along the pieces; where ``w <= sqrt(q) c`` the
integrand grows at most like ``e^{v^2/8 + |v|}`` off the axis in units of the half-width, so
the rule's error is below ``4^(-2 GL_N)`` relative (as :mod:`.exp_poly`'s narrow rule).
:func:`expect` marks those points (and the rounding bound ``ERR_EPS eps sum |terms|`` within
``RTOL |value| + ATOL E[phi^2]``).  Wider pieces at high ``|rho|`` (``w >= NARROW_Z sqrt(q) c``)
take :func:`inner_closed`: the graded outer panels of :mod:`.panel_moments` with this
closed-form inner expectation.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from . import exp_bivariate as EB
from . import exp_poly
from .activations import Activation

GL_N = 16
GL_X, GL_W = np.polynomial.legendre.leggauss(GL_N)
INV_2PI = 1.0 / (2.0 * math.pi)


@lru_cache(maxsize=256)
def _polynomial(act: Activation) -> bool:
    return all(s == 0.0 for o in (0, 1) for _, _, s, _ in EB.groups(act, o))


def applies(act: Activation) -> bool:
    """Piecewise-polynomial (no exponential pieces) with at least one finite piece."""
    return (exp_poly.applies(act) and len(act.breakpoints) >= 2 and _polynomial(act))


def _poly(cn, x):
    return sum(c * x ** n for c, n in cn) + 0.0 * x


def _inner(cn, l: float, r: float, mean, sd):
    """``(E[F(x2); l < x2 < r], magnitude)`` for ``x2 ~ N(mean, sd^2)``, ``F = sum c x^n``."""
    n = max(k for _, k in cn)
    lim = lambda e: np.full(np.shape(mean), math.copysign(EB.BIG, e)) if math.isinf(e) else \
        EB.clamp((e - mean) / sd)  # noqa: E731
    W = EB.conditional(lim(l), lim(r), mean, sd, n)
    v = sum(c * W[k][0] for c, k in cn)
    a = sum(abs(c) * W[k][1] for c, k in cn)
    return v, a


def _nodes(l: float, r: float):
    half = 0.5 * (r - l)
    return 0.5 * (r + l) + half * GL_X, half * GL_W


def pair(g1, g2, q, rho, c):
    """``(value, magnitude)`` of ``E[F1(x1) F2(x2); I1 x I2]`` (module docstring)."""
    (l1, r1, _, cn1), (l2, r2, _, cn2) = g1, g2
    fin1, fin2 = math.isfinite(r1 - l1), math.isfinite(r2 - l2)
    if not (fin1 or fin2):
        v, a, _ = EB.pair(g1, g2, np.sqrt(q), rho, c, *_tpm(rho))
        return v, a
    if not fin1:
        (l1, r1, cn1), (l2, r2, cn2) = (l2, r2, cn2), (l1, r1, cn1)
        fin2 = False
    x1, w1 = _nodes(l1, r1)
    qv, rv, cv = q[:, None], rho[:, None], c[:, None]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
        if fin2:
            x2, w2 = _nodes(l2, r2)
            a, b = x1[:, None], x2[None, :]
            dens = np.exp(-(a * a - 2.0 * rho[:, None, None] * a * b + b * b)
                          / (2.0 * (q * c * c)[:, None, None])) * INV_2PI / (q * c)[:, None, None]
            f = (w1 * _poly(cn1, x1))[:, None] * (w2 * _poly(cn2, x2))[None, :] * dens
            return f.sum(axis=(1, 2)), np.abs(f).sum(axis=(1, 2))
        p1 = np.exp(-x1 * x1 / (2.0 * qv)) / np.sqrt(2.0 * math.pi * qv)
        iv, ia = _inner(cn2, l2, r2, rv * x1, np.sqrt(qv) * cv)
        f1 = w1 * _poly(cn1, x1) * p1
        return (f1 * iv).sum(axis=1), (np.abs(f1) * ia).sum(axis=1)


def _tpm(rho):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.sqrt((1.0 - rho) / (1.0 + rho)), np.sqrt((1.0 + rho) / (1.0 - rho))


def expect(act: Activation, q, rho, order: int = 0):
    """``(E[phi^(order)(u1) phi^(order)(u2)], ok)`` (module docstring)."""
    q, rho = np.broadcast_arrays(np.asarray(q, float), np.asarray(rho, float))
    shape = q.shape
    qf, rf = q.ravel(), rho.ravel()
    c = np.sqrt((1.0 - rf) * (1.0 + rf))
    gs = EB.groups(act, order)
    val, mag = np.zeros(qf.shape), np.zeros(qf.shape)
    for i, g1 in enumerate(gs):
        for j in range(i, len(gs)):
            v, a = pair(g1, gs[j], qf, rf, c)
            w = 1.0 if i == j else 2.0
            val, mag = val + w * v, mag + w * a
    widths = np.diff(act.breakpoints)
    scale = exp_poly.moment(act, qf, "e_phi2" if order == 0 else "e_dphi2")[0]
    ok = ((widths.max() <= np.sqrt(qf) * c) & (c > 0.0) & np.isfinite(val)
          & (EB.ERR_EPS * EB.EPS * mag <= EB.RTOL * np.abs(val) + EB.ATOL * np.abs(scale)))
    return val.reshape(shape), ok.reshape(shape)


def inner_closed(act: Activation, order: int):
    """``(mu, v) -> E[phi^(order)(y)]``, ``y ~ N(mu, v)``: the inner expectation in closed form
    for :func:`.panel_moments.bivariate`."""
    edges = [-math.inf, *act.breakpoints.tolist(), math.inf]
    terms = exp_poly.terms(act, order)

    def f(mu, v):
        sd = np.sqrt(v)
        out = 0.0
        for k, piece in enumerate(terms):
            cn = [(cf, n) for cf, n, _ in piece]
            if cn:
                out = out + _inner(cn, edges[k], edges[k + 1], *np.broadcast_arrays(mu, sd))[0]
        return out + 0.0 * mu
    return f


def inner_fits(act: Activation, q, rho) -> np.ndarray:
    """No piece narrower than ``NARROW_Z`` conditional sds (``|rho| = 1``: the univariate
    panel rule, no inner expectation)."""
    from .generic import NARROW_Z
    q, rho = np.broadcast_arrays(np.asarray(q, float), np.asarray(rho, float))
    sd = np.sqrt(q * ((1.0 - rho) * (1.0 + rho)))
    return np.diff(act.breakpoints).min() >= NARROW_Z * sd

