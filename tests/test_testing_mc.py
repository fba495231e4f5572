"""The Monte Carlo slopes of :mod:`sparsefield.testing_mc` against closed forms (fixed
seeds, z-bounds) and a planted wrong value that must fail."""

import math

import pytest
from scipy.stats import norm

import sparsefield as sf
from sparsefield.numerics.stats import Z_BOUND
from sparsefield.testing_mc import chi1_mc, vprime_stein
from sparsefield.theory.user import from_expression

N = 1 << 18


def test_vprime_stein_against_closed_forms():
    # ReLU: V(q) = sigma_w^2 q / 2 + sigma_b^2, V' = sigma_w^2 / 2 at every q
    e = vprime_stein(sf.get("relu"), 1.7, 2.0, n=N, seed=1)
    assert abs(e.z(1.0)) < Z_BOUND and e.stderr > 0 and e.n == N
    # ReLU_tau at q = 1: d/dq E[phi^2] = (1 - Phi(tau)) / 2 + ... (exact form):
    # E[(x - t)^2; x > t] = (1 + t^2) Phi(-t) - t gamma(t); its q-derivative at q = 1 by
    # differentiating E[(sqrt(q) z - t)^2; ...] = q (1 + s^2) Phi(-s) - q s gamma(s), s = t/sqrt(q)
    t = 0.8

    def e_phi2(q):
        s = t / math.sqrt(q)
        return q * ((1 + s * s) * norm.sf(s) - s * norm.pdf(s))

    h = 1e-5
    exact = (e_phi2(1 + h) - e_phi2(1 - h)) / (2 * h)
    e = vprime_stein(sf.get("relu_tau", tau=t), 1.0, 1.0, n=N, seed=2)
    assert abs(e.z(exact)) < Z_BOUND
    assert abs(e.z(exact * 1.15)) > Z_BOUND  # a 15% error is caught (s.e. about 1.5%)


def test_chi1_against_closed_forms_and_jumps():
    e = chi1_mc(sf.get("relu_tau", tau=0.5), 1.0, 3.0, n=N, seed=3)
    assert abs(e.z(3.0 * norm.sf(0.5))) < Z_BOUND and abs(e.z(3.0 * norm.sf(0.5) * 1.02)) > Z_BOUND
    with pytest.raises(sf.ParameterError, match="jumps"):
        chi1_mc(from_expression("Heaviside(x - 0.5) * x"), 1.0, 1.0)  # a jump at 0.5
