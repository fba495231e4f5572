"""The ramps' part of ``E[phi(sqrt(q) z)]`` without cancellation (docs/theory.md section 3.2,
"Small |rho|: the Mehler series").

In the tail basis of :mod:`.pl_bivariate` the ramps add ``sum_k J_k psi(h_k)``, ``psi(h) =
E[(z - h)_+]``.  A clamp (CReLU's ``+1`` at ``h_1``, ``-1`` at ``h_2`` close by) cancels: the
sum is ``~ (h_2 - h_1) Q`` while each term is ``~ psi``.  Per side (``sigma_k``), kinks in
rising ``h``, Abel's summation with the cumulative slopes ``S_k = sum_{i <= k} J_i``::

    sum_k J_k psi(h_k) = sum_{k < K} S_k D_k + S_K psi(h_K),   D_k = psi(h_k) - psi(h_{k+1})
                                                                 = int_{h_k}^{h_{k+1}} Q(u) du

leaves one term per piece, of the sign of the piece's slope (CReLU: one, positive).  Where
``psi(h_{k+1}) > psi(h_k) / 2`` the difference is taken by Gauss-Legendre on ``Q`` with the
a-priori bound of :mod:`.gl_bound` (``Q`` entire; :func:`.gl_bound.log_q`), else (or where no
rule is bounded) as the difference.  The breakpoints' rounding ``h + h_lo`` enters to first
order (``psi' = -Q``), as in :mod:`.pl_mehler`.
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtr

from . import gl_bound as GB

EPS = np.finfo(float).eps


def _integral(lo, hi):
    """``(int_lo^hi Q(u) du, relative bound)`` per column, ``0 <= lo < hi`` (``nan``, ``inf``
    where no rule of :data:`.gl_bound.LEVELS` meets ``QUAD_TOL``)."""
    R, A, B = GB.ellipse()
    m, ell = 0.5 * (lo + hi), 0.5 * (hi - lo)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        U, g, G = GB.log_q(m, ell, A, B)
        need = GB.level([U - g + GB.poly_ratio(A, G, 1)])
    value, rel = np.full(lo.shape, np.nan), np.full(lo.shape, np.inf)
    for n in GB.LEVELS:
        at = np.flatnonzero(need == n)
        if not at.size:
            continue
        u, _, w = GB.gl(n, lo[at], hi[at])
        f = ndtr(-u) * w
        # Q(u) to a few ulps, times |d log Q/du| <= u + 1 times the node's 2 eps u
        value[at] = f.sum(axis=1)
        rel[at] = (16.0 + GB.wmean(f, 4.0 + 2.0 * u * (u + 1.0), 1)) * EPS + GB.QUAD_TOL
    return value, rel


def clamps(sigma) -> bool:
    """Two kinks or more on one side of 0 (CReLU, ReLU6, hardsigmoid, CST's halves)."""
    return bool(np.count_nonzero(sigma > 0) > 1 or np.count_nonzero(sigma < 0) > 1)


def ramps(breaks, sigma, J, h, h_lo, psi, e_psi, Q):
    """``(sum_k J_k psi(h_k + h_lo_k), error bound)`` per column (rows: the kinks of the tail
    basis at ``breaks``; ``psi``, ``Q`` already corrected for ``h_lo``, ``e_psi`` their bounds)."""
    total, mag, err = np.zeros(h.shape[1:]), np.zeros(h.shape[1:]), np.zeros(h.shape[1:])
    count = 0
    for side in (1.0, -1.0):
        ks = np.flatnonzero(sigma == side)
        if not ks.size:
            continue
        ks = ks[np.argsort(np.abs(breaks[ks]))]  # rising h
        S = np.cumsum(J[ks])
        for i, (k, slope) in enumerate(zip(ks, S)):
            if slope == 0.0:
                continue
            if i + 1 == len(ks):
                d, e = psi[k], e_psi[k]
            else:
                k2 = ks[i + 1]
                d = psi[k] - psi[k2]
                e = e_psi[k] + e_psi[k2] + EPS * np.abs(d)
                close = np.flatnonzero(psi[k2] > 0.5 * psi[k])
                if close.size:
                    v, rel = _integral(h[k, close], h[k2, close])
                    corr = Q[k2, close] * h_lo[k2, close] - Q[k, close] * h_lo[k, close]
                    vd = v + corr
                    ve = v * rel + 3.0 * EPS * (np.abs(Q[k2, close] * h_lo[k2, close])
                                                + np.abs(Q[k, close] * h_lo[k, close]))
                    better = np.isfinite(vd) & (ve < e[close])
                    d, e = d.copy(), e.copy()
                    d[close[better]], e[close[better]] = vd[better], ve[better]
            term = slope * d
            total += term
            mag += np.abs(term)
            err += np.abs(slope) * e + (0.0 if abs(slope) == 1.0 else EPS) * np.abs(term)
            count += 1
    return total, err + max(count - 1, 0) * EPS * mag  # the products', then the sum's rounding
