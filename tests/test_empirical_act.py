"""Torch activations from the catalogue: values and autograd derivatives against numpy;
per-member parameters; sparsity forcing."""

import numpy as np
import pytest
import torch

from sparsefield.empirical.forcing import n_zero, quantile_shift, topk_mask
from sparsefield.empirical.torch_act import TorchActivation
from sparsefield.theory import activations as A
from sparsefield.theory.errors import ParameterError
from tests.helpers import all_activations, ids

ACTS = all_activations()


def _grid(act, n=401):
    """Points on [-4, 4] at least 1e-3 away from every breakpoint."""
    x = np.linspace(-4.0, 4.0, n)
    for b in act.breakpoints:
        x = x[np.abs(x - b) > 1e-3]
    return x


@pytest.mark.parametrize("act", ACTS, ids=ids(ACTS))
def test_values_and_autograd_derivative_match_numpy(act):
    x = _grid(act)
    xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    y = TorchActivation(act, member_dim=0, ndim=1)(xt)
    y.sum().backward()
    np.testing.assert_allclose(y.detach().numpy(), act(x), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(xt.grad.numpy(), act.derivative(x), rtol=1e-10, atol=1e-12)


def test_per_member_parameters_match_each_member():
    members = [A.get("crelu", tau=t, m=m) for t, m in [(0.0, 1.0), (0.7, 0.3), (1.5, 2.0)]]
    x = torch.randn(3, 5, 7, dtype=torch.float64, generator=torch.Generator().manual_seed(0)) * 2
    y = TorchActivation(members, member_dim=0, ndim=3)(x)
    assert not TorchActivation(members).shared
    for e, act in enumerate(members):
        np.testing.assert_allclose(y[e].numpy(), act(x[e].numpy()), rtol=0, atol=1e-12)


def test_mixed_families_are_rejected():
    with pytest.raises(ParameterError):
        TorchActivation([A.get("relu"), A.get("gelu")])


def test_quantile_shift_zeroes_exactly_round_sN_units_per_sample():
    h = torch.randn(2, 64, 50, generator=torch.Generator().manual_seed(1))
    s = torch.tensor([0.7, 0.9]).view(2, 1, 1)
    out = torch.relu(quantile_shift(h, s))
    zeros = (out == 0).sum(-1)
    assert zeros[0].eq(35).all() and zeros[1].eq(45).all()
    assert n_zero(torch.tensor(0.999), 50).item() == 49  # never all units


def test_topk_keeps_exactly_k_even_with_ties():
    h = torch.ones(3, 4, 20)  # all tied: a threshold would keep everything
    s = torch.tensor([0.5, 0.75, 0.95]).view(3, 1, 1)
    kept = topk_mask(h, s).sum(-1)
    assert kept[0].eq(10).all() and kept[1].eq(5).all() and kept[2].eq(1).all()
    h = torch.randn(1, 8, 30, generator=torch.Generator().manual_seed(2))
    mask = topk_mask(h, torch.tensor(0.8))
    kept_min = torch.where(mask.bool(), h, torch.inf).amin(-1)
    dropped_max = torch.where(mask.bool(), -torch.inf, h).amax(-1)
    assert (kept_min > dropped_max).all()
