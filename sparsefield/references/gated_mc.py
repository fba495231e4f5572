"""Monte Carlo and finite-width networks for gated units (:mod:`sparsefield.theory.gated`).

Independent of the factorised theory: the Monte Carlo samples the joint law of
``(g1, g2)`` and ``(u1, u2)`` and averages ``phi(g1, u1) phi(g2, u2)`` itself; the
networks draw both weight matrices of every layer, ``g = W_g x + b_g``, ``u = W_u x + b_u``,
``x' = a(g) c(u)``, and back-propagate random output gradients through both.
"""

from __future__ import annotations

import numpy as np

from sparsefield.numerics.stats import Estimate, sample_mean
from sparsefield.theory.errors import ParameterError, check_positive
from sparsefield.theory.gated import Gated


def monte_carlo(unit: Gated, q: float, rho: float, n: int = 1 << 18, seed: int = 0
                ) -> dict[str, Estimate]:
    """``E[phi^2]``, ``E[phi(g1,u1) phi(g2,u2)]`` and the gradient factor
    ``E[a'(g)^2 c(u)^2 + a(g)^2 c'(u)^2]`` from ``n`` draws (classical derivatives)."""
    q = check_positive("q", q)
    if not -1.0 <= rho <= 1.0:
        raise ParameterError("rho", rho, "in [-1, 1]")
    rng = np.random.default_rng(np.random.SeedSequence((seed, 77)))
    z = rng.standard_normal((4, n))
    s, c = np.sqrt(q), np.sqrt(max(1.0 - rho * rho, 0.0))
    g1, u1 = s * z[0], s * z[1]
    g2, u2 = s * (rho * z[0] + c * z[2]), s * (rho * z[1] + c * z[3])
    a, up = unit.gate, unit.up
    f1, f2 = unit(g1, u1), unit(g2, u2)
    grad = a.derivative(g1) ** 2 * up(u1) ** 2 + a(g1) ** 2 * up.derivative(u1) ** 2
    return {"e_phi2": sample_mean(f1 * f1), "e_phi_phi": sample_mean(f1 * f2),
            "grad": sample_mean(grad)}


def simulate(unit: Gated, sigma_w2: float, sigma_b2: float, depth: int, width: int,
             n_networks: int, q0: float = 1.0, seed: int = 0) -> dict[str, np.ndarray]:
    """``q^l = (|g^l|^2 + |u^l|^2) / 2N`` (``l = 1..depth``) and the gradient gain per layer
    ``|dL/dx^{l-1}|^2 / |dL/dx^l|^2`` of each network; the input is ``a(g^0) c(u^0)``
    with ``|g^0|^2/N = |u^0|^2/N = q0``, so the maps predict ``q^1 = V(q0)``.
    Returns arrays ``q`` ``(networks, depth)`` and ``gain`` ``(networks, depth - 1)``."""
    rng = np.random.default_rng(np.random.SeedSequence((seed, 78)))
    qs = np.empty((n_networks, depth))
    gains = np.empty((n_networks, depth - 1))
    sw = np.sqrt(sigma_w2 / width)
    for k in range(n_networks):
        g0, u0 = rng.standard_normal((2, width))
        x = unit(g0 * np.sqrt(q0 * width) / np.linalg.norm(g0),
                 u0 * np.sqrt(q0 * width) / np.linalg.norm(u0))
        layers = []
        for layer in range(depth):
            wg, wu = sw * rng.standard_normal((2, width, width))
            g = wg @ x + np.sqrt(sigma_b2) * rng.standard_normal(width)
            u = wu @ x + np.sqrt(sigma_b2) * rng.standard_normal(width)
            qs[k, layer] = 0.5 * (g @ g + u @ u) / width
            layers.append((wg, wu, g, u))
            x = unit(g, u)
        delta = rng.standard_normal(width)  # dL/dx at the last layer's output
        norms = [delta @ delta]
        for wg, wu, g, u in reversed(layers[1:]):
            dg = delta * unit.gate.derivative(g) * unit.up(u)
            du = delta * unit.gate(g) * unit.up.derivative(u)
            delta = wg.T @ dg + wu.T @ du
            norms.append(delta @ delta)
        gains[k] = (np.asarray(norms[1:]) / np.asarray(norms[:-1]))[::-1]
    return {"q": qs, "gain": gains}
