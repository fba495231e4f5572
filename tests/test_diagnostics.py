"""Training diagnostics: stored on a tiny run, drawn, and at initialisation equal to their
predictions (finite-width gain, mean-field window and correlation) within z-bounds at
fixed seeds; a planted wrong coefficient (no 1/N term) fails."""

import math

import numpy as np
import pytest
import torch

from sparsefield.empirical import diagnostics as D
from sparsefield.empirical import store as S
from sparsefield.empirical.config import RunOptions, point
from sparsefield.empirical.data import load
from sparsefield.empirical.diag_theory import predict_record
from sparsefield.empirical.init import resolve
from sparsefield.empirical.models import build
from sparsefield.empirical.runner import run_points
from sparsefield.empirical.train import member_loss
from sparsefield.numerics.stats import Z_BOUND
from sparsefield.theory.activations import get
from sparsefield.theory.finite_width import derivative_moments

TINY = dict(activation="crelu", sparsity=0.8, vprime=0.5, width=16, depth=4, dataset="mixture",
            n_train=256, n_test=64, steps=6, batch_size=32, lr=0.05, log_every=3, eval_every=3,
            eval_size=64)


def test_a_tiny_run_stores_every_diagnostic_with_its_prediction(tmp_path):
    from sparsefield.figures.diagnostics import diagnostics

    store = S.ResultStore(tmp_path, "t")
    p = point(**TINY)
    run_points(store, [("tiny", p)], [0, 1], RunOptions(out=str(tmp_path), progress=False))
    recs = store.load_all()
    assert len(recs) == 2
    for rec in recs:
        ev, init = S.section(rec, S.EVAL), S.section(rec, S.INIT)
        assert ev[S.STEP] == [0, 3, 6]
        shapes = {S.DIAG_LOG_GAIN: 3, S.DIAG_CORR_GAP: 4, S.DIAG_ACTIVE_FRAC: 4,
                  S.DIAG_REL_UPDATE: 5}
        for key, rows in shapes.items():
            assert S.series(rec, S.EVAL, key).shape == (3, rows), key
        assert S.series(rec, S.EVAL, S.DIAG_LOGIT_SPREAD).shape == (3,)
        upd = S.series(rec, S.EVAL, S.DIAG_REL_UPDATE)
        assert np.all(np.isnan(upd[0])) and np.all((upd[1:] > 0) & (upd[1:] < 1))
        assert np.all(np.isfinite(S.series(rec, S.EVAL, S.DIAG_LOG_GAIN)))
        gap = S.series(rec, S.EVAL, S.DIAG_CORR_GAP)
        assert np.all((gap >= 0) & (gap <= 2))
        win = S.series(rec, S.EVAL, S.DIAG_ACTIVE_FRAC)
        assert np.all((win > 0) & (win < 1))
        assert 0 < init[S.JAC_ERANK] <= init[S.JAC_RANK] <= 10
        assert len(init[S.DIAG_PAIR_RHO1]) == D.PAIRS
        pred = S.section(rec, S.PREDICTED)
        assert pred[S.PRED_FINITE_WIDTH][S.PRED_WIDTH] == 16
        assert pred[S.PRED_MEAN_FIELD][S.PRED_WIDTH] == S.MEAN_FIELD_WIDTH
        assert len(pred[S.PRED_MEAN_FIELD][S.PRED_CORR_GAP]) == 4
    paths = diagnostics(recs, tmp_path / "fig")
    assert all(p.stat().st_size > 1000 for p in paths)


def test_window_moments_against_closed_forms():
    """``p``, ``E[phi'^2]``, ``E[phi'^4]`` against Phi differences (CReLU) and a Monte Carlo
    of tanh's derivative (an independent route)."""
    from scipy.stats import norm

    act = get("crelu", tau=0.5, m=1.2)
    mom = derivative_moments(act, 2.0)
    p = norm.cdf(1.7 / math.sqrt(2.0)) - norm.cdf(0.5 / math.sqrt(2.0))
    assert mom.active == pytest.approx(p, rel=1e-10)
    assert mom.e2 == pytest.approx(p, rel=1e-10) and mom.e4 == pytest.approx(p, rel=1e-10)
    z = np.random.default_rng(0).standard_normal(400_000)
    d4 = (1.0 - np.tanh(z) ** 2) ** 4
    tanh = derivative_moments(get("tanh"), 1.0)
    assert tanh.active == pytest.approx(1.0)
    assert abs(tanh.e4 - d4.mean()) < Z_BOUND * d4.std() / math.sqrt(z.size)


@pytest.fixture(scope="module")
def crelu_at_init():
    """24 CReLU networks (85%, V'(q*) = 0.5) of width 100, depth 20, at initialisation."""
    torch.manual_seed(0)
    data = load("auto", None, 200, 200, seed=0).standardized()
    x, y = torch.from_numpy(data.x_test[:64]), torch.from_numpy(data.y_test[:64])
    p = point(activation="crelu", sparsity=0.85, vprime=0.5, width=100, depth=20)
    member, n = resolve(p), 24
    model = build(p, [member] * n, list(range(100, 100 + n)), data.shape, data.n_classes)
    meas = D.measure(model, x, y, lambda f, t: member_loss(f, t, "ce"))
    init = D.measure_init(model, x, n)
    pred = predict_record(member, p, {S.DIAG_PAIR_RHO1: init[S.DIAG_PAIR_RHO1].mean(1)})
    return meas, pred


def _z(per_net: np.ndarray, value: float) -> float:
    return (per_net.mean() - value) / (per_net.std(ddof=1) / math.sqrt(per_net.size))


def test_back_prop_gain_follows_the_finite_width_prediction(crelu_at_init):
    meas, pred = crelu_at_init
    per_net = meas[S.DIAG_LOG_GAIN].mean(0)  # mean over layers, one per network
    fw = pred[S.PRED_FINITE_WIDTH]
    assert abs(_z(per_net, fw[S.PRED_LOG_GAIN])) < Z_BOUND
    # planted: the mean-field gain log chi_1 alone (the 1/N term dropped) is rejected
    assert abs(_z(per_net, math.log(fw["chi1"]))) > Z_BOUND


def test_window_and_correlation_follow_mean_field(crelu_at_init):
    meas, pred = crelu_at_init
    mf = pred[S.PRED_MEAN_FIELD]
    assert abs(_z(meas[S.DIAG_ACTIVE_FRAC].mean(0), mf[S.PRED_ACTIVE_FRAC])) < Z_BOUND
    assert abs(_z(meas[S.DIAG_ACTIVE_FRAC].mean(0), 0.15)) > Z_BOUND  # planted: 1 - sparsity
    for layer in (1, 4, 9):
        assert abs(_z(meas[S.DIAG_CORR_GAP][layer], mf[S.PRED_CORR_GAP][layer])) < Z_BOUND
