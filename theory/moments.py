"""Gaussian moments of an activation, ``x ~ N(0, q)`` (and bivariate ``u1, u2``).

``method``:

* ``"auto"`` -- closed forms where they exist (:mod:`.piecewise_linear` for piecewise-linear
  activations, :mod:`.pl_bivariate` for their bivariate map where its error bound holds,
  :mod:`.arccos` for the bivariate map of homogeneous two-piece ones), fixed
  trapezoid rules for activations analytic in a strip about the real axis (:mod:`.strip`:
  tanh, sigmoid, SiLU, ...), else fixed Gauss-Legendre panels between breakpoints
  (:mod:`.panel_moments`);
* ``"closed"`` -- closed forms only (``TypeError`` where there is none);
* ``"panels"`` -- the panel rule, whatever the activation;
* ``"quad"`` -- univariate: adaptive quadrature of each smooth piece between breakpoints
  (:func:`.gaussian.split_expect`), an independent slow reference; bivariate: the panel
  rule with its generic inner integral (no closed form).

The delta terms of ``phi''`` at kinks are added in closed form.  ``q`` (and ``rho``) may be
scalars or arrays.  A result that cannot be computed in floating point raises
:class:`.errors.ParameterError` naming ``q``; no NaN is ever returned.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Callable

import numpy as np

from . import arccos, gelu_kernel, jumps, panel_moments, pl_bivariate, scalar_closed, strip
from .activations import Activation
from .errors import ParameterError
from .gaussian import split_expect
from .piecewise_linear import PiecewiseLinear, density

METHODS = ("auto", "closed", "panels", "quad")


def _closed(act: Activation, method: str) -> PiecewiseLinear | None:
    """The piecewise-linear closed forms, or ``None`` where there are none (or with
    ``method`` "quad"/"panels")."""
    if method not in METHODS:
        raise ValueError(f"method={method!r} must be one of {METHODS}")
    if method in ("quad", "panels") or not act.is_piecewise_linear:
        if method == "closed":
            raise TypeError(f"no closed form: {act.name} is not piecewise linear")
        return None
    return _pl(act)


def _patch(value, act: Activation, q, method: str, redo: Callable):
    """With ``method="auto"``, replace the closed form by the panel rule ``redo(q)`` at the
    ``q`` where it is ill conditioned (:func:`_conditioned`)."""
    if method != "auto":
        return value[()]
    q = np.asarray(q, float)
    bad = ~_conditioned(act, q)
    if not np.any(bad):
        return value[()]
    out = np.array(np.broadcast_to(value, q.shape), float)
    out[bad] = redo(q[bad])
    return out[()]


TAIL_Z, NARROW_Z = 4.0, 0.25


def _conditioned(act: Activation, q) -> np.ndarray:
    """Where the truncated-moment sums are accurate.  They cancel (relative error
    ~ eps z^2) when a breakpoint lies far in the tail (``|b|/sqrt(q) > TAIL_Z``: the
    Mills-ratio cancellation of CReLU at large ``tau/sqrt(q)``) or an interval is narrow
    (``width/sqrt(q) < NARROW_Z``: ``Phi(b) - Phi(a)`` of nearly equal numbers, e.g. CReLU
    at ``q = 1e20``): the band ``q_range(act)``, resolved once per activation."""
    lo, hi = q_range(act)
    q = np.asarray(q, float)
    return (q >= lo) & (q <= hi)


@lru_cache(maxsize=256)
def q_range(act: Activation) -> tuple[float, float]:
    """``[q_lo, q_hi]``: ``|b| <= TAIL_Z sqrt(q)`` for every breakpoint and
    ``width >= NARROW_Z sqrt(q)`` for every interval (:func:`_conditioned`)."""
    b = act.breakpoints
    lo = float(np.max(np.abs(b)) / TAIL_Z) ** 2 if len(b) else 0.0
    hi = float(np.min(np.diff(b)) / NARROW_Z) ** 2 if len(b) > 1 else np.inf
    return lo, hi


def _one(act: Activation, q, method: str):
    """The scalar fast path for one float ``q`` inside its band, else ``None``."""
    if method != "auto" or type(q) is not float:
        return None
    f = scalar_closed.scalar(act)
    return f if f is not None and f.applies(q) else None


def _homogeneous(act: Activation, method: str):
    """``(E[phi(z)^2], E[phi'(z)^2])`` at ``q = 1`` for a positively homogeneous piecewise-
    linear ``phi`` (every breakpoint and intercept 0: ReLU, leaky ReLU, |x|), else ``None``."""
    return _unit_moments(act) if method == "auto" else None


@lru_cache(maxsize=256)
def _unit_moments(act: Activation):
    if not act.is_piecewise_linear or np.any(act.breakpoints != 0.0) or np.any(
            act.linear_coeffs[1] != 0.0):
        return None
    pl = _pl(act)
    return float(pl.e_phi2(1.0)), float(pl.e_dphi2(1.0))


@lru_cache(maxsize=256)
def _pl(act: Activation) -> PiecewiseLinear:
    return PiecewiseLinear.of(act.family, *act.values)


def _quad(act: Activation, q, make: Callable[[int], Callable | None], method: str,
          region: str = "all"):
    """``E[make(k)(x)]`` summed over the intervals ``k``: adaptive quadrature
    (``method="quad"``) or the fixed panel rule (otherwise)."""
    if method == "quad":
        lo, hi = _REGIONS[region]
        pieces = [make(k) for k in range(len(act.breakpoints) + 1)]
        f = np.vectorize(lambda qq: split_expect(pieces, act.breakpoints, qq, lo=lo, hi=hi),
                         otypes=[float])
        return f(np.asarray(q, float))[()]
    fs = [make(k) for k in range(len(act.breakpoints) + 1)]
    return _finite(panel_moments.univariate(act, q, lambda k, x, z: fs[k](x),
                                            lambda k: fs[k] is None, region), q)


_REGIONS = {"all": (-np.inf, np.inf), "pos": (0.0, np.inf), "neg": (-np.inf, 0.0)}


def _finite(value, q):
    """``value`` if finite everywhere, else a :class:`ParameterError` naming ``q``."""
    v = np.asarray(value, float)
    if not (math.isfinite(v) if v.ndim == 0 else np.isfinite(v).all()):
        bad = np.broadcast_to(np.asarray(q, float), v.shape)[~np.isfinite(v)]
        raise ParameterError("q", float(bad.flat[0]), "a variance at which the Gaussian "
                             "moments are representable in float64 (they overflow here)")
    return value


def _pieces(act: Activation, order: int, method: str = "quad") -> list:
    """Pieces of ``phi^(order)`` (``None`` where identically zero); overflow-safe ones for
    the panel rule."""
    zero = act.family.zero_pieces
    get = act.piece if method == "quad" else (lambda k, o: panel_moments.piece(act, k, o))
    return [None if (order >= 0 and zero[k]) else get(k, order) for k in range(len(zero))]


def _delta_terms(act: Activation, q):
    """``sum_k J_k phi(b_k) p_q(b_k)``: the kink contributions to ``E[phi phi'']``."""
    q = np.asarray(q, float)
    return sum((j * float(act(b)) * density(b, q) for j, b in zip(act.kinks, act.breakpoints)),
               0.0 * q)[()]


def _strip(act: Activation, method: str) -> bool:
    """Use the strip rules of :mod:`.strip` (``method="auto"``, a tabulated activation)."""
    return method == "auto" and strip.applies(act)


def _square(f):
    return None if f is None else (lambda x: f(x) ** 2)


def _product(f, g):
    return None if f is None or g is None else (lambda x: f(x) * g(x))


def e_phi(act: Activation, q, method: str = "auto"):
    """``E[phi(x)]``."""
    pl = _closed(act, method)
    if pl is not None:
        return _patch(pl.e_phi(q), act, q, method, lambda qq: e_phi(act, qq, "panels"))
    if _strip(act, method):
        return strip.moment(act, q, ((1.0, (0,)),))
    p = _pieces(act, 0, method)
    return _quad(act, q, lambda k: p[k], method)


def e_phi2(act: Activation, q, method: str = "auto"):
    """``E[phi(x)^2]``: the variance map is ``V(q) = sigma_w^2 E[phi^2] + sigma_b^2``."""
    f = _one(act, q, method)  # [scalar fast path] one float q (scalar_closed.py)
    if f is not None:
        return np.float64(f.moments(q)[0])
    k = _homogeneous(act, method)
    if k is not None:  # phi(sqrt(q) z) = sqrt(q) phi(z): E[phi^2] = q E[phi(z)^2]
        return (k[0] * np.asarray(q, float))[()]
    pl = _closed(act, method)
    if pl is not None:
        return _patch(pl.e_phi2(q), act, q, method, lambda qq: e_phi2(act, qq, "panels"))
    if method in ("auto", "closed") and gelu_kernel.applies(act):
        return gelu_kernel.e_phi_phi(q, 1.0, 0)[()]
    if _strip(act, method):
        return strip.moment(act, q, ((1.0, (0, 0)),))
    p = _pieces(act, 0, method)
    return _quad(act, q, lambda k: _square(p[k]), method)


def e_dphi2(act: Activation, q, method: str = "auto"):
    """``E[phi'(x)^2]``: ``chi_1 = sigma_w^2 E[phi'^2]`` (Poole et al. 2016)."""
    if act.has_jumps:  # [jumps hook] delta terms in phi': infinite (theory/jumps.py)
        return jumps.e_dphi2(act, q)
    f = _one(act, q, method)  # [scalar fast path]
    if f is not None:
        return np.float64(f.moments(q)[1])
    k = _homogeneous(act, method)
    if k is not None:  # phi' is constant on rays: E[phi'^2] does not depend on q
        return (k[1] + 0.0 * np.asarray(q, float))[()]
    pl = _closed(act, method)
    if pl is not None:
        return _patch(pl.e_dphi2(q), act, q, method, lambda qq: e_dphi2(act, qq, "panels"))
    if method in ("auto", "closed") and gelu_kernel.applies(act):
        return gelu_kernel.e_phi_phi(q, 1.0, 1)[()]
    if _strip(act, method):
        return strip.moment(act, q, ((1.0, (1, 1)),))
    p = _pieces(act, 1, method)
    return _quad(act, q, lambda k: _square(p[k]), method)


def e_phi_d2phi(act: Activation, q, method: str = "auto"):
    """``E[phi phi'']`` in the sense of distributions: smooth part plus kink deltas."""
    if act.has_jumps:  # [jumps hook] phi times delta': undefined (theory/jumps.py)
        raise jumps.undefined(act, "E[phi phi'']")
    f = _one(act, q, method)  # [scalar fast path]
    if f is not None:
        return np.float64(f.moments(q)[2])
    pl = _closed(act, method)
    if pl is not None:
        return _patch(pl.e_phi_d2phi(q), act, q, method,
                      lambda qq: e_phi_d2phi(act, qq, "panels"))
    if _strip(act, method):  # analytic: no kinks, no delta terms
        return strip.moment(act, q, ((1.0, (0, 2)),))
    p, p2 = _pieces(act, 0, method), _pieces(act, 2, method)
    smooth = _quad(act, q, lambda k: _product(p[k], p2[k]), method)
    return smooth + _delta_terms(act, q)


def e_phi_dphi(act: Activation, q, region: str = "all", method: str = "auto"):
    """``E[phi phi']`` over all, positive (``x >= 0``) or negative pre-activations [BF2]."""
    if region not in _REGIONS:
        raise ValueError(f"region={region!r} must be one of {sorted(_REGIONS)}")
    pl = _closed(act, method)
    if pl is not None:
        return _patch(pl.e_phi_dphi(q, *_REGIONS[region]), act, q, method,
                      lambda qq: e_phi_dphi(act, qq, region, "panels"))
    if region == "all" and _strip(act, method):
        return strip.moment(act, q, ((1.0, (0, 1)),))
    p, p1 = _pieces(act, 0, method), _pieces(act, 1, method)
    return _quad(act, q, lambda k: _product(p[k], p1[k]), method, region)


def p_zero(act: Activation, q, method: str = "auto"):
    """``P(phi(x) = 0)``: the exact-zero sparsity at initialisation (docs/theory.md section 4.1)."""
    pl = _closed(act, method)
    if pl is not None:
        return _patch(pl.p_zero(q), act, q, method, lambda qq: p_zero(act, qq, "panels"))
    ones = [(lambda x: 1.0 + 0.0 * x) if z else None for z in act.family.zero_pieces]
    return _quad(act, q, lambda k: ones[k], method)


def dq_e_phi2(act: Activation, q):
    """``d/dq E[phi^2]`` by differentiating the density: ``E[phi^2 He_2(z)] / (2q)``,
    ``z = x/sqrt(q)``, ``He_2 = z^2 - 1``.

    Independent of ``phi'`` and ``phi''``; by Gaussian integration by parts (Stein) it
    equals ``E[phi'^2] + E[phi phi'']``, which is how the tests check the delta terms.
    """
    p = _pieces(act, 0, "panels")
    q = np.asarray(q, float)
    q3 = q[..., None]
    v = panel_moments.univariate(act, q, lambda k, x, z: p[k](x) ** 2 * (z * z - 1.0)
                                 / (2.0 * q3), lambda k: p[k] is None)
    return _finite(v, q)


def d2q_e_phi2(act: Activation, q, method: str = "auto"):
    """``d^2/dq^2 E[phi^2] = E[phi^2 He_4(z)] / (4 q^2)``, ``He_4 = z^4 - 6 z^2 + 3``
    (the density differentiated twice in ``q``)."""
    if act.has_jumps and method in ("auto", "closed"):  # [jumps hook] the closed form
        method = "panels"  # assumes continuity; the He_4 form does not
    pl = _closed(act, method)
    if pl is not None:
        return _patch(pl.d2q_e_phi2(q), act, q, method,
                      lambda qq: d2q_e_phi2(act, qq, "panels"))
    if _strip(act, method):
        return strip.d2q_e_phi2(act, q)
    q = np.asarray(q, float)
    if method == "quad":
        def make(k, qq):
            f = act.piece(k, 0)
            return lambda x: f(x) ** 2 * ((x * x - qq) ** 2 / (4 * qq ** 4)
                                          + (qq - 2 * x * x) / (2 * qq ** 3))
        n = len(act.breakpoints) + 1
        f = np.vectorize(lambda qv: split_expect([make(k, qv) for k in range(n)],
                                                 act.breakpoints, qv), otypes=[float])
        return f(q)[()]
    p = _pieces(act, 0, method)
    q3 = q[..., None]

    def he4(k, x, z):
        z2 = z * z
        return p[k](x) ** 2 * ((z2 - 6.0) * z2 + 3.0) / (4.0 * q3 * q3)
    return _finite(panel_moments.univariate(act, q, he4, lambda k: p[k] is None), q)


# --- bivariate: u1, u2 ~ N(0, q), correlation rho -----------------------------------
def _bivariate(act: Activation, q, rho, order: int, method: str):
    if method not in METHODS:
        raise ValueError(f"method={method!r} must be one of {METHODS}")
    r = np.asarray(rho, float)
    if np.any(~(np.abs(r) <= 1.0)):
        raise ParameterError("rho", float(r[~(np.abs(r) <= 1.0)][0]) if r.ndim else float(r),
                             "in [-1, 1]")
    generic = method in ("quad", "panels")
    if not generic and arccos.applies(act):
        return arccos.e_phi_phi(act, q, rho, order)[()]
    if not generic and gelu_kernel.applies(act):
        return _gelu_bivariate(act, q, rho, order)
    if _strip(act, method):
        return strip.bivariate(act, q, rho, order)
    pl = None if generic else _closed(act, method)
    if method == "closed" and pl is None:
        raise TypeError(f"no closed form: {act.name} is not piecewise linear")
    if pl is None:
        return _finite(panel_moments.bivariate(act, q, rho, order, None), q)
    # [pl_bivariate] the closed form (theory/pl_bivariate.py); the panel rule only at the
    # points where its error bound fails, routed per point (no np.all over the array)
    value, ok = pl_bivariate.expect(act, q, r, order)
    if method == "closed" or ok.all():
        return value[()]
    qb, rb = np.broadcast_arrays(np.asarray(q, float), r)
    out = np.array(value)
    out[~ok] = _panel_bivariate(act, pl, qb[~ok], rb[~ok], order)
    return _finite(out, q)[()]


def _panel_bivariate(act: Activation, pl: PiecewiseLinear, q, r, order: int):
    """The panel rule on flat ``q, r``: closed-form inner expectation at the points where
    every interval is wide on the conditional scale, the generic inner rule elsewhere."""
    f = pl.e_phi if order == 0 else pl.e_dphi
    wide = np.all(np.diff(act.breakpoints)[:, None]
                  >= NARROW_Z * np.sqrt(q * (1.0 - r) * (1.0 + r))[None, :], axis=0)
    out = np.empty(q.shape)
    for mask, inner in ((wide, lambda mu, v: f(v, mu)), (~wide, None)):
        if mask.any():
            out[mask] = panel_moments.bivariate(act, q[mask], r[mask], order, inner)
    return out


GELU_RHO_MIN = -0.5  # below, the closed form cancels (k/4 against the rest) at large q


def _gelu_bivariate(act: Activation, q, rho, order: int):
    """Tsuchida et al.'s closed form where it is well conditioned, the strip rules elsewhere."""
    q, rho = np.broadcast_arrays(np.asarray(q, float), np.asarray(rho, float))
    out = gelu_kernel.e_phi_phi(q, rho, order)
    low = rho < GELU_RHO_MIN
    if np.any(low):
        out = np.array(out)
        out[low] = strip.bivariate(act, q[low], rho[low], order)
    return out[()]


def e_phi_phi(act: Activation, q, rho, method: str = "auto"):
    """``E[phi(u1) phi(u2)]``, ``u1, u2 ~ N(0, q)`` with correlation ``rho``: the arc-cosine
    kernel (Cho & Saul 2009) for homogeneous two-piece ``phi``; for piecewise-linear ``phi``
    the orthant closed form of :mod:`.pl_bivariate` (Owen's T, Rosenbaum 1961) at every point
    where its error bound holds; else an outer panel rule in ``z1`` of the conditional
    expectation over the centred ``z2``, see :mod:`.panel_moments`."""
    return _bivariate(act, q, rho, 0, method)


def e_dphi_dphi(act: Activation, q, rho, method: str = "auto"):
    """``E[phi'(u1) phi'(u2)]``: the slope of the correlation map is ``sigma_w^2`` times it."""
    if act.has_jumps:  # [jumps hook] plus the delta terms of phi' (theory/jumps.py)
        return _bivariate(act, q, rho, 1, method) + jumps.delta_dphi_dphi(act, q, rho)
    return _bivariate(act, q, rho, 1, method)
