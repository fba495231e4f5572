"""Numerical proofs for your own tests: the machinery sparsefield's own suite uses.

* :func:`assert_agrees` / :func:`z_score` -- a theory value against a Monte Carlo
  :class:`~sparsefield.numerics.stats.Estimate` under the z-bound
  :data:`~sparsefield.numerics.stats.Z_BOUND` (the z is reported, and returned);
* :func:`assert_monte_carlo` -- every univariate moment and map of an activation (or
  your own claimed values) against Gaussian Monte Carlo
  (:mod:`sparsefield.numerics.gaussian_mc`) in one call;
* :func:`assert_derivatives` -- ``V'`` and ``V''`` against central differences of ``V``
  and ``V'`` (Richardson-extrapolated twice; a ``1e-8`` relative error fails);
* :func:`assert_closed_form` -- a claimed closed form of any quantity named in
  :data:`QUANTITY_TABLE` (``register_quantity`` adds more) against an independent
  reference over a grid of parameters;
* hypothesis strategies :func:`activations` and :func:`eoc_points` (need ``hypothesis``);
* :func:`catalogue_activations` -- every catalogue family at its example parameters.

Example (a complete test file: README, section "Testing your own activation")::

    from sparsefield import testing
    import sparsefield as sf

    act = sf.from_expression("Min(Max(x, 0), 1)")
    testing.assert_closed_form(lambda q: ..., act, "e_phi2", {"q": [0.5, 1, 2]})
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Callable, Iterable, Mapping, Sequence

from sparsefield.numerics.stats import Z_BOUND, Estimate
from sparsefield.references import quad
from sparsefield.theory import moments
from sparsefield.theory.activations import CATALOGUE, Activation, Family
from sparsefield.theory.eoc import edge_of_chaos
from sparsefield.theory.errors import InfeasibleError
from sparsefield.theory.maps import MeanField

__all__ = ["Z_BOUND", "z_score", "assert_agrees", "assert_monte_carlo", "assert_derivatives",
           "assert_closed_form", "register_quantity", "QUANTITY_TABLE", "Quantity",
           "MONTE_CARLO_KEYS", "catalogue_activations", "activations", "eoc_points"]



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
                       seed: int = 0, bound: float = Z_BOUND,
                       claimed: Mapping[str, float | Callable[..., float]] | None = None
                       ) -> dict[str, float]:
    """Theory vs Gaussian Monte Carlo for ``E[phi]``, ``E[phi^2]``, ``E[phi phi']``,
    ``P(phi = 0)``, ``V(q)``, ``chi_1(q)`` (finite ones: a jumping ``phi`` has
    ``chi_1 = inf``, which no sample mean estimates) and, given ``rho``, ``R(rho)``
    (``R'`` too for continuous ``phi``).  Returns the z of every row.

    ``claimed``: your own values instead of the package's, keyed by any of
    :data:`MONTE_CARLO_KEYS` -- a number, or a function of ``q`` (of ``rho, q`` for ``R``,
    ``dR``, ``e_phi_phi``, ``e_dphi_dphi``); then only those rows are checked, e.g.
    ``assert_monte_carlo(act, 2.0, claimed={"e_phi2": lambda q: q / 2})``."""
    # numba only for the Monte Carlo check (the closed-form checks need none)
    from sparsefield.numerics import gaussian_mc

    est = gaussian_mc.estimates(act, q, sigma_w2, sigma_b2, rho or 0.0, n, seed)
    if claimed is not None:
        unknown = sorted(set(claimed) - set(MONTE_CARLO_KEYS))
        if unknown:
            raise ValueError(f"claimed: {unknown} not among {MONTE_CARLO_KEYS}")
        if rho is None and set(claimed) & set(_BIVARIATE_MC):
            raise ValueError("claimed: the bivariate rows need rho")
        rows = {k: (f if not callable(f) else f(rho, q) if k in _BIVARIATE_MC else f(q))
                for k, f in claimed.items()}
    else:
        rows = _theory_rows(act, q, sigma_w2, sigma_b2, rho)
    return {k: assert_agrees(v, est[k], bound, f"{act.name}{act.values} {k} q={q:g}")
            for k, v in rows.items()}


MONTE_CARLO_KEYS = ("e_phi", "e_phi2", "e_dphi2", "e_phi_dphi", "e_phi_dphi_pos",
                    "e_phi_dphi_neg", "p_zero", "V", "chi1", "e_phi_phi", "e_dphi_dphi", "R",
                    "dR")
_BIVARIATE_MC = ("e_phi_phi", "e_dphi_dphi", "R", "dR")


def _theory_rows(act: Activation, q: float, sigma_w2: float, sigma_b2: float,
                 rho: float | None) -> dict[str, float]:
    mf = MeanField(act, sigma_w2, sigma_b2)
    rows = {"e_phi": moments.e_phi(act, q), "e_phi2": moments.e_phi2(act, q),
            "e_phi_dphi": moments.e_phi_dphi(act, q), "p_zero": moments.p_zero(act, q),
            "V": mf.V(q)}
    if not act.has_jumps:
        rows.update(e_dphi2=moments.e_dphi2(act, q), chi1=mf.chi1(q))
    if rho is not None:
        rows["R"] = mf.R(rho, q)
        if not act.has_jumps:
            rows["dR"] = mf.dR(rho, q)
    return rows


STEPS = (1.0, 0.5, 0.25)  # steps of the difference quotients, in units of ``step * q``


def _richardson(f: Callable[[float], float], x: float, h: float, feps: float
                ) -> tuple[float, float]:
    """``(value, allowance)``: central differences at steps ``h, h/2, h/4`` extrapolated
    twice (error ``O(h^6)``), and an error bound for it -- the change between the last two
    once-extrapolated values (their error is ``O(h^4)``, the final value's far smaller)
    plus the rounding of ``f`` (relative ``feps``) amplified by the smallest step."""
    vals = {s: (f(x + s * h), f(x - s * h)) for s in STEPS}
    d = [(vals[s][0] - vals[s][1]) / (2 * s * h) for s in STEPS]
    r1, r2 = (4 * d[1] - d[0]) / 3, (4 * d[2] - d[1]) / 3
    size = max(abs(v) for pair in vals.values() for v in pair)
    noise = 8.0 * feps * size / (STEPS[-1] * h)
    return (16 * r2 - r1) / 15, abs(r2 - r1) + noise


def assert_derivatives(mf: MeanField, q: float, rtol: float = 1e-9, step: float = 1e-3,
                       feps: float = 1e-15) -> dict[str, float]:
    """``V'(q)`` vs the difference quotient of ``V`` and ``V''(q)`` vs that of ``V'``;
    ``mf`` a :class:`MeanField` or any object of yours with methods ``V``, ``dV``, ``d2V``.

    Independent of the Stein forms that ``dV`` and ``d2V`` use.  The quotients are
    Richardson-extrapolated (steps ``step q (1, 1/2, 1/4)``, error ``O(step^6)``); the
    check fails where ``|quotient - exact| > rtol |exact| + allowance``, the allowance
    being the extrapolation's own error estimate plus ``V``'s rounding (relative ``feps``)
    over the step, so a relative error of ``1e-8`` fails at the defaults wherever the
    allowance is below ``|exact| 1e-9`` (e.g. every catalogue activation at ``q = 1``).
    Returns the relative errors ``{"dV": ..., "d2V": ...}``."""
    h = step * q
    out = {}
    for key, f, g in (("dV", mf.V, mf.dV), ("d2V", mf.dV, mf.d2V)):
        fd, allowance = _richardson(lambda x: float(f(x)), q, h, feps)
        exact = float(g(q))
        err = abs(fd - exact)
        if not math.isfinite(exact) or not err <= rtol * abs(exact) + allowance:
            name = getattr(getattr(mf, "act", None), "name", type(mf).__name__)
            raise AssertionError(f"{name}: {key}({q:g}) = {exact:.15g} but the "
                                 f"difference quotient gives {fd:.15g} (abs. err {err:.2e}, "
                                 f"allowed {rtol * abs(exact) + allowance:.2e})")
        out[key] = err / max(abs(exact), 1e-300)
    return out


@dataclass(frozen=True)
class Quantity:
    """A quantity :func:`assert_closed_form` knows by name: ``reference(act, **point)``
    computes it by a route independent of the package's production formulas from the grid
    entries named in ``needs`` (the rest of the grid are activation parameters)."""

    reference: Callable[..., float]
    needs: tuple[str, ...] = ("q",)
    defaults: Mapping[str, float] = field(default_factory=dict)


MAP = ("q", "sigma_w2", "sigma_b2")
MAP_DEFAULTS = {"sigma_w2": 1.0, "sigma_b2": 0.0}


def _quad(name: str) -> Quantity:
    fn = getattr(quad, name)
    return Quantity(lambda a, q: fn(a, q))


def _mp_derivative(order: int) -> Quantity:
    def ref(a, q, sigma_w2, sigma_b2):
        # mpmath: the density differentiated in q (no phi', phi'' or delta terms)
        from sparsefield.references.mpmath_moments import mp_dq_e_phi2

        return sigma_w2 * float(mp_dq_e_phi2(a, q, order))
    return Quantity(ref, MAP, MAP_DEFAULTS)


def _v(a, q, sigma_w2, sigma_b2):
    return sigma_w2 * quad.e_phi2(a, q) + sigma_b2


def _dphi_power(a, q, power: int) -> float:
    """``E[phi'(x)^power]`` by breakpoint-split quadrature (``power = 0``: ``P(phi' != 0)``)."""
    from sparsefield.theory.gaussian import split_expect

    zero = a.family.zero_pieces

    def piece(k):
        f = a.piece(k, 1)
        return (lambda x: (f(x) != 0.0) + 0.0 * x) if power == 0 else (lambda x: f(x) ** power)
    return split_expect([None if zero[k] else piece(k) for k in range(len(zero))],
                        a.breakpoints, q)


def _kappa(a, q):
    return _dphi_power(a, q, 4) / _dphi_power(a, q, 2) ** 2


def _gain(part: int):
    """The per-layer log gain to ``O(1/N)`` (docs/theory.md section 9): mean
    ``log(sigma_w^2 E[phi'^2]) - (3 kappa - 1)/2N`` (``part`` 0), variance ``(3 kappa - 1)/N``
    (``part`` 1), from quadrature moments of ``phi'``."""
    def ref(a, q, sigma_w2, width):
        c = 3.0 * _kappa(a, q) - 1.0
        return c / width if part else math.log(sigma_w2 * _dphi_power(a, q, 2)) - c / (2 * width)
    return Quantity(ref, ("q", "sigma_w2", "width"), {"sigma_w2": 1.0})


# name -> Quantity; extend with :func:`register_quantity` (e.g. the finite-width theory)
QUANTITY_TABLE: dict[str, Quantity] = {
    **{n: _quad(n) for n in ("e_phi", "e_phi2", "e_dphi2", "e_phi_dphi", "e_phi_d2phi",
                             "p_zero")},
    "V": Quantity(_v, MAP, MAP_DEFAULTS),
    "dV": _mp_derivative(1),
    "d2V": _mp_derivative(2),
    "chi1": Quantity(lambda a, q, sigma_w2, sigma_b2: sigma_w2 * quad.e_dphi2(
        a, q), MAP, MAP_DEFAULTS),
    "R": Quantity(lambda a, q, sigma_w2, sigma_b2, rho: (sigma_w2 * quad.e_phi_phi(
        a, q, rho) + sigma_b2) / _v(a, q, sigma_w2, sigma_b2),
        MAP + ("rho",), MAP_DEFAULTS),
    "dR": Quantity(lambda a, q, sigma_w2, sigma_b2, rho: sigma_w2 * quad.e_dphi_dphi(
        a, q, rho) * q / _v(a, q, sigma_w2, sigma_b2),
        MAP + ("rho",), MAP_DEFAULTS),
    # finite width (theory/finite_width.py): P(phi' != 0), kappa, the 1/N log gain
    "p_active": Quantity(lambda a, q: _dphi_power(a, q, 0)),
    "kappa": Quantity(_kappa),
    "gain_mean": _gain(0),
    "gain_var": _gain(1),
}


def register_quantity(name: str, reference: Callable[..., float],
                      needs: Sequence[str] = ("q",),
                      defaults: Mapping[str, float] | None = None) -> None:
    """Make ``name`` a ``quantity`` of :func:`assert_closed_form`: ``reference(act,
    **{k: point[k] for k in needs})`` must compute it independently of the formula under
    test; ``defaults`` fill needs the grid leaves out."""
    QUANTITY_TABLE[name] = Quantity(reference, tuple(needs), dict(defaults or {}))


def assert_closed_form(claimed: Callable[..., float], act: Activation | Family | Callable,
                       quantity: str | Callable, grid: Mapping[str, Sequence[float]],
                       rtol: float = 1e-10, atol: float = 1e-13) -> float:
    """Assert ``claimed(**point)`` equals an independent reference at every grid point.

    ``act`` is an activation, a family (the grid then also holds its parameters), or a
    function of the grid's parameter entries returning an activation; ``quantity`` is a
    name in :data:`QUANTITY_TABLE` -- ``e_phi, e_phi2, e_dphi2, e_phi_dphi, e_phi_d2phi,
    p_zero`` (breakpoint-split quadrature at ``x ~ N(0, q)``), ``V, chi1`` (the same, with
    ``sigma_w2``, ``sigma_b2`` from the grid, default 1 and 0), ``dV, d2V`` (mpmath:
    the density differentiated in ``q``), ``R, dR`` (the generic bivariate rule; the grid
    holds ``rho``), ``p_active, kappa`` (``P(phi' != 0)``, ``E[phi'^4] / E[phi'^2]^2``) and
    ``gain_mean, gain_var`` (the per-layer log gain to ``O(1/N)``; the grid holds ``width``,
    ``sigma_w2`` defaults to 1), and whatever :func:`register_quantity` added -- or a function
    ``(act, q) -> float``.  The grid must hold ``q``.  Returns the largest relative error."""
    if "q" not in grid:
        raise ValueError("grid must hold 'q'")
    if isinstance(quantity, str):
        if quantity not in QUANTITY_TABLE:
            raise ValueError(f"quantity={quantity!r} must be one of {sorted(QUANTITY_TABLE)} "
                             "or a function")
        spec = QUANTITY_TABLE[quantity]
    else:
        spec = Quantity(quantity)
    missing = [k for k in spec.needs if k not in grid and k not in spec.defaults]
    if missing:
        raise ValueError(f"grid must hold {missing} for {quantity!r}")
    keys = list(grid)
    worst = 0.0
    for values in itertools.product(*(grid[k] for k in keys)):
        point = dict(zip(keys, values))
        rest = {k: v for k, v in point.items() if k not in spec.needs}
        a = act.bind(**rest) if isinstance(act, Family) else \
            act if isinstance(act, Activation) else act(**rest)
        args = {k: point.get(k, spec.defaults.get(k)) for k in spec.needs}
        want, got = float(spec.reference(a, **args)), float(claimed(**point))
        err = abs(got - want)
        if not err <= atol + rtol * abs(want):
            raise AssertionError(f"claimed closed form at {point}: {got:.15g}, reference "
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
