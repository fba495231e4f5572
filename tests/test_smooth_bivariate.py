"""The band rule of theory/smooth_bivariate.py (GoLU's bivariate map) against mpmath.

The references are ``mp_bivariate_panels`` (nested 12-point Gauss-Legendre panels at 30
digits, sparsefield/references/mpmath_moments.py), stored here because each takes 4-60 s;
``test_reference_reproduces`` (slow) recomputes one with 16-point panels."""

from __future__ import annotations

import mpmath as mp
import numpy as np
import pytest

from sparsefield.references import mpmath_moments as R
from sparsefield.theory import activations as A
from sparsefield.theory import moments as M
from sparsefield.theory import smooth_bivariate as S

GOLU = A.get("golu")
# (q, rho, order): E[phi^(o)(u1) phi^(o)(u2)] by R.mp_bivariate_panels(n=12), 30 digits
MP = {
    (0.01, 0.999, 0): "0.001392044506020654576327377821",
    (0.01, -0.999, 0): "-0.001312285460362886621110718496",
    (1.0, 0.999, 0): "0.3192869721190121673565603332",
    (1.0, -0.999, 0): "-0.02303548069910757488457465195",
    (0.01, 0.999, 1): "0.1406533923069793355222338728",
    (0.01, -0.999, 1): "0.1300503152930091068001999587",
    (1.0, 0.999, 1): "0.3472617624074503673666680437",
    (1.0, -0.999, 1): "0.0002204255139638504737420665952",
    (100.0, 0.999, 0): "49.8156065103130871248134598",
    (100.0, -0.999, 0): "-0.004006502356284619569540148972",
    (100.0, 0.999, 1): "0.5031695329263111321423196356",
    (100.0, -0.999, 1): "-0.001533257089189995541553679044",
}


@pytest.mark.parametrize("key", sorted(MP))
def test_against_mpmath(key):
    q, rho, order = key
    ref = float(mp.mpf(MP[key]))
    value, err, scale = S._one(GOLU, q, rho, order)
    assert abs(value - ref) <= err  # the bound is honest
    _, ok = S.expect(GOLU, q, rho, order)
    if ok:
        assert abs(value - ref) <= S.RTOL * abs(ref) + S.ATOL * scale
    fn = M.e_phi_phi if order == 0 else M.e_dphi_dphi
    got = fn(GOLU, q, rho)  # through the registry: this route or the panels
    assert abs(got - ref) <= 1e-13 * abs(ref) + 1e-24 * scale


@pytest.mark.parametrize("key", sorted(MP)[:3])
def test_a_coarse_rule_misses_and_its_bound_says_so(key, monkeypatch):
    """A planted error (a rule 4x coarser than the bound asks for) is caught by the
    comparison with mpmath, and the rule's own bound still covers it."""
    q, rho, order = key
    ref = float(mp.mpf(MP[key]))
    monkeypatch.setattr(S, "_nodes", lambda width, log_eps, f=S._nodes: max(2, f(width, log_eps) // 4))
    value, err, _ = S._one(GOLU, q, rho, order)
    assert abs(value - ref) > 1e-13 * abs(ref)
    assert abs(value - ref) <= err
    assert not S.expect(GOLU, q, rho, order)[1]


def test_grid_agrees_with_the_panels():
    """An independent float64 route (the graded nested panels) at random grid points."""
    rng = np.random.default_rng(3)
    q = 10.0 ** rng.uniform(-2, 2, 12)
    rho = rng.uniform(-1, 1, 12)
    for order in (0, 1):
        value, ok = S.expect(GOLU, q, rho, order)
        ref = np.array([M.e_phi_phi(GOLU, a, b, method="panels") if order == 0 else
                        M.e_dphi_dphi(GOLU, a, b, method="panels") for a, b in zip(q, rho)])
        assert ok.sum() >= 10
        np.testing.assert_allclose(value[ok], ref[ok], rtol=1e-13, atol=0)


def test_rho_one_is_the_univariate_moment():
    for q in (0.01, 3.0, 100.0):
        assert S.expect(GOLU, q, 1.0, 0)[0] == pytest.approx(float(M.e_phi2(GOLU, q)), rel=1e-14)


def test_only_band_activations():
    assert S.applies(GOLU)
    assert not any(S.applies(A.get(n)) for n in ("tanh", "silu", "elu", "relu", "gelu"))


@pytest.mark.slow
def test_reference_reproduces():
    mp.mp.dps = 30
    key = (1.0, -0.999, 0)
    v = R.mp_bivariate_panels(GOLU, *key, n=16)
    assert abs(v - mp.mpf(MP[key])) < mp.mpf(10) ** -22 * abs(v)
