"""numerics.stats: batch means, control variates, delta method, z-scores."""

import math

import numpy as np
import pytest

from sparsefield.numerics.stats import Estimate, Moments, proportion, sample_means, wilson


def _block_means(x, size):
    return x.reshape(-1, size, x.shape[1]).mean(axis=1)


def test_batch_means_give_the_mean_and_its_standard_error():
    x = np.random.default_rng(0).normal(3.0, 2.0, size=(64_000, 2))
    mom = Moments.from_block_means(("a", "b"), _block_means(x, 250), len(x))
    np.testing.assert_allclose(mom.mean, x.mean(0), rtol=1e-13)
    assert mom["a"].stderr == pytest.approx(2.0 / math.sqrt(len(x)), rel=0.2)
    assert mom["a"].n == len(x)


def test_control_variate_is_unbiased_and_reduces_the_error():
    """f = z^2 + e with control c = z^2 - 1 (mean 0): the adjusted error is that of e alone."""
    rng = np.random.default_rng(1)
    z, e = rng.standard_normal(256_000), 0.1 * rng.standard_normal(256_000)
    x = _block_means(np.stack([z * z + e, z * z - 1.0], axis=1), 1000)
    plain = Moments.from_block_means(("f", "c"), x, len(z), n_controls=0)["f"]
    cv = Moments.from_block_means(("f", "c"), x, len(z), n_controls=1)["f"]
    assert abs(cv.z(1.0)) < 4.5 and abs(plain.z(1.0)) < 4.5
    assert cv.stderr == pytest.approx(0.1 / math.sqrt(len(z)), rel=0.25)
    assert plain.stderr > 10 * cv.stderr


def test_ratio_delta_method_matches_the_spread_over_replicates():
    """(a + E[x]) / (b + E[y]) for correlated x, y: the delta-method error is honest."""
    rng = np.random.default_rng(2)
    values, errors = [], []
    for _ in range(200):
        u = rng.standard_normal((4000, 2))
        x = np.stack([u[:, 0], 0.6 * u[:, 0] + 0.8 * u[:, 1]], axis=1)
        mom = Moments.from_block_means(("x", "y"), _block_means(x, 100), len(x))
        est = mom.ratio({"x": 1.0}, 2.0, {"y": 1.0}, 3.0)
        values.append(est.value), errors.append(est.stderr)
    assert np.std(values) == pytest.approx(np.mean(errors), rel=0.15)
    assert np.mean(values) == pytest.approx(2.0 / 3.0, abs=4 * np.mean(errors) / math.sqrt(200))
    lin = mom.linear({"x": 2.0, "y": -1.0}, 0.5)
    assert lin.value == pytest.approx(2 * mom.mean[0] - mom.mean[1] + 0.5)


def test_z_score_floor_and_rejection():
    exact = Estimate(0.5, 0.0, 100)
    assert exact.z(0.5) == 0.0 and exact.agrees(0.5)
    assert not exact.agrees(0.5 + 1e-6)  # rounding floor is 1e-9 relative, not more
    assert Estimate(0.0, 0.0, 100).z(4e-19) == pytest.approx(-4e-7)  # absolute floor 1e-12
    est = Estimate(1.0, 0.01, 100)
    assert est.z(0.97) == pytest.approx(3.0)
    assert not est.agrees(0.95)


def test_proportion_and_wilson_interval():
    assert proportion(30, 100).stderr == pytest.approx(math.sqrt(0.21 / 100))
    lo, hi = wilson(0, 50)
    assert lo == 0.0 and 0.0 < hi < 0.1
    lo, hi = wilson(45, 50)
    assert lo < 0.9 < hi


def test_sample_means_ignore_nan():
    x = np.array([[1.0, np.nan], [3.0, 2.0], [5.0, 4.0]])
    mean, err = sample_means(x)
    np.testing.assert_allclose(mean, [3.0, 3.0])
    np.testing.assert_allclose(err, [2.0 / math.sqrt(3), 1.0])


def test_z_score_guards_a_zero_standard_error():
    from sparsefield.numerics.stats import z_score

    assert z_score(1.5, 1.0, 0.25) == 2.0
    assert z_score(1.0, 1.0, 0.0) == 0.0
    assert z_score(0.5, 1.0, 0.0) == -math.inf and z_score(2.0, 1.0, 0.0) == math.inf
