"""Fixed points near q* and the bifurcation, against an independent dense sign scan; the
clip for tiny targets V'(q*) against mpmath ([P24] section 3; issue 12 items 3, 4).

The scan uses its own closed form of ``E[phi^2]`` for CReLU/CST (written here, scipy in
double precision away from ``q*``, mpmath at 40 digits within ``1e-3`` of it, where
``V(q) - q`` is far below double rounding), on the map with the derivation's
``tau, m, sigma_w^2`` and ``sigma_b^2`` recomputed in mpmath so that ``q* = 1`` is an
exact root.
"""

import mpmath as mp
import numpy as np
import pytest
from scipy import special
from scipy.special import ndtri

from sparsefield.theory import clipping as C
from sparsefield.theory.maps import extra_fixed_points

NEAR = 1e-3


def _ephi2(name, t, m, q):
    """E[phi^2], x ~ N(0, q): int_t^{t+m} (x - t)^2 p + m^2 P(x > t + m) (x2 for CST)."""
    s = np.sqrt(q)
    a, b = t / s, (t + m) / s
    p = special.ndtr(-a) - special.ndtr(-b)
    ga, gb = np.exp(-a * a / 2) / np.sqrt(2 * np.pi), np.exp(-b * b / 2) / np.sqrt(2 * np.pi)
    e = q * (p + a * ga - b * gb) - 2 * s * t * (ga - gb) + t * t * p + m * m * special.ndtr(-b)
    return 2 * e if name == "cst" else e


def _ephi2_mp(name, t, m, q):
    t, m, q = mp.mpf(t), mp.mpf(m), mp.mpf(q)
    s = mp.sqrt(q)
    a, b = t / s, (t + m) / s

    def tail(z):
        return mp.erfc(z / mp.sqrt(2)) / 2

    def dens(z):
        return mp.exp(-z * z / 2) / mp.sqrt(2 * mp.pi)
    p = tail(a) - tail(b)
    e = q * (p + a * dens(a) - b * dens(b)) - 2 * s * t * (dens(a) - dens(b)) + t * t * p \
        + m * m * tail(b)
    return 2 * e if name == "cst" else e


def _crossings(q, g):
    """Brackets ``(q_i, q_{i+1})`` where ``g`` changes sign."""
    sg = np.sign(g)
    return [(q[i], q[i + 1]) for i in np.nonzero(sg[:-1] * sg[1:] < 0)[0]]


def dense_scan(name, tau, m, sigma_w2, q_hi):
    """Brackets of every root of ``V(q) - q`` other than ``q* = 1`` in ``[1e-3, q_hi]``."""
    with mp.workdps(40):
        sb2 = 1 - mp.mpf(sigma_w2) * _ephi2_mp(name, tau, m, 1)
        off = np.geomspace(1e-11, NEAR, 80)
        out = []
        for side in (-1, 1):
            qn = 1 + side * off
            g = [float(mp.mpf(sigma_w2) * _ephi2_mp(name, tau, m, x) + sb2 - mp.mpf(x))
                 for x in qn]
            out += _crossings(qn, np.array(g))
        sb2 = float(sb2)

    def g(q):
        return sigma_w2 * _ephi2(name, tau, m, q) + sb2 - q
    for lo, hi in ((1e-3, 1 - NEAR), (1 + NEAR, q_hi)):
        q = np.geomspace(lo, hi, 6000)
        gq = g(q)
        out += _crossings(q, gq)
        # refine every local extremum that does not change sign (a pair may hide there)
        for i in range(1, len(q) - 1):
            s = np.sign(gq[i])
            if s * gq[i] <= s * gq[i - 1] and s * gq[i] <= s * gq[i + 1]:
                qq = np.linspace(q[i - 1], q[i + 1], 4001)
                out += _crossings(qq, g(qq))
    return sorted(set(out))


def clips(name, s):
    crit = C.critical_m(name, s)
    bif = crit["bifurcation"]
    ms = list(np.geomspace(0.9 * crit["vsecond_zero"], 3 * bif, 10))
    ms += [bif * (1 - 1e-6), bif * (1 + 1e-6), bif * (1 + 1e-5)]
    if (name, s) == ("crelu", 0.85):
        ms.append(4.23)  # once listed a local minimum of V(q) - q as a "marginal" root
    return bif, ms


@pytest.mark.parametrize("name", ["crelu", "cst"])
@pytest.mark.parametrize("s", [0.85, 0.9])
def test_fixed_points_agree_with_dense_scan_and_bifurcation(name, s):
    bif, ms = clips(name, s)
    nearest = 1.0
    for m in ms:
        d = C.derive(name, s, m=m)
        q_hi = 10.0 * (d.sigma_w2 * m * m + d.sigma_b2 + 1.0)
        scan = dense_scan(name, d.tau, m, d.sigma_w2, q_hi)
        extra = extra_fixed_points(d.fixed_points, 1.0)
        others = [f["q"] for f in d.fixed_points if f["q"] != 1.0]
        assert len(others) == len(scan), (m / bif, others, scan)
        for q, (lo, hi) in zip(others, scan):
            assert lo - 1e-12 <= q <= hi + 1e-12, (m / bif, q, lo, hi)
        assert all(f["stability"] != "marginal" for f in d.fixed_points), (m, d.fixed_points)
        # the bifurcation clip and the list agree: extra roots exactly past it
        assert bool(extra) == (m > bif), (m / bif, extra)
        if extra:
            assert [f["stability"] for f in extra] == ["unstable", "stable"]
            assert any("bifurcation" in w for w in d.warnings)
            nearest = min(nearest, extra[0]["q"] - 1.0)
    assert nearest < NEAR  # roots inside the mpmath zone were tested (1.7e-8 for crelu, 0.85)


def _vprime_mp(t, mu):
    """V'(q*) on the EoC at q* = 1: 1 - mu gamma(t + mu) / (Phi(t + mu) - Phi(t)) [P24]."""
    t, mu = mp.mpf(t), mp.mpf(mu)
    p = (mp.erfc(t / mp.sqrt(2)) - mp.erfc((t + mu) / mp.sqrt(2))) / 2
    return 1 - mu * mp.exp(-(t + mu) ** 2 / 2) / mp.sqrt(2 * mp.pi) / p


@pytest.mark.parametrize("name", ["crelu", "cst"])
@pytest.mark.parametrize("s", [0.6, 0.9, 0.999])
def test_clip_for_tiny_targets_matches_mpmath(name, s):
    """m solves V'(q*) = target to 1e-10 relative for targets 1e-12 .. 0.9 (mpmath root)."""
    t = float(ndtri(s) if name == "crelu" else ndtri((1 + s) / 2))
    with mp.workdps(40):
        for v in (1e-12, 1e-9, 1e-6, 0.3, 0.9):
            m = float(C.m_for_vprime(name, s, v))
            exact = mp.findroot(lambda x: _vprime_mp(t, x) - v, mp.mpf(m), tol=1e-30)
            assert abs(m - float(exact)) <= 1e-10 * float(exact), (v, m, exact)
            assert float(C.vprime_on_eoc(name, t, m)) == pytest.approx(
                float(_vprime_mp(t, m)), rel=1e-13)


@pytest.mark.parametrize("v", [1e-12, 1e-9, 1e-6])
def test_derive_tiny_target_is_accurate_or_a_clear_error(v):
    """``derive`` reports V'(q*) to 1e-12 relative, or (where the moments of the map lose
    precision at such a clip) a ParameterError naming ``vprime``: never a wrong number."""
    from sparsefield.theory.errors import ParameterError
    try:
        d = C.derive("crelu", 0.9, vprime=v)
    except ParameterError as err:
        assert err.param == "vprime" and "computable" in str(err)
        return
    assert d.vprime == pytest.approx(v, rel=1e-12)
    assert d.m == pytest.approx(float(C.m_for_vprime("crelu", 0.9, v)), rel=1e-15)
    assert 0 <= d.sigma_b2 <= 1.0


def test_targets_below_the_range_are_rejected():
    from sparsefield.theory.errors import ParameterError
    with pytest.raises(ParameterError, match=r"vprime=1e-13.*\[1e-12, 1\)"):
        C.derive("crelu", 0.9, vprime=1e-13)


def test_a_clip_at_the_bifurcation_is_warned_about():
    bif = C.critical_m("crelu", 0.85)["bifurcation"]
    below = C.derive("crelu", 0.85, m=bif * (1 - 1e-6))
    assert not extra_fixed_points(below.fixed_points, 1.0)
    assert any("tangent" in w for w in below.warnings)
    assert not any("tangent" in w for w in C.derive("crelu", 0.85, m=1.1 * bif).warnings)
