"""One-``q`` fast path of the piecewise-linear closed forms (scalar calls of :mod:`.maps`).

The same forms as the ``pl_tail`` route (:mod:`.pl_univariate`: the tail basis, or the
remainder series of :mod:`.pl_series` at ``q >= X^2``, with their coefficients) and the kink
sum ``E[phi phi''] = sum_k J_k phi(b_k) p_q(b_k)``, written with ``math`` for one float
``q``: a numpy call costs ~1 us per operation on a scalar, this ~0.1 us.  Used only inside
the band ``generic.q_range`` (every breakpoint within ``TAIL_Z = 4`` sds, where the
forward forms ``I_1 = 1 - h R``, ``I_2 = R - h I_1`` of the Mills ratio ``R`` lose at most
``~h^4/2`` ulps and the rounded exponent ``h^2/2`` at most ``~h^2``); elsewhere (and for
arrays) the caller takes the registry.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

from scipy.special import erfcx

from . import pl_series, pl_univariate
from .activations import Activation
from .generic import q_range

INV_SQRT2PI = 1.0 / math.sqrt(2.0 * math.pi)
INV_SQRT2 = 1.0 / math.sqrt(2.0)
SQRT_PI_2 = math.sqrt(math.pi / 2.0)


@dataclass(frozen=True)
class Scalar:
    """``E[phi^2]``, ``E[phi'^2]``, ``E[phi phi'']`` at one ``q`` in ``[lo, hi]``."""

    tail: pl_univariate.Coeffs
    series: tuple  # pl_series.Series of phi^2 and of phi'^2
    kink_terms: tuple  # (J_k phi(b_k), b_k): the delta terms of phi''
    lo: float
    hi: float

    def applies(self, q: float) -> bool:
        return self.lo <= q <= self.hi and 0.0 < q < math.inf

    def moments(self, q: float) -> tuple[float, float, float]:
        """``(E[phi^2], E[phi'^2], E[phi phi''])`` for ``x ~ N(0, q)``."""
        dd = sum(jv * math.exp(-0.5 * b * b / q) for jv, b in self.kink_terms)
        dd *= INV_SQRT2PI / math.sqrt(q)
        if q >= self.series[0].q_min:
            return _series(self.series[0], q), _series(self.series[1], q), dd
        cf, s = self.tail, math.sqrt(q)
        e2, d2 = cf.a * cf.a * q + cf.c * cf.c, cf.a * cf.a
        for m, ab in enumerate(cf.absb):
            h = ab / s
            g = math.exp(-0.5 * h * h) * INV_SQRT2PI
            r = float(erfcx(h * INV_SQRT2)) * SQRT_PI_2  # the Mills ratio Q / gamma
            i1 = 1.0 - h * r
            p0, p1, p2 = g * r, g * i1, g * (r - h * i1)
            e2 += q * (cf.c2[m] * p2 + cf.cq[m] * p0) + s * (cf.c1[m] * p1 + cf.cg[m] * g) \
                + cf.c0[m] * p0
            d2 += cf.k1[m] * p0
        return e2, d2, dd


def _series(sr: pl_series.Series, q: float) -> float:
    u, acc = 0.5 / q, 0.0
    for cn in reversed(sr.c):
        acc = acc * u + cn
    return acc * INV_SQRT2PI / math.sqrt(q) + sr.a0 + sr.a1 * math.sqrt(q) + sr.a2 * q


@lru_cache(maxsize=256)
def scalar(act: Activation) -> Scalar | None:
    """The fast path for ``act``, or ``None`` (not piecewise linear, or ``phi`` jumps)."""
    if not act.is_piecewise_linear or act.has_jumps:
        return None
    b = act.breakpoints
    vals = act(b) if len(b) else ()
    lo, hi = q_range(act)
    return Scalar(pl_univariate.coeffs(act), (pl_series.series(act, 0), pl_series.series(act, 1)),
                  tuple((float(j * v), float(bb)) for j, v, bb in zip(act.kinks, vals, b)),
                  lo, hi)
