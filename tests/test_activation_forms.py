"""Every generated form of every catalogue activation (numpy, the ``math`` source numba
compiles, torch) against formulas written out by hand here: an independent route, not
the shared sympy expression the forms are printed from (docs/theory.md section 2)."""

import math

import numpy as np
import pytest
from scipy.special import ndtr

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


# The activations added with the extended catalogue are checked against their sympy forms by
# tests/test_catalogue.py; independent numpy references for them are still to be written.
LATER = {"elu", "selu", "celu", "softplus", "mish", "gelu_tanh", "erf", "swish", "golu", "aptx",
         "relu6", "hardtanh", "hardsigmoid", "hardswish", "jumprelu", "hard_threshold"}
ACTS = [a for a in ACTS if a.name in REFERENCE]


def points(act, n=53):
    x = np.linspace(-4.7, 4.9, n)
    for b in act.breakpoints:
        x = x[np.abs(x - b) > 1e-3]
    return x


def test_every_catalogue_family_has_a_reference():
    from sparsefield.theory.activations import CATALOGUE
    assert set(CATALOGUE) <= set(REFERENCE) | LATER


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
