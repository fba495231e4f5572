"""The apex form alone for one-signed piecewise-linear maps (docs/theory.md section 3.2,
"One-signed maps: the apex form before the Mehler series").

In the tail basis of :mod:`.pl_bivariate` the map is ``lin + sum_k uni_k + sum_jk w_jk
E[B_j(z1) B_k(z2)]`` with ``lin = A^2 rho + C^2``, ``uni_k = 2 (A E[z1 B_k] + C E[B_k])`` and
the pair terms ``alpha_j alpha_k G + alpha_j delta_k H1 + delta_j alpha_k H2 + delta_j delta_k
L`` (``(A, C, alpha, delta) = (a s, c, J s, sigma D)`` for ``order = 0``, ``(0, a, 0, sigma
J)`` for ``order = 1``).  Where ``A = 0`` and ``C``, every ``alpha_k`` and every ``delta_k``
have one sign (:func:`one_signed`: JumpReLU, a shifted ReLU), every term is ``>= 0`` whatever
``rho``: nothing cancels, and the apex form of :mod:`.orthant_wedge` (all of whose integrands
are positive) gives the map within its moments' relative bounds (~50 ulps) wherever Rosenbaum's
sums cancel.  Evaluated at every corner of the points this route receives (no Rosenbaum pass
first): ``|r| < 1`` by :func:`.orthant_wedge.wedge`, ``r = 1`` by :func:`.orthant_wedge.diagonal`,
``r = -1`` exactly 0 (the orthant ``z1 > h >= 0``, ``-z1 > k >= 0`` is empty).  The terms, the
forward bound and the mask are :func:`.pl_bivariate.expect`'s (``RTOL |E| + ATOL E[phi^2]``).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from . import orthant, pl_bivariate
from .activations import Activation


@lru_cache(maxsize=512)
def one_signed(act: Activation, order: int) -> bool:
    """Every term of the tail-basis expansion of ``E[phi^(order)(u1) phi^(order)(u2)]`` is of
    one sign at every ``(q, rho)`` (module docstring): ``A = 0`` and ``C``, ``alpha_k``,
    ``delta_k`` all ``>= 0`` or all ``<= 0``."""
    if not act.is_piecewise_linear:
        return False
    bs = pl_bivariate.basis(act)
    if not bs.pairs:
        return False
    if order == 0:
        if bs.a != 0.0:
            return False
        signs = np.concatenate([[bs.c], bs.J, bs.sigma * bs.D])
    else:
        signs = np.concatenate([[bs.a], bs.sigma * bs.J])
    return bool(np.all(signs >= 0.0) or np.all(signs <= 0.0))


def moments(h, k, r):
    """``(L, H1, H2, G, bounds)`` at corners ``h, k >= 0``, ``r`` in ``[-1, 1]`` (arrays of one
    shape) by the apex form alone: :func:`.orthant.refine` from no moments (bound ``inf``)
    takes :func:`.orthant_wedge.wedge` for ``|r| < 1`` and the exact limit at ``r = 1``; at
    ``r = -1`` the moments are exactly 0."""
    empty = np.zeros(np.shape(h))
    unknown = np.where(r == -1.0, 0.0, np.inf)
    return orthant.refine(h, k, r, [empty.copy() for _ in range(4)]
                          + [[unknown.copy() for _ in range(4)]], np.ones(np.shape(h), bool))


def expect(act: Activation, q, rho, order: int = 0):
    """``(E[phi^(order)(u1) phi^(order)(u2)], ok)`` broadcasting ``q``, ``rho``: the tail basis
    of :mod:`.pl_bivariate` with the apex-form moments at every pair; ``ok`` marks the points
    whose forward bound meets ``RTOL``/``ATOL``; ``(None, False)`` unless :func:`one_signed`."""
    if not one_signed(act, order):  # the other routes: nothing computed
        return None, False
    return pl_bivariate.expect(act, q, rho, order, refine=False, corner_moments=moments)
