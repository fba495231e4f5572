"""Upper-orthant moments without cancellation: polar coordinates about the apex.

The orthant moments of :mod:`.orthant` (``L, H1, H2, G`` at corner ``(h, k)``, correlation
``r``) by Rosenbaum's formulas subtract nearly equal numbers far in the tail (``H1`` loses
``~h^2``, ``G`` ``~h^4``) and as ``r -> -1`` (the orthant closes: ``G(0, 0; r) ~ (1 + r)^{3/2}``).
Here every one is an integral of positive terms (docs/theory.md section 3.2, "the apex
form").  With ``z1 = x``, ``z2 = r x + c y`` (``x, y`` independent, ``c = sqrt(1 - r^2)``) the
orthant is the cone ``P + {s e_psi : s >= 0, psi in [pi/2 - alpha, pi/2]}`` with apex
``P = (h, k*)``, ``alpha = acos(-r)``; along ``e_psi``, ``z1 - h = s cos psi`` and
``z2 - k = s sin(psi - pi/2 + alpha)``, so with ``m(psi) = P . e_psi``::

    E[(z1 - h)^a (z2 - k)^b 1{..}] = gamma(h) gamma(k*) int cos^a psi sin^b(..) I_{a+b+1}(m) dpsi

``I_n(m) = int_0^inf s^n exp(-m s - s^2/2) ds`` (``> 0``).  The apex direction splits the
range into two half-sectors; on each, ``m = m_e cos(delta) + d_e sin(delta)`` with ``delta``
the angle from the edge, ``m_e`` = ``k*`` (edge ``z1 = h``) or ``h*`` (edge ``z2 = k``) and
``d_e = h`` or ``k`` (the edge's distance from the origin), the half-angle ``atan2(d_e, m_e)``.
Where ``k* < 0`` (``h* < 0``: swap) the apex points outside the cone and ``I_n`` would grow
like ``exp(m^2/2)``; then the complement ``{z1 > h, z2 < k}`` (corner ``(h, -k)``,
correlation ``-r``, ``m_e = -k* > 0``) is integrated and::

    L = Q(h) - L',  H1 = psi_1(h) - H1',  H2 = r psi_1(h) + c|k*| Q(h) + H2',
    G = r psi_2(h) + c|k*| psi_1(h) + G'

(``psi_n(h) = E[(z - h)_+^n]``; the subtractions lose at most a factor 2: ``L' <= Q(h)/2``).
The complement's apex ``(h, -k*)`` points past its edge ``z2 = -k``: one sector from the
edge ``z1 = h`` over the whole angle.  The ``delta``-integrals are smooth but peak at an
edge (``I_n ~ n!/m^{n+1}``, scale ``(1 + m_e)/d_e``): ``delta = sigma (e^y - 1)``,
``y in [0, Y]``, turns the algebraic peak into ``e^{-n y}``, and Gauss-Legendre in ``y``
with 10-24 nodes by ``Y`` (``TIERS``) follows.  ``I_n`` (``n <= 3``): ``I_3, I_4`` by Taylor
sums about centres ``1/16`` apart up to ``M_TAYLOR`` (a table built once; the number of
terms from the remainder bound), then ``I_{n-1} = (I_{n+1} + m I_n) / n`` (positive terms);
beyond, the backward ratio recurrence ``T_n = n/(m + T_{n+1})`` (:mod:`.pl_univariate`).
The sines and cosines of the nodes come from ``tan`` of half angles (numpy vectorises ``tan``,
not ``sin``, ``cos``).  The error bound: the quadrature's and ``I_n``'s measured allowances
plus the rounding of ``gamma(h) gamma(k*)`` (all terms are positive).  At ``r = 1``
(``c = 0``) :func:`diagonal` gives the exact limit.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy.special import erfcx

EPS = np.finfo(float).eps
INV_SQRT2PI = 1.0 / np.sqrt(2.0 * np.pi)
SQRT_PI_2 = np.sqrt(np.pi / 2.0)
M_TAYLOR, STEP = 12.0, 1.0 / 16  # the Taylor table: centres STEP (i + 1/2) up to M_TAYLOR
DEPTH = ((25.0, 12), (np.inf, 8))  # backward recurrence beyond M_TAYLOR: depth per range of m
DEPTH_TABLE = 2000  # the table's backward recurrence (its start damped by < e^-42 at m = 1/2)


def _gl(n):
    y, w = np.polynomial.legendre.leggauss(n)
    return (y + 1.0) / 2.0, w / 2.0  # on [0, 1]


# Gauss-Legendre nodes per max(Y, 0.3 beta) (measured against 80 nodes, random sectors:
# <= 1e-14 relative in every tier; Y reaches ~4.2 at |P| = 40)
TIERS = tuple((y, _gl(n)) for y, n in ((0.4, 10), (0.75, 12), (1.25, 14), (2.0, 16), (3.0, 20),
                                         (np.inf, 24)))
QUAD_REL = 32 * EPS  # the quadrature's allowance (measured: <= 8e-15 against 80 nodes)
I_REL = 16 * EPS     # I_n's relative error (measured <= 7 EPS on [0, 60]: test_orthant_wedge.py)


def _gamma(z):
    return np.exp(-0.5 * z * z) * INV_SQRT2PI


def _sequence(m, top: int, depth: int = DEPTH_TABLE):
    """``I_0 .. I_top`` at the 1-D ``m`` for the table (once): ``I_0 = sqrt(pi/2) erfcx(m /
    sqrt 2)``, then the ratios ``T_n = I_n / I_{n-1} = n / (m + T_{n+1})`` by the backward
    recurrence from ``depth`` (its start's error damped like ``exp(-2 m sqrt(depth))``)
    for ``m > 1/2``, the forward recurrence ``I_{n+1} = n I_{n-1} - m I_n`` below, both in
    ``np.longdouble`` (extended precision where the platform has it)."""
    ld = np.longdouble
    i0 = (SQRT_PI_2 * erfcx(m * (1.0 / np.sqrt(2.0)))).astype(ld)
    x = m.astype(ld)
    fwd = [i0, 1 - x * i0]
    for n in range(1, top):
        fwd.append(n * fwd[n - 1] - x * fwd[n])
    t = (np.sqrt(x * x + ld(4 * (depth + 1))) - x) / 2  # the ratios' fixed point
    ratios = {}
    for n in range(depth, 0, -1):
        t = n / (x + t)
        if n <= top:
            ratios[n] = t
    back = [i0]
    for n in range(1, top + 1):
        back.append(back[-1] * ratios[n])
    return np.where(m <= 0.5, np.array(fwd), np.array(back)).astype(float)


@lru_cache(maxsize=1)
def _taylor_table():
    """``(m_i, c)``, ``c[j, n - 3, i] = I_{n+j}(m_i) / j!`` for ``n = 3, 4`` at the centres
    ``m_i = STEP (i + 1/2) < M_TAYLOR``, ``j < N``: ``N`` the fewest terms whose remainder bound
    ``(STEP/2)^N / N! I_{n+N}(m_i - STEP/2) / I_n(m_i + STEP/2)`` (``|e^x - sum_{j<N} x^j/j!|
    <= |x|^N e^|x| / N!`` under the integral) is at most ``EPS/16`` in every cell (``N = 10``)."""
    m0 = STEP * (np.arange(int(round(M_TAYLOR / STEP))) + 0.5)
    top = 40
    centre = _sequence(m0, top)
    lo, hi = (_sequence(x, top, 400) for x in (m0 - STEP / 2, m0 + STEP / 2))  # for the bound
    fact, n_terms = 1.0, top - 4
    for n in range(1, top - 4):
        fact *= n
        if max(np.max((STEP / 2) ** n / fact * lo[k + n] / hi[k]) for k in (3, 4)) <= EPS / 16:
            n_terms = n
            break
    fact = np.cumprod([1.0] + list(range(1, n_terms)))
    return m0, np.stack([np.stack([centre[k + j] / fact[j] for k in (3, 4)])
                         for j in range(n_terms)])


def _ratio(x, t, depth: int):
    """The backward ratio recurrence ``t <- n / (x + t)``, ``n = depth .. 4``."""
    for n in range(depth, 3, -1):
        t = n / (x + t)
    return t


def _taylor(m):
    """``(I_1, I_2, I_3)`` for ``0 <= m <= M_TAYLOR`` (1-D): ``I_3, I_4`` by Taylor sums about
    the nearest centre (``dI_n/dm = -I_{n+1}``, Horner), then the downward recurrence
    ``I_{n-1} = (I_{n+1} + m I_n) / n`` (positive terms: nothing cancels)."""
    m0, c = _taylor_table()
    with np.errstate(invalid="ignore"):  # NaN in, NaN out
        idx = np.clip((m * (1.0 / STEP)).astype(np.intp), 0, len(m0) - 1)
    t = m0[idx] - m  # I_n(m0 - t) = sum_j t^j I_{n+j}(m0) / j!
    cf = np.take(c, idx, axis=2)  # (terms, 2, points); ~2x faster than c[:, :, idx]
    acc = cf[-1].copy()
    for j in range(len(c) - 2, -1, -1):
        acc *= t
        acc += cf[j]
    i3, i4 = acc
    i2 = (i4 + m * i3) * (1.0 / 3.0)
    return (i3 + m * i2) * 0.5, i2, i3


def _backward(m):
    """``(I_1, I_2, I_3)`` for ``m > M_TAYLOR`` (1-D): the backward ratio recurrence from the
    depths ``DEPTH`` and the Mills ratio."""
    i1, i2, i3 = (np.empty(m.shape) for _ in range(3))
    lo = M_TAYLOR
    for hi, depth in DEPTH:
        at = (m > lo) & (m <= hi)
        lo = hi
        if not np.any(at):
            continue
        x = m[at]
        t = _ratio(x, 0.5 * (np.sqrt(x * x + 4.0 * (depth + 1)) - x), depth)
        t3 = 3.0 / (x + t)
        t2 = 2.0 / (x + t3)
        v1 = SQRT_PI_2 * erfcx(x * (1.0 / np.sqrt(2.0))) / (x + t2)
        i1[at], i2[at], i3[at] = v1, v1 * t2, v1 * t2 * t3
    return i1, i2, i3


def i_moments(m):
    """``(I_1, I_2, I_3)(m)`` for ``m >= 0`` (any shape), relative error < ``I_REL``: Taylor
    sums from the table up to ``M_TAYLOR`` (:func:`_taylor`), the backward ratio recurrence
    beyond (:func:`_backward`); measured <= 4 ulps against 40-digit mpmath on ``[0, 60]``
    (tests/test_orthant_wedge.py)."""
    m = np.asarray(m, float)
    flat = m.ravel()
    far = flat > M_TAYLOR
    if not far.any():
        return tuple(v.reshape(m.shape) for v in _taylor(flat))
    out = [np.empty(flat.shape) for _ in range(3)]
    near = ~far
    for v, x, y in zip(out, _taylor(flat[near]), _backward(flat[far])):
        v[near], v[far] = x, y
    return tuple(v.reshape(m.shape) for v in out)


EXP_ULPS, H2_ULPS, STAR_ULPS = 4.0, 1.25, 3.0  # the ulps of exp_rel and gq_rel


def exp_rel(h):
    """Relative error of ``gamma(h)``: ``h^2/2`` rounded, and ``h = |b|/sqrt(q)`` itself
    rounded by the caller (``h^2`` ulps), plus ``exp``'s own."""
    return (EXP_ULPS + H2_ULPS * h * h) * EPS


def gq_rel(h, ks):
    """Relative error of ``gamma(h) Q(k*)``: :func:`exp_rel` plus ``Q``'s slope ``k*^2``
    times ``k*``'s few ulps (capped where ``Q(k*)`` is 0 anyway)."""
    return exp_rel(h) + STAR_ULPS * np.minimum(ks * ks, 1e200) * EPS


def diagonal(h, k):
    """``(L, H1, H2, G, bounds)`` at ``r = 1`` (``z1 = z2``): the half-line ``z > M =
    max(h, k)``, ``L = Q(M)``, ``H1 = psi_1(M) + (M - h) Q(M)``, ``G = psi_2(M) + (2M - h - k)
    psi_1(M) + (M - h)(M - k) Q(M)``: sums of positive terms (Rosenbaum's ``H1`` at ``c = 0``
    is ``gamma(h) - h Q(h)``, which loses ``~h^2``)."""
    M = np.maximum(h, k)
    g = _gamma(M)
    p0 = g * SQRT_PI_2 * erfcx(M * (1.0 / np.sqrt(2.0)))
    i1, i2, _ = i_moments(M)
    p1, p2 = g * i1, g * i2
    dh, dk = M - h, M - k
    out = [p0, p1 + dh * p0, p1 + dk * p0, p2 + (dh + dk) * p1 + dh * dk * p0]
    rel = I_REL + exp_rel(M) + 4 * EPS
    return (*out, tuple(rel * x for x in out))


def _sin_cos(t):
    """``(sin x, cos x)`` from ``t = tan(x/2)``, ``0 <= x < pi``: ``2t / (1 + t^2)`` (within 1.2
    ulps) and ``(1 - t^2) / (1 + t^2)`` (within 1 eps absolute), measured against mpmath; numpy's
    ``tan`` is vectorised, its ``sin`` and ``cos`` cost ~12x more per node."""
    t2 = t * t
    inv = 1.0 / (1.0 + t2)
    t *= 2.0 * inv
    return t, (1.0 - t2) * inv


def _half(m_e, d_e, beta, alpha, first):
    """The four ``delta``-integrals of half-sectors (1-D arrays, one entry per half-sector),
    the weights ``cos psi = sin(delta)``, ``sin(psi - pi/2 + alpha) = sin(alpha - delta)``
    where the edge is ``z1 = h`` (``first``), swapped for the edge ``z2 = k``; ``N`` nodes by
    the log-range ``Y`` (``TIERS``)."""
    Y = np.maximum(np.log1p(beta * d_e / (1.0 + m_e)), 0.25)
    tier = np.maximum(Y, 0.3 * beta)  # the weights' sines over a wide sector count too
    out = np.zeros((4,) + beta.shape)
    cls = np.where(beta > 0.0, np.searchsorted([y for y, _ in TIERS[:-1]], tier), -1)
    for c in np.unique(cls[cls >= 0]):
        yn, wn = TIERS[c][1]
        at = np.nonzero(cls == c)[0]
        y, sigma = Y[at], beta[at] / np.expm1(Y[at])
        ey = np.exp(y[:, None] * yn)
        w = (y * sigma)[:, None] * ey * wn  # d delta
        ey -= 1.0
        ey *= 0.5 * sigma[:, None]  # delta / 2
        s_e, c_e = _sin_cos(np.tan(ey))
        c_e *= m_e[at, None]
        c_e += d_e[at, None] * s_e  # m
        i1, i2, i3 = i_moments(c_e)
        s_o = _sin_cos(np.tan(np.subtract(0.5 * alpha[at, None], ey, out=ey)))[0]
        i1 *= w
        i2 *= w
        i3 *= w
        i3 *= s_e
        i3 *= s_o
        e, o = np.einsum("ij,ij->i", i2, s_e), np.einsum("ij,ij->i", i2, s_o)
        f = first[at]
        out[:, at] = i1.sum(axis=1), np.where(f, e, o), np.where(f, o, e), i3.sum(axis=1)
    return out


def _inside(h, k, r, ks, hs):
    """``(L, H1, H2, G)`` of the cone at ``h >= 0``, any ``k``, with ``k*, h* >= 0``: for
    ``k >= 0`` the apex direction lies inside the cone (two half-sectors), for ``k < 0`` (the
    complement) past the edge ``z2 = k``: one sector ``delta in [0, alpha]`` from ``z1 = h``."""
    c = np.sqrt((1.0 - r) * (1.0 + r))
    alpha = np.arctan2(c, -r)
    ak = np.abs(k)
    b_a, b_b = np.arctan2(h, ks), np.arctan2(ak, hs)
    one = ((h == 0.0) & (ks == 0.0)) | (k < 0.0)  # P = 0, or the apex points past edge B
    b_a = np.where(one, alpha, b_a)
    b_b = np.where(one, 0.0, b_b)
    n = h.size  # both halves in one pass: [edge z1 = h, edge z2 = k]
    both = _half(np.concatenate([ks, hs]), np.concatenate([h, ak]), np.concatenate([b_a, b_b]),
                 np.concatenate([alpha, alpha]), np.arange(2 * n) < n)
    out = [x[:n] + x[n:] for x in both]
    pre = _gamma(h) * _gamma(ks)
    return [pre * x for x in out]


def wedge(h, k, r, ks, hs):
    """``(L, H1, H2, G, bounds)`` at corners ``h, k >= 0``, ``|r| < 1`` (1-D arrays), with
    ``k* = ks``, ``h* = hs`` as :func:`.orthant._stars` gives them."""
    swap = hs < 0.0
    h, k, ks, hs = (np.where(swap, k, h), np.where(swap, h, k), np.where(swap, hs, ks),
                    np.where(swap, ks, hs))
    comp = ks < 0.0
    c = np.sqrt((1.0 - r) * (1.0 + r))
    L, H1, H2, G = _inside(h, np.where(comp, -k, k), np.where(comp, -r, r), np.abs(ks), hs)
    # the half-plane {z1 > h}: psi_0, psi_1, psi_2 by the Mills ratio (m = h >= 0)
    gh = _gamma(h)
    mills = SQRT_PI_2 * erfcx(h * (1.0 / np.sqrt(2.0)))
    j1, j2, _ = i_moments(h)
    p0, p1, p2 = gh * mills, gh * j1, gh * j2
    ck = c * np.abs(ks)
    rel = QUAD_REL + I_REL + exp_rel(h) + 3.0 * ks * ks * EPS  # + k*'s few ulps
    eL, eH1, eH2, eG = (rel * x for x in (L, H1, H2, G))
    ep = I_REL + exp_rel(h)
    L = np.where(comp, p0 - L, L)
    H1 = np.where(comp, p1 - H1, H1)
    H2 = np.where(comp, r * p1 + ck * p0 + H2, H2)
    G = np.where(comp, r * p2 + ck * p1 + G, G)
    eL = eL + np.where(comp, ep * p0 + EPS * np.abs(L), 0.0)
    eH1 = eH1 + np.where(comp, ep * p1 + EPS * np.abs(H1), 0.0)
    eH2 = eH2 + np.where(comp, ep * (np.abs(r) * p1 + ck * p0) + 2 * EPS * H2, 0.0)
    eG = eG + np.where(comp, ep * (np.abs(r) * p2 + ck * p1) + 2 * EPS * G, 0.0)
    H1, H2 = np.where(swap, H2, H1), np.where(swap, H1, H2)
    eH1, eH2 = np.where(swap, eH2, eH1), np.where(swap, eH1, eH2)
    return L, H1, H2, G, (eL, eH1, eH2, eG)
