"""[P24] claims on the edge of chaos, asserted over the parameter space (docs/theory.md section 4.1-4.4)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate

from sparsefield.theory import activations as A
from sparsefield.theory import clipping as C
from sparsefield.theory import moments as M
from sparsefield.theory.eoc import edge_of_chaos
from sparsefield.theory.errors import InfeasibleError, ParameterError
from sparsefield.theory.sparsity import sparsity, tau_for_sparsity

SPARSITY = st.floats(0.55, 0.95)
QSTAR = st.floats(0.1, 10.0)
TARGET = st.floats(0.05, 0.95)
FAST = settings(max_examples=25, deadline=None)
QUAD = settings(max_examples=6, deadline=None)


def quad(act, f, q):
    """E[f(x)], x ~ N(0, q), by scipy quad split at the breakpoints (independent of
    theory.moments and its closed forms)."""
    sd = np.sqrt(q)
    edges = [-40 * sd, *[b for b in act.breakpoints if abs(b) < 40 * sd], 40 * sd]
    return sum(integrate.quad(lambda x: f(x) * np.exp(-x * x / (2 * q)), a, b, epsabs=0,
                              epsrel=1e-13, limit=200)[0]
               for a, b in zip(edges[:-1], edges[1:])) / (sd * np.sqrt(2 * np.pi))


def independent(d, q):
    """``(V, chi_1)`` at ``q`` for a derivation, by :func:`quad`."""
    act = d.activation_fn()
    return (d.sigma_w2 * quad(act, lambda x: float(act(x)) ** 2, q) + d.sigma_b2,
            d.sigma_w2 * quad(act, lambda x: float(act.derivative(x)) ** 2, q))


def slopes(d, q, rel=1e-3):
    """``V'(q), V''(q)`` by central differences of the quadrature ``V``."""
    h = rel * q
    vm, v0, vp = (independent(d, x)[0] for x in (q - h, q, q + h))
    return (vp - vm) / (2 * h), (vp - 2 * v0 + vm) / h ** 2


@FAST
@given(s=SPARSITY, q=QSTAR, name=st.sampled_from(["relu_tau", "st", "crelu", "cst"]))
def test_sparsity_formula_and_inverse(s, q, name):
    tau = tau_for_sparsity(name, s, q)
    assert sparsity(name, tau, q) == pytest.approx(s, rel=1e-12)
    act = A.get(name, tau=tau) if name in ("relu_tau", "st") else A.get(name, tau=tau, m=1.0)
    assert float(M.p_zero(act, q)) == pytest.approx(s, rel=1e-11)  # zero-set mass


@QUAD
@given(s=SPARSITY, q=QSTAR, name=st.sampled_from(["relu_tau", "st"]))
def test_unclipped_is_marginal_on_eoc(s, q, name):
    """phi phi'' = 0, so V'(q*) = chi_1 = 1, and V''(q*) > 0 for tau > 0 [P24]: the
    derived variances checked by quadrature and finite differences, not the solver's
    own equations."""
    d = C.derive(name, s, q_star=q)
    v, chi1 = independent(d, q)
    assert chi1 == pytest.approx(1.0, rel=1e-10) and v == pytest.approx(q, rel=1e-10)
    v1, v2 = slopes(d, q)
    assert v1 == pytest.approx(1.0, rel=1e-6) and d.vprime == pytest.approx(1.0, rel=1e-12)
    assert v2 > 0 and d.vsecond == pytest.approx(v2, rel=1e-3)
    assert d.warnings and "unstable" in d.warnings[0]


@QUAD
@given(s=SPARSITY, v=TARGET, name=st.sampled_from(["crelu", "cst"]))
def test_clipping_stabilises(s, v, name):
    """V'(q*) = chi_1 - k sigma_w^2 (m/sqrt q*) gamma((tau+m)/sqrt q*) < 1 [P24]; the slope
    of the quadrature V by finite differences hits the target."""
    d = C.derive(name, s, vprime=v)
    k = 1 if name == "crelu" else 2
    gamma = np.exp(-0.5 * (d.tau + d.m) ** 2) / np.sqrt(2 * np.pi)
    vq, chi1 = independent(d, 1.0)
    assert chi1 == pytest.approx(1.0, rel=1e-10) and vq == pytest.approx(1.0, rel=1e-10)
    assert slopes(d, 1.0)[0] == pytest.approx(v, rel=1e-6, abs=1e-8)
    assert d.vprime == pytest.approx(1 - k * d.sigma_w2 * d.m * gamma, rel=1e-11)
    assert d.vprime == pytest.approx(v, rel=1e-9) and d.vprime < 1


@FAST
@given(s=SPARSITY, name=st.sampled_from(["crelu", "cst"]))
def test_vprime_increases_with_m(s, name):
    t = tau_for_sparsity(name, s)
    v = C.vprime_on_eoc(name, t, np.geomspace(1e-3, 30, 200))
    assert np.all(np.diff(v) >= 0) and np.all(np.diff(v)[v[1:] < 1 - 1e-9] > 0)
    assert 0 < v[0] < 0.01 and v[-1] > 0.999


@QUAD
@given(s=SPARSITY, v=TARGET, q=QSTAR, name=st.sampled_from(["crelu", "cst"]))
def test_free_q_star_is_on_target(s, v, q, name):
    """At any q* [DT26]: chi_1(q*) = 1, V(q*) = q*, V'(q*) = target and the exact-zero
    sparsity is s, all by quadrature of the bound activation at q* itself (the solver
    works at q* = 1 and rescales; this checks the rescaled result, not the rescaling)."""
    d = C.derive(name, s, vprime=v, q_star=q)
    vq, chi1 = independent(d, q)
    assert chi1 == pytest.approx(1.0, rel=1e-10) and vq == pytest.approx(q, rel=1e-10)
    assert slopes(d, q)[0] == pytest.approx(v, rel=1e-6, abs=1e-8)
    act = d.activation_fn()
    assert quad(act, lambda x: float(act(x) == 0.0), q) == pytest.approx(s, rel=1e-10)


@FAST
@given(s=st.floats(0.05, 0.9), v=TARGET)
def test_cst_is_crelu_at_half_sparsity_gap(s, v):
    """CST at sparsity s = CReLU at (1+s)/2 with sigma_w^2 halved (same tau, m, sigma_b^2)."""
    a, b = C.derive("cst", s, vprime=v), C.derive("crelu", (1 + s) / 2, vprime=v)
    assert a.tau == pytest.approx(b.tau, rel=1e-12)
    assert a.m == pytest.approx(b.m, rel=1e-9)
    assert a.sigma_w2 == pytest.approx(b.sigma_w2 / 2, rel=1e-9)
    assert a.sigma_b2 == pytest.approx(b.sigma_b2, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("name", ["crelu", "cst"])
@pytest.mark.parametrize("s", [0.7, 0.85])
def test_critical_clips(name, s):
    crit = C.critical_m(name, s)
    m1, m2 = crit["vsecond_zero"], crit["bifurcation"]
    assert 0 < m1 < m2

    def eoc(m):
        return C.derive(name, s, m=m)
    assert eoc(0.99 * m1).vsecond < 0 < eoc(1.01 * m1).vsecond
    below, above = eoc(0.995 * m2), eoc(1.005 * m2)
    assert len(below.fixed_points) == 1 and "bifurcation" not in " ".join(below.warnings)
    extra = [f for f in above.fixed_points if f["q"] > 1.0 + 1e-6]
    assert [f["stability"] for f in extra] == ["unstable", "stable"]
    assert "bifurcation" in above.warnings[-1]


@pytest.mark.parametrize("name", ["crelu", "cst"])
def test_fixed_point_just_above_q_star_is_found(name):
    """Far past the bifurcation the unstable root sits within 2% of q* = 1: it must be listed."""
    m2 = C.critical_m(name, 0.85)["bifurcation"]
    d = C.derive(name, 0.85, m=1.5 * m2)
    mf = d.mean_field()
    # V(q) - q < 0 just above q* (stable) and > 0 at q = 1.1 when the unstable root is near.
    qs = np.linspace(1.0005, 1.1, 400)
    g = mf.V(qs) - qs
    crossings = qs[1:][np.sign(g[:-1]) != np.sign(g[1:])]
    extra = [f["q"] for f in d.fixed_points if 1.0 + 1e-6 < f["q"] < 1.1]
    assert len(crossings) == len(extra)
    for q, c in zip(sorted(extra), crossings):
        assert abs(q - c) < 1e-3


def test_derive_grid_matches_pointwise():
    """Structural: guards the vectorised solver against the scalar one (a refactor guard)."""
    s, v = np.array([[0.6], [0.9]]), np.array([[0.3, 0.8]])
    g = C.derive_grid("crelu", s, v)
    for i in range(2):
        for j in range(2):
            d = C.derive("crelu", s[i, 0], vprime=v[0, j])
            for key in ("tau", "m", "sigma_w2", "sigma_b2", "vsecond"):
                assert g[key][i, j] == pytest.approx(getattr(d, key), rel=1e-9, abs=1e-12)


def test_infeasible_edge_of_chaos():
    with pytest.raises(InfeasibleError, match="sigma_b2"):
        edge_of_chaos(A.get("sigmoid"), 1.0)  # E[phi^2] / E[phi'^2] > q*


@pytest.mark.parametrize("kwargs, param", [
    (dict(activation="crelu", sparsity=1.2), "sparsity"),
    (dict(activation="crelu", sparsity=0.0), "sparsity"),
    (dict(activation="crelu", sparsity=float("nan")), "sparsity"),
    (dict(activation="relu_tau", sparsity=0.3), "sparsity"),
    (dict(activation="crelu", sparsity=0.8, vprime=1.0), "vprime"),
    (dict(activation="crelu", sparsity=0.8, vprime=-0.1), "vprime"),
    (dict(activation="crelu", sparsity=0.8, m=-1.0), "m"),
    (dict(activation="st", sparsity=0.8, vprime=0.5), "vprime"),
    (dict(activation="gelu", sparsity=0.8), "activation"),
    (dict(activation="crelu", sparsity=0.8, q_star=-2.0), "q_star"),
])
def test_bad_input_names_the_parameter(kwargs, param):
    with pytest.raises(ParameterError) as err:
        C.derive(**kwargs)
    assert err.value.param == param and "must be" in str(err.value)
