"""Deriving the initialisation of *any* activation: a catalogue spec, an ``expr:`` spec, or
an :class:`~sparsefield.theory.activations.Activation` built by
:func:`~sparsefield.theory.user.from_expression` / :func:`~sparsefield.theory.user.from_pieces`
(docs/theory.md sections 3-4).

* The [P24] families (``crelu``, ``cst``, ``relu_tau``, ``st``) go to
  :func:`sparsefield.theory.clipping.derive` (closed forms, a target ``V'(q*)`` or clip).
* Any other activation: with a target ``sparsity``, its threshold ``tau`` is solved
  numerically from ``P(phi(x) = 0) = sparsity`` at ``x ~ N(0, q*)`` (bracketed root of the
  exact zero probability, :func:`sparsefield.theory.moments.p_zero`); this needs a zero
  region and a parameter ``tau``.  Then the edge of chaos at ``q*``
  (``sigma_w^2 = 1/E[phi'^2]``, ``sigma_b^2 = q* - sigma_w^2 E[phi^2]``), ``chi_1``,
  ``V'(q*)``, ``V''(q*)``, the fixed points, the depth scales and the stability warnings.

Every stability warning is also issued through :func:`warnings.warn` as a
:class:`StabilityWarning`, so a Python user sees what the command line prints and can
filter it (``warnings.simplefilter("error", sf.StabilityWarning)``).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

from . import moments
from .activations import Activation
from .clipping import CLIPPED, UNCLIPPED, Derivation
from .clipping import derive as derive_family
from .eoc import edge_of_chaos as _edge_of_chaos
from .errors import ParameterError, check_open_unit, check_positive
from .maps import MeanField, extra_fixed_points
from .roots import brentq
from .spec import format_spec, parse

FAMILIES = CLIPPED + UNCLIPPED
UNSTABLE_SLOPE = 1.0 + 1e-9  # V'(q*) above this: q* repels (variance runs away)
TAU_BRACKET = (-10.0, 10.0)  # in units of sqrt(q*): P(|x| > 10 sqrt(q*)) ~ 1e-23


class StabilityWarning(UserWarning):
    """The derived initialisation has an unstable or fragile fixed point ``q*``."""


@dataclass(frozen=True)
class ActivationDerivation(Derivation):
    """A :class:`Derivation` of any activation; ``activation`` is its spec (or name)."""

    act: Activation | None = field(default=None, repr=False, compare=False)

    def activation_fn(self) -> Activation:
        return self.act if self.act is not None else parse(self.activation)

    def to_dict(self) -> dict:
        """The :class:`Derivation` fields (the bound activation is named by its spec)."""
        return {f: getattr(self, f) for f in Derivation.__dataclass_fields__}


def spec_of(act: Activation | str) -> str:
    """How messages name an activation: its spec (``expr:...``, ``name:k=v``), not a repr."""
    if isinstance(act, str):
        return act.strip()
    try:
        return format_spec(act)
    except Exception:  # noqa: BLE001 (any activation can be named by its family)
        return act.name


def warn(messages: list[str], stacklevel: int = 3) -> None:
    """Each message as a :class:`StabilityWarning`."""
    for m in messages:
        warnings.warn(m, StabilityWarning, stacklevel=stacklevel)


def derive(activation: Activation | str, sparsity: float | None = None,
           vprime: float | None = None, m: float | None = None, q_star: float = 1.0,
           emit: bool = True) -> Derivation:
    """The edge-of-chaos initialisation of ``activation`` (see the module docstring);
    ``emit``: issue its warnings as :class:`StabilityWarning` too."""
    if isinstance(activation, str) and activation.strip() in FAMILIES:
        if sparsity is None:
            raise ParameterError("sparsity", None, f"given for {activation.strip()} (its "
                                 "threshold is set by the target sparsity)")
        d = derive_family(activation.strip(), sparsity, vprime=vprime, m=m, q_star=q_star)
    else:
        d = _derive_any(activation, sparsity, vprime, m, q_star)
    if emit:
        warn(d.warnings)
    return d


def _derive_any(activation: Activation | str, sparsity: float | None, vprime, m,
                q_star: float) -> ActivationDerivation:
    name = spec_of(activation)
    if vprime is not None or m is not None:
        bad = "vprime" if vprime is not None else "m"
        raise ParameterError(bad, vprime if vprime is not None else m,
                             f"omitted for {name} (a target V'(q*) or clip m is for "
                             f"{'/'.join(CLIPPED)}; give the clip in the spec, e.g. "
                             "crelu2:c=4)")
    q_star = check_positive("q_star", q_star)
    act = parse(activation) if isinstance(activation, str) else activation
    if not isinstance(act, Activation):
        raise ParameterError("activation", type(activation).__name__,
                             "an activation spec or a sparsefield Activation")
    if sparsity is not None:
        act = threshold_for_sparsity(act, check_open_unit("sparsity", sparsity), q_star, name)
        name = spec_of(act)  # the warnings name the activation as derived
    sigma_w2, sigma_b2 = _edge_of_chaos(act, q_star)
    mf = MeanField(act, sigma_w2, sigma_b2)
    v1, v2 = float(mf.dV(q_star)), float(mf.d2V(q_star))
    fps = mf.fixed_points(1e-3 * q_star, 1e3 * q_star, known=(q_star,))
    spec = spec_of(act) if sparsity is not None or not isinstance(activation, str) else name
    params = act.params
    return ActivationDerivation(
        spec, float(moments.p_zero(act, q_star)), q_star, float(params.get("tau", 0.0)),
        params.get("m"), sigma_w2, sigma_b2, float(mf.chi1(q_star)), v1, v2,
        [f.to_dict() for f in fps], None, mf.depth_scales(q_star, v1),
        stability_warnings(name, v1, v2, fps, q_star), act=act)


def threshold_for_sparsity(act: Activation, sparsity: float, q_star: float,
                           name: str | None = None) -> Activation:
    """``act`` with its threshold ``tau`` set so that ``P(phi(x) = 0) = sparsity`` at
    ``x ~ N(0, q*)`` (a bracketed root; no closed form needed)."""
    name = name or spec_of(act)
    fam = act.family
    if not any(fam.zero_pieces):
        raise ParameterError("sparsity", sparsity, f"omitted for {name}: it has no zero region "
                             "(no exact zeros), so no threshold sets a sparsity")
    if "tau" not in [p.name for p in fam.params]:
        raise ParameterError("sparsity", sparsity, f"omitted for {name}: it has no threshold "
                             "parameter tau to solve for")
    rq = math.sqrt(q_star)

    def gap(t: float) -> float:
        return float(moments.p_zero(_rebind(act, t * rq), q_star)) - sparsity

    lo, hi = _bracket(gap, *TAU_BRACKET)
    if lo is None:
        raise ParameterError("sparsity", sparsity, f"reachable by {name}'s threshold tau "
                             "(its exact-zero fraction does not cross it)")
    t = brentq(gap, lo, hi)
    return _rebind(act, t * rq)


def _rebind(act: Activation, tau: float) -> Activation:
    return act.family.bind(**{**act.params, "tau": tau})


def _bracket(f, lo: float, hi: float, n: int = 161):
    """A sign change of ``f`` on a grid over ``[lo, hi]``, skipping values outside the
    parameter's range (``(None, None)`` if none)."""
    prev = None
    for i in range(n):
        b = lo + (hi - lo) * i / (n - 1)
        try:
            cur = f(b)
        except ParameterError:  # e.g. tau < 0 for a one-sided threshold
            prev = None
            continue
        if prev is not None and prev[1] * cur <= 0.0:
            return prev[0], b
        prev = (b, cur)
    return None, None


def stability_warnings(name: str, v1: float, v2: float, fps, q_star: float) -> list[str]:
    """Why the fixed point ``q*`` of an activation on its edge of chaos may not hold."""
    out = []
    if v1 > UNSTABLE_SLOPE:
        out.append(f"{name}: unstable: V'(q*)={v1:.4g}>1 on the edge of chaos, so q* repels "
                   "and the variance runs away with depth")
    elif abs(v1 - 1.0) <= 1e-9 and v2 > 0:
        out.append(f"{name}: unstable from above: V'(q*)=1 and V''(q*)={v2:.3g}>0, so q* "
                   "attracts only from below; finite-width fluctuations push q^l above it")
    extra = extra_fixed_points(fps, q_star)
    if extra:
        desc = ", ".join(f"q={f.q:.6g} ({f.stability})" for f in extra)
        out.append(f"{name}: extra fixed points above q* at {desc}; finite-width noise can "
                   "jump to a large stable one")
    return out


def edge_of_chaos(act: Activation, q_star: float = 1.0) -> tuple[float, float]:
    """``(sigma_w^2, sigma_b^2)`` placing ``act`` on the edge of chaos with fixed point
    ``q*`` (:func:`sparsefield.theory.eoc.edge_of_chaos`), warning (:class:`StabilityWarning`)
    when ``q*`` is unstable there."""
    sigma_w2, sigma_b2 = _edge_of_chaos(act, q_star)
    mf = MeanField(act, sigma_w2, sigma_b2)
    v1 = float(mf.dV(q_star))
    v2 = float(mf.d2V(q_star)) if abs(v1 - 1.0) <= 1e-9 else 0.0
    warn(stability_warnings(spec_of(act), v1, v2, [], q_star))
    return sigma_w2, sigma_b2
