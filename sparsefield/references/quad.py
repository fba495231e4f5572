"""The independent slow quadrature reference (was ``method="quad"`` of the moment routes):
adaptive quadrature of each smooth piece between breakpoints
(:func:`sparsefield.theory.gaussian.split_expect`), kink terms in closed form; bivariate:
the panel rule with its generic inner integral.  Used by the tests,
:mod:`sparsefield.testing` and the verification matrix (:mod:`sparsefield.numerics.check`),
never by production code; same signatures as :mod:`sparsefield.theory.moments`.
"""

from __future__ import annotations

import math

import numpy as np

from sparsefield.theory import generic, jumps
from sparsefield.theory.activations import Activation
from sparsefield.theory.errors import ParameterError
from sparsefield.theory.gaussian import gamma, split_expect

__all__ = ["e_phi", "e_phi2", "e_dphi2", "e_phi_d2phi", "e_phi_dphi", "p_zero", "d2q_e_phi2",
           "e_phi_phi", "e_dphi_dphi"]


def _univariate(act: Activation, quantity: str, q, region: str = "all"):
    """Adaptive quadrature of ``quantity`` at every ``q`` (kink deltas of ``phi''`` added)."""
    if region not in generic.REGIONS:
        raise ValueError(f"region={region!r} must be one of {sorted(generic.REGIONS)}")
    lo, hi = generic.REGIONS[region]
    fs = generic.integrand(act, quantity, True)
    g = np.vectorize(lambda qq: split_expect(fs, act.breakpoints, qq, lo=lo, hi=hi),
                     otypes=[float])
    v = g(np.asarray(q, float))[()]
    v = v + generic.delta_terms(act, q) if quantity == "e_phi_d2phi" else v
    return generic.finite(v, q)


def e_phi(act: Activation, q):
    """``E[phi(x)]``, ``x ~ N(0, q)``."""
    return _univariate(act, "e_phi", q)


def e_phi2(act: Activation, q):
    """``E[phi(x)^2]``."""
    return _univariate(act, "e_phi2", q)


def e_dphi2(act: Activation, q):
    """``E[phi'(x)^2]`` (infinite when ``phi`` jumps: :mod:`sparsefield.theory.jumps`)."""
    return jumps.e_dphi2(act, q) if act.has_jumps else _univariate(act, "e_dphi2", q)


def e_phi_d2phi(act: Activation, q):
    """``E[phi phi'']`` in the sense of distributions (undefined when ``phi`` jumps)."""
    if act.has_jumps:
        raise jumps.undefined(act, "E[phi phi'']")
    return _univariate(act, "e_phi_d2phi", q)


def e_phi_dphi(act: Activation, q, region: str = "all"):
    """``E[phi phi']`` over all, positive or negative pre-activations."""
    return _univariate(act, "e_phi_dphi", q, region)


def p_zero(act: Activation, q):
    """``P(phi(x) = 0)``."""
    return _univariate(act, "p_zero", q)


def d2q_e_phi2(act: Activation, q):
    """``d^2/dq^2 E[phi^2] = E[phi^2 He_4(z)] / (4 q^2)`` (the density differentiated)."""
    def make(k, qq):
        f = act.piece(k, 0)
        return lambda x: f(x) ** 2 * ((x * x - qq) ** 2 / (4 * qq ** 4)
                                      + (qq - 2 * x * x) / (2 * qq ** 3))
    n = len(act.breakpoints) + 1
    f = np.vectorize(lambda qv: split_expect([make(k, qv) for k in range(n)],
                                             act.breakpoints, qv), otypes=[float])
    return generic.finite(f(np.asarray(q, float))[()], q)


def _bivariate(act: Activation, q, rho, order: int):
    r = np.asarray(rho, float)
    if np.any(~(np.abs(r) <= 1.0)):
        raise ParameterError("rho", float(r[~(np.abs(r) <= 1.0)][0]) if r.ndim else float(r),
                             "in [-1, 1]")
    return generic.bivariate(act, q, rho, order)


def e_phi_phi(act: Activation, q, rho):
    """``E[phi(u1) phi(u2)]``, ``u1, u2 ~ N(0, q)`` with correlation ``rho``."""
    return _bivariate(act, q, rho, 0)


def e_dphi_dphi(act: Activation, q, rho):
    """``E[phi'(u1) phi'(u2)]`` (plus the delta terms of ``phi'`` when ``phi`` jumps)."""
    if act.has_jumps:
        return _bivariate(act, q, rho, 1) + _delta_dphi_dphi(act, q, rho)
    return _bivariate(act, q, rho, 1)


def _delta_dphi_dphi(act: Activation, q, rho):
    """The jump terms of ``E[phi'(u1) phi'(u2)]`` point by point by adaptive quadrature of
    ``E[g(u2) | u1 = b]`` (``g`` the classical derivative; docs/theory.md section 4.5):
    ``2 sum_b D_b p_q(b) E[g(u2) | u1 = b] + sum_{b,b'} D_b D_b' p_2(b, b')``."""
    pieces = [act.piece(k, 1) for k in range(len(act.breakpoints) + 1)]
    jumps = [(b, d) for b, d in zip(act.breakpoints, act.jumps) if d != 0.0]

    def p2(b1: float, b2: float, qv: float, r: float) -> float:
        det = 1.0 - r * r
        return math.exp(-(b1 * b1 - 2 * r * b1 * b2 + b2 * b2) / (2 * qv * det)) / (
            2 * math.pi * qv * math.sqrt(det))

    def one(qv: float, r: float) -> float:
        if abs(r) == 1.0:
            if any(abs(b2 - r * b1) <= 1e-12 * max(1.0, abs(b1)) for b1, _ in jumps
                   for b2, _ in jumps):
                return math.inf
            return sum(2 * d * gamma(b / math.sqrt(qv)) / math.sqrt(qv)
                       * float(act.derivative(r * b)) for b, d in jumps)
        cross = sum(2 * d * gamma(b / math.sqrt(qv)) / math.sqrt(qv)
                    * split_expect(pieces, act.breakpoints, qv * (1 - r * r), mu=r * b)
                    for b, d in jumps)
        return cross + sum(d1 * d2 * p2(b1, b2, qv, r) for b1, d1 in jumps for b2, d2 in jumps)
    return np.vectorize(one, otypes=[float])(q, rho)[()]
