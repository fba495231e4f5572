"""[BF2] expected-gradient theory: sign table, controls exactly zero, Stein factors."""

import numpy as np
import pytest
from scipy import integrate

from sparsefield.references import quad
from sparsefield.theory import activations as A
from sparsefield.theory import drift as D

DRIFTING = ["relu", "gelu", "silu", "relu2", "gelu2", "leaky_relu", "sigmoid"]
CONTROLS = ["tanh", "identity", "abs"]


def by_parts(act, q, lo, hi):
    """E[phi phi' 1{lo <= x < hi}] without phi': integration by parts against the density,
    [phi^2/2 p]_lo^hi + E[x phi^2 1{lo <= x < hi}] / (2 q) (scipy quad, split at kinks)."""
    s = np.sqrt(q)

    def p(x):
        return np.exp(-x * x / (2 * q)) / (s * np.sqrt(2 * np.pi))
    pts = [b for b in act.breakpoints if lo < b < hi]
    edges = [lo, *pts, hi]
    total = 0.0
    for a, b in zip(edges[:-1], edges[1:]):
        a, b = max(a, -40 * s), min(b, 40 * s)
        total += integrate.quad(lambda x: x * float(act(x)) ** 2 * p(x), a, b,
                                epsabs=1e-15, epsrel=1e-12, limit=200)[0] / (2 * q)
    bound = sum(sgn * float(act(x)) ** 2 / 2 * p(x) for sgn, x in ((1, hi), (-1, lo))
                if np.isfinite(x))
    return bound + total


@pytest.mark.parametrize("name", DRIFTING)
@pytest.mark.parametrize("q", [0.5, 2.0])
def test_relu_like_activations_drift_negative(name, q):
    act = A.get(name)
    s = D.drift_stats(act, q)
    assert s["drift"] == "negative" and s["E_phi_dphi"] > 0
    # each part against an independent route that never evaluates phi'
    for key, lo, hi in (("E_phi_dphi", -np.inf, np.inf), ("E_phi_dphi_pos", 0.0, np.inf),
                        ("E_phi_dphi_neg", -np.inf, 0.0)):
        assert s[key] == pytest.approx(by_parts(act, q, lo, hi), rel=1e-9, abs=1e-12), key


@pytest.mark.parametrize("name", ["relu", "gelu", "silu", "relu2", "gelu2"])
def test_gradient_factor_nonnegative_on_positive_preactivations(name):
    act = A.get(name)
    z = np.linspace(1e-6, 6, 400)
    assert np.all(act(z) * act.derivative(z) >= 0)


@pytest.mark.parametrize("name", CONTROLS)
def test_controls_are_exactly_zero(name):
    """The verdict ``none`` and the parts it rests on, by a route that does not use parity:
    integration by parts (no phi') over the whole line and each half line."""
    act = A.get(name)
    s = D.drift_stats(act, 1.3)
    assert s["drift"] == "none"
    assert abs(by_parts(act, 1.3, -np.inf, np.inf)) < 1e-12
    assert abs(float(quad.e_phi_dphi(act, 1.3))) < 1e-13
    assert s["E_phi_dphi_pos"] == pytest.approx(by_parts(act, 1.3, 0.0, np.inf), rel=1e-9)
    assert s["E_phi_dphi_neg"] == pytest.approx(by_parts(act, 1.3, -np.inf, 0.0), rel=1e-9)


def test_abs_shows_positive_mean_is_not_enough():
    s = D.drift_stats(A.get("abs"), 1.0)
    assert s["E_phi"] == pytest.approx(np.sqrt(2 / np.pi), rel=1e-14) and s["drift"] == "none"


def test_relu_closed_values():
    s = D.drift_stats(A.get("relu"), 2.0)
    assert s["E_phi_dphi"] == pytest.approx(np.sqrt(2.0 / (2 * np.pi)), rel=1e-14)
    assert s["p_zero"] == pytest.approx(0.5, rel=1e-15)


def test_stein_factors():
    assert D.mse_hessian_trace(7) == 7.0
    p = np.array([[0.2, 0.3, 0.5], [1.0, 0.0, 0.0]])
    np.testing.assert_allclose(D.ce_hessian_trace(p), [0.16 + 0.21 + 0.25, 0.0])
    z = np.array([-1.0, 0.5, 2.0])
    relu = A.get("relu")
    g = D.stein_expected_grad(relu(z), relu.derivative(z), 0.1, 3.0)
    np.testing.assert_allclose(g, 0.1 * 3.0 * np.array([0.0, 0.5, 2.0]))


def test_drift_sign_can_be_positive():
    assert D.drift_sign(-0.2) == "positive" and D.drift_sign(1e-15) == "none"


def test_jump_relu_reports_classical_and_distributional_e_phi_dphi():
    """Issue 25: the classical E[phi g] (what autograd sees) and, for a jumping phi, the
    distributional value E[phi^2 x] / 2q (Stein), computed here by direct quadrature."""
    from scipy import integrate

    act = A.get("jumprelu", theta=1.0)
    s = D.drift_stats(act, 1.0)
    pdf = lambda x: np.exp(-x * x / 2) / np.sqrt(2 * np.pi)  # noqa: E731
    classical = integrate.quad(lambda x: x * pdf(x), 1.0, np.inf, epsabs=0, epsrel=1e-13)[0]
    stein = integrate.quad(lambda x: x ** 3 * pdf(x), 1.0, np.inf, epsabs=0, epsrel=1e-13)[0] / 2
    assert s["E_phi_dphi"] == pytest.approx(classical, rel=1e-12)
    assert s["E_phi_dphi_dist"] == pytest.approx(stein, rel=1e-12)
    assert s["E_phi_dphi_dist"] == pytest.approx(0.36296, abs=1e-5)
    assert "E_phi_dphi_dist" not in D.drift_stats(A.get("relu"), 1.0)
