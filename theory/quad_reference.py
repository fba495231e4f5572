"""The independent slow reference of :mod:`.routes` (``method="quad"``): adaptive
quadrature of each smooth piece between breakpoints (:func:`.gaussian.split_expect`), kink
terms in closed form; bivariate: the panel rule with its generic inner integral.  Used by
the tests, :mod:`sparsefield.testing` and the verification matrix, never by ``auto``.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from . import generic
from .activations import Activation
from .gaussian import split_expect


def quad_fn(quantity: str) -> Callable:
    """Adaptive quadrature of ``quantity`` (bivariate: the panel rule, generic inner)."""
    if quantity == "bivariate":
        return lambda act, q, rho, order: generic.bivariate(act, q, rho, order)
    if quantity == "d2q_e_phi2":
        return _quad_d2q

    def f(act, q, region="all"):
        lo, hi = generic.REGIONS[region]
        fs = generic.integrand(act, quantity, True)
        g = np.vectorize(lambda qq: split_expect(fs, act.breakpoints, qq, lo=lo, hi=hi),
                         otypes=[float])
        v = g(np.asarray(q, float))[()]
        return v + generic.delta_terms(act, q) if quantity == "e_phi_d2phi" else v
    return f


def _quad_d2q(act: Activation, q):
    def make(k, qq):
        f = act.piece(k, 0)
        return lambda x: f(x) ** 2 * ((x * x - qq) ** 2 / (4 * qq ** 4)
                                      + (qq - 2 * x * x) / (2 * qq ** 3))
    n = len(act.breakpoints) + 1
    f = np.vectorize(lambda qv: split_expect([make(k, qv) for k in range(n)],
                                             act.breakpoints, qv), otypes=[float])
    return f(np.asarray(q, float))[()]
