"""Each experiment's smallest configuration runs and shows the predicted direction."""

import numpy as np
import pytest

from sparsefield.empirical.config import RunOptions
from sparsefield.empirical.experiments import clipping, drift, get, tradeoff
from sparsefield.theory.errors import ParameterError


def _opts(tmp_path):
    return RunOptions(out=str(tmp_path), progress=False)


@pytest.fixture(scope="module")
def drift_summary(tmp_path_factory):
    cfg = drift.Config(activations=["relu", "identity", "abs"], datasets=["random"], width=64,
                       depth=3, steps=60, n_train=4096, n_test=256, eval_size=256,
                       eval_every=30, seeds=[0, 1, 2])
    opts = _opts(tmp_path_factory.mktemp("drift"))
    summary = drift.run(cfg, opts)
    summary["rerun"] = drift.run(cfg, opts)
    return summary


def test_drift_sign_relu_negative_controls_none(drift_summary):
    """[BF2]: E[phi phi'] > 0 for ReLU, so hidden biases and hidden-to-hidden weight means
    drift negative; the controls (identity, |x|: E[phi phi'] = 0) do not drift."""
    rows = drift_summary["rows"]
    relu = rows["relu-random"]
    assert relu["predicted"] == "negative" and drift_summary["all_agree"]
    assert relu["b_hidden"]["z"] < -8 and relu["w_hidden"]["z"] < -5
    assert relu["w_proj_hidden"]["z"] < -5
    # the mean bias gradient at init matches the Stein value sigma^2 E[phi phi'] E[tr H]
    # (within 5% at width >= 128; finite-width corrections at this width 64)
    assert relu["grad_init"]["mean"] == pytest.approx(relu["grad_init_pred"]["mean"], rel=0.35)
    assert drift_summary["all_agree_init"]
    for control in ("identity-random", "abs-random"):
        r = rows[control]
        assert r["predicted"] == "none" and r["observed_bias"] == "none"
        assert abs(r["b_hidden"]["mean"]) < 0.1 * abs(relu["b_hidden"]["mean"])
        assert abs(r["w_hidden"]["mean"]) < 0.1 * abs(relu["w_hidden"]["mean"])
        assert r["observed_init"] == "none" and abs(r["grad_init"]["z"]) < 4


def test_drift_first_layer_sparsity_rise_and_conservation(drift_summary):
    relu = drift_summary["rows"]["relu-random"]
    # zero-mean inputs: the first layer's weight mean does not drift
    assert abs(relu["w_first"]["mean"]) < 0.05 * abs(relu["w_hidden"]["mean"])
    # ReLU sparsity starts at 50% (EoC: sigma_b = 0) and rises
    assert abs(relu["zero_init"]["mean"] - 0.5) < 0.02
    assert relu["zero_final"]["mean"] > relu["zero_init"]["mean"] + 0.01
    # class-means of output-weight columns: conserved to float32 rounding
    for r in drift_summary["rows"].values():
        assert r["colmean_dev_max"] < 1e-6


def test_drift_rerun_does_no_work(drift_summary):
    assert drift_summary["ran"] == 9 and drift_summary["skipped"] == 0
    rerun = drift_summary["rerun"]
    assert rerun["ran"] == 0 and rerun["skipped"] == 9
    assert rerun["rows"]["relu-random"]["b_hidden"] == drift_summary["rows"]["relu-random"]["b_hidden"]


def test_clipping_derived_m_keeps_sparsity_unclipped_explodes(tmp_path):
    """[P24]: CReLU at the derived m (V'(q*) = 0.5) keeps 85% sparsity through depth and
    training; the unclipped ReLU_tau at the same sparsity lets q^l explode."""
    cfg = clipping.Config(vprimes=[0.5], beyond=[], unclipped=["relu_tau"], width=64, depth=20,
                          dataset="mixture", n_train=1024, n_test=256, steps=40, lr=0.01,
                          eval_every=20, eval_size=256, seeds=[0, 1])
    s = clipping.run(cfg, _opts(tmp_path))
    crelu, relu_tau = s["rows"]["crelu-vprime0.5"], s["rows"]["relu_tau"]
    assert crelu["vprime"] == pytest.approx(0.5)
    assert crelu["predicted_at_target"] and not relu_tau["predicted_at_target"]
    assert crelu["at_target_init"] == crelu["at_target_final"] == 2 and crelu["finite"] == 2
    assert abs(crelu["zero_final_last"]["mean"] - 0.85) < 0.05  # the deepest layer too
    assert crelu["q_init_max"]["mean"] < 2.0
    assert relu_tau["q_init_max"]["mean"] > 100.0
    assert relu_tau["at_target_final"] == 0


def test_tradeoff_forced_sparsity_is_exact_and_cliff_is_located(tmp_path):
    cfg = tradeoff.Config(sparsities=[0.6, 0.9], width=64, depth=2, dataset="mixture",
                          n_train=1024, n_test=256, steps=40, eval_every=20, eval_size=256,
                          seeds=[0])
    s = tradeoff.run(cfg, _opts(tmp_path))
    rows = s["rows"]
    for target in (0.6, 0.9):
        measured = rows[f"quantile-s{target:g}"]["measured"]["mean"]
        assert measured == pytest.approx(round(target * 64) / 64, abs=1e-9)
        assert rows[f"topk-s{target:g}"]["measured"]["mean"] >= round(target * 64) / 64 - 1e-9
    assert rows["baseline"]["test_acc"]["mean"] > 0.2
    assert set(s["cliffs"]) == {"quantile", "topk"}


def test_cliff_interpolation():
    s, a = np.array([0.5, 0.7, 0.9]), np.array([0.90, 0.89, 0.70])
    assert tradeoff.cliff(s, a, baseline=0.90, drop=0.02) == pytest.approx(0.7 + 0.2 * 0.01 / 0.19)
    assert tradeoff.cliff(s, a, baseline=0.90, drop=0.5) is None


def test_registry():
    assert get("drift") is drift
    with pytest.raises(ParameterError):
        get("nope")


def test_loss_spikes_counts_jumps_over_the_running_median():
    from sparsefield.empirical.experiments.stats import loss_spikes

    base = list(np.linspace(2.0, 1.0, 40))
    assert loss_spikes(base) == 0
    assert loss_spikes(base[:30] + [5.0] + base[30:]) == 1
    assert loss_spikes(base[:30] + [float("nan")] + base[30:]) == 1


def test_diverged_runs_are_counted_not_averaged_into_the_cliff():
    def rec(label, force, s, acc, zero, finite=True):
        return {"label": label, "config": {"force": force, "force_sparsity": s},
                "metrics": {"final": {"finite": finite, "test_acc": acc},
                            "eval": {"test_zero_frac": [[zero, zero]]}}}
    records = [rec("baseline", "none", None, 0.9, 0.5),
               rec("quantile-s0.5", "quantile", 0.5, 0.1, 0.0, finite=False),
               rec("quantile-s0.7", "quantile", 0.7, 0.9, 0.7),
               rec("quantile-s0.9", "quantile", 0.9, 0.5, 0.9)]
    s = tradeoff.summarise(records, tradeoff.Config(forces=["quantile"]))
    assert s["rows"]["quantile-s0.5"]["diverged"] == 1
    assert s["rows"]["quantile-s0.5"]["measured"]["n"] == 0
    assert 0.7 < s["cliffs"]["quantile"] < 0.9  # not 0.0 from the diverged run
