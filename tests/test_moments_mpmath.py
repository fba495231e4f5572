"""Every moment of every catalogue activation against an independent mpmath reference.

The references are written here from the definition alone (sympy pieces printed for
mpmath, tanh-sinh quadrature split at the breakpoints and at the features the Gaussian
weight sharpens): ``V = E[phi^2]``, its ``q``-derivatives by ``mpmath.diff`` of that
integral (not through ``phi'``, ``phi''`` or Stein), ``chi_1 = E[phi'^2]``, and the
bivariate ``E[phi(u1) phi(u2)]``, ``E[phi'(u1) phi'(u2)]`` as a 2-D integral in
``z1``, ``z2`` (inner integral exact for polynomial pieces, else nested quadrature).
The default run checks a representative subset (smooth and kinked activations, high
correlation, small and large ``q``); ``-m slow`` runs the whole grid of issue 12.
"""

import math
from functools import lru_cache

import mpmath as mp
import numpy as np
import pytest
import sympy as sp

from helpers import all_activations, ids
from sparsefield.theory import activations as A
from sparsefield.theory import moments as M

ACTS = all_activations()
RHOS = (-0.99, -0.5, 0.0, 0.5, 0.99, 0.999, 0.9999)
QS = (0.01, 1.0, 100.0)
REL = 1e-12  # the issue asks for 1e-9; the engine aims at 1e-13
DPS = 18


def rel_err(got, ref):
    ref = float(ref)
    return abs(float(got) - ref) / max(abs(ref), 1e-300)


@lru_cache(maxsize=None)
def mp_pieces(name, values, order):
    fam = A.family(name)
    subs = dict(zip(fam.symbols, values))
    exprs = [p.subs(subs) for p in fam.pieces_sym(order)]
    polys = [sp.Poly(e, A.X).all_coeffs()[::-1] if e.is_polynomial(A.X) else None
             for e in exprs]
    funcs = [sp.lambdify(A.X, e, "mpmath") for e in exprs]
    breaks = [mp.mpf(float(b)) for b in fam._np_breaks(*values)]
    return funcs, polys, breaks


def piece_index(breaks, x):
    return sum(1 for b in breaks if x >= b)


def near(points, widths, lo=-mp.inf, hi=mp.inf):
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


def mp_univariate(act, q, order, fn):
    """``E[fn(phi^(order)(x))]``, ``x ~ N(0, q)``, in ``z = x / sqrt(q)`` (at the working
    precision, which ``mpmath.diff`` raises)."""
    funcs, _, breaks = mp_pieces(act.name, act.values, order)
    s = mp.sqrt(mp.mpf(q))
    pts = near([b / s for b in breaks] + [mp.mpf(0)], [1 / s, mp.mpf(1)])

    def integrand(z):
        x = s * z
        return fn(funcs[piece_index(breaks, x)](x)) * mp.npdf(z)
    return mp.quad(integrand, [-mp.inf] + pts + [mp.inf])


def mp_e_phi2(act, q):
    return mp_univariate(act, q, 0, lambda f: f * f)


def mp_poly_inner(poly, a, b, lo, hi):
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
def mp_hermite(n):
    """Probabilists' Gauss-Hermite rule (weights sum to 1): numpy's nodes polished by
    Newton's method on the three-term recurrence in mpmath."""
    def he(x):
        p0, p1 = mp.mpf(1), x
        for k in range(1, n):
            p0, p1 = p1, x * p1 - k * p0
        return p1, p0
    xs = []
    for x0 in np.polynomial.hermite_e.hermegauss(n)[0]:
        x = mp.mpf(float(x0))
        for _ in range(3):
            hn, hm = he(x)
            x -= hn / (n * hm)
        xs.append(x)
    ws = [1 / he(x)[1] ** 2 for x in xs]
    total = mp.fsum(ws)
    return xs, [w / total for w in ws]


def mp_bivariate(act, q, rho, order):
    """``E[phi^(order)(u1) phi^(order)(u2)]`` with ``u1 = sqrt(q) z1``,
    ``u2 = sqrt(q) (rho z1 + c z2)``, ``c = sqrt(1 - rho^2)``: tensor Gauss-Hermite (100^2
    nodes) for smooth activations at ``q <= 0.01`` (analytic in a wide strip), else tanh-sinh
    quadrature split at the breakpoints and their images."""
    mp.mp.dps = DPS
    funcs, polys, breaks = mp_pieces(act.name, act.values, order)
    q, rho = mp.mpf(q), mp.mpf(rho)
    s, c = mp.sqrt(q), mp.sqrt((1 - rho) * (1 + rho))
    cuts = breaks + [mp.mpf(0)]
    smooth = any(p is None for p in polys)
    if smooth and not breaks and q <= mp.mpf("0.01"):
        xs, ws = mp_hermite(100)
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
                total += mp_poly_inner(polys[k], s * mu, s * c, lo, hi)
            else:
                pts = near([-mu / c], [1 / (s * c), mp.mpf(1)], lo, hi)
                total += mp.quad(lambda z2: funcs[k](s * (mu + c * z2)) * mp.npdf(z2),
                                 [lo] + pts + [hi])
        return total

    widths = [c / abs(rho) if rho else mp.mpf(1), 1 / s, mp.mpf(1)]
    images = [b / (rho * s) for b in cuts] if rho else []
    pts = near([b / s for b in cuts] + images, widths)

    def outer(z1):
        x = s * z1
        f = funcs[piece_index(breaks, x)](x)
        return 0 if f == 0 else f * inner(z1) * mp.npdf(z1)
    return mp.quad(outer, [-mp.inf] + pts + [mp.inf], maxdegree=6 if smooth else 8)


def check_univariate(act, q):
    mp.mp.dps = DPS
    ref_v = mp_e_phi2(act, q)
    assert rel_err(M.e_phi2(act, q), ref_v) < REL, ("E[phi^2]", ref_v)
    ref_chi = mp_univariate(act, q, 1, lambda d: d * d)
    assert rel_err(M.e_dphi2(act, q), ref_chi) < REL, ("E[phi'^2]", ref_chi)
    d1 = mp.diff(lambda qq: mp_e_phi2(act, qq), mp.mpf(q))
    got1 = M.e_dphi2(act, q) + M.e_phi_d2phi(act, q)
    assert rel_err(got1, d1) < 1e3 * REL or abs(got1 - float(d1)) < 1e-15, ("V'", d1)
    d2 = mp.diff(lambda qq: mp_e_phi2(act, qq), mp.mpf(q), 2)
    got2 = M.d2q_e_phi2(act, q)
    assert abs(got2 - float(d2)) <= 1e3 * REL * max(abs(float(d2)), 1e-3 / q ** 2), ("V''", d2)


def check_bivariate(act, q, rho):
    mp.mp.dps = DPS
    for order, fn in ((0, M.e_phi_phi), (1, M.e_dphi_dphi)):
        ref = mp_bivariate(act, q, rho, order)
        got = fn(act, q, rho)
        scale = max(abs(float(ref)), 1e-12 * float(mp_univariate(act, q, order,
                                                                   lambda f: f * f)))
        assert abs(float(got) - float(ref)) <= REL * scale, (order, float(got), float(ref))


SUBSET = [("relu2", 1.0, 0.9999), ("tanh", 0.01, 0.99)]
MORE = [("crelu2", 1.0, 0.999), ("silu", 0.01, -0.99), ("crelu", 1.0, 0.9999)]


@pytest.mark.parametrize("name,q,rho", SUBSET + [pytest.param(*m, marks=pytest.mark.slow)
                                                  for m in MORE])
def test_bivariate_against_mpmath(name, q, rho):
    """``E[phi phi]``, ``E[phi' phi']`` within ``REL`` of the mpmath reference (the default run
    takes SUBSET; ``-m slow`` adds MORE)."""
    act = next(a for a in ACTS if a.name == name)
    check_bivariate(act, q, rho)


@pytest.mark.slow
def test_reference_matches_arccos_kernel():
    """The mpmath reference itself against the degree-2 arc-cosine kernel (Cho & Saul)."""
    mp.mp.dps = DPS
    th = mp.acos(mp.mpf("0.999"))
    j2 = 3 * mp.sin(th) * mp.cos(th) + (mp.pi - th) * (1 + 2 * mp.cos(th) ** 2)
    ref = mp_bivariate(A.get("relu2"), 1.0, 0.999, 0)
    assert abs(ref / (j2 / (2 * mp.pi)) - 1) < 1e-15


@pytest.mark.parametrize("name,q", [("crelu", 0.01), ("tanh", 100.0)])
def test_univariate_subset_against_mpmath(name, q):
    check_univariate(next(a for a in ACTS if a.name == name), q)


@pytest.mark.slow
@pytest.mark.parametrize("name,q", [("gelu2", 1.0), ("silu", 100.0), ("cst", 0.01)])
def test_univariate_more_against_mpmath(name, q):
    check_univariate(next(a for a in ACTS if a.name == name), q)


FIRST = list({a.name: a for a in reversed(ACTS)}.values())  # one parameter set per family


@pytest.mark.parametrize("act", FIRST, ids=ids(FIRST))
def test_closed_forms_match_generic_panels(act):
    """Every family at the hardest corners (rho -> 1 at q = 1, rho -> -1 at q = 100)."""
    check_routes(act, np.array([1.0, 100.0]), np.array([0.9999, -0.99]))


@pytest.mark.slow
@pytest.mark.parametrize("act", ACTS, ids=ids(ACTS))
def test_grid_closed_forms_match_generic_panels(act):
    q, rho = np.meshgrid(QS, RHOS)
    check_routes(act, q, rho)


def check_routes(act, q, rho):
    """The production route (arc-cosine, GELU or closed-form inner integral) against the
    generic panel rule (no closed form), and ``|E[phi phi]| <= E[phi^2]`` (Cauchy-Schwarz)."""
    for fn in (M.e_phi_phi, M.e_dphi_dphi):
        got, generic = fn(act, q, rho), fn(act, q, rho, method="panels")
        np.testing.assert_allclose(got, generic, rtol=1e-12,
                                   atol=1e-12 * np.max(np.abs(generic)))
    v = M.e_phi2(act, q)
    assert np.all(np.abs(M.e_phi_phi(act, q, rho)) <= v * (1 + 1e-12))


@pytest.mark.slow
@pytest.mark.parametrize("act", ACTS, ids=ids(ACTS))
@pytest.mark.parametrize("q", QS)
def test_univariate_grid_against_mpmath(act, q):
    check_univariate(act, q)


@pytest.mark.slow
@pytest.mark.parametrize("act", ACTS, ids=ids(ACTS))
@pytest.mark.parametrize("q", QS)
def test_bivariate_grid_against_mpmath(act, q):
    for rho in RHOS:
        check_bivariate(act, q, rho)


def test_no_nan_at_extreme_variances():
    """Issue 12 item 2: finite moments (or a ParameterError) at q = 350, 1e-6, 1e20."""
    mp.mp.dps = DPS
    sig, silu = A.get("sigmoid"), A.get("silu")
    for act in (sig, silu):
        for q in (350.0, 1e4):
            ref = mp_univariate(act, q, 1, lambda d: d * d)
            assert rel_err(M.e_dphi2(act, q), ref) < REL
            assert math.isfinite(M.e_phi_d2phi(act, q))
    crelu = A.get("crelu", tau=1.0, m=1.0)
    assert rel_err(M.e_phi2(crelu, 1e20), mp_e_phi2(crelu, 1e20)) < REL
    assert rel_err(M.e_dphi2(crelu, 1e20), mp_univariate(crelu, 1e20, 1, lambda d: d * d)) < REL
    assert np.isfinite(M.e_phi_phi(crelu, 1e-6, 0.5))
