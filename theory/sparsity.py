"""Exact-zero sparsity at initialisation and its inverse (docs/theory.md section 4.1, [P24]).

For ``h ~ N(0, q)``: ``s = Phi(tau/sqrt(q))`` for ReLU_tau and CReLU, and
``s = 2 Phi(tau/sqrt(q)) - 1`` for ST and CST (whose zero set is ``|h| <= tau``).
"""

from __future__ import annotations

import numpy as np
from scipy import special

from .activations import names
from .errors import ParameterError, check_nonnegative, check_positive

# Families whose threshold sets the zero set x < t (one-sided) or |x| <= t (two-sided).
ONE_SIDED = names(sided=1)
TWO_SIDED = names(sided=2)


def _kind(name: str) -> bool:
    if name not in ONE_SIDED + TWO_SIDED:
        raise ParameterError("activation", name, f"one of {list(ONE_SIDED + TWO_SIDED)}")
    return name in TWO_SIDED


def sparsity(name: str, tau, q=1.0):
    """Fraction of exact zeros of ``phi(h)``, ``h ~ N(0, q)``."""
    two = _kind(name)
    tau = np.asarray(tau, float)
    for t in np.ravel(tau):
        check_nonnegative("tau", t)
    check_positive("q", q)
    p = special.ndtr(tau / np.sqrt(q))
    return (2.0 * p - 1.0 if two else p)[()]


def tau_for_sparsity(name: str, s, q=1.0):
    """Threshold giving sparsity ``s``: ``tau = sqrt(q) Phi^{-1}(s)`` (one-sided) or
    ``sqrt(q) Phi^{-1}((1+s)/2)`` (two-sided).  One-sided needs ``s >= 1/2``."""
    two = _kind(name)
    check_positive("q", q)
    s = np.asarray(s, float)
    lo = 0.0 if two else 0.5
    bad = ~((s >= lo) & (s < 1.0)) | ((s <= 0.0) if two else False)
    if np.any(bad):
        rng = "in the open interval (0, 1)" if two else "in [0.5, 1) (tau >= 0 for a one-sided threshold)"
        raise ParameterError("sparsity", float(np.ravel(s)[np.ravel(bad)][0]), rng)
    p = (1.0 + s) / 2.0 if two else s
    return (np.sqrt(q) * special.ndtri(p))[()]
