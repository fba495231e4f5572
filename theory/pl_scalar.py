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

from . import orthant, orthant_wedge, pl_bivariate
from .activations import Activation

# Python floats (numpy scalars would make every operation a numpy call, ~5x slower)
RTOL, ATOL, H_MAX = float(pl_bivariate.RTOL), float(pl_bivariate.ATOL), float(pl_bivariate.H_MAX)
EPS, H0, H_OWEN, T_CUT = (float(v) for v in (orthant.EPS, orthant.H0, orthant.H_OWEN,
                                              orthant.T_CUT))
INV_2PI, INV_SQRT2PI = float(orthant.INV_2PI), float(orthant.INV_SQRT2PI)
# orthant_wedge.gq_rel's ulps, on floats
EXP_ULPS, H2_ULPS, STAR_ULPS = (float(v) for v in (orthant_wedge.EXP_ULPS, orthant_wedge.H2_ULPS,
                                                   orthant_wedge.STAR_ULPS))
H2_OWN, H_REL, G_ULPS = (float(v) for v in (orthant.H2_OWN, pl_bivariate.H_REL, orthant.G_ULPS))
Q_EPS, STAR_EPS, PHI_EPS = orthant.Q_EPS, orthant.STAR_EPS, orthant.PHI_EPS
G_EPS, H2_EPS, QUARTER_EPS = orthant.G_EPS, orthant.H2_EPS, orthant.QUARTER_EPS
SQRT_PI_2, SQRT2 = float(np.sqrt(np.pi / 2.0)), float(np.sqrt(2.0))
_Y, _W = np.polynomial.legendre.leggauss(32)
_Y, _W = (_Y + 1.0) / 2.0, _W / 2.0  # 32-point Gauss-Legendre on [0, 1], as orthant.py
_EXP, _ATAN2 = np.exp, np.arctan2  # on floats: the bits of their array loops


@dataclass(frozen=True)
class Kinks:
    """:class:`.pl_bivariate.Basis` as Python floats, with the sharing worked out once:
    ``mag`` the distinct ``|b_k|`` (kink ``m`` has ``h = h[at[m]]``); ``halves`` the corner
    shares ``(x, y, s)`` of orthant moments at ``(h_x, h_y; s rho)``; ``orth`` the distinct
    orthants ``(half (x, y), half (y, x), x, y, s)``; ``pairs`` ``(j, k, w, orthant, swapped)``;
    ``sD``, ``sJ``: ``sigma_k D_k``, ``sigma_k J_k``.  Equal ``|b|`` give bit-equal ``h``,
    so shared terms are the array route's values.
    ``level[order]``: the orthant moments with a nonzero coefficient (0: ``L`` only, as for
    ``phi'``; 1: ``L, G``, no jumps; 2: all); the others are exact zeros there and skipped."""

    a: float
    c: float
    sigma: tuple
    J: tuple
    sD: tuple
    sJ: tuple
    mag: tuple
    at: tuple
    halves: tuple
    orth: tuple
    pairs: tuple
    level: tuple


@lru_cache(maxsize=256)
def kinks(act: Activation) -> Kinks:
    """The :class:`Kinks` of a piecewise-linear activation (cached per parameter values)."""
    bs = pl_bivariate.basis(act)
    sig = tuple(float(v) for v in bs.sigma)
    mag = tuple(dict.fromkeys(abs(float(v)) for v in bs.breaks))
    at = tuple(mag.index(abs(float(v))) for v in bs.breaks)
    okeys = [(at[j], at[k], sig[j] * sig[k]) for j, k, _ in bs.pairs]
    uniq = [(at[j], at[k], sig[j] * sig[k]) for j, k in bs.corners]  # the array route's
    find = {key: (i, False) for i, key in enumerate(uniq)}
    find.update({(y, x, sg): (i, True) for i, (x, y, sg) in enumerate(uniq) if x != y})
    halves = list(dict.fromkeys(hf for x, y, sg in uniq for hf in ((x, y, sg), (y, x, sg))))
    orth = tuple((halves.index((x, y, sg)), halves.index((y, x, sg)), x, y, sg)
                 for x, y, sg in uniq)
    J, D = tuple(float(v) for v in bs.J), tuple(float(v) for v in bs.D)
    return Kinks(bs.a, bs.c, sig, J, tuple(sg * v for sg, v in zip(sig, D)),
                 tuple(sg * v for sg, v in zip(sig, J)), mag, at, tuple(halves), orth,
                 tuple((j, k, float(w)) + find[ok] for (j, k, w), ok in zip(bs.pairs, okeys)),
                 (pl_bivariate.level(bs, 0), pl_bivariate.level(bs, 1)))


def _gamma(z: float) -> float:
    """:func:`.orthant.gamma` on a float."""
    return float(_EXP(-0.5 * z * z)) * INV_SQRT2PI


_TILES: dict = {}


def _tails(keys: list) -> list:
    """``Tc(h, b)`` at ``(h, b)`` with ``h b > H0`` (:func:`.orthant._tail_quadrature`, the same
    operations but the sign of ``de``, folded into its factor: rounding is sign-symmetric),
    all of one call in one flat numpy batch; ``t_cut`` by ``math.atan2`` where it is ``T_CUT``
    beyond doubt (numpy's ``arctan2`` may round differently, and costs ~1 us on a float)."""
    rows, pref, near = [], [], []
    for h, a in keys:
        h2 = h * h
        a2 = a * a
        lam = h2 * a * (1.0 + a2)
        if not lam * math.atan2(1.0, a) > T_CUT * (1.0 + 1e-9):
            near.append(len(rows))
        rows.append([T_CUT / lam, a, 2.0 * a, 1.0 - a2, -(0.5 * h2 * (1.0 + a2))])
        pref.append([float(_EXP(-0.5 * h2 * (1.0 + a2))) * INV_2PI / lam, T_CUT])
    if near:  # t_cut = min(lam atan(1/a), T_CUT) by numpy's arctan2, in one call
        at = _ATAN2(1.0, [rows[i][1] for i in near]).tolist()
        for i, v in zip(near, at):
            lam = keys[i][0] * keys[i][0] * rows[i][1] * (1.0 + rows[i][1] * rows[i][1])
            rows[i][0] = min(lam * v, T_CUT) / lam
            pref[i][1] = min(lam * v, T_CUT)
    m = len(rows)
    if m not in _TILES:
        _TILES[m] = (np.tile(_Y, m), np.tile(_W, m))
    y, wt = _TILES[m]
    p = np.repeat(np.array(rows).T, 32, axis=1)  # row i: parameter i, each 32 times
    w, den, two_a, de, f = p
    w *= y
    np.tan(w, out=w)
    den *= w
    np.subtract(1.0, den, out=den)
    de *= w
    de += two_a
    de *= w
    de *= f
    den *= den
    de /= den
    np.exp(de, out=de)
    de *= wt
    return [f * t * v for (f, t), v in zip(pref, np.add.reduce(de.reshape(m, 32), axis=1).tolist())]


def _far(h: float, b: float) -> float:
    """``T(h, b)`` for ``h > H_OWEN``, ``h b <= H0``: Gauss-Legendre on ``[0, b]`` (orthant)."""
    x = b * _Y[None, :]
    s = (np.exp(-0.5 * (h * x) ** 2) / (1.0 + x * x) * _W).sum(axis=1)  # as orthant.owen_tc
    return float(_EXP(-0.5 * (h * h))) * INV_2PI * b * float(s[0])


def _orthants(kk: Kinks, h: list, qh: list, gh: list, rho: float, level: int) -> list:
    """``(L, H1, H2, G, eL, eH1, eH2, eG)`` of :func:`.orthant.orthant` per ``kk.orth``, from
    the corner shares ``kk.halves``; ``h``, ``qh = Q(h)``, ``gh = gamma(h)`` per distinct
    ``|b|``; ``level``: only ``L`` (0), ``L, G`` (1) or all (2) are computed, the others are 0.

    A share ``(x, y, s)``: ``k* = (h_y - r h_x)/c`` (:func:`.orthant._stars`: ``1 -+ r`` exact),
    Owen's ``a = k*/h_x`` (its limits at ``h_x = 0``), ``Tc(h_x, a)`` and its bound
    (:func:`.orthant.owen_tc`), ``Q(k*)`` and ``gamma(k*)``; ``r = s rho``."""
    c = math.sqrt((1.0 - rho) * (1.0 + rho))  # the same for -rho
    t = math.sqrt((1.0 - abs(rho)) / (1.0 + abs(rho)))  # _stars' tp (r >= 0), tm (r < 0)
    share, pending = [], []
    for x, y, sg in kk.halves:
        hx, hy, r, q = h[x], h[y], sg * rho, qh[x]
        if r >= 0.0:
            d = 0.0 if hy == hx else (hy - hx) / c if c else math.copysign(math.inf, hy - hx)
            ks = d + (0.0 if hx == 0.0 else hx * t)
        else:
            d = 0.0 if hy == -hx else (hy + hx) / c if c else math.inf
            ks = d - (0.0 if hx == 0.0 else hx * t)
        if hx > 0.0:
            a = ks / hx
        elif hy > 0.0 or r == -1.0:
            a = math.inf
        else:
            a = math.sqrt((1.0 - r) / (1.0 + r))
        b = abs(a)
        if hx * b <= H0:  # hx = 0, b = inf gives nan: not direct
            tc = _far(hx, b) if hx > H_OWEN else float(owens_t(hx, b))
            out, err = 0.5 * q - tc, (0.5 * q + tc) * EPS + q * hx * hx * EPS
        elif b < math.inf:  # the tail rule, batched below
            pending.append((len(share), hx, b))
            out = err = 0.0
        else:
            out, err = 0.0, 0.0
        if hx == 0.0:  # Tc(0, b) = atan(1/b) / (2 pi)
            out = float(_ATAN2(1.0, b)) * INV_2PI
            err = out * (2 * EPS)
        if level:  # :func:`.orthant.share_terms` inline
            gk = _gamma(ks) if c > 0.0 else 0.0
            ka = min(abs(ks), 1e100)
            share.append([out, err, a < 0.0, q, hx, float(ndtr(-ks)), gk, (
                EXP_ULPS + H2_ULPS * hx * hx) * EPS + STAR_ULPS * min(ks * ks, 1e200) * EPS
                if level == 2 else 0.0, PHI_EPS + QUARTER_EPS * (ka * ka), gh[x] * gk * ka,
                G_EPS + H2_EPS * (hx * hx)])
        else:
            share.append([out, err, a < 0.0, q, hx])
    if pending:
        for (i, hx, b), v in zip(pending, _tails([(hx, b) for _, hx, b in pending])):
            share[i][:2] = v, v * (64.0 + hx * hx * (1.0 + b * b)) * EPS
    for sh in share:
        if sh[2]:  # a < 0: Tc(h, a) = Q(h) - Tc(h, |a|)
            q, hx = sh[3], sh[4]
            sh[0], sh[1] = q - sh[0], sh[1] + q * (1.0 + hx * hx) * EPS
    res = []
    for i1, i2, x, y, sg in kk.orth:
        s1, s2 = share[i1], share[i2]
        L = s1[0] + s2[0]
        eL = s1[1] + s2[1] + L * EPS
        if not level:
            res.append((L, 0.0, 0.0, 0.0, eL, 0.0, 0.0, 0.0))
            continue
        r, hx, hy = sg * rho, h[x], h[y]
        gq1, gq2 = gh[x] * s1[5], gh[y] * s2[5]
        phi = c * gh[x] * s1[6]  # gamma(k*) = 0 at c = 0 (orthant.orthant's phi)
        rhk = r + hx * hy
        G = rhk * L - hy * gq1 - hx * gq2 + phi
        # :func:`.orthant.g_bound` inline (a call costs ~3x its operations here)
        ar, kgq1 = abs(r), hy * gq1
        own = (abs(rhk) * (eL + EPS * L) + (kgq1 + hx * gq2) * Q_EPS + phi * s1[8]
               + STAR_EPS * hx * (s1[9] * ar + s2[9]))
        eG = own + abs(phi - kgq1) * s1[10] + hx * gq2 * s2[10]
        if level == 1:  # and for :func:`.pl_bivariate._grouped`: own, H1, H2, dG/dlog gamma
            res.append((L, G, eG, own, gq1 + r * gq2 - hx * L, gq2 + r * gq1 - hy * L,
                        phi - kgq1, -(hx * gq2)))
            continue
        u1, u2 = s1[7], s2[7]  # relative errors of gamma(h) Q(k*), gamma(k) Q(h*)
        res.append((L, gq1 + r * gq2 - hx * L, gq2 + r * gq1 - hy * L, G, eL,
                    hx * eL + EPS * hx * L + gq1 * u1 + ar * gq2 * u2,
                    hy * eL + EPS * hy * L + gq2 * u2 + ar * gq1 * u1, eG))
    return res


def _sum_terms(kk: Kinks, q: float, rho: float, order: int) -> tuple[float, float, tuple | None]:
    """``(E, bound, again)`` at one point: :func:`.pl_bivariate.expect`'s sums on floats (a
    kink pair's term with a zero coefficient is an exact ``+ 0`` there, and skipped here);
    ``again``: at level 1 the arguments of :func:`_grouped`, the second bound."""
    s = math.sqrt(q)
    h, qh, gh, psi, e_psi = [], [], [], [], []
    for b in kk.mag:
        hu = H_MAX if s == 0.0 or b / s > H_MAX else b / s
        g = _gamma(hu)
        mills = SQRT_PI_2 * float(erfcx(hu / SQRT2))
        h.append(hu)
        qh.append(float(ndtr(-hu)))
        gh.append(g)
        psi.append(g * (1.0 - hu * mills))
        e_psi.append(g * (1.0 + hu * mills) * (1.0 + hu * hu) * EPS)
    if order == 0:
        A, C = kk.a * s, kk.c
        alpha = [J * s for J in kk.J]
        delta = kk.sD
    else:
        A, C = 0.0 * s, kk.a
        alpha = [0.0] * len(kk.at)
        delta = kk.sJ
    total, err = A * A * rho + C * C, EPS * (abs(A * A * rho) + C * C)
    if not kk.at:
        return total, err, None
    two_eps, two_c, usum, esum = 2.0 * EPS, 2.0 * abs(C), None, None
    for m, u in enumerate(kk.at):
        al, de, hu, qu, pu = alpha[m], delta[m], h[u], qh[u], psi[u]
        cross = kk.sigma[m] * rho * (al * qu + de * gh[u])
        v = 2.0 * (A * cross + C * (al * pu + de * qu))
        e = two_eps * abs(A * cross) + two_c * (
            abs(al) * e_psi[u] + EPS * (abs(al * pu) + abs(de * qu) * (1 + hu * hu)))
        usum, esum = (v, e) if usum is None else (usum + v, esum + e)
    total, err = total + usum, err + esum
    level = kk.level[order]
    orth = _orthants(kk, h, qh, gh, rho, level)
    if level == 1:  # ramps only: G's terms; the grouped bound later, where needed
        usum = None
        for j, k, w, o, _ in kk.pairs:
            aa = alpha[j] * alpha[k]
            G, eG = orth[o][1:3]
            terms = aa * G
            v, e = w * terms, w * (abs(aa) * eG + 2 * EPS * abs(terms))
            usum, esum = (v, e) if usum is None else (usum + v, esum + e)
        return total + usum, err + esum, (kk, orth, alpha, A, C, h, qh, gh, rho, err)
    usum = None
    for j, k, w, o, swapped in kk.pairs:
        L, H1, H2, G, eL, eH1, eH2, eG = orth[o]
        if swapped:  # the pair's corners reversed (:func:`.pl_bivariate._gathered`)
            H1, H2, eH1, eH2 = H2, H1, eH2, eH1
        if level == 0:
            dd = delta[j] * delta[k]
            terms = dd * L
            e = w * (abs(dd) * eL + 2 * EPS * abs(terms))
        else:
            aj, ak, dj, dk = alpha[j], alpha[k], delta[j], delta[k]
            terms = aj * ak * G + aj * dk * H1 + dj * ak * H2 + dj * dk * L
            e = w * (abs(aj * ak) * eG + abs(aj * dk) * eH1 + abs(dj * ak) * eH2
                     + abs(dj * dk) * eL + 2 * EPS * abs(terms))
        v = w * terms
        usum, esum = (v, e) if usum is None else (usum + v, esum + e)
    return total + usum, err + esum, None


def _grouped(kk: Kinks, orth: list, alpha: list, A: float, C: float, h: list, qh: list,
             gh: list, rho: float, err: float) -> float:
    """Level 1: the bound of :func:`.pl_bivariate._grouped` (``G``'s own bounds, and ``h``,
    ``gamma(h)`` through the total's derivatives, :func:`.pl_bivariate.input_bound`) plus the
    one-kink terms' ``err``, on floats."""
    dh = [-2.0 * (A * (kk.sigma[m] * rho * (alpha[m] * gh[u])) + C * (alpha[m] * qh[u]))
          for m, u in enumerate(kk.at)]
    dg = [0.0] * len(kk.at)
    esum = None
    for j, k, w, o, swapped in kk.pairs:
        _, G, _, own, H1, H2, sa, sb = orth[o]
        if swapped:  # the pair's corners reversed (:func:`.pl_bivariate._gathered`)
            H1, H2, sa, sb = H2, H1, sb, sa
        aa = alpha[j] * alpha[k]
        e = w * (abs(aa) * own + 2 * EPS * abs(aa * G))
        esum = e if esum is None else esum + e
        waa = w * aa  # dG/dh_j = -H2, dG/dh_k = -H1
        dh[j] -= waa * H2
        dh[k] -= waa * H1
        dg[j] += waa * sa
        dg[k] += waa * sb
    inp, grp = 0.0, 0.0
    for m, u in enumerate(kk.at):  # two sums in order, as the array route's two row sums
        inp += abs(dh[m]) * h[u]
        grp += abs(dg[m]) * ((G_ULPS + H2_OWN * h[u] * h[u]) * EPS)
    return err + (esum + (H_REL * inp + grp))


def point(act: Activation, q: float, rho: float, order: int = 0) -> tuple[float, bool]:
    """``(E[phi^(order)(u1) phi^(order)(u2)], ok)`` at one ``q >= 0``, ``rho`` in ``[-1, 1]``:
    the value and mask of :func:`.pl_bivariate.expect` (``ok``: its bound meets the contract)."""
    kk = kinks(act)
    if q == 0.0 and 0.0 in kk.mag:  # h = 0/0: the array route's nan, not served
        return math.nan, False
    value, err, again = _sum_terms(kk, q, rho, order)
    if not math.isfinite(value):
        return value, False
    bound = RTOL * abs(value)
    if err <= bound:
        return value, True
    if again is not None:  # the grouped bound (level 1), the smaller one (pl_bivariate._second)
        other = _grouped(*again)
        err = other if other < err else err
        if err <= bound:
            return value, True
    scale = _sum_terms(kk, q, 1.0, order)[0]
    return value, bool(err <= bound + ATOL * abs(scale))
