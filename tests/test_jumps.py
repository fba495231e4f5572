"""Activations whose value jumps (JumpReLU, hard threshold) and top-k, their wide limit."""

import json
import math

import numpy as np
import pytest
from scipy import special

from sparsefield.cli import main
from sparsefield.numerics.stats import Z_BOUND, sample_mean
from sparsefield.theory import activations as A
from sparsefield.theory import jumps, moments
from sparsefield.theory.eoc import edge_of_chaos
from sparsefield.theory.errors import InfeasibleError, ParameterError
from sparsefield.theory.maps import MeanField

EPS = float(np.finfo(float).eps)
JUMPS = [A.get("jumprelu", theta=0.8), A.get("hard_threshold", theta=0.6)]


def gam(z):
    return math.exp(-z * z / 2) / math.sqrt(2 * math.pi)


@pytest.mark.parametrize("act", JUMPS, ids=lambda a: a.name)
def test_chi1_is_infinite_with_its_reason(act):
    mf = MeanField(act, 1.7, 0.1)
    assert float(mf.chi1(1.0)) == math.inf
    assert float(mf.dR(1.0, 1.0)) == math.inf
    assert "delta" in jumps.chi1_reason(act) and "no edge of chaos" in jumps.chi1_reason(act)
    with pytest.raises(InfeasibleError, match="chi_1 = R'\\(1\\) = inf"):
        edge_of_chaos(act, 1.0)
    with pytest.raises(ValueError, match="undefined"):
        moments.e_phi_d2phi(act, 1.0)


def test_jumprelu_variance_slope_closed_form():
    """``E[phi^2] = q (Phibar(t) + t gamma(t))``, ``t = theta/sqrt q``; its q-derivative
    ``Phibar(t) + theta gamma(t)/sqrt q + theta^3 gamma(t) / 2 q^{3/2}`` (by hand)."""
    theta = 0.8
    act = JUMPS[0]
    for q in (0.3, 1.0, 4.0):
        t, s = theta / math.sqrt(q), math.sqrt(q)
        e2 = q * (0.5 * special.erfc(t / math.sqrt(2)) + t * gam(t))
        d = 0.5 * special.erfc(t / math.sqrt(2)) + theta * gam(t) / s + theta**3 * gam(t) / (2 * q * s)
        assert float(moments.e_phi2(act, q)) == pytest.approx(e2, rel=1e-12)
        assert float(jumps.dq_e_phi2(act, q)) == pytest.approx(d, rel=1e-12)
        assert float(moments.dq_e_phi2(act, q)) == pytest.approx(d, rel=1e-9)  # density form


@pytest.mark.parametrize("act", JUMPS, ids=lambda a: a.name)
def test_correlation_slope_has_the_delta_terms(act):
    mf, q, h = MeanField(act, 1.7, 0.1), 1.3, 1e-5
    slopes = []
    for rho in (-0.7, 0.0, 0.5, 0.95):
        fd = (float(mf.R(rho + h, q)) - float(mf.R(rho - h, q))) / (2 * h)
        assert float(mf.dR(rho, q)) == pytest.approx(fd, rel=1e-6)
        slopes.append(float(mf.dR(rho, q)))
    assert slopes[-1] > 1.0  # and it diverges as rho -> 1
    assert float(mf.dR(0.9999, q)) > 5 * slopes[-1]  # ~ (1 - rho)^(-1/2)


def test_cli_map_reports_chi1_inf_with_reason(capsys):
    assert main(["map", "--activation", "jumprelu", "--theta", "1", "--sigma-w2", "2",
                 "--sigma-b2", "0", "--q", "1", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["chi1"] == "inf" and "E[phi'^2] = inf" in out["chi1_reason"]
    assert math.isfinite(out["dV"]) and math.isfinite(out["V"])


def test_topk_threshold_validates():
    assert jumps.topk_threshold(0.3174, 1.0, 2) == pytest.approx(1.0, abs=1e-3)
    with pytest.raises(ParameterError, match="fraction"):
        jumps.topk_threshold(1.5)


def topk(h, k, sided):
    """Keep, per row (token), the k largest magnitudes (sided=2) or values (sided=1)."""
    key = np.abs(h) if sided == 2 else h
    idx = np.argpartition(-key, k - 1, axis=1)[:, :k]
    out = np.zeros_like(h)
    np.put_along_axis(out, idx, np.take_along_axis(h, idx, axis=1), axis=1)
    return out


@pytest.mark.parametrize("name,sided", [("hard_threshold", 2), ("jumprelu", 1)])
def test_topk_at_a_fixed_fraction_is_the_threshold_in_the_wide_limit(name, sided):
    """Finite-width top-k (width 4000, 300 tokens) vs the threshold theory at the
    Gaussian quantile: E[y^2], E[y] and the kept fraction, z-bounded over tokens."""
    rng = np.random.default_rng(11)
    q, frac, width, tokens = 1.7, 0.1, 4000, 300
    h = math.sqrt(q) * rng.standard_normal((tokens, width))
    y = topk(h, int(frac * width), sided)
    act = A.get(name, theta=jumps.topk_threshold(frac, q, sided))
    assert float(1 - moments.p_zero(act, q)) == pytest.approx(frac, rel=1e-12)
    for f, theory in ((lambda v: v * v, moments.e_phi2(act, q)), (lambda v: v, moments.e_phi(act, q))):
        est = sample_mean(f(y).mean(axis=1))
        assert abs(est.z(float(theory))) < Z_BOUND
    # a deep top-k network follows the (linear, scale-invariant) map of the threshold
    mf = MeanField(A.get(name, theta=jumps.topk_threshold(frac, 1.0, sided)), 4.0, 0.2)
    gain = float(moments.e_phi2(mf.act, 1.0))
    depth, n_net, n = 5, 30, 600
    qs = np.empty((n_net, depth))
    for k in range(n_net):
        x = rng.standard_normal(n)
        for layer in range(depth):
            hl = (rng.standard_normal((n, n)) * math.sqrt(mf.sigma_w2 / n)) @ x \
                + math.sqrt(mf.sigma_b2) * rng.standard_normal(n)
            qs[k, layer] = hl @ hl / n
            x = topk(hl[None], int(frac * n), sided)[0]
    theory = [mf.sigma_w2 * 1.0 + mf.sigma_b2]
    for _ in range(depth - 1):
        theory.append(mf.sigma_w2 * gain * theory[-1] + mf.sigma_b2)
    for layer in range(depth):
        assert abs(sample_mean(qs[:, layer]).z(theory[layer])) < Z_BOUND


def test_check_matrix_rows_for_a_jump_pass():
    import dataclasses

    from sparsefield.numerics import check

    tiny = dataclasses.replace(check.QUICK, n_mc=1 << 15)
    act = JUMPS[0]
    rows = check.monte_carlo_rows(act, 1.5, 0.1, tiny, seed=1) + check.quadrature_rows(act, tiny)
    assert rows and all(r.passed for r in rows), [r for r in rows if not r.passed]
    assert not any("phi'^2" in r.quantity or "chi_1" in r.quantity for r in rows)


def _mp_delta_terms(act, q: float, rho: float) -> float:
    """The jump terms of E[phi'(u1) phi'(u2)] in mpmath at 40 digits, from the definition:
    2 sum_b D_b p_q(b) P-weighted slopes of u2 | u1 = b, plus sum D_b D_b' p_2(b, b')."""
    import mpmath as mp

    with mp.workdps(40):
        qv, r = mp.mpf(q), mp.mpf(rho)
        s = mp.sqrt(qv * (1 - r * r))
        edges = [-mp.inf] + [mp.mpf(float(b)) for b in act.breakpoints] + [mp.inf]
        slopes = [mp.mpf(float(a)) for a in act.linear_coeffs[0]]
        jumps_ = [(mp.mpf(float(b)), mp.mpf(float(d)))
                  for b, d in zip(act.breakpoints, act.jumps) if d != 0.0]
        det = 1 - r * r

        def prob(lo, hi):  # P(lo < N(0, 1) < hi), tails taken on their own side
            return mp.ncdf(-lo) - mp.ncdf(-hi) if lo > 0 else mp.ncdf(hi) - mp.ncdf(lo)

        def cond(b):
            return sum(a * prob((edges[k] - r * b) / s, (edges[k + 1] - r * b) / s)
                       for k, a in enumerate(slopes))

        def p2(b1, b2):
            return mp.exp(-(b1 * b1 - 2 * r * b1 * b2 + b2 * b2) / (2 * qv * det)) / (
                2 * mp.pi * qv * mp.sqrt(det))
        total = sum(2 * d * mp.npdf(b, 0, mp.sqrt(qv)) * cond(b) for b, d in jumps_)
        return float(total + sum(d1 * d2 * p2(b1, b2) for b1, d1 in jumps_ for b2, d2 in jumps_))


@pytest.mark.parametrize("act", JUMPS + [A.get("hard_threshold", theta=3.0)], ids=lambda a: a.name)
def test_delta_terms_on_a_grid_against_mpmath(act):
    """The vectorised jump terms (normal interval probabilities) against 40-digit mpmath
    at 1e-13 on a (q, rho) grid (plus the rounding of a Gaussian exponent ``a``: ``exp(-a)``
    carries a relative error ``~ a eps``), and each point alone gives the grid's value."""
    rng = np.random.default_rng(3)
    q = np.exp(rng.uniform(math.log(0.01), math.log(100.0), 12))
    rho = rng.uniform(-0.999, 0.999, 12)
    grid = jumps.delta_dphi_dphi(act, q, rho)
    for k in range(q.size):
        ref = _mp_delta_terms(act, q[k], rho[k])
        exponent = float(np.max(act.breakpoints ** 2)) / (q[k] * (1.0 - abs(rho[k])))
        assert grid[k] == pytest.approx(ref, rel=1e-13 + 8 * EPS * exponent, abs=1e-300)
        assert float(jumps.delta_dphi_dphi(act, q[k], rho[k])) == grid[k]
    # |rho| = 1: the delta at b meets g(rho b), or another delta (infinite)
    assert float(jumps.delta_dphi_dphi(act, 1.0, 1.0)) == math.inf
