"""Gated units (GLU variants): ``phi(g, u) = a(g) c(u)`` with two pre-activations per unit.

A gated layer has two weight matrices, ``g = W_g x + b_g`` and ``u = W_u x + b_u``, both
``N(0, sigma_w^2 / N)`` (biases ``N(0, sigma_b^2)``), and outputs ``x' = a(g) c(u)``
elementwise: ``c`` is the identity for GLU variants (Dauphin et al. 2017; Shazeer 2020:
``swiglu`` with ``a = silu``, ``geglu`` with GELU, ``reglu`` with ReLU) and ReLU for the
``dReLU`` of sparse LLMs (Song et al. 2024, Turbo Sparse: ``relu(g) relu(u)``).

In the wide limit ``g`` and ``u`` are independent ``N(0, q)`` (independent weights), and
for two inputs the gates and the ups each have correlation ``rho``, independently of each
other.  Every map therefore factorises (``A = E[a^2]``, ``C = E[c^2]``, primes ``'``
for the slopes ``E[a'^2]``, ``E[c'^2]``, all at ``N(0, q)``):

* ``V(q) = sigma_w^2 A(q) C(q) + sigma_b^2`` (e.g. ``E[(a(g) u)^2] = q E[a(g)^2]``);
* ``V'(q) = sigma_w^2 (dA/dq C + A dC/dq)``, ``V'' = sigma_w^2 (A'' C + 2 A' C' + A C'')``
  with ``dA/dq = E[a'^2] + E[a a'']`` (Stein, delta terms included);
* ``chi_1 = sigma_w^2 (E[a'^2] C + A E[c'^2])``: the backward pass goes through both
  ``W_g`` and ``W_u``, whose cross term vanishes by independence;
* ``R(rho) = (sigma_w^2 E[a a](rho) E[c c](rho) + sigma_b^2) / V(q)`` and
  ``R'(rho) = sigma_w^2 q (E[a'a'] E[c c] + E[a a] E[c'c']) / V(q)`` (product rule and
  Price's theorem ``d/drho E[f(u1) f(u2)] = q E[f'(u1) f'(u2)]``);
* edge of chaos at ``q*``: ``sigma_w^2 = 1 / (E[a'^2] C + A E[c'^2])``,
  ``sigma_b^2 = q* - sigma_w^2 A C``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from . import moments
from .activations import Activation, get
from .errors import InfeasibleError, ParameterError, check_variance
from .maps import MeanField, check_q


@dataclass(frozen=True)
class Gated:
    """A gated unit ``a(g) c(u)``: ``gate`` is ``a``, ``up`` is ``c``."""

    name: str
    gate: Activation
    up: Activation
    description: str
    label: str = ""
    color: str = "#333333"

    def __call__(self, g, u):
        """``a(g) c(u)`` elementwise (numpy)."""
        return self.gate(g) * self.up(u)

    def torch_fn(self) -> Callable:
        """``(g, u) -> a(g) c(u)`` on tensors, from the two definitions' torch forms."""
        a, c = self.gate.torch_fn(), self.up.torch_fn()
        return lambda g, u: a(g) * c(u)

    def factors(self, q) -> tuple:
        """``(A, C, E[a'^2], E[c'^2])`` at ``N(0, q)``."""
        return (moments.e_phi2(self.gate, q), moments.e_phi2(self.up, q),
                moments.e_dphi2(self.gate, q), moments.e_dphi2(self.up, q))


GATED: dict[str, Gated] = {}


def _gated(name: str, gate: str, up: str, description: str, label: str, color: str) -> None:
    GATED[name] = Gated(name, get(gate), get(up), description, label, color)


_gated("swiglu", "silu", "identity", "silu(g) u (Shazeer 2020, GLU variants)", "SwiGLU",
       "#8c564b")
_gated("geglu", "gelu", "identity", "gelu(g) u (Shazeer 2020, GLU variants)", "GeGLU",
       "#9467bd")
_gated("reglu", "relu", "identity", "relu(g) u (Shazeer 2020, GLU variants)", "ReGLU",
       "#4d4d4d")
_gated("drelu", "relu", "relu", "relu(g) relu(u) (Song et al. 2024, Turbo Sparse dReLU)",
       "dReLU", "#d62728")


def gated(name: str) -> Gated:
    """Look up a gated unit by name."""
    try:
        return GATED[name]
    except KeyError:
        raise ParameterError("activation", name, f"one of {sorted(GATED)}") from None


def _dq(act: Activation, q):
    """``d/dq E[phi^2]`` (Stein form, jumps included) via the one-activation maps."""
    return MeanField(act, 1.0, 0.0).dV(q)


@dataclass(frozen=True)
class GatedMeanField(MeanField):
    """:class:`MeanField` of a gated unit: the factorised maps of the module docstring
    (fixed points, iteration and depth scales are inherited)."""

    act: Gated

    def V(self, q):
        q = check_q(q)
        return self.sigma_w2 * moments.e_phi2(self.act.gate, q) * moments.e_phi2(self.act.up, q) \
            + self.sigma_b2

    def dV(self, q):
        q = check_q(q)
        a, c = self.act.gate, self.act.up
        return self.sigma_w2 * (_dq(a, q) * moments.e_phi2(c, q) + moments.e_phi2(a, q) * _dq(c, q))

    def d2V(self, q):
        q = check_q(q)
        a, c = self.act.gate, self.act.up
        return self.sigma_w2 * (moments.d2q_e_phi2(a, q) * moments.e_phi2(c, q)
                                + 2 * _dq(a, q) * _dq(c, q)
                                + moments.e_phi2(a, q) * moments.d2q_e_phi2(c, q))

    def chi1(self, q):
        q = check_q(q)
        A, C, dA, dC = self.act.factors(q)
        return self.sigma_w2 * (dA * C + A * dC)

    def R(self, rho, q):
        q = check_q(q)
        a, c = self.act.gate, self.act.up
        num = moments.e_phi_phi(a, q, rho) * moments.e_phi_phi(c, q, rho)
        return (self.sigma_w2 * num + self.sigma_b2) / self.V(q)

    def dR(self, rho, q):
        q = check_q(q)
        a, c = self.act.gate, self.act.up
        num = (moments.e_dphi_dphi(a, q, rho) * moments.e_phi_phi(c, q, rho)
               + moments.e_phi_phi(a, q, rho) * moments.e_dphi_dphi(c, q, rho))
        return self.sigma_w2 * num * q / self.V(q)


def edge_of_chaos(unit: Gated, q_star: float = 1.0) -> tuple[float, float]:
    """``(sigma_w^2, sigma_b^2)`` with ``chi_1 = 1`` and ``V(q*) = q*`` for a gated unit."""
    q_star = check_variance("q_star", q_star)
    A, C, dA, dC = (float(v) for v in unit.factors(q_star))
    gain = dA * C + A * dC
    if not np.isfinite(gain) or gain <= 0.0:
        raise InfeasibleError(f"chi_1 = 1 is unreachable for {unit.name} at q*={q_star} "
                              f"(E[a'^2] C + A E[c'^2] = {gain})")
    sigma_w2 = 1.0 / gain
    sigma_b2 = q_star - sigma_w2 * A * C
    if sigma_b2 < -1e-12 * q_star:
        raise InfeasibleError(f"edge of chaos infeasible for {unit.name} at q*={q_star}: "
                              f"needs sigma_b2={sigma_b2:.6g} < 0")
    return sigma_w2, max(sigma_b2, 0.0)
