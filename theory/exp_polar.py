"""A polar product rule for the bivariate map where the closed form cancels (small ``q``).

For ``phi`` kinked only at ``x = 0`` with exponential-polynomial pieces (ELU, SELU, CELU), the
closed form of :mod:`.exp_bivariate` adds terms of size ~1 to get ``E[phi phi] ~ q`` at small
``q`` (``(e^x - 1)`` split into ``e^x`` and ``-1``).  Written in polar coordinates of the
independent normals ``w = R (cos t, sin t)``, ``z1 = R cos t``, ``z2 = R cos(t - beta)``
(``cos beta = rho``), the four sign quadrants of ``(z1, z2)`` are four arcs of ``t`` (lengths
``beta`` and ``pi - beta``) on each of which the integrand is entire in ``(R, t)``::

    E[f(u1) g(u2)] = (1/2 pi) sum_arcs int_arc dt int_0^inf R e^{-R^2/2}
                     f(sqrt(q) R cos t) g(sqrt(q) R cos(t - beta)) dR

(docs/theory.md section 3.3).  A fixed tensor Gauss-Legendre rule (``N_T`` nodes per arc,
``N_R`` on ``[0, R_MAX]``) evaluates it; the pieces ``c (e^{s x} - 1)`` are evaluated as
``c expm1(s x)``, so nothing cancels.  On the arcs the integrand grows at most like
``e^{sqrt(q) |s| R}`` (entire: Gauss-Legendre converges geometrically, Trefethen 2013,
ch. 19); for ``sqrt(q) |s| <= S_MAX`` the rule agrees with the closed form to 1e-14 of
``E[phi^2]`` wherever that is accurate (12 x 28 nodes: 5e-12; 16 x 20: 1e-11; 16 x 24:
9e-15, the closed form's own rounding) -- :func:`accurate` marks those points, and
tests/test_routes.py checks the rule against mpmath at ``q`` = 0.01 and 0.05 (ELU, CELU).
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from . import exp_poly
from .activations import Activation

N_T, N_R = 16, 24
R_MAX = 9.0  # R e^{-R^2/2} < 3e-17 beyond
S_MAX = 1.0  # sqrt(q) |s|: the exponential pieces vary on the Gaussian's scale or slower
_T, _WT = np.polynomial.legendre.leggauss(N_T)
_R, _WR = np.polynomial.legendre.leggauss(N_R)
_R, _WR = 0.5 * R_MAX * (_R + 1.0), 0.5 * R_MAX * _WR
_WR = _WR * _R * np.exp(-0.5 * _R * _R) / (2.0 * math.pi)


@lru_cache(maxsize=256)
def _rates(act: Activation) -> float:
    """The largest ``|s|`` among the exponential rates of ``phi``'s pieces."""
    return max((abs(s) for piece in exp_poly.terms(act, 0) for _, _, s in piece), default=0.0)


def applies(act: Activation) -> bool:
    return exp_poly.applies(act) and len(act.breakpoints) == 1 and act.breakpoints[0] == 0.0


def accurate(act: Activation, q, rho) -> np.ndarray:
    """Where the rule meets its bound: ``sqrt(q) max |s| <= S_MAX``."""
    q, rho = np.broadcast_arrays(np.asarray(q, float), np.asarray(rho, float))
    return (np.sqrt(q) * _rates(act) <= S_MAX) & (q > 0.0)


def _piece_fn(terms):
    """``x -> sum c x^n e^{s x}``, with ``c (e^{s x} - 1)`` as ``c expm1(s x)``."""
    terms = list(terms)
    pair = [(c, s) for c, n, s in terms if n == 0 and s != 0.0]
    const = [c for c, n, s in terms if n == 0 and s == 0.0]
    if len(pair) == 1 and len(const) == 1 and pair[0][0] == -const[0]:
        c, s = pair[0]
        rest = [t for t in terms if t[1] != 0]
        return lambda x: c * np.expm1(s * x) + sum(k * x ** n * np.exp(r * x) for k, n, r in rest)
    return lambda x: sum(k * x ** n * np.exp(r * x) for k, n, r in terms) + 0.0 * x


@lru_cache(maxsize=256)
def _pieces(act: Activation, order: int):
    neg, pos = exp_poly.terms(act, order)
    return _piece_fn(neg), _piece_fn(pos)


def bivariate(act: Activation, q, rho, order: int = 0):
    """``E[phi^(order)(u1) phi^(order)(u2)]`` by the polar rule (module docstring)."""
    q, rho = np.broadcast_arrays(np.asarray(q, float), np.asarray(rho, float))
    shape = q.shape
    sq, r = np.sqrt(q.ravel())[:, None, None], rho.ravel()
    beta = np.arccos(np.clip(r, -1.0, 1.0))[:, None]
    neg, pos = _pieces(act, order)
    h = 0.5 * math.pi
    # (start, length, f piece, g piece) per arc: (+,-), (+,+), (-,+), (-,-)
    arcs = ((-h, beta, pos, neg), (beta - h, math.pi - beta, pos, pos),
            (h, beta, neg, pos), (beta + h, math.pi - beta, neg, neg))
    total = np.zeros(r.shape)
    rr = sq * _R  # (n, 1, N_R)
    for start, length, f, g in arcs:
        t = start + 0.5 * length * (_T + 1.0)  # (n, N_T)
        c1, c2 = np.cos(t)[..., None], np.cos(t - beta)[..., None]
        vals = f(rr * c1) * g(rr * c2)  # (n, N_T, N_R)
        total += 0.5 * length[:, 0] * ((vals @ _WR) @ _WT)
    return total.reshape(shape)[()]
