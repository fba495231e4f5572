"""``V'`` and ``V''`` (per unit ``sigma_w^2``) in forms that do not cancel (docs/theory.md
section 3.2, "V' and V'' without cancellation").

``d/dq E[phi^2] = E[(phi^2)''] / 2`` and ``d^2/dq^2 E[phi^2] = E[(phi^2)''''] / 4`` (the heat
equation, derivatives in the sense of distributions).  Two routes:

* **piecewise linear** (every ``q``): the kink sums ``sum_k a_k^2 M0_k + J_k phi(b_k) p(b_k)``
  and ``sum_k [(a_{k+1}^2 - a_k^2) b_k + J_k phi(b_k) (b_k^2/q - 1)] p(b_k) / 2q``.  Their
  terms cancel where several breakpoints see nearly the same density ``p(b)`` (a bounded
  ``phi`` at large ``q``: the terms are ``O(q^-1/2)``, the sum ``O(q^-3/2)``).  So
  consecutive breakpoints whose span has ``max x^2 - r^2 <= 2 q SPREAD`` (``r`` its point
  nearest 0) form a *cluster*; within a cluster ``p(x) = p(r) (1 + expm1(-(x^2 - r^2)/2q))``,
  the parts with the constant ``1`` telescope exactly (``int (phi^2)''/2 = [phi phi']`` over
  the span; ``sum (a_{k+1}^2 - a_k^2) b_k - J_k phi(b_k) = [-a c]`` over the span, ``phi =
  a x + c`` per piece) and only the ``expm1`` parts are summed: all of one size;
* **remainder** (``q >= Q_REMAINDER``, any activation whose ``phi^2`` tends to a polynomial
  ``P_+-`` on either side): ``phi^2 = P + r`` with ``P = P_- 1{x<0} + P_+ 1{x>=0}``, whose
  moments ``E[x^m 1{x>=0}] = q^{m/2} mu_m`` differentiate exactly, and ``r`` localised (it
  decays exponentially, or has compact support), so ``int r d^k p_q/dq^k`` (``d^k p_q / dq^k
  = p_q He_2k(z) / (2q)^k``, ``z = x/sqrt q`` small where ``r`` lives) does not cancel.  ``r``
  is evaluated once per activation in mpmath at fixed Gauss-Legendre nodes (``|x| <= X_MAX``).
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Callable

import numpy as np

from . import numeric_forms
from ._lazy import mpmath
from ._lazy import sympy as sp
from .activations import Activation
from .dd_exp import gauss_exp, interval_mass
from .piecewise_linear import PiecewiseLinear

SPREAD = 1.0  # cluster: (max x^2 - r^2) / 2q over its span at most this
Q_REMAINDER = 100.0  # the remainder route from this q on (r lives at |z| < 1)
X_MAX = 240.0  # r beyond this is below e^-70 of its scale (CELU at alpha = 3: e^{x/3})
GL = np.polynomial.legendre.leggauss(24)
INV_SQRT2PI = 1.0 / math.sqrt(2.0 * math.pi)


# --- piecewise linear: clustered kink sums ------------------------------------------
def _coeffs(act: Activation) -> tuple[list, list, list]:
    pl = PiecewiseLinear.of(act.family, *act.values)
    return ([float(b) for b in pl.breaks], [float(a) for a in pl.slopes],
            [float(c) for c in pl.intercepts])


def _clusters(b: list, q: float) -> list[tuple[int, int, float]]:
    """``(i, j, r)``: runs ``b_i..b_j`` of breakpoints with ``r`` the point of ``[b_i, b_j]``
    nearest 0, grown while ``max x^2 - r^2 <= 2 q SPREAD``."""
    out, i, n = [], 0, len(b)
    while i < n:
        j = i
        while j + 1 < n:
            lo, hi = b[i], b[j + 1]
            r2 = 0.0 if lo <= 0.0 <= hi else min(lo * lo, hi * hi)
            if max(lo * lo, hi * hi) - r2 > 2.0 * q * SPREAD:
                break
            j += 1
        lo, hi = b[i], b[j]
        out.append((i, j, 0.0 if lo <= 0.0 <= hi else (lo if lo > 0.0 else hi)))
        i = j + 1
    return out


def _expm1_mass(lo: float, hi: float, r2: float, q: float) -> float:
    """``int_lo^hi expm1(-(x^2 - r^2) / 2q) dx`` (Gauss-Legendre; the integrand is entire
    and varies by at most ``SPREAD`` in the exponent)."""
    x = 0.5 * (hi - lo) * GL[0] + 0.5 * (hi + lo)
    return 0.5 * (hi - lo) * float(GL[1] @ np.expm1(-(x * x - r2) / (2.0 * q)))


def _pl_scalar(b, a, c, q: float, order: int) -> float:
    n = len(b)
    phi = [a[k + 1] * b[k] + c[k + 1] for k in range(n)]
    jump = [a[k + 1] - a[k] for k in range(n)]
    s = math.sqrt(q)
    total = 0.0
    inside = set()  # intervals k (between b_{k-1} and b_k) within a cluster
    for i, j, r in _clusters(b, q):
        r2 = r * r
        pr = gauss_exp(r, q) * INV_SQRT2PI / s  # exp(-r^2/2q) to the last ulp
        em = [math.expm1(-(b[k] ** 2 - r2) / (2.0 * q)) for k in range(i, j + 1)]
        if order == 1:
            part = phi[j] * a[j + 1] - phi[i] * a[i]
            part += math.fsum(jump[k] * phi[k] * e for k, e in zip(range(i, j + 1), em))
            for k in range(i + 1, j + 1):
                inside.add(k)
                if a[k]:
                    part += a[k] ** 2 * _expm1_mass(b[k - 1], b[k], r2, q)
            total += pr * part
        else:
            kink = [(a[k + 1] ** 2 - a[k] ** 2) * b[k] + jump[k] * phi[k] * (b[k] ** 2 / q - 1.0)
                    for k in range(i, j + 1)]
            part = math.fsum([a[i] * c[i], -a[j + 1] * c[j + 1]]
                             + [jump[k] * phi[k] * b[k] ** 2 / q for k in range(i, j + 1)]
                             + [t * e for t, e in zip(kink, em)])
            total += pr * part / (2.0 * q)
    if order == 1:
        edges = [-math.inf, *b, math.inf]
        for k in range(n + 1):
            if k not in inside and a[k]:
                total += a[k] ** 2 * interval_mass(edges[k], edges[k + 1], q)
    return total


def pl_dq_e_phi2(act: Activation, q, order: int):
    """``d^order/dq^order E[phi^2]`` (``order`` 1 or 2) of a continuous piecewise-linear
    ``phi`` by the clustered kink sums of the module docstring."""
    b, a, c = _coeffs(act)
    f = np.vectorize(lambda qq: _pl_scalar(b, a, c, float(qq), order), otypes=[float])
    return f(np.asarray(q, float))[()]


def _jump_d2q_scalar(b, a, c, q: float) -> float:
    total = []
    for k, x in enumerate(b):
        fl, fr = a[k] * x + c[k], a[k + 1] * x + c[k + 1]
        g0, g1, g2 = fr * fr - fl * fl, 2.0 * (a[k + 1] * fr - a[k] * fl), 2.0 * (
            a[k + 1] ** 2 - a[k] ** 2)
        br = math.fsum([3.0 * q * x * g0, -x ** 3 * g0, -g1 * x * x * q, g1 * q * q,
                        -g2 * x * q * q])
        total.append(br * gauss_exp(x, q))
    return -0.25 * math.fsum(total) * INV_SQRT2PI / (math.sqrt(q) * q ** 3)


def pl_jump_d2q(act: Activation, q):
    """``d^2/dq^2 E[phi^2]`` of a piecewise-linear ``phi`` with jumps: ``g = phi^2`` is a
    polynomial of degree <= 2 per piece, so ``int g p^(4) / 4`` is, by parts, the sum over
    breakpoints ``-(1/4) [Dg p^(3) - Dg' p^(2) + Dg'' p^(1)]`` (``D``: the jump across ``b``;
    ``p^(1) = -b p / q``, ``p^(2) = (b^2 - q) p / q^2``, ``p^(3) = b (3q - b^2) p / q^3``),
    each bracket summed exactly over ``q^3`` (``fsum``; JumpReLU's is 0 at ``q = theta^2``)."""
    b, a, c = _coeffs(act)
    f = np.vectorize(lambda qq: _jump_d2q_scalar(b, a, c, float(qq)), otypes=[float])
    return f(np.asarray(q, float))[()]


# --- remainder route ----------------------------------------------------------------
def asymptote(act: Activation) -> tuple[tuple[float, ...], tuple[float, ...]] | None:
    """Ascending coefficients of the polynomials ``P_-``, ``P_+`` that ``phi^2`` tends to
    as ``x -> -inf``, ``+inf`` (``phi`` itself tends to one of degree <= 2, by sympy limits
    of the outer pieces), or ``None`` where there is none."""
    exact = _asymptote_mp(act)
    return None if exact is None else tuple(tuple(float(v) for v in p) for p in exact)


@lru_cache(maxsize=256)
def _asymptote_mp(act: Activation) -> tuple | None:
    """:func:`asymptote`'s coefficients as 70-digit mpmath numbers: from the family's cached
    forms (:func:`_asymptote_family`) where its limits hold for every parameter value, else
    from :func:`_asymptote` at ``act``'s values."""
    mod = numeric_forms.family_module(act.family, "asymptote",
                                      lambda: _asymptote_family(act.family), __file__)
    with mpmath.workdps(70):
        if mod.FOUND is None:
            exact = _asymptote(act)
            return None if exact is None else tuple(
                tuple(mpmath.mpf(str(sp.N(k, 70))) for k in p) for p in exact)
        if not mod.FOUND:
            return None
        return tuple(tuple(mpmath.mpf(k) for k in f(*act.values)) for f in (mod.NEG, mod.POS))


def _asymptote_family(fam) -> tuple[dict, dict]:
    """The limits of :func:`_asymptote` with the parameters as symbols: ``FOUND`` True (and
    ``NEG``, ``POS``: the coefficients as mpmath functions of the parameters) where every
    coefficient is finite for all parameter values, False where there is no asymptote
    (parameter-free families), None where it depends on the values."""
    from .activations import Activation as _Act

    exact = _asymptote(_Act(fam, fam.symbols))
    if exact is None:
        return {}, {"FOUND": False if not fam.params else None}
    if not all(k.is_finite for p in exact for k in p):
        return {}, {"FOUND": None}
    fns = {name: sp.lambdify(fam.symbols, list(p), "mpmath") for name, p in zip(("NEG", "POS"), exact)}
    return fns, {"FOUND": True}


@lru_cache(maxsize=256)
def _asymptote(act: Activation) -> tuple[tuple[sp.Expr, ...], tuple[sp.Expr, ...]] | None:
    """:func:`asymptote` with exact (sympy) coefficients."""
    from .grammar import X
    fam = act.family
    subs = dict(zip(fam.symbols, act.values))
    pieces = fam.pieces_sym(0)
    out = []
    for piece, end in ((pieces[0], -sp.oo), (pieces[-1], sp.oo)):
        f = piece.subs(subs)
        coef = []
        try:
            for d in (2, 1, 0):
                rest = f - sum(k * X ** (2 - i) for i, k in enumerate(coef))
                k = sp.limit(rest / X ** d, X, end)
                if not k.is_finite:
                    return None
                coef.append(k)
        except (NotImplementedError, ValueError, TypeError):
            return None
        poly = sp.Poly(sum(k * X ** (2 - i) for i, k in enumerate(coef)) ** 2, X)
        out.append(tuple(poly.all_coeffs()[::-1]))
    return tuple(out)


def _panels(act: Activation) -> np.ndarray:
    cuts = {0.0, -X_MAX, X_MAX, *(float(v) for v in act.breakpoints)}
    cuts.update(np.arange(-20.0, 21.0, 1.0).tolist() + np.arange(-X_MAX, X_MAX + 1, 4.0).tolist())
    return np.array(sorted(cuts))


@lru_cache(maxsize=256)
def _remainder_nodes(act: Activation) -> tuple[np.ndarray, np.ndarray] | None:
    """Nodes ``x_j`` and weights ``w_j r(x_j)`` of the remainder ``r = phi^2 - P``."""
    if act.has_jumps and not act.is_piecewise_linear:
        return None
    if act.breakpoints.size and np.max(np.abs(act.breakpoints)) > X_MAX / 2:
        return None
    if _asymptote_mp(act) is None:
        return None
    cuts = _panels(act)
    lo, hi = cuts[:-1, None], cuts[1:, None]
    x = (0.5 * (hi - lo) * GL[0] + 0.5 * (hi + lo)).ravel()
    w = (0.5 * (hi - lo) * GL[1]).ravel()
    mod, v0 = numeric_forms.mp(act.family), act.values
    fs = [lambda y, f=getattr(mod, f"MP_0_{i}"): f(y, *v0) for i in range(act.family.forms.N_PIECES)]
    b = act.breakpoints
    r = np.empty(x.shape)
    with mpmath.workdps(60):
        asym = _asymptote_mp(act)
        for n, v in enumerate(x.tolist()):
            xv = mpmath.mpf(v)
            f = fs[int(np.searchsorted(b, v, side="right"))](xv)
            poly = asym[1] if v >= 0 else asym[0]
            r[n] = float(f * f - mpmath.fsum(k * xv ** m for m, k in enumerate(poly)))
    if not np.all(np.isfinite(r)) or abs(r[0]) + abs(r[-1]) > 1e-25 * max(np.max(np.abs(r)), 1e-300):
        return None  # r is not localised within |x| <= X_MAX
    return x, w * r


def _falling(v: float, k: int) -> float:
    return math.prod(v - i for i in range(k))


def _poly_part(asym, q: np.ndarray, order: int) -> np.ndarray:
    """``d^order/dq^order E[P(x)]``: ``E[x^m 1{x >= 0}] = q^{m/2} 2^{m/2} Gamma((m+1)/2) /
    (2 sqrt pi)`` and ``(-1)^m`` times that below 0."""
    out = np.zeros(q.shape)
    for sign, poly in ((-1.0, asym[0]), (1.0, asym[1])):
        for m, k in enumerate(poly):
            mu = 2.0 ** (m / 2) * math.gamma((m + 1) / 2) / (2.0 * math.sqrt(math.pi))
            coef = k * sign ** m * mu * _falling(m / 2, order)
            if coef:
                out = out + coef * q ** (m / 2 - order)
    return out


def _he(n: int, z):
    return {2: z * z - 1.0, 4: (z * z - 6.0) * z * z + 3.0}[n]


def remainder_dq_e_phi2(act: Activation, q, order: int):
    """``d^order/dq^order E[phi^2]`` by the remainder route (``q >= Q_REMAINDER``), or
    ``None`` where ``act`` has no localised remainder."""
    nodes = _remainder_nodes(act)
    if nodes is None:
        return None
    x, wr = nodes
    q = np.asarray(q, float)
    qq = q.reshape(-1, 1)
    dens = np.exp(-x * x / (2.0 * qq)) * (INV_SQRT2PI / np.sqrt(qq))
    part = (dens * _he(2 * order, x / np.sqrt(qq))) @ wr / (2.0 * q.reshape(-1)) ** order
    return (part.reshape(q.shape) + _poly_part(asymptote(act), q, order))[()]


# --- the dispatch moments.py and maps.py call ---------------------------------------
def dq_e_phi2(act: Activation, q, order: int, fallback: Callable):
    """``d^order/dq^order E[phi^2]`` (order 1: ``V'/sigma_w^2``; 2: ``V''/sigma_w^2``):
    the clustered kink sums for continuous piecewise-linear ``phi``, the remainder route
    for ``q >= Q_REMAINDER``, ``fallback(q)`` elsewhere."""
    if act.is_piecewise_linear and not act.has_jumps:
        return pl_dq_e_phi2(act, q, order)
    if act.is_piecewise_linear and order == 2:
        return pl_jump_d2q(act, q)
    q = np.asarray(q, float)
    big = q >= Q_REMAINDER
    if not np.any(big) or _remainder_nodes(act) is None:
        return fallback(q)
    if np.all(big):
        return remainder_dq_e_phi2(act, q, order)
    out = np.empty(q.shape)
    out[big] = remainder_dq_e_phi2(act, q[big], order)
    out[~big] = fallback(q[~big])
    return out[()]
