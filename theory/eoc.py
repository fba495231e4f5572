"""The edge of chaos for a chosen fixed point ``q*`` (docs/theory.md section 3; [P24], [DT26]).

``chi_1 = 1`` and ``V(q*) = q*`` give ``sigma_w^2 = 1 / E[phi'^2]`` and
``sigma_b^2 = q* - sigma_w^2 E[phi^2]``, both at ``x ~ N(0, q*)``; the point is
infeasible when ``sigma_b^2 < 0``.
"""

from __future__ import annotations

from . import jumps, moments
from .activations import Activation
from .errors import InfeasibleError, check_variance
from .spec import as_activation

ROUNDING = 1e-12


def edge_of_chaos(act: Activation, q_star: float = 1.0) -> tuple[float, float]:
    """``(sigma_w^2, sigma_b^2)`` placing ``act`` on the edge of chaos with fixed point ``q*``."""
    act = as_activation(act)
    q_star = check_variance("q_star", q_star)
    if act.has_jumps:  # chi_1 = inf for every sigma_w^2 (theory/jumps.py)
        raise InfeasibleError(f"edge of chaos infeasible: {jumps.chi1_reason(act)}")
    e_dphi2 = float(moments.e_dphi2(act, q_star))
    if e_dphi2 <= 0.0:
        raise InfeasibleError(f"E[phi'^2] = 0 for {act.name} at q*={q_star}: chi_1 = 1 is unreachable")
    sigma_w2 = 1.0 / e_dphi2
    sigma_b2 = q_star - sigma_w2 * float(moments.e_phi2(act, q_star))
    if sigma_b2 < -ROUNDING * q_star:
        raise InfeasibleError(
            f"edge of chaos infeasible for {act.name} {act.params} at q*={q_star}: needs "
            f"sigma_b2={sigma_b2:.6g} < 0 (sigma_b2 must be >= 0; choose a larger q* or "
            "another threshold)")
    return sigma_w2, max(sigma_b2, 0.0)
