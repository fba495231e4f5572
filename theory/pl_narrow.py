"""Bivariate map of bounded piecewise-linear activations at narrow clips (docs/theory.md 3.2).

``E[phi^(o)(u1) phi^(o)(u2)]``, ``u1, u2 ~ N(0, q)`` with correlation ``rho``, for a bounded
piecewise-linear ``phi`` (CReLU, CST, hardtanh, ReLU6, hardsigmoid: slope 0 on both outer
pieces) where a finite piece is narrow in sd units (``w = width / sqrt(q)`` small): there the
ramp basis of :mod:`.pl_bivariate` cancels (two O(1) ramps make an O(w) clamp).

Integrating ``phi'`` from ``x = 0`` outwards, each finite piece ``[e, f]`` of slope ``k`` on
the positive side adds ``k C(x)``, ``C(x) = min(max(x - e, 0), f - e) = (f - e) 1{x > f} +
(x - e) 1{e < x < f}`` (mirrored on the negative side), so in ``z = x / sqrt(q)``::

    phi = phi(0) + sum_i beta_i 1{sigma_i z > h_i} + sum_j kappa_j N_j(sigma_j z)

with steps (the clamps' tops and the value jumps) and narrow pieces
``N_j(z) = P_j(z) 1{a_j < z < b_j}``, ``P_j = z - a_j`` (order 0) or ``1`` (order 1, where
``phi'`` is the boxes alone).  Every basis function is non-negative, so the pair terms add
without cancellation (beyond the sign pattern of ``phi`` itself):

* step x step: ``L(h_i, h_k; r)`` (:mod:`.orthant`), ``r = sigma_i sigma_k rho``;
* narrow x step: ``int_a^b P(x) gamma(x) Q((h - r x)/c) dx``, ``c = sqrt(1 - r^2)``;
* narrow x narrow: ``int int P1(x) P2(y) gamma(x) gamma((y - r x)/c)/c dx dy``;
* ``r = +-1``: the same integrals on the overlap of the pieces (``r = -1``: zero, both
  pieces lie on ``z >= 0``).

The integrals are ``n``-point Gauss-Legendre rules (tensor rules in two dimensions) on the
narrow pieces, with the a-priori bound of :mod:`.gl_bound` (Bernstein ellipse, Trefethen's
Thm 19.3): per point the smallest ``n`` whose bound is ``<= gl_bound.QUAD_TOL`` relative;
where none is (pieces wider than the density's scale ``c``: near ``rho = +-1``, or far out at
small ``q``) the point is not served.  An odd ``phi`` near ``rho = 0`` takes the odd-part form
of :mod:`.pl_narrow_odd`.  Rounding bounds are per node, weighted by the terms of each sum.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy.special import ndtr

from . import gl_bound as GB
from . import orthant
from . import pl_bivariate as P
from . import pl_narrow_odd as odd
from .activations import Activation
from .gaussian import with_scale_points

RTOL, ATOL = P.RTOL, P.ATOL  # the contract of pl_bivariate (docs/theory.md section 3.2)
CHUNK = 1 << 17  # nodes of the tensor rules evaluated at once


@dataclass(frozen=True)
class Basis:
    """``phi^(o) = const + steps + narrow pieces`` in ``x`` units (module docstring):
    ``steps``: ``(sigma, h, beta)``; ``pieces``: ``(sigma, a, b, kappa)`` with ``0 <= a < b``."""

    const: float
    steps: tuple
    pieces: tuple


def applies(act: Activation) -> bool:
    """Piecewise-linear, bounded (slope 0 on both outer pieces), a finite sloped piece."""
    if not act.is_piecewise_linear or len(act.breakpoints) < 2:
        return False
    slopes = act.linear_coeffs[0]
    return slopes[0] == 0.0 and slopes[-1] == 0.0 and bool(np.any(slopes[1:-1] != 0.0))


@lru_cache(maxsize=256)
def basis(act: Activation, order: int) -> Basis:
    """The clamp basis of ``phi`` (``order`` 0) or ``phi'`` (``order`` 1) about ``x = 0``."""
    b = [float(v) for v in act.breakpoints]
    slopes, icpts = act.linear_coeffs
    k0 = int(np.searchsorted(b, 0.0, side="right"))
    steps: dict = {}
    pieces = []

    def add_step(sigma, h, beta):
        if beta != 0.0:
            steps[(sigma, h)] = steps.get((sigma, h), 0.0) + beta
    for sigma in (1.0, -1.0):
        cuts = sorted({0.0, *(abs(v) for v in b if sigma * v > 0.0)})
        for e, f in zip(cuts[:-1], cuts[1:]):
            k = float(slopes[int(np.searchsorted(b, sigma * 0.5 * (e + f), side="right"))])
            if k == 0.0:
                continue
            if order == 0:  # sigma k C(sigma x): a step of height (f - e) at f, a narrow piece
                add_step(sigma, f, sigma * k * (f - e))
                pieces.append((sigma, e, f, sigma * k))
            else:
                pieces.append((sigma, e, f, k))
    if order == 0:
        for v, d in zip(b, act.jumps):
            add_step(1.0 if v > 0.0 else -1.0, abs(v), (1.0 if v > 0.0 else -1.0) * float(d))
    const = float(icpts[k0]) if order == 0 else 0.0
    return Basis(const, tuple((s, h, v) for (s, h), v in steps.items()), tuple(pieces))


def _single(n, a, b, order):
    """``(E[N(z)], relative rounding bound)``."""
    x, t, w = GB.gl(n, a, b)
    f = GB.poly(t, 0.0 * a, order) * GB.gam(x) * w
    return f.sum(axis=1), (16.0 + GB.wmean(f, GB.node_kappa(x, b), 1)) * GB.EPS


def _narrow_step(n, a, b, h, r, c, order):
    """``(E[N(z1) 1{z2 > h}], relative rounding bound)``, corr ``r``; ``c = 0``: the overlap."""
    deg = c == 0.0
    cs = np.where(deg, 1.0, c)
    lo = np.where(deg, np.where(r > 0.0, np.maximum(a, h), b), a)
    x, t, w = GB.gl(n, lo, b)
    u = (h[:, None] - r[:, None] * x) / cs[:, None]
    f = GB.poly(t, lo - a, order) * GB.gam(x) * np.where(deg[:, None], 1.0, ndtr(-u)) * w
    # Q(u): a few ulps, times |d log Q/du| <= |u| + 1 times the error of u
    du = 2.0 * (h[:, None] + np.abs(r * b)[:, None] + np.abs(r[:, None] * x)) / cs[:, None] \
        + 2.0 * np.abs(u)
    k = GB.node_kappa(x, b) + np.where(deg[:, None], 0.0, 4.0 + (np.abs(u) + 1.0) * du)
    return f.sum(axis=1), (16.0 + GB.wmean(f, k, 1)) * GB.EPS


def _narrow_pair(n, p1, p2, r, c, order):
    """``(E[N1(z1) N2(z2)], relative rounding bound)``; ``c = 0``: the overlap (``r = 1``)."""
    (a1, b1), (a2, b2) = p1, p2
    deg = c == 0.0
    cs = np.where(deg, 1.0, c)
    top = np.where(deg, np.minimum(b1, b2), b1)
    lo = np.where(deg, np.where(r > 0.0, np.maximum(a1, a2), top), a1)
    x, tx, wx = GB.gl(n, lo, top)
    y, ty, wy = GB.gl(n, a2, b2)
    gx = GB.poly(tx, lo - a1, order) * wx * GB.gam(x)
    fy = GB.poly(ty, 0.0 * a2, order) * wy
    v = (y / cs[:, None])[:, None, :] - ((r / cs)[:, None] * x)[:, :, None]
    v2 = np.multiply(v, v, out=v)
    gy = np.multiply(v2, -0.5)  # in place from here: the n^2 temporaries are the cost
    np.exp(gy, out=gy)
    gy *= fy[:, None, :]
    row = gy.sum(axis=2)  # per x node
    den = np.einsum("pi,pi->p", gx, row)
    value = den * GB.INV_SQRT2PI / cs
    # exp of e = x^2/2 + v^2/2 per node, in ulps: e's rounding (2e), the nodes' (2 eps b
    # each) through x and v, and v's own: k = 4 + x^2 + 2 b1 |x| + 3.5 v^2 + |v| Z,
    # Z <= Zmax, averaged with the weights of the sum (mean |v| <= sqrt(mean v^2))
    inv = np.where(den > 0.0, 1.0 / np.where(den > 0.0, den, 1.0), 0.0)
    mv2 = np.einsum("pi,pi->p", gx, np.multiply(v2, gy, out=v2).sum(axis=2)) * inv
    Zmax = 2.0 * (2.0 * b2 + np.abs(r) * 2.0 * b1) / cs
    k_open = (np.einsum("pi,pi->p", gx * (4.0 + x * x + 2.0 * b1[:, None] * np.abs(x)), row) * inv
              + 3.5 * mv2 + Zmax * np.sqrt(mv2))
    fd = gx * GB.poly(tx, lo - a2, order)
    value = np.where(deg, fd.sum(axis=1), value)
    rnd = np.where(deg, GB.wmean(fd, GB.node_kappa(x, top), 1), k_open)
    return value, (16.0 + rnd) * GB.EPS


def _spans(order, steps, pieces, r, c):
    """Per narrow integral, ``log(M/I)`` over the radii x points (:func:`.gl_bound.level`)."""
    _, A, B = GB.ellipse()
    deg = c == 0.0
    cs = np.where(deg, 1.0, c)
    out = []
    for j, (sj, a, b, _) in enumerate(pieces):
        m, ell = 0.5 * (a + b), 0.5 * (b - a)
        U, g, G = GB.log_gamma(m, ell, A, B)
        out.append(U - g + GB.poly_ratio(A, G, order))
        for si, h, _ in steps:
            rr = sj * si * r
            Uq, gq, Gq = GB.log_q((h - rr * m) / cs, -rr * ell / cs, A, B)
            lo = np.where(rr > 0.0, np.clip(h, a, b), b)  # c = 0: the rule on [lo, b]
            Ud, gd, Gd = GB.log_gamma(0.5 * (lo + b), 0.5 * (b - lo), A, B)
            out.append(np.where(deg, Ud - gd + GB.poly_ratio(A, Gd, order, 0),
                                U + Uq - g - gq + GB.poly_ratio(A, G + Gq, order)))
        for sk, a2, b2, _ in pieces[j:]:
            rr = sj * sk * r
            m2, l2 = 0.5 * (a2 + b2), 0.5 * (b2 - a2)
            Uv, gv, (Gx, Gy) = GB.log_gauss((m2 - rr * m) / cs, [-rr * ell / cs, l2 / cs], A, B)
            top = np.minimum(b, b2)
            lo = np.where(rr > 0.0, np.minimum(np.maximum(a, a2), top), top)
            Ud, gd, Gd = GB.log_gamma(0.5 * (lo + top), 0.5 * (top - lo), A, B)
            out.append(np.where(deg, Ud - gd + GB.poly_ratio(A, Gd, order, 2),
                                U + Uv - g - gv + GB.poly_ratio(A, G + Gx, order) + GB.poly_ratio(A, Gy, order)))
    return out


def _corner_probability(h, k, r):
    """``(L(h, k; r), bound)``: at ``h = k`` (every catalogue pair) ``L = 2 Tc(h, a)``,
    ``a = sqrt((1 - r)/(1 + r))`` (:mod:`.orthant`'s Owen form with ``k* = h a``), else
    :func:`.orthant.orthant`."""
    if np.array_equal(h, k):
        with np.errstate(divide="ignore"):
            a = np.sqrt((1.0 - r) / (1.0 + r))
        t, e = orthant.owen_tc(h, a)
        return 2.0 * t, 2.0 * e + 2.0 * t * GB.EPS
    L, _, _, _, (eL, _, _, _) = orthant.orthant(h, k, r)
    return L, eL


def _terms(bs, s, r, c, n, order):
    """``(E[phi^(o)(u1) phi^(o)(u2)], error bound)`` on flat arrays, one rule size ``n``."""
    steps = [(sg, h / s, beta) for sg, h, beta in bs.steps]
    pieces = [(sg, a / s, b / s, kap * (s if order == 0 else 1.0)) for sg, a, b, kap in bs.pieces]
    C = bs.const
    terms = [C * C + 0.0 * s]
    err = []
    for _, h, beta in steps if C else ():  # E[phi] terms: none where phi(0) = 0
        terms.append(2.0 * C * beta * ndtr(-h))
        err.append(np.abs(terms[-1]) * (4.0 + h * h) * GB.EPS)
    for j, (sj, a, b, kap) in enumerate(pieces):
        if C:
            v, e = _single(n, a, b, order)
            terms.append(2.0 * C * kap * v)
            err.append(np.abs(terms[-1]) * (e + GB.QUAD_TOL))
        for si, h, beta in steps:
            v, e = _narrow_step(n, a, b, h, sj * si * r, c, order)
            terms.append(2.0 * kap * beta * v)
            err.append(np.abs(terms[-1]) * (e + GB.QUAD_TOL))
        for k in range(j, len(pieces)):
            sk, a2, b2, kap2 = pieces[k]
            v, e = _narrow_pair(n, (a, b), (a2, b2), sj * sk * r, c, order)
            terms.append((1.0 if k == j else 2.0) * kap * kap2 * v)
            err.append(np.abs(terms[-1]) * (e + GB.QUAD_TOL))
    if steps:
        ij = [(i, k) for i in range(len(steps)) for k in range(i, len(steps))]
        h1 = np.stack([steps[i][1] for i, _ in ij])
        h2 = np.stack([steps[k][1] for _, k in ij])
        sg = np.array([steps[i][0] * steps[k][0] for i, k in ij])[:, None]
        L, eL = _corner_probability(h1, h2, sg * r)
        wt = np.array([(1.0 if i == k else 2.0) * steps[i][2] * steps[k][2] for i, k in ij])
        terms.extend(wt[:, None] * L)
        err.extend(np.abs(wt[:, None]) * eL)
    terms = np.stack(terms)
    total = terms.sum(axis=0)
    bound = np.stack(err).sum(axis=0) + (len(terms) + 2) * GB.EPS * np.abs(terms).sum(axis=0)
    return total, bound


def evaluate(act: Activation, q, rho, order: int = 0):
    """``(E[phi^(order)(u1) phi^(order)(u2)], error bound, E[phi^(order)^2])`` broadcasting
    ``q``, ``rho`` (``nan`` value, ``inf`` bound where no rule of :mod:`.gl_bound` is bounded)."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):  # q = 0 or inf: nan,
        return _evaluate(act, q, rho, order)  # not served


def _evaluate(act, q, rho, order):
    bs = basis(act, order)
    qa, ra, npt, inv, shape = with_scale_points(q, rho)
    s = np.sqrt(qa)
    c = np.sqrt((1.0 - ra) * (1.0 + ra))
    steps = [(sg, h / s, beta) for sg, h, beta in bs.steps]
    pieces = [(sg, a / s, b / s, kap) for sg, a, b, kap in bs.pieces]
    need = GB.level(_spans(order, steps, pieces, ra, c))
    half = odd.half(bs) if order == 0 else None
    use_odd = np.zeros(qa.shape, bool)
    if half is not None:
        use_odd[:npt] = np.abs(ra[:npt]) <= odd.R_ODD
        at = np.flatnonzero(use_odd)
        h_st = [(h / s[at], b) for h, b in half[0]]
        h_pc = [(a / s[at], b / s[at], k) for a, b, k in half[1]]
        n_odd = GB.level(odd.spans(h_st, h_pc, ra[at], c[at]))
        use_odd[at] = n_odd > 0  # else the direct form (its bound decides)
        need[at] = np.where(n_odd > 0, n_odd, need[at])
    total, bound = np.full(qa.shape, np.nan), np.full(qa.shape, np.inf)
    for n in GB.LEVELS:
        for alt in (False, True):
            at = np.flatnonzero((need == n) & (use_odd == alt))
            if not at.size:
                continue
            for i in range(0, at.size, CHUNK // (n * n)):  # temporaries of n^2 per point
                sub = at[i:i + CHUNK // (n * n)]  # stay in cache
                if alt:
                    total[sub], bound[sub] = odd.terms(*half, s[sub], ra[sub], c[sub], n)
                else:
                    total[sub], bound[sub] = _terms(bs, s[sub], ra[sub], c[sub], n, order)
    value, scale = total[:npt], total[npt:][inv]
    return value.reshape(shape), bound[:npt].reshape(shape), scale.reshape(shape)


def expect(act: Activation, q, rho, order: int = 0):
    """``(E[phi^(order)(u1) phi^(order)(u2)], ok)``: ``ok`` marks the points whose quadrature
    and rounding bounds meet ``RTOL |E| + ATOL E[phi^2]`` (:func:`evaluate`)."""
    value, bound, scale = evaluate(act, q, rho, order)
    with np.errstate(invalid="ignore"):
        ok = (bound <= RTOL * np.abs(value) + ATOL * np.abs(scale)) & np.isfinite(value) \
            & np.isfinite(scale)
    return value, ok
