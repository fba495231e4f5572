"""Closed forms for piecewise-linear activations (ReLU_tau, ST, CReLU, CST, ...).

On interval ``k`` the activation is ``a_k x + c_k``; ``phi'`` jumps by
``J_k = a_{k+1} - a_k`` at breakpoint ``b_k``, so ``phi'' = sum_k J_k delta(x - b_k)``
(docs/theory.md section 2).  Every Gaussian expectation below is then a finite sum of
truncated moments (:func:`sparsefield.theory.gaussian.truncated_moments`).  All arrays broadcast:
breakpoints, coefficients and ``q`` may be grids.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr

from .gaussian import SQRT2PI, gamma, truncated_moments


def density(x, q, mu=0.0):
    """Density of ``N(mu, q)`` at ``x``."""
    s = np.sqrt(q)
    return gamma((np.asarray(x, float) - mu) / s) / s


def _total(terms, q) -> np.ndarray:
    """Sum of broadcastable terms, shaped like ``q`` even when there are none."""
    return sum(terms, np.zeros(np.shape(q)))


@dataclass(frozen=True)
class PiecewiseLinear:
    """Breakpoints ``b_k`` and per-interval slopes ``a_k`` and intercepts ``c_k``."""

    breaks: tuple
    slopes: tuple
    intercepts: tuple

    @classmethod
    def of(cls, family, *params) -> "PiecewiseLinear":
        """The family's pieces at parameter values (scalars or broadcastable arrays)."""
        if not family.is_piecewise_linear:
            raise TypeError(f"{family.name} is not piecewise linear")
        breaks = family.np_breaks(*params)
        slopes, icpts = family.linear_coeffs(*params)
        return cls(tuple(np.asarray(b, float) for b in breaks),
                   tuple(np.asarray(a, float) for a in slopes),
                   tuple(np.asarray(c, float) for c in icpts))

    @property
    def edges(self) -> list:
        return [-np.inf, *self.breaks, np.inf]

    @property
    def kinks(self) -> list:
        """``J_k``: jump of ``phi'`` at ``b_k``."""
        return [self.slopes[k + 1] - self.slopes[k] for k in range(len(self.breaks))]

    def value_at_breaks(self) -> list:
        return [self.slopes[k + 1] * b + self.intercepts[k + 1] for k, b in enumerate(self.breaks)]

    def _segments(self, q, mu=0.0, lo=-np.inf, hi=np.inf):
        """Yield ``(a, c, M0, M1, M2)`` for each interval intersected with ``[lo, hi)``."""
        e = self.edges
        for k in range(len(self.slopes)):
            a_, b_ = np.maximum(e[k], lo), np.minimum(e[k + 1], hi)
            b_ = np.maximum(a_, b_)
            yield (self.slopes[k], self.intercepts[k], *truncated_moments(a_, b_, mu, q))

    def _stacked(self, q, mu=0.0, order: int = 2):
        """``(a, c, M0, M1, M2)`` stacked over the intervals (axis 0): every edge's
        ``Phi``, ``gamma`` and ``z gamma`` computed once and shared by its two intervals
        (one ``ndtr`` per breakpoint; ``M0`` of a tail interval is a difference of tails,
        ``Q(a) - Q(b)`` or ``Phi(b) - Phi(a)``, never of numbers near 1)."""
        mu, v = np.asarray(mu, float), np.asarray(q, float)
        b = np.broadcast_arrays(*self.breaks, *self.slopes, *self.intercepts)
        n = len(self.breaks)
        shape = np.broadcast_shapes(b[0].shape, v.shape, mu.shape)
        pad = (1,) * (len(shape) - b[0].ndim)
        br, sl, ic = (np.array(b[i:j], float).reshape((j - i,) + pad + b[0].shape)
                      for i, j in ((0, n), (n, 2 * n + 1), (2 * n + 1, 3 * n + 2)))
        s = np.sqrt(v)
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            z = (br - mu) / s
            t = ndtr(-np.abs(z))
            one = np.ones((1,) + shape)
            tp = np.concatenate([0.0 * one, t + 0.0 * one, 0.0 * one])
            neg = np.concatenate([one > 0, z + 0.0 * one < 0, one < 0])
            ta, tb, na, nb = tp[:-1], tp[1:], neg[:-1], neg[1:]
            m0 = np.where(~na, ta - tb, np.where(nb, tb - ta, (1.0 - ta) - tb))
            if order == 0:
                return sl, ic, m0, None, None
            g = np.exp(-0.5 * z * z) / SQRT2PI
            zg = np.where(np.isinf(z), 0.0, z * g)
        gp = np.concatenate([0.0 * one, g + 0.0 * one, 0.0 * one])
        zgp = np.concatenate([0.0 * one, zg + 0.0 * one, 0.0 * one])
        dg, dzg = gp[:-1] - gp[1:], zgp[:-1] - zgp[1:]
        m1 = mu * m0 + s * dg
        m2 = (mu * mu + v) * m0 + 2.0 * mu * s * dg + v * dzg
        return sl, ic, m0, m1, m2

    # --- univariate moments, x ~ N(mu, q) -------------------------------------------
    def e_phi(self, q, mu=0.0):
        """``E[phi] = sum_k a_k M1_k + c_k M0_k``."""
        a, c, m0, m1, _ = self._stacked(q, mu)
        return (a * m1 + c * m0).sum(axis=0)

    def e_phi2(self, q, mu=0.0):
        """``E[phi^2] = sum_k a_k^2 M2_k + 2 a_k c_k M1_k + c_k^2 M0_k``."""
        a, c, m0, m1, m2 = self._stacked(q, mu)
        return (a * a * m2 + 2 * a * c * m1 + c * c * m0).sum(axis=0)

    def e_dphi(self, q, mu=0.0):
        """``E[phi'] = sum_k a_k M0_k``."""
        a, _, m0, _, _ = self._stacked(q, mu, 0)
        return (a * m0).sum(axis=0)

    def e_dphi2(self, q, mu=0.0):
        """``E[phi'^2] = sum_k a_k^2 M0_k``."""
        a, _, m0, _, _ = self._stacked(q, mu, 0)
        return (a * a * m0).sum(axis=0)

    def e_phi_d2phi(self, q, mu=0.0):
        """``E[phi phi''] = sum_k J_k phi(b_k) p_q(b_k)`` (the delta terms, [P24])."""
        return _total((j * v * density(b, q, mu)
                       for j, v, b in zip(self.kinks, self.value_at_breaks(), self.breaks)), q)

    def e_phi_dphi(self, q, lo=-np.inf, hi=np.inf):
        """``E[phi phi' 1{lo <= x < hi}] = sum_k a_k (a_k M1_k + c_k M0_k)``."""
        return _total((a * (a * m1 + c * m0)
                       for a, c, m0, m1, _ in self._segments(q, 0.0, lo, hi)), q)

    def p_zero(self, q):
        """``P(phi(x) = 0)``: mass of the identically-zero intervals."""
        return _total((np.where((a == 0) & (c == 0), m0, 0.0)
                       for a, c, m0, _, _ in self._segments(q)), q)

    def d2q_e_phi2(self, q):
        """``d^2/dq^2 E[phi^2]`` for ``x ~ N(0, q)``.

        ``d/dq E[phi^2] = E[phi'^2] + E[phi phi'']``; differentiating each term in ``q``
        (``dp_q(b)/dq = p_q(b) (b^2/q - 1)/(2q)``) gives
        ``sum_k [(a_{k+1}^2 - a_k^2) b_k / 2q + J_k phi(b_k) (b_k^2/q - 1)/2q] p_q(b_k)``.
        """
        q = np.asarray(q, float)
        terms = ((self.slopes[k + 1] ** 2 - self.slopes[k] ** 2) * b
                 + self.kinks[k] * v * (b * b / q - 1.0)
                 for k, (b, v) in enumerate(zip(self.breaks, self.value_at_breaks())))
        return _total((t * density(b, q) / (2.0 * q) for t, b in zip(terms, self.breaks)), q)
