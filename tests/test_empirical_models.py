"""Ensembles equal independent models; EoC initialisation statistics; instrumentation."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from sparsefield.empirical.config import point
from sparsefield.empirical.init import resolve
from sparsefield.empirical.instrument import Instrument
from sparsefield.empirical.models import build
from sparsefield.empirical.train import member_loss
from sparsefield.theory.errors import ParameterError


def _mlp(activation="relu", seeds=(0, 1, 2), width=16, depth=3, **kw):
    p = point(activation=activation, width=width, depth=depth, **kw)
    members = [resolve(p)] * len(seeds)
    return build(p, members, list(seeds), (1, 4, 4), 5), members


def test_member_matches_a_plain_forward_pass():
    model, members = _mlp("gelu")
    x = torch.randn(7, 1, 4, 4, generator=torch.Generator().manual_seed(0))
    out = model(x)
    phi = members[0].act.torch_fn()
    for e in range(3):
        h = x.flatten(1)
        for i, lin in enumerate(model.linears):
            h = F.linear(h, lin.member_weight()[e], lin.bias[e, 0])
            h = phi(h) if i < len(model.linears) - 1 else h
        torch.testing.assert_close(out[e], h)


def test_ensemble_training_equals_training_each_member_alone():
    """Summed per-member losses give each member exactly its own SGD trajectory."""
    x = torch.randn(32, 1, 4, 4, generator=torch.Generator().manual_seed(1))
    y = torch.randint(0, 5, (32,), generator=torch.Generator().manual_seed(2))

    def trained(seeds):
        model, _ = _mlp("relu", seeds)
        opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        for _ in range(5):
            opt.zero_grad()
            member_loss(model(x), y, "ce").sum().backward()
            opt.step()
        return model.linears[1].weight.detach()

    together = trained((3, 4))
    torch.testing.assert_close(together[1], trained((4,))[0], rtol=1e-5, atol=1e-6)


def test_cnn_member_matches_conv2d():
    p = point(activation="relu", model="cnn", channels=4, depth=2, kernel=3)
    members = [resolve(p)] * 2
    model = build(p, members, [0, 1], (2, 6, 6), 3)
    x = torch.randn(5, 2, 6, 6, generator=torch.Generator().manual_seed(3))
    out = model(x)
    assert out.shape == (2, 5, 3)
    e = 1
    h = x
    for conv in model.convs:
        w = conv.weight.view(2, 4, -1, 3, 3)[e]
        h = torch.relu(F.conv2d(h, w, conv.bias.view(2, 4)[e], padding=1))
    ref = h.mean(dim=(2, 3)) @ model.head.member_weight()[e].T + model.head.bias[e, 0]
    torch.testing.assert_close(out[e], ref)
    inst = Instrument(model, 2)
    inst.mode = "train"
    loss = member_loss(model(x), torch.tensor([0, 1, 2, 0, 1]), "ce")
    loss.sum().backward()
    inst.after_backward(loss)
    rec = inst.fetch()
    assert rec["grad_norm"].shape == (3, 2) and rec["train_zero_frac"].shape == (2, 2)
    with pytest.raises(ParameterError):
        build({**p, "force": "topk"}, members, [0, 1], (2, 6, 6), 3, [0.5, 0.5])


def test_eoc_initialisation_variances():
    """Hidden weights ~ N(0, sigma_w^2/N), biases ~ N(0, sigma_b^2), first layer
    (q* - sigma_b^2)/N (chi-square z-scores, fixed seed)."""
    model, members = _mlp("tanh", seeds=(0,), width=200, depth=2)
    m = members[0]
    checks = [(model.linears[1].weight, m.sigma_w2 / 200),
              (model.linears[0].weight, (m.q_star - m.sigma_b2) / 16),
              (model.linears[1].bias, m.sigma_b2)]
    for tensor, var in checks:
        v = tensor.detach().double().ravel()
        n = v.numel()
        z = (float((v ** 2).mean()) - var) / (var * math.sqrt(2.0 / n))
        assert abs(z) < 4, (var, z)
    # EoC at q* = 1: sigma_w^2 = 1 / E[tanh'(u)^2], u ~ N(0, 1) (Gauss-Hermite, 200 nodes)
    x, w = np.polynomial.hermite_e.hermegauss(200)
    assert m.sigma_w2 == pytest.approx(1.0 / float(w @ np.cosh(x) ** -4 / w.sum()), rel=1e-10)


def test_instrument_statistics_against_direct_computation():
    model, _ = _mlp("relu", seeds=(0, 1), width=32, depth=2)
    layer0 = model.linears[0]
    with torch.no_grad():
        layer0.bias[1, 0, :3] = -1e3  # three dead units in member 1, layer 0
    inst = Instrument(model, 2)
    x = torch.randn(64, 1, 4, 4, generator=torch.Generator().manual_seed(4))
    inst.begin_eval()
    model(x[:40])
    model(x[40:])
    ev = inst.end_eval()
    h = layer0(x.flatten(1))
    a = torch.relu(h)
    np.testing.assert_allclose(ev["zero_frac"][0], (a == 0).float().mean((1, 2)).numpy(), rtol=1e-6)
    np.testing.assert_allclose(ev["q"][0], (h ** 2).mean((1, 2)).detach().numpy(), rtol=1e-5)
    np.testing.assert_allclose(ev["soft_frac"][0], (h < 0).float().mean((1, 2)).numpy(), rtol=1e-6)
    np.testing.assert_allclose(ev["act_max"][0], a.amax((1, 2)).detach().numpy(), rtol=1e-6)
    nz = (a != 0).float().mean(2)
    np.testing.assert_allclose(ev["nz_sample_mean"][0], nz.mean(1).numpy(), rtol=1e-5)
    np.testing.assert_allclose(ev["nz_sample_min"][0], nz.amin(1).numpy(), rtol=1e-6)
    np.testing.assert_allclose(ev["nz_sample_std"][0], nz.std(1, unbiased=False).numpy(), atol=1e-5)
    dead = (~(a != 0).any(1)).float().mean(1).numpy()
    np.testing.assert_allclose(ev["dead_frac"][0], dead)
    assert ev["dead_frac"][0, 1] >= 3 / 32


def test_training_fetch_and_column_mean_conservation():
    """Under cross-entropy and plain SGD the class-mean of each output-weight column is
    conserved (the CE gradient sums to zero over classes) [BF2]; weights do move."""
    model, _ = _mlp("relu", seeds=(0, 1), width=32, depth=2)
    inst = Instrument(model, 2)
    inst.mode = "train"
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    g = torch.Generator().manual_seed(5)
    w0 = model.linears[-1].weight.detach().clone()
    for _ in range(20):
        x, y = torch.randn(16, 1, 4, 4, generator=g), torch.randint(0, 5, (16,), generator=g)
        loss = member_loss(model(x), y, "ce")
        opt.zero_grad()
        loss.sum().backward()
        inst.after_backward(loss)
        opt.step()
    rec = inst.fetch()
    assert rec["loss_steps"].shape == (20, 2) and rec["grad_norm"].shape == (3, 2)
    assert rec["train_zero_frac"].shape == (2, 2) and np.all(rec["train_zero_frac"] > 0.2)
    moved = float((model.linears[-1].weight.detach() - w0).abs().max())
    assert moved > 1e-2 and np.all(rec["out_colmean_dev"] < 1e-6 * moved * 100)
    assert np.all(np.isfinite(rec["w_proj"]))
