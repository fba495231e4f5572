"""Closed-form bivariate map of exponential-polynomial activations (docs/theory.md section 3.3).

``E[phi^(o)(u1) phi^(o)(u2)]`` for ``u1, u2 ~ N(0, q)`` with correlation ``rho``, where every
piece of ``phi^(o)`` is a sum of ``c x^n e^{s x}`` (ELU, SELU, CELU, clipped ReLU^2,
hardswish: the terms of :mod:`.exp_poly`).  Per pair of pieces on ``I_1 x I_2`` and pair of
terms, completing the square (``Sigma = q [[1, rho], [rho, 1]]``, ``s = (s1, s2)``)::

    E[x1^n1 x2^n2 e^{s.x}; x in I_1 x I_2] = e^{K} E[y1^n1 y2^n2; y in I_1 x I_2],
    K = s' Sigma s / 2,  y = mu + sqrt(q) z,  mu = Sigma s,  z ~ N(0, [[1, r], [r, 1]])

and the binomial expansion leaves the rectangle moments ``m_ij = E[z1^i z2^j; z in R]`` of
the standard bivariate normal, by Stein's identity with the rectangle's boundary terms
(Kan & Robotti 2017, "On moments of folded and truncated multivariate normal distributions",
J. Comput. Graph. Stat. 26)::

    m_(i+1)j = i m_(i-1)j + r j m_i(j-1) + [t^i phi(t) W_j(t)]_(t=b1)^(a1)
               + r [t^j phi(t) V_i(t)]_(t=b2)^(a2)

``W_j(t) = E[z2^j 1{a2 < z2 < b2} | z1 = t]`` (``z2 | z1 ~ N(r t, 1 - r^2)``: univariate
truncated moments), and ``m_00`` the rectangle probability from the upper-orthant
probabilities of :mod:`.orthant` (oriented per axis so that no term approaches 1 where the
rectangle is small).  The conditional limits ``(a2 - r t)/c`` are formed from the breakpoints
(``(l2 - rho t1)/(sqrt(q) c) - sqrt(q) s2 c``) so that nothing cancels as ``rho -> +-1``; at
``|rho| = 1`` the conditional law is a point mass (``Phi(0/0) = 1/2`` at ties, the limit).

Every magnitude that is added is summed as well, so each point carries the forward error
bound ``ERR_EPS eps sum |terms|`` (plus :mod:`.orthant`'s own bounds); :func:`expect` returns
the values and the mask ``ok`` of points whose bound is within ``RTOL |value| + ATOL
E[phi^(o)^2]`` and whose exponent ``K`` stays below ``K_MAX`` (so that ``e^K`` times an orthant
probability neither overflows nor underflows); :mod:`.routes` sends the other points on.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from scipy.special import comb, ndtr

from . import exp_poly, orthant
from .activations import Activation
from .gaussian import COND_MAX, with_scale_points

RTOL = 1e-13
ATOL = COND_MAX * orthant.EPS  # floor relative to E[phi^2] (as GELU's: a zero crossing)
EPS = orthant.EPS
ERR_EPS = 2.0  # rounding per added magnitude: ok where sum |terms| <~ 225 |sum| (cf. COND_MAX)
# e^K <= 2e282 stays finite; probabilities ~ e^-K >= 1e-283 stay normal numbers, and a corner
# dropped below Q(H_CUT) ~ 1e-308 weighs <= 2e-26 after e^K (was 300: every ELU-family point
# at q > 150 went to the nested panels, the rho = 1 scale point having K = 2 q)
K_MAX = 650.0
BIG = 60.0  # standardised limits are clamped here: gamma(60) and Q(60) are 0 in float64
INV_SQRT2PI = 1.0 / math.sqrt(2.0 * math.pi)
H_CUT = 37.5  # an orthant corner this far out: L < Q(37.5) ~ 1e-308


def applies(act: Activation) -> bool:
    return exp_poly.applies(act)


@lru_cache(maxsize=256)
def groups(act: Activation, order: int) -> tuple:
    """``((l, r, s, ((c, n), ...)), ...)``: the terms of ``phi^(order)`` per piece and rate."""
    edges = [-math.inf, *act.breakpoints.tolist(), math.inf]
    out = []
    for k, terms in enumerate(exp_poly.terms(act, order)):
        by_s: dict = {}
        for c, n, s in terms:
            by_s.setdefault(s, []).append((c, n))
        out += [(edges[k], edges[k + 1], s, tuple(cn)) for s, cn in by_s.items()]
    return tuple(out)


def clamp(x):
    return np.clip(x, -BIG, BIG)


def _gamma(z):
    return np.exp(-0.5 * z * z) * INV_SQRT2PI


def _interval_prob(a, b):
    """``(Phi(b) - Phi(a), sum of the magnitudes)``, each from the tail it is small in."""
    lo, hi = ndtr(a), ndtr(b)
    qa, qb = ndtr(-a), ndtr(-b)
    upper = a >= 0.0
    lower = b <= 0.0
    p = np.where(upper, qa - qb, np.where(lower, hi - lo, 1.0 - lo - qb))
    t = np.where(upper, qa + qb, np.where(lower, hi + lo, 1.0 + lo + qb))
    return np.maximum(p, 0.0), t


def _truncated(alpha, beta, n: int):
    """``[(M_k, |M_k| bound)]``, ``k <= n``: ``M_k = E[v^k; alpha < v < beta]``."""
    p, t = _interval_prob(alpha, beta)
    ga, gb = _gamma(alpha), _gamma(beta)
    out = [(p, t)]
    if n >= 1:
        out.append((ga - gb, ga + gb))
    for k in range(2, n + 1):
        m2, t2 = out[k - 2]
        pa, pb = alpha ** (k - 1) * ga, beta ** (k - 1) * gb
        out.append(((k - 1) * m2 + pa - pb, (k - 1) * t2 + np.abs(pa) + np.abs(pb)))
    return out


def conditional(lo, hi, mean, c, n: int):
    """``[(W_j, |W_j| bound)]``, ``j <= n``: ``W_j = E[w^j; lo' < w < hi']`` for
    ``w = mean + c v``, ``v ~ N(0, 1)``, given the standardised limits ``lo, hi`` of ``v``
    (``c = 0``: a point mass at ``mean``, the limits then 0 or +-BIG)."""
    ms = _truncated(lo, hi, n)
    out = []
    for j in range(n + 1):
        v = np.zeros(np.shape(lo))
        a = np.zeros(np.shape(lo))
        for k in range(j + 1):
            w = comb(j, k, exact=True) * mean ** (j - k) * c ** k
            v = v + w * ms[k][0]
            a = a + np.abs(w) * ms[k][1]
        out.append((v, a))
    return out


def _cond_limit(l2: float, t1: float, rho, sq, c, tp, tm, s2: float):
    """``(l2 - rho t1)/(sqrt q c) - sqrt q s2 c``: the standardised limit of ``z2`` given
    ``x1 = t1``, with ``l2 - rho t1`` split as ``(l2 -+ t1) + t1 (1 -+ rho)`` (no cancellation
    as ``rho -> +-1``; ``tp = sqrt((1-rho)/(1+rho))``, ``tm = 1/tp``)."""
    if math.isinf(l2):
        return np.full(np.shape(rho), math.copysign(BIG, l2))
    with np.errstate(divide="ignore", invalid="ignore"):
        pos = (0.0 if l2 == t1 else (l2 - t1) / (sq * c)) + (0.0 if t1 == 0.0 else t1 / sq * tp)
        neg = (0.0 if l2 == -t1 else (l2 + t1) / (sq * c)) - (0.0 if t1 == 0.0 else t1 / sq * tm)
    z = np.where(rho >= 0.0, pos, neg) - sq * s2 * c
    return clamp(np.nan_to_num(z, nan=0.0))


def _rect_prob(a1, b1, a2, b2, r):
    """``(P(a1 < z1 < b1, a2 < z2 < b2), magnitude bound)``: per axis the upper form
    ``P(z > a) - P(z > b)`` where ``a >= 0``, else the lower form, so every corner is an
    orthant probability ``U(x, y; r') = P(z1 > x, z2 > y)`` (:mod:`.orthant`, tail-accurate)."""
    up1, up2 = a1 >= 0.0, a2 >= 0.0
    s1, s2 = np.where(up1, 1.0, -1.0), np.where(up2, 1.0, -1.0)
    x = [s1 * np.where(up1, a1, b1), s1 * np.where(up1, b1, a1)]
    y = [s2 * np.where(up2, a2, b2), s2 * np.where(up2, b2, a2)]
    xs = np.concatenate([x[0], x[0], x[1], x[1]])
    ys = np.concatenate([y[0], y[1], y[0], y[1]])
    rs = np.tile(s1 * s2 * r, 4)
    u, e = _upper(xs, ys, rs)
    n = a1.size
    sign = np.repeat([1.0, -1.0, -1.0, 1.0], n)
    return (sign * u).reshape(4, n).sum(0), (np.abs(u) + e / EPS).reshape(4, n).sum(0)


def _upper(x, y, r):
    """``(P(z1 > x, z2 > y), error bound)`` for any signs: ``L(|x|, |y|; +-r)`` of
    :mod:`.orthant` and the univariate tails."""
    nx, ny = x < 0.0, y < 0.0
    h, k = np.abs(x), np.abs(y)
    rr = np.where(nx != ny, -r, r)
    L, eL = np.zeros(h.shape), np.zeros(h.shape)
    at = np.maximum(h, k) < H_CUT  # else L <= Q(H_CUT) ~ 1e-316: 0 even after e^K_MAX
    if at.any():
        L[at], *_, (eL[at], *_) = orthant.orthant(h[at], k[at], rr[at])
    qx, qy = ndtr(-x), ndtr(-y)
    # x<0<=y: Q(y) - L(-x, y; -r); y<0<=x: Q(x) - L(x, -y; -r); both < 0: 1 - Phi(x) - Phi(y) + L
    u = np.where(nx & ny, 1.0 - ndtr(x) - ndtr(y) + L,
                 np.where(nx, qy - L, np.where(ny, qx - L, L)))
    big = np.where(nx & ny, 3.0, np.where(nx, qy + L, np.where(ny, qx + L, L)))
    return u, eL + 4.0 * EPS * big


def pair(g1, g2, sq, rho, c, tp, tm):
    """``(value, magnitude, K)`` of ``E[F1(x1) F2(x2); x in I1 x I2]`` for two groups of
    terms with rates ``s1, s2`` (module docstring)."""
    l1, r1, s1, cn1 = g1
    l2, r2, s2, cn2 = g2
    q = sq * sq
    mu1, mu2 = q * (s1 + rho * s2), q * (s2 + rho * s1)
    K = 0.5 * q * (s1 * s1 + 2.0 * rho * s1 * s2 + s2 * s2)
    lim = lambda l, mu: clamp((l - mu) / sq) if math.isfinite(l) else \
        np.full(np.shape(sq), math.copysign(BIG, l))  # noqa: E731
    a1, b1, a2, b2 = lim(l1, mu1), lim(r1, mu1), lim(l2, mu2), lim(r2, mu2)
    n1, n2 = max(n for _, n in cn1), max(n for _, n in cn2)
    m00, t00 = _rect_prob(a1, b1, a2, b2, rho)
    ek = np.exp(K)  # beyond K_MAX: not ok (method="closed": inf or NaN, refused by moments)
    # boundary terms: at x1 = l1 or r1 the conditional moments of z2 (and symmetrically)
    def ends(l, r, a, b, lo_o, hi_o, s_o, n_o):  # one axis's finite ends, the other's limits
        out = []
        for t, tz, sgn in ((l, a, 1.0), (r, b, -1.0)):
            if math.isinf(t):
                continue
            lo, hi = (_cond_limit(lo_o, t, rho, sq, c, tp, tm, s_o),
                      _cond_limit(hi_o, t, rho, sq, c, tp, tm, s_o))
            out.append((sgn, tz, _gamma(tz), conditional(lo, hi, rho * tz, c, n_o)))
        return out

    bd1 = ends(l1, r1, a1, b1, l2, r2, s2, n2)
    bd2 = ends(l2, r2, a2, b2, l1, r1, s1, n1)

    def edge1(i, j):  # sum of sgn t^i phi(t) W_j(t) over x1's finite ends, and its magnitude
        v, a = 0.0, 0.0
        for sgn, tz, g, W in bd1:
            f = tz ** i * g
            v, a = v + sgn * f * W[j][0], a + np.abs(f) * W[j][1]
        return v, a

    def edge2(i, j):
        v, a = 0.0, 0.0
        for sgn, tz, g, V in bd2:
            f = tz ** j * g
            v, a = v + sgn * f * V[i][0], a + np.abs(f) * V[i][1]
        return v, a

    m = {(0, 0): (m00, t00)}
    ra = np.abs(rho)
    for i in range(n1 + 1):
        for j in range(n2 + 1):
            if (i, j) in m:
                continue
            if i >= 1:  # m_ij from m_(i-2)j, m_(i-1)(j-1)
                e1, f1 = edge1(i - 1, j)
                e2, f2 = edge2(i - 1, j)
                v, a = e1 + rho * e2, f1 + ra * f2
                if i >= 2:
                    v, a = v + (i - 1) * m[i - 2, j][0], a + (i - 1) * m[i - 2, j][1]
                if j >= 1:
                    v, a = v + rho * j * m[i - 1, j - 1][0], a + ra * j * m[i - 1, j - 1][1]
            else:
                e2, f2 = edge2(i, j - 1)
                e1, f1 = edge1(i, j - 1)
                v, a = e2 + rho * e1, f2 + ra * f1
                if j >= 2:
                    v, a = v + (j - 1) * m[i, j - 2][0], a + (j - 1) * m[i, j - 2][1]
            m[i, j] = (v, a)
    val, mag = 0.0, 0.0
    for c1, k1 in cn1:
        for c2, k2 in cn2:
            for i in range(k1 + 1):
                for j in range(k2 + 1):
                    w = (c1 * c2 * comb(k1, i, exact=True) * comb(k2, j, exact=True)
                         * mu1 ** (k1 - i) * mu2 ** (k2 - j) * sq ** (i + j)) * ek
                    val, mag = val + w * m[i, j][0], mag + np.abs(w) * m[i, j][1]
    return val, mag, K


def _sum(act: Activation, q, rho, order: int):
    """``(value, error bound, K max)`` on flat arrays."""
    sq = np.sqrt(q)
    with np.errstate(divide="ignore", invalid="ignore"):
        c = np.sqrt((1.0 - rho) * (1.0 + rho))
        tp = np.sqrt((1.0 - rho) / (1.0 + rho))
        tm = np.sqrt((1.0 + rho) / (1.0 - rho))
    gs = groups(act, order)
    val, mag, kmax = np.zeros(q.shape), np.zeros(q.shape), np.full(q.shape, -np.inf)
    for i, g1 in enumerate(gs):
        for j in range(i, len(gs)):
            v, a, K = pair(g1, gs[j], sq, rho, c, tp, tm)
            w = 1.0 if i == j else 2.0  # E[F(x1) G(x2)] = E[G(x1) F(x2)]
            val, mag, kmax = val + w * v, mag + w * a, np.maximum(kmax, K)
    return val, ERR_EPS * EPS * mag, kmax


def expect(act: Activation, q, rho, order: int = 0):
    """``(E[phi^(order)(u1) phi^(order)(u2)], ok)``, ``order`` 0 or 1, broadcasting ``q``
    and ``rho``; ``ok`` marks the points whose error bound meets ``RTOL``/``ATOL``."""
    qa, ra, n, inv, shape = with_scale_points(q, rho)
    with np.errstate(over="ignore", invalid="ignore"):
        total, err, kmax = _sum(act, qa, ra, order)
    value, scale = total[:n], total[n:][inv]
    far = ~(kmax[n:][inv] <= K_MAX)  # the scale E[phi^(o)^2] from the univariate closed form
    if far.any():
        scale = np.where(far, exp_poly.moment(act, qa[:n], ("e_phi2", "e_dphi2")[order])[0],
                         scale)
    ok = ((err[:n] <= RTOL * np.abs(value) + ATOL * np.abs(scale)) & np.isfinite(value)
          & (kmax[:n] <= K_MAX) & (qa[:n] > 0.0))
    return value.reshape(shape), ok.reshape(shape)
