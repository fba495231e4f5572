"""Which Monte Carlo rows of :mod:`.check` are exact by construction: the antithetic pair and
the control variates of :mod:`.kernels` make an estimate exact when the pair's sum of its
integrand is a combination of the controls (ReLU's ``E[phi^2]``, ``E[phi'^2]``)."""

from __future__ import annotations

import math

import numpy as np

from sparsefield.theory.activations import Activation

from .stats import ROUNDING, Estimate

DEGENERATE = 10 * ROUNDING  # a Monte Carlo stderr below this (relative): 0 by construction

INTEGRANDS = {"e_phi2": lambda f, g: f * f, "V": lambda f, g: f * f,
              "e_dphi2": lambda f, g: g * g, "chi1": lambda f, g: g * g,
              "e_phi_dphi": lambda f, g: f * g, "p_zero": lambda f, g: (f == 0.0) * 1.0}
# z > 0 only (the pair covers -z), off every breakpoint image (measure zero; phi' is
# right-continuous there); out to 30 sds
CHECK_Z = np.concatenate([np.linspace(0.0, 12.0, 241)[1:] - 1e-3 * math.pi, [20.0, 30.0]])


def exact_by_construction(act: Activation, q: float, key: str) -> bool:
    """Whether the antithetic pair and the control variates (:mod:`.kernels`: ``z^2``,
    ``|z|``, ``z^4``, constants) make ``key``'s estimate exact at ``x = sqrt(q) z``: the pair's
    sum ``h(z) + h(-z)`` of its integrand ``h`` is a combination of ``1, z^2, |z|, z^4``
    (ReLU's ``E[phi^2]``: ``z^2 q``; ``E[phi'^2]``: 1), checked by least squares on a grid of
    ``z`` out to 30 (and at every breakpoint's image)."""
    if key not in INTEGRANDS:
        return False
    s = math.sqrt(q)
    b = np.abs(act.breakpoints[act.breakpoints != 0.0]) / s
    z = np.concatenate([CHECK_Z, b * (1.0 + 1e-9), b * (1.0 - 1e-9)])
    with np.errstate(all="ignore"):
        x = np.concatenate([s * z, -s * z])
        h = INTEGRANDS[key](act(x), act.derivative(x))
    pair = h[: z.size] + h[z.size:]
    if not np.all(np.isfinite(pair)):
        return False
    basis = np.stack([np.ones_like(z), z * z, np.abs(z), z ** 4], axis=1)
    coef = np.linalg.lstsq(basis, pair, rcond=None)[0]
    return bool(np.max(np.abs(basis @ coef - pair)) <= 1e-9 * max(np.max(np.abs(pair)), 1e-300))


def degenerate(e: Estimate, value: float) -> bool:
    """The estimate's standard error is 0 up to rounding (relative to ``DEGENERATE``)."""
    return e.stderr <= DEGENERATE * max(abs(e.value), abs(value), 1e-300)
