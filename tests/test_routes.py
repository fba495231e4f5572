"""The moment-route registry (theory/routes.py): every point of a grid goes to its own route.

A 100 x 100 (q, rho) grid per catalogue activation: the test counts which route each point
took (no timing) and checks the mix against conditions written here from the definitions
(intervals narrower than a quarter of the conditional sd, the strip of
analyticity, the piecewise-linear closed form's error bound), so one ill-conditioned point
cannot send a whole grid down the slow path.  The
new closed forms (ELU / SELU / CELU, GELU at rho < 0) are checked against the mpmath reference
at points where they are used.
"""

import mpmath as mp
import numpy as np
import pytest

from sparsefield.references import mpmath_moments as R
from sparsefield.theory import activations as A
from sparsefield.theory import (
    exp_bivariate,
    exp_polar,
    pl_apex,
    pl_bivariate,
    pl_mehler,
    pl_narrow,
    poly_narrow,
    routes,
    smooth_bivariate,
    strip,
)
from sparsefield.theory import moments as M

Q = np.geomspace(1e-2, 1e2, 100)
RHO = np.linspace(-1.0, 1.0, 100)
GRID = (Q[:, None], RHO[None, :])
N = Q.size * RHO.size
ARCCOS = {"relu", "leaky_relu", "identity", "abs", "relu2"}  # b relu(x)^n + a relu(-x)^n


def _default(name):
    fam = A.CATALOGUE[name]
    return fam.bind(**fam.examples[0])


def _narrow(act, q, rho):
    """Some interval between breakpoints narrower than a quarter of the conditional sd."""
    sd = np.sqrt(q * (1.0 - rho * rho))
    w = np.diff(act.breakpoints)
    return np.zeros(np.broadcast_shapes(q.shape, rho.shape), bool) if not w.size \
        else sd > 4.0 * w.min()


@pytest.mark.parametrize("name", list(A.CATALOGUE))
def test_every_grid_point_has_its_own_route(name):
    act = _default(name)
    got = routes.taken(act, "bivariate", GRID, order=0)
    assert sum(got.values()) == N
    q, rho = np.broadcast_arrays(*GRID)
    if name in ARCCOS:
        assert got == {"arccos": N}
    elif name == "gelu":  # the closed form, regrouped for rho < 0: every point
        assert got == {"gelu": N}
    elif act.is_piecewise_linear:  # Rosenbaum's orthant sums where their own error bound
        # holds (for two corners or more only at |rho| > R_TRY: the series is tried first); where
        # every term has one sign (JumpReLU, ReLU_tau) the apex form alone (theory/pl_apex.py);
        # then the Mehler series where its bound holds (small |rho|); then the clamp basis of a
        # bounded phi (theory/pl_narrow.py); then the orthant sums with the apex form (far
        # corners, rho -> -1); the rest: the closed-form inner integral (never the panels)
        _, ok = pl_bivariate.expect(act, q, rho, 0, refine=False)
        ok &= ~((len(pl_bivariate.basis(act).corners) > 1) & (np.abs(rho) <= pl_mehler.R_TRY))
        signed = ~ok & pl_apex.expect(act, q, rho, 0)[1]
        assert got.get("pl_apex_signed", 0) == np.count_nonzero(signed)
        assert (name in ("jumprelu", "relu_tau")) == pl_apex.one_signed(act, 0)
        _, series = pl_mehler.expect(act, q, rho, 0)
        series &= ~ok & ~signed
        clamp = ~ok & ~signed & ~series & (
            pl_narrow.expect(act, q, rho, 0)[1] if pl_narrow.applies(act) else False)
        apex = ~ok & ~signed & ~series & ~clamp & pl_bivariate.expect(act, q, rho, 0)[1]
        rest = ~ok & ~signed & ~series & ~clamp & ~apex
        assert got.get("pl_bivariate", 0) == np.count_nonzero(ok) > 0
        assert got.get("pl_mehler", 0) == np.count_nonzero(series)
        assert got.get("pl_narrow", 0) == np.count_nonzero(clamp)
        assert got.get("pl_apex", 0) == np.count_nonzero(apex)
        assert got.get("panels", 0) == 0
        assert got.get("pl_inner", 0) == np.count_nonzero(rest) <= 0.02 * N
    elif act.family.strip is not None:  # sd <= 12 on this grid: the strip's inner rule
        assert got == {"strip": N}
    elif exp_polar.applies(act):  # ELU family: the closed form where its bound holds, the
        # polar rule where it cancels (sqrt(q)/alpha <= 1), the panels at none but a few
        _, ok = exp_bivariate.expect(act, q, rho, 0)
        polar = ~ok & exp_polar.accurate(act, q, rho)
        assert got.get("exp_bivariate", 0) == np.count_nonzero(ok) >= 0.75 * N
        assert got.get("exp_polar", 0) == np.count_nonzero(polar)
        assert got.get("panels", 0) == np.count_nonzero(~ok & ~polar) <= 2
    elif poly_narrow.applies(act):  # clipped ReLU^2, hardswish: closed form, else Gauss-
        # Legendre over the narrow piece, else closed inner + outer panels; never the panels
        _, ok = exp_bivariate.expect(act, q, rho, 0)
        _, narrow = poly_narrow.expect(act, q, rho, 0)
        assert got.get("exp_bivariate", 0) == np.count_nonzero(ok) >= 0.5 * N
        assert got.get("poly_narrow", 0) == np.count_nonzero(~ok & narrow)
        assert got.get("poly_inner", 0) == np.count_nonzero(~ok & ~narrow) <= 0.05 * N
        assert "panels" not in got
    else:  # GoLU: entire, but no strip in the sinh-mapped variable: the band's uniform
        # rule where its bound holds (all but zero crossings of the map), else the panels
        assert smooth_bivariate.applies(act)
        _, ok = smooth_bivariate.expect(act, q, rho, 0)
        assert got.get("smooth_bivariate", 0) == np.count_nonzero(ok) >= 0.9 * N
        assert got.get("panels", 0) == np.count_nonzero(~ok)


# ELU / SELU / CELU written by hand: phi = lam x (x > 0), amp (e^{rate x} - 1) (x < 0)
ELU_FORMS = {"elu": lambda a: (1.0, a, 1.0), "celu": lambda a: (1.0, a, 1.0 / a),
             "selu": lambda a: (float(A.SELU_LAMBDA), float(A.SELU_LAMBDA * A.SELU_ALPHA), 1.0)}


def mp_elu_bivariate(name: str, alpha: float, q: float, rho: float, order: int):
    """E[phi^(o)(u1) phi^(o)(u2)] at 30 digits: the inner expectation over
    u2 | u1 ~ N(rho u1, q (1 - rho^2)) in closed form (E[u; u > 0] = m Phi(m/sd) + sd
    gamma(m/sd), E[e^{s u}; u < 0] = e^{s m + s^2 v/2} Phi(-(m + s v)/sd)), the outer by
    mpmath's tanh-sinh split at 0 and the inner's transition (width (1 - rho^2)^(1/2) / |rho|).
    sparsefield.references.mpmath_moments.mp_bivariate is 4% off at q = 100, rho = -0.999
    (-7.5717 against -7.8934, which the panel rule and Monte Carlo confirm): not used here."""
    mp.mp.dps = 30
    lam, amp, s = (mp.mpf(v) for v in ELU_FORMS[name](alpha))
    q, rho = mp.mpf(q), mp.mpf(rho)
    v = q * (1 - rho) * (1 + rho)
    sd = mp.sqrt(v)
    # phi^(o) = lin(x) on x > 0, A e^{s x} + B on x < 0
    A_, B = (amp, -amp) if order == 0 else (amp * s, mp.mpf(0))

    def lin(x):
        return lam * x if order == 0 else lam

    def f(x):
        return lin(x) if x > 0 else A_ * mp.exp(s * x) + B

    def inner(m):
        t = m / sd
        pos = lam * (m * mp.ncdf(t) + sd * mp.npdf(t)) if order == 0 else lam * mp.ncdf(t)
        neg = A_ * mp.exp(s * m + s * s * v / 2) * mp.ncdf(-(m + s * v) / sd) + B * mp.ncdf(-t)
        return pos + neg

    sq = mp.sqrt(q)
    w = sd / (sq * abs(rho)) if rho else mp.mpf(1)
    cuts = sorted({mp.mpf(0)} | {k * w for k in (-6, -1, 1, 6)} | {mp.mpf(-1), mp.mpf(1)})
    return mp.quad(lambda z: f(sq * z) * inner(rho * sq * z) * mp.npdf(z),
                   [-mp.inf] + cuts + [mp.inf], maxdegree=10)


EXP_POINTS = [  # (name, alpha, q, rho, order, the route that takes the point)
    ("elu", 1.0, 0.01, -0.9999, 0, "exp_polar"),
    ("elu", 1.0, 1.0, 0.999, 0, "exp_bivariate"),
    ("elu", 1.0, 100.0, -0.999, 0, "exp_bivariate"),
    ("elu", 1.0, 1e4, -0.999, 0, "panels"),  # the closed form cancels (mean rho q vs sd sqrt q)
    ("elu", 0.5, 1.0, -0.999, 1, "exp_bivariate"),
    ("selu", None, 0.01, -0.9999, 0, "exp_polar"),
    ("selu", None, 30.0, 0.9999, 0, "exp_bivariate"),
    ("celu", 2.0, 0.05, -0.999, 0, "exp_polar"),
    ("celu", 2.0, 3.0, 0.99999, 1, "exp_bivariate"),
    # q > 150: K_MAX = 300 (and the rho = 1 scale point, K = 2q) sent these to the panels
    ("elu", 1.0, 300.0, 0.999, 0, "exp_bivariate"),
    ("selu", None, 1000.0, -0.5, 1, "exp_bivariate"),
    ("celu", 2.0, 2000.0, 0.0, 0, "exp_bivariate"),
]


def test_one_bad_point_does_not_move_the_others():
    """CST: each point goes to its own route -- the orthant closed form where its bound holds
    beyond ``|rho| = 0.9`` (the series is tried first within), the Mehler series at rho = 0
    (E = 0: no relative bound for the orthant sums) and rho = 0.5, the clamp basis where
    q (1 - rho^2) > (4 m)^2 (the panels before theory/pl_narrow.py; the former ``np.all`` over
    the array sent all of them there)."""
    act = A.get("cst", tau=0.4, m=0.6)
    q, rho = np.array([1.0, 1.0, 1.0, 100.0, 100.0, 100.0]), np.array([0.5, 0.95, 0.0, 0.0,
                                                                         0.95, 0.99])
    assert routes.taken(act, "bivariate", (q, rho), order=0) == \
        {"pl_bivariate": 1, "pl_mehler": 3, "pl_narrow": 2}
    both = M.e_phi_phi(act, q, rho)
    for at in (slice(0, 2), slice(2, 4), slice(4, 5), slice(5, 6)):
        np.testing.assert_allclose(both[at], M.e_phi_phi(act, q[at], rho[at]), rtol=1e-14)


@pytest.mark.parametrize("name,params,share", [("crelu", {"tau": 1.0364, "m": 0.8095}, 0.86),
                                               ("cst", {"tau": 0.5, "m": 1.5}, 0.9)])
def test_closed_form_takes_most_of_a_kinked_grid(name, params, share):
    """bench_peers' grid (q in [0.1, 10] x rho in [-1, 1]): the orthant closed form serves most
    points (CReLU: its ramps cancel at larger q; CST: an odd phi, ``E[phi phi]`` cancels near
    ``rho = 0``: docs/theory.md section 3.2), phi' all but a few.  Measured with the apex form
    (theory/orthant_wedge.py): CReLU 82% (44% before), CST 89% (91% before, when Rosenbaum's
    bound left out the tail growth of ``gamma(h) Q(k*)``); with the bound of G (orthant.g_bound,
    pl_bivariate.input_bound: docs/theory.md section 3.2) CReLU 87.8%, CST 90.5%."""
    act = A.get(name, **params)
    q, rho = np.broadcast_arrays(np.geomspace(0.1, 10.0, 100)[:, None], RHO[None, :])
    assert np.count_nonzero(pl_bivariate.expect(act, q, rho, 0)[1]) >= share * N
    assert np.count_nonzero(pl_bivariate.expect(act, q, rho, 1)[1]) >= 0.97 * N


def test_homogeneous_route():
    """ReLU, leaky ReLU, |x|: E[phi^2] = q E[phi(z)^2] exactly, E[phi'^2] constant; a kink
    off zero (ReLU_tau) or an intercept is not homogeneous."""
    for name, params, k2, k1 in (("relu", {}, 0.5, 0.5), ("abs", {}, 1.0, 1.0),
                                 ("leaky_relu", {"slope": 0.1}, 0.505, 0.505)):
        act = A.get(name, **params)
        assert routes.taken(act, "e_phi2", (Q,)) == {"homogeneous": Q.size}
        np.testing.assert_allclose(M.e_phi2(act, Q), k2 * Q, rtol=1e-15)
        np.testing.assert_allclose(M.e_dphi2(act, Q), k1, rtol=1e-15)
    assert "homogeneous" not in routes.taken(A.get("relu_tau", tau=0.5), "e_phi2", (Q,))


def test_univariate_mix():
    """ELU-type closed forms everywhere but small q (where E[(e^x - 1)^2; x < 0] ~ q/2 cancels);
    analytic activations by their strip rule; GELU's V and chi_1 in closed form."""
    for name in ("elu", "selu", "celu"):
        got = routes.taken(_default(name), "e_phi2", (Q,))
        assert got["exp_poly"] >= np.count_nonzero(Q >= 0.1)
        assert routes.taken(_default(name), "e_phi2", (np.array([1e-5]),)) == {"panels": 1}
        assert routes.taken(_default(name), "e_dphi2", (Q,)) == {"exp_poly": Q.size}
    assert routes.taken(_default("tanh"), "e_phi2", (Q,)) == {"strip": Q.size}
    assert routes.taken(_default("gelu"), "e_dphi2", (Q,)) == {"gelu": Q.size}
    assert routes.taken(_default("tanh"), "e_phi_dphi", (Q,), region="pos") == {"panels": Q.size}


def test_methods_select_routes():
    elu = _default("elu")
    assert routes.taken(elu, "e_phi2", (Q,), method="panels") == {"panels": Q.size}
    assert routes.taken(elu, "e_phi2", (Q,), method="closed") == {"exp_poly": Q.size}
    with pytest.raises(TypeError):
        M.e_phi2(_default("tanh"), 1.0, method="closed")

def check_exp_poly_against_mpmath(act, q: float, **tol) -> None:
    """E[phi^2], E[phi'^2], E[phi] at one q: taken by the exp_poly route and equal to the
    20-digit mpmath integral within ``tol``."""
    mp.mp.dps = 20
    for quantity, order, fn in (("e_phi2", 0, lambda f: f * f), ("e_dphi2", 1, lambda f: f * f),
                                ("e_phi", 0, lambda f: f)):
        assert routes.taken(act, quantity, (np.array([q]),)) == {"exp_poly": 1}
        ref = float(R.mp_univariate(act, q, order, fn))
        assert getattr(M, quantity)(act, q) == pytest.approx(ref, **tol)


@pytest.mark.parametrize("name,params", [("elu", {"alpha": 0.5}), ("selu", {}),
                                         ("celu", {"alpha": 2.0})])
@pytest.mark.parametrize("q", [0.3, 4.0, 100.0])
def test_exponential_closed_forms_against_mpmath(name, params, q):
    check_exp_poly_against_mpmath(A.get(name, **params), q, rel=1e-13, abs=1e-300)


@pytest.mark.parametrize("q,rho", [(10.0, -0.99), (3.0, -0.7), (30.0, -0.3), (100.0, -0.9)])
def test_gelu_closed_form_at_negative_rho_against_the_strip_rule(q, rho):
    """Tsuchida et al.'s closed form where its error bound holds, against the strip rule
    (an independent route, itself checked against mpmath in test_strip.py)."""
    act = A.get("gelu")
    assert routes.taken(act, "bivariate", (np.array([q]), np.array([rho])), order=0) == \
        {"gelu": 1}
    for order, fn in ((0, M.e_phi_phi), (1, M.e_dphi_dphi)):
        ref = strip.bivariate(act, np.array([q]), np.array([rho]), order)[0]
        assert float(fn(act, q, rho)) == pytest.approx(ref, rel=1e-13)


@pytest.mark.parametrize("q,rho", [(100.0, -1.0), (100.0, -0.99), (1e4, -0.9999), (30.0, -0.3),
                                   (0.01, -1.0), (3.0, -1e-9), (7.0, -0.2)])
def test_gelu_regrouped_form_against_the_printed_form_in_mpmath(q, rho):
    """The rho < 0 regrouping (theory/gelu_kernel.py) against Tsuchida et al.'s form as
    printed, evaluated with 50 digits (its cancellation then costs nothing): relative error
    within 1e-13 (none of these points is at the kernel's zero crossing; without the series
    for atan t - t the error is 1.3e-12 at q = 1e4, rho = -0.9999)."""
    mp.mp.dps = 50
    qm, rm = mp.mpf(q), mp.mpf(rho)
    k, qp = rm * qm, 1 + qm
    d2 = (qp - k) * (qp + k)
    d, ang = mp.sqrt(d2), mp.atan2(rm * qm, mp.sqrt(d2))
    refs = (k / 4 + ((k * k + qm * qm * d2) / (qp * qp * d) + k * ang) / (2 * mp.pi),
            mp.mpf(1) / 4 + ang / (2 * mp.pi) + k * (1 / d2 + 2 / qp) / (2 * mp.pi * d))
    act = A.get("gelu")
    for order, fn in ((0, M.e_phi_phi), (1, M.e_dphi_dphi)):
        ref = float(refs[order])
        assert float(fn(act, q, rho)) == pytest.approx(ref, rel=1e-13)


@pytest.mark.parametrize("name,params,q", [("crelu2", {"c": 1.0}, 5.0), ("crelu2", {"c": 1.0}, 100.0),
                                           ("crelu2", {"c": 3.0}, 3.5), ("hardswish", {}, 50.0)])
def test_narrow_polynomial_interval_by_gauss_legendre_against_mpmath(name, params, q):
    """An interval narrower than sqrt(q) (clipped ReLU^2's [0, sqrt c], hardswish's [-3, 3]) is
    integrated by Gauss-Legendre (theory/exp_poly.py): the closed-form route takes the point
    (the truncated-moment sums cancel there) and matches mpmath."""
    check_exp_poly_against_mpmath(A.get(name, **params), q, rel=1e-14)


def _bivariate_check(act, q, rho, order, ref, routes_allowed):
    """The point takes one of ``routes_allowed`` and is within 1e-13 relative of ``ref`` or,
    at a zero crossing, within the documented floor COND_MAX eps E[phi^(o)^2]
    (theory/exp_bivariate.py)."""
    got = routes.taken(act, "bivariate", (np.array([q]), np.array([rho])), order=order)
    assert set(got) <= set(routes_allowed), got
    fn = M.e_phi_phi if order == 0 else M.e_dphi_dphi
    scale = float(fn(act, q, 1.0))
    assert abs(float(fn(act, q, rho)) - ref) <= 1e-13 * abs(ref) + exp_bivariate.ATOL * scale


@pytest.mark.parametrize("name,alpha,q,rho,order,route", EXP_POINTS)
def test_exp_bivariate_against_mpmath(name, alpha, q, rho, order, route):
    """ELU / SELU / CELU: the closed form (or the polar rule at small q) at rho near +-1 and
    q from 1e-2 to 1e4 against the 30-digit one-dimensional mpmath integral above."""
    act = A.get(name, **({} if alpha is None else {"alpha": alpha}))
    ref = float(mp_elu_bivariate(name, alpha, q, rho, order))
    _bivariate_check(act, q, rho, order, ref, (route,))


@pytest.mark.parametrize("name,params,q,rho,order,route", [
    ("crelu2", {"c": 1.0}, 0.3, -0.999, 0, "exp_bivariate"),
    ("crelu2", {"c": 1.0}, 100.0, 0.99, 0, "poly_narrow"),
    ("crelu2", {"c": 1.0}, 1e4, -0.9999, 1, "poly_narrow"),
    ("crelu2", {"c": 3.0}, 10.0, 0.999, 0, "poly_inner"),
    ("hardswish", {}, 1e-2, 0.9999, 0, "exp_bivariate"),
    ("hardswish", {}, 100.0, -0.5, 1, "poly_narrow"),
    ("hardswish", {}, 80.0, -0.999, 1, "poly_inner"),
    ("hardswish", {}, 60.0, 0.998, 0, "exp_bivariate")])
def test_piecewise_polynomial_bivariate_against_mpmath(name, params, q, rho, order, route):
    """Clipped ReLU^2 and hardswish: each of the three routes at a point it takes, against
    mpmath (exact inner expectation of polynomial pieces: ~1 s per point)."""
    mp.mp.dps = 20
    act = A.get(name, **params)
    ref = float(R.mp_bivariate(act, q, rho, order))
    _bivariate_check(act, q, rho, order, ref, (route,))


def test_exp_bivariate_points_are_independent_of_their_grid():
    """A point's value does not depend on the other points of the call (routes per point)."""
    act = A.get("selu")
    q, rho = np.array([0.01, 1.0, 100.0, 100.0]), np.array([0.5, -0.999, 0.3, -0.98])
    both = M.e_phi_phi(act, q, rho)
    assert len(routes.taken(act, "bivariate", (q, rho), order=0)) >= 2
    for i in range(q.size):
        assert both[i] == pytest.approx(float(M.e_phi_phi(act, q[i], rho[i])), rel=1e-15)
