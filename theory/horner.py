"""Horner's rule with its running error bound for many polynomials at once (docs/theory.md
section 3.2, "Small |rho|: the Mehler series"): point ``p`` evaluates column ``k_p`` of the
coefficient rows at ``x_p``.  Used by :mod:`.pl_mehler`.
"""

from __future__ import annotations

import numpy as np

EPS = np.finfo(float).eps


def horner(w, ew, x, k):
    """``(value, bound)``: :func:`horner_parts` with the bound ``rounding + weights``."""
    y, rounding, weights = horner_parts(w, ew, x, k)
    return y, rounding + weights * (1.0 + 1e-12)


def horner_parts(w, ew, x, k):
    """``(sum_j w_jk x^j, Horner's running error bound (Higham 2002, Alg. 5.1), sum_j ew_jk
    |x|^j)`` (the last: the weights' own errors): rows ``j``, column ``k`` per point.  The
    value and the weights' error run as one stacked pair of Horner sums (at ``x`` and ``|x|``),
    the columns gathered row by row, in place (the same operations as one by one)."""
    wk = np.stack([w, ew], axis=1)  # (j, 2, columns)
    ax = np.abs(x)
    xs = np.stack([x, ax])
    ye = wk[-1].take(k, axis=1)
    y = ye[0]
    mu = 0.5 * np.abs(y)
    row, tmp = np.empty_like(ye), np.empty_like(y)
    for j in range(w.shape[0] - 2, -1, -1):
        ye *= xs
        ye += wk[j].take(k, axis=1, out=row)
        mu *= ax
        mu += np.abs(y, out=tmp)
    return y, EPS / 2 * (2.0 * mu - np.abs(y)), ye[1]
