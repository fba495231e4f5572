"""sparsefield.testing: each helper passes on a true claim and fails on a false one."""

import pytest
from hypothesis import given, settings

from sparsefield import testing
from sparsefield.numerics.stats import Estimate
from sparsefield.theory import activations as A
from sparsefield.theory.maps import MeanField


def test_z_bound_is_the_projects_and_assert_agrees_reports_z():
    from sparsefield.numerics.stats import Z_BOUND

    assert testing.Z_BOUND is Z_BOUND
    assert testing.assert_agrees(1.0, Estimate(1.1, 0.1, 100)) == pytest.approx(1.0)
    with pytest.raises(AssertionError, match="z = 5"):
        testing.assert_agrees(1.0, Estimate(1.5, 0.1, 100))
    with pytest.raises(AssertionError, match="not finite"):
        testing.assert_agrees(float("inf"), Estimate(1.0, 0.1, 100))


def test_closed_form_helper_catches_a_wrong_claim():
    import math
    fam = A.family("relu_tau")

    def right(q, tau):  # E[phi^2] of ReLU_tau: (q + tau^2) Phibar(t) - tau sqrt(q) gamma(t)
        t = tau / math.sqrt(q)
        return ((q + tau**2) * 0.5 * math.erfc(t / math.sqrt(2))
                - tau * math.sqrt(q) * math.exp(-t * t / 2) / math.sqrt(2 * math.pi))

    grid = {"q": [0.5, 2.0], "tau": [0.0, 0.8]}
    assert testing.assert_closed_form(right, fam, "e_phi2", grid) < 1e-10
    with pytest.raises(AssertionError, match="claimed closed form"):
        testing.assert_closed_form(lambda q, tau: 1.001 * right(q, tau), fam, "e_phi2", grid)


def test_derivative_helper_catches_a_wrong_slope():
    mf = MeanField(A.get("crelu", tau=0.5, m=1.0), 1.5, 0.1)
    testing.assert_derivatives(mf, 1.0)

    class Wrong(MeanField):
        def dV(self, q):  # drops the delta terms at the kinks (what autodiff would do)
            from sparsefield.theory import moments
            return self.sigma_w2 * moments.e_dphi2(self.act, q)

    with pytest.raises(AssertionError, match="dV"):
        testing.assert_derivatives(Wrong(mf.act, 1.5, 0.1), 1.0)


@settings(max_examples=10, deadline=None)
@given(point=testing.eoc_points(["relu_tau", "crelu", "tanh", "hardtanh", "leaky_relu"]))
def test_eoc_points_are_on_the_edge_of_chaos(point):
    mf, q = point
    assert float(mf.chi1(q)) == pytest.approx(1.0, rel=1e-9)
    assert float(mf.V(q)) == pytest.approx(q, rel=1e-9)


@settings(max_examples=10, deadline=None)
@given(act=testing.activations(continuous=False))
def test_activation_strategy_respects_continuity(act):
    assert act.has_jumps
