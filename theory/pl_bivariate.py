"""Closed-form bivariate map of piecewise-linear activations (docs/theory.md section 3.2).

``E[phi(u1) phi(u2)]`` and ``E[phi'(u1) phi'(u2)]`` for ``u1, u2 ~ N(0, q)`` with
correlation ``rho``.  From the catalogue definition (breakpoints ``b_k``, slope jumps
``J_k``, value jumps ``D_k``, and the piece ``l(x) = a x + c`` that holds at ``x = 0``)::

    phi(x) = l(x) + sum_{b_k > 0} [J_k (x - b_k)_+ + D_k 1{x > b_k}]
                  + sum_{b_k <= 0} [J_k (b_k - x)_+ - D_k 1{x < b_k}]

so every basis function lives in one tail, ``R_h(sigma z)`` or ``1{sigma z > h}`` with
``z = x/sqrt(q)``, ``h = |b_k|/sqrt(q) >= 0`` and ``sigma = sign(b_k)``.  The expectation is
then a finite sum of univariate terms and, per pair of kinks, the upper-orthant moments
``L, H1, H2, G`` of :mod:`.orthant` at ``(h_j, h_k)`` with correlation
``sigma_j sigma_k rho``; no term grows where ``phi`` is small.  ``phi'`` is piecewise
constant (``a + sum_k sigma_k J_k 1{sigma_k z > h_k}``, the classical derivative; the
delta terms of jumps are added by the caller).

Each evaluation carries a forward error bound; :func:`expect` returns the values and the
mask of points where the bound is within ``RTOL |value| + ATOL E[phi^2]`` (correlation
units); where Rosenbaum's orthant sums cancel (far corners, ``rho -> -1``) the pairs that
matter are refined by the apex form (:func:`.orthant.refine`); elsewhere (narrow intervals at
large ``q``, cancelling kinks) the caller uses another route.  Vectorised over ``(q, rho)``:
one pass over all kink pairs and points.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy.special import erfcx, ndtr

from . import orthant
from .activations import Activation
from .gaussian import with_scale_points

RTOL, ATOL = 1e-13, 1e-24  # ATOL: of E[phi^2], docs/theory.md section 3.2
H_MAX = 40.0  # gamma(40) underflows: a corner this far out contributes nothing
EPS = orthant.EPS
H_REL = EPS * (1.0 + EPS)  # |fl(b / fl(sqrt(q))) / (b / sqrt(q)) - 1| <= 2u / (1 - u)


@dataclass(frozen=True)
class Basis:
    """``phi = a x + c + sum_k (J_k ramp + D_k step)`` about ``x = 0`` (module docstring)."""

    a: float
    c: float
    breaks: np.ndarray
    sigma: np.ndarray
    J: np.ndarray
    D: np.ndarray
    pairs: tuple  # (j, k, weight) for j <= k
    corners: tuple = ()  # (j, k) of the distinct orthant evaluations (:func:`_corners`)
    gather: tuple = ()  # per pair: (index into corners, swapped)


@lru_cache(maxsize=256)
def basis(act: Activation) -> Basis:
    """The tail basis of a piecewise-linear activation (cached per parameter values)."""
    b = act.breakpoints
    slopes, icpts = act.linear_coeffs
    k0 = int(np.searchsorted(b, 0.0, side="right"))  # the piece holding at x = 0
    if k0 > 0 and b[k0 - 1] == 0.0 and abs(slopes[k0 - 1]) < abs(slopes[k0]):
        k0 -= 1  # a kink at 0: the flatter side (ReLU: phi = x_+, no a^2 rho q to cancel)
    J, D = act.kinks, act.jumps
    keep = np.nonzero((J != 0.0) | (D != 0.0))[0]
    n = len(keep)
    pairs = tuple((j, k, 1.0 if j == k else 2.0) for j in range(n) for k in range(j, n))
    sigma = np.where(keep >= k0, 1.0, -1.0)
    corners, gather = _corners(b[keep], sigma, pairs)
    return Basis(float(slopes[k0]), float(icpts[k0]), b[keep], sigma, J[keep], D[keep], pairs,
                 corners, gather)


def _corners(breaks, sigma, pairs):
    """The orthant moments of a pair depend on ``(|b_j|, |b_k|, sigma_j sigma_k)`` only and
    are symmetric under ``j <-> k`` with ``H1 <-> H2``: ``(corners, gather)``, the distinct
    evaluations and, per pair, ``(its corner, swapped)`` (CST: 10 pairs, 6 evaluations)."""
    seen: dict = {}
    corners, gather = [], []
    for j, k, _ in pairs:
        key = (abs(breaks[j]), abs(breaks[k]), sigma[j] * sigma[k])
        if (key[1], key[0], key[2]) in seen and key not in seen:
            gather.append((seen[(key[1], key[0], key[2])], True))
            continue
        if key not in seen:
            seen[key] = len(corners)
            corners.append((j, k))
        gather.append((seen[key], False))
    return tuple(corners), tuple(gather)


def _psi(h):
    """``E[(z - h)_+] = gamma(h) - h Q(h)`` and its error bound, ``h >= 0``."""
    g = orthant.gamma(h)
    mills = np.sqrt(np.pi / 2.0) * erfcx(h / np.sqrt(2.0))  # Q(h) / gamma(h)
    v = g * (1.0 - h * mills)
    return v, g * (1.0 + h * mills) * (1.0 + h * h) * EPS


def _rowsum(x):
    """``x.sum(axis=0)`` row by row: the same bits for one point and a grid (numpy sums one
    column pairwise, many columns row by row)."""
    out = np.zeros(x.shape[1:])
    for row in x:
        out += row
    return out


def _coeffs(bs: Basis, s, h, order: int):
    """``(A, C, alpha, delta)``: ``phi = A z + C + sum_k alpha_k R_k + delta_k S_k`` in ``z``."""
    sig = bs.sigma[:, None]
    if order == 0:
        return bs.a * s, bs.c, bs.J[:, None] * s, sig * bs.D[:, None]
    return 0.0 * s, bs.a, 0.0 * h, sig * bs.J[:, None]


def _uni_terms(bs: Basis, s, h, rho, order: int):
    """The linear and one-kink terms of ``E[phi(u1) phi(u2)]`` and their error bound, on flat
    arrays ``s, rho`` (``h``: per kink)."""
    sig = bs.sigma[:, None]
    A, C, alpha, delta = _coeffs(bs, s, h, order)
    q_h, g_h = ndtr(-h), orthant.gamma(h)
    psi, e_psi = _psi(h)
    lin = A * A * rho + C * C
    one = alpha * psi + delta * q_h                     # E[B_k]
    cross = sig * rho * (alpha * q_h + delta * g_h)    # E[z1 B_k(z2)]
    uni = 2.0 * (A * cross + C * one)
    err = EPS * (np.abs(A * A * rho) + C * C) + _rowsum(
        2.0 * EPS * np.abs(A * cross) + 2.0 * np.abs(C) * (np.abs(alpha) * e_psi + EPS * (
            np.abs(alpha * psi) + np.abs(delta * q_h) * (1 + h * h))))
    return lin + _rowsum(uni), err


def _pair_terms(bs: Basis, s, h, order: int, moments):
    """Per pair of kinks ``w_jk E[B_j(z1) B_k(z2)]`` from the orthant ``moments`` (rows: the
    pairs), and each one's error bound."""
    _, _, alpha, delta = _coeffs(bs, s, h, order)
    j, k, w = (np.array(v) for v in zip(*bs.pairs))
    L, H1, H2, G, (eL, eH1, eH2, eG) = moments
    aj, ak, dj, dk, w = alpha[j], alpha[k], delta[j], delta[k], w[:, None]
    terms = aj * ak * G + aj * dk * H1 + dj * ak * H2 + dj * dk * L
    return w * terms, w * (np.abs(aj * ak) * eG + np.abs(aj * dk) * eH1 + np.abs(dj * ak) * eH2
                           + np.abs(dj * dk) * eL + 2 * EPS * np.abs(terms))


def level(bs: Basis, order: int) -> int:
    """Which orthant moments carry a nonzero coefficient: 0 ``L`` only (``phi'``), 1 ``L, G``
    (ramps, no jumps), 2 all."""
    return 0 if order or not np.any(bs.J) else 1 if not np.any(bs.D) else 2


def input_bound(bs: Basis, s, h, rho, moments, sens, at, swap):
    """Level 1 (:func:`level`): the rounding of each ``h_m = |b_m| / sqrt(q)`` (relative
    ``H_REL``) and of its ``gamma(h_m)`` (relative ``(G_ULPS + H2_OWN h_m^2) eps``: the
    exponent and ``exp``) through the signed derivatives of the total (docs/theory.md section
    3.2, "the bound of G"): ``dE/dh_m`` from the one-kink terms, ``-2 alpha_m (A sigma_m rho
    gamma(h_m) + C Q(h_m))``, and per pair ``dG/dh_j = -H2``, ``dG/dh_k = -H1``;
    ``dE/dlog gamma(h_m)`` per pair from ``sens`` (:func:`.orthant.orthant`'s, per corner;
    ``moments`` per pair, :func:`_gathered`).  Ramps that cancel in ``E`` cancel here too
    (the one-kink terms' own bounds keep ``gamma``'s rounding)."""
    A, C, alpha, _ = _coeffs(bs, s, h, 0)
    dh = -2.0 * (A * (bs.sigma[:, None] * rho * (alpha * orthant.gamma(h)))
                 + C * (alpha * ndtr(-h)))
    dg = np.zeros(h.shape)
    _, H1, H2, _, _ = moments
    sw = swap[:, None]  # per pair: the derivatives in its first and second corner
    s1, s2 = np.where(sw, sens[1][at], sens[0][at]), np.where(sw, sens[0][at], sens[1][at])
    for i, (j, k, w) in enumerate(bs.pairs):
        waa = w * (alpha[j] * alpha[k])
        dh[j] -= waa * H2[i]
        dh[k] -= waa * H1[i]
        dg[j] += waa * s1[i]
        dg[k] += waa * s2[i]
    eg = (orthant.G_ULPS + orthant.H2_OWN * h * h) * EPS
    return H_REL * _rowsum(np.abs(dh) * h) + _rowsum(np.abs(dg) * eg)


def _grouped(bs: Basis, s, h, rho, moments, own, sens, at, swap):
    """Level 1: the pairs' bound with ``G``'s ``own`` bounds (:func:`.orthant.g_bound`)
    plus :func:`input_bound` (:func:`_second` takes it where it is the smaller)."""
    L, H1, H2, G, (eL, eH1, eH2, _) = moments
    gathered = _gathered((L, H1, H2, G, (eL, eH1, eH2, own)), at, swap)
    alpha = _coeffs(bs, s, h, 0)[2]
    j, k, w = (np.array(v) for v in zip(*bs.pairs))
    aa, g, eg = alpha[j] * alpha[k], gathered[3], gathered[4][3]  # ramps: aa G per pair
    return _rowsum(w[:, None] * (np.abs(aa) * eg + 2 * EPS * np.abs(aa * g))) + input_bound(
        bs, s, h, rho, gathered, sens, at, swap)


def _second(bs: Basis, s, h, rho, parts, at, swap, err, e, tol) -> None:
    """Level 1: ``e`` (the term-by-term bound) lowered in place to :func:`_grouped`'s where
    that is smaller, computed only at the points where ``e`` misses ``tol`` (as
    :mod:`.pl_scalar` does; a NaN keeps ``e``)."""
    sub = np.flatnonzero(~(e <= tol))
    if not sub.size:
        return
    if 2 * sub.size > e.size:  # most points: no gathering (the same bits per point)
        sub = slice(None)
    (L, H1, H2, G, bounds), own, sens = parts
    moments = [x[:, sub] for x in (L, H1, H2, G)] + [[b[:, sub] for b in bounds]]
    other = err[sub] + _grouped(bs, s[sub], h[:, sub], rho[sub], moments, own[:, sub],
                                [x[:, sub] for x in sens], at, swap)
    e[sub] = np.where(other < e[sub], other, e[sub])


def _gathered(moments, at, swap):
    """The orthant moments of every kink pair from the distinct corners: row ``at[i]``, with
    ``H1`` and ``H2`` (and their bounds) exchanged where ``swap[i]``."""
    L, H1, H2, G, (eL, eH1, eH2, eG) = moments
    s = swap[:, None]
    return (L[at], np.where(s, H2[at], H1[at]), np.where(s, H1[at], H2[at]), G[at],
            (eL[at], np.where(s, eH2[at], eH1[at]), np.where(s, eH1[at], eH2[at]), eG[at]))


def expect(act: Activation, q, rho, order: int = 0, refine: bool = True,
           corner_moments=None):
    """``(E[phi^(order)(u1) phi^(order)(u2)], ok)``, ``order`` 0 or 1, broadcasting ``q``
    and ``rho``; ``ok`` marks the points whose error bound meets ``RTOL``/``ATOL``;
    ``refine``: where Rosenbaum's sums miss it, the apex form of the pairs that matter;
    ``corner_moments(h, k, r)``: other orthant moments and bounds per corner, carrying their own
    whole bounds (:mod:`.pl_apex`: the apex form alone); ``None``: Rosenbaum's
    (:func:`.orthant.orthant`), with the grouped second bound at level 1."""
    bs = basis(act)
    qa, ra, n, inv, shape = with_scale_points(q, rho)
    s = np.sqrt(qa)
    with np.errstate(divide="ignore", over="ignore"):
        h = np.minimum(np.abs(bs.breaks[:, None] / s), H_MAX)
    total, err = _uni_terms(bs, s, h, ra, order)
    if bs.pairs:
        j, k = (np.array(v) for v in zip(*bs.corners))
        at, swap = (np.array(v) for v in zip(*bs.gather))
        hj, hk, r = h[j], h[k], bs.sigma[j, None] * bs.sigma[k, None] * ra
        lvl = level(bs, order) if corner_moments is None else 0  # 1: also _grouped's bound
        if corner_moments is not None:
            moments = corner_moments(hj, hk, r)
        elif lvl == 1:
            *moments, (own, *sens) = orthant.orthant(hj, hk, r, grouped=True)
        else:
            moments = orthant.orthant(hj, hk, r)
        gathered = _gathered(moments, at, swap)
        terms, perr = _pair_terms(bs, s, h, order, gathered)
        full = total + _rowsum(terms)  # the points, then the scale E[phi^2] per distinct q
        tol = RTOL * np.abs(full) + ATOL * np.abs(np.concatenate([full[n:][inv], full[n:]]))
        e = err + _rowsum(perr)
        if lvl == 1:
            _second(bs, s, h, ra, (moments, own, sens), at, swap, err, e, tol)
        bad = ~(e <= tol)
        if refine and np.any(bad):  # Rosenbaum's sums cancel: the apex form, for the pairs that matter
            need = np.zeros(hj.shape, bool)
            np.logical_or.at(need, at, bad & (perr > 0.5 * tol / len(at)))
            g0 = moments[3]
            moments = orthant.refine(hj, hk, r, [np.array(x, float) for x in moments[:4]]
                                     + [[np.array(x, float) for x in moments[4]]], need)
            terms, perr = _pair_terms(bs, s, h, order, _gathered(moments, at, swap))
            e = err + _rowsum(perr)
            if lvl == 1:  # a corner the apex form took carries its own whole bound
                kept = moments[3] == g0
                own = np.where(kept, own, moments[4][3])
                sens = [np.where(kept, x, 0.0) for x in sens]
                _second(bs, s, h, ra, (moments, own, sens), at, swap, err, e, tol)
        total, err = total + _rowsum(terms), e
    value, scale = total[:n], total[n:][inv]
    ok = (err[:n] <= RTOL * np.abs(value) + ATOL * np.abs(scale)) & np.isfinite(value)
    return value.reshape(shape), ok.reshape(shape)
