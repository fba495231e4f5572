"""The Gaussian factor ``exp(-b^2 / 2q)`` with its exponent in double-double arithmetic
(docs/theory.md section 3.2, "the accuracy promised").

The float64 inputs ``b``, ``q`` determine ``exp(-b^2/2q)`` exactly, but a rounded
``b^2/2q`` of size ``e`` moves ``exp`` by ``~e`` ulps (6e-14 relative at ``e = 600``, a
breakpoint 35 sds out).  Here ``b^2`` is split exactly (Dekker's product) and the quotient
by ``2q`` carries its remainder, so the result is exact to a few ulps for every ``e``.
Used by the kink sums of :mod:`.tails` (scalars) and the far tails of
:mod:`.pl_univariate` (arrays of ``q``).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import erfcx

SPLIT = 134217729.0  # 2^27 + 1 (Dekker)
Z_PLAIN = 2.0  # below this many sds erfc of the rounded z is exact enough


def two_prod(x, y):
    """``(p, e)`` with ``p + e = x y`` exactly (Dekker's split; scalars or arrays)."""
    p = x * y
    xh = SPLIT * x
    xh = xh - (xh - x)
    yh = SPLIT * y
    yh = yh - (yh - y)
    xl, yl = x - xh, y - yh
    return p, ((xh * yh - p) + xh * yl + xl * yh) + xl * yl


def gauss_exp(b: float, q):
    """``exp(-b^2 / 2q)`` for one float ``b`` and a float or array ``q`` (``|b| < 1e150``,
    ``q < 1e300``), with ``b^2/2q`` in double-double."""
    p, e = two_prod(b, b)
    d = 2.0 * q
    h = p / d
    t, te = two_prod(h, d)
    lo = ((p - t) - te + e) / d
    return np.exp(-h) * (1.0 - lo) if isinstance(q, np.ndarray) else math.exp(-h) * (1.0 - lo)


def upper_tail(b: float, q: float) -> float:
    """``P(x >= |b|) = Q(|b|/sqrt q)``, ``x ~ N(0, q)``, to a few ulps."""
    z = abs(b) / math.sqrt(q)
    if z < Z_PLAIN:
        return 0.5 * math.erfc(z / math.sqrt(2.0))
    return 0.5 * float(erfcx(z / math.sqrt(2.0))) * gauss_exp(b, q)


def interval_mass(lo: float, hi: float, q: float) -> float:
    """``P(lo <= x < hi)``, ``x ~ N(0, q)``, as a difference of upper tails on one side of
    0 (never of numbers near 1)."""
    def tail(e: float) -> float:
        return 0.0 if math.isinf(e) else upper_tail(e, q)
    if lo >= 0.0:
        return tail(lo) - tail(hi)
    if hi <= 0.0:
        return tail(hi) - tail(lo)
    return (1.0 - tail(lo)) - tail(hi)
