"""Fixed trapezoid rules for Gaussian moments of activations analytic in a strip.

For ``phi`` analytic and bounded in ``|Im x| < d`` (tanh: poles at ``x = +-i pi/2``) the
trapezoid rule on the whole line converges like ``exp(-2 pi d / h)`` (Trefethen & Weideman
2014, "The exponentially convergent trapezoidal rule", SIAM Review 56, Sec. 5).  Two rules
use that, both built once per activation and cached, so an evaluation is a few numpy
expressions on precomputed node values:

* univariate ``E[F(x)]``, ``x ~ N(0, q)``: the trapezoid rule in ``t`` with
  ``x = c sinh(t)``, ``c <= min(1, sqrt(q))`` a power of 2.  The nodes do not depend on ``q``
  (only the Gaussian weight ``exp(-x^2/(2q))`` does), so ``phi`` and its derivatives are
  evaluated once per rule and a grid of ``q`` is one matrix product.  The sinh map keeps the
  poles on the imaginary axis at ``Im t = pi/2`` for every ``q``, and the Gaussian factor is
  analytic and decaying for ``|Im t| < pi/4``, whatever ``q/c^2``;
* bivariate ``E[f(u1) g(u2)]``: the same outer rule in ``x1 = u1``, and for the inner
  expectation over ``u2 | u1 ~ N(rho u1, s^2)``, ``s^2 = q (1 - rho^2)``, the uniform
  trapezoid rule in ``z2`` (step from the strip of ``g(mu + s z2)``, ``d / s``, and the
  Gaussian's own ``exp(-2 pi^2 / h^2)``), vectorised over ``(q, rho)`` pairs.  Where
  ``s > INNER_S_MAX d`` (large ``q``, ``rho`` far from 1) the graded panels of
  :mod:`.panel_moments` take over.

Which activations qualify, and their strips, is part of each definition
(:attr:`.activations.Family.strip`: the nearest singularity of ``phi`` off the real axis);
every other activation keeps the graded panel rule of :mod:`.panel_moments`.  The tests
check both rules against mpmath.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from . import numeric_forms, panel_moments
from ._lazy import mpmath
from .activations import Activation, Strip

LOG_EPS = 40.0  # target: discretisation error ~ e^-40 (4e-18) of the integrand's scale
Z_MAX = 10.0  # Gaussian tails beyond |z| = 10 weigh < e^-50
H_GAUSS = math.pi / math.sqrt(LOG_EPS / 2.0)  # a Gaussian alone: error exp(-2 pi^2 / h^2)
CHUNK = 1 << 22
# conditional sd ``s`` (in units of the strip ``d``) up to which the inner rule (~40 s/d
# nodes per side) is used; beyond, the graded panels of :mod:`.panel_moments`
INNER_S_MAX = 12.0  # bivariate: node values evaluated at once
INV_SQRT2PI = 1.0 / math.sqrt(2.0 * math.pi)
HE4_LOG_EPS = 60.0
TINY_LD = "1e-4900"  # below x86 long double's least subnormal (3.6e-4951)


# The outer rule's strip in t: the Gaussian factor exp(-c^2 sinh^2(t) / (2q)) decays for
# |Im t| < pi/4; a margin keeps its bound O(1).
T_STRIP = 0.7


@lru_cache(maxsize=256)
def strip(act: Activation) -> Strip | None:
    """The strip of analyticity that ``act``'s definition declares (``None``: none)."""
    make = act.family.strip
    return None if make is None else make(*act.values)


def applies(act: Activation) -> bool:
    return strip(act) is not None


def inner_rule_fits(act: Activation, q, rho) -> np.ndarray:
    """Where :func:`bivariate` uses its own inner rule (``|rho| = 1``, or the conditional sd
    ``sqrt(q (1 - rho^2)) <= INNER_S_MAX min(d, 1)``); elsewhere it hands the point to the
    graded panels of :mod:`.panel_moments`."""
    q, rho = np.broadcast_arrays(np.asarray(q, float), np.asarray(rho, float))
    sd = np.sqrt(q * ((1.0 - rho) * (1.0 + rho)))
    return (np.abs(rho) == 1.0) | (sd <= INNER_S_MAX * min(strip(act).d, 1.0))


def _inner_n(st: Strip, s: float) -> int:
    """Nodes per side of the inner rule in ``z2`` for ``g(mu + s z2)``, step ``Z_MAX / n``:
    the error ``exp(a y^2 - 2 pi y / h)`` on the line ``Im z2 = y`` (``a = 1/2 + growth s^2``:
    the Gaussian's and ``g``'s growth) is ``e^-LOG_EPS`` at the best ``y <= d / s``."""
    a = 0.5 + st.growth * s * s
    y = math.sqrt(LOG_EPS / a)
    if s > 0.0 and y > st.d / s:
        y = st.d / s
    h = min(H_GAUSS, 2.0 * math.pi * y / (LOG_EPS + a * y * y))
    return 4 * math.ceil(Z_MAX / h / 4)  # a few rule sizes, so the cache hits


def _outer(st: Strip, q_min: float, q_max: float, log_eps: float = LOG_EPS):
    """``(c, h, k)``: ``c`` a power of 2 ``<= min(1, sqrt(q_min), d)`` (poles stay at
    ``Im t = pi/2``), ``h`` from the strip in ``t``, ``k`` reaching ``|z| = Z_MAX``."""
    c = 2.0 ** math.floor(math.log2(min(1.0, math.sqrt(q_min), st.d)))
    h = 2.0 * math.pi * min(T_STRIP, st.d_t) / log_eps
    k = 8 * math.ceil(math.asinh(Z_MAX * math.sqrt(q_max) / c) / h / 8)
    return c, h, k


@lru_cache(maxsize=512)
def _rule(c: float, h: float, k: int):
    """Nodes ``x_j = c sinh(j h)`` and weights ``h cosh(j h)`` (in units of ``c``, which
    :func:`_gauss` applies: no underflow at tiny ``q``), ``|j| <= k``."""
    t = h * np.arange(-k, k + 1)
    return c * np.sinh(t), h * np.cosh(t)


@lru_cache(maxsize=64)
def _inner_rule(n: int):
    """The trapezoid rule ``z_j = j Z_MAX / n``, ``|j| <= n``, Gaussian-weighted."""
    h = Z_MAX / n
    z = h * np.arange(-n, n + 1)
    return z, h * INV_SQRT2PI * np.exp(-0.5 * z * z)


@lru_cache(maxsize=1024)
def _values(act: Activation, c: float, h: float, k: int, order: int) -> np.ndarray:
    """``phi^(order)`` at the outer nodes, correctly rounded: evaluated once in mpmath, so
    the printed float64 forms' cancellations (``1 - tanh(x)^2`` at large ``x``) and
    overflows never reach the sums."""
    x, _ = _rule(c, h, k)
    fs = _mp_pieces(act, order)
    b = act.breakpoints
    with mpmath.workdps(25):
        return np.array([float(fs[int(np.searchsorted(b, v, side="right"))](mpmath.mpf(v)))
                         for v in x.tolist()])


@lru_cache(maxsize=256)
def _mp_pieces(act: Activation, order: int) -> list:
    mod, v = numeric_forms.mp(act.family), act.values
    return [lambda y, f=getattr(mod, f"MP_{order}_{i}"): f(y, *v)
            for i in range(act.family.forms.N_PIECES)]


@lru_cache(maxsize=1024)
def _weighted(act: Activation, c: float, h: float, k: int, terms, sign: float):
    """``w_j sum_i coef_i prod phi^(o_i.)(x_j)`` for :func:`moment` (the last factor at
    ``sign x_j``: the nodes are symmetric, so that is the reversed array)."""
    _, w = _rule(c, h, k)
    f = np.zeros(w.shape)
    for coef, orders in terms:
        prod = coef * w
        for j, o in enumerate(orders):
            v = _values(act, c, h, k, o)
            prod = prod * (v[::-1] if sign < 0 and j == len(orders) - 1 else v)
        f = f + prod
    f.setflags(write=False)
    return f


SAFE_X = 300.0  # |x| below which the printed pieces neither overflow nor lose the sign


def _eval(act: Activation, order: int, x, bound: float):
    """``phi^(order)(x)`` in float64; ``bound >= max |x|`` (beyond ``SAFE_X`` the
    overflow-safe pieces of :func:`.panel_moments.piece`)."""
    fam, v = act.family, act.values
    if bound < SAFE_X:
        pieces = [lambda y, f=f: f(y, *v) for f in fam.np_pieces[order]]
    else:
        pieces = [panel_moments.piece(act, i, order) for i in range(len(act.breakpoints) + 1)]
    if len(pieces) == 1:
        return pieces[0](x)
    # the table's activations split only at one point, where the pieces continue each other
    b = act.breakpoints[0]
    neg = x < b
    return np.where(neg, pieces[0](np.where(neg, x, b - 1.0)), pieces[1](np.where(neg, b + 1.0, x)))


def _gauss(x, q, c: float):
    """``c exp(-x^2 / (2q)) / sqrt(2 pi q)``: shape ``q.shape + x.shape``."""
    q = q[..., None]
    return np.exp(x * x * (-0.5 / q)) * (c * INV_SQRT2PI / np.sqrt(q))


def moment(act: Activation, q, terms, sign: float = 1.0):
    """``sum_i coef_i E[prod_j phi^(o_ij)(x)]`` for ``terms = ((coef_i, (o_i1, ...)), ...)``,
    ``x ~ N(0, q)``; vectorised over ``q``.  ``sign = -1`` evaluates the last factor of each
    product at ``-x`` (the bivariate map at ``rho = -1``)."""
    q = np.asarray(q, float)
    if q.size == 0:
        return np.zeros(q.shape)
    if q.ndim == 0:
        return _one(act, float(q), terms, sign)
    c, h, k = _outer(strip(act), float(q.min()), float(q.max()))
    x, _ = _rule(c, h, k)
    f = _weighted(act, c, h, k, terms, sign)
    flat = q.reshape(-1)
    out = np.empty(flat.shape)
    step = max(1, CHUNK // x.size)
    for i in range(0, flat.size, step):
        out[i:i + step] = _gauss(x, flat[i:i + step], c) @ f
    return out.reshape(q.shape)


@lru_cache(maxsize=256)
def _outer_one(st: Strip, q: float):
    """The outer strip rule at one ``q``: ``(x^2, c, h, k)`` (:func:`_outer`, :func:`_rule`)."""
    c, h, k = _outer(st, q, q)
    x, _ = _rule(c, h, k)
    return x * x, c, h, k


def _one(act: Activation, q: float, terms, sign: float) -> float:
    """One ``q``: the strip rule with its rule and node values cached, without the
    chunking of :func:`moment` (a Gauss-Hermite rule would evaluate ``phi`` at ``q``-
    dependent nodes on every call: 1.4-3.2x the cost at q = 0.1 in benchmarks/bench_routes.py
    at load 10, for tanh, SiLU, softplus, Mish)."""
    x2, c, h, k = _outer_one(strip(act), q)
    f = _weighted(act, c, h, k, terms, sign)
    return float(np.exp(x2 * (-0.5 / q)) @ f) * (c * INV_SQRT2PI / math.sqrt(q))


def d2q_e_phi2(act: Activation, q):
    """``d^2/dq^2 E[phi^2]``, in the form that does not cancel: for ``q <= 1``
    ``E[(phi^2)^(4)] / 4 = E[phi phi^(4) + 4 phi' phi^(3) + 3 phi''^2] / 2`` (the heat
    equation ``d/dq E[F(x)] = E[F''(x)] / 2`` twice; ``phi`` analytic), whose terms would
    cancel at large ``q`` (the integral of ``(phi^2)^(4)`` alone is 0); for ``q > 1`` the
    density form ``E[phi^2 He_4(z)] / (4 q^2)``, ``He_4 = z^4 - 6 z^2 + 3``, which cancels
    at small ``q`` instead (``E[z^2 He_4] = 0``)."""
    q = np.asarray(q, float)
    small = q <= 1.0
    if np.all(small):
        return moment(act, q, ((0.5, (0, 4)), (2.0, (1, 3)), (1.5, (2, 2))))
    if not np.any(small):
        return _he4(act, q)
    out = np.empty(q.shape)
    out[small] = moment(act, q[small], ((0.5, (0, 4)), (2.0, (1, 3)), (1.5, (2, 2))))
    out[~small] = _he4(act, q[~small])
    return out


def _he4(act: Activation, q):
    """``E[phi^2 He_4(z)] / (4 q^2)`` summed in long double (80-bit on x86: the sum cancels
    by ``~q^2 / |V''|``, 1e4 for SiLU at ``q = 100``), nodes, weights and values too; the
    step is finer (``HE4_LOG_EPS``: ``He_4`` grows off the axis)."""
    c, h, k = _outer(strip(act), float(q.min()), float(q.max()), HE4_LOG_EPS)
    x, f = _rule_ld(act, c, h, k)
    flat = q.reshape(-1)
    out = np.empty(flat.shape)
    step = max(1, CHUNK // x.size)
    for i in range(0, flat.size, step):
        qq = flat[i:i + step, None].astype(np.longdouble)
        z2 = x * x / qq
        g = np.exp(-0.5 * z2) * ((z2 - 6) * z2 + 3)
        out[i:i + step] = (g @ f / (np.sqrt(2 * np.pi * qq[:, 0], dtype=np.longdouble)
                                    * 4 * qq[:, 0] ** 2) * c).astype(float)
    return out.reshape(q.shape)[()]


@lru_cache(maxsize=256)
def _rule_ld(act: Activation, c: float, h: float, k: int):
    """Long-double nodes ``c sinh(j h)`` and ``h cosh(j h) phi(x_j)^2`` (mpmath values)."""
    t = np.longdouble(h) * np.arange(-k, k + 1)
    x = c * np.sinh(t)
    fs = _mp_pieces(act, 0)
    b = act.breakpoints
    with mpmath.workdps(25):
        phi2 = [fs[int(np.searchsorted(b, float(v), side="right"))](
                    mpmath.mpf(np.format_float_scientific(v, unique=True))) ** 2 for v in x]
        # values below long double's range (SiLU's x^2 sigmoid(x)^2 at x = -1e4) are 0:
        # numpy warns converting them from text
        f = np.array([np.longdouble(mpmath.nstr(v, 22)) if v > mpmath.mpf(TINY_LD) else np.longdouble(0)
                      for v in phi2])
    return x, h * np.cosh(t) * f


def bivariate(act: Activation, q, rho, order: int):
    """``E[phi^(order)(u1) phi^(order)(u2)]``, ``u1, u2 ~ N(0, q)`` with correlation
    ``rho`` in ``[-1, 1]``; vectorised over ``q``, ``rho`` (broadcast)."""
    q, rho = np.asarray(q, float), np.asarray(rho, float)
    if q.ndim == 0 and rho.ndim == 0 and abs(float(rho)) < 1.0 and \
            math.sqrt(float(q) * (1.0 - float(rho) ** 2)) <= INNER_S_MAX * min(strip(act).d, 1.0):
        return float(_open(act, q.reshape(1), rho.reshape(1), order)[0])
    q, rho = np.broadcast_arrays(q, rho)
    out = np.empty(q.shape)
    flat_q, flat_r, flat_o = q.reshape(-1), rho.reshape(-1), out.reshape(-1)
    for sign in (1.0, -1.0):
        at = flat_r == sign
        if at.any():
            flat_o[at] = moment(act, flat_q[at], ((1.0, (order, order)),), sign)
    inside = np.abs(flat_r) < 1.0
    if inside.any():
        st = strip(act)
        sd = np.sqrt(flat_q * ((1.0 - flat_r) * (1.0 + flat_r)))
        wide = inside & (sd > INNER_S_MAX * min(st.d, 1.0))
        narrow = inside & ~wide
        if narrow.any():
            flat_o[narrow] = _open_grouped(act, flat_q[narrow], flat_r[narrow], sd[narrow], order)
        if wide.any():
            flat_o[wide] = panel_moments.bivariate(act, flat_q[wide], flat_r[wide], order)
    return out[()]


def _open_grouped(act: Activation, fq, fr, sd, order: int):
    """:func:`_open` per group of points sharing their rules (the inner rule's size, from
    the conditional sd; the outer scale ``c``, from ``q``), so one wide point does not set
    the inner rule of a whole grid."""
    st = strip(act)
    n = np.array([_inner_n(st, float(v)) for v in sd])
    c = np.floor(np.log2(np.minimum(1.0, np.sqrt(fq))))
    keys, which = np.unique(np.stack([n, c], axis=1), axis=0, return_inverse=True)
    if len(keys) == 1:
        return _open(act, fq, fr, order)
    out = np.empty(fq.shape)
    for g in range(len(keys)):
        at = which.reshape(-1) == g
        out[at] = _open(act, fq[at], fr[at], order)
    return out


def _open(act: Activation, fq, fr, order: int):
    """The outer rule in ``x1`` of the inner trapezoid rule in ``z2`` (``|rho| < 1``)."""
    st = strip(act)
    c, h, k = _outer(st, float(fq.min()), float(fq.max()))
    x, _ = _rule(c, h, k)
    wf = _weighted(act, c, h, k, ((1.0, (order,)),), 1.0)
    sd = np.sqrt(fq * ((1.0 - fr) * (1.0 + fr)))
    s_max = float(sd.max())
    z2, w2 = _inner_rule(_inner_n(st, s_max))
    bound = x[-1] * float(np.abs(fr).max()) + s_max * Z_MAX
    out = np.empty(fq.shape)
    step = max(1, CHUNK // (x.size * z2.size))
    for i in range(0, fq.size, step):
        qq, rr, ss = fq[i:i + step], fr[i:i + step], sd[i:i + step]
        u2 = (rr[:, None] * x)[..., None] + ss[:, None, None] * z2  # (P, N1, N2)
        inner = _eval(act, order, u2, bound) @ w2
        out[i:i + step] = (_gauss(x, qq, c) * inner) @ wf
    return out
