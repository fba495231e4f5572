"""Checkpoints written before the ``(E, in, out)`` weight layout (empirical/models.py
``LAYOUT``) resume correctly.  ``tests/data/old_layout_checkpoint.pt`` was written by the
previous code (weights ``(E, out, in)``, SGD momentum buffers likewise, no ``layout`` key),
checkpointed at step 12 of a 24-step run of two 16-wide members (square hidden layer: its
shape cannot tell the layouts apart); ``old_layout_expected.json`` holds that code's
uninterrupted run."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from sparsefield.empirical.config import RunOptions, point
from sparsefield.empirical.init import resolve
from sparsefield.empirical.models import LAYOUT, build, upgrade_state
from sparsefield.empirical.runner import run_points
from sparsefield.empirical.store import ResultStore, load_checkpoint

DATA = Path(__file__).parent / "data"


def _expected():
    return json.loads((DATA / "old_layout_expected.json").read_text())


def test_old_layout_checkpoint_resumes_like_the_uninterrupted_old_run(tmp_path, capfd):
    exp = _expected()
    p = point(**exp["point"])
    store = ResultStore(tmp_path, "t")
    ckpt = store.checkpoint_path(Path(exp["checkpoint_name"]).stem)
    ckpt.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(DATA / "old_layout_checkpoint.pt", ckpt)
    run_points(store, [("tiny", p)], [0, 1], RunOptions(out=str(tmp_path), progress=False))
    assert "restarts from step 0" not in capfd.readouterr().err  # resumed, not restarted
    for seed in (0, 1):
        got = store.load(p, seed)["metrics"]["train"]["loss_steps"]
        want = exp["loss_steps"][str(seed)]
        assert len(got) == len(want) == 24
        # steps 1..12 come from the checkpoint's history; 13..24 are trained from its weights
        np.testing.assert_allclose(got, want, rtol=1e-5)


def test_upgrade_transposes_weights_and_momentum():
    """After conversion every member's ``member_weight()`` is the stored ``(out, in)``
    matrix and the momentum buffers follow; a new-layout state is left alone; a weight
    whose shape fits neither layout is refused."""
    state = load_checkpoint(DATA / "old_layout_checkpoint.pt", "cpu")
    assert "layout" not in state
    p = point(**_expected()["point"])
    old = {k: v.clone() for k, v in state["model"].items()}
    model = build(p, [resolve(p)] * 2, [0, 1], (784,), 10)
    upgrade_state(model, state.get("layout"), state["model"], state["opt"])
    model.load_state_dict(state["model"])
    names = [n for n, _ in model.named_parameters()]
    for i, lin in enumerate(model.linears):
        key = f"linears.{i}.weight"
        assert torch.equal(lin.member_weight(), old[key])
        buf = state["opt"]["state"][names.index(key)]["momentum_buffer"]
        assert buf.shape == lin.weight.shape
    new = {k: v.clone() for k, v in model.state_dict().items()}
    upgrade_state(model, LAYOUT, new, {})
    assert all(torch.equal(new[k], v) for k, v in model.state_dict().items())
    with pytest.raises(ValueError):  # (2, 784, 16) read as layout 1 of a (2, 784, 16) weight
        upgrade_state(model, 1, new, {})
