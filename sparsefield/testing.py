"""Numerical proofs for your own tests: the machinery sparsefield's own suite uses.

* :func:`assert_agrees` / :func:`z_score` -- a theory value against a Monte Carlo
  :class:`~sparsefield.numerics.stats.Estimate` under the z-bound
  :data:`~sparsefield.numerics.stats.Z_BOUND` (the z is reported, and returned);
* :func:`assert_monte_carlo` -- every univariate moment and map of an activation against
  Gaussian Monte Carlo (:mod:`sparsefield.numerics.gaussian_mc`) in one call;
* :func:`assert_derivatives` -- ``V'`` and ``V''`` against central differences of ``V``
  and ``V'`` (Richardson-extrapolated);
* :func:`assert_closed_form` -- a claimed closed form against breakpoint-split
  quadrature over a grid of parameters;
* hypothesis strategies :func:`activations` and :func:`eoc_points` (need ``hypothesis``);
* :func:`catalogue_activations` -- every catalogue family at its example parameters.

Example (a complete test file: README, section "Testing your own activation")::

    from sparsefield import testing
    from sparsefield.theory.user import from_expression

    act = from_expression("Min(Max(x, 0), 1)")
    testing.assert_closed_form(lambda q: ..., act, "e_phi2", {"q": [0.5, 1, 2]})
"""

from __future__ import annotations

import itertools
import math
from typing import Callable, Iterable, Mapping, Sequence

from sparsefield.numerics.stats import Z_BOUND, Estimate
from sparsefield.theory import moments
from sparsefield.theory.activations import CATALOGUE, Activation, Family
from sparsefield.theory.eoc import edge_of_chaos
from sparsefield.theory.errors import InfeasibleError
from sparsefield.theory.maps import MeanField

__all__ = ["Z_BOUND", "z_score", "assert_agrees", "assert_monte_carlo", "assert_derivatives",
           "assert_closed_form", "catalogue_activations", "activations", "eoc_points"]

QUANTITIES = ("e_phi", "e_phi2", "e_dphi2", "e_phi_dphi", "p_zero")


def z_score(theory: float, estimate: Estimate) -> float:
    """``(estimate - theory) / stderr`` (rounding floors of :meth:`Estimate.z`)."""
    return float(estimate.z(float(theory)))


def assert_agrees(theory: float, estimate: Estimate, bound: float = Z_BOUND,
                  what: str = "value") -> float:
    """Assert ``|z| < bound`` for a theory value and a Monte Carlo estimate; return z.

    A non-finite theory value never agrees (a NaN is never a result)."""
    theory = float(theory)
    if not math.isfinite(theory):
        raise AssertionError(f"{what}: theory value {theory} is not finite")
    z = z_score(theory, estimate)
    if not abs(z) < bound:
        raise AssertionError(f"{what}: theory {theory:.10g} vs Monte Carlo {estimate.value:.10g}"
                             f" +- {estimate.stderr:.3g}: z = {z:.2f}, |z| >= {bound:g}")
    return z


def assert_monte_carlo(act: Activation, q: float = 1.0, sigma_w2: float = 1.0,
                       sigma_b2: float = 0.0, rho: float | None = None, n: int = 1 << 18,
                       seed: int = 0, bound: float = Z_BOUND) -> dict[str, float]:
    """Theory vs Gaussian Monte Carlo for ``E[phi]``, ``E[phi^2]``, ``E[phi phi']``,
    ``P(phi = 0)``, ``V(q)``, ``chi_1(q)`` (finite ones: a jumping ``phi`` has
    ``chi_1 = inf``, which no sample mean estimates) and, given ``rho``, ``R(rho)``
    (``R'`` too for continuous ``phi``).  Returns the z of every row."""
    # numba only for the Monte Carlo check (the closed-form checks need none)
    from sparsefield.numerics import gaussian_mc

    mf = MeanField(act, sigma_w2, sigma_b2)
    est = gaussian_mc.estimates(act, q, sigma_w2, sigma_b2, rho or 0.0, n, seed)
    rows = {"e_phi": moments.e_phi(act, q), "e_phi2": moments.e_phi2(act, q),
            "e_phi_dphi": moments.e_phi_dphi(act, q), "p_zero": moments.p_zero(act, q),
            "V": mf.V(q)}
    if not act.has_jumps:
        rows.update(e_dphi2=moments.e_dphi2(act, q), chi1=mf.chi1(q))
    if rho is not None:
        rows["R"] = mf.R(rho, q)
        if not act.has_jumps:
            rows["dR"] = mf.dR(rho, q)
    return {k: assert_agrees(v, est[k], bound, f"{act.name}{act.values} {k} q={q:g}")
            for k, v in rows.items()}


def _richardson(f: Callable[[float], float], x: float, h: float) -> tuple[float, float]:
    """Central difference at ``x`` extrapolated from steps ``h`` and ``h/2``, and the
    size of the extrapolation (an error scale)."""
    d1 = (f(x + h) - f(x - h)) / (2 * h)
    d2 = (f(x + h / 2) - f(x - h / 2)) / h
    return (4 * d2 - d1) / 3, abs(d2 - d1)


def assert_derivatives(mf: MeanField, q: float, rtol: float = 1e-6,
                       step: float = 1e-3) -> dict[str, float]:
    """``V'(q)`` vs the difference quotient of ``V`` and ``V''(q)`` vs that of ``V'``.

    Independent of the Stein forms that ``dV`` and ``d2V`` use.  Returns the relative
    errors ``{"dV": ..., "d2V": ...}``; raises ``AssertionError`` past ``rtol`` (plus
    the extrapolation's own error scale)."""
    h = step * q
    out = {}
    for key, f, g in (("dV", mf.V, mf.dV), ("d2V", mf.dV, mf.d2V)):
        fd, err = _richardson(lambda x: float(f(x)), q, h)
        exact = float(g(q))
        scale = max(abs(exact), abs(fd), 1e-300)
        rel = abs(fd - exact) / scale
        if not math.isfinite(exact) or rel > rtol + 10 * err / scale:
            raise AssertionError(f"{mf.act.name}: {key}({q:g}) = {exact:.12g} but the "
                                 f"difference quotient gives {fd:.12g} (rel. err {rel:.2e})")
        out[key] = rel
    return out


def assert_closed_form(claimed: Callable[..., float], act: Activation | Family | Callable,
                       quantity: str | Callable, grid: Mapping[str, Sequence[float]],
                       rtol: float = 1e-10, atol: float = 1e-13) -> float:
    """Assert ``claimed(**point)`` equals the quadrature value at every grid point.

    ``act`` is an activation, a family (the grid then also holds its parameters), or a
    function of the grid's non-``q`` entries returning an activation; ``quantity`` is
    one of ``e_phi, e_phi2, e_dphi2, e_phi_dphi, p_zero`` (``E[...]`` at ``x ~ N(0, q)``
    by breakpoint-split quadrature) or a function ``(act, q) -> float``.  The grid must
    hold ``q``.  Returns the largest relative error."""
    if "q" not in grid:
        raise ValueError("grid must hold 'q'")
    if isinstance(quantity, str):
        if quantity not in QUANTITIES:
            raise ValueError(f"quantity={quantity!r} must be one of {QUANTITIES} or a function")
        fn = getattr(moments, quantity)
        quantity = lambda a, q: fn(a, q, method="quad")  # noqa: E731
    keys = list(grid)
    worst = 0.0
    for values in itertools.product(*(grid[k] for k in keys)):
        point = dict(zip(keys, values))
        rest = {k: v for k, v in point.items() if k != "q"}
        a = act.bind(**rest) if isinstance(act, Family) else \
            act if isinstance(act, Activation) else act(**rest)
        want, got = float(quantity(a, point["q"])), float(claimed(**point))
        err = abs(got - want)
        if not err <= atol + rtol * abs(want):
            raise AssertionError(f"claimed closed form at {point}: {got:.15g}, quadrature "
                                 f"{want:.15g} (rel. err {err / max(abs(want), 1e-300):.2e})")
        worst = max(worst, err / max(abs(want), atol))
    return worst


def catalogue_activations(names: Iterable[str] | None = None) -> list[Activation]:
    """Every (or each named) catalogue family at each of its example parameter sets."""
    return [CATALOGUE[n].bind(**ex) for n in (names or CATALOGUE) for ex in CATALOGUE[n].examples]


def _param_values(fam: Family, draw) -> dict:
    # hypothesis (the [test] extra) only for the strategies
    from hypothesis import strategies as st

    out = {}
    for p in fam.params:
        lo, hi = p.typical
        v = draw(st.floats(lo, hi, allow_nan=False, allow_infinity=False))
        out[p.name] = v if p.ok(v) else p.typical[1]
    return out


def activations(names: Iterable[str] | None = None, continuous: bool | None = None):
    """Hypothesis strategy: a catalogue activation with parameters drawn over each
    parameter's ``typical`` range (``continuous=True`` leaves out jumping ``phi``)."""
    # hypothesis (the [test] extra) only for the strategies
    from hypothesis import strategies as st

    pool = [n for n in (names or CATALOGUE)
            if continuous is None or CATALOGUE[n].has_jumps != continuous]

    @st.composite
    def strategy(draw):
        fam = CATALOGUE[draw(st.sampled_from(pool))]
        return fam.bind(**_param_values(fam, draw))
    return strategy()


def eoc_points(names: Iterable[str] | None = None, q_star: tuple[float, float] = (0.25, 4.0)):
    """Hypothesis strategy: ``(mean_field, q*)`` on the edge of chaos (``chi_1 = 1``,
    ``V(q*) = q*``); infeasible draws (``sigma_b^2 < 0``, or ``chi_1 = inf``) are rejected."""
    # hypothesis (the [test] extra) only for the strategies
    from hypothesis import assume
    from hypothesis import strategies as st

    acts = activations(names, continuous=True)

    @st.composite
    def strategy(draw):
        act = draw(acts)
        qs = draw(st.floats(*q_star, allow_nan=False))
        try:
            sw2, sb2 = edge_of_chaos(act, qs)
        except InfeasibleError:
            assume(False)
        return MeanField(act, sw2, sb2), qs
    return strategy()
