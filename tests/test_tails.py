"""``V``, ``V'``, ``V''`` exact everywhere (theory/tails.py, docs/theory.md section 3).

The reference (:func:`sparsefield.references.mpmath_moments.mp_dq_e_phi2`) differentiates the Gaussian
density in ``q`` inside an mpmath integral of ``phi^2`` -- neither ``phi'``, ``phi''``, the
kink sums nor the remainder split enter it.  Tolerance: ``REL`` of the quantity, plus the
documented floor ``FLOOR`` of its natural scale ``E[phi^2] / q^k`` (only underflowing values
use it), or the reference's own resolution where its cancellation leaves no digit (a value
such as CReLU's ``V'' ~ e^-8000``: 1e-10 of ``E[phi^2 |He_2k|]/(2q)^k`` at 160+ digits).  The
default run takes the cases of issue 25 and a spread of others; ``-m slow``
runs every catalogue activation over ``q = 1e-3 .. 1e8`` and its tails.
"""

import math

import mpmath as mp
import numpy as np
import pytest

from sparsefield.references import mpmath_moments as R
from sparsefield.theory import activations as A
from sparsefield.theory import symbolic as S
from sparsefield.theory.maps import MeanField
from sparsefield.theory.piecewise_linear import PiecewiseLinear

from helpers import all_activations

REL = 1e-12
FLOOR = 1e-300
QS = [10.0 ** p for p in range(-3, 9)]


def homogeneous(act) -> bool:
    """``phi(c x) = c phi(x)`` for ``c > 0`` (ReLU, leaky ReLU, |x|, identity): ``V = q V(1)``
    and ``V'' = 0`` exactly, which the reference could only resolve to its precision."""
    if not act.is_piecewise_linear or act.has_jumps:
        return False
    pl = PiecewiseLinear.of(act.family, *act.values)
    return all(float(b) == 0.0 for b in pl.breaks) and all(float(c) == 0.0 for c in pl.intercepts)


def tail_qs(act) -> list[float]:
    """Variances that put the farthest breakpoint 8.5 and 12 standard deviations out."""
    b = float(np.max(np.abs(act.breakpoints))) if act.breakpoints.size else 0.0
    return [(b / 8.5) ** 2, (b / 12.0) ** 2] if b > 0 else []


def check_against_mpmath(act, q: float) -> None:
    mf = MeanField(act, 1.0, 0.0)
    got = [float(mf.V(q)), float(mf.dV(q)), float(mf.d2V(q))]
    ref, res = [R.mp_dq_e_phi2(act, q, 0)], [0.0, 0.0, 0.0]
    if homogeneous(act):
        ref += [ref[0] / q, mp.mpf(0)]
    else:
        for k in (1, 2):
            v, e = R.mp_dq_e_phi2(act, q, k, bound=True)
            ref.append(v)
            res[k] = float(e)  # the reference's own resolution where it cancels to nothing
    for k, (g, r) in enumerate(zip(got, ref)):
        allowed = REL * abs(float(r)) + FLOOR * float(ref[0]) / q ** k + res[k]
        assert abs(g - float(r)) <= allowed, (act.name, act.values, q, ("V", "V'", "V''")[k],
                                              g, float(r), abs(g / float(r) - 1) if r else g)


ISSUE = [("relu6", {}, 0.5), ("relu6", {}, 0.3), ("hardtanh", {}, 0.01),
         ("hardsigmoid", {}, 0.05), ("crelu", {"tau": 0.0, "m": 6.0}, 1.0),
         ("crelu", {"tau": 0.5, "m": 0.2}, 1e6), ("cst", {"tau": 0.4, "m": 0.6}, 1e8),
         ("elu", {"alpha": 1.0}, 1e4), ("selu", {}, 1e8), ("hardswish", {}, 1e6),
         ("gelu", {}, 1e8), ("silu", {}, 1e8), ("mish", {}, 1e8), ("softplus", {"beta": 1.0}, 1e8),
         ("tanh", {}, 1e8), ("relu_tau", {"tau": 2.5}, (2.5 / 12) ** 2),
         ("crelu", {"tau": 1.1, "m": 1.7}, 1e-3), ("st", {"tau": 0.3}, 1e8),
         ("jumprelu", {"theta": 1.0}, 1e6), ("relu", {}, 1e-3), ("crelu2", {"c": 1.0}, 1e4),
         ("tanh", {}, 1e-3), ("leaky_relu", {"slope": 0.3}, 1.0)]


FAST = {1: "relu6", 2: "hardtanh", 5: "crelu", 11: "silu", 15: "relu_tau"}  # ~2-10 s CPU each


@pytest.mark.parametrize("name,params,q", [c if i in FAST else pytest.param(
    *c, marks=pytest.mark.slow) for i, c in enumerate(ISSUE)])
def test_against_mpmath(name, params, q):
    check_against_mpmath(A.get(name, **params), q)


ACTS = all_activations()
GRID = [(a, q) for a in ACTS for q in QS + tail_qs(a)]


@pytest.mark.slow
@pytest.mark.parametrize("act,q", GRID, ids=[f"{a.name}{a.values}-{q:.3g}" for a, q in GRID])
def test_grid_against_mpmath(act, q):
    check_against_mpmath(act, q)


# --- the piecewise-linear map route against `sparsefield formula` (sympy, evalf) ------
PL = [a for a in ACTS if a.is_piecewise_linear and not a.has_jumps] + \
    [A.get("crelu", tau=0.0, m=6.0)]


def formula_value(act, quantity: str, q: float) -> float:
    expr = S.formula(act.family, quantity)
    subs = {S.GLOBAL_SYMBOLS["q"]: S.sp.Rational(repr(q)), S.GLOBAL_SYMBOLS["sigma_w2"]: 1,
            S.GLOBAL_SYMBOLS["sigma_b2"]: 0}
    subs.update({s: S.sp.Rational(repr(float(v))) for s, v in zip(act.family.symbols, act.values)})
    # evaluated at 60 digits in mpmath (sympy's evalf of Phi(-12) differences is not)
    f = S.sp.lambdify([], expr.subs(subs), modules=[{"Phi": mp.ncdf, "phi": mp.npdf}, "mpmath"])
    with mp.workdps(60):
        return float(f())


def check_formula(act, q: float) -> None:
    mf = MeanField(act, 1.0, 0.0)
    for quantity, fn in (("V", mf.V), ("dV", mf.dV), ("d2V", mf.d2V)):
        want, got = formula_value(act, quantity, q), float(fn(q))
        assert abs(got - want) <= 1e-13 * abs(want) + 1e-300, (act.name, act.values, q,
                                                               quantity, got, want)


@pytest.mark.parametrize("name,params,q", [c for i, c in enumerate(ISSUE) if i in FAST and
                                           A.get(c[0], **c[1]).is_piecewise_linear
                                           and not A.get(c[0], **c[1]).has_jumps]
                         + [("st", {"tau": 0.3}, 0.01), ("crelu", {"tau": 1.1, "m": 1.7}, 1e-3)])
def test_map_and_formula_agree(name, params, q):
    check_formula(A.get(name, **params), q)


PL_GRID = [(a, q) for a in PL for q in QS + tail_qs(a)]


@pytest.mark.slow
@pytest.mark.parametrize("act,q", PL_GRID, ids=[f"{a.name}{a.values}-{q:.3g}" for a, q in PL_GRID])
def test_map_and_formula_agree_everywhere(act, q):
    check_formula(act, q)


def test_planted_cancellation_is_caught():
    """The check can fail: ReLU6's V'' by the He_4 panel rule (the old route) at q = 0.3."""
    from sparsefield.theory import moments

    act = A.get("relu6")
    ref = float(R.mp_dq_e_phi2(act, 0.3, 2))
    assert abs(float(moments.d2q_e_phi2(act, 0.3, method="panels")) / ref - 1) > 1e-6
    assert math.isclose(float(moments.d2q_e_phi2(act, 0.3)), ref, rel_tol=REL)


def test_no_runtime_warning_at_large_q():
    """Issue 25 item 3: ``map --activation silu --q 1e6`` warned from the long-double rule
    (values below long double's range converted from text)."""
    import warnings

    from sparsefield.theory import strip

    silu = A.get("silu")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mf = MeanField(silu, 2.0, 0.0)
        assert all(math.isfinite(float(f(1e6))) for f in (mf.V, mf.dV, mf.d2V, mf.chi1))
        assert math.isfinite(float(strip.d2q_e_phi2(silu, np.array(1e6))))


@pytest.mark.parametrize("argv", [["--activation", "crelu", "--tau", "0.5", "--m", "0.2", "--q", "0.001"],
                                  ["--activation", "relu_tau", "--tau", "2.5", "--q", "0.02"],
                                  ["--activation", "hardtanh", "--q", "1e8"],
                                  ["--activation", "st", "--tau", "0.3", "--q", "0.01"]])
def test_printed_formula_value_equals_map(argv, capsys):
    """``sparsefield formula`` prints the value of the substituted expression evaluated at
    enough digits (its far-tail terms cancel: sympy's ``evalf`` printed crelu's ``V`` at
    ``q = 1e-3`` as -6.5e-57 for 2.0e-61) and it agrees with ``map`` to 1e-13."""
    import json

    from sparsefield.cli import main

    args = argv + ["--sigma-w2", "2", "--sigma-b2", "0"]
    main(["formula", *args, "--quantity", "V", "dV", "d2V", "chi1", "--json"])
    got = json.loads(capsys.readouterr().out)["quantities"]
    main(["map", *args, "--json"])
    want = json.loads(capsys.readouterr().out)
    for k in ("V", "dV", "d2V", "chi1"):
        assert abs(got[k]["value"] - want[k]) <= 1e-13 * abs(want[k]), (k, got[k]["value"], want[k])


@pytest.mark.parametrize("z", [0.5, 1.99, 2.0, 3.0, 3.99, 4.01, 7.0, 20.0, 34.8, 37.5])
def test_tail_moments_against_mpmath(z):
    """``psi_n(h) = E[(w - h)_+^n]`` and ``gamma(h)`` at ``h = |b| / sqrt(q)`` with the float
    inputs ``b``, ``q`` exact (theory/pl_univariate.py: beyond ``h = 4`` the exponent
    ``b^2/2q`` in double-double) against the closed forms at 80 digits; a rounded exponent
    (``b = 34.8 sqrt(q)``: ``b^2/2q = 605``) is ~1e-13 off."""
    from sparsefield.theory import pl_univariate as U

    q = 0.37
    b = z * math.sqrt(q)
    qa = np.array([q])
    got = U.tail_moments(np.abs(b) / np.sqrt(qa), b, qa)
    with mp.workdps(80):
        zz = mp.mpf(b) / mp.sqrt(mp.mpf(q))
        t0, g = mp.ncdf(-zz), mp.npdf(zz)
        want = [t0, g - zz * t0, (1 + zz * zz) * t0 - zz * g, g]
    for k in range(4):
        assert abs(got[k][0] / float(want[k]) - 1) <= 2e-14, (k, got[k][0], float(want[k]))


# --- the correlation map: R, R' against the 2-D mpmath reference up to q = 1e8 ---------
def check_correlation_map(act, q: float, rho: float) -> None:
    """``R(rho) = E[phi(u1) phi(u2)] / E[phi^2]`` and ``R'(rho) = E[phi' phi'] q / E[phi^2]``
    (``sigma_w^2 = 1``, ``sigma_b^2 = 0``) within ``REL`` of the reference ratios
    (``reference.mp_bivariate`` over ``reference.mp_dq_e_phi2``), or ``REL * 1e-12`` of the
    natural scales ``1`` and ``q E[phi'^2] / E[phi^2]`` where they underflow.  Where
    ``E[phi^2]`` itself underflows float64 (ReLU_tau at ``tau = 2.5``, ``q = 1e-3``: 1e-1360)
    ``R`` is 0/0: a :class:`ParameterError` naming ``q``, never a NaN."""
    from sparsefield.theory.errors import ParameterError

    mf = MeanField(act, 1.0, 0.0)
    with mp.workdps(18):
        v = R.mp_dq_e_phi2(act, q, 0)  # scaled per panel (mp.quad's tolerance is absolute)
    if v < 1e-300:
        with pytest.raises(ParameterError, match="q="):
            mf.R(rho, q)
        return
    with mp.workdps(18):
        pairs = [("R", mf.R, R.mp_bivariate(act, q, rho, 0) / v, mp.mpf(1))]
        if not act.has_jumps:  # R' of a jump is infinite
            chi = R.mp_univariate(act, q, 1, lambda d: d * d)
            pairs.append(("dR", mf.dR, R.mp_bivariate(act, q, rho, 1) * q / v, chi * q / v))
    for name, fn, ref, scale in pairs:
        got, ref = float(fn(rho, q)), float(ref)
        assert abs(got - ref) <= REL * max(abs(ref), 1e-12 * float(scale)), (
            act.name, act.values, q, rho, name, got, ref)


CORR = [("crelu", {"tau": 0.5, "m": 0.2}, 1e8, 0.5)] + [
    (name, params, q, rho) for name, params in (("hardtanh", {}), ("relu6", {}),
                                                ("cst", {"tau": 0.4, "m": 0.6}),
                                                ("relu_tau", {"tau": 2.5}), ("relu2", {}))
    for q in (1e-3, 1.0, 1e4, 1e8) for rho in (-0.5, 0.9)]


@pytest.mark.parametrize("name,params,q,rho", [CORR[0]] + [pytest.param(*c, marks=pytest.mark.slow)
                                                       for c in CORR[1:]])
def test_correlation_map_against_mpmath(name, params, q, rho):
    check_correlation_map(A.get(name, **params), q, rho)


@pytest.mark.slow
def test_cst_far_tail_bivariate_reference():
    """CST (0.4, 0.6) at ``q = 1e-3``, ``rho = -0.5``: ``E[phi(u1) phi(u2)] = -3.2e-54``, far below
    ``E[phi^2] = 1.4e-41``.  The mpmath reference at 20 and 30 digits agrees to 1e-18 and the
    panel rule to 2e-14 (measured); the orthant closed form of theory/pl_bivariate.py was 8e-11
    off there (within its bound ``1e-15 E[phi^2]``), the 8e-12 of ``R`` issue 25 reported."""
    from sparsefield.theory import moments

    act, q, rho = A.get("cst", tau=0.4, m=0.6), 1e-3, -0.5
    with mp.workdps(20):
        lo = R.mp_bivariate(act, q, rho, 0)
    with mp.workdps(30):
        hi = R.mp_bivariate(act, q, rho, 0)
    assert abs(lo / hi - 1) < 1e-17
    assert abs(float(moments.e_phi_phi(act, q, rho, method="panels")) / float(hi) - 1) < 1e-13
