"""One parametrised test over the whole catalogue (scipy.stats style): every definition
passes the same generic checks, each against an independent route.

* Monte Carlo (numba kernel) of ``E[phi]``, ``E[phi^2]``, ``E[phi phi']``, ``P(phi=0)``,
  ``V``, ``chi_1`` (finite ones) and, for piecewise-linear or jumping ``phi``, ``R``, ``R'``;
* mpmath quadrature (30 digits, split at the breakpoints, from the sympy expression) of
  ``E[phi^2]`` and ``E[phi'^2]``;
* ``V'``, ``V''`` against difference quotients of ``V`` and ``V'``; ``V'`` against the
  density-derivative form ``E[phi^2 (x^2/q - 1)] / 2q``;
* ``R'`` against the difference quotient of ``R`` (Price's theorem);
* for smooth ``phi`` (no kinks, no jumps): ``R``, ``R'`` against a tensor Gauss-Hermite rule;
* sparsity-setting families: ``P(phi = 0)`` against ``Phi(t/sqrt q)`` or ``2 Phi(t/sqrt q) - 1``.
"""

import math

import mpmath
import numpy as np
import pytest
import sympy as sp

from sparsefield import testing
from sparsefield.theory import activations as A
from sparsefield.theory import moments
from sparsefield.theory.maps import MeanField
from sparsefield.theory.sparsity import sparsity

ACTS = [f.bind(**f.examples[0]) for f in A.CATALOGUE.values()]
IDS = [a.name for a in ACTS]
SW2, SB2, Q = 1.5, 0.1, 2.5  # q = 2.5: every breakpoint within ~4 standard deviations


def smooth(act) -> bool:
    """No jumps and no kinks; for Gauss-Hermite also ``phi''`` continuous (not relu2, elu)."""
    c2 = all(abs(act.piece(k, 2)(b) - act.piece(k + 1, 2)(b)) < 1e-12
             for k, b in enumerate(act.breakpoints))
    return not act.has_jumps and not np.any(act.kinks != 0) and c2


def mp_expect(act, q, order, dps=30):
    """``E[(phi^(order))^2]`` for ``x ~ N(0, q)`` by mpmath, interval by interval."""
    expr = sp.diff(act.sympy(), A.X, order) if order else act.sympy()
    f = sp.lambdify(A.X, expr, "mpmath")
    with mpmath.workdps(dps):
        s = mpmath.sqrt(q)
        # |z| <= 40: the Gaussian mass beyond is e^-800, and mpmath need not evaluate
        # exp(-exp(-x)) (GoLU) at x = -1e30
        pts = sorted({*(mpmath.mpf(v) for v in (-40, -12, -6, -3, 0, 3, 6, 12, 40)),
                      *(mpmath.mpf(float(b)) / s for b in act.breakpoints)})
        g = lambda z: f(s * z) ** 2 * mpmath.exp(-z * z / 2) / mpmath.sqrt(2 * mpmath.pi)  # noqa: E731
        return float(sum(mpmath.quad(g, [a, b]) for a, b in zip(pts[:-1], pts[1:])))


@pytest.mark.parametrize("act", ACTS, ids=IDS)
def test_monte_carlo(act):
    rho = 0.5 if (act.is_piecewise_linear or act.has_jumps) else None
    z = testing.assert_monte_carlo(act, Q, SW2, SB2, rho=rho, n=1 << 18, seed=7)
    assert {"e_phi", "e_phi2", "p_zero", "V"} <= set(z)


@pytest.mark.parametrize("act", ACTS, ids=IDS)
def test_moments_against_mpmath(act):
    assert moments.e_phi2(act, 1.3) == pytest.approx(mp_expect(act, 1.3, 0), rel=1e-10, abs=1e-14)
    if act.has_jumps:
        assert moments.e_dphi2(act, 1.3) == math.inf
    else:
        assert moments.e_dphi2(act, 1.3) == pytest.approx(mp_expect(act, 1.3, 1), rel=1e-10,
                                                          abs=1e-14)


@pytest.mark.parametrize("act", ACTS, ids=IDS)
def test_variance_map_derivatives(act):
    mf = MeanField(act, SW2, SB2)
    testing.assert_derivatives(mf, 1.3, rtol=1e-6)
    assert float(mf.dV(0.8)) == pytest.approx(SW2 * float(moments.dq_e_phi2(act, 0.8)), rel=1e-9)


@pytest.mark.parametrize("act", [a for a in ACTS if not smooth(a)],
                         ids=[a.name for a in ACTS if not smooth(a)])
def test_correlation_slope_is_price(act):
    mf, q, h = MeanField(act, SW2, SB2), 1.3, 1e-4
    for rho in (-0.4, 0.6):
        fd = (float(mf.R(rho + h, q)) - float(mf.R(rho - h, q))) / (2 * h)
        assert float(mf.dR(rho, q)) == pytest.approx(fd, rel=1e-6, abs=1e-9)


def gauss_hermite_pair(f, g, q, rho, n=96):
    """``E[f(u1) g(u2)]`` by a tensor Gauss-Hermite rule (independent of scipy quad)."""
    x, w = np.polynomial.hermite_e.hermegauss(n)
    w = w / w.sum()
    z1, z2 = np.meshgrid(x, x, indexing="ij")
    s = math.sqrt(q)
    u1, u2 = s * z1, s * (rho * z1 + math.sqrt(1 - rho * rho) * z2)
    return float(np.einsum("i,j,ij->", w, w, f(u1) * g(u2)))


SMOOTH = [a for a in ACTS if smooth(a)]


@pytest.mark.slow  # ~3 s per activation with today's nested quadrature (see issue 16)
@pytest.mark.parametrize("act", SMOOTH, ids=[a.name for a in SMOOTH])
def test_smooth_correlation_map_against_gauss_hermite(act):
    q, rho = 1.0, 0.5
    ref = gauss_hermite_pair(act, act, q, rho)
    dref = gauss_hermite_pair(act.derivative, act.derivative, q, rho)
    assert float(moments.e_phi_phi(act, q, rho)) == pytest.approx(ref, rel=1e-9, abs=1e-12)
    assert float(moments.e_dphi_dphi(act, q, rho)) == pytest.approx(dref, rel=1e-9, abs=1e-12)


THRESHOLDS = [a for a in ACTS if a.family.threshold]


@pytest.mark.parametrize("act", THRESHOLDS, ids=[a.name for a in THRESHOLDS])
def test_sparsity_follows_the_threshold(act):
    t = act.params[act.family.threshold]
    p = math.erf(t / math.sqrt(2 * Q)) if act.family.sided == 2 else 0.5 * math.erfc(-t / math.sqrt(2 * Q))
    assert float(moments.p_zero(act, Q)) == pytest.approx(p, rel=1e-12)
    if act.family.derivable:
        assert float(sparsity(act.name, t, Q)) == pytest.approx(p, rel=1e-12)


def test_properties_live_with_the_definition():
    assert A.names(derivable=True) == ("relu_tau", "st", "crelu", "cst")
    assert set(A.names(clipped=True)) == {"crelu", "cst", "crelu2", "relu6", "hardtanh",
                                          "hardsigmoid"}
    assert {n for n, f in A.CATALOGUE.items() if f.has_jumps} == {"jumprelu", "hard_threshold"}
    assert all(f.label and f.color.startswith("#") for f in A.CATALOGUE.values())
    colors = [f.color for f in A.CATALOGUE.values()]
    assert len(set(colors)) == len(colors)
    for f in A.CATALOGUE.values():
        assert f.sided in ((1, 2) if f.threshold else (0,))
        assert f.clip is None or f.clip in {p.name for p in f.params}


def test_selu_constants_are_the_self_normalising_fixed_point():
    act = A.get("selu")
    assert float(moments.e_phi(act, 1.0)) == pytest.approx(0.0, abs=1e-14)
    assert float(moments.e_phi2(act, 1.0)) == pytest.approx(1.0, rel=1e-14)
    # Klambauer et al. 2017, eq. 14 (to the 31 digits the paper prints)
    assert float(A.SELU_ALPHA_EXACT.evalf(35) - sp.Float("1.6732632423543772848170429916717", 35)) \
        == pytest.approx(0.0, abs=1e-30)
    assert float(A.SELU_LAMBDA_EXACT.evalf(35) - sp.Float("1.0507009873554804934193349852946", 35)) \
        == pytest.approx(0.0, abs=1e-30)
