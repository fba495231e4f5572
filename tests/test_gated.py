"""Gated units: the factorised maps against Monte Carlo of the joint law and against
finite-width gated networks (both weight matrices drawn)."""

import math

import numpy as np
import pytest

from sparsefield.numerics.stats import Z_BOUND, sample_mean
from sparsefield.references import gated_mc
from sparsefield.theory import moments
from sparsefield.theory.errors import ParameterError
from sparsefield.theory.gated import GATED, GatedMeanField, edge_of_chaos, gated

UNITS = list(GATED.values())


def test_glu_variance_is_q_times_gate_moment():
    """``E[(a(g) u)^2] = q E[a(g)^2]`` and for dReLU ``E[relu^2]^2 = q^2 / 4``."""
    q = 1.7
    for name in ("swiglu", "geglu", "reglu"):
        unit = gated(name)
        mf = GatedMeanField(unit, 1.0, 0.0)
        assert float(mf.V(q)) == pytest.approx(q * float(moments.e_phi2(unit.gate, q)), rel=1e-12)
    assert float(GatedMeanField(gated("drelu"), 1.0, 0.0).V(q)) == pytest.approx(q * q / 4, rel=1e-12)
    with pytest.raises(ParameterError, match="activation"):
        gated("nope")


@pytest.mark.parametrize("unit", UNITS, ids=lambda u: u.name)
def test_maps_against_monte_carlo(unit):
    q, rho, sw2, sb2 = 1.4, 0.5, 1.3, 0.2
    mf = GatedMeanField(unit, sw2, sb2)
    mc = gated_mc.monte_carlo(unit, q, rho, n=1 << 17, seed=5)
    A, C, dA, dC = (float(v) for v in unit.factors(q))
    assert abs(mc["e_phi2"].z(A * C)) < Z_BOUND
    assert abs(mc["grad"].z(float(mf.chi1(q)) / sw2)) < Z_BOUND
    e_pp = (float(mf.R(rho, q)) * float(mf.V(q)) - sb2) / sw2
    assert abs(mc["e_phi_phi"].z(e_pp)) < Z_BOUND


@pytest.mark.parametrize("unit", UNITS, ids=lambda u: u.name)
def test_derivatives_of_the_maps(unit):
    mf, q, h = GatedMeanField(unit, 1.3, 0.2), 1.1, 1e-4
    assert float(mf.dV(q)) == pytest.approx((float(mf.V(q + h)) - float(mf.V(q - h))) / (2 * h), rel=1e-7)
    assert float(mf.d2V(q)) == pytest.approx((float(mf.dV(q + h)) - float(mf.dV(q - h))) / (2 * h), rel=1e-6)
    assert float(mf.dR(1.0, q)) * float(mf.V(q)) / q == pytest.approx(float(mf.chi1(q)), rel=1e-9)


@pytest.mark.parametrize("unit", [gated("reglu"), gated("drelu")], ids=lambda u: u.name)
def test_finite_width_networks_follow_the_maps(unit):
    sw2, sb2 = edge_of_chaos(unit, 1.0)
    mf = GatedMeanField(unit, sw2, sb2)
    assert float(mf.chi1(1.0)) == pytest.approx(1.0, rel=1e-12)
    depth = 4
    sim = gated_mc.simulate(unit, sw2, sb2, depth, 300, 24, q0=1.0, seed=2)
    theory = mf.iterate(1.0, depth)[1:]
    for layer in range(depth):
        assert abs(sample_mean(sim["q"][:, layer]).z(theory[layer])) < Z_BOUND
    for layer in range(depth - 1):
        assert abs(sample_mean(sim["gain"][:, layer]).z(float(mf.chi1(theory[layer + 1])))) < Z_BOUND


def test_relu_glu_is_unstable_on_the_edge_of_chaos():
    """ReGLU: ``V(q) = sigma_w^2 q^2 / 2 + sigma_b^2``; on the EoC at q* = 1,
    ``V'(q*) = 1`` and ``V'' = sigma_w^2 = 1 > 0`` -- the [P24] instability of ReLU_tau."""
    sw2, sb2 = edge_of_chaos(gated("reglu"), 1.0)
    mf = GatedMeanField(gated("reglu"), sw2, sb2)
    assert (sw2, sb2) == pytest.approx((1.0, 0.5), rel=1e-12)
    assert float(mf.dV(1.0)) == pytest.approx(1.0, rel=1e-12)
    assert float(mf.d2V(1.0)) == pytest.approx(1.0, rel=1e-10)


def test_torch_form():
    torch = pytest.importorskip("torch")
    g, u = np.linspace(-3, 3, 7), np.linspace(2, -2, 7)
    for unit in UNITS:
        y = unit.torch_fn()(torch.tensor(g), torch.tensor(u)).numpy()
        np.testing.assert_allclose(y, unit(g, u), rtol=1e-13, atol=1e-15)
    assert math.isfinite(float(GatedMeanField(gated("swiglu"), 1.0, 0.0).dR(0.3, 1.0)))
