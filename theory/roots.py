"""Scalar root finding and bounded minimisation in pure Python (Brent's methods).

The theory's hot paths (``derive``, ``MeanField.fixed_points``, the depth scales) need
one bracketed root or one bounded minimum at a time.  ``scipy.optimize`` provides both,
but importing it costs more than a whole ``sparsefield derive`` otherwise does (it pulls
in ``scipy.linalg``, ``scipy.sparse`` and the LP solvers), so the two classic algorithms
live here, each a transcription of the reference version scipy itself runs:

* :func:`brentq` -- Brent (1973), *Algorithms for Minimization without Derivatives*,
  ch. 4, as in scipy's ``brentq.c`` (inverse quadratic interpolation / secant with a
  bisection safeguard);
* :func:`fminbound` -- Brent's ``fmin`` (Forsythe, Malcolm & Moler 1977, section 8.2), as in
  scipy's ``minimize_scalar(method="bounded")``.

Tests compare both with scipy on the same problems (``tests/test_roots.py``).
"""

from __future__ import annotations

import math
from typing import Callable

EPS = 2.220446049250313e-16


class ConvergenceError(RuntimeError):
    """The iteration limit was reached before the tolerance."""


def brentq(f: Callable[[float], float], a: float, b: float, xtol: float = 2e-12,
           rtol: float = 4 * EPS, maxiter: int = 100) -> float:
    """A root of ``f`` in ``[a, b]`` where ``f(a)`` and ``f(b)`` differ in sign, to
    ``|x - x_root| <= xtol + rtol |x_root|`` (``rtol >= 4 eps``)."""
    if not rtol >= 4 * EPS:
        raise ValueError(f"rtol={rtol!r} must be >= 4 eps = {4 * EPS:g}")
    xpre, xcur = float(a), float(b)
    fpre, fcur = float(f(xpre)), float(f(xcur))
    if fpre == 0.0:
        return xpre
    if fcur == 0.0:
        return xcur
    if math.copysign(1.0, fpre) == math.copysign(1.0, fcur):
        raise ValueError("f(a) and f(b) must have different signs")
    xblk = fblk = spre = scur = 0.0
    for _ in range(maxiter):
        if fpre != 0.0 and fcur != 0.0 and (
                math.copysign(1.0, fpre) != math.copysign(1.0, fcur)):
            xblk, fblk = xpre, fpre
            spre = scur = xcur - xpre
        if abs(fblk) < abs(fcur):  # keep the best point in xcur
            xpre, xcur, xblk = xcur, xblk, xcur
            fpre, fcur, fblk = fcur, fblk, fcur
        delta = (xtol + rtol * abs(xcur)) / 2.0
        sbis = (xblk - xcur) / 2.0
        if fcur == 0.0 or abs(sbis) < delta:
            return xcur
        if abs(spre) > delta and abs(fcur) < abs(fpre):
            if xpre == xblk:  # secant
                stry = -fcur * (xcur - xpre) / (fcur - fpre)
            else:  # inverse quadratic interpolation
                dpre = (fpre - fcur) / (xpre - xcur)
                dblk = (fblk - fcur) / (xblk - xcur)
                stry = -fcur * (fblk * dblk - fpre * dpre) / (dblk * dpre * (fblk - fpre))
            if 2.0 * abs(stry) < min(abs(spre), 3.0 * abs(sbis) - delta):
                spre, scur = scur, stry  # a good short step
            else:
                spre = scur = sbis
        else:
            spre = scur = sbis
        xpre, fpre = xcur, fcur
        xcur += scur if abs(scur) > delta else (delta if sbis > 0 else -delta)
        fcur = float(f(xcur))
    raise ConvergenceError(f"brentq: no convergence in {maxiter} iterations")


def fminbound(f: Callable[[float], float], a: float, b: float, xatol: float = 1e-5,
              maxiter: int = 500) -> tuple[float, float]:
    """``(x, f(x))`` at a local minimum of ``f`` on ``[a, b]`` (golden section with
    parabolic steps); ``x`` to about ``sqrt(eps) |x| + xatol``.  Stops after ``maxiter``
    evaluations with the best point found, as scipy does."""
    sqrt_eps = math.sqrt(2.2e-16)  # scipy's constant
    golden = 0.5 * (3.0 - math.sqrt(5.0))
    a, b = float(a), float(b)
    fulc = nfc = xf = a + golden * (b - a)
    rat = e = 0.0
    fx = float(f(xf))
    num = 1
    ffulc = fnfc = fx
    xm = 0.5 * (a + b)
    tol1 = sqrt_eps * abs(xf) + xatol / 3.0
    tol2 = 2.0 * tol1
    while abs(xf - xm) > tol2 - 0.5 * (b - a):
        use_golden = True
        if abs(e) > tol1:  # try a parabola through the three best points
            use_golden = False
            r = (xf - nfc) * (fx - ffulc)
            q = (xf - fulc) * (fx - fnfc)
            p = (xf - fulc) * q - (xf - nfc) * r
            q = 2.0 * (q - r)
            if q > 0.0:
                p = -p
            q = abs(q)
            r, e = e, rat
            if abs(p) < abs(0.5 * q * r) and q * (a - xf) < p < q * (b - xf):
                rat = p / q
                x = xf + rat
                if x - a < tol2 or b - x < tol2:
                    rat = tol1 * (1.0 if xm >= xf else -1.0)
            else:
                use_golden = True
        if use_golden:
            e = a - xf if xf >= xm else b - xf
            rat = golden * e
        x = xf + (1.0 if rat >= 0 else -1.0) * max(abs(rat), tol1)
        fu = float(f(x))
        num += 1
        if fu <= fx:
            if x >= xf:
                a = xf
            else:
                b = xf
            fulc, ffulc = nfc, fnfc
            nfc, fnfc = xf, fx
            xf, fx = x, fu
        else:
            if x < xf:
                a = x
            else:
                b = x
            if fu <= fnfc or nfc == xf:
                fulc, ffulc = nfc, fnfc
                nfc, fnfc = x, fu
            elif fu <= ffulc or fulc == xf or fulc == nfc:
                fulc, ffulc = x, fu
        xm = 0.5 * (a + b)
        tol1 = sqrt_eps * abs(xf) + xatol / 3.0
        tol2 = 2.0 * tol1
        if num >= maxiter:
            break
    return xf, fx
