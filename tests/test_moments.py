"""Gaussian moments: closed forms vs split quadrature (1e-10) vs mpmath (1e-12)."""

import mpmath as mp
import numpy as np
import pytest
import sympy as sp

from sparsefield.references import quad
from sparsefield.theory import activations as A
from sparsefield.theory import moments as M
from sparsefield.theory.errors import ParameterError
from sparsefield.theory.gaussian import truncated_moments

from helpers import all_activations, ids

ACTS = all_activations()
PL = [a for a in ACTS if a.is_piecewise_linear and not a.has_jumps]  # jumps: test_jumps.py
UNIVARIATE = ["e_phi", "e_phi2", "e_dphi2", "e_phi_d2phi", "p_zero", "d2q_e_phi2"]


def close(a, b, rel):
    return abs(a - b) <= rel * max(abs(a), abs(b), 1e-3)


def test_truncated_moments_match_high_precision_integrals():
    mp.mp.dps = 30
    got = truncated_moments(-0.5, 1.7, 0.3, 1.4)
    for k in range(3):
        ref = mp.quad(lambda x: x**k * mp.npdf(x, mp.mpf("0.3"), mp.sqrt(mp.mpf("1.4"))),
                      [mp.mpf("-0.5"), mp.mpf("1.7")])
        assert got[k] == pytest.approx(float(ref), rel=1e-14)
    tail = truncated_moments(8.0, np.inf)  # far tail: no cancellation
    assert tail[0] == pytest.approx(float(mp.ncdf(-8)), rel=1e-13)


@pytest.mark.parametrize("act", PL, ids=ids(PL))
@pytest.mark.parametrize("q", [0.05, 1.0, 7.3])
def test_closed_forms_match_quadrature(act, q):
    for name in UNIVARIATE:
        fn = getattr(M, name)
        c, qd = float(fn(act, q)), float(getattr(quad, name)(act, q))
        assert close(c, qd, 1e-10), (name, c, qd)
    for region in ("all", "pos", "neg"):
        c = float(M.e_phi_dphi(act, q, region))
        assert close(c, float(quad.e_phi_dphi(act, q, region)), 1e-10)


BIV = [A.get("crelu", tau=1.1, m=1.7), A.get("relu_tau", tau=0.7)]


@pytest.mark.parametrize("act", BIV, ids=ids(BIV))
def test_bivariate_closed_matches_nested_quadrature(act):
    for rho in (-0.6, 0.97):
        for fn, ref in ((M.e_phi_phi, quad.e_phi_phi), (M.e_dphi_dphi, quad.e_dphi_dphi)):
            c, qd = float(fn(act, 1.3, rho)), float(ref(act, 1.3, rho))
            assert close(c, qd, 1e-10), (fn.__name__, rho, c, qd)


def mp_expect(act, g, q):
    """mpmath reference: 30 digits, integrated between breakpoints."""
    mp.mp.dps = 30
    f = sp.lambdify(A.X, act.sympy(), "mpmath")
    df = sp.lambdify(A.X, act.family.expr(1).subs(dict(zip(act.family.symbols, act.values))), "mpmath")
    s = mp.sqrt(mp.mpf(q))
    pts = [-mp.inf] + [mp.mpf(float(b)) / s for b in act.breakpoints] + [mp.inf]
    return float(mp.quad(lambda z: g(f(s * z), df(s * z)) * mp.npdf(z), pts))


SAMPLE = [A.get("crelu", tau=1.0364, m=0.8095), A.get("cst", tau=1.44, m=1.53),
          A.get("relu_tau", tau=2.1), A.get("gelu"), A.get("crelu2", c=2.0), A.get("silu")]


@pytest.mark.parametrize("act", SAMPLE, ids=ids(SAMPLE))
def test_against_mpmath_high_precision(act):
    q = 1.7
    assert close(float(M.e_phi2(act, q)), mp_expect(act, lambda f, d: f * f, q), 1e-12)
    assert close(float(M.e_dphi2(act, q)), mp_expect(act, lambda f, d: d * d, q), 1e-12)
    assert close(float(M.e_phi_dphi(act, q)), mp_expect(act, lambda f, d: f * d, q), 1e-12)


def test_vectorised_over_q():
    act = A.get("cst", tau=0.4, m=0.6)
    qs = np.array([0.2, 1.0, 3.0])
    np.testing.assert_allclose(M.e_phi2(act, qs), [M.e_phi2(act, q) for q in qs], rtol=1e-15)
    np.testing.assert_allclose(M.e_phi2(A.get("gelu"), qs),
                               [M.e_phi2(A.get("gelu"), q) for q in qs], rtol=1e-15)


def test_known_values():
    relu = A.get("relu")
    assert M.e_phi2(relu, 2.0) == pytest.approx(1.0, rel=1e-15)  # q/2
    assert M.e_phi(relu, 2.0) == pytest.approx(np.sqrt(2.0 / (2 * np.pi)), rel=1e-15)
    assert M.e_dphi2(relu, 2.0) == pytest.approx(0.5, rel=1e-15)
    assert M.e_phi_phi(relu, 1.0, 0.0) == pytest.approx(1 / (2 * np.pi), rel=1e-12)
    # arc-cosine kernel (Cho & Saul 2009) for ReLU at rho = 0.5
    rho = 0.5
    ref = (np.sqrt(1 - rho**2) + (np.pi - np.arccos(rho)) * rho) / (2 * np.pi)
    assert M.e_phi_phi(relu, 1.0, rho) == pytest.approx(ref, rel=1e-12)
    assert M.e_dphi_dphi(relu, 1.0, rho) == pytest.approx((np.pi - np.arccos(rho)) / (2 * np.pi), rel=1e-12)
    assert M.e_phi_phi(A.get("tanh"), 1.0, 1.0) == pytest.approx(float(M.e_phi2(A.get("tanh"), 1.0)), rel=1e-13)


@pytest.mark.parametrize("q", [float("nan"), float("inf"), -1.0, np.array([1.0, -2.0])])
def test_bivariate_refuses_a_bad_variance_by_name(q):
    """NaN, inf or a negative ``q`` is a ParameterError naming ``q`` and its range, for every
    route (the jump terms of the hard threshold included), never an internal error."""
    for act in (A.get("hard_threshold", theta=0.6), A.get("elu"), A.get("relu")):
        for fn in (M.e_phi_phi, M.e_dphi_dphi):
            with pytest.raises(ParameterError, match=r"q=.*finite variance >= 0"):
                fn(act, q, 0.5)


@pytest.mark.parametrize("name,params", [("elu", {"alpha": 1.0}), ("elu", {"alpha": 0.5}),
                                         ("tanh", {}), ("crelu", {"tau": 0.5, "m": 0.2}),
                                         ("selu", {}), ("golu", {}), ("relu", {})])
def test_bivariate_at_q_zero_is_the_limit(name, params):
    """q = 0: u1 = u2 = 0, so E[phi phi] = phi(0)^2 and E[phi' phi'] = phi'(0)^2 where phi'
    is continuous at 0; at a kink (ELU alpha != 1, SELU, ReLU) the limit q -> 0+ weighs the
    one-sided slopes by the orthant probabilities (checked against q = 1e-16).  The old code
    raised ValueError inside the panels."""
    act = A.get(name, **params)
    rho = np.array([-1.0, -0.4, 0.0, 0.3, 1.0])
    assert np.array_equal(M.e_phi_phi(act, 0.0, rho), np.full(5, float(act(0.0)) ** 2))
    d1 = M.e_dphi_dphi(act, 0.0, rho)
    tiny = M.e_dphi_dphi(act, 1e-16, rho)
    np.testing.assert_allclose(d1, tiny, rtol=1e-6, atol=0)
    if name in ("tanh", "crelu", "golu") or params.get("alpha") == 1.0:  # phi' continuous at 0
        slope = float(act.piece(int(np.searchsorted(act.breakpoints, 0.0, "right")), 1)(0.0))
        assert np.array_equal(d1, np.full(5, slope ** 2))
    mixed = M.e_phi_phi(act, np.array([0.0, 0.5]), 0.3)
    assert mixed[0] == float(act(0.0)) ** 2 and mixed[1] == M.e_phi_phi(act, 0.5, 0.3)
