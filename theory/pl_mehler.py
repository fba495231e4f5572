"""Mehler (Hermite) series of the bivariate map of piecewise-linear activations at small
``|rho|`` (docs/theory.md section 3.2, "Small |rho|: the Mehler series").

For ``u = sqrt(q) z`` and ``f(z) = phi(sqrt(q) z)``, Mehler's formula gives
``E[f(z1) f(z2)] = sum_n rho^n c_n^2`` with ``c_n = E[f(z) He_n(z)] / sqrt(n!)``.  In the tail
basis of :mod:`.pl_bivariate` (breakpoints ``b_k``, ``t_k = b_k / sqrt(q)``, ``h_k = |t_k|``,
``sigma_k = sign(b_k)``, slope jumps ``J_k``, value jumps ``D_k``, ``phi = a x + c`` at 0) and
with the normalised Hermite functions ``eta_m(t) = gamma(t) He_m(t) / sqrt(m!)``::

    c_0 = c + sum_k [J_k s psi(h_k) + sigma_k D_k Q(h_k)]           (s = sqrt(q))
    c_1 = s (a + sum_k sigma_k J_k Q(h_k)) + sum_k D_k gamma(h_k)
    c_n = sum_k [J_k s eta_{n-2}(t_k) / sqrt(n (n-1)) + D_k eta_{n-1}(t_k) / sqrt(n)],  n >= 2

(Gaussian integration by parts, ``E[f He_n] = E[f^(n)]``; ``f'' = s sum_k J_k delta_{t_k}``,
the jumps put ``D_k delta_{t_k}`` in ``f'``).  ``order = 1``, the classical ``g = phi'``:
``d_0 = a + sum_k sigma_k J_k Q(h_k)``, ``d_n = sum_k J_k eta_{n-1}(t_k) / sqrt(n)``.
``eta_m`` by the forward recurrence ``eta_{m+1} = (t eta_m - sqrt(m) eta_{m-1}) / sqrt(m+1)``
(values below ``gamma(t) <= 1``, so nothing overflows).

Error bound per point: the tail beyond ``N`` terms from Cramer's inequality
``|eta_m(t)| <= kappa(t) = K e^{-t^2/4} / sqrt(2 pi)`` (``K = 1.086435``, Abramowitz & Stegun
22.14.17), so ``|c_n| <= A / sqrt(n (n-1)) + B / sqrt(n)`` and the tail is at most
``(A / sqrt(N (N+1)) + B / sqrt(N+1))^2 |rho|^{N+1} / (1 - |rho|)``; the coefficients' rounding
(``t`` in double-double, ``eta_m`` within the empirical bound of :func:`_eta`); Horner's
running error bound (Higham 2002, Algorithm 5.1).  A point is served where the
bound is within ``RTOL |E| + ATOL E[phi^2]`` (as :mod:`.pl_bivariate`; ``E[phi^2]`` from below
by Parseval, ``sum_{n <= N} c_n^2``).  Odd ``phi`` has ``c_n = 0`` for even ``n`` (set
exactly: ``E = 0`` at ``rho = 0``) and every term of the sign of ``rho``: nothing cancels.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy.special import erf, erfcx, ndtr

from . import pl_bivariate, pl_mean, pl_univariate
from .activations import Activation
from .dd_exp import gauss_exp, two_prod
from .horner import horner, horner_parts
from .pl_bivariate import ATOL, RTOL, Basis

EPS = np.finfo(float).eps
K_CRAMER = 1.086435  # |He_m(t)| <= K sqrt(m!) e^{t^2/4} (Cramer's inequality)
N_MAX = 400  # the longest series (|rho| <= ~0.9); beyond, the other routes
BUCKETS = (8, 24, 64, 160, N_MAX)  # Horner lengths: a point takes the shortest that suffices
PRE = 8  # the short sum that screens long ones (:func:`_hopeless`)
R_TRY = 0.9  # |rho| up to which N_MAX terms are tried where no lower bound of |E| decides
T_FAR = 37.0  # gamma(t) is subnormal beyond: such a kink enters by its Cramer bound alone
SQRT2PI = np.sqrt(2.0 * np.pi)
Q_RANGE = (1e-150, 1e150)  # Dekker's products in _t and dd_exp stay finite


def applies(act: Activation) -> bool:
    return act.is_piecewise_linear


@lru_cache(maxsize=256)
def parity(act: Activation) -> int:
    """``-1`` for odd ``phi``, ``+1`` for even, ``0`` otherwise (from the tail basis: kinks
    at ``+-b`` with ``J, D`` mirrored; a kink at 0 enters through the limits at ``0+-``)."""
    bs = pl_bivariate.basis(act)
    b, J, D = bs.breaks, bs.J, bs.D
    if not np.array_equal(b, -b[::-1]):
        return 0
    zero = b == 0.0
    J0, D0 = float(J[zero].sum()), float(D[zero].sum())
    Jr, Dr = J[::-1], D[::-1]
    if bs.c - D0 / 2 == 0.0 and J0 == 0.0 and np.array_equal(Jr, -J) and np.array_equal(
            Dr[~zero[::-1]], D[~zero]):
        return -1
    if bs.a - J0 / 2 == 0.0 and D0 == 0.0 and np.array_equal(Jr, J) and np.array_equal(
            Dr[~zero[::-1]], -D[~zero]):
        return 1
    return 0


def tried(rho):
    """The points where :func:`series` sums (``|rho| <= R_TRY``, and beyond it only where
    Cramer's tail is tiny): a test on ``rho`` alone, for the route order of grids."""
    return np.abs(np.asarray(rho, float)) <= R_TRY


def _t(breaks, q):
    """``(t, t_lo, gamma(t))`` per breakpoint and ``q``: ``t + t_lo = b / sqrt(q)`` to ~eps^2
    (Dekker's product), ``gamma(t)`` with its exponent in double-double (:mod:`.dd_exp`)."""
    q = np.asarray(q, float)[None, :]
    s = np.sqrt(q)
    p, e = two_prod(s, s)
    s_lo = ((q - p) - e) / (2.0 * s)
    b = np.asarray(breaks, float)[:, None]
    t = b / s
    p, e = two_prod(t, s)
    t_lo = (((b - p) - e) - t * s_lo) / s
    g = np.stack([gauss_exp(float(bk), q[0]) for bk in b[:, 0]]) / SQRT2PI if len(
        b) else 0.0 * t
    return t, t_lo, g


def _mean_slope(act: Activation, q):
    """``(E[phi'(sqrt(q) z)], error bound)`` as ``sum_k slope_k P(piece k)``: each mass a
    difference of ``erf`` near 0, of upper (lower) tails beyond ``+1`` (``-1``), so pieces of
    one sign (CST, hardtanh, ...) add without cancellation at any ``q``."""
    slopes = act.linear_coeffs[0][:, None]
    t, t_lo, g = _t(act.breakpoints, q)
    inf, zero = np.full((1, t.shape[1]), np.inf), np.zeros((1, t.shape[1]))
    lo, hi = np.concatenate([-inf, t]), np.concatenate([t, inf])
    glo, ghi = np.concatenate([zero, g * t_lo]), np.concatenate([g * t_lo, zero])
    with np.errstate(invalid="ignore"):
        up = (lo > 1.0, ndtr(-lo), ndtr(-hi))
        down = (hi < -1.0, ndtr(hi), ndtr(lo))
        mid = (True, 0.5 * erf(hi / np.sqrt(2.0)), 0.5 * erf(lo / np.sqrt(2.0)))
    a, b = mid[1:]
    for cond, x, y in (up, down):
        a, b = np.where(cond, x, a), np.where(cond, y, b)
    mass = (a - b) + (ghi - glo)  # F(t + t_lo) = F(t) + gamma(t) t_lo
    e_mass = 4.0 * EPS * (np.abs(a) + np.abs(b)) + 2.0 * EPS * (np.abs(ghi) + np.abs(glo))
    terms = slopes * mass
    return terms.sum(axis=0), (np.abs(slopes) * e_mass + (len(slopes) + 1) * EPS * np.abs(
        terms)).sum(axis=0)


def _upper(h, g):
    """``Q(h)`` to a few ulps: ``erfcx(h / sqrt 2) gamma(h) sqrt(pi / 2)`` beyond ``h = 2``."""
    with np.errstate(invalid="ignore"):
        tail = np.sqrt(np.pi / 2.0) * erfcx(h / np.sqrt(2.0)) * g
    return np.where(h > 2.0, tail, ndtr(-h))


def _low(act: Activation, bs: Basis, q, order: int, t, t_lo, g):
    """``(c_0, c_1, their error bounds)`` per column of ``s`` (``d_0`` and 0 for order 1);
    the functions of ``h = |t|`` corrected to first order in ``t_lo``."""
    s = np.sqrt(q)[None, :]
    sig, J, D = bs.sigma[:, None], bs.J[:, None], bs.D[:, None]
    h, h_lo = np.abs(t), np.abs(t_lo) * np.sign(t_lo * t + (t == 0))
    # g is gamma at the exact b / sqrt(q) (double-double exponent): only the factors taken at
    # the rounded h move by h_lo (Q' = -gamma where Q = ndtr(-h); erfcx's drift is ~ h_lo / h)
    Q = _upper(h, g) - np.where(h > 2.0, 0.0, g * h_lo)
    eQ = np.where(h > 2.0, 6.0, 2.0) * EPS * Q + 4.0 * EPS * g * np.abs(h_lo)
    gh = g
    eg = 4.0 * EPS * g
    slope, e_slope = (v[None, :] for v in _mean_slope(act, q))
    if order == 1:
        return slope, 0.0 * s, e_slope, 0.0 * s  # d_1 comes from eta_0
    # psi_1 of the tail basis (theory/pl_univariate.py): ~h^2 ulps up to h = 4, then few
    psi = np.stack([pl_univariate.tail_moments(hk, float(bk), q)[1] for hk, bk in zip(
        h, bs.breaks)]) - np.where(h > pl_univariate.H_DIRECT, 0.0, Q * h_lo) if len(
        h) else 0.0 * h  # psi' = -Q; beyond H_DIRECT its gamma is exact, psi / gamma drifts ~ h_lo / h
    e_psi = (4.0 + 2.0 * np.minimum(h, pl_univariate.H_DIRECT) ** 2) * EPS * np.abs(psi) + (
        EPS * Q * np.abs(h_lo))
    if pl_mean.clamps(bs.sigma):  # two kinks on a side: the ramps summed without cancelling
        ramp, e_ramp = pl_mean.ramps(bs.breaks, bs.sigma, bs.J, h, h_lo, psi, e_psi, Q)
        terms0 = np.concatenate([bs.c + 0.0 * s, s * ramp, sig * D * Q])
        e0 = s[0] * e_ramp + (np.abs(D) * eQ).sum(axis=0)
    else:
        terms0 = np.concatenate([bs.c + 0.0 * s, J * s * psi, sig * D * Q])
        e0 = (np.abs(J * s) * e_psi + np.abs(D) * eQ).sum(axis=0)
    c0 = terms0.sum(axis=0)
    e0 = e0 + (len(terms0) + 2) * EPS * np.abs(terms0).sum(axis=0)
    jump = (D * gh).sum(axis=0)
    c1 = s * slope + jump
    e1 = s * e_slope + (np.abs(D) * eg).sum(axis=0) + (len(bs.J) + 3) * EPS * (
        np.abs(s * slope) + (np.abs(D) * gh).sum(axis=0))
    return c0, c1, e0, e1


def _eta(t, t_lo, g, m: int):
    """``eta_0 .. eta_{m-1}`` at ``t + t_lo`` (shape ``(m,) + t.shape``) and their error
    bounds: the recurrence at ``t`` from ``eta_0 = gamma(t)``, then ``eta_j(t + t_lo) =
    eta_j(t) - sqrt(j + 1) eta_{j+1}(t) t_lo`` (``eta_j' = -sqrt(j + 1) eta_{j+1}``).  The
    recurrence's error (``eta_0`` within 2 eps included) is taken as ``eps min((4 + j/4)
    kappa, (4 + j/2) max_{i <= j} |eta_i|)``: an empirical bound, measured (200 random ``t <=
    37``, ``j <= 400``, against 40 digits) at most ``16.4 eps kappa`` and ``1.6 (1 + j/4) eps
    max_{i <= j} |eta_i|``, and checked again by tests/test_pl_mehler.py."""
    far = np.abs(t) > T_FAR
    kappa = K_CRAMER * np.exp(-0.25 * t * t) / SQRT2PI
    eta = np.empty((m + 1,) + t.shape)
    eta[0] = np.where(far, 0.0, g)
    np.multiply(t, eta[0], out=eta[1])
    root = np.sqrt(np.arange(m + 2.0))
    tmp = np.empty(t.shape)
    for i in range(1, m):  # in place: the same operations as (t eta_i - r_i eta_{i-1}) / r_{i+1}
        np.multiply(t, eta[i], out=eta[i + 1])
        eta[i + 1] -= np.multiply(root[i], eta[i - 1], out=tmp)
        eta[i + 1] /= root[i + 1]
    i = np.arange(m).reshape((-1,) + (1,) * t.ndim)
    shift = root[1:m + 1].reshape(i.shape) * eta[1:]
    shift *= t_lo
    value = np.subtract(eta[:m], shift, out=shift)
    run = np.abs(eta[:m])
    np.maximum.accumulate(run, axis=0, out=run)  # the running maximum |eta_i|, i <= j
    run *= 4.0 + 0.5 * i
    err = np.minimum((4.0 + 0.25 * i) * kappa, run, out=run)
    lo = np.sqrt(i + 1.0) * np.abs(t_lo)
    lo *= kappa
    err += lo
    err *= EPS
    np.copyto(err, np.broadcast_to(kappa, err.shape), where=np.broadcast_to(far, err.shape))
    return value, err


def _mirrored_eta(breaks, t, t_lo, g, m: int):
    """:func:`_eta` per kink; kinks at ``-b`` and ``b`` (CST, hardtanh) share one recurrence:
    ``t``, ``t_lo`` and ``gamma(t)`` are exactly odd, even in ``b``, so ``eta_j(-t) = (-1)^j
    eta_j(t)`` and its bound, bit for bit."""
    neg = int(np.searchsorted(breaks, 0.0, side="left"))  # kinks at b < 0
    if neg == 0 or 2 * neg > len(breaks) or not np.array_equal(breaks[:neg], -breaks[::-1][:neg]):
        return _eta(t, t_lo, g, m)
    eta, err = _eta(t[neg:], t_lo[neg:], g[neg:], m)  # b >= 0; the last neg rows mirror b < 0
    mirror = eta[:, -neg:][:, ::-1].copy()
    mirror[1::2] *= -1.0
    return (np.concatenate([mirror, eta], axis=1),
            np.concatenate([err[:, -neg:][:, ::-1], err], axis=1))


def prepare(act: Activation, q, order: int) -> tuple:
    """What the coefficients of every length share at the 1-D array ``q``: ``t``, ``t_lo``,
    ``gamma(t)`` per kink and ``(c_0, c_1, their bounds)``; index the last axis to subset."""
    bs = pl_bivariate.basis(act)
    t, t_lo, g = _t(bs.breaks, q)
    low = _low(act, bs, np.asarray(q, float), order, t, t_lo, g)
    return t, t_lo, g, np.stack([np.broadcast_to(np.ravel(v), t.shape[1:]) for v in low])


def coefficients(act: Activation, q, order: int, n: int, prep: tuple | None = None):
    """``(w, ew)``: the weights ``w_j = c_j^2`` (``d_j^2``), ``j = 0 .. n``, of the series at
    each ``q`` (shape ``(n + 1, len(q))``) and their error bounds; parity zeros exact."""
    bs = pl_bivariate.basis(act)
    s = np.sqrt(np.asarray(q, float))[None, :]
    c = np.zeros((n + 1, s.shape[1]))
    ec = np.zeros_like(c)
    t, t_lo, g, low = prepare(act, q, order) if prep is None else prep
    c[0], c[1], ec[0], ec[1] = low
    first = 2 if order == 0 else 1  # c_0, c_1 (d_0) in closed form
    if n >= first and len(bs.J):
        eta, eeta = _mirrored_eta(bs.breaks, t, t_lo, g, n)
        j = np.arange(first, n + 1)[:, None]
        cs, es, mag = c[first:], ec[first:], np.zeros_like(ec[first:])
        for k in range(len(bs.J)):  # kink by kink, on rows (j, q): sum_k in order, in place
            if order == 0:  # J_k s eta_{j-2} / sqrt(j (j-1)) + D_k eta_{j-1} / sqrt(j)
                fj = bs.J[k] * s / np.sqrt(j * (j - 1.0))
                term, e = fj * eta[:-1, k], np.abs(fj) * eeta[:-1, k]
                if bs.D[k]:  # no value jump (CReLU, CST): the ramp's term alone
                    fd = bs.D[k] / np.sqrt(j)
                    term += fd * eta[1:, k]
                    e += np.abs(fd) * eeta[1:, k]
            else:  # J_k eta_{j-1} / sqrt(j)
                fj = bs.J[k] / np.sqrt(j)
                term, e = fj * eta[:, k], np.abs(fj) * eeta[:, k]
            cs += term
            es += e
            mag += np.abs(term, out=term)
        es += (len(bs.J) + 3) * EPS * mag
    p = parity(act) * (1 if order == 0 else -1)  # phi odd: phi' even
    if p:
        wrong = (np.arange(n + 1) % 2 == 0) if p < 0 else (np.arange(n + 1) % 2 == 1)
        c[wrong], ec[wrong] = 0.0, 0.0
    return c * c, 2.0 * np.abs(c) * ec + ec * ec + EPS * c * c


def cramer(act: Activation, q, order: int):
    """``(A, B)`` with ``|c_n| <= A / sqrt(n (n-1)) + B / sqrt(n)`` (order 0) or
    ``|d_n| <= A / sqrt(n)`` (order 1, ``B = 0``) for every ``n >= 2`` (module docstring)."""
    bs = pl_bivariate.basis(act)
    s = np.sqrt(np.asarray(q, float))
    t = bs.breaks[:, None] / s
    kappa = K_CRAMER * np.exp(-0.25 * t * t) / SQRT2PI * (1.0 + 4.0 * EPS)
    A = (np.abs(bs.J[:, None]) * kappa).sum(axis=0)
    if order == 0:
        return A * s, (np.abs(bs.D[:, None]) * kappa).sum(axis=0)
    return A, 0.0 * A


def _tail_factor(ab, order: int, n: int):
    """``C`` with ``sum_{j > n} |c_j|^2 r^j <= C r^{n+1} / (1 - r)`` (Cramer; module docstring)."""
    A, B = ab
    if order == 0:
        return (A / np.sqrt(n * (n + 1.0)) + B / np.sqrt(n + 1.0)) ** 2
    return A * A / (n + 1.0)


def _lower(act: Activation, w0, w1, r, order: int):
    """A lower bound of ``|E|`` from the first two weights: every term is ``>= 0`` for
    ``rho >= 0``; for odd (even) ``phi`` every term has the sign of ``rho`` (is ``>= 0``)."""
    p = parity(act) * (1 if order == 0 else -1)
    lo = np.where(r >= 0.0, w0 + r * w1, 0.0)
    if p < 0:
        lo = np.abs(r) * w1
    elif p > 0:
        lo = w0 + 0.0 * r
    return lo


def expect(act: Activation, q, rho, order: int = 0, everywhere: bool = False):
    """``(E[phi^(order)(u1) phi^(order)(u2)], ok)`` by the Mehler series, broadcasting ``q``
    and ``rho``; ``ok`` marks the points whose error bound meets ``RTOL``/``ATOL``.  Points
    that would need more than ``N_MAX`` terms get NaN (``everywhere``: ``N_MAX`` terms)."""
    value, bound, scale = series(act, q, rho, order, everywhere)
    ok = (bound <= RTOL * np.abs(value) + ATOL * scale) & np.isfinite(value)
    return value, ok[()] if np.ndim(ok) else np.bool_(ok)


def series(act: Activation, q, rho, order: int = 0, everywhere: bool = False):
    """``(value, bound, scale)``: the series, its forward error bound (``inf`` where not
    summed) and a lower bound of ``E[phi^(order)2]`` (Parseval), broadcasting ``q``, ``rho``."""
    q, rho = np.broadcast_arrays(np.asarray(q, float), np.asarray(rho, float))
    shape = q.shape
    qf, rf = q.ravel(), rho.ravel()
    good = (qf >= Q_RANGE[0]) & (qf <= Q_RANGE[1]) & (np.abs(rf) <= 1.0)
    if not good.all():  # q = 0, subnormal or huge: the other routes
        value, bound, scale = (np.full(qf.shape, v) for v in (np.nan, np.inf, 0.0))
        if good.any():
            value[good], bound[good], scale[good] = series(act, qf[good], rf[good], order,
                                                           everywhere)
        return value.reshape(shape)[()], bound.reshape(shape)[()], scale.reshape(shape)[()]
    uq, inv = np.unique(qf, return_inverse=True)
    r = np.abs(rf)
    prep = prepare(act, uq, order)
    ab = cramer(act, uq, order)
    w, ew = coefficients(act, uq, order, PRE, prep)  # the first terms: bounds, screening
    lo = _lower(act, (w[0] - ew[0])[inv], (w[1] - ew[1])[inv], rf, order)
    scale1 = (w[0] - ew[0] + w[1] - ew[1])[inv]
    tol = RTOL * np.maximum(lo, 0.0) + ATOL * np.maximum(scale1, 0.0)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        need = np.full(rf.shape, N_MAX + 1)
        todo = np.flatnonzero(r < 1.0)
        for nb in BUCKETS:  # the shortest bucket whose tail bound meets tol / 4
            rt = r[todo]
            tail = _tail_factor(ab, order, nb)[inv[todo]] * rt ** (nb + 1) / (1.0 - rt)
            fits = tail <= 0.25 * tol[todo]
            need[todo[fits]] = nb
            todo = todo[~fits]
    # a weak lower bound of |E| (far corners: the terms peak at n ~ |rho| h^2): where the
    # terms are of one sign the N_MAX partial sum is tried and its own bound decides
    p = parity(act) * (1 if order == 0 else -1)
    maybe = (r <= R_TRY) & ((rf >= 0.0) | (p != 0))
    if everywhere:
        maybe = r < 1.0
    need = np.where((need > N_MAX) & maybe, N_MAX, need)
    if not everywhere:
        need = _hopeless(need, w, ew, inv, rf, [v[inv] for v in ab], order)
    value, bound, scale = (np.full(rf.shape, v) for v in (np.nan, np.inf, 0.0))
    if not np.any(need <= N_MAX):
        return value.reshape(shape)[()], bound.reshape(shape)[()], scale.reshape(shape)[()]
    top = int(need[need <= N_MAX].max())
    live = np.unique(inv[need <= N_MAX])
    w, ew = coefficients(act, uq[live], order, top, tuple(v[..., live] for v in prep))
    col = np.full(uq.size, -1)
    col[live] = np.arange(live.size)
    parseval = np.maximum(w - ew, 0.0).sum(axis=0) * (1.0 - (top + 2) * EPS)
    for nb in BUCKETS:
        at = np.flatnonzero(need == nb)
        if at.size == 0:
            continue
        k, x = col[inv[at]], rf[at]
        y, err = horner(w[: nb + 1], ew[: nb + 1], x, k)
        with np.errstate(over="ignore", invalid="ignore"):
            tail = _tail_factor([v[inv[at]] for v in ab], order, nb) * np.abs(x) ** (
                nb + 1) / (1.0 - np.abs(x))
        value[at], bound[at], scale[at] = y, err + tail, parseval[k]
    return value.reshape(shape)[()], bound.reshape(shape)[()], scale.reshape(shape)[()]


def _hopeless(need, w, ew, k, x, ab, order: int):
    """``need`` with ``N_MAX + 1`` (not summed) at the long series (``> PRE`` terms) that
    cannot meet the tolerance: the weights' errors of the first ``PRE`` terms, ``e =
    sum_{j <= PRE} ew_j |x|^j``, already exceed ``RTOL (|y| + err + tail) + ATOL S`` (``y``,
    ``err``: the short sum and its bound, ``tail``: Cramer's beyond it, so ``|y| + err + tail``
    bounds the long sum, whose bound is at least ``e``; ``S = sum_{j <= PRE} w_j + N_MAX
    C_PRE`` bounds the Parseval scale).  Cancelling kinks at large ``q`` (CReLU) fail so; the
    point goes to the next route, and no served value changes."""
    long = np.flatnonzero((need <= N_MAX) & (need > PRE))
    if long.size == 0:
        return need
    kk, xx = k[long], x[long]
    y, rounding, e = horner_parts(w[: PRE + 1], ew[: PRE + 1], xx, kk)
    err = rounding + e * (1.0 + 1e-12)  # horner's bound
    ax = np.abs(xx)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        c_pre = _tail_factor([v[long] for v in ab], order, PRE)
        tail = c_pre * ax ** (PRE + 1) / (1.0 - ax)
        scale = w[: PRE + 1].sum(axis=0)[kk] + N_MAX * c_pre
        hopeless = e > 1.01 * (RTOL * (np.abs(y) + err + tail) + ATOL * scale)
    need = need.copy()
    need[long[hopeless]] = N_MAX + 1
    return need
