"""Monte Carlo estimates with standard errors, z-scores and control variates.

Standard errors of means come from i.i.d. blocks (batch means: the covariance of the
grand mean is that of the block means over their number).  Control variates ``c`` with
exactly known mean 0 adjust a feature ``f`` to ``f - beta^T c``,
``beta = Cov(c)^{-1} Cov(c, f)``, residual variance ``Var f - Cov(f, c) Cov(c)^{-1}
Cov(c, f)`` (Glasserman 2004, section 4.1).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

Z_BOUND = 4.5
ROUNDING = 1e-9  # relative floor on the standard error: sums of 1e7 doubles are no better
ABS_FLOOR = 1e-12  # absolute floor: quadrature/closed forms of a zero are ~1e-17, not 0


def z_score(value: float, reference: float, stderr: float) -> float:
    """``(value - reference) / stderr``; with a zero standard error, ``0`` when the two are
    equal and a signed infinity when not (never a division by zero)."""
    diff = value - reference
    if stderr > 0:
        return diff / stderr
    return 0.0 if diff == 0.0 else math.copysign(math.inf, diff)


@dataclass(frozen=True)
class Estimate:
    """A Monte Carlo estimate: ``value`` with standard error ``stderr`` from ``n`` draws."""

    value: float
    stderr: float
    n: int

    def z(self, reference: float) -> float:
        """``(value - reference) / stderr``, the error floored at ``ROUNDING`` (relative)
        and ``ABS_FLOOR`` (absolute)."""
        se = math.hypot(self.stderr, ROUNDING * max(abs(self.value), abs(reference)), ABS_FLOOR)
        return z_score(self.value, reference, se)

    def agrees(self, reference: float, bound: float = Z_BOUND) -> bool:
        """``|z| < bound``."""
        return abs(self.z(reference)) < bound


def sample_mean(x, axis: int = 0) -> Estimate:
    """Mean of i.i.d. draws along ``axis`` with stderr ``std / sqrt(n)`` (scalar result)."""
    x = np.asarray(x, float)
    n = x.shape[axis]
    se = float(np.std(x, axis=axis, ddof=1)) / math.sqrt(n) if n > 1 else math.inf
    return Estimate(float(np.mean(x, axis=axis)), se, n)


def sample_means(x, axis: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Elementwise means and standard errors along ``axis``, NaN entries left out."""
    x = np.asarray(x, float)
    n = np.sum(~np.isnan(x), axis=axis)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.nansum(x, axis=axis) / n
        var = np.nansum((x - np.expand_dims(mean, axis)) ** 2, axis=axis) / (n - 1)
        return mean, np.sqrt(var / n)


def proportion(k: int, n: int) -> Estimate:
    """Binomial proportion ``k/n``, stderr ``sqrt(p (1 - p) / n)``."""
    p = k / n
    return Estimate(p, math.sqrt(p * (1.0 - p) / n), n)


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion (Wilson 1927); sound at ``k = 0, n``."""
    p = k / n
    den = 1.0 + z * z / n
    mid = (p + z * z / (2 * n)) / den
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return max(0.0, mid - half), min(1.0, mid + half)


@dataclass(frozen=True)
class Moments:
    """Means of named features with the covariance of those means (control-variate adjusted)."""

    names: tuple[str, ...]
    mean: np.ndarray
    cov: np.ndarray
    n: int

    @classmethod
    def from_block_means(cls, names, means, n: int, n_controls: int = 0) -> "Moments":
        """Batch means: ``means`` holds one row per i.i.d. block (``n`` draws in all); the
        last ``n_controls`` columns are controls with known mean 0."""
        means = np.asarray(means, float)
        b = len(means)
        mean = means.mean(axis=0)
        d = means - mean
        # covariance of one block mean; einsum, not BLAS: a fixed summation order
        s = np.einsum("bi,bj->ij", d, d) / (b - 1)
        k = means.shape[1] - n_controls
        f, c = slice(0, k), slice(k, None)
        if n_controls:  # regression on the controls; residual variance with b - 1 - k dof
            beta = np.linalg.lstsq(s[c, c], s[c, f], rcond=None)[0]
            adj = mean[f] - beta.T @ mean[c]
            res = (s[f, f] - s[f, c] @ beta) * (b - 1) / (b - 1 - n_controls)
        else:
            adj, res = mean[f], s[f, f]
        res = 0.5 * (res + res.T)
        np.fill_diagonal(res, np.maximum(np.diag(res), 0.0))
        return cls(tuple(names[:k]), adj, res / b, n)

    def index(self, name: str) -> int:
        return self.names.index(name)

    def __getitem__(self, name: str) -> Estimate:
        i = self.index(name)
        return Estimate(float(self.mean[i]), math.sqrt(self.cov[i, i]), self.n)

    def linear(self, coeffs: dict[str, float], const: float = 0.0) -> Estimate:
        """``sum_k a_k E[f_k] + const``."""
        a = self._vector(coeffs)
        return Estimate(float(a @ self.mean + const), math.sqrt(max(a @ self.cov @ a, 0.0)),
                        self.n)

    def ratio(self, num: dict[str, float], num0: float, den: dict[str, float], den0: float
              ) -> Estimate:
        """``(a.E[f] + a0) / (b.E[f] + b0)`` with a delta-method standard error."""
        a, b = self._vector(num), self._vector(den)
        top, bot = a @ self.mean + num0, b @ self.mean + den0
        g = (a - (top / bot) * b) / bot
        return Estimate(float(top / bot), math.sqrt(max(g @ self.cov @ g, 0.0)), self.n)

    def _vector(self, coeffs: dict[str, float]) -> np.ndarray:
        a = np.zeros(len(self.names))
        for k, v in coeffs.items():
            a[self.index(k)] = v
        return a
