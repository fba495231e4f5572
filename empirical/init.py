"""Initialisation from the theory: activation parameters and edge-of-chaos variances.

``W_ij ~ N(0, sigma_w^2 / fan_in)``, ``b_i ~ N(0, sigma_b^2)`` with ``(sigma_w^2,
sigma_b^2)`` on the edge of chaos for a chosen ``q*`` ([P24], [DT26]; docs/theory.md section 3), or
the framework default ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))`` for weights and biases.
The first layer gets ``sigma_w^2 = q* - sigma_b^2`` so that standardised inputs
(``||x||^2 / fan_in = 1``) start at ``q^1 = q*``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch

from sparsefield.results.names import EXTRA_FIXED_POINTS
from sparsefield.theory.activations import PARAM_NAMES, Activation, get, names
from sparsefield.theory.clipping import derive
from sparsefield.theory.eoc import edge_of_chaos
from sparsefield.theory.errors import ParameterError
from sparsefield.theory.maps import extra_fixed_points

INITS = ("eoc", "default")
ACT_PARAMS = PARAM_NAMES


@dataclass(frozen=True)
class MemberInit:
    """One ensemble member: its activation and variances (``None``: framework default)."""

    act: Activation
    sigma_w2: float | None
    sigma_b2: float | None
    q_star: float = 1.0
    info: dict = field(default_factory=dict, compare=False)


def resolve(point: dict) -> MemberInit:
    """Member from a config point: ``activation`` with explicit parameters, or a target
    ``sparsity`` (with ``vprime`` or ``m`` for clipped ones) derived by
    :func:`sparsefield.theory.clipping.derive`; ``init`` is ``eoc`` or ``default``."""
    name, init, q_star = point["activation"], point.get("init", "eoc"), point.get("q_star", 1.0)
    if init not in INITS:
        raise ParameterError("init", init, f"one of {list(INITS)}")
    info: dict = {}
    if point.get("sparsity") is not None:
        if name not in names(derivable=True):
            raise ParameterError("sparsity", point["sparsity"],
                                 f"omitted for {name} (only {list(names(derivable=True))} take it)")
        d = derive(name, point["sparsity"], vprime=point.get("vprime"), m=point.get("m"),
                   q_star=q_star)
        act, sw, sb = d.activation_fn(), d.sigma_w2, d.sigma_b2
        info = {k: v for k, v in d.to_dict().items() if k != "fixed_points"}
        info[EXTRA_FIXED_POINTS] = extra_fixed_points(d.fixed_points, q_star)
    else:
        act = get(name, **{k: point[k] for k in ACT_PARAMS if point.get(k) is not None})
        sw, sb = edge_of_chaos(act, q_star) if init == "eoc" else (None, None)
    if init == "default":
        sw = sb = None
    info.update(activation=name, params=act.params, sigma_w2=sw, sigma_b2=sb, q_star=q_star)
    return MemberInit(act, sw, sb, q_star, info)


def init_weight_(w: torch.Tensor, fan_in: int, member: MemberInit, first: bool,
                 generator: torch.Generator) -> None:
    """Fill one member's weight in place (drawn on the CPU generator, then copied)."""
    if member.sigma_w2 is None:
        bound = 1.0 / math.sqrt(fan_in)
        draw = torch.rand(w.shape, generator=generator) * (2 * bound) - bound
    else:
        var = member.q_star - member.sigma_b2 if first else member.sigma_w2
        draw = torch.randn(w.shape, generator=generator) * math.sqrt(var / fan_in)
    with torch.no_grad():
        w.copy_(draw)


def init_bias_(b: torch.Tensor, fan_in: int, member: MemberInit,
               generator: torch.Generator) -> None:
    """Fill one member's bias in place: ``N(0, sigma_b^2)`` or the default uniform."""
    if member.sigma_b2 is None:
        bound = 1.0 / math.sqrt(fan_in)
        draw = torch.rand(b.shape, generator=generator) * (2 * bound) - bound
    else:
        draw = torch.randn(b.shape, generator=generator) * math.sqrt(member.sigma_b2)
    with torch.no_grad():
        b.copy_(draw)
