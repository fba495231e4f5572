"""The catalogue: one definition, and every generated form agrees with it."""

import math

import numpy as np
import pytest
import sympy as sp

from sparsefield.theory import activations as A
from sparsefield.theory.errors import ParameterError

from helpers import all_activations, ids

ACTS = all_activations()
REQUIRED = {"relu", "relu_tau", "st", "crelu", "cst", "gelu", "silu", "leaky_relu", "sigmoid",
            "tanh", "identity", "abs", "relu2", "crelu2", "gelu2", "elu", "selu", "celu",
            "softplus", "mish", "gelu_tanh", "erf", "swish", "golu", "aptx", "relu6",
            "hardtanh", "hardsigmoid", "hardswish", "jumprelu", "hard_threshold"}


def off_breaks(act, n=41):
    """Points that avoid the breakpoints by at least 1e-3."""
    x = np.linspace(-4.3, 4.1, n)
    for b in act.breakpoints:
        x = x[np.abs(x - b) > 1e-3]
    return x


def test_catalogue_is_complete():
    assert REQUIRED <= set(A.CATALOGUE)


@pytest.mark.parametrize("act", ACTS, ids=ids(ACTS))
def test_numpy_matches_sympy(act):
    expr = act.sympy()
    x = off_breaks(act)
    ref = np.array([float(expr.subs(A.X, sp.Float(v, 30)).evalf(20)) for v in x])
    np.testing.assert_allclose(act(x), ref, rtol=1e-13, atol=1e-14)


@pytest.mark.parametrize("act", ACTS, ids=ids(ACTS))
def test_derivatives_match_finite_differences(act):
    x, h = off_breaks(act), 1e-5
    fd1 = (act(x + h) - act(x - h)) / (2 * h)
    fd2 = (act(x + h) - 2 * act(x) + act(x - h)) / h**2
    np.testing.assert_allclose(act.derivative(x), fd1, rtol=1e-7, atol=1e-8)
    np.testing.assert_allclose(act.derivative(x, 2), fd2, rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize("act", ACTS, ids=ids(ACTS))
def test_kinks_are_the_jumps_of_phi_prime(act):
    h = 1e-9
    for b, jump in zip(act.breakpoints, act.kinks):
        measured = (act(b + 2 * h) - act(b + h)) / h - (act(b - h) - act(b - 2 * h)) / h
        assert measured == pytest.approx(jump, abs=1e-5)
        gap = act(b + 1e-12) - act(b - 1e-12)
        assert gap == pytest.approx(act.jumps[list(act.breakpoints).index(b)], abs=1e-10)
    assert act.has_jumps == bool(np.any(act.jumps != 0))


@pytest.mark.parametrize("act", ACTS, ids=ids(ACTS))
def test_scalar_source_for_numba_matches_numpy(act):
    """Structural (one sympy expression, two printers): guards a refactor of the code
    printing; the independent check is tests/test_activation_forms.py."""
    f0, f1 = act.family.scalar_source(0), act.family.scalar_source(1)
    for v in off_breaks(act, 17):
        assert f0(float(v), *act.values) == pytest.approx(float(act(v)), rel=1e-14, abs=1e-15)
        assert f1(float(v), *act.values) == pytest.approx(float(act.derivative(v)), rel=1e-14, abs=1e-15)


@pytest.mark.parametrize("act", ACTS, ids=ids(ACTS))
def test_parity_holds_numerically(act):
    x = off_breaks(act)
    p = act.family.parity
    if p == 0:
        assert not (np.allclose(act(-x), act(x)) or np.allclose(act(-x), -act(x)))
    else:
        np.testing.assert_allclose(act(-x), p * act(x), rtol=0, atol=1e-15)


def test_known_parities():
    assert {n for n, f in A.CATALOGUE.items() if f.parity} == {
        "st", "cst", "tanh", "identity", "abs", "erf", "hardtanh", "hard_threshold"}


def test_piecewise_linear_family():
    pl = {n for n, f in A.CATALOGUE.items() if f.is_piecewise_linear}
    assert pl == {"relu", "relu_tau", "st", "crelu", "cst", "leaky_relu", "identity", "abs",
                  "relu6", "hardtanh", "hardsigmoid", "jumprelu", "hard_threshold"}


@pytest.mark.parametrize("act", ACTS, ids=ids(ACTS))
def test_torch_form_matches_numpy_and_autograd(act):
    """Structural (printed from the same expression as numpy): guards a refactor of the
    torch printer; the independent check is tests/test_activation_forms.py."""
    torch = pytest.importorskip("torch")
    x = off_breaks(act)
    t = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    y = act.torch_fn()(t)
    np.testing.assert_allclose(y.detach().numpy(), act(x), rtol=1e-13, atol=1e-14)
    (g,) = torch.autograd.grad(y.sum(), t)
    np.testing.assert_allclose(g.numpy(), act.derivative(x), rtol=1e-12, atol=1e-13)


def test_bad_parameters_are_named():
    with pytest.raises(ParameterError, match="activation='nope'.*one of"):
        A.get("nope")
    with pytest.raises(ParameterError, match="tau=-1.*>= 0"):
        A.get("relu_tau", tau=-1)
    with pytest.raises(ParameterError, match="m=None"):
        A.get("crelu", tau=0.5)
    with pytest.raises(ParameterError, match="m=nan"):
        A.get("crelu", tau=0.5, m=math.nan)
    with pytest.raises(ParameterError, match="one of"):
        A.get("relu", tau=1.0)


def test_torch_source_broadcasts_tensor_parameters():
    torch = pytest.importorskip("torch")
    fam = A.family("crelu")
    x = np.linspace(-3, 3, 13)
    taus, ms = [0.5, 1.0], [1.0, 0.25]
    y = fam.torch_source()(torch.tensor(x), torch.tensor(taus)[:, None], torch.tensor(ms)[:, None])
    for row, t, m in zip(y.numpy(), taus, ms):
        np.testing.assert_allclose(row, A.get("crelu", tau=t, m=m)(x), rtol=0, atol=1e-15)
