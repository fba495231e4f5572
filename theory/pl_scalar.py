"""One-point fast path of the piecewise-linear bivariate closed form (scalar calls of
:mod:`.pl_bivariate`).

``E[phi^(order)(u1) phi^(order)(u2)]``, ``order`` 0 or 1, at one float ``(q, rho)``: the same
tail basis (:func:`.pl_bivariate.basis`), the same Rosenbaum (1961) / Owen (1956) upper-orthant
moments of :mod:`.orthant` and the same forward error bound, operation for operation, written
with ``math`` on Python floats: a numpy call on a size-1 array costs ~1 us per operation, and
``pl_bivariate.expect`` spends ~150 of them per point (docs/theory.md section 3.2).  Scalar calls
of scipy.special (``ndtr``, ``erfcx``, ``owens_t``) and numpy's ``exp``, ``tan``, ``arctan2``
(which round differently from ``math``'s on some CPUs) keep the values bit for bit those of the
array route; the 32-node Gauss-Legendre sums of Owen's ``T`` tail rule are one small numpy
batch per call.  :func:`point` serves ``(value, ok)``; ``ok`` is the array route's mask: the
bound within ``RTOL |value| + ATOL E[phi^2]`` (the scale ``rho = 1`` is evaluated only when the
first test fails; adding ``ATOL E[phi^2] >= 0`` cannot turn a pass into a fail).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy.special import erfcx, ndtr, owens_t

from . import orthant, pl_bivariate
from .activations import Activation

RTOL, ATOL, H_MAX, EPS = pl_bivariate.RTOL, pl_bivariate.ATOL, pl_bivariate.H_MAX, orthant.EPS
H0, H_OWEN, T_CUT = orthant.H0, orthant.H_OWEN, orthant.T_CUT
INV_2PI, INV_SQRT2PI = orthant.INV_2PI, orthant.INV_SQRT2PI
SQRT_PI_2, SQRT2 = float(np.sqrt(np.pi / 2.0)), float(np.sqrt(2.0))
_Y, _W = orthant._Y, orthant._W  # 32-point Gauss-Legendre on [0, 1]
_EXP, _TAN, _ATAN2 = np.exp, np.tan, np.arctan2


@dataclass(frozen=True)
class Kinks:
    """:class:`.pl_bivariate.Basis` as Python floats; ``pairs``: ``(j, k, w, sigma_j sigma_k)``."""

    a: float
    c: float
    breaks: tuple
    sigma: tuple
    J: tuple
    D: tuple
    pairs: tuple


@lru_cache(maxsize=256)
def kinks(act: Activation) -> Kinks:
    bs = pl_bivariate.basis(act)
    sig = tuple(float(v) for v in bs.sigma)
    return Kinks(bs.a, bs.c, tuple(float(v) for v in bs.breaks), sig,
                 tuple(float(v) for v in bs.J), tuple(float(v) for v in bs.D),
                 tuple((j, k, float(w), sig[j] * sig[k]) for j, k, w in bs.pairs))


def _gamma(z: float) -> float:
    return float(_EXP(-0.5 * z * z)) * INV_SQRT2PI


def _div(x: float, c: float) -> float:
    """``x / c`` with numpy's ``x / 0 = +-inf`` (``x != 0`` here)."""
    return x / c if c != 0.0 else math.copysign(math.inf, x)


def _star(h: float, k: float, r: float, c: float) -> float:
    """``k* = (k - r h)/c`` as :func:`.orthant._stars` (``1 -+ r`` exact near ``r = +-1``)."""
    if r >= 0.0:
        pos = 0.0 if k == h else _div(k - h, c)
        return pos + (0.0 if h == 0.0 else h * math.sqrt((1.0 - r) / (1.0 + r)))
    neg = 0.0 if k == -h else _div(k + h, c)
    return neg - (0.0 if h == 0.0 else h * math.sqrt((1.0 + r) / (1.0 - r)))


def _slope(h: float, k: float, ks: float, r: float) -> float:
    """Owen's ``a = k*/h`` of :func:`.orthant.orthant` (its limits at ``h = 0``)."""
    if h > 0.0:
        return ks / h
    if k > 0.0:
        return math.inf
    return math.sqrt((1.0 - r) / (1.0 + r)) if r != -1.0 else math.inf


def _tails(keys: list) -> dict:
    """``Tc(h, b)`` for ``h b > H0`` (:func:`.orthant._tail_quadrature`, the same operations),
    all of one call in one numpy batch."""
    h, a = np.array(keys).T
    h2 = h * h
    a2 = a * a
    lam = h2 * a * (1.0 + a2)
    t_cut = np.minimum(lam * np.arctan2(1.0, a), T_CUT)
    w = np.tan((t_cut / lam)[:, None] * _Y)
    den = 1.0 - a[:, None] * w
    de = w * (2.0 * a[:, None] + w * (1.0 - a2)[:, None])
    de *= (0.5 * h2 * (1.0 + a2))[:, None]
    de /= den * den
    np.negative(de, out=de)
    np.exp(de, out=de)
    de *= _W
    v = np.exp(-0.5 * h2 * (1.0 + a2)) * INV_2PI / lam * t_cut * de.sum(axis=1)
    return dict(zip(keys, v.tolist()))


def _far(h: float, b: float) -> float:
    """``T(h, b)`` for ``h > H_OWEN``, ``h b <= H0``: Gauss-Legendre on ``[0, b]`` (orthant)."""
    x = b * _Y[None, :]
    s = (np.exp(-0.5 * (h * x) ** 2) / (1.0 + x * x)) @ _W
    return float(_EXP(-0.5 * (h * h))) * INV_2PI * b * float(s[0])


def _owen(h: float, a: float, qh: float, tails: dict) -> tuple[float, float]:
    """``(Tc(h, a), bound)`` as :func:`.orthant.owen_tc`; ``qh = Q(h)``, ``h`` finite."""
    b = abs(a)
    if h * b <= H0:  # h = 0, b = inf gives nan: not direct
        t = _far(h, b) if h > H_OWEN else float(owens_t(h, b))
        out, err = 0.5 * qh - t, (0.5 * qh + t) * EPS + qh * h * h * EPS
    elif b < math.inf:  # b > 0 here (h b > H0)
        out = tails[(h, b)]
        err = out * (64.0 + h * h * (1.0 + b * b)) * EPS
    else:
        out, err = 0.0, 0.0
    if h == 0.0:  # Tc(0, b) = atan(1/b) / (2 pi)
        out = float(_ATAN2(1.0, b)) * INV_2PI
        err = out * (2 * EPS)
    if a < 0.0:
        return qh - out, err + qh * (1.0 + h * h) * EPS
    return out, err


def _sum_terms(kk: Kinks, q: float, rho: float, order: int) -> tuple[float, float]:
    """``(E, bound)`` at one point: :func:`.pl_bivariate._sum_terms` on floats."""
    s = math.sqrt(q)
    hs, qs, gs, psis, eps_ = [], [], [], [], []
    for b in kk.breaks:
        h = H_MAX if s == 0.0 or abs(b / s) > H_MAX else abs(b / s)
        g = _gamma(h)
        mills = SQRT_PI_2 * float(erfcx(h / SQRT2))
        hs.append(h)
        qs.append(float(ndtr(-h)))
        gs.append(g)
        psis.append(g * (1.0 - h * mills))
        eps_.append(g * (1.0 + h * mills) * (1.0 + h * h) * EPS)
    if order == 0:
        A, C = kk.a * s, kk.c
        alpha = [J * s for J in kk.J]
        delta = [sg * D for sg, D in zip(kk.sigma, kk.D)]
    else:
        A, C = 0.0 * s, kk.a
        alpha = [0.0 * h for h in hs]
        delta = [sg * J for sg, J in zip(kk.sigma, kk.J)]
    total, err, first = A * A * rho + C * C, EPS * (abs(A * A * rho) + C * C), True
    two_eps, two_c = 2.0 * EPS, 2.0 * abs(C)
    for m, h in enumerate(hs):
        al, de, qh, psi = alpha[m], delta[m], qs[m], psis[m]
        one = al * psi + de * qh
        cross = kk.sigma[m] * rho * (al * qh + de * gs[m])
        u = 2.0 * (A * cross + C * one)
        e = two_eps * abs(A * cross) + two_c * (
            abs(al) * eps_[m] + EPS * (abs(al * psi) + abs(de * qh) * (1 + h * h)))
        usum, esum, first = (u, e, False) if first else (usum + u, esum + e, False)
    if not first:
        total, err = total + usum, err + esum
    if not kk.pairs:
        return total, err
    pre, need = [], []
    for j, k, w, sg in kk.pairs:  # the orthant arguments, and the tail rules they need
        h, kv, r = hs[j], hs[k], sg * rho
        c = math.sqrt((1.0 - r) * (1.0 + r))
        ks, hst = _star(h, kv, r, c), _star(kv, h, r, c)
        a_h, a_k = _slope(h, kv, ks, r), _slope(kv, h, hst, r)
        for x, y in ((h, abs(a_h)), (kv, abs(a_k))):
            if not x * y <= H0 and y < math.inf:  # the branch of _owen that reads `tails`
                need.append((x, y))
        pre.append((j, k, w, h, kv, r, c, ks, hst, a_h, a_k))
    tails = _tails(need) if need else {}
    first = True
    for j, k, w, h, kv, r, c, ks, hst, a_h, a_k in pre:
        t1, e1 = _owen(h, a_h, qs[j], tails)
        t2, e2 = _owen(kv, a_k, qs[k], tails)
        L = t1 + t2
        eL = e1 + e2 + L * EPS
        gh, gk = gs[j], gs[k]
        gq1, gq2 = gh * float(ndtr(-ks)), gk * float(ndtr(-hst))
        H1 = gq1 + r * gq2 - h * L
        H2 = gq2 + r * gq1 - kv * L
        ar = abs(r)
        eH1 = h * eL + EPS * (gq1 + ar * gq2 + h * L)
        eH2 = kv * eL + EPS * (gq2 + ar * gq1 + kv * L)
        phi = c * gh * _gamma(ks) if c > 0.0 else 0.0
        rhk = r + h * kv
        G = rhk * L - kv * gq1 - h * gq2 + phi
        eG = abs(rhk) * eL + EPS * (abs(rhk) * L + kv * gq1 + h * gq2 + phi)
        aj, ak, dj, dk = alpha[j], alpha[k], delta[j], delta[k]
        terms = aj * ak * G + aj * dk * H1 + dj * ak * H2 + dj * dk * L
        u = w * terms
        e = w * (abs(aj * ak) * eG + abs(aj * dk) * eH1 + abs(dj * ak) * eH2
                 + abs(dj * dk) * eL + 2 * EPS * abs(terms))
        usum, esum, first = (u, e, False) if first else (usum + u, esum + e, False)
    return total + usum, err + esum


def point(act: Activation, q: float, rho: float, order: int = 0) -> tuple[float, bool]:
    """``(E[phi^(order)(u1) phi^(order)(u2)], ok)`` at one ``q >= 0``, ``rho`` in ``[-1, 1]``:
    the value and mask of :func:`.pl_bivariate.expect` (``ok``: its bound meets the contract)."""
    kk = kinks(act)
    if q == 0.0 and 0.0 in kk.breaks:  # h = 0/0: the array route's nan, not served
        return math.nan, False
    value, err = _sum_terms(kk, q, rho, order)
    if not math.isfinite(value):
        return value, False
    bound = RTOL * abs(value)
    if err <= bound:
        return value, True
    scale, _ = _sum_terms(kk, q, 1.0, order)
    return value, bool(err <= bound + ATOL * abs(scale))
