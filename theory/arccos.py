"""Arc-cosine kernels: closed-form bivariate maps of homogeneous two-piece activations.

For ``phi(x) = b x^n`` (``x >= 0``), ``a x^n`` (``x < 0``) with ``n in {0, 1, 2}`` (ReLU,
leaky ReLU, ``|x|``, identity, ReLU^2 and their derivatives' step functions) and
``u1, u2 ~ N(0, q)`` with correlation ``rho = cos(theta)``, Cho & Saul 2009 (eq. 1, 6) give
``E[relu(u1)^n relu(u2)^n] = q^n J_n(theta) / (2 pi)`` with ``J_0 = pi - theta``,
``J_1 = sin(theta) + (pi - theta) cos(theta)``,
``J_2 = 3 sin(theta) cos(theta) + (pi - theta) (1 + 2 cos(theta)^2)``.
Writing ``phi(x) = b relu(x)^n + (-1)^n a relu(-x)^n``,
``E[phi(u1) phi(u2)] = (a^2 + b^2) K_n(rho) + 2 (-1)^n a b K_n(-rho)``.
``pi - theta = 2 atan2(sqrt(1 + rho), sqrt(1 - rho))`` keeps full relative accuracy near
``rho = +-1``; ``J_n(pi - t)`` is expanded in series for small ``t`` where it cancels.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from . import numeric_forms
from ._lazy import sympy as sp
from .activations import Activation, Family

# Taylor coefficients in t^2 (sympy series), after the leading t^3 resp. t^5.
_J1_SERIES = (1 / 3, -1 / 30, 1 / 840, -1 / 45360, 1 / 3991680, -1 / 518918400,
              1 / 93405312000)
_J2_SERIES = (4 / 15, -16 / 315, 4 / 945, -32 / 155925, 8 / 1216215, -32 / 212837625,
              4 / 1550674125)
INV_2PI = 1.0 / (2.0 * np.pi)
T_SERIES = 0.3  # pi - theta below which J_n is summed as its series


def _series(n: int, t):
    """``J_n(pi - t)`` by its Taylor series, used for ``t < T_SERIES`` (``J_n`` cancels)."""
    coef, t2 = (_J1_SERIES if n == 1 else _J2_SERIES), t * t
    acc = coef[-1]
    for c in coef[-2::-1]:
        acc = acc * t2 + c
    return acc * (t * t2 if n == 1 else t2 * t2 * t)


def _j(n: int, rho):
    """``J_n(theta)``, ``theta = arccos(rho)``, accurate also where it is small (rho -> -1)."""
    rho = np.asarray(rho, float)
    t = 2.0 * np.arctan2(np.sqrt(1.0 + rho), np.sqrt(1.0 - rho))  # pi - theta, exactly
    if n == 0:
        return t
    st = np.sqrt((1.0 - rho) * (1.0 + rho))  # sin(theta); cos(theta) = rho
    if n == 1:  # J_1(pi - t) = sin(t) - t cos(t)
        out = st + t * rho
    else:  # J_2(pi - t) = t (1 + 2 cos(t)^2) - 3 sin(t) cos(t)
        out = 3.0 * st * rho + t * (1.0 + 2.0 * rho * rho)
    small = t < T_SERIES
    if out.ndim == 0:
        return _series(n, t) if small else out
    if small.any():
        out[small] = _series(n, t[small])
    return out


def _j_scalar(n: int, rho: float) -> float:
    """:func:`_j` at one float, in ``math`` (no array bookkeeping)."""
    t = 2.0 * math.atan2(math.sqrt(1.0 + rho), math.sqrt(1.0 - rho))
    if n == 0:
        return t
    if t < T_SERIES:
        return _series(n, t)
    st = math.sqrt((1.0 - rho) * (1.0 + rho))
    return st + t * rho if n == 1 else 3.0 * st * rho + t * (1.0 + 2.0 * rho * rho)


def kernel(n: int, q, rho):
    """``E[relu(u1)^n relu(u2)^n] = q^n J_n(theta) / (2 pi)`` (Cho & Saul 2009)."""
    return np.asarray(q, float) ** n * _j(n, rho) * INV_2PI


@lru_cache(maxsize=None)
def _form(fam: Family):
    """``(n, a(params), b(params))`` if ``phi = a x^n`` for ``x < 0`` and ``b x^n`` for
    ``x >= 0`` (breakpoint 0, or none), else ``None`` (found with sympy once, then cached
    with the family's generated forms)."""
    mod = numeric_forms.family_module(fam, "arccos_form", lambda: _form_sym(fam), __file__)
    return None if mod.N is None else (mod.N, mod.A, mod.B)


def _form_sym(fam: Family) -> tuple[dict, dict]:
    from .grammar import X
    br = fam.breaks_sym
    pieces = fam.pieces_sym(0)
    if len(br) > 1 or (br and sp.simplify(br[0]) != 0):
        return {}, {"N": None}
    if not br:
        pieces = (pieces[0], pieces[0])
    out = []
    for p in pieces:
        poly = sp.Poly(p, X) if p.is_polynomial(X) else None
        if poly is None or len(poly.terms()) > 1:
            return {}, {"N": None}
        (deg,), coeff = poly.terms()[0] if poly.terms() else ((0,), sp.Integer(0))
        out.append((deg, coeff))
    degs = {d for d, c in out if c != 0}
    if len(degs) > 1 or not degs <= {1, 2}:
        return {}, {"N": None}
    n = degs.pop()
    return {"A": sp.lambdify(fam.symbols, out[0][1]), "B": sp.lambdify(fam.symbols, out[1][1])}, {"N": n}


def applies(act: Activation) -> bool:
    return _form(act.family) is not None


@lru_cache(maxsize=256)
def _weights(act: Activation, order: int) -> tuple:
    """``(n, a^2 + b^2, 2 (-1)^n a b)`` of ``phi^(order)`` (module docstring), once per
    activation and order."""
    n, fa, fb = _form(act.family)
    a, b = float(fa(*act.values)), float(fb(*act.values))
    if order == 1:  # phi' = n a x^(n-1) (x < 0), n b x^(n-1) (x >= 0)
        n, a, b = n - 1, n * a, n * b
    big_a = a if n % 2 == 0 else -a  # phi = b relu(x)^n + big_a relu(-x)^n
    return n, big_a * big_a + b * b, 2.0 * big_a * b


def e_phi_phi(act: Activation, q, rho, order: int):
    """``E[phi^(order)(u1) phi^(order)(u2)]`` for ``order`` 0 or 1 in closed form:
    ``(a^2 + b^2) K_n(rho) + 2 (-1)^n a b K_n(-rho)`` (module docstring)."""
    n, same, cross = _weights(act, order)
    if isinstance(q, (float, int)) and isinstance(rho, (float, int)):
        j = same * _j_scalar(n, float(rho))
        if cross:
            j += cross * _j_scalar(n, -float(rho))
        return np.float64(float(q) ** n * j * INV_2PI)
    j = _j(n, rho)
    if same != 1.0:
        j = same * j
    if cross:
        j = j + cross * _j(n, -np.asarray(rho, float))
    return np.asarray(q, float) ** n * j * INV_2PI
