"""Finite-width theory (theory.finite_width, theory.q_chain) against simulated networks
(numerics.finite_size) and independent routes; a planted wrong coefficient must fail."""

import json
import math

import numpy as np
import pytest

import sparsefield as sf
from sparsefield.cli import main
from sparsefield.numerics.finite_size import measure, scaling
from sparsefield.numerics.stats import Z_BOUND
from sparsefield.theory import finite_width as fwt
from sparsefield.theory.eoc import edge_of_chaos
from sparsefield.theory.finite_width import (
    derivative_moments,
    digamma_form,
    expansion,
    predict,
)


@pytest.fixture(scope="module")
def crelu():
    return sf.derive("crelu", 0.85, vprime=0.5)


def _zs(points):
    return {(p.quantity, p.width): p.z for p in points}


def test_digamma_form_against_a_direct_monte_carlo_of_the_layer():
    # the per-layer law: sigma_w^2 chi2_N/N * c Beta(K/2, (N-K)/2), K ~ Bin(N, p); drawn
    # directly (numpy), not through the digamma sums
    rng = np.random.default_rng(3)
    n, width, p, sw2 = 400_000, 100, 0.12, 1.0 / 0.12
    k = rng.binomial(width, p, n)
    k = k[k > 0]
    x = np.log(sw2 * rng.chisquare(width, k.size) / width * rng.beta(k / 2, (width - k) / 2))
    mean, var, p0 = digamma_form(p, 1.0, sw2, width)
    assert abs(x.mean() - mean) < Z_BOUND * x.std() / math.sqrt(x.size)
    se_var = math.sqrt(np.mean((x - x.mean()) ** 4) - x.var() ** 2) / math.sqrt(x.size)
    assert abs(x.var() - var) < Z_BOUND * se_var
    assert p0 == pytest.approx((1 - p) ** width)


def test_expansion_is_the_large_width_limit_of_the_digamma_form():
    # the two agree to O(1/N^2): N^2 times their difference tends to a constant
    diffs = []
    for width in (1000, 10_000):
        m_d, v_d, _ = digamma_form(0.2, 1.0, 5.0, width)
        m_e, v_e = expansion(0.2, 5.0, 5.0, width)
        diffs.append((width ** 2 * (m_d - m_e), width ** 2 * (v_d - v_e)))
    for a, b in zip(*diffs):
        assert abs(a) < 500 and a == pytest.approx(b, rel=0.05)


def test_kappa_of_a_smooth_activation_against_monte_carlo():
    act = sf.get("tanh")
    m = derivative_moments(act, 1.7)
    z = np.random.default_rng(0).standard_normal(2_000_000) * math.sqrt(1.7)
    d2 = (1 - np.tanh(z) ** 2) ** 2
    assert m.active == 1.0
    assert abs(m.e2 - d2.mean()) < Z_BOUND * d2.std() / math.sqrt(z.size)
    assert abs(m.e4 - (d2 ** 2).mean()) < Z_BOUND * (d2 ** 2).std() / math.sqrt(z.size)


def test_single_level_kappa_is_one_over_the_active_fraction(crelu):
    m = derivative_moments(crelu.activation_fn(), 1.0)
    assert m.level == 1.0 and m.kappa == pytest.approx(1.0 / m.active, rel=1e-12)


@pytest.mark.parametrize("width", [100, 300])
def test_crelu_gain_and_spreads_match_simulation(crelu, width):
    pts = measure(crelu.activation_fn(), crelu.sigma_w2, crelu.sigma_b2, width, 30, 256,
                  seed=width)
    assert {p.quantity for p in pts} == {"log_gain_per_layer", "log_gain_total_sd",
                                         "log_gain_sd_per_layer", "q_sd_final"}
    for p in pts:
        assert p.passed, p


def test_tanh_gain_matches_simulation():
    act = sf.get("tanh")
    sw2, sb2 = edge_of_chaos(act, 1.0)
    for p in measure(act, sw2, sb2, 200, 30, 256, seed=5):
        assert p.passed, p


def _relu_points():
    return measure(sf.get("relu"), 2.0, 0.0, 100, 30, 1024, seed=11,
                   theory=predict(sf.get("relu"), 100, 30, sigma_w2=2.0, sigma_b2=0.0,
                                  method="1/N"))


def test_relu_expansion_matches_and_a_planted_coefficient_fails(monkeypatch):
    good = _zs(_relu_points())
    assert all(abs(z) < Z_BOUND for z in good.values()), good

    def planted(mu, kappa, sigma_w2, width):  # (3 kappa - 1) -> 3 kappa
        c = 3.0 * np.asarray(kappa, float)
        return np.log(sigma_w2 * np.asarray(mu, float)) - c / (2.0 * width), c / width

    monkeypatch.setattr(fwt, "expansion", planted)
    bad = _zs(_relu_points())
    # the spread per layer, (3 kappa - 1)/N = 5/N against 6/N, is far outside its z-bound;
    # the mean per layer, -2.5/N against -3/N, moves the same way by ~4 standard errors
    assert abs(bad[("log_gain_sd_per_layer", 100)]) > 2 * Z_BOUND
    assert bad[("log_gain_per_layer", 100)] > good[("log_gain_per_layer", 100)] + 3


def test_explosion_rate_of_unclipped_thresholds_matches_simulation():
    d = sf.derive("relu_tau", 0.85)
    (p,) = measure(d.activation_fn(), d.sigma_w2, d.sigma_b2, 300, 50, 192, seed=2)
    assert p.quantity == "p_explode" and 0.4 < p.theory < 0.8
    assert p.passed, p


def test_approach_to_mean_field_in_one_over_width(crelu):
    th = [predict(crelu, n, 30).log_gain_per_layer for n in (300, 600, 1200)]
    # the deficit scales like 1/N: N * deficit changes by O(1/N) only
    n_def = [n * t for n, t in zip((300, 600, 1200), th)]
    assert all(t < 0 for t in th) and max(n_def) - min(n_def) < 0.1 * abs(n_def[-1])


def test_predict_validates_width_and_depth(crelu):
    for kw in ({"width": 1, "depth": 10}, {"width": 100, "depth": 0}, {"width": 2.5, "depth": 3}):
        with pytest.raises(sf.ParameterError, match="width|depth"):
            predict(crelu, **kw)
    with pytest.raises(sf.ParameterError, match="sigma_w2"):
        predict(sf.get("relu"), 100, 10)


def test_cli_finite_width_object_is_strict_json(capsys):
    code = main(["derive", "--activation", "crelu", "--sparsity", "0.85", "--vprime", "0.5",
                 "--width", "300", "--depth", "100", "--json"])
    cap = capsys.readouterr()
    assert code == 0

    fw = json.loads(cap.out)["finite_width"]
    json.dumps(fw, allow_nan=False)  # strict: no NaN or Infinity in the object
    keys = {"width", "depth", "active_fraction", "kappa", "effective_width",
            "log_gain_per_layer", "log_gain_sd_per_layer", "log_gain_total_mean",
            "log_gain_total_sd", "depth_scale", "p_leave_band", "p_explode", "q_sd_final",
            "best_clip", "reasons"}
    assert keys <= set(fw)
    assert fw["width"] == 300 and fw["depth"] == 100 and 0.1 < fw["active_fraction"] < 0.13
    assert -6 < fw["log_gain_total_mean"] < -3 and 2.5 < fw["log_gain_total_sd"] < 4
    best = fw["best_clip"]
    assert best["robust"]["m"] < best["bifurcation_m"]
    assert (best["robust"]["log_gain_total_mean"] - best["robust"]["log_gain_total_sd"]
            >= best["target"]["log_gain_total_mean"] - best["target"]["log_gain_total_sd"])
    line = cap.err.strip().splitlines()
    assert len(line) == 1 and "width >= " in line[0] and "depth <= " in line[0]


@pytest.mark.parametrize("argv", [["--width", "0", "--depth", "10"], ["--width", "100"],
                                  ["--width", "100", "--depth", "-1"]])
def test_cli_rejects_bad_width_or_depth(capsys, argv):
    code = main(["derive", "--activation", "relu_tau", "--sparsity", "0.85", *argv])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and ("width" in err or "depth" in err)


@pytest.mark.slow
def test_finite_size_scaling_all_activations():
    cases = [sf.derive(n, 0.85, **kw) for n, kw in (("crelu", {"vprime": 0.5}),
             ("cst", {"vprime": 0.5}), ("relu_tau", {}), ("st", {}))]
    setups = [(d.activation_fn(), d.sigma_w2, d.sigma_b2) for d in cases]
    setups += [(sf.get("relu"), 2.0, 0.0), (sf.get("tanh"), *edge_of_chaos(sf.get("tanh"), 1.0))]
    for act, sw2, sb2 in setups:
        for p in scaling(act, sw2, sb2, depth=50, n_networks=256, seed=1):
            assert p.passed, p


def test_gain_figure_draws_from_records(tmp_path):
    from sparsefield.figures.finite_size import gain_vs_width

    pts = [{"width": w, "quantity": q, "estimate": e, "stderr": 0.01, "n_networks": 64}
           for w in (100, 300) for q, e in (("log_gain_per_layer", -3.0 / w),
                                            ("log_gain_sd_per_layer", (6.0 / w) ** 0.5))]
    data = {"depth": 30, "curves": [{"activation": "crelu", "points": pts, "theory": {
        "inv_width": [0.0, 0.01], "log_gain_per_layer": [0.0, -0.03],
        "log_gain_sd_per_layer": [0.0, 0.24]}}]}
    paths = gain_vs_width(data, tmp_path)
    assert paths and all(p.stat().st_size > 1000 for p in paths)
