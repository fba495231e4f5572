"""Every generated form of every catalogue activation (numpy, the ``math`` source numba
compiles, torch) against formulas written out by hand here: an independent route, not
the shared sympy expression the forms are printed from (docs/theory.md section 2)."""

import math

import numpy as np
import pytest
from scipy.special import erf, ndtr

from helpers import all_activations, ids

ACTS = all_activations()  # filtered to REFERENCE below
SQ2PI = math.sqrt(2 * math.pi)


def _pdf(x):
    return np.exp(-x * x / 2) / SQ2PI


def _sig(x):
    return 1 / (1 + np.exp(-x))


def _gelu(x):
    return x * ndtr(x)


def _dgelu(x):
    return ndtr(x) + x * _pdf(x)


def _step(x, lo, hi=np.inf):
    return ((x >= lo) & (x < hi)).astype(float)


def _softplus(x, beta=1.0):
    return np.logaddexp(0.0, beta * x) / beta


# SELU's constants to 30 digits (Klambauer et al. 2017, eqs. 14-15)
SELU_A, SELU_L = 1.67326324235437728481704299167, 1.05070098735548049341933498529
GELU_K, GELU_C = math.sqrt(2 / math.pi), 0.044715


def _gelu_tanh_t(x):
    return np.tanh(GELU_K * (x + GELU_C * x**3))


def _mish_d(x):
    sp_ = _softplus(x)
    return np.tanh(sp_) + x * _sig(x) / np.cosh(sp_) ** 2


# name -> (phi(x, **params), phi'(x, **params)); written independently of the catalogue
REFERENCE = {
    "relu": (lambda x: np.maximum(x, 0), lambda x: _step(x, 0)),
    "relu_tau": (lambda x, tau: np.maximum(x - tau, 0), lambda x, tau: _step(x, tau)),
    "st": (lambda x, tau: np.sign(x) * np.maximum(np.abs(x) - tau, 0),
           lambda x, tau: (np.abs(x) > tau).astype(float)),
    "crelu": (lambda x, tau, m: np.minimum(np.maximum(x - tau, 0), m),
              lambda x, tau, m: _step(x, tau, tau + m)),
    "cst": (lambda x, tau, m: np.sign(x) * np.minimum(np.maximum(np.abs(x) - tau, 0), m),
            lambda x, tau, m: ((np.abs(x) > tau) & (np.abs(x) < tau + m)).astype(float)),
    "gelu": (_gelu, _dgelu),
    "silu": (lambda x: x * _sig(x), lambda x: _sig(x) * (1 + x * (1 - _sig(x)))),
    "leaky_relu": (lambda x, slope: np.where(x < 0, slope * x, x),
                   lambda x, slope: np.where(x < 0, slope, 1.0)),
    "sigmoid": (_sig, lambda x: _sig(x) * (1 - _sig(x))),
    "tanh": (np.tanh, lambda x: 1 / np.cosh(x) ** 2),
    "identity": (lambda x: x, lambda x: np.ones_like(x)),
    "abs": (np.abs, np.sign),
    "relu2": (lambda x: np.maximum(x, 0) ** 2, lambda x: 2 * np.maximum(x, 0)),
    "crelu2": (lambda x, c: np.minimum(np.maximum(x, 0) ** 2, c),
               lambda x, c: np.where((x > 0) & (x < np.sqrt(c)), 2 * x, 0.0)),
    "gelu2": (lambda x: _gelu(x) ** 2, lambda x: 2 * _gelu(x) * _dgelu(x)),
}


# the extended catalogue, each from its paper's formula
REFERENCE.update({
    "elu": (lambda x, alpha: np.where(x < 0, alpha * np.expm1(np.minimum(x, 0)), x),
            lambda x, alpha: np.where(x < 0, alpha * np.exp(np.minimum(x, 0)), 1.0)),
    "selu": (lambda x: SELU_L * np.where(x < 0, SELU_A * np.expm1(np.minimum(x, 0)), x),
             lambda x: SELU_L * np.where(x < 0, SELU_A * np.exp(np.minimum(x, 0)), 1.0)),
    "celu": (lambda x, alpha: np.where(x < 0, alpha * np.expm1(np.minimum(x, 0) / alpha), x),
             lambda x, alpha: np.where(x < 0, np.exp(np.minimum(x, 0) / alpha), 1.0)),
    "softplus": (_softplus, lambda x, beta: _sig(beta * x)),
    "mish": (lambda x: x * np.tanh(_softplus(x)), _mish_d),
    "gelu_tanh": (lambda x: 0.5 * x * (1 + _gelu_tanh_t(x)),
                  lambda x: 0.5 * (1 + _gelu_tanh_t(x)) + 0.5 * x * (1 - _gelu_tanh_t(x) ** 2)
                  * GELU_K * (1 + 3 * GELU_C * x**2)),
    "erf": (erf, lambda x: 2 / math.sqrt(math.pi) * np.exp(-x * x)),
    "swish": (lambda x, beta: x * _sig(beta * x),
              lambda x, beta: _sig(beta * x) * (1 + beta * x * (1 - _sig(beta * x)))),
    "golu": (lambda x: x * np.exp(-np.exp(-x)),
             lambda x: np.exp(-np.exp(-x)) * (1 + x * np.exp(-x))),
    "aptx": (lambda x: (1 + np.tanh(x)) * x / 2,
             lambda x: (1 + np.tanh(x)) / 2 + x / (2 * np.cosh(x) ** 2)),
    "relu6": (lambda x: np.clip(x, 0, 6), lambda x: _step(x, 0, 6)),
    "hardtanh": (lambda x: np.clip(x, -1, 1), lambda x: _step(x, -1, 1)),
    "hardsigmoid": (lambda x: np.clip(x / 6 + 0.5, 0, 1), lambda x: _step(x, -3, 3) / 6),
    "hardswish": (lambda x: x * np.clip(x + 3, 0, 6) / 6,
                  lambda x: np.where(x < -3, 0.0, np.where(x < 3, (2 * x + 3) / 6, 1.0))),
    "jumprelu": (lambda x, theta: np.where(x > theta, x, 0.0), lambda x, theta: _step(x, theta)),
    "hard_threshold": (lambda x, theta: np.where(np.abs(x) > theta, x, 0.0),
                       lambda x, theta: (np.abs(x) > theta).astype(float)),
})
ACTS = [a for a in ACTS if a.name in REFERENCE]


def points(act, n=53):
    x = np.linspace(-4.7, 4.9, n)
    for b in act.breakpoints:
        x = x[np.abs(x - b) > 1e-3]
    return x


def test_every_catalogue_family_has_a_reference():
    from sparsefield.theory.activations import CATALOGUE
    assert set(CATALOGUE) <= set(REFERENCE)


@pytest.mark.parametrize("act", ACTS, ids=ids(ACTS))
def test_sympy_form_matches_the_reference(act):
    from sparsefield.theory.activations import X

    expr = act.sympy()
    x = points(act, n=11)
    got = [float(expr.subs(X, float(v)).evalf(30)) for v in x]
    np.testing.assert_allclose(got, REFERENCE[act.name][0](x, **act.params), rtol=1e-13,
                               atol=1e-15)


@pytest.mark.parametrize("act", ACTS, ids=ids(ACTS))
def test_numpy_and_math_forms_match_the_reference(act):
    f, df = REFERENCE[act.name]
    x = points(act)
    np.testing.assert_allclose(act(x), f(x, **act.params), rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(act.derivative(x), df(x, **act.params), rtol=1e-12, atol=1e-14)
    f0, f1 = act.family.scalar_source(0), act.family.scalar_source(1)
    np.testing.assert_allclose([f0(float(v), *act.values) for v in x], f(x, **act.params),
                               rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose([f1(float(v), *act.values) for v in x], df(x, **act.params),
                               rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("act", ACTS, ids=ids(ACTS))
def test_torch_form_and_autograd_match_the_reference(act):
    torch = pytest.importorskip("torch")
    f, df = REFERENCE[act.name]
    x = points(act)
    t = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    y = act.torch_fn()(t)
    np.testing.assert_allclose(y.detach().numpy(), f(x, **act.params), rtol=1e-13, atol=1e-15)
    (g,) = torch.autograd.grad(y.sum(), t)
    np.testing.assert_allclose(g.numpy(), df(x, **act.params), rtol=1e-12, atol=1e-14)
