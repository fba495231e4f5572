"""Gaussian moments of an activation, ``x ~ N(0, q)`` (and bivariate ``u1, u2``).

Each function hands its points to the route registry (:mod:`.routes`), which sends every
point to the first route that applies to the activation and meets its error bound there:
closed forms (the arc-cosine kernel :mod:`.arccos`, GELU :mod:`.gelu_kernel`,
piecewise-linear :mod:`.piecewise_linear` and, for their bivariate map, :mod:`.pl_bivariate`
where its error bound holds, exponential-polynomial pieces :mod:`.exp_poly`),
the strip rules for activations analytic in a strip (:mod:`.strip`), else the fixed panel
rule (:mod:`.generic`).  ``method``: ``"auto"`` as just said; ``"closed"`` closed forms only
(``TypeError`` where there is none); ``"panels"`` the panel rule.  The independent slow
reference (adaptive quadrature of each smooth piece between breakpoints) is
:mod:`sparsefield.references.quad`, used by tests and checks only.

The delta terms of ``phi''`` at kinks are added in closed form.  ``q`` (and ``rho``) may be
scalars or arrays; one Python float ``q`` of a piecewise-linear activation takes the scalar
fast path of :mod:`.scalar_closed` (``E[phi^2]``, ``E[phi'^2]``, ``E[phi phi'']``), one float
``(q, rho)`` that of :mod:`.pl_scalar` (the orthant closed form, where its bound holds).  A result
that cannot be computed in floating point raises :class:`.errors.ParameterError` naming
``q``; no NaN is ever returned.
"""

from __future__ import annotations

import math

import numpy as np

from . import jumps, pl_scalar, routes, scalar_closed, tails
from .activations import Activation
from .errors import ParameterError
from .generic import REGIONS, dq_e_phi2_panels, finite
from .routes import METHODS, evaluate

__all__ = ["METHODS", "e_phi", "e_phi2", "e_dphi2", "e_phi_d2phi", "e_phi_dphi", "p_zero",
           "dq_e_phi2", "d2q_e_phi2", "e_phi_phi", "e_dphi_dphi"]


def _univariate(act: Activation, quantity: str, q, method: str, **kw):
    return finite(evaluate(act, quantity, (q,), method, **kw), q)


def _one(act: Activation, q, method: str):
    """The scalar fast path (:mod:`.scalar_closed`) for one float ``q`` inside its band
    ``generic.q_range``, else ``None``: the same forms as the registry's ``pl_tail`` route
    (and the kink sum of ``E[phi phi'']``), without the per-call numpy cost (~1 us per
    operation)."""
    if method != "auto" or type(q) is not float:
        return None
    f = scalar_closed.scalar(act)
    return f if f is not None and f.applies(q) else None


def e_phi(act: Activation, q, method: str = "auto"):
    """``E[phi(x)]``."""
    return _univariate(act, "e_phi", q, method)


def e_phi2(act: Activation, q, method: str = "auto"):
    """``E[phi(x)^2]``: the variance map is ``V(q) = sigma_w^2 E[phi^2] + sigma_b^2``."""
    f = _one(act, q, method)  # [scalar fast path] one float q (scalar_closed.py)
    if f is not None:
        return np.float64(f.moments(q)[0])
    return _univariate(act, "e_phi2", q, method)


def e_dphi2(act: Activation, q, method: str = "auto"):
    """``E[phi'(x)^2]``: ``chi_1 = sigma_w^2 E[phi'^2]`` (Poole et al. 2016)."""
    if act.has_jumps:  # [jumps hook] delta terms in phi': infinite (theory/jumps.py)
        return jumps.e_dphi2(act, q)
    f = _one(act, q, method)  # [scalar fast path] one float q (scalar_closed.py)
    if f is not None:
        return np.float64(f.moments(q)[1])
    return _univariate(act, "e_dphi2", q, method)


def e_phi_d2phi(act: Activation, q, method: str = "auto"):
    """``E[phi phi'']`` in the sense of distributions: smooth part plus kink deltas."""
    if act.has_jumps:  # [jumps hook] phi times delta': undefined (theory/jumps.py)
        raise jumps.undefined(act, "E[phi phi'']")
    f = _one(act, q, method)  # [scalar fast path] one float q (scalar_closed.py)
    if f is not None:
        return np.float64(f.moments(q)[2])
    return _univariate(act, "e_phi_d2phi", q, method)


def e_phi_dphi(act: Activation, q, region: str = "all", method: str = "auto"):
    """``E[phi phi']`` over all, positive (``x >= 0``) or negative pre-activations [BF2]."""
    if region not in REGIONS:
        raise ValueError(f"region={region!r} must be one of {sorted(REGIONS)}")
    return _univariate(act, "e_phi_dphi", q, method, region=region)


def p_zero(act: Activation, q, method: str = "auto"):
    """``P(phi(x) = 0)``: the exact-zero sparsity at initialisation (docs/theory.md section 4.1)."""
    return _univariate(act, "p_zero", q, method)


def dq_e_phi2(act: Activation, q):
    """``d/dq E[phi^2]`` by differentiating the density: ``E[phi^2 He_2(z)] / (2q)``,
    ``z = x/sqrt(q)``, ``He_2 = z^2 - 1``.

    Independent of ``phi'`` and ``phi''``; by Gaussian integration by parts (Stein) it
    equals ``E[phi'^2] + E[phi phi'']``, which is how the tests check the delta terms.
    """
    return dq_e_phi2_panels(act, q)


def d2q_e_phi2(act: Activation, q, method: str = "auto"):
    """``d^2/dq^2 E[phi^2] = E[phi^2 He_4(z)] / (4 q^2)``, ``He_4 = z^4 - 6 z^2 + 3``
    (the density differentiated twice in ``q``); ``method="auto"``: the forms of
    :mod:`.tails` that do not cancel, where they apply."""
    if method == "auto":  # [tails hook] (theory/tails.py)
        return tails.dq_e_phi2(act, q, 2, lambda qq: _d2q_e_phi2(act, qq, method))
    return _d2q_e_phi2(act, q, method)


def _d2q_e_phi2(act: Activation, q, method: str):
    if act.has_jumps and method in ("auto", "closed"):  # [jumps hook] the closed form
        method = "panels"  # assumes continuity; the He_4 form does not
    return _univariate(act, "d2q_e_phi2", q, method)


# --- bivariate: u1, u2 ~ N(0, q), correlation rho -----------------------------------
def _point(q, rho, method: str) -> bool:
    """One float ``(q, rho)`` in range (O(1) checks, no arrays; anything else takes the
    validation below)."""
    return (type(q) is float and type(rho) is float and 0.0 <= q < math.inf
            and -1.0 <= rho <= 1.0 and method in METHODS)


def _bivariate(act: Activation, q, rho, order: int, method: str):
    if _point(q, rho, method):
        if method == "auto" and routes.first(act, "bivariate") == "pl_bivariate":
            v, ok = pl_scalar.point(act, q, rho, order)  # [pl scalar fast path] (pl_scalar.py)
            if ok:
                return np.float64(v)
            # declined: the array pass of pl_bivariate would decline it again (same bits)
            return finite(routes.after(act, "bivariate", (q, rho), "pl_bivariate", method,
                                       order=order), q)
        return finite(evaluate(act, "bivariate", (q, rho), method, order=order), q)
    if method not in METHODS:
        raise ValueError(f"method={method!r} must be one of {METHODS}")
    r = np.asarray(rho, float)
    if np.any(~(np.abs(r) <= 1.0)):
        raise ParameterError("rho", float(r[~(np.abs(r) <= 1.0)][0]) if r.ndim else float(r),
                             "in [-1, 1]")
    qa = np.asarray(q, float)
    if np.any(~((qa >= 0.0) & (qa < np.inf))):
        raise ParameterError("q", float(qa[~((qa >= 0.0) & (qa < np.inf))][0]) if qa.ndim
                             else float(qa), "a finite variance >= 0")
    zero = qa == 0.0
    if not np.any(zero):
        return finite(evaluate(act, "bivariate", (q, rho), method, order=order), q)
    qb, rb = np.broadcast_arrays(qa, r)
    out = _at_q0(act, rb, order)  # u1 = u2 = 0: the limit q -> 0+
    if not np.all(zero):
        at = qb != 0.0
        out[at] = finite(evaluate(act, "bivariate", (qb[at], rb[at]), method, order=order), q)
    return out[()]


def _at_q0(act: Activation, rho, order: int):
    """``lim_{q -> 0+} E[phi^(o)(u1) phi^(o)(u2)]``: ``phi^(o)(0)^2`` where ``phi^(o)`` is
    continuous at 0; at a kink (``order = 1``) or jump with one-sided values ``a-``, ``a+``
    the orthant probabilities ``P(++) = P(--) = 1/4 + asin(rho)/(2 pi)`` weigh them
    (``(a+^2 + a-^2) P(++) + 2 a+ a- P(+-)``, Sheppard's formula)."""
    b = np.asarray(act.breakpoints, float)
    lo, hi = (float(act.piece(int(np.searchsorted(b, 0.0, side)), order)(0.0))
              for side in ("left", "right"))
    same = 0.25 + np.arcsin(np.asarray(rho, float)) / (2.0 * np.pi)
    return (lo * lo + hi * hi) * same + 2.0 * lo * hi * (0.5 - same)


def e_phi_phi(act: Activation, q, rho, method: str = "auto"):
    """``E[phi(u1) phi(u2)]``, ``u1, u2 ~ N(0, q)`` with correlation ``rho``: the arc-cosine
    kernel (Cho & Saul 2009) for homogeneous two-piece ``phi``; for piecewise-linear ``phi``
    the orthant closed form of :mod:`.pl_bivariate` (Owen's T, Rosenbaum 1961) at every point
    where its error bound holds; else an outer panel rule in ``z1`` of the conditional
    expectation over the centred ``z2`` (closed form for piecewise-linear ``phi``), see
    :mod:`.panel_moments` and :mod:`.routes`."""
    return _bivariate(act, q, rho, 0, method)


def e_dphi_dphi(act: Activation, q, rho, method: str = "auto"):
    """``E[phi'(u1) phi'(u2)]``: the slope of the correlation map is ``sigma_w^2`` times it."""
    if act.has_jumps:  # [jumps hook] plus the delta terms of phi' (theory/jumps.py)
        return _bivariate(act, q, rho, 1, method) + jumps.delta_dphi_dphi(act, q, rho)
    return _bivariate(act, q, rho, 1, method)
