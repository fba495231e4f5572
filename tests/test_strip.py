"""The strip rules (theory/strip.py) against mpmath (sparsefield.references.mpmath_moments), to 1e-13.

Univariate: ``V = E[phi^2]``, ``chi_1 = E[phi'^2]``, ``V'`` and ``V''`` (the references
differentiate the ``V`` integral with ``mpmath.diff``, not through ``phi'`` or ``phi''``).
Bivariate: a tensor Gauss-Hermite reference (250^2 nodes) where it converges (``q <= 1``:
the poles stay ``>= pi/2`` from the real axis in ``z``; 160^2 is not enough for
``E[tanh' tanh']`` at ``rho = 0.99``, 1.3e-13); at ``q = 100`` the independent graded-panel
engine and, marked slow, nested tanh-sinh quadrature.
"""

import mpmath as mp
import numpy as np
import pytest
import sympy as sp

from sparsefield.references import mpmath_moments as R
from sparsefield.theory import get, strip
from sparsefield.theory import moments as M
from sparsefield.theory.activations import define

REL = 1e-13
DPS = 20
SMOOTH = ("tanh", "silu", "sigmoid", "erf", "gelu_tanh", "mish", "softplus", "aptx", "gelu2")


def rel(got, ref):
    return abs(float(got) - float(ref)) / abs(float(ref))


UNI = [("tanh", 100.0), ("silu", 0.01)]
UNI_MORE = [(n, q) for n in ("tanh", "silu", "sigmoid", "erf") for q in (0.01, 1.0, 100.0)]


@pytest.mark.parametrize("name,q", UNI + [pytest.param(*c, marks=pytest.mark.slow)
                                          for c in UNI_MORE if c not in UNI])
def test_univariate_moments_against_mpmath(name, q):
    mp.mp.dps = DPS
    act = get(name)
    assert rel(M.e_phi2(act, q), R.mp_e_phi2(act, q)) < REL
    assert rel(M.e_dphi2(act, q), R.mp_univariate(act, q, 1, lambda d: d * d)) < REL
    d1 = mp.diff(lambda qq: R.mp_e_phi2(act, qq), mp.mpf(q))
    assert rel(M.e_dphi2(act, q) + M.e_phi_d2phi(act, q), d1) < REL
    d2 = mp.diff(lambda qq: R.mp_e_phi2(act, qq), mp.mpf(q), 2)
    assert rel(M.d2q_e_phi2(act, q), d2) < REL


@pytest.mark.slow
@pytest.mark.parametrize("name", SMOOTH)
@pytest.mark.parametrize("q", [0.01, 1.0, 100.0])
def test_univariate_moments_more(name, q):
    mp.mp.dps = DPS
    act = get(name, **({"beta": 3.0} if name == "softplus" else {}))
    assert rel(M.e_phi2(act, q), R.mp_e_phi2(act, q)) < REL
    assert rel(M.e_dphi2(act, q), R.mp_univariate(act, q, 1, lambda d: d * d)) < REL


def gh_reference(act, q, rho, order, n):
    mp.mp.dps = DPS
    return R.mp_bivariate(act, q, rho, order, hermite=n)


BIV = [("tanh", 1.0, 0.99)]
BIV_MORE = [(n, q, r) for n in ("tanh", "silu", "sigmoid", "erf")
            for q in (0.01, 1.0) for r in (0.5, 0.99, 0.999, -0.9)] + [("sigmoid", 0.01, 0.999)]


@pytest.mark.parametrize("name,q,rho", BIV + [pytest.param(*c, marks=pytest.mark.slow)
                                              for c in BIV_MORE if c not in BIV])
def test_bivariate_against_gauss_hermite(name, q, rho):
    act = get(name)
    for order, fn in ((0, M.e_phi_phi), (1, M.e_dphi_dphi)):
        assert rel(fn(act, q, rho), gh_reference(act, q, rho, order, 250)) < REL, order


def test_bivariate_large_q_against_panels():
    """At ``q = 100`` (inner rule ~ 40 s/d nodes) against the graded-panel engine."""
    q = np.array([100.0, 100.0, 100.0, 30.0])
    rho = np.array([0.5, 0.999, -0.9, 0.0])
    for name in ("tanh", "silu", "sigmoid"):
        act = get(name)
        for fn in (M.e_phi_phi, M.e_dphi_dphi):
            want = fn(act, q, rho, method="panels")
            np.testing.assert_allclose(fn(act, q, rho), want, rtol=1e-13,
                                       atol=1e-15 * np.max(np.abs(want)))


@pytest.mark.slow
def test_bivariate_large_q_against_mpmath():
    mp.mp.dps = 18
    act = get("tanh")
    assert rel(M.e_phi_phi(act, 100.0, 0.5), R.mp_bivariate(act, 100.0, 0.5, 0)) < REL


def test_vectorised_equals_scalar_and_endpoints():
    act = get("tanh")
    qs = np.geomspace(0.01, 100.0, 7)
    np.testing.assert_allclose(M.e_phi2(act, qs), [M.e_phi2(act, q) for q in qs], rtol=1e-14)
    q, rho = np.meshgrid([0.05, 1.0, 20.0], [-0.999, 0.0, 0.7, 0.9999])
    grid = M.e_phi_phi(act, q, rho)
    one = np.vectorize(lambda a, b: M.e_phi_phi(act, a, b))(q, rho)
    np.testing.assert_allclose(grid, one, rtol=1e-14, atol=1e-16)
    # rho = +-1: E[phi^2] and E[phi(x) phi(-x)] = -E[phi^2] (tanh is odd)
    v = M.e_phi2(act, qs)
    np.testing.assert_allclose(M.e_phi_phi(act, qs, 1.0), v, rtol=1e-14)
    np.testing.assert_allclose(M.e_phi_phi(act, qs, -1.0), -v, rtol=1e-14)
    near = M.e_phi_phi(act, 1.0, 1.0 - 1e-12)
    assert abs(near - v[3]) < 1e-10


def test_tiny_and_huge_variances():
    act = get("sigmoid")
    assert np.isfinite(M.e_phi_phi(act, 1e6, 0.5))  # inner rule too wide: panels
    np.testing.assert_allclose(M.e_phi_phi(act, 1e6, 0.5),
                               M.e_phi_phi(act, 1e6, 0.5, method="panels"), rtol=1e-13)
    t = get("tanh")
    assert rel(M.e_phi2(t, 1e-300), 1e-300) < 1e-13  # E[tanh(x)^2] = q - 2 q^2 + ...


def test_only_tabulated_catalogue_activations():
    """A user family with the same name is not the catalogue's: no strip assumed."""
    assert strip.applies(get("tanh")) and strip.applies(get("swish", beta=2.0))
    assert not strip.applies(get("elu"))  # phi'' jumps at 0
    assert not strip.applies(get("golu"))  # unbounded off the axis where x << 0
    fake = define("tanh", [], lambda: (), lambda x: (sp.tanh(x) * sp.exp(-x * x),))
    assert not strip.applies(fake.bind())


@pytest.mark.parametrize("name", ["tanh", "silu", "softplus", "mish"])
@pytest.mark.parametrize("q", [0.02, 0.1, 0.3, 1.0, 10.0])
def test_one_point_against_mpmath(name, q):
    """One float q takes the scalar path of the strip rule (strip._one): within 2e-15 of
    mpmath for E[phi^2] and E[phi'^2]."""
    act = get(name)
    mp.mp.dps = 30
    for fn, order in ((M.e_phi2, 0), (M.e_dphi2, 1)):
        ref = float(R.mp_univariate(act, q, order, lambda f: f * f))
        assert fn(act, q) == pytest.approx(ref, rel=2e-15)
