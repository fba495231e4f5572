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


# --- issue 25: as strict as the theory ------------------------------------------------
class Planted(MeanField):
    """A MeanField whose ``dV`` or ``d2V`` is off by a relative ``factor - 1``."""

    factor_dv = 1.0
    factor_d2v = 1.0

    def dV(self, q):
        return super().dV(q) * self.factor_dv

    def d2V(self, q):
        return super().d2V(q) * self.factor_d2v


@pytest.mark.parametrize("name,params,q", [("crelu", {"tau": 0.5, "m": 1.0}, 1.0),
                                           ("tanh", {}, 1.0), ("relu6", {}, 10.0),
                                           ("silu", {}, 1.0), ("elu", {"alpha": 1.0}, 1.0),
                                           ("hardswish", {}, 3.0)])
def test_derivative_helper_catches_1e8_relative_errors(name, params, q):
    """A planted relative error of 1e-8 in V' or V'' fails at the default settings (where
    V'' is not itself below the rounding of V' over the step: ReLU6 at q = 10, not 1)."""
    act = A.get(name, **params)
    errs = testing.assert_derivatives(MeanField(act, 1.5, 0.1), q)
    assert errs["dV"] < 1e-10 and errs["d2V"] < 1e-9
    for attr in ("factor_dv", "factor_d2v"):
        wrong = type("Wrong", (Planted,), {attr: 1.0 + 1e-8})(act, 1.5, 0.1)
        with pytest.raises(AssertionError, match="d2V" if attr == "factor_d2v" else "dV"):
            testing.assert_derivatives(wrong, q)


def test_closed_form_helper_knows_every_map_quantity():
    import math

    relu = A.get("relu")
    grid = {"q": [0.5, 2.0], "sigma_w2": [2.0], "sigma_b2": [0.1]}
    claims = {"V": lambda q, sigma_w2, sigma_b2: sigma_w2 * q / 2 + sigma_b2,
              "dV": lambda q, sigma_w2, sigma_b2: sigma_w2 / 2,
              "d2V": lambda q, sigma_w2, sigma_b2: 0.0,
              "chi1": lambda q, sigma_w2, sigma_b2: sigma_w2 / 2}
    for name, claim in claims.items():
        testing.assert_closed_form(claim, relu, name, grid)
        with pytest.raises(AssertionError, match="claimed closed form"):
            testing.assert_closed_form(lambda **p: claim(**p) + 1e-6, relu, name, grid)

    def r_relu(q, sigma_w2, sigma_b2, rho):  # arc-cosine kernel of degree 1 (Cho & Saul)
        th = math.acos(rho)
        k = q * (math.sin(th) + (math.pi - th) * rho) / (2 * math.pi)
        return (sigma_w2 * k + sigma_b2) / (sigma_w2 * q / 2 + sigma_b2)

    def dr_relu(q, sigma_w2, sigma_b2, rho):
        return sigma_w2 * (math.pi - math.acos(rho)) / (2 * math.pi) * q / (sigma_w2 * q / 2 + sigma_b2)
    bigrid = dict(grid, rho=[-0.5, 0.3, 0.9])
    assert testing.assert_closed_form(r_relu, relu, "R", bigrid) < 1e-10
    assert testing.assert_closed_form(dr_relu, relu, "dR", bigrid) < 1e-10
    with pytest.raises(ValueError, match="rho"):
        testing.assert_closed_form(r_relu, relu, "R", grid)


def test_closed_form_helper_takes_registered_quantities():
    name = "test_half_q"
    testing.register_quantity(name, lambda a, q, width: q / 2 + 1 / width, needs=("q", "width"))
    try:
        grid = {"q": [1.0, 3.0], "width": [10.0, 100.0]}
        testing.assert_closed_form(lambda q, width: q / 2 + 1 / width, A.get("relu"), name, grid)
        with pytest.raises(AssertionError):
            testing.assert_closed_form(lambda q, width: q / 2, A.get("relu"), name, grid)
    finally:
        del testing.QUANTITY_TABLE[name]


def test_monte_carlo_helper_checks_a_users_claim():
    relu = A.get("relu")
    z = testing.assert_monte_carlo(relu, 2.0, claimed={"e_phi2": lambda q: q / 2,
                                                       "p_zero": 0.5}, n=1 << 16)
    assert set(z) == {"e_phi2", "p_zero"}
    with pytest.raises(AssertionError, match="e_phi2"):
        testing.assert_monte_carlo(relu, 2.0, claimed={"e_phi2": lambda q: 0.52 * q}, n=1 << 16)
    with pytest.raises(ValueError, match="not among"):
        testing.assert_monte_carlo(relu, 2.0, claimed={"E_phi2": 1.0}, n=1 << 10)


def test_from_expression_is_public():
    import sparsefield as sf
    from sparsefield.theory.user import from_expression

    assert sf.from_expression is from_expression
    act = sf.from_expression("Min(Max(x, 0), 1)")
    assert float(sf.MeanField(act, 1.0, 0.0).V(1.0)) > 0


def test_closed_form_helper_knows_the_finite_width_quantities():
    """``p_active``, ``kappa`` and the ``1/N`` log gain of theory/finite_width.py against the
    quadrature references; a claim off by 1e-6 fails."""
    from sparsefield.theory import finite_width as F

    act = A.get("crelu", tau=0.5, m=1.0)
    grid = {"q": [0.5, 2.0], "sigma_w2": [1.5], "width": [100]}
    claims = {
        "p_active": lambda q: float(F.derivative_moments(act, q).active),
        "kappa": lambda q: float(F.derivative_moments(act, q).kappa),
        "gain_mean": lambda q, sigma_w2, width: float(
            F.layer_gain(act, sigma_w2, q, width, method="1/N").mean),
        "gain_var": lambda q, sigma_w2, width: float(
            F.layer_gain(act, sigma_w2, q, width, method="1/N").var)}
    for name, claim in claims.items():
        g = {"q": grid["q"]} if name in ("p_active", "kappa") else grid
        assert testing.assert_closed_form(claim, act, name, g) < 1e-9, name
        with pytest.raises(AssertionError, match="claimed closed form"):
            testing.assert_closed_form(lambda **p: claim(**p) * (1 + 1e-6), act, name, g)


def test_derivative_helper_takes_a_users_own_map():
    """Any object with ``V``, ``dV``, ``d2V``: ``V = q^2 / 2 + sin q`` passes, a ``dV`` off
    by a relative 1e-8 fails."""
    import math

    class Mine:
        factor = 1.0

        def V(self, q):
            return q * q / 2 + math.sin(q)

        def dV(self, q):
            return (q + math.cos(q)) * self.factor

        def d2V(self, q):
            return 1.0 - math.sin(q)

    assert testing.assert_derivatives(Mine(), 1.3)["dV"] < 1e-12
    wrong = Mine()
    wrong.factor = 1.0 + 1e-8
    with pytest.raises(AssertionError, match="Mine: dV"):
        testing.assert_derivatives(wrong, 1.3)
