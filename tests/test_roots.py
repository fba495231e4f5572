"""theory.roots: Brent's root finder and bounded minimiser against scipy.optimize and
known roots/minima."""

import math

import pytest
from scipy import optimize

from sparsefield.theory.roots import ConvergenceError, brentq, fminbound

RTOL = 4 * 2.220446049250313e-16
ROOT_CASES = [  # f, a, b, xtol, exact root, its tolerance
    (lambda x: x * x - 2.0, 0.0, 2.0, 1e-300, math.sqrt(2.0), 1e-15),
    (lambda x: math.cos(x) - x, 0.0, 1.0, 1e-300, 0.7390851332151607, 1e-15),
    (lambda x: math.exp(x) - 1e-8, -30.0, 5.0, 1e-300, math.log(1e-8), 1e-15),
    (lambda x: x ** 3 - 2.0 * x - 5.0, 2.0, 3.0, 1e-300, 2.0945514815423265, 1e-15),  # Wallis
    (lambda x: math.copysign(abs(x - 0.5) ** 0.2, x - 0.5), -1.0, 3.0, 1e-10, 0.5, 1e-9),  # bisections
    (lambda x: math.tanh(50.0 * (x - 0.3)), -2.0, 3.0, 1e-300, 0.3, 1e-15),
]


@pytest.mark.parametrize("f,a,b,xtol,root,tol", ROOT_CASES)
def test_brentq_matches_scipy_and_the_exact_root(f, a, b, xtol, root, tol):
    ours = brentq(f, a, b, xtol=xtol, rtol=RTOL)
    assert ours == optimize.brentq(f, a, b, xtol=xtol, rtol=RTOL)  # the same iterates
    assert ours == pytest.approx(root, rel=tol)


def test_brentq_endpoints_signs_and_limits():
    assert brentq(lambda x: x, 0.0, 1.0) == 0.0
    with pytest.raises(ValueError, match="different signs"):
        brentq(lambda x: x * x + 1.0, -1.0, 1.0)
    with pytest.raises(ValueError, match="rtol"):
        brentq(lambda x: x, -1.0, 1.0, rtol=1e-17)
    with pytest.raises(ConvergenceError):
        brentq(lambda x: math.cos(x) - x, 0.0, 1.0, xtol=1e-300, maxiter=2)


MIN_CASES = [  # f, a, b, exact minimiser
    (lambda x: (x - 0.7) ** 2 + 1.0, 0.0, 2.0, 0.7),
    (lambda x: -math.sin(x), 0.0, 3.0, math.pi / 2),
    (lambda x: x, 1.0, 2.0, 1.0),  # at the boundary
    (lambda x: math.cosh(x - 5.0), 4.0, 9.0, 5.0),
]


@pytest.mark.parametrize("f,a,b,xmin", MIN_CASES)
def test_fminbound_matches_scipy_bounded(f, a, b, xmin):
    x, fx = fminbound(f, a, b, xatol=1e-10, maxiter=200)
    res = optimize.minimize_scalar(f, bounds=(a, b), method="bounded",
                                   options={"xatol": 1e-10, "maxiter": 200})
    assert x == res.x and fx == res.fun  # the same algorithm, the same iterates
    assert x == pytest.approx(xmin, abs=1e-6)
    assert fx == f(x)
