"""The mpmath references themselves (sparsefield/references/mpmath_moments.py) against
independent routes, down to ``q = 1e-3`` where the moments of a thresholded ``phi`` are
1e-41 .. 1e-793: ``mp_univariate`` (tanh-sinh per interval, second pass relative to the
first) against the interval sums of the catalogue pieces (tests/test_pl_univariate.py,
60 digits) and, for smooth ``phi``, against ``mp_dq_e_phi2`` (another split and scaling)."""

import mpmath as mp
import pytest

from sparsefield.references import mpmath_moments as R
from sparsefield.theory import activations as A
from test_pl_univariate import mp_moment

TOL = 1e-15  # of the quantity, at 18 digits
PL = [("cst", {"tau": 0.4, "m": 0.6}), ("crelu", {"tau": 1.1, "m": 1.7}), ("st", {"tau": 1.9}),
      ("relu6", {}), ("hard_threshold", {"theta": 1.0})]


def rel(got, want) -> float:
    return float(abs(got / want - 1))


@pytest.mark.parametrize("name,params", PL, ids=[n for n, _ in PL])
@pytest.mark.parametrize("q", [1e-3, 1.0, 1e8])
def test_mp_univariate_relative_to_the_quantity(name, params, q):
    act = A.get(name, **params)
    for order in (0, 1):
        if order == 1 and act.has_jumps:
            continue
        want = mp_moment(act, q, order)
        with mp.workdps(18):
            got = R.mp_univariate(act, q, order, lambda f: f * f)
        assert rel(got, want) <= TOL, (name, q, order, float(got), float(want))


@pytest.mark.parametrize("name", ["tanh", "elu"])
@pytest.mark.parametrize("q", [1e-3, 1e4])
def test_mp_univariate_smooth_against_density_form(name, q):
    act = A.get(name)
    with mp.workdps(18):
        got = R.mp_univariate(act, q, 0, lambda f: f * f)
    want = R.mp_dq_e_phi2(act, q, 0, dps=30)
    assert rel(got, want) <= 1e-14, (name, q, float(got), float(want))  # tanh q=1e4: 6e-15


def test_one_pass_would_fail():
    """The check can fail: one absolute-tolerance pass over the same intervals (the old
    ``mp_univariate``) is 3e-6 off for CST's ``E[phi^2]`` at ``q = 1e-3``."""
    act = A.get("cst", tau=0.4, m=0.6)
    funcs, _, breaks = R.mp_pieces(act.name, act.values, 0)
    with mp.workdps(18):
        s = mp.sqrt(mp.mpf(1e-3))
        pts = R._near([b / s for b in breaks] + [mp.mpf(0)], [1 / s, mp.mpf(1)])
        one = mp.quad(lambda z: funcs[R._piece_index(breaks, s * z)](s * z) ** 2 * mp.npdf(z),
                      [-mp.inf] + pts + [mp.inf])
    assert rel(one, mp_moment(act, 1e-3, 0)) > 1e3 * TOL


@pytest.mark.slow
@pytest.mark.parametrize("q,rho", [(100.0, -0.999)])
def test_mp_bivariate_elu_near_rho_one(q, rho):
    """mp_bivariate split the inner integral of an exponential piece only around the
    breakpoint's image, not at the Gaussian's centre: -7.5717 for -7.8934 at q = 100,
    rho = -0.999 (5.6e-13 off at q = 1, rho = 0.999).  Against the 1-D form with the inner
    expectation in closed form (tests/test_routes.py); ~4 min CPU (q = 1, rho = 0.999: > 10 min)."""
    from test_routes import mp_elu_bivariate
    mp.mp.dps = 30
    ref = mp_elu_bivariate("elu", 1.0, q, rho, 0)
    got = R.mp_bivariate(A.get("elu"), q, rho, 0)
    assert abs(got - ref) <= mp.mpf(10) ** -20 * abs(ref)
