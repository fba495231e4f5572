"""Gaussian moments of an activation, ``x ~ N(0, q)`` (and bivariate ``u1, u2``).

Each function uses the closed forms of :mod:`sparsefield.theory.piecewise_linear` when the
activation is piecewise linear and ``method="auto"``; otherwise (or with
``method="quad"``) it integrates the smooth pieces between breakpoints
(:func:`sparsefield.theory.gaussian.split_expect`) and adds the delta terms of ``phi''`` at kinks.
``q`` may be a scalar or an array.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Callable

import numpy as np

from . import jumps
from .activations import Activation
from .gaussian import split_expect, truncated_moments
from .piecewise_linear import PiecewiseLinear, density


def _closed(act: Activation, method: str) -> PiecewiseLinear | None:
    if method not in ("auto", "quad", "closed"):
        raise ValueError(f"method={method!r} must be 'auto', 'quad' or 'closed'")
    if method == "quad" or not act.is_piecewise_linear:
        if method == "closed":
            raise TypeError(f"no closed form: {act.name} is not piecewise linear")
        return None
    return _pl(act)


@lru_cache(maxsize=256)
def _pl(act: Activation) -> PiecewiseLinear:
    return PiecewiseLinear.of(act.family, *act.values)


def _quad(act: Activation, q, make: Callable[[int], Callable | None], **kw):
    """Vectorised :func:`split_expect` of the per-interval integrands ``make(k)``."""
    pieces = [make(k) for k in range(len(act.breakpoints) + 1)]
    f = np.vectorize(lambda qq: split_expect(pieces, act.breakpoints, qq, **kw), otypes=[float])
    return f(np.asarray(q, float))[()]


def _pieces(act: Activation, order: int) -> list:
    zero = act.family.zero_pieces
    return [None if (order >= 0 and zero[k]) else act.piece(k, order)
            for k in range(len(zero))]


def _delta_terms(act: Activation, q):
    """``sum_k J_k phi(b_k) p_q(b_k)``: the kink contributions to ``E[phi phi'']``."""
    q = np.asarray(q, float)
    return sum((j * float(act(b)) * density(b, q) for j, b in zip(act.kinks, act.breakpoints)),
               0.0 * q)[()]


def e_phi(act: Activation, q, method: str = "auto"):
    """``E[phi(x)]``."""
    pl = _closed(act, method)
    if pl is not None:
        return pl.e_phi(q)[()]
    p = _pieces(act, 0)
    return _quad(act, q, lambda k: p[k])


def e_phi2(act: Activation, q, method: str = "auto"):
    """``E[phi(x)^2]``: the variance map is ``V(q) = sigma_w^2 E[phi^2] + sigma_b^2``."""
    pl = _closed(act, method)
    if pl is not None:
        return pl.e_phi2(q)[()]
    p = _pieces(act, 0)
    return _quad(act, q, lambda k: None if p[k] is None else (lambda x, f=p[k]: f(x) ** 2))


def e_dphi2(act: Activation, q, method: str = "auto"):
    """``E[phi'(x)^2]``: ``chi_1 = sigma_w^2 E[phi'^2]`` (Poole et al. 2016)."""
    if act.has_jumps:  # [jumps hook] delta terms in phi': infinite (theory/jumps.py)
        return jumps.e_dphi2(act, q)
    pl = _closed(act, method)
    if pl is not None:
        return pl.e_dphi2(q)[()]
    return _quad(act, q, lambda k: (lambda x, f=act.piece(k, 1): f(x) ** 2))


def e_phi_d2phi(act: Activation, q, method: str = "auto"):
    """``E[phi phi'']`` in the sense of distributions: smooth part plus kink deltas."""
    if act.has_jumps:  # [jumps hook] phi times delta': undefined (theory/jumps.py)
        raise jumps.undefined(act, "E[phi phi'']")
    pl = _closed(act, method)
    if pl is not None:
        return pl.e_phi_d2phi(q)[()]
    smooth = _quad(act, q, lambda k: (lambda x, f=act.piece(k, 0), g=act.piece(k, 2):
                                      f(x) * g(x)))
    return smooth + _delta_terms(act, q)


def e_phi_dphi(act: Activation, q, region: str = "all", method: str = "auto"):
    """``E[phi phi']`` over all, positive (``x >= 0``) or negative pre-activations [BF2]."""
    bounds = {"all": (-np.inf, np.inf), "pos": (0.0, np.inf), "neg": (-np.inf, 0.0)}
    if region not in bounds:
        raise ValueError(f"region={region!r} must be one of {sorted(bounds)}")
    lo, hi = bounds[region]
    pl = _closed(act, method)
    if pl is not None:
        return pl.e_phi_dphi(q, lo, hi)[()]
    return _quad(act, q, lambda k: (lambda x, f=act.piece(k, 0), g=act.piece(k, 1):
                                    f(x) * g(x)), lo=lo, hi=hi)


def p_zero(act: Activation, q, method: str = "auto"):
    """``P(phi(x) = 0)``: the exact-zero sparsity at initialisation (science.md 4.1)."""
    pl = _closed(act, method)
    if pl is not None:
        return pl.p_zero(q)[()]
    ones = [(lambda x: 1.0) if z else None for z in act.family.zero_pieces]
    return _quad(act, q, lambda k: ones[k])


def dq_e_phi2(act: Activation, q):
    """``d/dq E[phi^2]`` by differentiating the density: ``E[phi^2 (x^2/q - 1)] / (2q)``.

    Independent of ``phi'`` and ``phi''``; by Gaussian integration by parts (Stein) it
    equals ``E[phi'^2] + E[phi phi'']``, which is how the tests check the delta terms.
    """
    def make(k, qq):
        f = act.piece(k, 0)
        return lambda x: f(x) ** 2 * (x * x / qq - 1.0) / (2.0 * qq)
    return _vector_over_q(act, q, make)


def d2q_e_phi2(act: Activation, q, method: str = "auto"):
    """``d^2/dq^2 E[phi^2]``; quadrature form ``E[phi^2 ((x^2-q)^2/4q^4 + (q-2x^2)/2q^3)]``."""
    if act.has_jumps:  # [jumps hook] the closed form assumes continuity; this one does not
        method = "quad"
    pl = _closed(act, method)
    if pl is not None:
        return pl.d2q_e_phi2(q)[()]

    def make(k, qq):
        f = act.piece(k, 0)
        return lambda x: f(x) ** 2 * ((x * x - qq) ** 2 / (4 * qq ** 4)
                                      + (qq - 2 * x * x) / (2 * qq ** 3))
    return _vector_over_q(act, q, make)


def _vector_over_q(act: Activation, q, make):
    """Quadrature whose integrand ``make(k, q)`` depends on ``q`` itself."""
    n = len(act.breakpoints) + 1
    f = np.vectorize(lambda qv: split_expect([make(k, qv) for k in range(n)],
                                             act.breakpoints, qv), otypes=[float])
    return f(np.asarray(q, float))[()]


# --- bivariate: u1, u2 ~ N(0, q), correlation rho -----------------------------------
def _conditional(act: Activation, order: int, pl: PiecewiseLinear | None):
    """``u1 -> E[phi^(order)(u2) | u1]`` with ``u2 | u1 ~ N(rho u1, q (1 - rho^2))``."""
    def closed(u1, q, rho):
        mu, v = rho * u1, q * (1 - rho * rho)
        if order == 0:
            return pl.e_phi(v, mu)
        return sum(a * truncated_moments(lo, hi, mu, v)[0]
                   for a, lo, hi in zip(pl.slopes, pl.edges[:-1], pl.edges[1:]))

    pieces = [act.piece(k, order) for k in range(len(act.breakpoints) + 1)]

    def quad(u1, q, rho):
        return split_expect(pieces, act.breakpoints, q * (1 - rho * rho), mu=rho * u1)
    return closed if pl is not None else quad


def _bivariate(act: Activation, q, rho, order: int, method: str):
    pl = _closed(act, method)
    inner = _conditional(act, order, pl)

    def one(qv: float, r: float) -> float:
        if not -1.0 <= r <= 1.0:
            raise ValueError(f"rho={r} must be in [-1, 1]")
        outer = [act.piece(k, order) for k in range(len(act.breakpoints) + 1)]
        if abs(r) == 1.0:  # u2 = +-u1: a univariate expectation
            return split_expect([lambda x, f=f: f(x) * act.derivative(r * x, order)
                                 if order else f(x) * act(r * x) for f in outer],
                                act.breakpoints, qv)
        return split_expect([lambda x, f=f: f(x) * inner(x, qv, r) for f in outer],
                            act.breakpoints, qv)
    return np.vectorize(one, otypes=[float])(q, rho)[()]


def e_phi_phi(act: Activation, q, rho, method: str = "auto"):
    """``E[phi(u1) phi(u2)]``: outer quadrature between breakpoints of the inner
    conditional expectation (closed form for piecewise-linear ``phi``)."""
    return _bivariate(act, q, rho, 0, method)


def e_dphi_dphi(act: Activation, q, rho, method: str = "auto"):
    """``E[phi'(u1) phi'(u2)]``: the slope of the correlation map is ``sigma_w^2`` times it."""
    if act.has_jumps:  # [jumps hook] plus the delta terms of phi' (theory/jumps.py)
        return _bivariate(act, q, rho, 1, method) + jumps.delta_dphi_dphi(act, q, rho)
    return _bivariate(act, q, rho, 1, method)
