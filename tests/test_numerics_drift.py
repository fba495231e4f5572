"""Drift Monte Carlo [BF2]: sampled expected gradients vs the Stein formula of theory.drift."""

import numpy as np
import pytest

from sparsefield.numerics import drift_mc
from sparsefield.numerics.stats import Z_BOUND
from sparsefield.theory.activations import get
from sparsefield.theory.errors import ParameterError

H, C = 24, 6


@pytest.fixture(scope="module")
def inputs():
    rng = np.random.default_rng(0)
    return rng.standard_normal(H) * 1.2, np.eye(C)[2]


@pytest.mark.parametrize("name", ["relu", "gelu", "relu2"])
@pytest.mark.parametrize("loss", ["mse", "ce"])
def test_stein_formula_per_unit(name, loss, inputs):
    z, y = inputs
    u = drift_mc.fixed_input(get(name), z, y, 1.0 / H, loss, 6000, seed=1)
    assert u.agrees, u.zscore  # every unit within Z_BOUND of the Stein formula
    assert u.correlation > 0.98
    assert u.sign_contradictions == 0
    assert np.all(u.stein[z > 0] > 0)  # phi phi' > 0 at positive pre-activations


def test_wrong_hessian_trace_is_rejected(inputs):
    """Stein with tr Hess = n_out (the MSE value) is wrong for cross-entropy: detected."""
    z, y = inputs
    act = get("relu")
    u = drift_mc.fixed_input(act, z, y, 1.0 / H, "ce", 6000, seed=1)
    wrong = 1.0 / H * act(z) * act.derivative(z) * C
    live = z > 0  # dead ReLU units have dL/dz = 0 exactly
    assert np.max(np.abs(u.mc[live] - wrong[live]) / u.mc_stderr[live]) > Z_BOUND


@pytest.mark.parametrize("name", ["relu", "silu", "tanh", "abs"])
def test_random_inputs_mse_matches_e_phi_dphi(name):
    r = drift_mc.random_inputs(get(name), H, C, 1.0, 1.0 / H, "mse", 6000, seed=2)
    assert abs(r["grad"].z(r["theory"])) < Z_BOUND
    assert abs(r["paired"].z(0.0)) < Z_BOUND


def test_random_inputs_ce_paired_difference_is_zero():
    r = drift_mc.random_inputs(get("gelu"), H, C, 1.0, 1.0 / H, "ce", 6000, seed=3)
    assert abs(r["paired"].z(0.0)) < Z_BOUND
    assert r["grad"].z(0.0) > Z_BOUND  # net positive: biases drift negative


@pytest.mark.parametrize("name", ["relu", "gelu", "relu2"])
def test_network_expected_gradient_is_positive(name):
    net = drift_mc.network(get(name), 12, 24, C, "ce", 600, seed=4)
    assert net["b2"].z(0.0) > Z_BOUND and net["W2"].z(0.0) > Z_BOUND


@pytest.mark.parametrize("name", ["tanh", "identity", "abs"])
def test_network_expected_gradient_of_controls_is_zero(name):
    net = drift_mc.network(get(name), 12, 24, C, "ce", 600, seed=4)
    assert all(abs(e.z(0.0)) < Z_BOUND for e in net.values()), net


@pytest.mark.parametrize("call, param", [
    (lambda a, z, y: drift_mc.fixed_input(a, z, y, 1.0, "hinge", 10), "loss"),
    (lambda a, z, y: drift_mc.fixed_input(a, z, y, -1.0, "mse", 10), "sigma2"),
    (lambda a, z, y: drift_mc.random_inputs(a, 8, 3, 0.0, 1.0, "ce", 10), "q"),
    (lambda a, z, y: drift_mc.network(a, 4, 8, 3, "ce", 1), "n_inits")])
def test_bad_input_names_the_parameter(call, param, inputs):
    with pytest.raises(ParameterError) as err:
        call(get("relu"), *inputs)
    assert err.value.param == param
