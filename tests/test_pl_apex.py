"""The apex form alone for one-signed piecewise-linear maps (theory/pl_apex.py, the
``pl_apex_signed`` route) against mpmath's bivariate map (sparsefield/references, 30 digits:
tanh-sinh in ``z1`` of the closed-form inner expectation -- no orthant moments enter it), where
Rosenbaum's sums cancel (far corners at small ``q``, ``rho -> -1``) and where the Mehler series
served before; a planted 1e-12 error in the apex moments fails."""

import mpmath as mp
import numpy as np
import pytest

from sparsefield.references.mpmath_moments import mp_bivariate
from sparsefield.theory import orthant_wedge, pl_apex, routes
from sparsefield.theory.activations import get

JUMP = get("jumprelu", theta=1.0)
# in JumpReLU's pl_apex_signed region
POINTS = [(0.01, 0.5), (0.0215, 0.2), (0.0464, -0.3), (0.1, -0.5), (3.0, -0.97), (100.0, -0.97)]


def _ref(act, order):
    with mp.workdps(30):
        return [mp_bivariate(act, q, r, order) for q, r in POINTS]


REFS = {order: _ref(JUMP, order) for order in (0, 1)}


def _worst(order):
    q, rho = (np.array(v) for v in zip(*POINTS))
    value, ok = pl_apex.expect(JUMP, q, rho, order)
    assert ok.all()
    return max(float(abs((mp.mpf(v) - x) / x)) for v, x in zip(value, REFS[order]))


@pytest.mark.parametrize("order", [0, 1])
def test_against_mpmath(order):
    """Within 1e-13 relative (the served tolerance) and served at every point; the public
    route sends every point here at order 0 (Rosenbaum's sums cancel; order 1 needs ``L``
    only, which Owen's ``T`` gives)."""
    assert _worst(order) <= 1e-13
    q, rho = (np.array(v) for v in zip(*POINTS))
    got = routes.taken(JUMP, "bivariate", (q, rho), order=order)
    assert set(got) <= {"pl_bivariate", "pl_apex_signed"}
    assert order == 1 or got == {"pl_apex_signed": len(POINTS)}


def test_planted_moment_error_fails(monkeypatch):
    good = orthant_wedge.wedge

    def bad(*a):
        *v, e = good(*a)
        return (*(x * (1.0 + 1e-12) for x in v), e)
    monkeypatch.setattr(orthant_wedge, "wedge", bad)
    with pytest.raises(AssertionError):
        assert _worst(0) <= 1e-13


def test_one_signed_maps_only():
    """JumpReLU and ReLU_tau (every term >= 0); CReLU, CST, hard threshold cancel at order 0
    (their points are left to the other routes), hard threshold's ``phi'`` does not."""
    for name, params in (("jumprelu", {"theta": 0.3}), ("relu_tau", {"tau": 0.7})):
        assert pl_apex.one_signed(get(name, **params), 0)
    for name, params in (("crelu", {"tau": 0.5, "m": 0.2}), ("cst", {"tau": 0.4, "m": 0.6}),
                         ("hard_threshold", {"theta": 1.0}), ("relu6", {})):
        act = get(name, **params)
        assert not pl_apex.one_signed(act, 0)
        assert pl_apex.expect(act, np.array([0.01, 1.0]), np.array([-0.5, 0.3]), 0) == (None, False)
    assert pl_apex.one_signed(get("hard_threshold", theta=1.0), 1)
