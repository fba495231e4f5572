"""The radial moments ``I_1..I_3`` and the node sines of the apex form (theory/orthant_wedge.py)
against mpmath: ``I_n(m) = n! e^{m^2/4} D_{-n-1}(m)`` (the parabolic cylinder function, 40
digits) -- neither the Taylor table, the recurrences nor the Mills ratio enter it -- and
``sin``, ``cos`` at 30 digits.  Planted errors (a table entry 1e-13 off, too few Taylor
terms, a half-angle sine 1e-14 off) fail."""

import mpmath as mp
import numpy as np
import pytest

from sparsefield.theory import orthant_wedge as W

RNG = np.random.default_rng(28)
M = np.concatenate([RNG.uniform(0.0, W.M_TAYLOR, 150), W.STEP * np.arange(0, 193, 8),  # cell edges
                    W.STEP * (np.arange(0, 192, 16) + 0.5), RNG.uniform(W.M_TAYLOR, 60.0, 30),
                    [0.0, np.nextafter(W.M_TAYLOR, 99), 25.0, 30.0, 60.0]])


def _ref(m):
    with mp.workdps(40):
        x = mp.mpf(m)
        return np.array([float(mp.factorial(n) * mp.exp(x * x / 4) * mp.pcfd(-n - 1, x))
                         for n in (1, 2, 3)])


REF = np.array([_ref(m) for m in M]).T  # (3, points)


def _ulps():
    return np.max(np.abs(np.array(W.i_moments(M)) / REF - 1.0)) / W.EPS


def test_i_moments_against_parabolic_cylinder():
    """Within ``I_REL`` (16 ulps) everywhere; measured <= 7 (<= 4 up to ``M_TAYLOR``); any
    shape in, that shape out."""
    assert _ulps() <= W.I_REL / W.EPS
    assert np.max(np.abs(np.array(W.i_moments(M[M <= W.M_TAYLOR])) / REF[:, M <= W.M_TAYLOR]
                         - 1.0)) <= 5 * W.EPS
    two = np.array(W.i_moments(M[:120].reshape(2, 3, 20)))
    assert two.shape == (3, 2, 3, 20)
    np.testing.assert_array_equal(two.reshape(3, -1), np.array(W.i_moments(M[:120])))


def test_taylor_terms_from_the_bound():
    """The table keeps the fewest terms whose remainder bound is below ``EPS/16`` (10 at
    spacing 1/16); its centres sit mid-cell."""
    m0, c = W._taylor_table()
    assert c.shape == (10, 2, round(W.M_TAYLOR / W.STEP))
    np.testing.assert_allclose(np.diff(m0), W.STEP)


@pytest.mark.parametrize("plant", ["entry", "terms"])
def test_planted_table_errors_fail(monkeypatch, plant):
    m0, c = W._taylor_table()
    bad = c.copy()
    if plant == "entry":
        bad[0, 0, 40] *= 1.0 + 1e-13  # I_3 at one centre, 450 ulps off
    else:
        bad = bad[:7]  # three terms short
    monkeypatch.setattr(W, "_taylor_table", lambda: (m0, bad))
    assert _ulps() > W.I_REL / W.EPS


def test_half_angle_sines(monkeypatch):
    """``_sin_cos(tan(x/2))``: ``sin x`` within 2 ulps, ``cos x`` within 2 eps absolute on
    ``[0, pi)``; a sine 1e-14 off fails."""
    x = np.concatenate([RNG.uniform(0.0, np.pi, 400), [0.0, 1e-300, 1e-8, np.pi / 2,
                                                        np.nextafter(np.pi, 0.0)]])

    def worst():
        s, c = W._sin_cos(np.tan(0.5 * x))
        with mp.workdps(30):
            es = max(float(abs(mp.mpf(a) - mp.sin(mp.mpf(b)))) / max(float(abs(mp.sin(b))), 1e-300)
                     for a, b in zip(s, x))
            ec = max(float(abs(mp.mpf(a) - mp.cos(mp.mpf(b)))) for a, b in zip(c, x))
        return es / W.EPS, ec / W.EPS
    es, ec = worst()
    assert es <= 2.0 and ec <= 2.0
    good = W._sin_cos
    monkeypatch.setattr(W, "_sin_cos", lambda t: (good(t)[0] * (1 + 1e-14), good(t)[1]))
    assert worst()[0] > 2.0
