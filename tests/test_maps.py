"""Variance and correlation maps: Stein's identity, finite differences, fixed points."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sparsefield.theory import activations as A
from sparsefield.theory import jumps
from sparsefield.theory import moments as M
from sparsefield.theory.errors import ParameterError
from sparsefield.theory.maps import FixedPoint, MeanField

from helpers import all_activations, ids

ACTS = all_activations()


@pytest.mark.parametrize("act", ACTS, ids=ids(ACTS))
def test_stein_identity_for_vprime(act):
    """d/dq E[phi^2] (density route) = E[phi'^2] + E[phi phi''] (deltas included)."""
    for q in (0.3, 2.2):
        if act.has_jumps:  # E[phi'^2] = inf: the Stein form with the jump terms
            stein = float(jumps.dq_e_phi2(act, q))
        else:
            stein = float(M.e_dphi2(act, q) + M.e_phi_d2phi(act, q))
        assert stein == pytest.approx(float(M.dq_e_phi2(act, q)), rel=1e-10, abs=1e-12)


@settings(max_examples=25, deadline=None)
@given(tau=st.floats(0.0, 3.0), m=st.floats(0.05, 4.0), q=st.floats(0.05, 20.0),
       name=st.sampled_from(["crelu", "cst"]))
def test_stein_identity_property(tau, m, q, name):
    act = A.get(name, tau=tau, m=m)
    stein = float(M.e_dphi2(act, q) + M.e_phi_d2phi(act, q))
    assert stein == pytest.approx(float(M.dq_e_phi2(act, q)), rel=1e-9, abs=1e-13)


def test_autodiff_style_slope_misses_the_delta_terms():
    """Dropping E[phi phi''] (what autodiff of phi' does) gets V'(q*) wrong for CReLU."""
    act = A.get("crelu", tau=1.0, m=0.8)
    true = float(M.dq_e_phi2(act, 1.0))
    assert abs(float(M.e_dphi2(act, 1.0)) - true) > 0.05 * true


@pytest.mark.parametrize("act", ACTS, ids=ids(ACTS))
def test_finite_differences_of_V(act):
    mf = MeanField(act, 1.7, 0.2)
    q, h = 1.3, 1e-4
    fd1 = (mf.V(q + h) - mf.V(q - h)) / (2 * h)
    fd2 = (mf.V(q + h) - 2 * mf.V(q) + mf.V(q - h)) / h**2
    assert float(mf.dV(q)) == pytest.approx(float(fd1), rel=1e-7, abs=1e-9)
    assert float(mf.d2V(q)) == pytest.approx(float(fd2), rel=1e-4, abs=1e-5)


def test_correlation_map_at_fixed_point():
    """The stable fixed point and the correlation map against independent routes: V by
    scipy quad of phi^2, R and R' by Monte Carlo of correlated Gaussians (z-bounds), R'
    by differences of R."""
    from scipy import integrate
    act = A.get("crelu", tau=0.5, m=1.2)
    mf = MeanField(act, 2.5, 0.3)
    (fp,) = [f for f in mf.fixed_points(1e-3, 1e2) if f.stability == "stable"]
    s = np.sqrt(fp.q)
    e_phi2 = sum(integrate.quad(lambda x: float(act(x)) ** 2 * np.exp(-x * x / (2 * fp.q)),
                                a, b, epsrel=1e-13, epsabs=0)[0]
                 for a, b in ((0.5, 1.7), (1.7, 40 * s))) / (s * np.sqrt(2 * np.pi))
    assert 2.5 * e_phi2 + 0.3 == pytest.approx(fp.q, rel=1e-11)
    rng = np.random.default_rng(7)
    rho = 0.3
    z1, z2 = rng.standard_normal((2, 1 << 21))
    u1, u2 = s * z1, s * (rho * z1 + np.sqrt(1 - rho * rho) * z2)
    for f, value in ((lambda: (2.5 * act(u1) * act(u2) + 0.3) / fp.q, mf.R(rho, fp.q)),
                     (lambda: 2.5 * act.derivative(u1) * act.derivative(u2), mf.dR(rho, fp.q))):
        x = f()
        z = (x.mean() - float(value)) / (x.std() / np.sqrt(x.size))
        assert abs(z) < 4.5, z
    h = 1e-5
    fd = (mf.R(0.3 + h, fp.q) - mf.R(0.3 - h, fp.q)) / (2 * h)
    assert float(mf.dR(0.3, fp.q)) == pytest.approx(float(fd), rel=1e-6)


def test_fixed_points_and_stability():
    mf = MeanField(A.get("tanh"), 1.5, 0.05)  # chaotic tanh: one stable fixed point
    fps = mf.fixed_points(1e-4, 1e2)
    assert [f.stability for f in fps] == ["stable"]
    assert abs(fps[0].slope) < 1
    assert FixedPoint(1.0, 1.0).stability == "marginal"
    assert FixedPoint(1.0, 1.2).stability == "unstable"


def test_iterate_converges_to_stable_fixed_point():
    mf = MeanField(A.get("crelu", tau=0.5, m=1.2), 2.5, 0.3)
    (fp,) = mf.fixed_points(1e-3, 1e2)
    qs = mf.iterate(3.0 * fp.q, 60)
    assert qs[-1] == pytest.approx(fp.q, rel=1e-8)
    rhos = mf.iterate_corr(0.2, fp.q, 60)
    assert 0.2 < rhos[-1] <= 1.0 and np.all(np.diff(rhos) >= -1e-12)


def test_bad_variances_are_named():
    with pytest.raises(ParameterError, match="sigma_w2"):
        MeanField(A.get("relu"), -1.0, 0.0)
    with pytest.raises(ParameterError, match="sigma_b2"):
        MeanField(A.get("relu"), 2.0, -0.1)
    with pytest.raises(ParameterError, match="q=-1"):
        MeanField(A.get("relu"), 2.0, 0.0).V(-1.0)
