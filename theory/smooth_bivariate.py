"""Bivariate map of smooth activations analytic in a band, by a nested uniform trapezoid rule.

For ``phi`` analytic in the band ``|Im x| < d`` with ``|phi^(o)(x)| <= C (1 + |x|)`` there,
but not in the sinh-mapped sector of :mod:`.strip` (GoLU, ``x e^{-e^{-x}}``: ``|e^{-e^{-x}}|
<= 1`` for ``Re x < 0``, ``<= e`` for ``Re x >= 0`` in the band, doubly exponential beyond),
the conditional form (docs/theory.md, "Band rule")::

    E[f(u1) f(u2)] = E[f(sqrt(q) z1) G(rho sqrt(q) z1)],  G(m) = E[f(m + s z2)],
    s = sqrt(q (1 - rho^2)),  z1, z2 independent standard normals,

is computed with the uniform trapezoid rule in ``z2`` (inner) and in ``z1`` (outer), nodes
``|z| <= Z_MAX``.  ``G`` is analytic in the same band (``|G(m)| <= C (1 + |m| + s E|z|)``),
so the outer integrand is analytic in ``|Im z1| < d / sqrt(q)`` and the inner one in
``|Im z2| < d / s``; on the line ``Im z = y`` the Gaussian grows by ``e^{y^2/2}``.  For a
function analytic in ``|Im z| < y`` with ``int |g(x + i eta)| dx <= M`` the whole-line
trapezoid rule of step ``h`` errs by at most ``2 M / (e^{2 pi y / h} - 1)`` (Trefethen &
Weideman 2014, SIAM Review 56, Thm 5.1); the step is chosen so that factor is
``~ e^-LOG_EPS``.  Each point carries the bound

    outer discretisation + truncation  +  sum_i w_i |f(x_i)| (inner bound at rho x_i)
    + rounding,

all from ``C`` and closed-form Gaussian tail integrals, and :func:`expect` marks it ``ok``
where the bound is ``<= RTOL |value| + ATOL E[f^2]`` (``E[f^2]``: the same outer rule at
``rho = 1``).  ``C`` is the largest ``|phi^(o)(x)| / (1 + |x|)`` on the closed band (sampled
on the half band ``0 <= Im x <= d``, ``phi`` being real on the axis), times ``C_MARGIN``.

Which activations qualify is part of each definition (:attr:`.activations.Family.band`);
the catalogue's other smooth activations declare a strip and take the cheaper sinh-mapped
rules of :mod:`.strip`.  tests/test_smooth_bivariate.py checks the rule against mpmath.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from scipy.special import ndtr

from . import panel_moments
from .activations import Activation

LOG_EPS = 40.0  # discretisation factor e^-40 (4e-18) of the bound
LOG_EPS_HI = 52.0  # second try where the first bound is too wide (a small |E|: rho -> -1)
Z_MAX = 10.0
BAND_USE = 0.85  # the rule uses d = BAND_USE * band (C stays moderate: cos d > 0.2)
C_MARGIN = 1.25  # on the sampled maximum of |phi^(o)| / (1 + |x|)
RTOL, ATOL = 1e-13, 1e-24
EPS = np.finfo(float).eps
ROUND = 8.0  # rounding: ROUND eps per unit of sum |terms|
CHUNK = 1 << 21  # node values evaluated at once
BLOCK = 32  # outer nodes per inner evaluation where exact zeros are skipped
E_ABS = math.sqrt(2.0 / math.pi)  # E|z|
PHI_Z = math.exp(-0.5 * Z_MAX ** 2) / math.sqrt(2.0 * math.pi)
Q_Z = float(ndtr(-Z_MAX))


def applies(act: Activation) -> bool:
    return act.family.band is not None and not len(act.breakpoints)


@lru_cache(maxsize=256)
def band(act: Activation) -> float:
    """The half-width ``d`` of the band the rule uses (:data:`BAND_USE` of the declared one)."""
    return BAND_USE * float(act.family.band(*act.values))


@lru_cache(maxsize=256)
def growth(act: Activation, order: int) -> float:
    """``C``: ``|phi^(order)(x)| <= C (1 + |x|)`` on ``|Im x| <= d`` (module docstring); for
    ``Re x < -40`` or ``> 400`` the sampled ends bound it (GoLU: ``e^{-e^{40} cos d}``, and
    ``phi -> x``)."""
    f = act.family.np_pieces[order][0]
    d = band(act)
    x = np.linspace(-40.0, 400.0, 22001)[:, None] + 1j * np.linspace(0.0, d, 41)[None, :]
    with np.errstate(all="ignore"):
        v = np.abs(np.asarray(f(x, *act.values), complex)) / (1.0 + np.abs(x))
    if not np.all(np.isfinite(v)):
        raise ValueError(f"{act.name}: phi^({order}) is not finite on its declared band")
    return C_MARGIN * float(v.max())


@lru_cache(maxsize=256)
def zero_below(act: Activation, order: int) -> float:
    """The largest ``x0`` with ``phi^(order)(x) == 0`` in float64 at every sampled
    ``x <= x0`` (``[-1e4, x0]``, step 1e-3 near ``x0``; GoLU: ``e^{-e^{-x}}`` underflows
    below ``x = -6.61``, monotonically), else ``-inf``: the rule skips those nodes."""
    f = panel_moments.piece(act, 0, order)
    x = np.concatenate([-np.geomspace(1e4, 1.0, 4001), np.arange(-1.0, 1.0, 1e-3)])
    x.sort()
    nz = np.flatnonzero(f(x) != 0.0)
    return -math.inf if not nz.size or nz[0] == 0 else float(x[nz[0] - 1])


@lru_cache(maxsize=256)
def linear_above(act: Activation, order: int) -> tuple[float, float, float]:
    """``(xl, c0, c1)``: ``phi^(order)(x) == c0 + c1 x`` in float64 at every sampled
    ``x >= xl`` (``[xl, 1e4]``; GoLU: ``e^{-e^{-x}}`` rounds to 1 above ``x ~ 37``), with
    ``c0 + c1 x >= 0`` there, else ``(inf, 0, 0)``."""
    f = panel_moments.piece(act, 0, order)
    x = np.concatenate([np.arange(0.0, 100.0, 1e-3), np.geomspace(100.0, 1e4, 4001)])
    y = f(x)
    c1 = float(y[-1] - f(np.array([x[-1] - 1.0]))[0])
    c0 = float(y[-1] - c1 * x[-1])
    bad = np.flatnonzero(y != c0 + c1 * x)
    if c1 < 0.0 or c0 + c1 * x[-1] < 0.0 or not bad.size or bad[-1] == x.size - 1:
        return math.inf, 0.0, 0.0
    xl = float(x[bad[-1] + 1])
    return (xl, c0, c1) if c0 + c1 * xl >= 0.0 else (math.inf, 0.0, 0.0)


@lru_cache(maxsize=128)
def _suffix(n: int):
    """Suffix sums ``sum_{k >= j} w_k`` and ``sum_{k >= j} w_k z_k`` of :func:`_rule` ``(n)``
    (``j = 0 .. 2n + 1``)."""
    z, w, _ = _rule(n)
    s0 = np.append(np.cumsum(w[::-1])[::-1], 0.0)
    s1 = np.append(np.cumsum((w * z)[::-1])[::-1], 0.0)
    return s0, s1


def _fast(act: Activation, order: int, u):
    """``phi^(order)(u)`` by the printed form, re-evaluated by the overflow-safe piece of
    :func:`.panel_moments.piece` where it is not finite."""
    with np.errstate(all="ignore"):
        y = act.family.np_pieces[order][0](u, *act.values)
    if not np.isfinite(y).all():
        y = panel_moments.piece(act, 0, order)(u)
    return y


def _step(y: float, log_eps: float) -> float:
    """Trapezoid step for a strip of half-width ``y`` (Gaussian growth ``e^{y^2/2}``):
    ``e^{y^2/2 - 2 pi y / h} = e^-log_eps``."""
    y = min(y, math.sqrt(2.0 * log_eps))
    return 2.0 * math.pi * y / (log_eps + 0.5 * y * y)


def _nodes(width: float, log_eps: float) -> int:
    """Nodes per side for a strip ``width`` (in ``z``): a few sizes, so the cache hits."""
    n = math.ceil(Z_MAX / _step(width, log_eps))
    return 1 << max(3, math.ceil(math.log2(n))) if n < 64 else 16 * math.ceil(n / 16)


@lru_cache(maxsize=128)
def _rule(n: int):
    """``(z, Gaussian weights, h)``: the trapezoid rule ``z_j = j h``, ``h = Z_MAX / n``."""
    h = Z_MAX / n
    z = h * np.arange(-n, n + 1)
    return z, h * np.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi), h


def _disc(width: float, h: float) -> tuple[float, float]:
    """``(y, 2 e^{y^2/2} / (e^{2 pi y/h} - 1))`` at the best ``y <= width`` (``2 pi / h``)."""
    y = min(width, 2.0 * math.pi / h)
    return y, 2.0 * math.exp(0.5 * y * y) / math.expm1(2.0 * math.pi * y / h)


def _one(act: Activation, q: float, rho: float, order: int, log_eps: float = LOG_EPS):
    """``(value, error bound, E[f^2])`` at one point (module docstring)."""
    f = panel_moments.piece(act, 0, order)
    C, d, sq = growth(act, order), band(act), math.sqrt(q)
    s = math.sqrt(q * (1.0 - rho) * (1.0 + rho))
    w_out = d / sq if sq > 0.0 else math.inf
    z1, w1, h1 = _rule(_nodes(w_out, log_eps))
    y1, disc1 = _disc(w_out, h1)
    x1 = sq * z1
    p1 = f(x1)
    wp = w1 * p1
    scale = float(wp @ p1)
    live = np.flatnonzero(p1)  # exact zeros of f (GoLU: x < -6.6) add nothing
    g, gabs = np.zeros(x1.shape), np.zeros(x1.shape)
    if s == 0.0:  # |rho| = 1: G(m) = f(m)
        g[live] = p1[live] if rho > 0.0 else f(-x1[live])
        gabs = np.abs(g)
        err_in = np.zeros(x1.shape)
    else:
        z2, w2, h2 = _rule(_nodes(d / s, log_eps))
        y2, dz = _disc(d / s, h2)
        x0, (xl, c0, c1) = zero_below(act, order), linear_above(act, order)
        tail0, tail1 = _suffix(z2.size // 2)
        skip = x0 > -math.inf or xl < math.inf
        step = BLOCK if skip else max(1, CHUNK // z2.size)
        for i in range(0, live.size, step):
            at = live[i:i + step]
            m = rho * x1[at]
            # nodes where every row of the block is below x0 (f = 0 exactly) or above xl
            # (f = c0 + c1 u exactly, summed in closed form) are not evaluated
            j0 = int(np.searchsorted(z2, (x0 - m.max()) / s)) if x0 > -math.inf else 0
            j1 = max(j0, int(np.searchsorted(z2, (xl - m.min()) / s))) if xl < math.inf \
                else z2.size
            fu = _fast(act, order, m[:, None] + s * z2[j0:j1])
            lin = (c0 + c1 * m) * tail0[j1] + c1 * s * tail1[j1] if j1 < z2.size else 0.0
            g[at], gabs[at] = fu @ w2[j0:j1] + lin, np.abs(fu) @ w2[j0:j1] + lin
        # |G_rule - G| <= C [(1 + |m|) alpha + s beta] at m = rho x1
        alpha = dz + 2.0 * Q_Z
        beta = dz * (E_ABS + y2) + 2.0 * PHI_Z
        err_in = C * ((1.0 + np.abs(rho * x1)) * alpha + s * beta)
    value = float(wp @ g)
    # outer: |f(x) G(rho x)| <= C (a + b |z|) C (a2 + b2 |z|) on Im z1 = y1
    a, b = 1.0 + sq * y1, sq
    a2, b2 = 1.0 + abs(rho) * sq * y1 + E_ABS * s, abs(rho) * sq
    m1 = C * C * (a * a2 + (a * b2 + a2 * b) * E_ABS + b * b2)
    a0, a20 = 1.0, 1.0 + E_ABS * s
    trunc = 2.0 * C * C * (a0 * a20 * Q_Z + (a0 * b2 + a20 * b) * PHI_Z
                           + b * b2 * (Z_MAX * PHI_Z + Q_Z))
    disc_out = disc1 * m1 if sq > 0.0 else 0.0
    absw = np.abs(wp)
    rounding = ROUND * EPS * float(absw @ (gabs + np.abs(g)))  # inner sums, then outer
    err = disc_out + trunc + float(absw @ err_in) + rounding
    return value, err, scale


def expect(act: Activation, q, rho, order: int = 0):
    """``(E[phi^(order)(u1) phi^(order)(u2)], ok)``, broadcasting ``q`` and ``rho``;
    ``ok`` marks the points whose error bound meets ``RTOL``/``ATOL``."""
    q, rho = np.broadcast_arrays(np.asarray(q, float), np.asarray(rho, float))
    value = np.empty(q.shape)
    ok = np.empty(q.shape, bool)
    for i, (qq, rr) in enumerate(zip(q.reshape(-1).tolist(), rho.reshape(-1).tolist())):
        v, e, sc = _one(act, qq, rr, order)
        if not e <= RTOL * abs(v) + ATOL * abs(sc):
            v, e, sc = _one(act, qq, rr, order, LOG_EPS_HI)
        value.flat[i] = v
        ok.flat[i] = math.isfinite(v) and e <= RTOL * abs(v) + ATOL * abs(sc)
    return value[()], ok[()]


def bivariate(act: Activation, q, rho, order: int = 0):
    """The values of :func:`expect` alone (``method="auto"`` after its ``ok`` mask)."""
    return expect(act, q, rho, order)[0]
