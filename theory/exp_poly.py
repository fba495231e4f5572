"""Closed forms for activations whose pieces are sums of ``c x^n e^{s x}``.

ELU, SELU and CELU (``alpha (e^{x/alpha} - 1)`` for ``x < 0``), and the polynomial pieces of
ReLU^2, clipped ReLU^2 and hardswish.  Products and derivatives of such pieces are again
such sums, and for ``x ~ N(0, q)``, completing the square (``y ~ N(s q, q)``),

``E[x^n e^{s x}; l < x < r] = e^{s^2 q/2} E[y^n; l < y < r]
= sum_k C(n, k) mu^(n-k) sigma^k e^{s^2 q/2} M_k(a, b)``,

``mu = s q``, ``sigma = sqrt(q)``, ``(a, b) = (l - mu, r - mu) / sigma``, with the truncated
standard normal moments ``M_0 = Phi(b) - Phi(a)``,
``M_k = (k-1) M_(k-2) + a^(k-1) phi(a) - b^(k-1) phi(b)`` (docs/theory.md section 3,
"Exponential-polynomial pieces").  The products never overflow:
``e^{s^2 q/2} phi(a) = e^{s l - l^2/(2q)} / sqrt(2 pi)`` and
``e^{s^2 q/2} Phi(b) = erfcx(-b/sqrt 2) e^{s r - r^2/(2q)} / 2`` for ``b <= 0`` (the tail on
the far side otherwise), e.g. ``E[e^{a x}; x < 0] = e^{a^2 q/2} Phi(-a sqrt q) =
erfcx(a sqrt(q/2)) / 2``.

The sums cancel in places (``E[(e^x - 1)^2; x < 0] ~ q/2`` from terms of size 1/2 at small
``q``; ``x e^{s x}`` at large ``s sqrt q``), so each evaluation also returns its condition
number ``sum |term| / |sum|`` over the atomic terms, and the route is used only where
``COND_MAX`` eps bounds the rounding error (:mod:`.routes` sends the other points on).
A finite interval narrower than ``sigma`` (and than ``1 / |s|``) -- where ``M_0`` is a
difference of nearly equal numbers and the sums cancel -- is integrated instead by
``GL_N``-node Gauss-Legendre: the integrand is entire and, in units of the half-width,
grows at most like ``e^{v^2/8 + |v|}`` off the axis, so the error is below ``4^(-2 GL_N)``
relative (Bernstein ellipse ``rho = 4``; Trefethen 2013, ch. 19).
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from scipy.special import comb, erfcx, ndtr

from . import numeric_forms
from ._lazy import sympy as sp
from .activations import Activation, Family
from .gaussian import COND_MAX
from .piecewise_linear import density

INV_SQRT2PI = 1.0 / math.sqrt(2.0 * math.pi)
SQRT_HALF = math.sqrt(0.5)
GL_N = 16  # Gauss-Legendre nodes on a narrow interval (module docstring): error < 4^-32
GL_X, GL_W = np.polynomial.legendre.leggauss(GL_N)


def _decompose(expr: sp.Expr):
    """``[(coef, n, s)]`` with ``expr = sum coef x^n e^{s x}`` (``coef``, ``s`` free of x),
    or ``None`` if ``expr`` is not of that form."""
    from .grammar import X
    out = []
    if expr == 0:
        return out
    for term in sp.Add.make_args(sp.expand(sp.powsimp(sp.expand(expr)))):
        coef, xpart = term.as_independent(X, as_Add=False)
        n, s = 0, sp.Integer(0)
        for f in sp.Mul.make_args(xpart):
            if f == 1:
                continue
            if f == X:
                n += 1
            elif f.is_Pow and f.base == X and f.exp.is_Integer and f.exp > 0:
                n += int(f.exp)
            elif isinstance(f, sp.exp):
                rate = sp.cancel(f.args[0] / X)
                if rate.has(X):
                    return None
                s += rate
            else:
                return None
        out.append((coef, n, s))
    return out


@lru_cache(maxsize=None)
def _family_terms(fam: Family, order: int):
    """Per piece of ``phi^(order)``, its ``(coef, n, s)`` terms (sympy), or ``None``."""
    pieces = [_decompose(p) for p in fam.pieces_sym(order)]
    return None if any(p is None for p in pieces) else tuple(pieces)


@lru_cache(maxsize=None)
def _family_applies(fam: Family) -> bool:
    return (not fam.is_piecewise_linear and not fam.has_jumps
            and all(_family_terms(fam, o) is not None for o in (0, 1, 2)))


def applies(act: Activation) -> bool:
    """Pieces of ``phi`` are exponential-polynomial and ``phi`` is not piecewise linear
    (those have :mod:`.piecewise_linear`); proved with sympy once per family and cached with
    its generated forms, so a warm start does not import sympy to learn it."""
    return numeric_forms.family_fact(act.family, "applies_exp_poly",
                                     lambda: _family_applies(act.family), __file__)


@lru_cache(maxsize=256)
def terms(act: Activation, order: int) -> tuple:
    """Numeric ``(coef, n, s)`` per piece of ``phi^(order)`` at ``act``'s parameters (from
    the family's cached forms, :func:`_family_numeric`)."""
    mod = _family_numeric(act.family)
    return tuple(tuple((float(c), n, float(s)) for (c, s), n in zip(cs, ns))
                 for cs, ns in zip(getattr(mod, f"TERMS_{order}")(*act.values),
                                   getattr(mod, f"NS_{order}")))


@lru_cache(maxsize=None)
def _family_numeric(fam: Family):
    """:func:`_family_terms` printed once as numpy functions of the parameters
    (``TERMS_k(*params)``: ``[[coef, s], ...]`` per piece; ``NS_k``: the powers ``n``), cached
    with the family's generated forms (:func:`.numeric_forms.family_module`)."""
    def build():
        fns, consts = {}, {}
        for k in (0, 1, 2):
            terms = _family_terms(fam, k)
            fns[f"TERMS_{k}"] = sp.lambdify(fam.symbols, [[[c, s] for c, _, s in piece]
                                                          for piece in terms], ["scipy", "numpy"])
            consts[f"NS_{k}"] = tuple(tuple(n for _, n, _ in piece) for piece in terms)
        return fns, consts
    return numeric_forms.family_module(fam, "exp_poly_terms", build, __file__)


def _product(f, g) -> list:
    """Terms of the product of two term lists, equal ``(n, s)`` merged."""
    acc: dict = {}
    for c1, n1, s1 in f:
        for c2, n2, s2 in g:
            key = (n1 + n2, s1 + s2)
            acc[key] = acc.get(key, 0.0) + c1 * c2
    return [(c, n, s) for (n, s), c in acc.items() if c != 0.0]


def _scaled_cdf(e: float, z, s: float, q, upper: bool):
    """``e^{s^2 q/2} Phi(z)`` (``upper``: ``Phi(-z)``) for ``z = (e - s q)/sqrt q`` on the side
    where it is a tail (``z <= 0``, resp. ``z >= 0``):
    ``erfcx(-+z/sqrt 2) e^{s e - e^2/(2q)} / 2``."""
    if math.isinf(e):
        return np.zeros(np.shape(q))
    zz = z if upper else -z
    with np.errstate(over="ignore", invalid="ignore"):  # the side np.where discards
        return 0.5 * erfcx(zz * SQRT_HALF) * np.exp(s * e - e * e / (2.0 * q))


def _basics(l: float, r: float, s: float, q):
    """``(P, |P| parts, Fa, Fb, a, b)``: ``P = e^{s^2 q/2} (Phi(b) - Phi(a))``, ``Fa =
    e^{s^2 q/2} phi(a)``, ``Fb`` likewise (0 at infinite ends)."""
    sig = np.sqrt(q)
    mu = s * q
    a = (l - mu) / sig if not math.isinf(l) else np.full(np.shape(q), l)
    b = (r - mu) / sig if not math.isinf(r) else np.full(np.shape(q), r)
    fa = (np.zeros(np.shape(q)) if math.isinf(l)
          else INV_SQRT2PI * np.exp(s * l - l * l / (2.0 * q)))
    fb = (np.zeros(np.shape(q)) if math.isinf(r)
          else INV_SQRT2PI * np.exp(s * r - r * r / (2.0 * q)))
    lower = b <= 0.0
    upper = a >= 0.0
    lo_a, lo_b = _scaled_cdf(l, a, s, q, False), _scaled_cdf(r, b, s, q, False)
    up_a, up_b = _scaled_cdf(l, a, s, q, True), _scaled_cdf(r, b, s, q, True)
    with np.errstate(over="ignore", invalid="ignore"):
        whole = np.exp(0.5 * s * s * q)
        # the middle case only: Phi(b) - Phi(a) = 1 - Phi(a) - Phi(-b)
        mid = whole * (ndtr(b) - ndtr(a)) if s == 0.0 else whole - lo_a - up_b
        p = np.where(lower, lo_b - lo_a, np.where(upper, up_a - up_b, mid))
        pabs = np.where(lower, lo_b + lo_a, np.where(upper, up_a + up_b,
                                                     np.abs(whole) + lo_a + up_b))
    return p, pabs, fa, fb, a, b


def _interval(terms, l: float, r: float, q):
    """``(sum, sum |atomic term|)`` of ``E[c x^n e^{s x}; l <= x < r]`` over ``terms``:
    the truncated-moment sums, or Gauss-Legendre where the interval is narrow."""
    val, tot = _moment_sums(terms, l, r, q)
    w = r - l
    if not math.isfinite(w) or w * max(abs(s) for _, _, s in terms) > 1.0:
        return val, tot
    narrow = w <= np.sqrt(q)
    if np.any(narrow):
        qn = np.asarray(q, float)[narrow]
        val, tot = np.array(val, float), np.array(tot, float)
        val[narrow], tot[narrow] = _narrow_rule(terms, l, r, qn)
    return val, tot


def _narrow_rule(terms, l: float, r: float, q):
    """``GL_N``-node Gauss-Legendre of ``sum c x^n e^{s x} p_q(x)`` on ``[l, r]``:
    ``(sum, sum |node term|)``."""
    half = 0.5 * (r - l)
    x = 0.5 * (r + l) + half * GL_X
    f = sum(c * x ** n * np.exp(s * x) for c, n, s in terms)
    q = q[..., None]
    g = (half * GL_W * f) * np.exp(-x * x / (2.0 * q)) / np.sqrt(2.0 * np.pi * q)
    return g.sum(axis=-1), np.abs(g).sum(axis=-1)


def _moment_sums(terms, l: float, r: float, q):
    """``(sum, sum |atomic term|)`` by the truncated-moment recurrence (module docstring)."""
    val = np.zeros(np.shape(q))
    tot = np.zeros(np.shape(q))
    sig = np.sqrt(q)
    by_s: dict = {}
    for c, n, s in terms:
        by_s.setdefault(s, []).append((c, n))
    for s, cn in by_s.items():
        p, pabs, fa, fb, a, b = _basics(l, r, s, q)
        a0 = np.where(np.isinf(a), 0.0, a)
        b0 = np.where(np.isinf(b), 0.0, b)
        mu = s * q
        n_max = max(n for _, n in cn)
        # M_k = cp_k P + ca_k Fa + cb_k Fb (truncated standard normal moments)
        cp, ca, cb = [1.0, 0.0], [0.0, 1.0], [0.0, -1.0]
        for k in range(2, n_max + 1):
            cp.append((k - 1) * cp[k - 2])
            ca.append((k - 1) * ca[k - 2] + a0 ** (k - 1))
            cb.append((k - 1) * cb[k - 2] - b0 ** (k - 1))
        for c, n in cn:
            for k in range(n + 1):
                w = c * comb(n, k, exact=True) * mu ** (n - k) * sig ** k
                parts = (w * cp[k] * p, w * ca[k] * fa, w * cb[k] * fb)
                val = val + parts[0] + parts[1] + parts[2]
                tot = tot + np.abs(w * cp[k]) * pabs + np.abs(parts[1]) + np.abs(parts[2])
    return val, tot


REGIONS = {"all": (-math.inf, math.inf), "pos": (0.0, math.inf), "neg": (-math.inf, 0.0)}


def _expect(act: Activation, piece_terms, q, region: str = "all"):
    """``(E[F(x); x in region], condition)`` with ``F`` given per piece by ``piece_terms``."""
    q = np.asarray(q, float)
    lo, hi = REGIONS[region]
    edges = [-math.inf, *act.breakpoints.tolist(), math.inf]
    val = np.zeros(q.shape)
    tot = np.zeros(q.shape)
    for k, terms in enumerate(piece_terms):
        left, right = max(edges[k], lo), min(edges[k + 1], hi)
        if left >= right or not terms:
            continue
        v, t = _interval(terms, left, right, q)
        val, tot = val + v, tot + t
    return val, tot


def _ok(val, tot):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.isfinite(val) & (tot <= COND_MAX * np.abs(val)) | (tot == 0.0)


def moment(act: Activation, q, quantity: str, region: str = "all"):
    """``(value, ok)`` of ``quantity`` (``e_phi``, ``e_phi2``, ``e_dphi2``, ``e_phi_d2phi``,
    ``e_phi_dphi``, ``d2q_e_phi2``); ``ok`` marks where the condition number is below
    ``COND_MAX`` (the value is accurate there)."""
    q = np.asarray(q, float)
    t0 = terms(act, 0)
    if quantity == "e_phi":
        pieces = t0
    elif quantity == "e_phi2":
        pieces = [_product(f, f) for f in t0]
    elif quantity == "e_dphi2":
        pieces = [_product(f, f) for f in terms(act, 1)]
    elif quantity == "e_phi_d2phi":
        pieces = [_product(f, g) for f, g in zip(t0, terms(act, 2))]
    elif quantity == "e_phi_dphi":
        pieces = [_product(f, g) for f, g in zip(t0, terms(act, 1))]
    elif quantity == "d2q_e_phi2":  # E[phi^2 He_4(x / sqrt q)] / (4 q^2)
        pieces = [[(c * m, n + dn, s) for c, n, s in _product(f, f)
                   for m, dn in ((0.25 / q ** 4, 4), (-1.5 / q ** 3, 2), (0.75 / q ** 2, 0))]
                  for f in t0]
    else:
        raise ValueError(f"quantity={quantity!r}")
    val, tot = _expect(act, pieces, q, region)
    if quantity == "e_phi_d2phi":  # the kinks' delta terms: sum_k J_k phi(b_k) p_q(b_k)
        for j, b in zip(act.kinks, act.breakpoints):
            d = j * float(act(b)) * density(b, q)
            val, tot = val + d, tot + np.abs(d)
    return val[()], _ok(val, tot)[()]
