"""Upper-orthant moments ``L, H1, H2, G`` (theory/orthant.py with the apex form of
theory/orthant_wedge.py) against an independent mpmath reference: a 1-D ``mp.quad`` over
``z1`` of ``phi(z1)`` times the closed-form conditional moments of ``z2`` given ``z1``
(``Q(kappa)``, ``c psi_1(kappa)``, ``kappa = (k - r z1)/c``) at 30 digits -- neither
Rosenbaum's formulas, Owen's ``T`` nor polar coordinates enter it.  Far corners (``h, k``
up to 35), ``r -> +-1`` and the ``h = 0`` edges, where Rosenbaum's sums cancel."""

import mpmath as mp
import numpy as np
import pytest

from sparsefield.theory import orthant as O
from sparsefield.theory import orthant_wedge as W
from sparsefield.theory import pl_bivariate as P
from sparsefield.theory.activations import get

TINY = 1e-300  # below it a float result is 0 or subnormal: compared in absolute terms


def ref(h, k, r, dps=30):
    """``(L, H1, H2, G)`` as mpf: ``int_h^inf phi(x) (x - h)^a M_b(x) dx`` on panels that
    double away from the corner (and around ``x = k/r``, where ``z2``'s conditional law
    crosses ``k``), the integrand scaled to O(1) (``mp.quad``'s tolerance is absolute)."""
    with mp.workdps(dps):
        h, k, r = mp.mpf(h), mp.mpf(k), mp.mpf(r)
        c = mp.sqrt((1 - r) * (1 + r))

        def kap(x):
            return (k - r * x) / c

        def m1(x):  # E[(z2 - k)_+ | z1 = x]
            t = kap(x)
            return c * (mp.npdf(t) - t * mp.ncdf(-t))

        sc = min(1 / (h + abs(r * kap(h)) / c + 1), c)
        pts = [h] + [h + sc * 2 ** j for j in range(-4, 40) if sc * 2 ** j < 40]
        if r > 0 and k / r > h:
            pts += [k / r + c / r * t for t in (-8, -4, -2, -1, 0, 1, 2, 4, 8) if k / r + c / r * t > h]
        pts = sorted(set(pts)) + [mp.inf]
        s0 = mp.npdf(h) * mp.ncdf(-kap(h))

        def f(g):
            return mp.quad(lambda x: g(x) / s0, pts) * s0
        return (f(lambda x: mp.npdf(x) * mp.ncdf(-kap(x))),
                f(lambda x: (x - h) * mp.npdf(x) * mp.ncdf(-kap(x))),
                f(lambda x: mp.npdf(x) * m1(x)), f(lambda x: (x - h) * mp.npdf(x) * m1(x)))


def violations(h, k, r, refs, fn):
    """The moments whose error exceeds the returned bound (or, where the reference is below
    ``TINY``, ``TINY``), and the relative bounds."""
    h, k, r = (np.array([v], float) for v in (h, k, r))
    *vals, bounds = fn(h, k, r)
    bad, rel = [], []
    for name, v, e, x in zip(("L", "H1", "H2", "G"), vals, bounds, refs):
        v, e = float(np.ravel(v)[0]), float(np.ravel(e)[0])
        if abs(x) < TINY:
            bad += [name] if abs(v) > TINY else []
            rel.append(0.0)
            continue
        if not abs(mp.mpf(v) - x) <= e:
            bad.append(name)
        rel.append(e / float(abs(x)))
    return bad, rel


def apex(h, k, r):
    """Rosenbaum, refined by the apex form where its bounds exceed ``WEDGE_FROM`` (as
    :mod:`.pl_bivariate` calls it)."""
    *m, b = O.orthant(h, k, r)
    return O.refine(h, k, r, [np.array(x, float) for x in m] + [[np.array(x, float) for x in b]],
                    np.ones(np.shape(h), bool))


def wedge(h, k, r):
    """The apex form alone."""
    c = np.sqrt((1.0 - r) * (1.0 + r))
    return W.wedge(h, k, r, O._stars(h, k, r, c), O._stars(k, h, r, c))


R_EDGE = (-1 + 1e-12, -0.999, 0.999)
CASES = [  # (h, k, r): each where Rosenbaum's bound exceeds 1e-13 (or underflows)
    (0.0, 0.0, -1 + 1e-12), (0.0, 0.0, -0.999), (0.0, 3.0, -0.99), (0.0, 6.0, -0.9),
    (0.3, 0.0, -0.999), (3.0, 3.0, 0.0), (10.0, 10.0, 0.5), (10.0, 12.0, 0.9),
    (5.0, 1.0, 0.9), (8.0, 0.0, -0.3), (35.0, 30.0, 0.3), (0.0, 35.0, 0.2), (20.0, 25.0, -0.5),
]
SLOW = [(h, k, r) for h, k in ((0.0, 12.0), (3.0, 0.3), (12.0, 12.0), (35.0, 35.0), (0.3, 35.0))
        for r in (-1 + 1e-12, -0.999, -0.5, 0.0, 0.5, 0.999, 1 - 1e-12)]


@pytest.mark.parametrize("h,k,r", CASES)
def test_moments_within_their_bounds(h, k, r):
    """Both the public orthant (apex form where Rosenbaum's sums cancel) and the apex form
    alone: every error within its bound; the bound within ``1e-13`` (the points are served)
    except where ``gamma(h) gamma(k*)`` has an exponent beyond ~40 (the rounded input)."""
    refs = ref(h, k, r)
    for fn in (apex, wedge):
        bad, rel = violations(h, k, r, refs, fn)
        assert not bad, (fn.__name__, bad)
    c = np.sqrt((1 - r) * (1 + r))
    ks = float(O._stars(np.array(h), np.array(k), np.array(r), np.array(c)))
    if h * h + ks * ks < 80.0:
        assert max(rel) <= 1e-13, rel


@pytest.mark.slow
@pytest.mark.parametrize("h,k,r", SLOW)
def test_moments_within_their_bounds_grid(h, k, r):
    refs = ref(h, k, r)
    for fn in (apex, wedge):
        assert not violations(h, k, r, refs, fn)[0], fn.__name__


def test_r_to_minus_one_closed_forms():
    """At ``h = k = 0`` the moments are elementary: ``L = acos(-r)/2 pi``,
    ``H1 = H2 = (1 + r)/(2 sqrt(2 pi))``, ``G = (r acos(-r) + sqrt(1 - r^2))/2 pi`` (which
    cancels like ``(1 + r)^{3/2}``); evaluated in mpmath at 40 digits, ``r`` up to
    ``1e-14`` from -1: the error within the bound, and the bound within ``1e-13``."""
    eps = np.array([1e-14, 1e-12, 1e-9, 1e-6, 1e-3, 0.05, 0.5, 1.0, 1.5])
    r = -1.0 + eps
    z = np.zeros_like(r)
    *vals, bounds = apex(z, z, r)
    with mp.workdps(40):
        for i, ri in enumerate(r):
            x = mp.mpf(ri)
            a, c = mp.acos(-x), mp.sqrt((1 - x) * (1 + x))
            exact = (a / (2 * mp.pi), (1 + x) / (2 * mp.sqrt(2 * mp.pi)),
                     (1 + x) / (2 * mp.sqrt(2 * mp.pi)), (x * a + c) / (2 * mp.pi))
            for v, e, t in zip(vals, bounds, exact):
                assert abs(mp.mpf(v[i]) - t) <= e[i] <= 1e-13 * abs(t), (ri, float(v[i]), t)


def test_diagonal_limit_r_one():
    """``r = 1`` (``z1 = z2``): the half-line ``z > max(h, k)`` (elementary moments of one
    normal tail, mpmath ``quad``), where Rosenbaum's ``H1 = gamma(h) - h Q(h)`` loses ``h^2``."""
    for h, k in ((12.0, 12.0), (9.0, 12.0), (0.0, 5.0)):
        *vals, bounds = apex(np.array([h]), np.array([k]), np.array([1.0]))
        with mp.workdps(30):
            m = mp.mpf(max(h, k))
            s0 = mp.npdf(m)

            def tail(g):
                return mp.quad(lambda x: g(x) * mp.npdf(x) / s0, [m, m + 1, mp.inf]) * s0
            exact = (tail(lambda x: 1), tail(lambda x: x - h), tail(lambda x: x - k),
                     tail(lambda x: (x - h) * (x - k)))
        for v, e, t in zip(vals, bounds, exact):
            assert abs(mp.mpf(float(v[0])) - t) <= float(e[0]) <= 1e-13 * abs(t), (h, k)


PLANT = [(10.0, 12.0, 0.9), (0.0, 0.0, -0.999), (3.0, 3.0, 0.0), (5.0, 1.0, 0.9)]


@pytest.mark.parametrize("plant", ["i_moments", "nodes"])
def test_planted_errors_fail(monkeypatch, plant):
    """The comparison above catches a 1e-12 error in ``I_n`` and a rule with too few nodes."""
    refs = [ref(*c) for c in PLANT]
    assert not any(violations(*c, x, wedge)[0] for c, x in zip(PLANT, refs))
    if plant == "i_moments":
        good = W.i_moments
        monkeypatch.setattr(W, "i_moments", lambda m: tuple(v * (1 + 1e-12) for v in good(m)))
    else:
        monkeypatch.setattr(W, "TIERS", ((np.inf, W._gl(5)),))
    assert any(violations(*c, x, wedge)[0] for c, x in zip(PLANT, refs))


def test_relu_kernel_at_rho_minus_one():
    """ReLU (``relu_tau``, ``tau = 0``) and the arc-cosine kernel
    ``q (sqrt(1 - rho^2) + (pi - acos rho) rho) / 2 pi`` (Cho & Saul 2009) at 40 digits, as
    ``rho -> -1`` where it is ``~(1 + rho)^{3/2}``: served by the closed form (``ok``) and
    within ``1e-13``.  (Before, the basis about the steep piece cancelled ``q rho`` there.)"""
    act = get("relu_tau", tau=0.0)
    rho = -1.0 + np.array([1e-12, 1e-9, 1e-6, 1e-3, 0.02, 0.3])
    q = np.array([0.01, 1.0, 100.0])[:, None]
    value, ok = P.expect(act, q, rho[None, :])
    assert ok.all()
    with mp.workdps(40):
        for (i, j), v in np.ndenumerate(value):
            x = mp.mpf(rho[j])
            exact = mp.mpf(q[i, 0]) * (mp.sqrt(1 - x * x) + (mp.pi - mp.acos(x)) * x) / (2 * mp.pi)
            assert abs(v - exact) <= 1e-13 * exact, (q[i, 0], rho[j])
