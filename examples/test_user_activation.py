"""A user's own proof, asserted with ``sparsefield.testing`` (run by the test suite).

The claim.  For the unit-clipped ReLU ``phi(x) = min(max(x, 0), 1)`` (typed as an
expression, not taken from the catalogue) and ``x ~ N(0, q)``, ``t = 1/sqrt(q)``:

    E[phi^2] = q (Phi(t) - 1/2 - t gamma(t)) + Phibar(t)
    E[phi'^2] = Phi(t) - 1/2

so on the edge of chaos at ``q*`` the slope of the variance map,
``V'(q*) = 1 + E[phi phi''] / E[phi'^2] = 1 - gamma(t) / (sqrt(q*) (Phi(t) - 1/2))``,
is below 1: the fixed point is stable from both sides (the clipping of [P24]).
"""

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import ndtr

import sparsefield as sf
from sparsefield import testing

PHI = sf.from_expression("Min(Max(x, 0), 1)")


def gamma(z):
    return math.exp(-z * z / 2) / math.sqrt(2 * math.pi)


def claimed_e_phi2(q):
    t = 1 / math.sqrt(q)
    return q * (ndtr(t) - 0.5 - t * gamma(t)) + ndtr(-t)


def claimed_e_dphi2(q):
    return ndtr(1 / math.sqrt(q)) - 0.5


def claimed_vprime_on_eoc(q):
    t = 1 / math.sqrt(q)
    return 1 - gamma(t) / (math.sqrt(q) * (ndtr(t) - 0.5))


def test_breakpoints_were_found():
    assert list(PHI.breakpoints) == [0.0, 1.0]
    assert list(PHI.kinks) == [1.0, -1.0] and not PHI.has_jumps


def test_closed_forms_against_quadrature():
    grid = {"q": [0.05, 0.3, 1.0, 2.5, 10.0]}
    testing.assert_closed_form(claimed_e_phi2, PHI, "e_phi2", grid, rtol=1e-10)
    testing.assert_closed_form(claimed_e_dphi2, PHI, "e_dphi2", grid, rtol=1e-10)


def test_closed_form_against_monte_carlo():
    z = testing.assert_monte_carlo(PHI, 1.5, claimed={"e_phi2": claimed_e_phi2,
                                                      "e_dphi2": claimed_e_dphi2}, seed=3)
    assert all(abs(v) < testing.Z_BOUND for v in z.values())


@settings(max_examples=15, deadline=None)
@given(q_star=st.floats(0.2, 5.0))
def test_stable_on_the_edge_of_chaos(q_star):
    sw2, sb2 = sf.edge_of_chaos(PHI, q_star)
    mf = sf.MeanField(PHI, sw2, sb2)
    assert float(mf.chi1(q_star)) == pytest.approx(1.0, rel=1e-10)
    assert float(mf.dV(q_star)) == pytest.approx(claimed_vprime_on_eoc(q_star), rel=1e-9)
    assert float(mf.dV(q_star)) < 1.0
    testing.assert_derivatives(mf, q_star)
