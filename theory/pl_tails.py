"""``E[phi^2]`` and ``E[phi'^2]`` of a piecewise-linear ``phi`` when every breakpoint lies
in the Gaussian's tail, ``|b| >= Z_TAIL sqrt(q)`` (docs/theory.md, section 3.2's "without
cancellation" paragraph, form (iii)).

There the truncated-moment sums cancel (``(1 + z^2) Q(z) - z gamma(z)`` loses ``~z^2``
of its digits) and ``exp(-b^2/2q)`` itself loses ``b^2/2q`` ulps to the rounding of
``b^2/q``.  Instead, each interval is written about its edge ``r`` nearest 0, ``phi(x) =
a (x - r) + v`` with ``x - r = +-sqrt(q) (t - z)``, ``z = |r|/sqrt(q)``, so that its part is
``q a^2 T_2(z) +- 2 sqrt(q) a v T_1(z) + v^2 T_0(z)`` with the tail moments

    T_k(z) = int_z^inf (t - z)^k gamma(t) dt,   T_{k+1} = k T_{k-1} - z T_k,
    T_0 = Q(z) = erfcx(z/sqrt 2) e^{-z^2/2} / 2,   T_1 = gamma(z) - z T_0,

all positive.  The ratios ``T_1/T_0``, ``T_2/T_0`` come from the recurrence run backwards
(Miller's algorithm: ``T_k`` is its minimal solution, so the backward run converges to it
from any start, the error falling like ``exp(-2 z sqrt n)`` after ``n`` steps), and
``e^{-b^2/2q}`` from ``b^2/2q`` in double-double arithmetic (Dekker's exact product).  The
far edge ``f`` subtracts ``sum_j C(k, j) (z_f - z)^{k-j} T_j(z_f)``, smaller by
``e^{-z (z_f - z)}``; the interval holding 0 is ``E[(a x + c)^2]`` less its two tails.
Every term is then positive or far smaller than the result: the sums are exact to a few
ulps.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Callable

import numpy as np
from scipy.special import erfcx

from .activations import Activation
from .piecewise_linear import PiecewiseLinear

Z_TAIL = 2.0  # every |b| / sqrt(q) at least this
Z_MILLER = 1.0  # T_1, T_2 by the backward recurrence from here (forward: a factor 4 lost at most)
INV_SQRT2PI = 1.0 / math.sqrt(2.0 * math.pi)
SPLIT = 134217729.0  # 2^27 + 1 (Dekker)


def _two_prod(x: float, y: float) -> tuple[float, float]:
    """``(p, e)`` with ``p + e = x y`` exactly (Dekker's split)."""
    p = x * y
    xh = SPLIT * x
    xh -= xh - x
    yh = SPLIT * y
    yh -= yh - y
    xl, yl = x - xh, y - yh
    return p, ((xh * yh - p) + xh * yl + xl * yh) + xl * yl


def gauss_exp(b: float, q: float) -> float:
    """``exp(-b^2 / 2q)`` with ``b^2/2q`` to double-double precision (a plain
    ``math.exp(-b*b/(2*q))`` is off by up to ``b^2/2q`` ulps: 6e-14 relative at ``b^2/2q
    = 600``)."""
    p, e = _two_prod(b, b)
    d = 2.0 * q
    h = p / d
    t, te = _two_prod(h, d)
    lo = ((p - t) - te + e) / d
    return math.exp(-h) * (1.0 - lo)


def tail_moments(b: float, q: float) -> tuple[float, float, float]:
    """``(T_0, T_1, T_2)`` at ``z = |b| / sqrt(q)`` (module docstring), relative to a few
    ulps for every ``z >= 0``."""
    z = abs(b) / math.sqrt(q)
    t0 = upper_tail(b, q)
    if z < Z_MILLER:
        g = math.exp(-0.5 * z * z) * INV_SQRT2PI
        return t0, g - z * t0, (1.0 + z * z) * t0 - z * g
    hi, mid, r1, r2 = 0.0, 1.0, 0.0, 0.0  # T_{k+1}, T_k (unnormalised)
    for k in range(20 + int(600.0 / (z * z)), 0, -1):  # T_{k-1} = (T_{k+1} + z T_k) / k
        hi, mid = mid, (hi + z * mid) / k
        if k == 3:
            r2 = mid  # T_2
        elif k == 2:
            r1 = mid  # T_1
        if mid > 1e200:
            hi, mid, r1, r2 = hi * 1e-200, mid * 1e-200, r1 * 1e-200, r2 * 1e-200
    return t0, t0 * r1 / mid, t0 * r2 / mid


def upper_tail(b: float, q: float) -> float:
    """``P(x >= |b|) = Q(|b|/sqrt q)`` to a few ulps (the exponent in double-double)."""
    z = abs(b) / math.sqrt(q)
    if z < Z_TAIL:
        return 0.5 * math.erfc(z / math.sqrt(2.0))
    return 0.5 * float(erfcx(z / math.sqrt(2.0))) * gauss_exp(b, q)


def interval_mass(lo: float, hi: float, q: float) -> float:
    """``P(lo <= x < hi)``, ``x ~ N(0, q)``, as a difference of upper tails on one side of
    0 (never of numbers near 1)."""
    def tail(e: float) -> float:
        return 0.0 if math.isinf(e) else upper_tail(e, q)
    if lo >= 0.0:
        return tail(lo) - tail(hi)
    if hi <= 0.0:
        return tail(hi) - tail(lo)
    return (1.0 - tail(lo)) - tail(hi)


def _side(a: float, v: float, s: float, near: float, far: float, q: float, order: int) -> float:
    """``int (a (x - r) + v)^2 p`` (order 0) or ``int a^2 p`` (order 1) over the part of
    the line beyond ``near`` (|near| = |r|) up to ``far`` (``+-inf``: no far part); ``a``
    the slope in ``t = |x|/sqrt(q)`` direction."""
    def part(b: float, d: float) -> float:  # int_{|b|}^inf (a s (t - z) + v)^2, t - z = u + d
        t0, t1, t2 = tail_moments(b, q)
        m1, m2 = t1 + d * t0, t2 + 2.0 * d * t1 + d * d * t0  # E[(u + d)^k ...]
        if order == 1:
            return a * a * t0
        return a * a * q * m2 + 2.0 * a * s * v * m1 + v * v * t0
    out = part(near, 0.0)
    if math.isfinite(far):
        out -= part(far, (abs(far) - abs(near)) / s)
    return out


def _pl_scalar(pl: tuple, q: float, order: int) -> float:
    b, a, c = pl
    s = math.sqrt(q)
    edges = [-math.inf, *b, math.inf]
    total = []
    for k in range(len(a)):
        lo, hi = edges[k], edges[k + 1]
        if order == 1 and a[k] == 0.0 or order == 0 and a[k] == 0.0 and c[k] == 0.0:
            continue
        if lo < 0.0 < hi:  # E[(a x + c)^2] (E[a^2]) less the two tails
            total.append(a[k] * a[k] * (q if order == 0 else 1.0) + (c[k] * c[k] if order == 0 else 0.0))
            for e in (lo, hi):
                if math.isfinite(e):
                    sign = 1.0 if e > 0 else -1.0
                    total.append(-_side(sign * a[k], a[k] * e + c[k], s, e, math.copysign(math.inf, e), q, order))
        else:
            near, far = (lo, hi) if lo >= 0.0 else (hi, lo)
            sign = 1.0 if lo >= 0.0 else -1.0
            total.append(_side(sign * a[k], a[k] * near + c[k], s, near, far, q, order))
    return math.fsum(total)


@lru_cache(maxsize=256)
def _coeffs(act: Activation) -> tuple:
    pl = PiecewiseLinear.of(act.family, *act.values)
    return (tuple(float(v) for v in pl.breaks), tuple(float(v) for v in pl.slopes),
            tuple(float(v) for v in pl.intercepts))


def applies(act: Activation, q) -> np.ndarray | bool:
    """Points ``q`` where this module computes: piecewise-linear ``act`` with a breakpoint,
    every one at least ``Z_TAIL`` standard deviations out."""
    if not act.is_piecewise_linear or not act.breakpoints.size:
        return np.zeros(np.shape(q), bool)[()]
    m = float(np.min(np.abs(act.breakpoints)))
    return (np.asarray(q, float) * Z_TAIL ** 2 <= m * m)[()]


def moment(act: Activation, q, order: int, fallback: Callable):
    """``E[phi^2]`` (order 0) or ``E[phi'^2]`` (order 1, pointwise ``phi'``) at the points
    where :func:`applies`, ``fallback(q)`` at the others."""
    ok = applies(act, q)
    if not np.any(ok):
        return fallback(q)
    pl = _coeffs(act)
    one = np.vectorize(lambda qq: _pl_scalar(pl, float(qq), order), otypes=[float])
    if np.all(ok):
        return one(np.asarray(q, float))[()] if np.ndim(q) else np.float64(_pl_scalar(pl, float(q), order))
    q = np.asarray(q, float)
    out = np.empty(q.shape)
    out[ok] = one(q[ok])
    out[~ok] = fallback(q[~ok])
    return out[()]
