"""``E[phi^2]`` and ``E[phi'^2]`` of a piecewise-linear ``phi`` at large ``q``: the remainder
series (docs/theory.md section 3.2, "the univariate moments in the tail basis").

Where two breakpoints lie within a fraction of a standard deviation of each other the
tail-basis terms of :mod:`.pl_univariate` grow like ``q`` while ``E[phi^2]`` does not (a
bounded ``phi``: CReLU, CST, hardtanh), so they cancel.  Write instead ``g = phi^2`` (or
``phi'^2``) as ``P + r``: ``P = g_-`` on ``x < 0`` and ``g_+`` on ``x >= 0`` (the squares of
the outer pieces, polynomials of degree <= 2), whose half-line moments are closed,

    E[P] = (p2_+ + p2_-) q / 2 + (p1_+ - p1_-) sqrt(q / 2 pi) + (p0_+ + p0_-) / 2,

and ``r = g - P``, piecewise polynomial with support in ``[-X, X]`` (``X`` the farthest
breakpoint).  With ``p_q(x) = (2 pi q)^-1/2 sum_n (-x^2 / 2q)^n / n!``,

    E[r] = (2 pi q)^-1/2 sum_n c_n u^n,   u = 1 / 2q,   c_n = (-1)^n / n! int r(x) x^2n dx,

the moments ``int r x^2n`` exact (rational arithmetic on the float coefficients, rounded
once).  For ``u X^2 <= U_MAX`` the terms beyond ``N_TERMS`` are below ``U_MAX^n / n!`` of
``int |r|``, and ``E[P]`` is at least half of ``E[g]`` in size, so nothing cancels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache

import numpy as np

from .activations import Activation

U_MAX = 0.5  # X^2 / 2q at most this: q >= X^2
N_TERMS = 16  # U_MAX^17 / 17! < 1e-19
INV_SQRT2PI = 1.0 / math.sqrt(2.0 * math.pi)


@dataclass(frozen=True)
class Series:
    """``E[g] = a2 q + a1 sqrt(q) + a0 + (2 pi q)^-1/2 sum_n c[n] (1/2q)^n`` for ``q >= q_min``."""

    a2: float
    a1: float
    a0: float
    c: tuple
    q_min: float


def _square(a: Fraction, c: Fraction, order: int) -> list[Fraction]:
    """Coefficients ``[d0, d1, d2]`` of ``(a x + c)^2`` (order 0) or ``a^2`` (order 1)."""
    return [c * c, 2 * a * c, a * a] if order == 0 else [a * a, Fraction(0), Fraction(0)]


@lru_cache(maxsize=256)
def series(act: Activation, order: int) -> Series:
    """The constants of the module docstring for ``g = phi^2`` (``order`` 0) or
    ``phi'^2`` (classical derivative, ``order`` 1)."""
    slopes, icpts = act.linear_coeffs
    a = [Fraction(float(v)) for v in slopes]
    c = [Fraction(float(v)) for v in icpts]
    b = [Fraction(float(v)) for v in act.breakpoints]
    g = [_square(ak, ck, order) for ak, ck in zip(a, c)]
    neg, pos = g[0], g[-1]
    cuts = sorted(set(b) | {Fraction(0)})
    mu = [Fraction(0)] * (N_TERMS + 1)
    for lo, hi in zip(cuts[:-1], cuts[1:]):
        k = sum(1 for v in b if v <= lo)  # the piece on [lo, hi)
        side = pos if lo >= 0 else neg
        d = [x - y for x, y in zip(g[k], side)]
        for n in range(N_TERMS + 1):
            mu[n] += sum(d[j] * (hi ** (j + 2 * n + 1) - lo ** (j + 2 * n + 1)) / (j + 2 * n + 1)
                         for j in range(3) if d[j])
    coef = tuple(float((-1) ** n * mu[n] / math.factorial(n)) for n in range(N_TERMS + 1))
    x = float(max(abs(cuts[0]), abs(cuts[-1])))
    return Series(float((pos[2] + neg[2]) / 2), float(pos[1] - neg[1]) * INV_SQRT2PI,
                  float((pos[0] + neg[0]) / 2), coef, x * x / (2.0 * U_MAX))


def moment(act: Activation, q: np.ndarray, order: int) -> np.ndarray:
    """``E[phi^2]`` (``order`` 0) or ``E[phi'^2]`` (``order`` 1) at ``q >= series(act,
    order).q_min`` (1-D array)."""
    s = series(act, order)
    u = 0.5 / q
    acc = np.full(q.shape, s.c[-1])
    for cn in s.c[-2::-1]:
        acc *= u
        acc += cn
    root = np.sqrt(q)
    acc *= INV_SQRT2PI / root
    acc += s.a0
    if s.a1:
        acc += s.a1 * root
    if s.a2:
        acc += s.a2 * q
    return acc
