"""Mean-field maps of a wide random network (Poole et al. 2016; Schoenholz et al. 2017).

``h^l = W^l phi(h^{l-1}) + b^l`` with ``W_ij ~ N(0, sigma_w^2/N)``, ``b_i ~ N(0, sigma_b^2)``:

* variance map ``V(q) = sigma_w^2 E[phi(sqrt(q) z)^2] + sigma_b^2``;
* ``V'(q) = sigma_w^2 (E[phi'^2] + E[phi phi''])`` (Stein; delta terms at kinks, [P24]);
* correlation map ``R(rho) = (sigma_w^2 E[phi(u1) phi(u2)] + sigma_b^2) / q``,
  ``R'(rho) = sigma_w^2 E[phi'(u1) phi'(u2)]``, ``chi_1 = R'(1)``.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np

from . import jumps, moments, tails
from .activations import Activation
from .errors import SCALE_MAX, ParameterError, check_positive, check_real
from .roots import brentq, fminbound
from .spec import as_activation, format_spec

MARGINAL_TOL = 1e-12  # |V'(q)| within this of 1: marginal (rounding of V' is ~1e-16)
SAME_ROOT_RTOL = 1e-12  # roots closer than this (relative) are one root
TANGENT_TOL = 1e-14  # |h| at a polished extremum below this: a double (tangential) root
NEAR_RTOL = 1e-3  # below this distance from a known root, deflate by quadrature of V'
GL_NODES = 8
EXPLODED = 1e150  # iterate: a variance past this has exploded (continues as inf)


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
        if type(self) is MeanField:  # (subclasses, e.g. gated units, bring their own kind)
            object.__setattr__(self, "act", as_activation(self.act))
        check_real("sigma_w2", self.sigma_w2, f"a weight variance in (0, {SCALE_MAX:g}]",
                   lambda v: 0 < v <= SCALE_MAX)
        check_real("sigma_b2", self.sigma_b2, f"a bias variance in [0, {SCALE_MAX:g}]",
                   lambda v: 0 <= v <= SCALE_MAX)

    def _one(self, what: str, f, q):
        """One float ``q`` (the scalar fast path of :mod:`.moments`): ``f(q)`` when it passes
        :meth:`_guard`'s checks, else ``None`` (the general route then reports it)."""
        if type(q) is not float or not 0.0 < q < math.inf:
            return None
        v = float(f(q))
        bad = (not math.isfinite(v)
               or (what == "V" and (v < 0.0 or v - self.sigma_b2 < -1e-12 * abs(v)))
               or (what == "chi1" and v < 0.0)
               or (what == "R" and abs(v) > 1.0 + 1e-9))  # _invalid's rules, for one float
        return None if bad else np.float64(v)

    def V(self, q):
        """``V(q) = sigma_w^2 E[phi^2] + sigma_b^2``."""
        def v(qq):
            return self.sigma_w2 * moments.e_phi2(self.act, qq) + self.sigma_b2
        out = self._one("V", v, q)
        return out if out is not None else self._guard("V", v, q)

    def dV(self, q):
        """``V'(q) = sigma_w^2 (E[phi'^2] + E[phi phi''])``."""
        def dv(qq):
            return self.sigma_w2 * tails.dq_e_phi2(self.act, qq, 1, self._dv_fallback)  # [tails hook]
        out = self._one("dV", dv, q)
        return out if out is not None else self._guard("dV", dv, q)

    def _dv_fallback(self, qq):
        if self.act.has_jumps:  # [jumps hook] E[phi'^2] = inf: Stein form (theory/jumps.py)
            return jumps.dq_e_phi2(self.act, qq)
        return moments.e_dphi2(self.act, qq) + moments.e_phi_d2phi(self.act, qq)

    def d2V(self, q):
        """``V''(q) = sigma_w^2 d^2/dq^2 E[phi^2]``."""
        return self._guard("d2V", lambda qq: self.sigma_w2 * moments.d2q_e_phi2(self.act, qq), q)

    def chi1(self, q):
        """``chi_1(q) = sigma_w^2 E[phi'^2]``: per-layer gradient gain."""
        def chi(qq):
            return self.sigma_w2 * moments.e_dphi2(self.act, qq)
        out = self._one("chi1", chi, q)
        return out if out is not None else self._guard("chi1", chi, q)

    def R(self, rho, q):
        """Correlation map at variance ``q``: ``(sigma_w^2 E[phi(u1)phi(u2)] + sigma_b^2)/V(q)``.

        At a fixed point ``V(q*) = q*`` this is docs/theory.md's ``R(rho)``.
        """
        def r(qq):
            return _ratio(self.sigma_w2 * moments.e_phi_phi(self.act, qq, rho) + self.sigma_b2,
                          self.V(qq))
        out = self._one("R", r, q) if type(rho) is float else None  # one float (q, rho)
        return out if out is not None else self._guard("R", r, q, rho)

    def dR(self, rho, q):
        """``R'(rho) = sigma_w^2 E[phi'(u1) phi'(u2)] q / V(q)`` (``= sigma_w^2 E[phi'phi']`` at ``q*``)."""
        def dr(qq):
            return _ratio(self.sigma_w2 * moments.e_dphi_dphi(self.act, qq, rho) * qq, self.V(qq))
        out = self._one("dR", dr, q) if type(rho) is float else None  # one float (q, rho)
        return out if out is not None else self._guard("dR", dr, q, rho)

    def _guard(self, what: str, f, q, rho=None):
        """``f(q)`` if it is a valid result, else a :class:`ParameterError` naming ``q`` and
        the decades of ``q`` where ``what`` is computable.

        Invalid: NaN or infinite; a negative variance (``V < 0``, or ``E[phi^2] < 0``
        beyond rounding, i.e. ``sigma_w^2 E[phi^2] < -1e-12 V``);
        ``chi_1 < 0``; ``|R| > 1`` (Cauchy-Schwarz).  This is where results leave the
        theory: no NaN and no negative variance is ever returned.
        """
        q = check_q(q)
        value = np.asarray(f(q), float)
        bad = _invalid(what, value, q, self.sigma_w2, self.sigma_b2)
        if self.act.has_jumps and what in ("chi1", "dR"):  # exactly +inf (theory/jumps.py)
            bad = bad & ~(value == np.inf)
        if not np.any(bad):
            return value[()]
        q_bad = float(np.broadcast_to(q, bad.shape)[bad][0])
        v_bad = float(value[bad][0]) if value.ndim else float(value)
        at = "" if rho is None else f" at rho={float(np.ravel(rho)[0]):g}"
        ok = []
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore", RuntimeWarning)  # a diagnosis: the first call warned
            for p in range(-12, 13):
                try:
                    qq = np.asarray(10.0 ** p)
                    ok.append(not np.any(_invalid(what, np.asarray(f(qq), float), qq,
                                                  self.sigma_w2, self.sigma_b2)))
                except (ArithmeticError, ValueError):
                    ok.append(False)
        span = _run_around(ok, 12)
        if span and 10.0 ** (span[0] - 12) <= q_bad <= 10.0 ** (span[1] - 12):
            pos = math.log10(q_bad) + 12  # q_bad fails between grid decades: cut the span there
            span = (math.floor(pos) + 1, span[1]) if q_bad < 1 else (span[0], math.ceil(pos) - 1)
            span = span if span[0] <= span[1] else None
        if not span:  # no q at all: the activation, not q, is at fault
            raise ParameterError("activation", format_spec(self.act), f"one whose {what} is "
                                 f"finite at some q in [1e-12, 1e12] (it gave {v_bad:g} at "
                                 f"q={q_bad:g}{at}, and no decade of q does better)")
        where = f"in [1e{span[0] - 12}, 1e{span[1] - 12}]"
        raise ParameterError("q", q_bad, f"{where}, where {what} of "
                             f"{format_spec(self.act)}{at} is computable (it gave {v_bad:g} at "
                             f"q={q_bad:g})")

    def iterate(self, q0: float, depth: int) -> np.ndarray:
        """``q^0, ..., q^depth`` under ``q^{l+1} = V(q^l)`` (infinite width); an exploded
        variance (past ``EXPLODED`` or overflowing) continues as ``inf``."""
        if isinstance(depth, bool) or not isinstance(depth, (int, np.integer)) or depth < 0:
            raise ParameterError("depth", depth, "an integer >= 0")
        qs = [float(check_q(q0))]
        for _ in range(depth):
            if not qs[-1] < EXPLODED:
                qs.append(np.inf)
                continue
            qs.append(float(self.V(qs[-1])))
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

        ``known`` roots (e.g. ``q*``) are included exactly and *deflated*: the scan runs
        on ``h(q) = (V(q) - q) / prod_k (q - k)``, which keeps every other root (also one
        within ``1e-12 k`` of ``k``) as a sign change.  Near ``k`` the quotient is computed
        without cancellation as the mean of ``V'(s) - 1`` over ``[k, q]`` (Gauss-Legendre),
        on offsets ``k (1 +- 10^-j/2)`` down to ``SAME_ROOT_RTOL``.  Roots come from sign
        changes of ``h`` on a log grid (Brent's method); a pair of roots closer than the
        grid spacing (a newborn saddle-node pair) from a local extremum of ``h`` whose
        polished value has the other sign; a tangential root (``V' = 1``, the pair at the
        instant of birth) only where that polished value is zero to rounding.
        """
        ks = tuple(sorted({float(k) for k in known}))
        grid = np.geomspace(q_lo, q_hi, n_grid)
        offsets = 10.0 ** (-np.arange(4, 25) / 2.0)  # 1e-2 ... 1e-12
        grid = np.concatenate([grid] + [k * (1 + s * offsets) for k in ks for s in (-1, 1)])
        grid = np.unique(grid[(grid >= q_lo) & (grid <= q_hi)])
        grid = grid[[all(abs(q - k) > SAME_ROOT_RTOL * k for k in ks) for q in grid]]
        h = self._deflated(grid, ks)
        roots = list(ks)
        found: list[float] = []
        double: list[float] = []

        def add(r: float | None, into: list) -> None:
            if r is not None and all(abs(r - s) > SAME_ROOT_RTOL * max(r, s) for s in roots):
                roots.append(r)
                into.append(r)

        def f(x: float) -> float:
            return float(self._deflated(np.array([x]), ks)[0])

        def root(a: float, b: float) -> float | None:
            if f(a) * f(b) > 0:  # a sign change of rounding noise only (extreme parameters)
                return None
            return brentq(f, a, b, xtol=1e-300, rtol=4 * np.finfo(float).eps)
        sign = np.sign(h)
        for i in np.nonzero(sign[:-1] * sign[1:] < 0)[0]:
            if any(grid[i] < k < grid[i + 1] for k in ks):
                continue  # h changes sign at k itself: k is a double root (V'(k) = 1)
            add(root(grid[i], grid[i + 1]), found)
        for i in np.nonzero(h == 0.0)[0]:
            add(float(grid[i]), found)
        # Local extrema of h between same-signed neighbours: polish, look for a hidden pair.
        for i in np.arange(1, len(grid) - 1):
            sgn = sign[i]
            if sgn == 0 or sign[i - 1] != sgn or sign[i + 1] != sgn:
                continue
            if not (sgn * h[i] <= sgn * h[i - 1] and sgn * h[i] <= sgn * h[i + 1]):
                continue
            a, b = grid[i - 1], grid[i + 1]
            if any(a < k < b for k in ks):
                continue
            c, hc = fminbound(lambda x: sgn * f(x), a, b, xatol=1e-10 * b, maxiter=200)
            hc *= sgn
            if hc * sgn < 0:  # the other sign: two roots, one on each side of c
                add(root(a, c), found)
                add(root(c, b), found)
            elif abs(hc) <= TANGENT_TOL * (1.0 + abs(float(self.dV(c)))):
                add(c, double)
        out = []
        for r in sorted(roots):
            slope = float(self.dV(r))
            out.append(FixedPoint(r, 1.0 if r in double else slope))
        return out

    def _deflated(self, q: np.ndarray, known: tuple) -> np.ndarray:
        """``(V(q) - q) / prod_k (q - k)`` for roots ``k`` of ``V(q) = q``.

        The factor of the nearest ``k`` is divided out exactly where ``|q - k| <
        NEAR_RTOL k``: ``(V(q) - q)/(q - k) = mean over [k, q] of (V'(s) - 1)`` (the
        fundamental theorem of calculus with ``V(k) = k``), on ``GL_NODES`` nodes.
        """
        q = np.asarray(q, float)
        out = np.empty_like(q)
        near = np.zeros(q.shape, bool)
        nodes, weights = np.polynomial.legendre.leggauss(GL_NODES)
        for k in known:
            idx = np.abs(q - k) < NEAR_RTOL * k
            if np.any(idx):
                qq = q[idx]
                s = k + np.outer(qq - k, (nodes + 1.0) / 2.0)
                mean = (self.dV(s.ravel()).reshape(s.shape) - 1.0) @ weights / 2.0
                others = np.prod([qq - j for j in known if j != k], axis=0)
                out[idx] = mean / others
                near |= idx
        far = ~near
        if np.any(far):
            qq = q[far]
            out[far] = (self.V(qq) - qq) / np.prod([qq - k for k in known], axis=0)
        return out

    def depth_scales(self, q_star: float, slope: float | None = None) -> dict:
        """Schoenholz et al. 2017: ``xi_q = -1/ln V'(q*)``, ``xi_c = -1/ln chi_1``.

        ``inf`` where the slope is 1 (edge of chaos: correlations decay sub-exponentially);
        negative above 1 (the scale on which a perturbation grows); ``0.0`` where the
        slope is infinite (``chi_1`` of a jump activation, :mod:`.jumps`: two inputs
        separate within one layer, the limit of ``-1/ln chi`` as ``chi -> inf``, written
        as ``0.0``, not ``-0.0``).
        ``slope``: ``V'(q*)`` when known more accurately than :meth:`dV` gives it.
        """
        def xi(slope: float) -> float:
            if slope == np.inf:
                return 0.0
            return float(np.inf) if abs(slope - 1.0) <= MARGINAL_TOL or slope <= 0 \
                else float(-1.0 / np.log(slope))
        v1 = float(self.dV(q_star)) if slope is None else float(slope)
        return {"xi_q": xi(v1), "xi_c": xi(float(self.chi1(q_star)))}


def extra_fixed_points(fixed_points, q_star: float) -> list:
    """The fixed points above ``q*`` other than ``q*`` itself: the bifurcation's extra roots
    ([P24]; an unstable one and a large stable one).  The one rule for "extra": ``q > q*``
    and not the same root as ``q*`` (relative distance above ``SAME_ROOT_RTOL``).
    Accepts :class:`FixedPoint` objects or their :meth:`FixedPoint.to_dict` form."""
    def q_of(f):
        return f["q"] if isinstance(f, dict) else f.q
    return [f for f in fixed_points if q_of(f) - q_star > SAME_ROOT_RTOL * q_star]


def _ratio(a, b):
    """``a / b``; ``0 / 0`` (``V(q) = 0``: no correlation defined) becomes NaN silently
    and is reported by the guard."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(a, float) / b


def _invalid(what: str, value: np.ndarray, q, sigma_w2: float, sigma_b2: float) -> np.ndarray:
    """Mask of values that are no result (see :meth:`MeanField._guard`)."""
    bad = ~np.isfinite(value)
    with np.errstate(invalid="ignore"):
        if what == "V":
            bad |= (value < 0) | (value - sigma_b2 < -1e-12 * np.abs(value))
        elif what == "chi1":
            bad |= value < 0
        elif what == "R":
            bad |= np.abs(value) > 1.0 + 1e-9
    return bad


def _run_around(ok: list[bool], centre: int) -> tuple[int, int] | None:
    """The run of ``True`` in ``ok`` containing ``centre`` (else the longest run)."""
    runs, start = [], None
    for i, v in enumerate([*ok, False]):
        if v and start is None:
            start = i
        elif not v and start is not None:
            runs.append((start, i - 1))
            start = None
    for r in runs:
        if r[0] <= centre <= r[1]:
            return r
    return max(runs, key=lambda r: r[1] - r[0], default=None)


def check_q(q):
    """``q`` as a float array if every entry is a positive finite variance, else a
    :class:`ParameterError` naming ``q`` (the guard of every map's input)."""
    q = np.asarray(q, float)
    if np.any(~(q > 0)) or np.any(~np.isfinite(q)):
        check_positive("q", float(q[~((q > 0) & np.isfinite(q))][0]) if q.ndim else float(q))
    return q
