"""Gaussian Monte Carlo (numba kernel fed by the catalogue) against theory, by z-scores."""

import math

import numba
import numpy as np
import pytest

from sparsefield.numerics import gaussian_mc
from sparsefield.numerics.stats import Z_BOUND
from sparsefield.theory import moments
from sparsefield.theory.activations import CATALOGUE, get
from sparsefield.theory.errors import ParameterError
from sparsefield.theory.maps import MeanField

from helpers import PARAMS

N = 1 << 17
SW2, SB2 = 1.7, 0.2


def _acts():
    return [fam.bind(**PARAMS.get(name, [{}])[-1]) for name, fam in CATALOGUE.items()]


@pytest.mark.parametrize("act", _acts(), ids=lambda a: a.name)
def test_univariate_moments_and_maps_agree_with_theory(act):
    # breakpoints within 4 standard deviations (relu6's clip at 6): a sample that never
    # reaches a kink has a standard error blind to it
    q = max(1.3, (max(abs(act.breakpoints), default=0.0) / 4.0) ** 2)
    est = gaussian_mc.estimates(act, q, SW2, SB2, rho=0.4, n=N, seed=11)
    mf = MeanField(act, SW2, SB2)
    theory = {"e_phi": moments.e_phi(act, q), "e_phi2": moments.e_phi2(act, q),
              "e_dphi2": moments.e_dphi2(act, q), "e_phi_dphi": moments.e_phi_dphi(act, q),
              "e_phi_dphi_pos": moments.e_phi_dphi(act, q, "pos"),
              "e_phi_dphi_neg": moments.e_phi_dphi(act, q, "neg"),
              "p_zero": moments.p_zero(act, q), "V": mf.V(q), "chi1": mf.chi1(q)}
    if act.is_piecewise_linear:  # closed forms; smooth R is covered below
        theory.update(R=mf.R(0.4, q), dR=mf.dR(0.4, q))
    if act.has_jumps:  # chi_1 = inf, R' has delta terms: not sample means (test_jumps.py)
        for k in ("e_dphi2", "chi1", "dR"):
            theory.pop(k, None)
    z = {k: est[k].z(float(v)) for k, v in theory.items()}
    assert all(abs(v) < Z_BOUND for v in z.values()), z


def _gauss_hermite_2d(f, q, rho, n=80):
    """E[f(u1, u2)] by tensor Gauss-Hermite (an independent reference for smooth f)."""
    x, w = np.polynomial.hermite_e.hermegauss(n)
    w = w / w.sum()
    z1, z2 = np.meshgrid(x, x, indexing="ij")
    u1 = math.sqrt(q) * z1
    u2 = math.sqrt(q) * (rho * z1 + math.sqrt(1 - rho * rho) * z2)
    return float(np.sum(np.outer(w, w) * f(u1, u2)))


def test_correlation_map_of_a_smooth_activation():
    act, q, rho = get("gelu"), 0.8, -0.6
    est = gaussian_mc.estimates(act, q, SW2, SB2, rho=rho, n=N, seed=3)
    vq = SW2 * _gauss_hermite_2d(lambda a, b: act(a) ** 2, q, 0.0) + SB2
    r = (SW2 * _gauss_hermite_2d(lambda a, b: act(a) * act(b), q, rho) + SB2) / vq
    dphi = act.derivative
    dr = SW2 * _gauss_hermite_2d(lambda a, b: dphi(a) * dphi(b), q, rho) * q / vq
    assert abs(est["R"].z(r)) < Z_BOUND and abs(est["dR"].z(dr)) < Z_BOUND


def test_a_wrong_theory_value_is_rejected():
    act = get("crelu", tau=1.0, m=0.8)
    est = gaussian_mc.estimates(act, 1.0, SW2, SB2, n=N, seed=5)["e_phi2"]
    truth = float(moments.e_phi2(act, 1.0))
    assert est.agrees(truth)
    assert not est.agrees(truth * 1.03)  # 3% off: about 10 standard errors
    assert est.stderr < 0.005 * truth


@pytest.mark.parametrize("reduce", [True, False])
def test_standard_errors_are_honest(reduce):
    """Over 24 seeds the z-scores have unit spread, with and without variance reduction."""
    act = get("st", tau=0.7)
    truth = float(moments.e_phi2(act, 1.0))
    z = [gaussian_mc.estimates(act, 1.0, SW2, SB2, n=1 << 14, seed=s, reduce=reduce)["e_phi2"]
         .z(truth) for s in range(24)]
    assert 0.6 < np.std(z) < 1.5 and abs(np.mean(z)) < 4 / math.sqrt(24)


def test_variance_reduction_shrinks_the_error():
    act = get("relu_tau", tau=0.5)
    on = gaussian_mc.estimates(act, 1.0, SW2, SB2, n=N, seed=1, reduce=True)
    off = gaussian_mc.estimates(act, 1.0, SW2, SB2, n=N, seed=1, reduce=False)
    for k in ("e_phi2", "e_phi_dphi", "V"):
        assert on[k].stderr < 0.5 * off[k].stderr, k


def test_same_result_for_one_and_two_threads():
    act = get("cst", tau=0.4, m=0.6)
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = gaussian_mc.moments(act, 1.1, 0.3, n=1 << 16, seed=7)
        numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
        two = gaussian_mc.moments(act, 1.1, 0.3, n=1 << 16, seed=7)
    finally:
        numba.set_num_threads(before)
    np.testing.assert_array_equal(one.mean, two.mean)
    np.testing.assert_array_equal(one.cov, two.cov)
    other = gaussian_mc.moments(act, 1.1, 0.3, n=1 << 16, seed=8)
    assert not np.array_equal(one.mean, other.mean)


@pytest.mark.parametrize("kw", [{"q": 0.0}, {"q": -1.0}, {"rho": 1.5}, {"n": 1}, {"seed": -3}])
def test_bad_input_names_the_parameter(kw):
    args = {"q": 1.0, "rho": 0.0, "n": 1000, "seed": 0} | kw
    with pytest.raises(ParameterError) as err:
        gaussian_mc.moments(get("relu"), **args)
    assert err.value.param == next(iter(kw))
