"""The tail-basis univariate route of piecewise-linear activations (theory/pl_univariate.py)
against an independent formula: the interval sums ``sum_k E[(a_k x + c_k)^2 1{x in I_k}]`` of
the catalogue pieces, in 60-digit mpmath (tails as ``Q(a) - Q(b)``, never ``1 - ...``)."""

import mpmath as mp
import numpy as np
import pytest

from sparsefield.theory import activations as A
from sparsefield.theory import generic, routes
from sparsefield.theory import moments as M
from sparsefield.theory import pl_univariate as U

PL = [("relu_tau", {"tau": 1.5}), ("st", {"tau": 0.7}), ("crelu", {"tau": 1.0364, "m": 0.8095}),
      ("cst", {"tau": 0.5, "m": 1.5}), ("hardtanh", {}), ("hardsigmoid", {}), ("relu6", {}),
      ("leaky_relu", {"slope": 0.1}), ("jumprelu", {"theta": 0.8}),
      ("hard_threshold", {"theta": 1.2}), ("crelu", {"tau": 0.0, "m": 1.0})]
QS = np.array([1e-3, 0.01, 0.05, 0.1, 0.2, 0.5, 1.0, 3.0, 10.0, 100.0])


def _mass(lo, hi):
    """``P(lo < z < hi)`` in mpmath without cancelling tails."""
    if lo >= 0:
        return mp.ncdf(-lo) - mp.ncdf(-hi)
    if hi <= 0:
        return mp.ncdf(hi) - mp.ncdf(lo)
    return 1 - mp.ncdf(lo) - mp.ncdf(-hi)


def mp_moment(act, q, order):
    """``E[phi^2]`` (or ``E[phi'^2]``) as the sum over the pieces ``a x + c`` on ``[A, B)``:
    ``a^2 q M2 + 2 a c s M1 + c^2 M0`` with ``M1 = gamma(alpha) - gamma(beta)``,
    ``M2 = M0 + alpha gamma(alpha) - beta gamma(beta)`` (``alpha = A/s``)."""
    mp.mp.dps = 60
    q = mp.mpf(float(q))
    s = mp.sqrt(q)
    edges = [-mp.inf] + [mp.mpf(float(b)) / s for b in act.breakpoints] + [mp.inf]
    slopes, icpts = act.linear_coeffs
    total = mp.mpf(0)
    for k, (a, c) in enumerate(zip(slopes, icpts)):
        lo, hi = edges[k], edges[k + 1]
        a, c = mp.mpf(float(a)), mp.mpf(float(c))
        m0 = _mass(lo, hi)
        if order == 1:
            total += a * a * m0
            continue
        g = [mp.npdf(v) if mp.isfinite(v) else mp.mpf(0) for v in (lo, hi)]
        zg = [v * gv if mp.isfinite(v) else mp.mpf(0) for v, gv in zip((lo, hi), g)]
        m1, m2 = g[0] - g[1], m0 + zg[0] - zg[1]
        total += a * a * q * m2 + 2 * a * c * s * m1 + c * c * m0
    return total


@pytest.mark.parametrize("name,params", PL, ids=[f"{n}-{i}" for i, (n, _) in enumerate(PL)])
@pytest.mark.parametrize("order", [0, 1])
def test_tail_basis_matches_interval_sums(name, params, order):
    """Exact to 1e-13 wherever the route admits ``q``, breakpoints ~60 sd out included; the
    input's own rounding (``b^2 / 2q`` in the exponent, ``~(1 + h^2) eps`` relative) is the floor."""
    act = A.get(name, **params)
    q = QS[QS <= generic.q_range(act)[1]]
    got = U.moment(act, q, order)
    ref = np.array([float(mp_moment(act, v, order)) for v in q])
    h2 = np.max(act.breakpoints ** 2) / q if len(act.breakpoints) else 0.0 * q
    tol = np.maximum(1e-13, 4e-16 * h2) * np.abs(ref) + 1e-300
    assert np.all(np.abs(got - ref) <= tol), np.abs(got / ref - 1).max()


def test_psi_against_mpmath():
    """``E[(w - h)_+^n]``, n = 0, 1, 2, across the direct / continued-fraction switch."""
    h = np.concatenate([np.linspace(0.0, 8.0, 161), [12.0, 20.0, 30.0]])
    got = U.tail_moments(h.copy())
    mp.mp.dps = 50
    for i, v in enumerate(h):
        x = mp.mpf(float(v))
        Q, g = mp.ncdf(-x), mp.npdf(x)
        for n, ref in enumerate((Q, g - x * Q, (1 + x * x) * Q - x * g)):
            assert abs(got[n][i] / float(ref) - 1) <= 1e-13, (n, v)


def test_crelu_grid_takes_one_route():
    """CReLU over q in [1e-3, 10] (breakpoints up to 58 sd out): every point by the tail
    basis, none by the panel rule (it took q < 0.21 before)."""
    act = A.get("crelu", tau=1.0364, m=0.8095)
    q = np.geomspace(1e-3, 10.0, 1000)
    assert routes.taken(act, "e_phi2", (q,)) == {"pl_tail": q.size}
    assert routes.taken(act, "e_dphi2", (q,)) == {"pl_tail": q.size}
    np.testing.assert_allclose(M.e_phi2(act, q[::111]),
                               [float(mp_moment(act, v, 0)) for v in q[::111]], rtol=1e-13)


@pytest.mark.parametrize("name,params", [(n, ex) for n, fam in A.CATALOGUE.items()
                                         for ex in fam.examples
                                         if A.get(n, **ex).is_piecewise_linear])
def test_wide_grid_takes_one_route(name, params):
    """Every piecewise-linear catalogue example over ``q = 1e-3 .. 1e8``: no point leaves the
    closed forms for the panel rule (counts, no timing; the speed is
    benchmarks/bench_pl_univariate.py).  Only a narrow interval far out leaves a gap
    ``q_hi < q < X^2`` to the panels: CReLU with ``m < tau / 4``, no catalogue example."""
    act = A.get(name, **params)
    q = np.geomspace(1e-3, 1e8, 2000)
    for quantity in ("e_phi2",) + (() if act.has_jumps else ("e_dphi2",)):
        assert set(routes.taken(act, quantity, (q,))) <= {"pl_tail", "homogeneous"}, quantity


def test_the_documented_gap_goes_to_the_panels():
    """The count above can fail: CReLU ``(5, 0.1)`` sends ``0.16 < q < 26`` to the panel rule
    (the tail basis is 4e-13 .. 8e-10 off there), and the panels agree with 60 digits."""
    act = A.get("crelu", tau=5.0, m=0.1)
    q = np.geomspace(1e-3, 1e8, 2000)
    gap = routes.taken(act, "e_phi2", (q,))
    assert gap.get("panels", 0) > 0 and gap["pl_tail"] > 0
    for v in (0.5, 5.0, 20.0):
        assert abs(M.e_phi2(act, np.array([v]))[0] / float(mp_moment(act, v, 0)) - 1) < 1e-12
