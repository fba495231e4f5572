"""The Mehler series route of piecewise-linear bivariate maps (theory/pl_mehler.py) against an
independent 30-digit mpmath reference: the 1-D integral over ``z1`` of ``phi(s z1)`` times the
conditional expectation of ``phi(s (rho z1 + c z2))``, written from the activation's pieces
(slopes and intercepts) alone and itself checked against ``mp_bivariate``."""

import mpmath as mp
import numpy as np
import pytest

from sparsefield.references import mpmath_moments as R
from sparsefield.theory import pl_bivariate, pl_mehler, routes
from sparsefield.theory.activations import get

DPS = 20  # the reference's resolution: ~1e-18 relative, 1e-20 of E[phi^2] absolute


def reference(act, q, rho, order, dps=None):
    """``E[phi^(order)(u1) phi^(order)(u2)]`` (classical derivative) in mpmath: the inner
    expectation over ``z2`` in closed form per piece (upper tails above the mean), the outer
    by tanh-sinh quadrature split at the breakpoints, each interval relative to its size."""
    with mp.workdps(dps or DPS):
        slopes, icpts = act.linear_coeffs
        b = [mp.mpf(float(v)) for v in act.breakpoints]
        al = [mp.mpf(float(v)) for v in slopes]
        be = [mp.mpf(float(v)) for v in icpts] if order == 0 else [mp.mpf(0)] * len(al)
        if order == 1:
            al, be = [mp.mpf(0)] * len(al), al
        s, r = mp.sqrt(mp.mpf(q)), mp.mpf(rho)
        c = mp.sqrt((1 - r) * (1 + r))
        edges = [-mp.inf] + b + [mp.inf]

        def phi(x):
            k = sum(1 for v in b if x >= v)
            return al[k] * x + be[k]

        def inner(z1):
            mu, sd = s * r * z1, s * c
            if sd == 0:
                return phi(mu)
            tot = mp.mpf(0)
            for k in range(len(al)):
                lo, hi = (edges[k] - mu) / sd, (edges[k + 1] - mu) / sd
                p = mp.ncdf(-lo) - mp.ncdf(-hi) if lo >= 0 else mp.ncdf(hi) - mp.ncdf(lo)
                dg = mp.npdf(lo) - mp.npdf(hi)
                tot += al[k] * (mu * p + sd * dg) + be[k] * p
            return tot

        f = lambda z: mp.npdf(z) * phi(s * z) * inner(z)  # noqa: E731
        cuts = sorted({v / s for v in b} | {mp.mpf(0)})
        pts = [-mp.inf] + cuts + [mp.inf]
        total = mp.mpf(0)
        for lo, hi in zip(pts[:-1], pts[1:]):  # mp.quad's tolerance is absolute: twice,
            est = abs(mp.quad(f, [lo, hi])) or 1  # the second time relative to the first
            total += mp.quad(lambda z: f(z) / est, [lo, hi]) * est
        return float(total)


def scale(act, q, order):
    with mp.workdps(20):
        return float(R.mp_univariate(act, q, order, lambda f: f * f))


ACTS = {  # odd, jumping, one-sided, clipped
    "st": {"tau": 0.3}, "hard_threshold": {"theta": 1.0}, "cst": {"tau": 0.4, "m": 0.6},
    "hardtanh": {}, "jumprelu": {"theta": 1.0}, "crelu": {"tau": 0.5, "m": 0.2},
}
RHOS = [0.0, 1e-8, -1e-8, 0.01, -0.01, 0.3, -0.3, 0.7]
QS = [1e-2, 0.3, 10.0, 100.0]
FAST = ([1e-2, 100.0], [-1e-8, 0.01, -0.3])  # the default run; -m slow: QS x RHOS


def _errors(name, order, planted=None, qs=FAST[0], rhos=FAST[1]):
    """``[(value, ref, bound, tol)]`` at the points the route serves."""
    act = get(name, **ACTS[name])
    out = []
    for q in qs:
        v, bound, sc = pl_mehler.series(act, q, np.array(rhos), order)
        _, ok = pl_mehler.expect(act, q, np.array(rhos), order)
        tol_scale = scale(act, q, order)
        for i in np.flatnonzero(ok):
            ref = reference(act, q, rhos[i], order)
            val = float(v[i]) if planted is None else planted(act, q, rhos[i], order)
            out.append((val, ref, float(bound[i]) + 1e-18 * abs(ref) + 1e-20 * tol_scale,
                        1e-13 * abs(ref) + 1e-24 * tol_scale))
            assert sc[i] <= tol_scale * (1 + 1e-12)  # the Parseval scale is a lower bound
    return out


def _check(rows, least):
    assert len(rows) >= least
    for val, ref, bound, tol in rows:
        assert abs(val - ref) <= bound, (val, ref, bound)
        assert abs(val - ref) <= tol, (val, ref, tol)


@pytest.mark.parametrize("name", list(ACTS))
@pytest.mark.parametrize("order", [0, 1])
def test_against_mpmath(name, order):
    """Where served: within its own bound and within the contract ``1e-13 |E| + 1e-24
    E[phi^2]``; the small-``|rho|`` points are served at ``q = 0.01`` and ``100``."""
    _check(_errors(name, order), 2)


@pytest.mark.slow
@pytest.mark.parametrize("name", list(ACTS))
@pytest.mark.parametrize("order", [0, 1])
def test_against_mpmath_grid(name, order):
    _check(_errors(name, order, qs=QS, rhos=RHOS), 20)


def test_planted_errors_fail():
    """The checks above fail on a coefficient off by 1e-12 and on a dropped jump term."""
    def off(act, q, rho, order):  # c_1 (1 + 1e-12): the leading term at small rho
        w, _ = pl_mehler.coefficients(act, np.array([q]), order, pl_mehler.N_MAX)
        w[1] *= (1 + 1e-12) ** 2
        return float(np.polynomial.polynomial.polyval(rho, w[:, 0]))

    def no_jumps(act, q, rho, order):
        bs = pl_bivariate.basis(act)
        flat = pl_bivariate.Basis(bs.a, bs.c, bs.breaks, bs.sigma, bs.J, 0.0 * bs.D, bs.pairs)
        real = pl_bivariate.basis
        pl_mehler.pl_bivariate.basis = lambda a: flat
        try:
            return float(pl_mehler.series(act, q, rho, order, everywhere=True)[0])
        finally:
            pl_mehler.pl_bivariate.basis = real

    for planted, name in ((off, "st"), (no_jumps, "hard_threshold")):
        rows = _errors(name, 0, planted, qs=[1.0], rhos=[0.01, -0.3])
        assert any(abs(v - r) > t for v, r, _, t in rows), planted.__name__


def test_exact_zero_at_rho_zero():
    """Odd ``phi``: every even coefficient is 0, so ``E = 0`` exactly at ``rho = 0``."""
    q = np.geomspace(1e-2, 1e2, 9)
    for name in ("st", "hard_threshold", "cst", "hardtanh"):
        v, ok = pl_mehler.expect(get(name, **ACTS[name]), q, 0.0)
        assert np.all(v == 0.0) and ok.all()
    assert pl_mehler.parity(get("jumprelu", theta=1.0)) == 0
    assert pl_mehler.parity(get("abs")) == 1


def test_reference_agrees_with_mp_bivariate():
    """The 1-D reference (at 30 digits) against the 2-D one of sparsefield/references."""
    for name, q, rho, order in (("st", 1.0, 0.01, 0), ("jumprelu", 0.3, -0.3, 1)):
        act = get(name, **ACTS[name])
        with mp.workdps(30):
            two = float(R.mp_bivariate(act, q, rho, order))
        assert reference(act, q, rho, order, 30) == pytest.approx(two, rel=1e-15)


def test_hermite_recurrence_within_its_bound():
    """``eta_j(t)`` by the float64 recurrence within the (empirical) bound of ``_eta``
    against 40 digits at fresh random ``t``; and Cramer's ``|eta_j| <= kappa`` (the tail)."""
    rng = np.random.default_rng(28)
    t = np.concatenate([rng.uniform(0.0, 37.0, 12), rng.uniform(0.0, 3.0, 4)])
    n = 401
    g = np.array([float(mp.npdf(v)) for v in t])[:, None]
    eta, err = pl_mehler._eta(t[:, None], 0.0 * t[:, None], g, n)
    with mp.workdps(40):
        for k, tv in enumerate(t):
            T = mp.mpf(tv)
            a, b = mp.npdf(T), T * mp.npdf(T)
            ref = [a, b]
            for i in range(1, n - 1):
                a, b = b, (T * b - mp.sqrt(i) * a) / mp.sqrt(i + 1)
                ref.append(b)
            ref = np.array([float(x) for x in ref])
            assert np.all(np.abs(eta[:, k, 0] - ref) <= err[:, k, 0]), tv
            kappa = pl_mehler.K_CRAMER * np.exp(-tv * tv / 4) / np.sqrt(2 * np.pi)
            assert np.all(np.abs(ref) <= kappa)


BENCH = np.broadcast_arrays(np.geomspace(1e-2, 1e2, 100)[:, None],
                            np.linspace(-1.0, 1.0, 100)[None, :])


@pytest.mark.parametrize("name,params", [("st", {"tau": 0.3}), ("hard_threshold", {"theta": 1.0}),
                                         ("cst", {"tau": 0.4, "m": 0.6}), ("hardtanh", {})])
def test_route_counts_small_rho(name, params):
    """On the 100 x 100 grid of benchmarks/bench_routes.py (catalogue examples) no point with
    ``|rho| <= 0.05`` goes to the slow routes: the closed form or the series takes it; the
    series takes exactly the points it serves that the closed form does not."""
    act = get(name, **params)
    qg, rg = BENCH
    rts, index, _ = routes.plan(act, "bivariate", (qg, rg), order=0)
    names = [r.name for r in rts]
    index = index.reshape(qg.shape)
    small = np.abs(rg) <= 0.05
    fast = np.isin(index, [names.index("pl_bivariate"), names.index("pl_mehler")])
    assert fast[small].all()
    _, closed = pl_bivariate.expect(act, qg, rg, 0, refine=False)  # the route before, which
    closed &= np.abs(rg) > pl_mehler.R_TRY  # passes |rho| <= R_TRY to the series (two kinks)
    _, ours = pl_mehler.expect(act, qg, rg, 0)
    taken = routes.taken(act, "bivariate", (qg, rg), order=0)
    assert taken["pl_mehler"] == np.count_nonzero(ours & ~closed) > 0
