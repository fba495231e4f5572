"""The moment routes: an ordered registry of ways to compute a Gaussian moment.

Modelled on scipy.stats' specific-method-before-generic-fallback pattern.  A
:class:`Route` says which activations it ``applies`` to (a property of the definition),
which quantities it computes, which ``method`` values may select it and, where its accuracy
depends on the point, an ``accurate`` mask per point.  :func:`plan` sends every point of a
``q`` (or ``(q, rho)``) array to the first route in :data:`ROUTES` that applies and admits
it; the generic panel rule admits every point, so one ill-conditioned point never sends a
whole grid down a slow path.  :func:`evaluate` computes each route's share in one call.

Quantities: ``e_phi``, ``e_phi2``, ``e_dphi2``, ``e_phi_d2phi``, ``e_phi_dphi`` (keyword
``region``), ``p_zero``, ``d2q_e_phi2`` (points ``(q,)``), and ``bivariate`` (points
``(q, rho)``, keyword ``order``).  ``method``: ``auto`` (every route), ``closed`` (closed
forms only, at every point: ``TypeError`` where there is none) and ``panels`` (the generic
rule).  The slow adaptive-quadrature reference is :mod:`sparsefield.references.quad`.

Adding a route is one :class:`Route` in :data:`ROUTES` (or :func:`register`), at the
place in the order where it should win.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Callable

import numpy as np

from . import (
    arccos,
    exp_bivariate,
    exp_polar,
    exp_poly,
    gelu_kernel,
    generic,
    panel_moments,
    pl_apex,
    pl_mehler,
    pl_narrow,
    pl_routes,
    pl_univariate,
    poly_narrow,
    smooth_bivariate,
    strip,
)
from .activations import Activation

METHODS = ("auto", "closed", "panels")
UNIVARIATE = ("e_phi", "e_phi2", "e_dphi2", "e_phi_d2phi", "e_phi_dphi", "p_zero",
              "d2q_e_phi2")
QUANTITIES = UNIVARIATE + ("bivariate",)


@dataclass(frozen=True)
class Route:
    """One way to compute moments.

    ``fns[quantity](act, *points, **kw)`` computes ``quantity`` at the points (arrays of
    one shape); ``accurate(act, quantity, *points, **kw)``, if given, returns
    ``(values or None, ok)``: ``ok`` marks the points where this route meets its error
    bound (``values``, if not ``None``, are the route's values at every point, so the
    route is not called again); ``methods`` are the ``method`` values that may select it;
    ``defer(act, quantity, *points, **kw)``, if given, marks points (a priori, from the points
    alone) that :func:`plan` offers to the later routes first: a later route must serve every
    point this one does (``pl_apex`` covers ``pl_bivariate``), so no point loses its route."""

    name: str
    applies: Callable[[Activation], bool]
    fns: dict[str, Callable]
    methods: frozenset = field(default_factory=lambda: frozenset({"auto", "closed"}))
    accurate: Callable | None = None
    defer: Callable | None = None

    def computes(self, act: Activation, quantity: str, method: str) -> bool:
        return method in self.methods and quantity in self.fns and self.applies(act)


def candidates(act: Activation, quantity: str, method: str = "auto") -> list[Route]:
    """The routes that may compute ``quantity`` for ``act`` under ``method``, in order
    (resolved once per activation, quantity and method)."""
    return list(_candidates(act, quantity, method))


@lru_cache(maxsize=4096)
def _candidates(act: Activation, quantity: str, method: str) -> tuple:
    if method not in METHODS:
        raise ValueError(f"method={method!r} must be one of {METHODS}")
    if quantity not in QUANTITIES:
        raise ValueError(f"quantity={quantity!r} must be one of {QUANTITIES}")
    found = [r for r in ROUTES if r.computes(act, quantity, method)]
    if not found:
        raise TypeError(f"no closed form for {quantity} of {act.name}")
    return tuple(found[:1] if method != "auto" else found)


def first(act: Activation, quantity: str, method: str = "auto") -> str:
    """The name of the first route that may compute ``quantity`` for ``act``."""
    return _candidates(act, quantity, method)[0].name


def plan(act: Activation, quantity: str, points, method: str = "auto", **kw):
    """``(routes, index, values)``: ``routes[index[i]]`` computes point ``i`` of the flattened,
    broadcast ``points``; ``values[j]`` holds route ``j``'s values where it returned them."""
    routes = _candidates(act, quantity, method)
    pts = [a.reshape(-1) for a in np.broadcast_arrays(*(np.asarray(p, float) for p in points))]
    index = np.full(pts[0].shape, len(routes) - 1)
    left = np.ones(pts[0].shape, bool)
    values: list = [None] * len(routes)
    for j, r in enumerate(routes[:-1]):
        if r.accurate is None:
            index[left], left[:] = j, False
            break
        try_at = left
        if r.defer is not None:  # a later route serves these points at less cost
            try_at = left & ~np.broadcast_to(r.defer(act, quantity, *pts, **kw), left.shape)
            if not try_at.any():
                continue
        sub = [p[try_at] for p in pts]
        v, ok = r.accurate(act, quantity, *sub, **kw)
        ok = np.broadcast_to(np.asarray(ok, bool), sub[0].shape)
        take = np.flatnonzero(try_at)[ok]
        index[take] = j
        if v is not None:
            values[j] = (take, np.broadcast_to(v, sub[0].shape)[ok])
        left[take] = False
        if not left.any():
            break
    return routes, index, values


def evaluate(act: Activation, quantity: str, points, method: str = "auto", **kw):
    """``quantity`` at ``points`` (broadcast), each point by its route from :func:`plan`."""
    if all(type(p) is float or np.ndim(p) == 0 for p in points):  # np.ndim(float): ~1 us
        return _scalar(act, quantity, points, method, **kw)
    routes = _candidates(act, quantity, method)
    if routes[0].accurate is None:  # it admits every point: no plan to make
        return routes[0].fns[quantity](act, *points, **kw)
    shape = np.broadcast_shapes(*(np.shape(p) for p in points))
    routes, index, values = plan(act, quantity, points, method, **kw)
    if len(routes) == 1 or index.size == 0 or np.all(index == index.flat[0]):
        j = int(index.flat[0]) if index.size else len(routes) - 1
        if values[j] is not None and len(values[j][0]) == index.size:
            return np.asarray(values[j][1], float).reshape(shape)[()]
        return routes[j].fns[quantity](act, *points, **kw)
    pts = [a.reshape(-1) for a in np.broadcast_arrays(*(np.asarray(p, float) for p in points))]
    out = np.empty(index.shape)
    for j, r in enumerate(routes):
        at = index == j
        if not at.any():
            continue
        if values[j] is not None:
            out[values[j][0]] = values[j][1]
        else:
            out[at] = r.fns[quantity](act, *(p[at] for p in pts), **kw)
    return out.reshape(shape)[()]


def after(act: Activation, quantity: str, points, first: str, method: str = "auto", **kw):
    """One point (floats) whose first route ``first`` already declined it (a caller's float
    path of that route, e.g. :mod:`.pl_scalar`): the routes after it, as :func:`evaluate`."""
    return _scalar(act, quantity, points, method, skip=first, **kw)


def _scalar(act: Activation, quantity: str, points, method: str, skip: str | None = None,
            **kw):
    """One point: the first route that admits it, without array bookkeeping (the routes up to
    ``skip`` left out)."""
    routes = _candidates(act, quantity, method)
    if skip is not None:
        names = [r.name for r in routes]
        routes = routes[names.index(skip) + 1:] if skip in names[:-1] else routes
    for r in routes[:-1]:
        if r.accurate is None:
            return r.fns[quantity](act, *points, **kw)
        v, ok = r.accurate(act, quantity, *points, **kw)
        if ok is True or (ok is not False and bool(np.all(ok))):
            return np.float64(v) if v is not None else r.fns[quantity](act, *points, **kw)
    return routes[-1].fns[quantity](act, *points, **kw)


def taken(act: Activation, quantity: str, points, method: str = "auto", **kw) -> dict:
    """How many points of ``points`` each route takes: ``{route name: count}``."""
    routes, index, _ = plan(act, quantity, points, method, **kw)
    return {r.name: int(np.count_nonzero(index == j)) for j, r in enumerate(routes)
            if np.any(index == j)}


def register(route: Route, before: str | None = None) -> None:
    """Insert ``route`` before the route named ``before`` (default: before the generic
    panel rule, the fallback)."""
    names = [r.name for r in ROUTES]
    ROUTES.insert(names.index(before or "panels"), route)
    _candidates.cache_clear()


# --- the routes' own pieces ----------------------------------------------------------
@lru_cache(maxsize=256)
def _unit_moments(act: Activation):
    """``(E[phi(z)^2], E[phi'(z)^2])`` at ``q = 1`` for a positively homogeneous piecewise-
    linear ``phi`` (every breakpoint and intercept 0: ReLU, leaky ReLU, |x|), else ``None``."""
    if not act.is_piecewise_linear or np.any(act.breakpoints != 0.0) or np.any(
            act.linear_coeffs[1] != 0.0):
        return None
    pl = generic.pl(act)
    return float(pl.e_phi2(1.0)), float(pl.e_dphi2(1.0))


HOMOGENEOUS = {  # phi(sqrt(q) z) = sqrt(q) phi(z): E[phi^2] = q E[phi(z)^2]; phi' constant on rays
    "e_phi2": lambda act, q: (_unit_moments(act)[0] * np.asarray(q, float))[()],
    "e_dphi2": lambda act, q: (_unit_moments(act)[1] + 0.0 * np.asarray(q, float))[()]}


def _pl_fn(quantity: str):
    def f(act, q, **kw):
        pl = generic.pl(act)
        if quantity == "e_phi_dphi":
            lo, hi = generic.REGIONS[kw.get("region", "all")]
            return pl.e_phi_dphi(q, lo, hi)[()]
        return getattr(pl, quantity)(q)[()]
    return f


def _pl_accurate(act, quantity, q, **kw):
    """The truncated-moment sums are accurate (:func:`.generic.conditioned`)."""
    return None, generic.conditioned(act, q)


def _pl_tail_accurate(act, quantity, q, **kw):
    """The tail basis at every ``0 < q <= q_hi`` (no interval narrower than ``NARROW_Z``
    sds: :func:`.generic.q_range`; far tails cost nothing), the remainder series at
    ``q >= X^2`` (:func:`.pl_univariate.admits`)."""
    return None, pl_univariate.admits(act, q)


PL_TAIL = ("e_phi2", "e_dphi2")  # the tail basis (theory/pl_univariate.py)


def _exp_fn(quantity: str):
    return lambda act, q, **kw: exp_poly.moment(act, q, quantity, **kw)[0]


def _exp_accurate(act, quantity, q, **kw):
    return exp_poly.moment(act, q, quantity, **kw)


def _exp_bivariate_accurate(act, quantity, q, rho, order):
    """Its values, and the points where its error bound holds (:func:`.exp_bivariate.expect`)."""
    return exp_bivariate.expect(act, q, rho, order)


def _exp_polar_accurate(act, quantity, q, rho, order):
    return None, exp_polar.accurate(act, q, rho)


def _poly_narrow_accurate(act, quantity, q, rho, order):
    return poly_narrow.expect(act, q, rho, order)


def _poly_inner(act, q, rho, order):
    """Outer panel rule of the closed-form conditional expectation (:mod:`.poly_narrow`)."""
    return generic.finite(panel_moments.bivariate(act, q, rho, order,
                                                  poly_narrow.inner_closed(act, order)), q)


def _poly_inner_accurate(act, quantity, q, rho, order):
    return None, poly_narrow.inner_fits(act, q, rho)


def _gelu_accurate(act, quantity, q, rho=1.0, order=0):
    if quantity == "bivariate":
        return gelu_kernel.accurate(q, rho, order)
    return gelu_kernel.accurate(q, 1.0, 1 if quantity == "e_dphi2" else 0)


STRIP_TERMS = {"e_phi": ((1.0, (0,)),), "e_phi2": ((1.0, (0, 0)),),
               "e_dphi2": ((1.0, (1, 1)),), "e_phi_d2phi": ((1.0, (0, 2)),),
               "e_phi_dphi": ((1.0, (0, 1)),)}


def _strip_fn(quantity: str):
    if quantity == "d2q_e_phi2":
        return lambda act, q: strip.d2q_e_phi2(act, q)
    if quantity == "bivariate":
        return lambda act, q, rho, order: strip.bivariate(act, q, rho, order)
    return lambda act, q, **kw: strip.moment(act, q, STRIP_TERMS[quantity])


def _strip_accurate(act, quantity, q, rho=None, region="all", order=0):
    if quantity == "bivariate":
        return None, strip.inner_rule_fits(act, q, rho)
    if np.ndim(q) == 0:
        return None, region == "all"
    return None, np.full(np.shape(q), region == "all")  # the rule covers the whole line


ROUTES: list[Route] = [
    Route("arccos", arccos.applies,
          {"bivariate": lambda act, q, rho, order: arccos.e_phi_phi(act, q, rho, order)[()]}),
    Route("gelu", gelu_kernel.applies,
          {"e_phi2": lambda act, q: gelu_kernel.e_phi_phi(q, 1.0, 0)[()],
           "e_dphi2": lambda act, q: gelu_kernel.e_phi_phi(q, 1.0, 1)[()],
           "bivariate": lambda act, q, rho, order: gelu_kernel.e_phi_phi(q, rho, order)[()]},
          accurate=_gelu_accurate),
    Route("homogeneous", lambda a: _unit_moments(a) is not None, HOMOGENEOUS),
    Route("pl_tail", pl_univariate.applies,
          {q: (lambda act, q, order=i: pl_univariate.moment(act, q, order)[()])
           for i, q in enumerate(PL_TAIL)}, accurate=_pl_tail_accurate),
    Route("piecewise_linear", lambda a: a.is_piecewise_linear,
          {q: _pl_fn(q) for q in UNIVARIATE if q not in PL_TAIL}, accurate=_pl_accurate),
    Route("pl_bivariate", lambda a: a.is_piecewise_linear, {"bivariate": pl_routes.bivariate},
          accurate=pl_routes.bivariate_accurate, defer=pl_routes.bivariate_defer),
    Route("pl_apex_signed", lambda a: pl_apex.one_signed(a, 0) or pl_apex.one_signed(a, 1),
          {"bivariate": pl_routes.apex_signed_values},
          methods=frozenset({"auto"}), accurate=pl_routes.apex_signed),
    Route("pl_mehler", pl_mehler.applies, {"bivariate": pl_routes.mehler},
          methods=frozenset({"auto"}),
          accurate=pl_routes.mehler_accurate),
    Route("pl_narrow", pl_narrow.applies, {"bivariate": pl_routes.narrow},
          accurate=pl_routes.narrow_accurate),
    Route("pl_apex", lambda a: a.is_piecewise_linear, {"bivariate": pl_routes.bivariate},
          methods=frozenset({"auto"}), accurate=pl_routes.apex_accurate),
    Route("pl_inner", lambda a: a.is_piecewise_linear, {"bivariate": pl_routes.inner},
          accurate=pl_routes.inner_accurate),
    Route("exp_poly", exp_poly.applies,
          {q: _exp_fn(q) for q in ("e_phi", "e_phi2", "e_dphi2", "e_phi_d2phi",
                                   "e_phi_dphi", "d2q_e_phi2")},
          accurate=_exp_accurate),
    Route("exp_bivariate", exp_bivariate.applies,
          {"bivariate": lambda act, q, rho, order:
           exp_bivariate.expect(act, q, rho, order)[0][()]},
          accurate=_exp_bivariate_accurate),
    Route("exp_polar", exp_polar.applies, {"bivariate": exp_polar.bivariate},
          methods=frozenset({"auto"}), accurate=_exp_polar_accurate),
    Route("poly_narrow", poly_narrow.applies,
          {"bivariate": lambda act, q, rho, order: poly_narrow.expect(act, q, rho, order)[0][()]},
          methods=frozenset({"auto"}), accurate=_poly_narrow_accurate),
    Route("poly_inner", poly_narrow.applies, {"bivariate": _poly_inner},
          methods=frozenset({"auto"}), accurate=_poly_inner_accurate),
    Route("strip", strip.applies,
          {q: _strip_fn(q) for q in ("e_phi", "e_phi2", "e_dphi2", "e_phi_d2phi",
                                     "e_phi_dphi", "d2q_e_phi2", "bivariate")},
          methods=frozenset({"auto"}), accurate=_strip_accurate),
    Route("smooth_bivariate", smooth_bivariate.applies, {"bivariate": smooth_bivariate.bivariate},
          methods=frozenset({"auto"}), accurate=lambda act, _, q, rho, order:
          smooth_bivariate.expect(act, q, rho, order)),
    Route("panels", lambda a: True, {q: generic.panel_fn(q) for q in QUANTITIES},
          methods=frozenset({"auto", "panels"})),
]
