"""Monte Carlo estimates with standard errors of the two slopes a user proving things
about an activation needs (docs/theory.md section 3), each from plain Gaussian draws:

* ``V'(q)`` in Stein's form (Gaussian integration by parts, no derivative of ``phi``):
  ``V(q) = sigma_w^2 E[phi(sqrt(q) z)^2] + sigma_b^2`` so
  ``V'(q) = sigma_w^2 E[phi(sqrt(q) z)^2 (z^2 - 1)] / (2 q)``, valid for jumps and kinks;
* ``chi_1(q) = sigma_w^2 E[phi'(sqrt(q) z)^2]`` (infinite for an activation with jumps:
  a :class:`~sparsefield.theory.errors.ParameterError` says so).

Each returns a :class:`~sparsefield.numerics.stats.Estimate` (``value``, ``stderr``, ``n``),
to compare with a claimed value by :func:`sparsefield.testing.assert_agrees`.  Antithetic
pairs ``(z, -z)`` are averaged before the standard error (they are exact for even
integrands and never hurt); the draws are reproducible from ``seed``.
"""

from __future__ import annotations

import math

import numpy as np

from sparsefield.numerics.stats import Estimate, sample_mean
from sparsefield.theory.activations import Activation
from sparsefield.theory.errors import ParameterError, check_positive

DEFAULT_N = 1 << 20


def _draws(n: int, seed: int) -> np.ndarray:
    if not isinstance(n, int) or n < 4:
        raise ParameterError("n", n, "an integer >= 4")
    return np.random.default_rng(seed).standard_normal(n // 2)


def vprime_stein(act: Activation, q: float, sigma_w2: float, n: int = DEFAULT_N,
                 seed: int = 0) -> Estimate:
    """``V'(q) = sigma_w^2 E[phi(sqrt q z)^2 (z^2 - 1)] / (2q)`` by Monte Carlo."""
    q, sigma_w2 = check_positive("q", q), check_positive("sigma_w2", sigma_w2)
    z = _draws(n, seed)
    rq = math.sqrt(q)
    f = (act(rq * z) ** 2 + act(-rq * z) ** 2) / 2.0 * (z * z - 1.0)
    e = sample_mean(sigma_w2 * f / (2.0 * q))
    return Estimate(e.value, e.stderr, 2 * e.n)


def chi1_mc(act: Activation, q: float, sigma_w2: float, n: int = DEFAULT_N,
            seed: int = 0) -> Estimate:
    """``chi_1 = sigma_w^2 E[phi'(sqrt q z)^2]`` by Monte Carlo (finite activations only)."""
    q, sigma_w2 = check_positive("q", q), check_positive("sigma_w2", sigma_w2)
    if act.has_jumps:
        raise ParameterError("activation", act.name, "free of jumps (chi_1 is infinite where "
                             "phi jumps: no sample mean estimates it)")
    z = _draws(n, seed)
    rq = math.sqrt(q)
    f = (act.derivative(rq * z) ** 2 + act.derivative(-rq * z) ** 2) / 2.0
    e = sample_mean(sigma_w2 * f)
    return Estimate(e.value, e.stderr, 2 * e.n)
