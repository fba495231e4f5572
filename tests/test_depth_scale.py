"""Depth scales of the correlation map: the edge-of-chaos kink coefficient against the
ReLU arc-cosine kernel and against iterating the (quadrature) correlation map; xi_c
against the measured geometric decay off the edge."""

import mpmath
import numpy as np
import pytest

from sparsefield.theory import activations as A
from sparsefield.theory.clipping import derive
from sparsefield.theory.depth_scale import depth_scale, edge_approach, kink_coefficient
from sparsefield.theory.errors import ParameterError
from sparsefield.theory.maps import MeanField


def test_relu_kink_coefficient_from_the_arc_cosine_kernel():
    """ReLU, sigma_w^2 = 2: R(rho) = (sqrt(1 - rho^2) + (pi - arccos rho) rho) / pi (Cho &
    Saul 2009), expanded at rho = 1 - eps: (R - 1 + eps) / eps^{3/2} -> K."""
    with mpmath.workdps(40):
        eps = mpmath.mpf("1e-12")
        rho = 1 - eps
        r = (mpmath.sqrt(1 - rho**2) + (mpmath.pi - mpmath.acos(rho)) * rho) / mpmath.pi
        expansion = float((r - 1 + eps) / eps**1.5)
    ds = depth_scale(A.get("relu_tau", tau=0.0), 2.0, 0.0, 1.0)
    assert ds.phase == "edge" and ds.xi_c == np.inf
    assert ds.kink_k == pytest.approx(expansion, rel=1e-5)
    assert ds.ell_c == pytest.approx(3 * np.pi / np.sqrt(2), rel=1e-12)  # 9 pi^2 / (2 l^2)


def test_edge_approach_matches_the_iterated_correlation_map():
    """CReLU at 85% sparsity on the EoC: iterate R (bivariate quadrature, no kink formula)
    and read K off the growth of (1 - rho^l)^{-1/2}, which is K/2 per layer."""
    d = derive("crelu", 0.85, vprime=0.5)
    ds = depth_scale(d.activation_fn(), d.sigma_w2, d.sigma_b2, 1.0)
    eps = 1.0 - d.mean_field().iterate_corr(0.5, 1.0, 60)
    measured = 2 * (eps[60] ** -0.5 - eps[40] ** -0.5) / 20
    assert measured == pytest.approx(ds.kink_k, rel=0.05)
    assert float(edge_approach(ds.kink_k, eps[40], 20)) == pytest.approx(eps[60], rel=0.05)
    # a wrong coefficient (no clip kink: the ReLU_tau formula) is rejected by the same check
    wrong = float(kink_coefficient(A.get("relu_tau", tau=d.tau), d.sigma_w2, 1.0))
    assert abs(measured - wrong) > 0.1 * ds.kink_k


def test_kink_coefficient_vectorised_in_q():
    act = A.get("cst", tau=0.8, m=1.1)
    qs = np.array([0.5, 1.0, 3.0, 10.0])
    vec = kink_coefficient(act, 4.0, qs)
    assert vec.shape == qs.shape
    assert np.allclose(vec, [float(kink_coefficient(act, 4.0, q)) for q in qs], rtol=1e-14)


@pytest.mark.parametrize("factor,phase", [(0.8, "ordered"), (1.4, "chaotic")])
def test_xi_c_is_the_geometric_decay_rate_off_the_edge(factor, phase):
    """Off the edge, |rho^l - c*| shrinks by chi_c per layer: xi_c = -1 / ln chi_c."""
    act = A.get("crelu", tau=0.3, m=1.5)
    mf = MeanField(act, 2.6 * factor, 0.2)
    (fp,) = [f for f in mf.fixed_points(1e-3, 1e2) if f.stability == "stable"]
    ds = depth_scale(act, mf.sigma_w2, mf.sigma_b2, fp.q)
    assert ds.phase == phase and np.isfinite(ds.xi_c) and np.isnan(ds.ell_c)
    rho = [ds.c_star - 0.05 if phase == "ordered" else ds.c_star + 0.05]
    for _ in range(12):
        rho.append(float(mf.R(rho[-1], fp.q)))
    gaps = np.abs(np.asarray(rho) - ds.c_star)
    assert gaps[12] / gaps[11] == pytest.approx(ds.chi_c, rel=0.02)
    assert ds.xi_c == pytest.approx(-1 / np.log(ds.chi_c))


def test_bad_input():
    with pytest.raises(ParameterError, match="q_star"):
        d = derive("crelu", 0.85, vprime=0.5)
        depth_scale(d.activation_fn(), d.sigma_w2, d.sigma_b2, 2.0)  # V(2) != 2
    with pytest.raises(ParameterError, match="piecewise-linear"):
        kink_coefficient(A.get("tanh"), 1.0, 1.0)


def test_jump_activation_depth_scales_are_zero_not_minus_zero_and_chaotic():
    act = A.get("jumprelu", theta=1.0)
    mf = MeanField(act, 2.0, 0.1)
    assert mf.chi1(1.0) == np.inf
    xi_c = mf.depth_scales(1.0)["xi_c"]
    assert xi_c == 0.0 and np.copysign(1.0, xi_c) == 1.0  # inputs separate in one layer
    q_star = float(mf.iterate(1.0, 300)[-1])
    d = depth_scale(act, 2.0, 0.1, q_star)  # no kink coefficient needed off the edge
    assert d.phase == "chaotic" and np.isnan(d.kink_k) and np.isnan(d.ell_c)
    # chi_c against the iterated map itself: successive distances to c* shrink by chi_c
    rho = [d.c_star - 1e-6]
    for _ in range(3):
        rho.append(float(mf.R(rho[-1], q_star)))
    ratios = [(rho[i + 1] - d.c_star) / (rho[i] - d.c_star) for i in range(3)]
    assert 0.0 < d.chi_c < 1.0 and d.xi_c == pytest.approx(-1.0 / np.log(d.chi_c))
    assert ratios == pytest.approx([d.chi_c] * 3, rel=1e-3)
