"""Training loop: checkpoint resume reproduces an uninterrupted run; the runner never
redoes finished (point, seed) pairs; the ``train`` command; CUDA (skipped without it)."""

import json

import numpy as np
import pytest
import torch

from sparsefield.cli import main
from sparsefield.empirical.config import RunOptions, point
from sparsefield.empirical.init import resolve
from sparsefield.empirical.models import build
from sparsefield.empirical.runner import run_points
from sparsefield.empirical.store import ResultStore
from sparsefield.empirical.train import Stopped, clip_members_, lr_factor

TINY = dict(activation="relu", width=16, depth=2, dataset="mixture", n_train=256, n_test=64,
            steps=24, batch_size=32, lr=0.05, log_every=4, eval_every=12, eval_size=64)


def _opts(tmp_path, **kw):
    return RunOptions(out=str(tmp_path), progress=False, **kw)


@pytest.mark.parametrize("sched", [{}, {"warmup": 5, "schedule": "cosine", "grad_clip": 0.5}])
def test_checkpoint_resume_equals_uninterrupted_run(tmp_path, sched, capsys):
    p = point(**TINY, checkpoint_every=8, **sched)
    pts = [("tiny", p)]
    full = ResultStore(tmp_path / "a", "t")
    run_points(full, pts, [0, 1], _opts(tmp_path / "a"))
    cut = ResultStore(tmp_path / "b", "t")
    with pytest.raises(Stopped):
        run_points(cut, pts, [0, 1], _opts(tmp_path / "b"), stop_after=10)
    assert len(list(cut.dir.glob("checkpoints/*.pt"))) == 1 and not cut.load_all()
    capsys.readouterr()
    run_points(cut, pts, [0, 1], _opts(tmp_path / "b"))
    # the run resumed from its checkpoint (a rejected one is reported and restarts from 0,
    # which would reach the same numbers and hide a broken resume)
    assert "restarts from step 0" not in capsys.readouterr().err
    assert not list(cut.dir.glob("checkpoints/*.pt"))
    for seed in (0, 1):
        a, b = full.load(p, seed)["metrics"], cut.load(p, seed)["metrics"]
        assert a["train"]["step"] == b["train"]["step"] == list(range(4, 25, 4))
        np.testing.assert_allclose(a["train"]["loss_steps"], b["train"]["loss_steps"], rtol=1e-6)
        np.testing.assert_allclose(a["eval"]["test_q"], b["eval"]["test_q"], rtol=1e-6)


def test_lr_schedule_warmup_then_cosine():
    spec = {"warmup": 4, "steps": 13, "schedule": "cosine"}
    assert [lr_factor(s, spec) for s in (1, 2, 4)] == [0.25, 0.5, 1.0]
    assert lr_factor(13, spec) == pytest.approx(0.5 * (1 + np.cos(np.pi * 0.9)))
    f = [lr_factor(s, spec) for s in range(4, 14)]
    assert all(a > b > 0 for a, b in zip(f, f[1:]))
    assert lr_factor(7, {**spec, "schedule": "constant"}) == 1.0
    assert lr_factor(1, {**spec, "warmup": 0, "schedule": "constant"}) == 1.0
    assert lr_factor(13, {**spec, "warmup": 20}) == 13 / 20  # warm-up longer than the run


def test_gradient_clip_is_per_member():
    torch.manual_seed(0)
    model = build({"width": 4, "depth": 2}, [resolve({"activation": "relu"})] * 3, [0, 1, 2], (5,), 3)
    x = torch.randn(8, 5)
    (model(x) * torch.tensor([0.01, 1.0, 100.0])[:, None, None]).square().sum().backward()
    params = list(model.parameters())
    before = [torch.cat([p.grad[e].flatten() for p in params]).norm().item() for e in range(3)]
    clip_members_(params, 3, 1.0)
    after = [torch.cat([p.grad[e].flatten() for p in params]).norm().item() for e in range(3)]
    assert before[0] < 1.0 < before[2]
    assert after[0] == pytest.approx(before[0], rel=1e-6)  # under the bound: untouched
    assert after[2] == pytest.approx(1.0, rel=1e-5) and after[1] == pytest.approx(min(1.0, before[1]), rel=1e-5)


def test_runner_skips_finished_work_and_batches_members(tmp_path):
    store = ResultStore(tmp_path, "t")
    pts = [("a", point(**TINY)), ("b", point(**{**TINY, "activation": "crelu"}, sparsity=0.8))]
    first = run_points(store, pts[:1], [0, 1], _opts(tmp_path))
    assert first.ran == [("a", 0), ("a", 1)] and not first.skipped
    second = run_points(store, pts, [0, 1, 2], _opts(tmp_path, max_members=2))
    assert second.skipped == [("a", 0), ("a", 1)]
    assert sorted(second.ran) == [("a", 2), ("b", 0), ("b", 1), ("b", 2)]
    assert run_points(store, pts, [0, 1, 2], _opts(tmp_path)).ran == []
    sizes = {(r["label"], r["seed"]): r["metrics"]["run"]["ensemble_size"] for r in store}
    assert sizes[("b", 0)] == 2 and sizes[("b", 2)] == 1 and len(sizes) == 6


def test_ensemble_member_result_does_not_depend_on_its_ensemble(tmp_path):
    alone, together = ResultStore(tmp_path / "x", "t"), ResultStore(tmp_path / "y", "t")
    p = point(**TINY)
    run_points(alone, [("a", p)], [1], _opts(tmp_path / "x"))
    run_points(together, [("a", p)], [0, 1], _opts(tmp_path / "y"))
    np.testing.assert_allclose(alone.load(p, 1)["metrics"]["train"]["loss_steps"],
                               together.load(p, 1)["metrics"]["train"]["loss_steps"], rtol=1e-5)


def test_train_command_writes_results_and_reruns_nothing(tmp_path, capsys):
    args = ["train", "--activation", "crelu", "--sparsity", "0.8", "--vprime", "0.5",
            "--width", "16", "--depth", "3", "--dataset", "random", "--n-train", "128",
            "--n-test", "32", "--steps", "6", "--log-every", "3", "--eval-every", "3",
            "--seeds", "0", "1", "--out", str(tmp_path), "--no-progress", "--device", "cpu"]
    assert main(args) == 0
    assert "ran 2, skipped 0" in capsys.readouterr().out
    assert main(args + ["--json"]) == 0
    finals = json.loads(capsys.readouterr().out)
    assert set(finals) == {"0", "1"} and all(f["finite"] for f in finals.values())
    rec = ResultStore(tmp_path, "train").load_all()[0]
    assert rec["metrics"]["member"]["vprime"] == pytest.approx(0.5)
    assert main(args[:-1] + ["cuda:99"]) == 2
    assert "device" in capsys.readouterr().err


def test_train_command_reports_missing_data(tmp_path, capsys, monkeypatch):
    import sparsefield.empirical.data as D

    monkeypatch.setattr(D, "SYSTEM_FASHION", tmp_path / "absent")
    assert main(["train", "--dataset", "fashion-mnist", "--steps", "1", "--out", str(tmp_path),
                 "--no-progress"]) == 2
    assert "dataset-fashion-mnist" in capsys.readouterr().err


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_run_matches_cpu(tmp_path):
    p = point(**TINY)
    cpu, gpu = ResultStore(tmp_path / "c", "t"), ResultStore(tmp_path / "g", "t")
    run_points(cpu, [("a", p)], [0, 1], _opts(tmp_path / "c", device="cpu"))
    run_points(gpu, [("a", p)], [0, 1], _opts(tmp_path / "g", device="auto"))
    rec = gpu.load(p, 0)["metrics"]
    assert rec["run"]["device"].startswith("cuda")
    np.testing.assert_allclose(rec["train"]["loss_steps"],
                               cpu.load(p, 0)["metrics"]["train"]["loss_steps"], rtol=2e-3, atol=2e-3)
