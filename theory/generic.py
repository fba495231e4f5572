"""The generic route of :mod:`.routes`: every moment from the definition alone.

* the panel rule (:mod:`.panel_moments`): fixed Gauss-Legendre panels between breakpoints,
  the fallback that admits every point;
and the integrands that the independent slow reference
(:mod:`sparsefield.references.quad`) integrates adaptively.

Also the piecewise-linear closed form's conditioning (:func:`conditioned`), which decides
per point whether :mod:`.piecewise_linear` or the panel rule computes it.  The delta
terms of ``phi''`` at kinks are added in closed form.  A result that cannot be computed in
floating point raises :class:`.errors.ParameterError` naming ``q``: no NaN is returned.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Callable

import numpy as np

from . import panel_moments
from .activations import Activation
from .errors import ParameterError
from .piecewise_linear import PiecewiseLinear, density

TAIL_Z, NARROW_Z = 4.0, 0.25
REGIONS = {"all": (-np.inf, np.inf), "pos": (0.0, np.inf), "neg": (-np.inf, 0.0)}


@lru_cache(maxsize=256)
def pl(act: Activation) -> PiecewiseLinear:
    """The piecewise-linear closed forms of ``act``."""
    return PiecewiseLinear.of(act.family, *act.values)


def conditioned(act: Activation, q) -> np.ndarray:
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
    ``width >= NARROW_Z sqrt(q)`` for every interval (:func:`conditioned`)."""
    b = act.breakpoints
    lo = float(np.max(np.abs(b)) / TAIL_Z) ** 2 if len(b) else 0.0
    hi = float(np.min(np.diff(b)) / NARROW_Z) ** 2 if len(b) > 1 else np.inf
    return lo, hi


def finite(value, q):
    """``value`` if finite everywhere, else a :class:`ParameterError` naming ``q``."""
    v = np.asarray(value, float)
    if not (math.isfinite(v) if v.ndim == 0 else np.isfinite(v).all()):
        bad = np.broadcast_to(np.asarray(q, float), v.shape)[~np.isfinite(v)]
        raise ParameterError("q", float(bad.flat[0]), "a variance at which the Gaussian "
                             "moments are representable in float64 (they overflow here)")
    return value


def _pieces(act: Activation, order: int, quad: bool) -> list:
    """Pieces of ``phi^(order)`` (``None`` where identically zero); overflow-safe ones for
    the panel rule."""
    zero = act.family.zero_pieces
    get = act.piece if quad else (lambda k, o: panel_moments.piece(act, k, o))
    return [None if (order >= 0 and zero[k]) else get(k, order) for k in range(len(zero))]


def delta_terms(act: Activation, q):
    """``sum_k J_k phi(b_k) p_q(b_k)``: the kink contributions to ``E[phi phi'']``."""
    q = np.asarray(q, float)
    return sum((j * float(act(b)) * density(b, q) for j, b in zip(act.kinks, act.breakpoints)),
               0.0 * q)[()]


def _square(f):
    return None if f is None else (lambda x: f(x) ** 2)


def _product(f, g):
    return None if f is None or g is None else (lambda x: f(x) * g(x))


def integrand(act: Activation, quantity: str, quad: bool) -> list:
    """Per interval, the function whose Gaussian expectation is ``quantity``."""
    if quantity == "p_zero":
        return [(lambda x: 1.0 + 0.0 * x) if z else None for z in act.family.zero_pieces]
    p = _pieces(act, 0, quad)
    if quantity == "e_phi":
        return p
    if quantity == "e_phi2":
        return [_square(f) for f in p]
    if quantity == "e_dphi2":
        return [_square(f) for f in _pieces(act, 1, quad)]
    other = _pieces(act, 2 if quantity == "e_phi_d2phi" else 1, quad)
    return [_product(f, g) for f, g in zip(p, other)]


def panel_fn(quantity: str) -> Callable:
    """The panel rule's function for ``quantity`` (``(act, *points, **kw)``)."""
    if quantity == "bivariate":
        return lambda act, q, rho, order: bivariate(act, q, rho, order)
    if quantity == "d2q_e_phi2":
        return _panel_d2q

    def f(act, q, region="all"):
        fs = integrand(act, quantity, False)
        v = panel_moments.univariate(act, q, lambda k, x, z: fs[k](x),
                                     lambda k: fs[k] is None, region)
        if quantity == "e_phi_d2phi":
            v = v + delta_terms(act, q)
        return finite(v, q)
    return f


def _panel_d2q(act: Activation, q):
    """``d^2/dq^2 E[phi^2] = E[phi^2 He_4(z)] / (4 q^2)``, ``He_4 = z^4 - 6 z^2 + 3``."""
    p = _pieces(act, 0, False)
    q = np.asarray(q, float)
    q3 = q[..., None]

    def he4(k, x, z):
        z2 = z * z
        return p[k](x) ** 2 * ((z2 - 6.0) * z2 + 3.0) / (4.0 * q3 * q3)
    return finite(panel_moments.univariate(act, q, he4, lambda k: p[k] is None), q)


def bivariate(act: Activation, q, rho, order: int, closed_inner: bool = False):
    """The panel rule of :mod:`.panel_moments`; ``closed_inner``: the piecewise-linear closed
    form of the conditional expectation replaces its inner rule."""
    inner = None
    if closed_inner:
        f = pl(act).e_phi if order == 0 else pl(act).e_dphi
        inner = (lambda mu, v: f(v, mu))
    return finite(panel_moments.bivariate(act, q, rho, order, inner), q)


def dq_e_phi2_panels(act: Activation, q):
    """``d/dq E[phi^2] = E[phi^2 He_2(z)] / (2q)`` by the panel rule (see
    :func:`.moments.dq_e_phi2`)."""
    p = _pieces(act, 0, False)
    q = np.asarray(q, float)
    q3 = q[..., None]
    v = panel_moments.univariate(act, q, lambda k, x, z: p[k](x) ** 2 * (z * z - 1.0)
                                 / (2.0 * q3), lambda k: p[k] is None)
    return finite(v, q)
