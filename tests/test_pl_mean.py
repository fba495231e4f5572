"""``c_0 = E[phi(sqrt(q) z)]`` of the Mehler series (theory/pl_mean.py, theory/pl_mehler.py)
within its own error bound against 50-digit mpmath, written from the activation's pieces
(slopes, intercepts: ``E[(a x + b) 1{piece}]`` in closed form with upper tails above 0), over
q from the far tails (``h ~ 40``) to narrow clamps (``q = 1e6``); a planted error fails."""

import mpmath as mp
import numpy as np
import pytest

from sparsefield.theory import pl_bivariate, pl_mean, pl_mehler
from sparsefield.theory.activations import get

CASES = [("crelu", {"tau": 0.5, "m": 0.2}), ("crelu", {"tau": 1.0364, "m": 0.8095}),
         ("crelu", {"tau": 0.0, "m": 0.05}), ("relu6", {})]


def mean(act, q):
    """``E[phi(sqrt(q) z)]`` at 50 digits, piece by piece."""
    with mp.workdps(50):
        slopes, icpts = act.linear_coeffs
        s = mp.sqrt(mp.mpf(q))
        cuts = [-mp.inf] + [mp.mpf(float(b)) / s for b in act.breakpoints] + [mp.inf]
        tot = mp.mpf(0)
        for a, b, al, be in zip(cuts[:-1], cuts[1:], slopes, icpts):
            ga = mp.npdf(a) if mp.isfinite(a) else 0
            gb = mp.npdf(b) if mp.isfinite(b) else 0
            mass = mp.ncdf(-a) - mp.ncdf(-b) if a > 0 else mp.ncdf(b) - mp.ncdf(a)
            tot += mp.mpf(float(al)) * s * (ga - gb) + mp.mpf(float(be)) * mass
        return float(tot)


def _c0(act, q):
    bs = pl_bivariate.basis(act)
    t, t_lo, g = pl_mehler._t(bs.breaks, q)
    c0, _, e0, _ = pl_mehler._low(act, bs, q, 0, t, t_lo, g)
    return np.ravel(c0), np.ravel(e0)


def _worst(act, q):
    c0, e0 = _c0(act, q)
    ref = np.array([mean(act, x) for x in q])
    live = ref > 1e-280  # beyond, E[phi] underflows (and so does c_0: checked)
    assert np.all(c0[~live] < 1e-270)
    return (float(np.max(np.abs(c0 - ref)[live] / e0[live])),
            float(np.median(e0[live] / ref[live])))


@pytest.mark.parametrize("name,params", CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CASES)])
def test_c0_within_its_bound(name, params):
    act = get(name, **params)
    assert pl_mean.clamps(pl_bivariate.basis(act).sigma)
    q = np.exp(np.random.default_rng(11).uniform(np.log(1e-4), np.log(1e6), 150))
    worst, typical = _worst(act, q)
    assert worst <= 1.0
    assert typical <= 1e-14  # tight: the clamp no longer cancels (was ~1e-13 at q >= 10)


def test_planted_error_fails(monkeypatch):
    """A relative error of 1e-13 in the Gauss-Legendre difference of the clamp breaks the bound."""
    act = get("crelu", tau=0.5, m=0.2)
    q = np.geomspace(1.0, 1e4, 40)
    integral = pl_mean._integral
    monkeypatch.setattr(pl_mean, "_integral", lambda lo, hi: (
        integral(lo, hi)[0] * (1.0 + 1e-13), integral(lo, hi)[1]))
    assert _worst(act, q)[0] > 1.0
