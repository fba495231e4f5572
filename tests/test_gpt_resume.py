"""The GPT experiment: an interrupted run resumes to the uninterrupted result; summaries."""

import json

import numpy as np
import pytest

from sparsefield.empirical import runner
from sparsefield.empirical.config import RunOptions
from sparsefield.empirical.gpt_experiment import Config, run, summarise
from sparsefield.empirical.train import Stopped

CFG = Config(size="ci", activations=["relu"], data="generated", steps=30, eval_every=10,
             topk=[0.5])


def run_gpt(out, stop_after=None):
    return run(CFG, RunOptions(out=str(out), device="cpu", progress=False), stop_after)


def test_interrupted_run_resumes_to_the_same_result(tmp_path):
    with pytest.raises(Stopped):
        run_gpt(tmp_path / "a", stop_after=15)
    ckpts = list((tmp_path / "a" / "gpt" / "checkpoints").glob("*.pt"))
    assert len(ckpts) == 1 and not list((tmp_path / "a" / "gpt").glob("*__seed0.json"))
    resumed = run_gpt(tmp_path / "a")
    assert resumed["ran"] == 1 and not ckpts[0].exists()
    straight = run_gpt(tmp_path / "b")

    rec_a, rec_b = (json.loads(next((tmp_path / d / "gpt").glob("relu__*__seed0.json")).read_text())
                    for d in ("a", "b"))
    assert rec_a["metrics"]["run"]["resumed"] and not rec_b["metrics"]["run"]["resumed"]
    ev_a, ev_b = rec_a["metrics"]["eval"], rec_b["metrics"]["eval"]
    assert ev_a["step"] == ev_b["step"] == [0, 10, 20, 30]
    for key in ("val_loss", "train_loss", "zero_sparsity", "max_act", "up_dw_proj"):
        np.testing.assert_allclose(np.asarray(ev_a[key], float), np.asarray(ev_b[key], float),
                                   rtol=1e-5, atol=1e-7, err_msg=key)
    assert resumed["rows"]["relu"]["val_loss"] == pytest.approx(straight["rows"]["relu"]["val_loss"])
    assert rec_a["config"]["activation"] == "relu" and rec_a["seed"] == 0
    assert rec_a["versions"]["torch"]

    again = run_gpt(tmp_path / "a")
    assert again["ran"] == 0 and again["skipped"] == 1


def test_gpt_runs_through_the_shared_runner(tmp_path, monkeypatch):
    seen, real = [], runner.run_chunk

    def spy(store, chunk, trainer, *args):
        seen.append((store.experiment, [seed for *_, seed in chunk], type(trainer).__name__))
        return real(store, chunk, trainer, *args)

    monkeypatch.setattr(runner, "run_chunk", spy)
    cfg = Config(size="ci", activations=["relu"], data="generated", steps=2, eval_every=1,
                 topk=[0.5], seeds=[0, 1])
    out = run(cfg, RunOptions(out=str(tmp_path), device="cpu", progress=False))
    assert seen == [("gpt", [0], "GPTTrainer"), ("gpt", [1], "GPTTrainer")]
    assert out["ran"] == 2 and len(list((tmp_path / "gpt").glob("relu__*.json"))) == 2


def _record(label, act, params, val_loss, zero, max_act, dw=-0.1):
    n = len(zero[0])
    layer = {"zero_sparsity": zero, "soft_sparsity": zero, "max_act": max_act,
             **{k: [[0.0] * n, [dw] * n] for k in (
                 "nonzero", "seq_usage", "batch_usage", "dead", "up_w_mean", "up_dw_mean",
                 "up_dw_proj", "up_b_mean", "down_w_mean", "down_dw_mean", "down_dw_proj")}}
    return {"label": label, "seed": 0, "config": {"activation": act, "act_params": params},
            "metrics": {"eval": layer,
                        "final": {"val_loss": val_loss, "topk_val_loss": {"0.1": val_loss + 1}},
                        "data": {"source": "planted"}, "run": {"tokens_per_s": 1.0}}}


def test_summary_verdicts_on_planted_records():
    recs = [
        _record("relu", "relu", {}, 2.0, [[0.5] * 4, [0.6, 0.8, 0.85, 0.9]], [[1] * 4, [3, 2, 2, 3]]),
        _record("relu2", "relu2", {}, 1.9, [[0.5] * 4, [0.5] * 4], [[1] * 4, [9, 30, 20, 9]]),
        _record("crelu2-c=4", "crelu2", {"c": 4.0}, 1.85, [[0.5] * 4, [0.5] * 4], [[1] * 4, [4, 4, 4, 4]]),
        _record("gelu2", "gelu2", {}, 1.8, [[0.0] * 4, [0.0] * 4], [[1] * 4, [5, 5, 5, 5]]),
    ]
    v = summarise(recs, CFG)["verdicts"]
    assert v["relu_sparsity_grows"] and v["relu_layer_dependent"] and v["relu_drift_negative"]
    assert v["relu2_spikes"] and v["clip_active"] and v["clip_bounds"] and v["clip_no_worse"]
    assert v["order"] == ["gelu2", "crelu2-c=4", "relu2", "relu"] and v["gelu2_best"]
    recs[1]["metrics"]["eval"]["max_act"][1][2] = 1.0  # ReLU^2 below ReLU in layer 2
    recs[2]["metrics"]["final"]["val_loss"] = 1.95
    recs[2]["metrics"]["eval"]["max_act"][1][0] = 4.5  # the clip did not bound layer 0
    v = summarise(recs, CFG)["verdicts"]
    assert not v["relu2_spikes"] and not v["clip_no_worse"] and not v["clip_bounds"]
    recs[2]["metrics"]["eval"]["max_act"][1] = [2.0, 3.0, 3.5, 2.0]  # below the clip: it bound nothing
    v = summarise(recs, CFG)["verdicts"]
    assert v["clip_active"] and not v["clip_bounds"]
    recs[2]["metrics"]["eval"]["max_act"][1] = [2.0, 3.0, 3.9, 2.0]  # reaches the clip
    assert summarise(recs, CFG)["verdicts"]["clip_bounds"]
    recs[1]["metrics"]["eval"]["max_act"][1] = [3.0, 3.5, 3.5, 3.0]  # ReLU^2 never reaches c
    v = summarise(recs, CFG)["verdicts"]
    assert not v["clip_active"] and not v["clip_bounds"]
