"""[BF2] expected-gradient theory: sign table, controls exactly zero, Stein factors."""

import numpy as np
import pytest

from sparsefield.theory import activations as A
from sparsefield.theory import drift as D
from sparsefield.theory import moments as M

DRIFTING = ["relu", "gelu", "silu", "relu2", "gelu2", "leaky_relu", "sigmoid"]
CONTROLS = ["tanh", "identity", "abs"]


@pytest.mark.parametrize("name", DRIFTING)
@pytest.mark.parametrize("q", [0.5, 2.0])
def test_relu_like_activations_drift_negative(name, q):
    s = D.drift_stats(A.get(name), q)
    assert s["drift"] == "negative" and s["E_phi_dphi"] > 0
    assert s["E_phi_dphi"] == pytest.approx(s["E_phi_dphi_pos"] + s["E_phi_dphi_neg"], rel=1e-12)


@pytest.mark.parametrize("name", ["relu", "gelu", "silu", "relu2", "gelu2"])
def test_gradient_factor_nonnegative_on_positive_preactivations(name):
    act = A.get(name)
    z = np.linspace(1e-6, 6, 400)
    assert np.all(act(z) * act.derivative(z) >= 0)


@pytest.mark.parametrize("name", CONTROLS)
def test_controls_are_exactly_zero(name):
    s = D.drift_stats(A.get(name), 1.3)
    assert s["E_phi_dphi"] == 0.0 and s["drift"] == "none"
    # independent check: the unsymmetrised quadrature also vanishes
    assert abs(float(M.e_phi_dphi(A.get(name), 1.3, method="quad"))) < 1e-13
    assert s["E_phi_dphi_pos"] == pytest.approx(-s["E_phi_dphi_neg"], rel=1e-12)


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
