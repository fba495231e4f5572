"""Finite-width random networks vs the mean-field maps, and the [P24] reproductions."""

import numpy as np
import pytest

from sparsefield.numerics import finite_width, reproduce
from sparsefield.numerics.stats import Z_BOUND, wilson
from sparsefield.theory.activations import get
from sparsefield.theory.clipping import derive
from sparsefield.theory.errors import ParameterError


@pytest.fixture(scope="module")
def crelu():
    return derive("crelu", 0.85, vprime=0.5)


def _sim(d, **kw):
    args = dict(depth=20, width=300, n_networks=48, q0=1.0, rho0=0.5, seed=1) | kw
    return finite_width.simulate(d.activation_fn(), d.sigma_w2, d.sigma_b2, **args)


def test_gram_sampler_has_the_law_of_dense_weights(crelu):
    """The O(N) sampler and explicit Gaussian weight matrices agree on every record."""
    gram = _sim(crelu, depth=8, width=60, n_networks=384, q0=1.6, rho0=0.2, method="gram")
    dense = _sim(crelu, depth=8, width=60, n_networks=96, q0=1.6, rho0=0.2, method="dense")
    for layer in (1, 4, 8):
        for g, d in ((gram.q_mean, dense.q_mean), (gram.corr, dense.corr),
                     (gram.sparsity.mean(2), dense.sparsity.mean(2))):
            diff = g[:, layer].mean() - d[:, layer].mean()
            se = np.hypot(g[:, layer].std() / np.sqrt(384), d[:, layer].std() / np.sqrt(96))
            assert abs(diff / se) < Z_BOUND
    gg, gd = np.nanmean(gram.gain, 1), np.nanmean(dense.gain, 1)
    assert abs(gg.mean() - gd.mean()) < Z_BOUND * np.hypot(gg.std() / np.sqrt(384),
                                                            gd.std() / np.sqrt(96))


@pytest.mark.parametrize("method, dtype", [("gram", np.float64), ("dense", np.float32)])
def test_ensemble_means_follow_the_maps(crelu, method, dtype):
    n = 48 if method == "gram" else 16
    cmp = finite_width.compare(_sim(crelu, method=method, dtype=dtype, n_networks=n),
                               crelu.mean_field())
    for key in ("q", "sparsity", "corr", "gain"):
        z = cmp.z(key)
        assert np.all(np.abs(z[1:]) < Z_BOUND), (key, z)
    assert cmp.theory["q"] == pytest.approx(np.ones(21))  # q* = 1 is a fixed point
    assert cmp.theory["sparsity"] == pytest.approx(np.full(21, 0.85))


def deviation(ens, mf) -> float:
    """Root-mean-square over networks and layers of ``q^l / q^l_map - 1``."""
    q_th = mf.iterate(ens.config["q0"], ens.config["depth"])
    return float(np.sqrt(np.mean((ens.q_mean / q_th - 1.0) ** 2)))


def test_deviation_from_the_map_shrinks_with_width(crelu):
    mf = crelu.mean_field()
    dev = [deviation(_sim(crelu, depth=30, width=n, n_networks=32,
                                       gradients=False), mf) for n in (50, 400)]
    assert dev[1] < 0.5 * dev[0]  # ~ 1/sqrt(N): expect 1/sqrt(8) = 0.35
    assert dev[1] < 0.1


@pytest.mark.parametrize("name", ["relu_tau", "st"])
def test_unclipped_thresholds_explode_at_finite_width(name):
    r = reproduce.explosion(name, depth=100, width=300, n_networks=24, seed=3)
    lo, _ = r["interval"]
    assert lo > 0.5, r["fraction"]  # most networks
    q_map = r["derivation"].mean_field().iterate(1.0, 100)
    assert q_map[-1] == pytest.approx(1.0, abs=1e-6)  # the infinite-width map stays put


@pytest.mark.parametrize("name", ["crelu", "cst"])
def test_clipped_networks_stay_at_q_star_and_target_sparsity(name):
    r = reproduce.stability(name, depth=100, width=300, n_networks=16, seed=4)
    assert r["near"].value == 1.0
    assert abs(r["q_tail"].value - 1.0) < 0.1
    assert abs(r["sparsity_tail"].value - 0.85) < reproduce.SPARSITY_TOL


def test_clips_past_the_bifurcation_jump_to_the_large_fixed_point():
    r = reproduce.bifurcation("crelu", factor=1.1, depth=100, width=300, n_networks=64, seed=5)
    lo, hi = r["interval"]
    assert 0.1 < lo and hi < 1.0  # some networks jump, not all
    assert r["sparsity_jumped"].value < 0.8  # and lose their sparsity
    assert r["q_large"] > 3.0
    # control: the same networks below the bifurcation (no fixed point above q*) never
    # end above the threshold, so the jumps above are caused by the bifurcation
    from sparsefield.theory.clipping import critical_m
    d = derive("crelu", 0.85, m=0.9 * critical_m("crelu", 0.85)["bifurcation"])
    ens = finite_width.simulate(d.activation_fn(), d.sigma_w2, d.sigma_b2, 100, 300, 64, q0=1.0, seed=5,
                                gradients=False)
    k = int(np.sum(ens.q_mean[:, -reproduce.TAIL:].mean(1) > r["threshold"]))
    assert wilson(k, 64)[1] < lo


def test_bifurcation_needs_a_clip_past_it():
    with pytest.raises(ParameterError) as err:
        reproduce.bifurcation("cst", factor=0.9, n_networks=2)
    assert err.value.param == "factor"


@pytest.mark.slow
@pytest.mark.parametrize("name", ["crelu", "cst"])
def test_bifurcation_jump_probability_large_ensemble(name):
    r = reproduce.bifurcation(name, factor=1.1, n_networks=1024, seed=6)
    lo, hi = r["interval"]
    assert 0.2 < lo and hi < 0.95


def test_seeded_groups_are_reproducible(crelu):
    a = _sim(crelu, depth=5, width=40, n_networks=70)
    b = _sim(crelu, depth=5, width=40, n_networks=64)
    np.testing.assert_array_equal(a.q[:64], b.q)
    np.testing.assert_array_equal(a.gain[:64], b.gain)
    c = _sim(crelu, depth=5, width=40, n_networks=64, seed=2)
    assert not np.array_equal(b.q, c.q)


@pytest.mark.parametrize("kw", [{"depth": 0}, {"width": 2}, {"n_networks": 0}, {"q0": -1.0},
                                {"rho0": 1.0}, {"method": "lanczos"}, {"dtype": np.int32}])
def test_bad_input_names_the_parameter(kw):
    args = dict(depth=3, width=10, n_networks=2) | kw
    with pytest.raises(ParameterError) as err:
        finite_width.simulate(get("tanh"), 1.0, 0.1, **args)
    assert err.value.param == next(iter(kw))
