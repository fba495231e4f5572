"""mpmath references for Gaussian moments, independent of the float64 engines.

Written from an activation's definition alone (its sympy pieces printed for mpmath and
its breakpoints), used by the tests (``tests/test_moments_mpmath.py``) and by
``benchmarks/bench_peers.py``:

* :func:`mp_univariate` -- ``E[fn(phi^(order)(x))]``, ``x ~ N(0, q)``: tanh-sinh quadrature
  in ``z = x / sqrt(q)`` split at the breakpoints and at the features the Gaussian weight
  sharpens;
* :func:`mp_bivariate` -- ``E[phi^(order)(u1) phi^(order)(u2)]`` as a 2-D integral in
  ``z1``, ``z2`` (``u1 = sqrt(q) z1``, ``u2 = sqrt(q) (rho z1 + c z2)``): the inner integral
  exact for polynomial pieces (truncated Gaussian moments), else nested quadrature; or a
  tensor Gauss-Hermite rule for smooth activations where it is asked for.

The working precision is ``mpmath.mp.dps`` (the caller sets it; ``mpmath.diff`` raises it).
"""

from __future__ import annotations

from functools import lru_cache

import mpmath as mp
import numpy as np
import sympy as sp

from sparsefield.theory import activations as A
from sparsefield.theory.activations import Activation

__all__ = ["mp_pieces", "mp_univariate", "mp_e_phi2", "mp_hermite", "mp_bivariate",
           "mp_bivariate_panels", "mp_dq_e_phi2"]


@lru_cache(maxsize=None)
def mp_pieces(name: str, values: tuple, order: int):
    """``(mpmath functions, polynomial coefficients or None, breakpoints)`` of the pieces
    of ``phi^(order)`` of catalogue family ``name`` at parameter ``values``."""
    fam = A.family(name)
    subs = dict(zip(fam.symbols, values))
    exprs = [p.subs(subs) for p in fam.pieces_sym(order)]
    polys = [sp.Poly(e, A.X).all_coeffs()[::-1] if e.is_polynomial(A.X) else None
             for e in exprs]
    funcs = [sp.lambdify(A.X, e, [{"exp": _exp}, "mpmath"]) for e in exprs]
    breaks = [mp.mpf(float(b)) for b in fam.np_breaks(*values)]
    return funcs, polys, breaks


EXP_FLOOR = -1e7  # exp(y) below this is 0 (below 10^-4e6; no catalogue factor is 10^4e6)


def _exp(y):
    """``mpmath.exp`` without the cost of the doubly exponential tails: ``exp(-exp(4e5))``
    (GoLU at ``x = -4e5``) needs ``ln 2`` to 10^5 digits; it is 0 to every precision used."""
    return mp.mpf(0) if y < EXP_FLOOR else mp.exp(y)


def _piece_index(breaks, x) -> int:
    return sum(1 for b in breaks if x >= b)


def _near(points, widths, lo=-mp.inf, hi=mp.inf) -> list:
    """Split points: each point and point +- a few multiples of each width."""
    out = set()
    for p in points:
        for w in widths:
            for k in (0, 1, 6):
                for sgn in (1, -1):
                    v = p + sgn * k * w
                    if lo < v < hi:
                        out.add(v)
    return sorted(out)


def mp_univariate(act: Activation, q, order: int, fn):
    """``E[fn(phi^(order)(x))]``, ``x ~ N(0, q)``, in ``z = x / sqrt(q)``.

    ``mp.quad``'s tolerance is absolute: each interval between split points is integrated
    twice, the second time relative to its first estimate (CST's ``E[phi^2] = 1.4e-41`` at
    ``q = 1e-3`` ended after one level, 3e-6 off)."""
    funcs, _, breaks = mp_pieces(act.name, act.values, order)
    s = mp.sqrt(mp.mpf(q))
    pts = [-mp.inf] + _near([b / s for b in breaks] + [mp.mpf(0)], [1 / s, mp.mpf(1)]) + [mp.inf]

    def integrand(z):
        x = s * z
        return fn(funcs[_piece_index(breaks, x)](x)) * mp.npdf(z)
    total = mp.mpf(0)
    for lo, hi in zip(pts[:-1], pts[1:]):
        rough = mp.quad(integrand, [lo, hi])
        if rough:
            rough = abs(rough)
            total += rough * mp.quad(lambda z: integrand(z) / rough, [lo, hi])
    return total


def mp_e_phi2(act: Activation, q):
    return mp_univariate(act, q, 0, lambda f: f * f)


def _poly_inner(poly, a, b, lo, hi):
    """``E[P(a + b z) 1{lo <= z < hi}]``, ``z ~ N(0, 1)``, ``P`` of degree <= 2."""
    c = [mp.mpf(float(v)) for v in poly] + [0, 0, 0]
    coef = [c[0] + c[1] * a + c[2] * a * a, c[1] * b + 2 * c[2] * a * b, c[2] * b * b]
    g = (lambda z: 0 if mp.isinf(z) else mp.npdf(z))
    zg = (lambda z: 0 if mp.isinf(z) else z * mp.npdf(z))
    i0 = mp.ncdf(hi) - mp.ncdf(lo) if lo < 0 else mp.ncdf(-lo) - mp.ncdf(-hi)
    i1 = g(lo) - g(hi)
    i2 = zg(lo) - zg(hi) + i0
    return coef[0] * i0 + coef[1] * i1 + coef[2] * i2


@lru_cache(maxsize=None)
def _hermite(n: int, dps: int):
    def he(x):  # (He_n(x), He_{n-1}(x)) by the three-term recurrence
        p0, p1 = mp.mpf(1), x
        for k in range(1, n):
            p0, p1 = p1, x * p1 - k * p0
        return p1, p0
    with mp.workdps(dps + 10):
        xs = []
        for x0 in np.polynomial.hermite_e.hermegauss(n)[0]:
            x = mp.mpf(float(x0))
            for _ in range(5):
                hn, hm = he(x)
                x -= hn / (n * hm)
            xs.append(x)
        ws = [1 / he(x)[1] ** 2 for x in xs]
        total = mp.fsum(ws)
        return xs, [w / total for w in ws]


def mp_hermite(n: int):
    """Probabilists' Gauss-Hermite rule (weights sum to 1) at the working precision:
    numpy's nodes polished by Newton's method on ``He_n``, ``w_i ~ 1 / He_{n-1}(x_i)^2``."""
    return _hermite(n, mp.mp.dps)


def mp_bivariate(act: Activation, q, rho, order: int, hermite: int | None = None):
    """``E[phi^(order)(u1) phi^(order)(u2)]``, ``|rho| < 1``.

    ``hermite=n``: a tensor Gauss-Hermite rule of ``n^2`` nodes (smooth ``phi`` without
    breakpoints only: it converges geometrically for functions analytic in a strip);
    otherwise tanh-sinh quadrature in ``z1`` split at the breakpoints and their images,
    of the inner expectation (exact for polynomial pieces, else quadrature split at the
    conditional mean's features)."""
    funcs, polys, breaks = mp_pieces(act.name, act.values, order)
    q, rho = mp.mpf(q), mp.mpf(rho)
    s, c = mp.sqrt(q), mp.sqrt((1 - rho) * (1 + rho))
    smooth = any(p is None for p in polys)
    if hermite:
        if breaks or not smooth:
            raise ValueError("hermite= needs a smooth activation without breakpoints")
        xs, ws = mp_hermite(hermite)
        f = funcs[0]
        return mp.fsum(w1 * f(s * x1) * mp.fsum(w2 * f(s * (rho * x1 + c * x2))
                                                for x2, w2 in zip(xs, ws))
                       for x1, w1 in zip(xs, ws))

    def inner(z1):
        mu = rho * z1
        zc = sorted((b / s - mu) / c for b in breaks)
        edges = [-mp.inf] + zc + [mp.inf]
        total = mp.mpf(0)
        for k in range(len(edges) - 1):
            lo, hi = edges[k], edges[k + 1]
            if polys[k] is not None:
                total += _poly_inner(polys[k], s * mu, s * c, lo, hi)
            else:
                pts = _near([-mu / c, mp.mpf(0)], [1 / (s * c), mp.mpf(1)], lo, hi)
                total += mp.quad(lambda z2: funcs[k](s * (mu + c * z2)) * mp.npdf(z2),
                                 [lo] + pts + [hi])
        return total

    cuts = breaks + [mp.mpf(0)]
    widths = [c / abs(rho) if rho else mp.mpf(1), 1 / s, mp.mpf(1)]
    images = [b / (rho * s) for b in cuts] if rho else []
    pts = _near([b / s for b in cuts] + images, widths)

    def outer(z1):
        x = s * z1
        f = funcs[_piece_index(breaks, x)](x)
        return 0 if f == 0 else f * inner(z1) * mp.npdf(z1)
    deg = 6 if smooth else 8
    rough = mp.quad(outer, [-mp.inf] + pts + [mp.inf], maxdegree=deg)
    if not rough:
        return rough
    # mp.quad's tolerance is absolute: again relative to the first estimate (a tail value
    # such as CST's 8e-44 at q = 1e-3 otherwise ends after one level, 3e-10 off)
    return abs(rough) * mp.quad(lambda z: outer(z) / abs(rough), [-mp.inf] + pts + [mp.inf],
                                maxdegree=deg)


@lru_cache(maxsize=None)
def _legendre(n: int, dps: int):
    """Gauss-Legendre nodes and weights on [-1, 1] at ``dps`` digits."""
    with mp.workdps(dps + 10):
        xs, ws = [], []
        for x0 in np.polynomial.legendre.leggauss(n)[0]:
            x = mp.mpf(float(x0))
            for _ in range(6):  # Newton on P_n
                p, dp = mp.legendre(n, x), mp.diff(lambda t: mp.legendre(n, t), x)
                x -= p / dp
            xs.append(x)
            ws.append(2 / ((1 - x * x) * mp.diff(lambda t: mp.legendre(n, t), x) ** 2))
        return xs, ws


def _panel_sum(f, edges, n: int):
    """``int f`` by ``n``-point Gauss-Legendre on each ``[edges[k], edges[k + 1]]``."""
    xs, ws = _legendre(n, mp.mp.dps)
    total = mp.mpf(0)
    for a, b in zip(edges[:-1], edges[1:]):
        h, c = (b - a) / 2, (a + b) / 2
        total += h * mp.fsum(w * f(c + h * x) for x, w in zip(xs, ws))
    return total


def _edges(lo, hi, cuts, width):
    """``[lo, hi]`` cut at ``cuts`` inside it and into pieces no wider than ``width``."""
    pts = sorted({lo, hi, *(c for c in cuts if lo < c < hi)})
    out = [pts[0]]
    for a, b in zip(pts[:-1], pts[1:]):
        k = int(mp.ceil((b - a) / width))
        out += [a + (b - a) * j / k for j in range(1, k + 1)]
    return out


def mp_bivariate_panels(act: Activation, q, rho, order: int, n: int = 16, z_max: int = 12):
    """``E[phi^(order)(u1) phi^(order)(u2)]`` for smooth ``phi`` without breakpoints, ``|rho|
    < 1``: the conditional form ``E[phi(u1) E[phi(rho u1 + s z2)]]`` (``s^2 = q (1 - rho^2)``)
    by nested fixed Gauss-Legendre panels in ``z1``, ``z2`` on ``[-z_max, z_max]``, cut so
    that no panel is wider than 1 in ``z`` nor in ``x`` (``phi``'s own features, at
    ``|x| <= 10``).  A cheaper reference than :func:`mp_bivariate` for GoLU (its nested
    tanh-sinh rule takes minutes per point); compare two ``n`` for its own error."""
    funcs, _, breaks = mp_pieces(act.name, act.values, order)
    if breaks:
        raise ValueError("mp_bivariate_panels needs a smooth activation without breakpoints")
    f = funcs[0]
    q, rho = mp.mpf(q), mp.mpf(rho)
    sq, s = mp.sqrt(q), mp.sqrt(q * (1 - rho) * (1 + rho))
    z = mp.mpf(z_max)
    feats = range(-10, 11)
    outer_edges = _edges(-z, z, [k / sq for k in feats], mp.mpf(1))

    def inner(x1):
        m = rho * x1
        edges = _edges(-z, z, [(k - m) / s for k in feats], mp.mpf(1))
        return _panel_sum(lambda z2: f(m + s * z2) * mp.npdf(z2), edges, n)
    return _panel_sum(lambda z1: f(sq * z1) * inner(sq * z1) * mp.npdf(z1), outer_edges, n)


def _he(n: int, z):
    """Probabilists' Hermite polynomial ``He_n(z)``."""
    if n == 2:
        return z * z - 1
    if n == 4:
        return (z * z - 6) * z * z + 3
    p0, p1 = mp.mpf(1), z
    if n == 0:
        return p0
    for k in range(1, n):
        p0, p1 = p1, z * p1 - k * p0
    return p1


def mp_dq_e_phi2(act: Activation, q, k: int = 0, dps: int = 30, bound: bool = False):
    """``d^k/dq^k E[phi(x)^2]``, ``x ~ N(0, q)``, ``k = 0, 1, 2``: the density
    differentiated in ``q`` (``d^k p_q / dq^k = p_q He_2k(z) / (2q)^k``), so neither
    ``phi'`` nor ``phi''`` nor any delta term enters.  The weight ``He_2k`` cancels (by
    ``E[phi^2 |He_2k|] / |result|``, up to 1e40 in the tails): the precision starts at
    ``dps`` digits and grows until 20 digits survive the cancellation (at most 160 digits).  The quadrature is
    split at the breakpoints, at ``b +- (1, 3, 10, 30, 100)`` (the activation's own
    features, in ``x``; where some piece is not a polynomial), around each of these points
    at multiples of ``1/|z|`` (the Gaussian's decay length in the tails) and at
    ``|z| = 1, 3, 6, 10``.

    ``bound=True`` returns ``(value, error bound)``: 0 where 20 digits survived, else (a value
    below the cancellation's resolution, e.g. CReLU's ``V'' ~ e^-8000`` at ``q = 1e-3``, whose
    ``E[phi^2 |He_4|]`` is 1e3) ``10^(10 - prec)`` of ``E[phi^2 |He_2k|] / (2q)^k``."""
    funcs, polys, breaks = mp_pieces(act.name, act.values, 0)
    smooth = any(p is None for p in polys)  # a non-polynomial piece: its own features
    prec = max(dps, mp.mp.dps)
    while True:
        with mp.workdps(prec):
            key = (act.name, act.values, float(q), prec)
            if key not in _SQUARES:  # phi(x)^2 exp(-z^2/2) by node, shared by k and |.|
                _SQUARES.clear()
                _SQUARES[key] = {}
            value, size = _density_form(funcs, breaks, mp.mpf(q), k, _SQUARES[key], smooth)
            if k == 0 or size == 0 or abs(value) > size * mp.mpf(10) ** (20 - prec):
                return (+value, mp.mpf(0)) if bound else +value
            if prec >= 160:  # a true 0 (ReLU's V'') never shows 20 digits
                return (+value, size * mp.mpf(10) ** (10 - prec)) if bound else +value
        prec = min(2 * prec, 160)


_SQUARES: dict = {}


def _density_form(funcs, breaks, q, k: int, squares: dict, smooth: bool = True):
    """``(E[phi^2 He_2k(z)] / (2q)^k, E[phi^2 |He_2k(z)|] / (2q)^k)`` at the working
    precision (``smooth``: some piece is not a polynomial, so ``phi`` has features of its
    own at ``x = b +- (1 .. 100)``; a polynomial times the Gaussian has none)."""
    s = mp.sqrt(q)
    feats = [mp.mpf(0)] + [mp.mpf(b) for b in breaks]
    pts = {f / s for f in feats}
    for f in feats if smooth else ():
        for w in (1, 3, 10, 30, 100):
            pts.update(((f + w) / s, (f - w) / s))
    for f in list(pts):  # the Gaussian's own scale 1/|z| in the tails
        for w in (0.1, 0.3, 1, 3, 10, 30):
            pts.update((f + w / max(1, abs(f)), f - w / max(1, abs(f))))
    for w in (1, 3, 6, 10):
        pts.update((mp.mpf(w), -mp.mpf(w)))
    pts = [-mp.inf] + sorted(p for p in pts if abs(p) <= 40) + [mp.inf]
    scale = (2 * q) ** k

    def integrand(z, absolute=False):
        base = squares.get(z)
        if base is None:
            x = s * z
            f = funcs[_piece_index(breaks, x)](x)
            base = squares[z] = f * f * mp.exp(-z * z / 2) / mp.sqrt(2 * mp.pi)
        h = _he(2 * k, z)
        return base * (abs(h) if absolute else h)
    value, size = mp.mpf(0), mp.mpf(0)
    for lo, hi in zip(pts[:-1], pts[1:]):
        # mp.quad's tolerance is absolute: integrate relative to the Gaussian's largest
        # value on [lo, hi] (else a tail integral of 1e-270 ends after one level)
        z0 = 0 if lo <= 0 <= hi else min(abs(lo), abs(hi))
        g = mp.npdf(z0)
        value += g * mp.quad(lambda z: integrand(z) / g, [lo, hi])
        if k:
            size += g * mp.quad(lambda z: integrand(z, True) / g, [lo, hi])
    return value / scale, (size if k else abs(value)) / scale
