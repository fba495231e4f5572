"""Gaussian moments of any catalogue activation by fixed Gauss-Legendre panels.

Works from the definition alone (breakpoints and smooth pieces, :mod:`.activations`):
the line is cut at the breakpoints and at the origin, and each interval is integrated by
the graded panel rule of :mod:`.panels` in ``z = x / sqrt(q)``, with grading scale
``min(1, 1/sqrt(q))`` (an activation varies on an O(1) scale in ``x``).

The bivariate expectation ``E[f(u1) g(u2)]``, ``u1, u2 ~ N(0, q)`` with correlation
``rho``, is integrated in the variables where the conditional law is centred:
``u1 = sqrt(q) z1``, ``u2 = sqrt(q) (rho z1 + s z2)``, ``s = sqrt(1 - rho^2)``, ``z1, z2``
independent standard normals.  The inner expectation over ``z2`` (cut where ``u2`` crosses a
breakpoint of ``g``) is a function of ``z1`` with features of width ``s/|rho|`` at the images
``z1 = b / (rho sqrt(q))`` of ``g``'s breakpoints; the outer rule is split there too and graded
on that scale, so the map stays exact as ``rho -> +-1`` (where the conditional law of ``u2``
collapses onto ``rho u1``).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Callable

import numpy as np

from . import numeric_forms, panels
from ._lazy import mpmath
from .activations import Activation, Family

CHUNK_NODES = 4_000_000  # bivariate: outer x inner nodes evaluated at once


@lru_cache(maxsize=None)
def _mp_piece(fam: Family, k: int, order: int) -> Callable:
    return getattr(numeric_forms.mp(fam), f"MP_{order}_{k}")


def piece(act: Activation, k: int, order: int) -> Callable:
    """``phi^(order)`` on interval ``k`` as a numpy function that never returns a spurious
    NaN/inf: where float64 overflows inside the printed expression (``exp(-x)`` of a
    sigmoid at ``x = -800``), it is re-evaluated in long double, then in mpmath."""
    f = act.piece(k, order)

    def g(x):
        with np.errstate(all="ignore"):
            y = np.asarray(f(x), float)
            bad = ~np.isfinite(y)
            if not bad.any():
                return y
            y = np.array(y)
            xb = np.broadcast_to(x, y.shape)[bad]
            y[bad] = np.asarray(f(xb.astype(np.longdouble)), np.longdouble).astype(float)
            bad2 = ~np.isfinite(y)
        if bad2.any():
            mf = _mp_piece(act.family, k, order)
            xs = np.broadcast_to(x, y.shape)[bad2]
            y[bad2] = [float(mf(mpmath.mpf(float(v)), *act.values)) for v in xs]
        return y
    return g


def zero_piece(act: Activation, k: int, order: int) -> bool:
    """Piece ``k`` of ``phi^(order)`` is identically zero (for every parameter value)."""
    return _zero_sym(act.family, k, order)


@lru_cache(maxsize=None)
def _zero_sym(fam: Family, k: int, order: int) -> bool:
    return fam.forms.ZERO_SIMPLIFIED[order][k]  # sp.simplify(piece) == 0, cached


def _virtual(breaks, extra=(0.0,)):
    """Cuts ``breaks U extra`` (sorted) and, per resulting interval, the index of the piece
    of ``breaks`` that holds there (piece ``k`` lives on ``[b_{k-1}, b_k)``)."""
    cuts = sorted(set(float(b) for b in breaks) | set(float(e) for e in extra))
    left = [-np.inf, *cuts]
    return cuts, [int(np.searchsorted(np.asarray(breaks, float), e, side="right"))
                  for e in left], left


def scale(q):
    """Grading scale at an activation's features in ``z = x/sqrt(q)`` units."""
    return np.minimum(1.0, 1.0 / np.sqrt(q))


def univariate(act: Activation, q, integrand: Callable, skip: Callable[[int], bool],
               region: str = "all"):
    """``E[integrand(k, x, z) 1{x in region}]``, ``x = sqrt(q) z``, ``k`` the piece of ``x``.

    ``skip(k)``: piece ``k`` contributes nothing.  ``region``: ``all``, ``pos`` (``x >= 0``)
    or ``neg``.
    """
    q = np.asarray(q, float)
    s = np.sqrt(q)
    if not len(act.breakpoints) and region == "all" and np.all(q <= 1.0):
        # no breakpoint and scale(q) = 1: the rule does not depend on q (built once)
        if skip(0):
            return np.zeros(q.shape)[()]
        z, wg = _unit_rule()
        return (integrand(0, s[..., None] * z, z) @ wg)[()]
    cuts, ks, left = _virtual(act.breakpoints)
    funcs = []
    for j, k in enumerate(ks):
        outside = (region == "pos" and left[j] < 0) or (region == "neg" and left[j] >= 0)
        funcs.append(None if outside or skip(k) else
                     (lambda z, k=k: integrand(k, s[..., None] * z, z)))
    return panels.expect(funcs, [c / s for c in cuts], scale(q))[()]


@lru_cache(maxsize=None)
def _unit_rule():
    """Nodes and Gaussian-weighted weights of the panel rule split at 0, scale 1."""
    z, w = panels.interval_rule(np.asarray(-np.inf), np.asarray(np.inf), 1.0,
                                [(np.asarray(0.0), 1.0)])
    return z, w * np.exp(-0.5 * z * z) * panels.INV_SQRT2PI


def _same_sign_univariate(act, q, order, sign):
    """``E[phi^(order)(x) phi^(order)(sign x)]``: the bivariate map at ``rho = +-1``."""
    q = np.asarray(q, float)
    s = np.sqrt(q)
    br = act.breakpoints
    cuts, ks, left = _virtual(br, (0.0, *(sign * br)))
    funcs = []
    for j, k in enumerate(ks):
        # piece of g at sign * x for x in [left[j], next cut): evaluate at an interior point
        hi = cuts[j] if j < len(cuts) else np.inf
        mid = _interior(left[j], hi) * sign
        k2 = int(np.searchsorted(np.asarray(br, float), mid, side="right"))
        if zero_piece(act, k, order) or zero_piece(act, k2, order):
            funcs.append(None)
            continue
        f, g = piece(act, k, order), piece(act, k2, order)
        funcs.append(lambda z, f=f, g=g: f(s[..., None] * z) * g(sign * s[..., None] * z))
    return panels.expect(funcs, [c / s for c in cuts], scale(q))


def _interior(lo: float, hi: float) -> float:
    if np.isinf(lo) and np.isinf(hi):
        return 0.0
    if np.isinf(lo):
        return hi - 1.0
    if np.isinf(hi):
        return lo + 1.0
    return 0.5 * (lo + hi)


def bivariate(act: Activation, q, rho, order: int, inner_closed=None):
    """``E[phi^(order)(u1) phi^(order)(u2)]``; vectorised over ``q``, ``rho``.

    ``inner_closed(mu, v)``, if given, is ``E[phi^(order)(y)]`` for ``y ~ N(mu, v)`` in
    closed form (piecewise-linear activations) and replaces the inner panel rule.
    """
    q, rho = np.broadcast_arrays(np.asarray(q, float), np.asarray(rho, float))
    out = np.empty(q.shape)
    flat_q, flat_r, flat_o = q.reshape(-1), rho.reshape(-1), out.reshape(-1)
    for sign in (1.0, -1.0):
        at = flat_r == sign
        if at.any():
            flat_o[at] = _same_sign_univariate(act, flat_q[at], order, sign)
    inside = np.nonzero(np.abs(flat_r) < 1.0)[0]
    chunk = max(1, CHUNK_NODES // 250_000)
    for i in range(0, len(inside), chunk):
        idx = inside[i:i + chunk]
        flat_o[idx] = _bivariate_open(act, flat_q[idx], flat_r[idx], order, inner_closed)
    return out[()]


def _bivariate_open(act, q, rho, order, inner_closed):
    s = np.sqrt(q)
    c = np.sqrt((1.0 - rho) * (1.0 + rho))
    br = act.breakpoints
    cuts, ks, left = _virtual(br)
    with np.errstate(divide="ignore", invalid="ignore"):
        images = [np.where(rho == 0.0, np.inf, b / (rho * s)) for b in cuts if b != 0.0]
        d_out = np.minimum(scale(q), np.where(rho == 0.0, 1.0, c / np.abs(rho)))
    feats = [[(im, d_out) for im in images]] * len(ks)
    qv, rv, sv, cv = (a[:, None] for a in (q, rho, s, c))

    if inner_closed is not None:
        def inner(z1):
            return inner_closed(sv * rv * z1, qv * cv * cv)
    elif not len(br) and np.all(q * c * c <= 1.0):
        # smooth phi varying on the Gaussian's own scale in z2 (its scale 1/(sqrt(q) c) >= 1):
        # one fixed inner rule serves every outer node, a matrix-vector product
        z2, w2 = _unit_rule()
        g0 = piece(act, 0, order)

        def inner(z1):
            x2 = sv[..., None] * (rv[..., None] * z1[..., None] + cv[..., None] * z2)
            return g0(x2) @ w2
    else:
        d_in = scale(q * c * c)[:, None]
        g = [None if zero_piece(act, k, order) else piece(act, k, order) for k in ks]

        def inner(z1):
            mu = rv * z1
            m3, s3, c3 = mu[..., None], sv[..., None], cv[..., None]
            funcs = [None if gk is None else
                     (lambda z2, gk=gk: gk(s3 * (m3 + c3 * z2))) for gk in g]
            z_cuts = [(b / sv - mu) / cv for b in cuts]
            return panels.expect(funcs, z_cuts, d_in)

    funcs = []
    for k in ks:
        if zero_piece(act, k, order):
            funcs.append(None)
            continue
        f = piece(act, k, order)
        funcs.append(lambda z1, f=f: f(sv * z1) * inner(z1))
    return panels.expect(funcs, [b / s for b in cuts], d_out, feats)
