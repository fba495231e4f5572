"""Mean-field maps of a wide random network (Poole et al. 2016; Schoenholz et al. 2017).

``h^l = W^l phi(h^{l-1}) + b^l`` with ``W_ij ~ N(0, sigma_w^2/N)``, ``b_i ~ N(0, sigma_b^2)``:

* variance map ``V(q) = sigma_w^2 E[phi(sqrt(q) z)^2] + sigma_b^2``;
* ``V'(q) = sigma_w^2 (E[phi'^2] + E[phi phi''])`` (Stein; delta terms at kinks, [P24]);
* correlation map ``R(rho) = (sigma_w^2 E[phi(u1) phi(u2)] + sigma_b^2) / q``,
  ``R'(rho) = sigma_w^2 E[phi'(u1) phi'(u2)]``, ``chi_1 = R'(1)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize

from . import jumps, moments
from .activations import Activation
from .errors import check_nonnegative, check_positive

MARGINAL_TOL = 1e-9


@dataclass(frozen=True)
class FixedPoint:
    """A fixed point ``V(q) = q`` with slope ``V'(q)`` and its stability."""

    q: float
    slope: float

    @property
    def stability(self) -> str:
        """``stable`` if ``|V'| < 1``, ``unstable`` if ``> 1``, else ``marginal``."""
        if abs(abs(self.slope) - 1.0) <= MARGINAL_TOL:
            return "marginal"
        return "stable" if abs(self.slope) < 1.0 else "unstable"

    def to_dict(self) -> dict:
        return {"q": self.q, "slope": self.slope, "stability": self.stability}


@dataclass(frozen=True)
class MeanField:
    """The maps of :mod:`theory` for one activation and initialisation."""

    act: Activation
    sigma_w2: float
    sigma_b2: float

    def __post_init__(self) -> None:
        check_positive("sigma_w2", self.sigma_w2)
        check_nonnegative("sigma_b2", self.sigma_b2)

    def V(self, q):
        """``V(q) = sigma_w^2 E[phi^2] + sigma_b^2``."""
        return self.sigma_w2 * moments.e_phi2(self.act, _q(q)) + self.sigma_b2

    def dV(self, q):
        """``V'(q) = sigma_w^2 (E[phi'^2] + E[phi phi''])``."""
        q = _q(q)
        if self.act.has_jumps:  # [jumps hook] E[phi'^2] = inf: Stein form (theory/jumps.py)
            return self.sigma_w2 * jumps.dq_e_phi2(self.act, q)
        return self.sigma_w2 * (moments.e_dphi2(self.act, q) + moments.e_phi_d2phi(self.act, q))

    def d2V(self, q):
        """``V''(q) = sigma_w^2 d^2/dq^2 E[phi^2]``."""
        return self.sigma_w2 * moments.d2q_e_phi2(self.act, _q(q))

    def chi1(self, q):
        """``chi_1(q) = sigma_w^2 E[phi'^2]``: per-layer gradient gain."""
        return self.sigma_w2 * moments.e_dphi2(self.act, _q(q))

    def R(self, rho, q):
        """Correlation map at variance ``q``: ``(sigma_w^2 E[phi(u1)phi(u2)] + sigma_b^2)/V(q)``.

        At a fixed point ``V(q*) = q*`` this is science.md's ``R(rho)``.
        """
        q = _q(q)
        return (self.sigma_w2 * moments.e_phi_phi(self.act, q, rho) + self.sigma_b2) / self.V(q)

    def dR(self, rho, q):
        """``R'(rho) = sigma_w^2 E[phi'(u1) phi'(u2)] q / V(q)`` (``= sigma_w^2 E[phi'phi']`` at ``q*``)."""
        q = _q(q)
        return self.sigma_w2 * moments.e_dphi_dphi(self.act, q, rho) * q / self.V(q)

    def iterate(self, q0: float, depth: int) -> np.ndarray:
        """``q^0, ..., q^depth`` under ``q^{l+1} = V(q^l)`` (infinite width)."""
        qs = [float(_q(q0))]
        for _ in range(depth):
            qs.append(float(self.V(qs[-1])) if np.isfinite(qs[-1]) else np.inf)
        return np.asarray(qs)

    def iterate_corr(self, rho0: float, q: float, depth: int) -> np.ndarray:
        """Correlations ``rho^0..rho^depth`` of two inputs with equal variance ``q^0 = q``."""
        qs = self.iterate(q, depth)
        rhos = [float(rho0)]
        for ql in qs[:-1]:
            rhos.append(float(np.clip(self.R(rhos[-1], ql), -1.0, 1.0)))
        return np.asarray(rhos)

    def fixed_points(self, q_lo: float, q_hi: float, known: tuple = (), n_grid: int = 400
                     ) -> list[FixedPoint]:
        """All fixed points of ``V`` in ``[q_lo, q_hi]``, sorted.

        Transversal roots come from sign changes of ``V(q) - q`` on a log grid (refined
        by Brent's method); tangential ones (``V' = 1``, as on the edge of chaos of
        ReLU_tau/ST) from sign changes of ``V'(q) - 1`` where ``|V(q) - q|`` vanishes.
        ``known`` roots (e.g. ``q*``) are included exactly.
        """
        # Bracket each known root tightly so a second root just beside it (the unstable
        # point that a large clip puts next to q*) still shows a sign change.
        near = [k * f for k in known for f in (1 - 1e-6, 1 + 1e-6) if q_lo < k * f < q_hi]
        grid = np.unique(np.concatenate([np.geomspace(q_lo, q_hi, n_grid), near]))
        g = self.V(grid) - grid
        roots = [float(k) for k in known]

        def add(r: float) -> None:
            if all(abs(r - s) > 1e-7 * max(r, s) for s in roots):
                roots.append(r)
        for i in np.nonzero(np.sign(g[:-1]) * np.sign(g[1:]) < 0)[0]:
            add(optimize.brentq(lambda x: float(self.V(x)) - x, grid[i], grid[i + 1],
                                xtol=1e-14, rtol=1e-13))
        for i in np.nonzero(g == 0.0)[0]:
            add(float(grid[i]))
        d = self.dV(grid) - 1.0
        for i in np.nonzero(np.sign(d[:-1]) * np.sign(d[1:]) < 0)[0]:
            c = optimize.brentq(lambda x: float(self.dV(x)) - 1.0, grid[i], grid[i + 1],
                                xtol=1e-14, rtol=1e-13)
            if abs(float(self.V(c)) - c) <= 1e-9 * c:
                add(c)
        return [FixedPoint(r, float(self.dV(r))) for r in sorted(roots)]

    def depth_scales(self, q_star: float) -> dict:
        """Schoenholz et al. 2017: ``xi_q = -1/ln V'(q*)``, ``xi_c = -1/ln chi_1``.

        ``inf`` where the slope is 1 (edge of chaos: correlations decay sub-exponentially).
        """
        def xi(slope: float) -> float:
            return float(np.inf) if abs(slope - 1.0) <= MARGINAL_TOL or slope <= 0 \
                else float(-1.0 / np.log(slope))
        return {"xi_q": xi(float(self.dV(q_star))), "xi_c": xi(float(self.chi1(q_star)))}


def _q(q):
    q = np.asarray(q, float)
    if np.any(~(q > 0)) or np.any(~np.isfinite(q)):
        check_positive("q", float(q[~((q > 0) & np.isfinite(q))][0]) if q.ndim else float(q))
    return q
