"""Every moment of every catalogue activation against an independent mpmath reference.

The references (:mod:`sparsefield.references.mpmath_moments`) are written from the definition alone
(sympy pieces printed for mpmath, tanh-sinh quadrature split at the breakpoints and at the
features the Gaussian weight sharpens): ``V = E[phi^2]``, its ``q``-derivatives by ``mpmath.diff`` of that
integral (not through ``phi'``, ``phi''`` or Stein), ``chi_1 = E[phi'^2]``, and the
bivariate ``E[phi(u1) phi(u2)]``, ``E[phi'(u1) phi'(u2)]`` as a 2-D integral in
``z1``, ``z2`` (inner integral exact for polynomial pieces, else nested quadrature).
The default run checks a representative subset (smooth and kinked activations, high
correlation, small and large ``q``); ``-m slow`` runs the whole grid of issue 12.
"""

import math

import mpmath as mp
import numpy as np
import pytest

from sparsefield.references import mpmath_moments as R
from sparsefield.theory import activations as A
from sparsefield.theory import moments as M

from helpers import all_activations, ids

ACTS = all_activations()
RHOS = (-0.99, -0.5, 0.0, 0.5, 0.99, 0.999, 0.9999)
QS = (0.01, 1.0, 100.0)
REL = 1e-12  # the issue asks for 1e-9; the engine aims at 1e-13
DPS = 18


def rel_err(got, ref):
    ref = float(ref)
    return abs(float(got) - ref) / max(abs(ref), 1e-300)


def mp_bivariate(act, q, rho, order):
    """The reference of :mod:`sparsefield.references.mpmath_moments`: tensor Gauss-Hermite (100^2 nodes) for
    smooth activations at ``q <= 0.01`` (analytic in a wide strip), else tanh-sinh
    quadrature split at the breakpoints and their images."""
    mp.mp.dps = DPS
    _, polys, breaks = R.mp_pieces(act.name, act.values, order)
    smooth = any(p is None for p in polys)
    gh = 100 if smooth and not breaks and q <= 0.01 else None
    return R.mp_bivariate(act, q, rho, order, hermite=gh)


def check_univariate(act, q):
    mp.mp.dps = DPS
    ref_v = R.mp_e_phi2(act, q)
    assert rel_err(M.e_phi2(act, q), ref_v) < REL, ("E[phi^2]", ref_v)
    ref_chi = R.mp_univariate(act, q, 1, lambda d: d * d)
    assert rel_err(M.e_dphi2(act, q), ref_chi) < REL, ("E[phi'^2]", ref_chi)
    d1 = mp.diff(lambda qq: R.mp_e_phi2(act, qq), mp.mpf(q))
    got1 = M.e_dphi2(act, q) + M.e_phi_d2phi(act, q)
    assert rel_err(got1, d1) < 1e3 * REL or abs(got1 - float(d1)) < 1e-15, ("V'", d1)
    d2 = mp.diff(lambda qq: R.mp_e_phi2(act, qq), mp.mpf(q), 2)
    got2 = M.d2q_e_phi2(act, q)
    assert abs(got2 - float(d2)) <= 1e3 * REL * max(abs(float(d2)), 1e-3 / q ** 2), ("V''", d2)


def check_bivariate(act, q, rho):
    mp.mp.dps = DPS
    for order, fn in ((0, M.e_phi_phi), (1, M.e_dphi_dphi)):
        ref = mp_bivariate(act, q, rho, order)
        got = fn(act, q, rho)
        scale = max(abs(float(ref)), 1e-12 * float(R.mp_univariate(act, q, order,
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
            ref = R.mp_univariate(act, q, 1, lambda d: d * d)
            assert rel_err(M.e_dphi2(act, q), ref) < REL
            assert math.isfinite(M.e_phi_d2phi(act, q))
    crelu = A.get("crelu", tau=1.0, m=1.0)
    assert rel_err(M.e_phi2(crelu, 1e20), R.mp_e_phi2(crelu, 1e20)) < REL
    assert rel_err(M.e_dphi2(crelu, 1e20), R.mp_univariate(crelu, 1e20, 1, lambda d: d * d)) < REL
    assert np.isfinite(M.e_phi_phi(crelu, 1e-6, 0.5))
