"""Deriving the initialisation for a target sparsity: ``tau``, the clip ``m``, the edge of
chaos, and the stability verdict ([P24] sections 3-4, docs/theory.md section 4.2-4.4).

Everything is computed at ``q* = 1`` in the scaled variables ``t = tau/sqrt(q*)``,
``mu = m/sqrt(q*)`` and mapped back: ``tau, m ~ sqrt(q*)``, ``sigma_b^2 ~ q*``,
``sigma_w^2`` unchanged (scale invariance of the piecewise-linear family).  On the edge
of chaos, ``V'(q*) = 1 + E[phi phi''] / E[phi'^2] = E[x phi phi'] / E[phi'^2]`` at
``q* = 1`` (Gaussian integration by parts); the second form, integrated piece by piece from
the activation's definition (:func:`e_x_phi_dphi`), has no cancellation as the clip
shrinks and ``V'(q*) -> 0`` (for CReLU the first is ``1 - mu gamma(t + mu) / (Phi(t + mu)
- Phi(t))`` [P24], which the tests evaluate in mpmath).
"""

from __future__ import annotations

import functools
import math
from dataclasses import asdict, dataclass, field

import numpy as np

from . import numeric_forms
from .activations import CATALOGUE, Activation, family, get, names
from .eoc import edge_of_chaos
from .errors import ParameterError, check_open_unit, check_real, check_variance
from .gaussian import gamma, truncated_moments
from .maps import FixedPoint, MeanField, extra_fixed_points
from .piecewise_linear import PiecewiseLinear
from .roots import brentq
from .sparsity import tau_for_sparsity

# [P24] families (threshold-set sparsity, piecewise linear, continuous), from their definitions
CLIPPED = tuple(n for n in names(derivable=True) if CATALOGUE[n].clip)
UNCLIPPED = tuple(n for n in names(derivable=True) if not CATALOGUE[n].clip)
DEFAULT_VPRIME = 0.5
MU_RANGE = (1e-15, 1e3)
VPRIME_MIN = 1e-12  # smallest target V'(q*) accepted (accurate to ~1e-15 relative there)
NEAR_BIFURCATION = 1e-4  # a clip this close (relative) to the bifurcation gets a warning
SMALL_MU = 1.0  # pieces shorter than this: Gauss-Legendre for E[x phi phi']; else closed form
_GL = np.polynomial.legendre.leggauss(32)


def _check_name(name: str, allowed=CLIPPED + UNCLIPPED) -> str:
    if name not in allowed:
        raise ParameterError("activation", name, f"one of {list(allowed)}")
    return name


@dataclass(frozen=True)
class ScaledEoC:
    """The edge of chaos at ``q* = 1`` (:func:`eoc_scaled`); arrays broadcast over ``t, mu``."""

    pl: PiecewiseLinear  # the activation's pieces
    sigma_w2: np.ndarray
    sigma_b2: np.ndarray
    vprime: np.ndarray   # V'(q*)
    vsecond: np.ndarray  # V''(q*)


def eoc_scaled(name: str, t, mu) -> ScaledEoC:
    """Edge of chaos at ``q* = 1`` for scaled ``t = tau/sqrt(q*)``, ``mu = m/sqrt(q*)``
    (broadcast arrays): a :class:`ScaledEoC` (pieces, ``sigma_w2``, ``sigma_b2``, ``V'(q*)``,
    ``V''(q*)``) with
    ``sigma_w2 = 1/E[phi'^2]``, ``sigma_b2 = 1 - sigma_w2 E[phi^2]`` ([P24]; docs/theory.md section 2)."""
    pl = PiecewiseLinear.of(family(name), t, mu)
    e_dphi2 = pl.e_dphi2(1.0)
    sigma_w2 = 1.0 / e_dphi2
    sigma_b2 = 1.0 - sigma_w2 * pl.e_phi2(1.0)
    vprime = vprime_on_eoc(name, t, mu) if name in CLIPPED else 1.0 + sigma_w2 * pl.e_phi_d2phi(1.0)
    vsecond = sigma_w2 * pl.d2q_e_phi2(1.0)
    return ScaledEoC(pl, sigma_w2, sigma_b2, vprime, vsecond)


def vprime_on_eoc(name: str, t, mu):
    """``V'(q*)`` on the edge of chaos at ``q* = 1`` for scaled ``t``, ``mu`` (arrays), from
    the activation's definition: ``V'(q*) = sigma_w^2 d/dq E[phi^2]``, ``sigma_w^2 =
    1/E[phi'^2]``, and ``d/dq E[phi^2] = E[x phi phi']`` at ``q = 1`` (Gaussian integration
    by parts once), summed over the pieces of ``phi`` (:func:`e_x_phi_dphi`).  No CReLU/CST
    formula is written here; the form keeps full relative accuracy as ``V'(q*) -> 0``."""
    _check_name(name, CLIPPED)
    params = np.broadcast_arrays(np.asarray(t, float), np.asarray(mu, float))
    pl = PiecewiseLinear.of(family(name), *params)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        num, den = e_x_phi_dphi(name, pl, params)
        return (num / den)[()]


@functools.lru_cache(maxsize=None)
def _finite_pieces(name: str) -> tuple:
    """Per finite interval ``k`` of family ``name``: ``f(*params) -> (width, phi at its left
    end, phi at its right end)``, simplified from the sympy definition (the width of CReLU's
    sloped piece is ``m`` itself, not a difference of rounded breakpoints)."""
    fam = family(name)

    def build():
        import sympy as sp

        from .activations import X
        b, p = fam.breaks_sym, fam.pieces_sym(0)
        return {f"PIECE_{k}": sp.lambdify(fam.symbols, [
            sp.simplify(b[k] - b[k - 1]), sp.simplify(p[k].subs(X, b[k - 1])),
            sp.simplify(p[k].subs(X, b[k]))], "numpy") for k in range(1, len(b))}, {}
    mod = numeric_forms.family_module(fam, "finite_pieces", build, __file__)
    return tuple((k, getattr(mod, f"PIECE_{k}")) for k in range(1, fam.forms.N_PIECES - 1))


def e_x_phi_dphi(name: str, pl: PiecewiseLinear, params) -> tuple[np.ndarray, np.ndarray]:
    """``(E[x phi phi'], E[phi'^2])``, ``x ~ N(0, 1)``, summed over the pieces
    ``a_k x + c_k`` of ``phi``.  Where ``phi`` has the sign of ``x`` on its sloped pieces
    (CReLU, CST) the first integrand is ``>= 0``: a finite piece narrower than ``SMALL_MU``
    is integrated by 32-point Gauss-Legendre over its exact width, from the end where
    ``|phi|`` is smaller (no cancellation as it shrinks), the others in closed form
    (:func:`.gaussian.truncated_moments`)."""
    e, nodes, weights = pl.edges, *_GL
    finite = dict(_finite_pieces(name))
    num, den = np.zeros(np.shape(params[0])), np.zeros(np.shape(params[0]))
    for k, (a, c) in enumerate(zip(pl.slopes, pl.intercepts)):
        m0, m1, m2 = truncated_moments(e[k], e[k + 1])
        n_k, d_k = a * (a * m2 + c * m1), a * a * m0
        if k in finite:
            width, v_lo, v_hi = (np.broadcast_to(np.asarray(v, float), num.shape)
                                 for v in finite[k](*params))
            short, from_hi = width < SMALL_MU, np.abs(v_hi) < np.abs(v_lo)
            half = (np.where(short, width, 0.0) / 2.0)[..., None]
            off = half * np.where(from_hi[..., None], nodes - 1.0, nodes + 1.0)  # x - anchor
            x = np.where(from_hi, e[k + 1], e[k])[..., None] + off
            slope = np.asarray(a, float)[..., None]
            phi = np.where(from_hi, v_hi, v_lo)[..., None] + slope * off
            w = gamma(x) * half
            n_k = np.where(short, (slope * x * phi * w) @ weights, n_k)
            d_k = np.where(short, (slope * slope * w) @ weights, d_k)
        num, den = num + n_k, den + d_k
    return num, den


def m_for_vprime(name: str, sparsity, vprime, q_star: float = 1.0):
    """The clip ``m`` with ``V'(q*) = vprime`` on the edge of chaos at the given sparsity.

    ``V'(q*)`` increases from 0 (``m -> 0``) to 1 (``m -> inf``), so the root is unique;
    found by vectorised bisection in ``log m`` (grids of sparsities and targets at once).
    """
    _check_name(name, CLIPPED)
    q_star = check_variance("q_star", q_star)
    v = np.asarray(vprime, float)
    bad = ~((v >= VPRIME_MIN) & (v < 1))
    if np.any(bad):
        raise ParameterError("vprime", float(v[bad][0]) if v.ndim else float(v),
                             f"in [{VPRIME_MIN:g}, 1)")
    t = np.asarray(tau_for_sparsity(name, sparsity), float)
    t, v = np.broadcast_arrays(t, v)
    lo, hi = np.log(MU_RANGE[0]), np.log(MU_RANGE[1])
    if np.any(vprime_on_eoc(name, t, np.exp(lo)) > v):
        raise ParameterError("vprime", float(np.min(v)),
                             f"above V'(q*) at m={MU_RANGE[0]:g}*sqrt(q*) for this sparsity")
    if t.size == 1:  # one target: Brent's method (theory.roots, a few ms)
        x = brentq(lambda x: float(vprime_on_eoc(name, t, np.exp(x))) - float(v),
                            lo, hi, xtol=1e-15, rtol=1e-15)
        return (np.exp(np.full(t.shape, x)) * np.sqrt(q_star))[()]
    from scipy.optimize import elementwise  # a grid of targets: scipy's vectorised root

    res = elementwise.find_root(lambda x, t, v: vprime_on_eoc(name, t, np.exp(x)) - v,
                                (np.full(t.shape, lo), np.full(t.shape, hi)), args=(t, v),
                                tolerances=dict(xatol=1e-15, xrtol=1e-15))
    return (np.exp(res.x) * np.sqrt(q_star))[()]


def _max_gap(name: str, t, mus) -> np.ndarray:
    """``max_{q > q*} (V(q) - q)`` on the edge of chaos (``q* = 1``), for each ``mu``.

    Located on a log grid, then polished by Newton steps on ``V'(q) = 1`` using the
    closed-form ``V''``.  ``>= 0`` iff ``V`` has extra fixed points above ``q*``.
    """
    mus = np.asarray(mus, float)[:, None]
    eoc = eoc_scaled(name, t, mus)
    pl, sigma_w2, sigma_b2 = eoc.pl, eoc.sigma_w2, eoc.sigma_b2
    q_hi = 10.0 * (sigma_w2 * mus * mus + sigma_b2 + 1.0)
    q = np.exp(np.log(1.0 + 1e-3) + np.linspace(0.0, 1.0, 400)[None, :]
               * (np.log(q_hi) - np.log(1.0 + 1e-3)))
    gap = sigma_w2 * pl.e_phi2(q) + sigma_b2 - q
    i = np.argmax(gap, axis=1)
    rows = np.arange(len(mus))
    qc, best = q[rows, i][:, None], gap[rows, i]
    lo, hi = q[rows, np.maximum(i - 1, 0)][:, None], q[rows, np.minimum(i + 1, q.shape[1] - 1)][:, None]
    for _ in range(8):
        d1 = sigma_w2 * (pl.e_dphi2(qc) + pl.e_phi_d2phi(qc)) - 1.0
        d2 = sigma_w2 * pl.d2q_e_phi2(qc)
        with np.errstate(divide="ignore", invalid="ignore"):
            step = np.clip(np.where(d2 < 0, qc - d1 / d2, qc), lo, hi)
        if np.array_equal(step, qc):  # a fixed point: the remaining steps would not move it
            break
        qc = step
    polished = (sigma_w2 * pl.e_phi2(qc) + sigma_b2 - qc)[:, 0]
    return np.maximum(best, polished)


def _first_crossing(f, lo: float, hi: float, n: int) -> float | None:
    """Smallest ``x`` in ``[lo, hi]`` where the vectorised ``f`` turns from < 0 to >= 0:
    a log-grid scan for the bracket, then Brent's method in ``log x`` (:mod:`.roots`)."""
    grid = np.geomspace(lo, hi, n)
    values = f(grid)
    idx = np.nonzero((values[:-1] < 0) & (values[1:] >= 0))[0]
    if not idx.size:
        return None
    a, b = np.log(grid[idx[0]]), np.log(grid[idx[0] + 1])
    return float(np.exp(brentq(lambda x: float(f(np.exp(x))), a, b, xtol=1e-14, rtol=1e-14)))


def critical_m(name: str, sparsity: float, q_star: float = 1.0) -> dict:
    """The critical clips at a sparsity, scaled by ``sqrt(q*)``:

    ``vsecond_zero``: the ``m`` where ``V''(q*)`` changes sign (negative below);
    ``bifurcation``: the smallest ``m`` beyond which ``V`` has extra fixed points above
    ``q*`` (a saddle-node: an unstable one and a large stable one) [P24].
    ``None`` where no such ``m`` exists in ``(1e-3, 1e2) sqrt(q*)``.
    """
    _check_name(name, CLIPPED)
    check_open_unit("sparsity", sparsity)
    q_star = check_variance("q_star", q_star)
    v2, bif = _critical_scaled(name, float(tau_for_sparsity(name, sparsity)))
    return {k: (None if v is None else v * math.sqrt(q_star))
            for k, v in (("vsecond_zero", v2), ("bifurcation", bif))}


@functools.lru_cache(maxsize=1024)
def _critical_scaled(name: str, t: float) -> tuple[float | None, float | None]:
    """Critical clips at ``q* = 1`` (cached: the costly part of :func:`derive`, shared by
    every target ``V'(q*)`` and ``q*`` at one sparsity)."""
    v2 = _first_crossing(lambda mu: eoc_scaled(name, t, mu).vsecond, 1e-3, 1e2, n=121)
    bif = _first_crossing(lambda mu: _max_gap(name, t, np.ravel(mu)).reshape(np.shape(mu)),
                          1e-3, 1e2, n=41)
    return v2, bif


@dataclass(frozen=True)
class Derivation:
    """The initialisation for a target sparsity and its stability verdict."""

    activation: str
    sparsity: float
    q_star: float
    tau: float
    m: float | None
    sigma_w2: float
    sigma_b2: float
    chi1: float
    vprime: float
    vsecond: float
    fixed_points: list[dict]
    critical_m: dict | None
    depth_scales: dict
    warnings: list[str] = field(default_factory=list)

    def activation_fn(self) -> Activation:
        """The bound catalogue activation."""
        params = {"tau": self.tau} if self.m is None else {"tau": self.tau, "m": self.m}
        return get(self.activation, **params)

    def mean_field(self) -> MeanField:
        return MeanField(self.activation_fn(), self.sigma_w2, self.sigma_b2)

    def to_dict(self) -> dict:
        return asdict(self)


def derive(activation: str, sparsity: float, vprime: float | None = None,
           m: float | None = None, q_star: float = 1.0) -> Derivation:
    """Threshold, clip and edge-of-chaos variances for a target exact-zero sparsity.

    For clipped activations give a target ``vprime = V'(q*)`` in (0, 1) (default 0.5)
    or the clip ``m`` itself; unclipped ones take neither.  ``q*`` is free [DT26].
    """
    name = _check_name(activation)
    asked = (("vprime", vprime) if vprime is not None else ("m", m) if m is not None
             else ("sparsity", sparsity))  # what a derived value out of range is blamed on
    sparsity = check_open_unit("sparsity", sparsity)
    q_star = check_variance("q_star", q_star)
    if name in UNCLIPPED and (vprime is not None or m is not None):
        bad = "vprime" if vprime is not None else "m"
        raise ParameterError(bad, vprime if vprime is not None else m,
                             f"omitted for the unclipped {name} (only {'/'.join(CLIPPED)} take a clip)")
    if vprime is not None and m is not None:
        raise ParameterError("m", m, "omitted when vprime is given (give one of them)")
    tau = float(tau_for_sparsity(name, sparsity, q_star))
    if name in CLIPPED:
        if m is None:
            vprime = DEFAULT_VPRIME if vprime is None else check_real(
                "vprime", vprime, f"in [{VPRIME_MIN:g}, 1)", lambda v: VPRIME_MIN <= v < 1.0)
            m = float(m_for_vprime(name, sparsity, vprime, q_star))
        else:
            m = check_variance("m", m, "a clipping magnitude")
        act = get(name, tau=tau, m=m)
    else:
        act = get(name, tau=tau)
    try:
        return _derive(name, sparsity, q_star, tau, m, act)
    except ParameterError as err:  # a derived q or variance out of range: blame the input
        if err.param not in ("q", "sigma_w2", "sigma_b2"):
            raise
        raise ParameterError(*asked, f"a value whose variance map is computable: {err}") from None


def _derive(name: str, sparsity: float, q_star: float, tau: float, m: float | None,
            act: Activation) -> Derivation:
    sigma_w2, sigma_b2 = edge_of_chaos(act, q_star)
    mf = MeanField(act, sigma_w2, sigma_b2)
    rq = math.sqrt(q_star)
    v1 = (float(vprime_on_eoc(name, tau / rq, m / rq)) if m is not None  # clipped: cancellation-free
          else float(mf.dV(q_star)))
    v2 = float(mf.d2V(q_star))
    crit = critical_m(name, sparsity, q_star) if name in CLIPPED else None
    q_hi = 10.0 * (sigma_w2 * m * m + sigma_b2 + q_star) if m is not None else 1e3 * q_star
    fps = [FixedPoint(f.q, v1) if f.q == q_star else f
           for f in mf.fixed_points(1e-3 * q_star, q_hi, known=(q_star,))]
    return Derivation(name, sparsity, q_star, tau, m, sigma_w2, sigma_b2,
                      float(mf.chi1(q_star)), v1, v2, [f.to_dict() for f in fps], crit,
                      mf.depth_scales(q_star, v1), _warnings(name, v1, v2, fps, q_star, m, crit))


def _warnings(name: str, v1: float, v2: float, fps: list[FixedPoint], q_star: float,
              m: float | None, crit: dict | None) -> list[str]:
    out = []
    if name in UNCLIPPED and v2 > 0:
        out.append(f"unstable: V'(q*)=1 and V''(q*)={v2:.3g}>0, so q* attracts only from "
                   "below; finite-width fluctuations push q^l above it and the variance "
                   "explodes with depth [P24]. Use crelu/cst.")
    if crit is not None and v2 > 0:  # clipped
        where = ("at every clip for this sparsity" if crit["vsecond_zero"] is None else
                 f"since m={m:.4g} is above the critical clip {crit['vsecond_zero']:.4g}")
        out.append(f"V''(q*)={v2:.3g}>0 {where}: q* is less robust to upward fluctuations")
    bif = crit["bifurcation"] if crit else None
    if m is not None and bif is not None and abs(m / bif - 1.0) < NEAR_BIFURCATION:
        out.append(f"m={m:.10g} is within {NEAR_BIFURCATION:g} (relative) of the bifurcation "
                   f"clip {bif:.10g}: the extra pair of fixed points is (nearly) tangent, "
                   "and whether it exists turns on the last digits of m")
    extra = extra_fixed_points(fps, q_star)
    if name in CLIPPED and extra:
        desc = ", ".join(f"q={f.q:.10g} ({f.stability})" for f in extra)
        out.append(f"bifurcation: extra fixed points above q* at {desc}; finite-width noise "
                   "can jump to the large stable one and destroy sparsity [P24]")
    return out


def derive_grid(name: str, sparsities, vprimes, q_star: float = 1.0) -> dict:
    """Vectorised :func:`derive` over broadcast grids of sparsities and targets ``V'(q*)``:
    arrays ``tau, m, sigma_w2, sigma_b2, vsecond`` (no fixed-point search)."""
    _check_name(name, CLIPPED)
    q_star = check_variance("q_star", q_star)
    s, v = np.broadcast_arrays(np.asarray(sparsities, float), np.asarray(vprimes, float))
    if np.any(~((s > 0) & (s < 1))):
        raise ParameterError("sparsity", float(s[~((s > 0) & (s < 1))][0]),
                             "in the open interval (0, 1)")
    mu = np.asarray(m_for_vprime(name, s, v))
    t = np.asarray(tau_for_sparsity(name, s))
    eoc = eoc_scaled(name, t, mu)
    sigma_w2, sigma_b2, vsecond = eoc.sigma_w2, eoc.sigma_b2, eoc.vsecond
    rq = np.sqrt(q_star)
    return {"tau": t * rq, "m": mu * rq, "sigma_w2": sigma_w2, "sigma_b2": sigma_b2 * q_star,
            "vsecond": vsecond / q_star}
