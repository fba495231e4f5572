"""One-``q`` fast path of the piecewise-linear closed forms (scalar calls of :mod:`.maps`).

The same truncated-moment sums as :class:`.piecewise_linear.PiecewiseLinear` (one ``Phi``,
``gamma`` and ``z gamma`` per breakpoint, shared by its two intervals), written with
``math`` for one float ``q``: a numpy call costs ~1 us per operation on a scalar, this
costs ~0.1 us.  Built once per activation from its catalogue coefficients, and used only
inside the band ``generic.q_range`` where the sums are accurate; elsewhere (and for arrays)
the caller takes the general route.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

from .activations import Activation
from .generic import q_range

INV_SQRT2PI = 1.0 / math.sqrt(2.0 * math.pi)
INV_SQRT2 = 1.0 / math.sqrt(2.0)


@dataclass(frozen=True)
class Scalar:
    """``E[phi^2]``, ``E[phi'^2]``, ``E[phi phi'']`` at one ``q`` in ``[lo, hi]``."""

    breaks: tuple
    slopes: tuple
    icpts: tuple
    kink_terms: tuple  # (J_k phi(b_k), b_k): the delta terms of phi''
    lo: float
    hi: float

    def applies(self, q: float) -> bool:
        return self.lo <= q <= self.hi and 0.0 < q < math.inf

    def moments(self, q: float) -> tuple[float, float, float]:
        """``(E[phi^2], E[phi'^2], E[phi phi''])`` for ``x ~ N(0, q)``."""
        s = math.sqrt(q)
        t0, n0, g0, zg0 = 0.0, True, 0.0, 0.0  # the edge at -inf
        e2 = d2 = 0.0
        for k, a in enumerate(self.slopes):
            if k < len(self.breaks):
                z = self.breaks[k] / s
                g1 = math.exp(-0.5 * z * z) * INV_SQRT2PI
                t1, n1, zg1 = 0.5 * math.erfc(abs(z) * INV_SQRT2), z < 0.0, z * g1
            else:
                t1, n1, g1, zg1 = 0.0, False, 0.0, 0.0
            m0 = t0 - t1 if not n0 else (t1 - t0 if n1 else (1.0 - t0) - t1)
            c = self.icpts[k]
            e2 += a * a * q * (m0 + zg0 - zg1) + 2.0 * a * c * s * (g0 - g1) + c * c * m0
            d2 += a * a * m0
            t0, n0, g0, zg0 = t1, n1, g1, zg1
        dd = sum(jv * math.exp(-0.5 * b * b / q) for jv, b in self.kink_terms) * INV_SQRT2PI / s
        return e2, d2, dd


@lru_cache(maxsize=256)
def scalar(act: Activation) -> Scalar | None:
    """The fast path for ``act``, or ``None`` (not piecewise linear, or ``phi`` jumps)."""
    if not act.is_piecewise_linear or act.has_jumps:
        return None
    a, c = act.linear_coeffs
    b = act.breakpoints
    vals = act(b) if len(b) else ()
    lo, hi = q_range(act)
    return Scalar(tuple(map(float, b)), tuple(map(float, a)), tuple(map(float, c)),
                  tuple((float(j * v), float(bb)) for j, v, bb in zip(act.kinks, vals, b)),
                  lo, hi)
