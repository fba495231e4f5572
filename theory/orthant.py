"""Upper-orthant moments of the standard bivariate normal, accurate in the tails.

For ``z1, z2`` standard normal with correlation ``r`` and corners ``h, k >= 0``:

* ``L(h, k; r) = P(z1 > h, z2 > k)``;
* ``H1 = E[(z1 - h) 1{z1 > h, z2 > k}]``, ``H2 = E[(z2 - k) 1{...}]``;
* ``G = E[(z1 - h)_+ (z2 - k)_+]``.

With ``c = sqrt(1 - r^2)``, ``k* = (k - r h)/c``, ``h* = (h - r k)/c`` (Rosenbaum 1961,
"Moments of a truncated bivariate normal distribution", JRSS B 23)::

    H1 = gamma(h) Q(k*) + r gamma(k) Q(h*) - h L
    G  = (r + h k) L - k gamma(h) Q(k*) - h gamma(k) Q(h*) + c gamma(h) gamma(k*)

and (Owen 1956) ``L = Tc(h, k*/h) + Tc(k, h*/k)``, where ``Tc(h, a) = T(h, inf) - T(h, a)``
is the upper tail of Owen's ``T``, a positive quantity for ``a >= 0``.  Computing it as
``Q(h)/2 - T(h, a)`` loses ``~1/Q(h a)`` to cancellation when ``h a`` is large, so
(docs/theory.md section 3.2):

* ``h |a| <= H0``: ``Q(h)/2 - T(h, a)`` (``scipy.special.owens_t`` up to ``h = H_OWEN``,
  beyond it ``T`` by Gauss-Legendre on ``[0, a]``);
* otherwise ``Tc = (1/2 pi) int_0^{atan(1/a)} exp(-h^2 / (2 sin^2 u)) du``, whose mass sits
  at the upper end with rate ``lam = h^2 a (1 + a^2)``: in ``t = lam (atan(1/a) - u)``,
  32-point Gauss-Legendre on ``[0, min(t_end, T_CUT)]`` (the rest weighs ``< e^-T_CUT``;
  Gauss-Laguerre, used before, was 2e-13 off near ``h a = 2``);
* ``a < 0``: ``Tc(h, a) = Q(h) - Tc(h, |a|)`` (at most a factor 2 of cancellation).

Every function also returns a forward error bound (a multiple of the unit roundoff times
the sum of the magnitudes that were added), which the caller uses to decide per point
whether the closed form meets its tolerance.  All arrays broadcast; ``r`` in ``[-1, 1]``.
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtr, owens_t

from . import orthant_wedge

EPS = np.finfo(float).eps
H0 = 2.0
H_OWEN = 8.0  # scipy's owens_t loses relative accuracy beyond (Gauss-Legendre there)
INV_2PI = 1.0 / (2.0 * np.pi)
INV_SQRT2PI = 1.0 / np.sqrt(2.0 * np.pi)
_Y, _W = np.polynomial.legendre.leggauss(32)
_Y, _W = (_Y + 1.0) / 2.0, _W / 2.0  # on [0, 1]
T_CUT = 40.0
WEDGE_FROM = 2e-14  # a Rosenbaum bound above this relative size: try the apex form
# g_bound's ulps (docs/theory.md section 3.2, "the bound of G"): gamma(h) = exp(-h^2/2)/sqrt(2 pi)
# (exp, the constant, the product), gamma(h) Q(k*)'s own (ndtr, the product; with G_ULPS the
# EXP_ULPS of orthant_wedge.gq_rel), c gamma(h) gamma(k*)'s own (c, exp, constant, 2 products)
G_ULPS, Q_ULPS, PHI_ULPS = 2.0, 2.0, 4.25
H2_ULPS, STAR_ULPS = orthant_wedge.H2_ULPS, orthant_wedge.STAR_ULPS
H2_OWN = 0.25  # H2_ULPS less the caller's rounded h (grouped: pl_bivariate.input_bound)
Q_EPS, STAR_EPS, PHI_EPS, G_EPS = (float(u * EPS) for u in (Q_ULPS, STAR_ULPS, PHI_ULPS, G_ULPS))
H2_EPS, QUARTER_EPS = float(H2_ULPS * EPS), float(0.25 * EPS)  # Python floats: pl_scalar's too


def gamma(z):
    return np.exp(-0.5 * z * z) * INV_SQRT2PI


def _tail_quadrature(h, a):
    """``Tc(h, a)`` for ``h a > H0`` (see module docstring), relative error ~1e-15.

    With ``w = tan(t / lam)`` the integrand is ``exp(-de)``, ``de = h^2 (1 + a^2) w (2a + w
    (1 - a^2)) / (2 (1 - a w)^2)``; ``1 - a w > 0`` at every node (``t < t_end``)."""
    h2 = h * h
    a2 = a * a
    lam = h2 * a * (1.0 + a2)
    t_end = lam * np.arctan2(1.0, a)
    t_cut = np.minimum(t_end, T_CUT)  # the rest weighs < exp(-T_CUT)
    w = np.tan((t_cut / lam)[:, None] * _Y)
    den = 1.0 - a[:, None] * w
    de = w * (2.0 * a[:, None] + w * (1.0 - a2)[:, None])
    de *= (0.5 * h2 * (1.0 + a2))[:, None]
    de /= den * den
    np.negative(de, out=de)
    np.exp(de, out=de)
    de *= _W  # a row sum, not a BLAS product: the same bits for one point and a grid
    return np.exp(-0.5 * h2 * (1.0 + a2)) * INV_2PI / lam * t_cut * de.sum(axis=1)


def owen_tc(h, a):
    """``(Tc(h, a), error bound)`` for ``h >= 0`` and any ``a`` (``+-inf`` allowed).

    ``a < 0``: ``Tc(h, a) = Q(h) - Tc(h, |a|)`` (at most a factor 2 of cancellation)."""
    h, a = np.broadcast_arrays(np.asarray(h, float), np.asarray(a, float))
    shape, h, b = h.shape, h.ravel(), np.abs(a.ravel())
    neg = a.ravel() < 0.0
    qh = ndtr(-h)
    with np.errstate(invalid="ignore", over="ignore"):
        hb = h * b
    direct = hb <= H0
    t = owens_t(np.where(direct, h, 0.0), np.where(direct, b, 0.0))
    far = direct & (h > H_OWEN)
    if np.any(far):  # T(h, b) = (1/2 pi) int_0^b exp(-h^2 (1 + x^2)/2)/(1 + x^2) dx, b <= H0/h
        hf, bf = h[far, None], b[far, None]
        x = bf * _Y
        t[far] = np.exp(-0.5 * hf[:, 0] ** 2) * INV_2PI * bf[:, 0] * (
            (np.exp(-0.5 * (hf * x) ** 2) / (1.0 + x * x) * _W).sum(axis=1))  # row sums:
        # the same bits for one point and a grid (a BLAS product is not)
    out = np.where(direct, 0.5 * qh - t, 0.0)
    err = np.where(direct, (0.5 * qh + t) * EPS + qh * h * h * EPS, 0.0)
    tail = ~direct & np.isfinite(b) & (b > 0.0)
    if np.any(tail):
        v = _tail_quadrature(h[tail], b[tail])
        out[tail] = v
        err[tail] = v * (64.0 + h[tail] ** 2 * (1.0 + b[tail] ** 2)) * EPS
    flat = ~direct & (b == 0.0)
    out[flat] = 0.5 * qh[flat]
    err[flat] = out[flat] * (1.0 + h[flat] ** 2) * EPS
    zero = h == 0.0  # Tc(0, b) = atan(1/b) / (2 pi), exactly
    out[zero] = np.arctan2(1.0, b[zero]) * INV_2PI
    err[zero] = out[zero] * (2 * EPS)
    out = np.where(neg, qh - out, out)
    err = err + np.where(neg, qh * (1.0 + h * h) * EPS, 0.0)
    return out.reshape(shape), err.reshape(shape)


def _stars(h, k, r, c):
    """``k* = (k - r h)/c`` without cancellation near ``r = +-1`` (``1 -+ r`` is exact)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        tp = np.sqrt((1.0 - r) / (1.0 + r))
        tm = np.sqrt((1.0 + r) / (1.0 - r))
        pos = np.where(k == h, 0.0, (k - h) / c) + np.where(h == 0.0, 0.0, h * tp)
        neg = np.where(k == -h, 0.0, (k + h) / c) - np.where(h == 0.0, 0.0, h * tm)
    return np.where(r >= 0.0, pos, neg)


def orthant(h, k, r, grouped: bool = False):
    """``(L, H1, H2, G, bounds)`` at corners ``h, k >= 0``, correlation ``r`` (Rosenbaum).

    ``bounds`` holds the four forward error bounds in the same order; ``grouped``: a sixth
    item, ``G``'s bound without the rounding of ``gamma(h)``, ``gamma(k)`` (:func:`g_bound`)
    and ``G``'s derivatives in ``log gamma(h)``, ``log gamma(k)``, for the caller to group."""
    h, k, r = np.broadcast_arrays(*(np.asarray(x, float) for x in (h, k, r)))
    c = np.sqrt((1.0 - r) * (1.0 + r))
    ks, hs = _stars(h, k, r, c), _stars(k, h, r, c)
    with np.errstate(divide="ignore", invalid="ignore"):
        tp = np.sqrt((1.0 - r) / (1.0 + r))
        a_h = np.where(h > 0.0, ks / h, np.where(k > 0.0, np.inf, tp))
        a_k = np.where(k > 0.0, hs / k, np.where(h > 0.0, np.inf, tp))
    t1, e1 = owen_tc(h, a_h)
    t2, e2 = owen_tc(k, a_k)
    L = t1 + t2
    eL = e1 + e2 + L * EPS
    gh, gk = gamma(h), gamma(k)
    qk, qh = ndtr(-ks), ndtr(-hs)
    gq1, gq2 = gh * qk, gk * qh  # both >= 0
    H1 = gq1 + r * gq2 - h * L
    H2 = gq2 + r * gq1 - k * L
    # relative errors of gamma(h) Q(k*) and gamma(k) Q(h*): the exponents' rounding (h^2/2
    # and the caller's rounded h), Q's slope x^2 times k*'s few ulps (was missing: H2 at
    # (8, 0, -0.3) was 7x beyond its bound)
    u1, u2 = orthant_wedge.gq_rel(h, ks), orthant_wedge.gq_rel(k, hs)
    eH1 = h * eL + EPS * h * L + gq1 * u1 + np.abs(r) * gq2 * u2
    eH2 = k * eL + EPS * k * L + gq2 * u2 + np.abs(r) * gq1 * u1
    gks, ghs = (np.where(c > 0.0, gamma(x), 0.0) for x in (ks, hs))  # c = 0: k*, h* exact
    phi = c * gh * gks
    rhk = r + h * k
    G = rhk * L - k * gq1 - h * gq2 + phi
    own, eG = g_bound(h, k, abs(r), rhk, L, eL, (gq1, gq2, phi),
                      share_terms(h, ks, gh * gks, np.minimum),
                      share_terms(k, hs, gk * ghs, np.minimum))
    if grouped:
        return L, H1, H2, G, (eL, eH1, eH2, eG), (own, phi - k * gq1, -(h * gq2))
    return L, H1, H2, G, (eL, eH1, eH2, eG)


def share_terms(h, ks, gg, minimum) -> list:
    """What :func:`g_bound` needs of one corner share ``(h, k*)``, ``gg = gamma(h)
    gamma(k*)``: ``phi``'s own relative error ``(PHI_ULPS + k*^2/4) eps``, ``gg |k*|`` (``k*``'s
    error is ``STAR_ULPS |k*| eps``) and ``gamma(h)``'s relative error ``(G_ULPS + H2_ULPS
    h^2) eps``.  The same operations on arrays (``minimum=np.minimum``) and floats (``min``)."""
    ka = minimum(abs(ks), 1e100)
    return [PHI_EPS + QUARTER_EPS * (ka * ka), gg * ka, G_EPS + H2_EPS * (h * h)]


def g_bound(h, k, ar, rhk, L, eL, terms, share1, share2):
    """Forward error bound of ``G = (r + h k) L - k gq1 - h gq2 + phi`` (``gq1 = gamma(h)
    Q(k*)``, ``gq2 = gamma(k) Q(h*)``, ``phi = c gamma(h) gamma(k*)``; ``ar = |r|``; the
    shares ``(h, k*)`` and ``(k, h*)`` by :func:`share_terms`), docs/theory.md section 3.2,
    "the bound of G": a rounded quantity that feeds several terms enters once, through the
    signed derivative of ``G``: ``gamma(h)`` through ``phi - k gq1``, ``gamma(k)`` through
    ``h gq2``; ``k*`` through ``dG/dk* = gamma(h) gamma(k*) r h``, ``h*`` through
    ``h gamma(k) gamma(h*)``; the products' own roundings (``Q_ULPS``, ``PHI_ULPS``) term by
    term.  ``(own, full)``: ``own`` without the ``gamma(h)``, ``gamma(k)`` terms (a caller
    that bounds them, and the rounding of its ``h``, through the derivatives of its total:
    :func:`.pl_bivariate.input_bound`).  :mod:`.pl_scalar` has these operations inline."""
    gq1, gq2, phi = terms
    kgq1 = k * gq1
    own = (abs(rhk) * (eL + EPS * L) + (kgq1 + h * gq2) * Q_EPS + phi * share1[0]
           + STAR_EPS * h * (share1[1] * ar + share2[1]))
    return own, own + abs(phi - kgq1) * share1[2] + h * gq2 * share2[2]


def refine(h, k, r, moments, at):
    """``moments`` (:func:`orthant`'s output on arrays ``h, k, r``) improved in place at the
    entries ``at`` (a mask) where a bound exceeds ``WEDGE_FROM`` of its moment: the apex
    form of :mod:`.orthant_wedge` (``|r| < 1``) or the exact ``r = 1`` limit, per moment the
    one with the smaller bound."""
    *out, bounds = moments
    bad = np.zeros(np.shape(h), bool)
    for v, e in zip(out, bounds):
        bad |= e > WEDGE_FROM * np.abs(v)
    bad &= at
    c = np.sqrt((1.0 - r) * (1.0 + r))
    inner, diag = bad & (c > 0.0), bad & (c == 0.0) & (r > 0.0)
    for where, form in ((inner, lambda: orthant_wedge.wedge(
            h[inner], k[inner], r[inner], _stars(h[inner], k[inner], r[inner], c[inner]),
            _stars(k[inner], h[inner], r[inner], c[inner]))),
                        (diag, lambda: orthant_wedge.diagonal(h[diag], k[diag]))):
        if np.any(where):
            *wv, we = form()
            for v, e, x, ex in zip(out, bounds, wv, we):
                better = ex < e[where]
                v[where] = np.where(better, x, v[where])
                e[where] = np.where(better, ex, e[where])
    return moments
