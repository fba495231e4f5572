"""Univariate moments of piecewise-linear activations in the tail basis, on grids of ``q``
(docs/theory.md section 3.2).

With the tail basis of :func:`.pl_bivariate.basis` (``phi = a x + c + sum_k J_k R_k + D_k
S_k``, each ``R_k = sqrt(q) (w_k - h_k)_+`` and ``S_k = sigma_k 1{w_k > h_k}`` living in one
tail, ``w_k = sigma_k z``, ``h_k = |b_k| / sqrt(q) >= 0``) every term of ``E[phi^2]`` is a
tail moment ``psi_n(H) = E[(w - H)_+^n]`` (``n = 0, 1, 2``) at ``H = max(h_j, h_k)``
(same-sign kinks; opposite-sign ones have disjoint supports), or ``E[z R_k] = sigma_k
sqrt(q) Q(h_k)``, ``E[z S_k] = gamma(h_k)``.  No term grows where ``phi`` is small, so a
breakpoint far in the tail costs no accuracy (the truncated-moment sums of
:mod:`.piecewise_linear` lose ``~ z^2`` there).

``psi_n(h) = gamma(h) I_n(h)``, ``I_n = int_0^inf t^n exp(-h t - t^2/2) dt``; ``I_0 = R`` (the
Mills ratio, ``erfcx``) and ``I_n / I_{n-1} = T_n`` with ``T_n = n / (h + T_{n+1})`` (from
``I_{n+1} = n I_{n-1} - h I_n``).  For ``h <= H_DIRECT`` the forward forms ``I_1 = 1 - h R``,
``I_2 = R - h I_1`` lose ``~h^4 / 2`` ulps (measured: < 6e-14 for ``h <= 4``); beyond,
``T_1, T_2`` come from the backward recurrence started ``CF_DEPTH`` terms out at the tail's
fixed point ``T = N / (h + T)`` (relative error < 2e-15 for ``h >= 4``); there ``gamma(h)`` takes
its exponent ``b^2/2q`` in double-double (:mod:`.dd_exp`: a rounded exponent of 600 is 6e-14
off).  The terms cancel where two breakpoints lie within ``NARROW_Z`` sds of each other
(``q > q_hi`` of :func:`.generic.q_range`; measured: CST 8e-13 at ``q = 170 q_hi``).  The
remainder series of :mod:`.pl_series` (exact to 2e-15, cheaper) takes every ``q >= X^2``
(``X`` the farthest breakpoint) and :func:`admits` leaves ``q_hi < q < X^2`` (a narrow
interval far out: CReLU with ``m < tau / 4``, no catalogue example) to the panel rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy.special import erfcx, ndtr

from . import pl_series
from .activations import Activation
from .dd_exp import gauss_exp
from .generic import q_range
from .pl_bivariate import basis

H_DIRECT = 4.0
CF_DEPTH = 32
INV_SQRT2PI = 1.0 / np.sqrt(2.0 * np.pi)
SQRT_PI_2 = np.sqrt(np.pi / 2.0)


def tail_moments(h, b: float | None = None, q=None):
    """``(psi_0, psi_1, psi_2, gamma)(h)``, ``psi_n = E[(w - h)_+^n]``, ``w`` standard normal,
    ``h >= 0`` (1-D array; computed in place: a handful of live arrays, see :func:`moment`).
    Given ``h = |b| / sqrt(q)`` as float ``b`` and array ``q``, ``gamma(h)`` beyond ``H_DIRECT``
    is ``exp(-b^2/2q)`` with the exponent in double-double."""
    g = h * h
    g *= -0.5
    np.exp(g, out=g)
    g *= INV_SQRT2PI
    r = h * (1.0 / np.sqrt(2.0))
    erfcx(r, out=r)
    r *= SQRT_PI_2
    i1 = h * r
    np.subtract(1.0, i1, out=i1)
    i2 = h * i1
    np.subtract(r, i2, out=i2)
    far = h > H_DIRECT
    if np.any(far):
        hf = h[far]
        t = 0.5 * (np.sqrt(hf * hf + 4.0 * (CF_DEPTH + 1)) - hf)  # the tail's fixed point
        for n in range(CF_DEPTH, 2, -1):
            t = n / (hf + t)
        t2 = 2.0 / (hf + t)
        t = r[far] / (hf + t2)
        i1[far] = t
        i2[far] = t * t2
        if b is not None:
            g[far] = gauss_exp(b, q[far]) * INV_SQRT2PI
    r *= g
    i1 *= g
    i2 *= g
    return r, i1, i2, g


def _upper(b: float, q, inv_s):
    """``Q(|b| / sqrt q)``, beyond ``H_DIRECT`` with the exponent in double-double (``ndtr``
    of the rounded ``h`` is ``~h^2`` ulps off)."""
    h = b * inv_s
    out = ndtr(-h)
    far = h > H_DIRECT
    if np.any(far):
        out[far] = 0.5 * erfcx(h[far] * (1.0 / np.sqrt(2.0))) * gauss_exp(b, q[far])
    return out


def applies(act: Activation) -> bool:
    return act.is_piecewise_linear


def admits(act: Activation, q) -> np.ndarray:
    """Where :func:`moment` is exact: ``0 < q <= q_hi`` (the tail basis: no interval
    narrower than ``NARROW_Z`` sds) or finite ``q >= X^2`` (the remainder series)."""
    q = np.asarray(q, float)
    return (q > 0.0) & ((q <= q_range(act)[1]) | (q >= pl_series.series(act, 0).q_min)) & (
        q < np.inf)


@dataclass(frozen=True)
class Coeffs:
    """Per kink ``m`` the scalars of its share (module docstring), every pair ``(m, l)`` of
    same-sign kinks with ``|b_l| <= |b_m|`` gathered at ``m`` (its ``psi`` at ``h_m``), and
    kinks at the same ``|b|`` merged:
    ``E[phi^2] = a^2 q + c^2 + sum_m q (c2 psi_2 + cq psi_0) + s (c1 psi_1 + cg gamma) + c0 psi_0``
    and ``E[phi'^2] = a^2 + sum_m k1 Q(h_m)``."""

    a: float
    c: float
    absb: tuple
    c2: tuple
    c1: tuple
    cg: tuple
    cq: tuple
    c0: tuple
    k1: tuple


@lru_cache(maxsize=256)
def coeffs(act: Activation) -> Coeffs:
    bs = basis(act)
    ab, sig, J, D = ([abs(float(b)) for b in bs.breaks], *(
        [float(v) for v in x] for x in (bs.sigma, bs.J, bs.D)))
    a, c = bs.a, bs.c
    n = len(ab)
    c2, c1, cq, c0, k1 = ([0.0] * n for _ in range(5))
    cg = [2.0 * a * D[m] for m in range(n)]  # 2 a s sigma D E[z 1{w > h}] = 2 a D s gamma(h)
    for m in range(n):
        cq[m] = 2.0 * a * sig[m] * J[m]     # 2 a J q E[z (w - h)_+] = 2 a sigma J q Q(h)
        c1[m] = 2.0 * c * J[m]              # 2 c J s E[(w - h)_+]
        c0[m] = 2.0 * c * sig[m] * D[m]     # 2 c sigma D Q(h)
        k1[m] = 2.0 * a * sig[m] * J[m]
        for l in range(n):  # pairs (m, l), |b_l| <= |b_m|, same tail: on w > h_m,
            if sig[l] != sig[m] or ab[l] > ab[m] or (ab[l] == ab[m] and l != m):
                continue  # w - h_l = (w - h_m) + d / s
            w, d = (1.0 if l == m else 2.0), ab[m] - ab[l]
            c2[m] += w * J[m] * J[l]
            c1[m] += w * (J[m] * J[l] * d + J[m] * sig[l] * D[l] + J[l] * sig[m] * D[m])
            c0[m] += w * (D[m] * D[l] + J[l] * sig[m] * D[m] * d)
            k1[m] += w * J[m] * J[l]
    merged: dict = {}  # kinks at the same |b| (ST, CST, hardtanh: +-b) share one psi
    for m in range(n):
        row = merged.setdefault(ab[m], [0.0] * 6)
        for i, x in enumerate((c2, c1, cg, cq, c0, k1)):
            row[i] += x[m]
    return Coeffs(a, c, tuple(merged), *(tuple(r[i] for r in merged.values()) for i in range(6)))


def moment(act: Activation, q, order: int):
    """``E[phi^2]`` (``order`` 0) or ``E[phi'^2]`` (classical derivative, ``order`` 1) for
    ``x ~ N(0, q)`` at points where :func:`admits` (array): the tail basis, one in-place
    pass per kink, or beyond ``q_hi`` the remainder series."""
    if order not in (0, 1):
        raise ValueError(f"order={order} must be 0 or 1")
    q = np.asarray(q, float)
    shape, qf = q.shape, q.reshape(-1)
    wide = qf < pl_series.series(act, order).q_min
    if wide.all():
        return _tail_basis(act, qf, order).reshape(shape)
    if not wide.any():
        return pl_series.moment(act, qf, order).reshape(shape)
    out = np.empty(qf.shape)
    out[wide] = _tail_basis(act, qf[wide], order)
    out[~wide] = pl_series.moment(act, qf[~wide], order)
    return out.reshape(shape)


def _tail_basis(act: Activation, qf: np.ndarray, order: int) -> np.ndarray:
    cf = coeffs(act)
    inv_s = 1.0 / np.sqrt(qf)
    if order == 1:
        total = np.full(qf.shape, cf.a * cf.a)
        for ab, k1 in zip(cf.absb, cf.k1):
            if k1:
                total += k1 * _upper(ab, qf, inv_s)
        return total
    s = np.sqrt(qf)
    total = cf.a * cf.a * qf + cf.c * cf.c
    for m, ab in enumerate(cf.absb):
        p0, p1, p2, g = tail_moments(ab * inv_s, ab, qf)
        p2 *= cf.c2[m]
        if cf.cq[m]:
            p2 += cf.cq[m] * p0
        p2 *= qf
        total += p2
        p1 *= cf.c1[m]
        if cf.cg[m]:
            p1 += cf.cg[m] * g
        p1 *= s
        total += p1
        if cf.c0[m]:
            total += cf.c0[m] * p0
    return total
