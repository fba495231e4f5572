"""[LN23]/[WA24] sparsity metrics on planted tensors with known answers."""

import pytest
import torch

from sparsefield.empirical import token_metrics as tm
from sparsefield.theory.errors import ParameterError


def planted() -> torch.Tensor:
    """2 sequences x 3 tokens x 10 units; token (b, t) fires units ``units[b][t]``."""
    units = [[[0, 1], [1, 2, 3], []], [[5], [5], [5, 9]]]
    a = torch.zeros(2, 3, 10)
    for b, seq in enumerate(units):
        for t, us in enumerate(seq):
            a[b, t, us] = torch.arange(1.0, len(us) + 1)
    return a


def test_token_nonzero_fraction():
    expected = torch.tensor([[0.2, 0.3, 0.0], [0.1, 0.1, 0.2]])
    assert torch.allclose(tm.token_nonzero_fraction(planted()), expected)


def test_sequence_unit_usage():
    # seq 0 uses {0,1,2,3}, seq 1 uses {5,9}
    assert tm.sequence_unit_usage(planted()).tolist() == pytest.approx([0.4, 0.2])


def test_batch_unit_usage_chunks_in_token_order_and_drops_the_rest():
    a = planted()  # 6 tokens in order: {0,1} {1,2,3} {} | {5} {5} {5,9}
    assert tm.batch_unit_usage(a, batch_tokens=3).tolist() == pytest.approx([0.4, 0.2])
    assert tm.batch_unit_usage(a, batch_tokens=4).tolist() == pytest.approx([0.5])  # {0,1,2,3,5}
    assert tm.batch_unit_usage(a, batch_tokens=6).tolist() == pytest.approx([0.6])
    with pytest.raises(ParameterError):
        tm.batch_unit_usage(a, batch_tokens=7)


def test_dead_units():
    assert tm.dead_units(planted()).nonzero().flatten().tolist() == [4, 6, 7, 8]


def test_eps_threshold_counts_magnitudes():
    a = torch.tensor([[[0.0, 0.05, -0.2, 1.0]]])
    assert tm.token_nonzero_fraction(a).item() == pytest.approx(0.75)
    assert tm.token_nonzero_fraction(a, eps=0.1).item() == pytest.approx(0.5)
    with pytest.raises(ParameterError):
        tm.nonzero_mask(a, eps=-1.0)


def test_negative_fraction():
    h = torch.tensor([-1.0, -0.0, 0.0, 2.0, -3.0, 5.0, 1.0, -2.0])
    assert tm.negative_fraction(h).item() == pytest.approx(3 / 8)


def test_topk_per_token_keeps_exactly_k_of_each_token():
    gen = torch.Generator().manual_seed(0)
    a = torch.randn(4, 5, 32, generator=gen)
    a[0, 0] *= 100.0  # a loud token must not take other tokens' slots
    k = 5
    out = tm.topk_per_token(a, k)
    assert (out != 0).sum(-1).eq(k).all()
    kth = a.sort(dim=-1, descending=True).values[..., k - 1:k]
    assert torch.equal(out, torch.where(a >= kth, a, torch.zeros_like(a)))


def test_topk_per_token_ties_keep_exactly_k():
    a = torch.ones(3, 8)
    out = tm.topk_per_token(a, 3)
    assert (out != 0).sum(-1).tolist() == [3, 3, 3]
    with pytest.raises(ParameterError):
        tm.topk_per_token(a, 0)
    with pytest.raises(ParameterError):
        tm.topk_per_token(a, 9)


def test_summary_of_planted_layer():
    a = planted()
    h = torch.where(a > 0, a, -torch.ones_like(a))
    h[0, 2, 0] = 0.5  # positive pre-activation with a zero output (e.g. a threshold)
    s = tm.summary(a, h, batch_tokens=8192)
    assert s["nonzero"].item() == pytest.approx(0.9 / 6)
    assert s["zero_sparsity"].item() == pytest.approx(1 - 0.9 / 6)
    assert s["seq_usage"].item() == pytest.approx(0.3)
    assert s["batch_usage"].item() == pytest.approx(0.6)  # fewer than 8192 tokens: all of them
    assert s["dead"].item() == pytest.approx(0.4)
    assert s["max_act"].item() == 3.0
    assert s["soft_sparsity"].item() == pytest.approx((60 - 9 - 1) / 60)
    with pytest.raises(ParameterError):
        tm.summary(a[0])
