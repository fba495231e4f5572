"""The finite-width Markov chain of the layer variance ``q^l`` (docs/theory.md section 9.3).

Given layer ``l``, the pre-activations ``h^l_i`` are i.i.d. ``N(0, q^l)`` with
``q^{l+1} = sigma_w^2 M + sigma_b^2``, ``M = (1/N) sum_i phi(h^l_i)^2``: a Markov chain in
``q`` whose one-step law has mean ``V(q)`` and variance ``s^2(q) = sigma_w^4 Var[phi^2]/N``
(``Var[phi^2] = E[phi^4] - E[phi^2]^2``).  (The measured ``|h^l|^2/N`` is ``q^l chi2_N/N``.)

Two ways to follow it over depth:

* :func:`linear_noise`: ``q^l = qbar^l + dq^l`` about the mean-field trajectory
  ``qbar^{l+1} = V(qbar^l)``, ``dq^{l+1} = V'(qbar^l) dq^l + eps_l + V''/2 (dq^l)^2``,
  to ``O(1/N)``: the variance ``P_l`` of ``dq^l`` and the mean shift ``E[dq^l]``;
* :func:`band_exit`: the law of ``q^l`` as a density on a log grid, moved by the one-step
  law taken as a shifted Gamma (Pearson III) distribution with the exact mean, variance
  and third cumulant (vectorised numpy),
  with absorbing edges: the probability that ``q^l`` leaves a band within ``L`` layers
  (e.g. the explosion of unclipped ReLU_tau / ST: ``V'(q*) = 1``, ``V'' > 0``), and the
  law of ``q^l`` among the networks that stay (for averages of ``f(q^l)``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

from . import moments, panel_moments
from .activations import Activation
from .errors import ParameterError, check_positive
from .maps import MeanField

CELLS_PER_SD = 6  # band_exit: grid cells per one-step standard deviation (at least)
MIN_CELLS, MAX_CELLS = 200, 2000


def phi_moment(act: Activation, q, power: int, dpower: int = 0):
    """``E[phi^power phi'^dpower]`` at ``x ~ N(0, q)`` by the panel rule (pieces between
    breakpoints, :mod:`.panel_moments`); vectorised over ``q``."""
    def f(k, x, z):
        out = panel_moments.piece(act, k, 0)(x) ** power
        return out * panel_moments.piece(act, k, 1)(x) ** dpower if dpower else out

    def skip(k):
        return panel_moments.zero_piece(act, k, 0) or (dpower > 0 and panel_moments.zero_piece(act, k, 1))
    return np.asarray(panel_moments.univariate(act, np.asarray(q, float), f, skip), float)


def one_step(mf: MeanField, q, width: int, skew: bool = False):
    """``(V(q), s^2(q))``: mean and variance of ``q^{l+1}`` given ``q^l = q``; with
    ``skew`` also its third cumulant ``sigma_w^6 k3(phi^2) / N^2``."""
    q = np.asarray(q, float)
    e2, e4 = np.asarray(moments.e_phi2(mf.act, q), float), phi_moment(mf.act, q, 4)
    var = np.maximum(e4 - e2 * e2, 0.0)
    out = (mf.sigma_w2 * e2 + mf.sigma_b2, mf.sigma_w2 ** 2 * var / width)
    if not skew:
        return out
    k3 = phi_moment(mf.act, q, 6) - 3.0 * e2 * e4 + 2.0 * e2 ** 3
    return (*out, mf.sigma_w2 ** 3 * k3 / width ** 2)


@dataclass(frozen=True)
class LinearNoise:
    """Per layer ``l = 0..L``: mean-field ``qbar``, ``Var[q^l]``, ``E[q^l] - qbar^l``."""

    qbar: np.ndarray
    var: np.ndarray
    shift: np.ndarray
    slope: np.ndarray  # V'(qbar^l)
    step_var: np.ndarray  # s^2(qbar^l)


def linear_noise(mf: MeanField, q0: float, width: int, depth: int) -> LinearNoise:
    """``P_{l+1} = V'^2 P_l + s^2``, ``E dq^{l+1} = V' E dq^l + V''/2 P_l`` from ``P_0 = 0``
    (``q^0`` given exactly) along ``qbar^l`` (module docstring)."""
    qbar = mf.iterate(q0, depth)
    if not np.all(np.isfinite(qbar)):
        raise ParameterError("q", q0, "a start whose mean-field variance stays finite over "
                             f"depth {depth} (it explodes)")
    _, s2 = one_step(mf, qbar, width)
    a, b = np.asarray(mf.dV(qbar), float), np.asarray(mf.d2V(qbar), float)
    var, shift = np.zeros(depth + 1), np.zeros(depth + 1)
    for l in range(depth):
        var[l + 1] = a[l] ** 2 * var[l] + s2[l]
        shift[l + 1] = a[l] * shift[l] + 0.5 * b[l] * var[l]
    return LinearNoise(qbar, var, shift, a, s2)


@dataclass(frozen=True)
class BandExit:
    """The law of ``q^l`` within a band ``[lo, hi]`` (absorbing outside), per layer."""

    band: tuple[float, float]
    p_above: np.ndarray  # P(q^k > hi for some k <= l), l = 0..L
    p_below: np.ndarray  # P(q^k < lo for some k <= l)
    mean: np.ndarray  # E[q^l | in band until l]
    sd: np.ndarray
    cells: np.ndarray  # cell centres (geometric) of the grid
    density: np.ndarray  # (L + 1, cells): P(q^l in cell, in band until l); row 0 empty


def _pearson3_cdf(x, mean, var, k3):
    """CDF of the shifted Gamma law (Pearson type III) with this mean, variance and third
    cumulant ``k3 > 0``: ``c + Gamma(k, theta)``, ``theta = k3 / (2 var)``,
    ``k = var / theta^2``, ``c = mean - k theta``; ``k3 <= 0`` falls back to the unshifted
    Gamma law matching mean and variance."""
    k3 = np.where(k3 > 0, k3, 2.0 * var * var / mean)  # the plain Gamma's third cumulant
    theta = k3 / (2.0 * var)
    shape = var / (theta * theta)
    c = mean - shape * theta
    return special.gammainc(shape, np.maximum(x - c, 0.0) / theta)


def band_exit(mf: MeanField, q0: float, width: int, depth: int, band: tuple[float, float],
              cells: int | None = None) -> BandExit:
    """Propagate the density of ``q^l`` on a log grid over ``band`` (cell-averaged shifted
    Gamma kernel, exact first three cumulants of the one-step law); mass leaving the band
    is absorbed (module docstring)."""
    lo, hi = (check_positive("band", b) for b in band)
    if not lo < q0 < hi:
        raise ParameterError("band", band, f"an interval (lo, hi) around q0={q0:g}")
    m_p, s_p = one_step(mf, np.asarray(q0, float), width)
    rel = float(np.sqrt(s_p) / m_p)  # one-step relative spread at the start
    n = cells or int(np.clip(CELLS_PER_SD * np.log(hi / lo) / max(rel, 1e-12), MIN_CELLS, MAX_CELLS))
    edges = np.geomspace(lo, hi, n + 1)
    mid = np.sqrt(edges[:-1] * edges[1:])
    mean, var, k3 = one_step(mf, mid, width, skew=True)
    var = np.maximum(var, 1e-300)
    cdf = _pearson3_cdf(edges[None, :], mean[:, None], var[:, None], k3[:, None])
    kernel = np.diff(cdf, axis=1)
    to_below, to_above = cdf[:, 0], 1.0 - cdf[:, -1]
    m0, s0, k0 = one_step(mf, np.asarray([q0]), width, skew=True)
    c0 = _pearson3_cdf(edges, m0[0], max(float(s0[0]), 1e-300), k0[0])
    dens = np.diff(c0)  # the law of q^1 (q^0 is exact)
    p_above, p_below = [0.0, 1.0 - c0[-1]], [0.0, c0[0]]
    means, sds, rows = [q0], [0.0], [np.zeros(n)]
    for l in range(1, depth + 1):
        rows.append(dens)
        tot = dens.sum()
        mu = float(dens @ mid / tot) if tot > 0 else np.nan
        means.append(mu)
        sds.append(float(np.sqrt(max(dens @ (mid - mu) ** 2 / tot, 0.0))) if tot > 0 else np.nan)
        if l < depth:
            p_above.append(p_above[-1] + float(dens @ to_above))
            p_below.append(p_below[-1] + float(dens @ to_below))
            dens = dens @ kernel
    return BandExit((lo, hi), np.asarray(p_above), np.asarray(p_below), np.asarray(means),
                    np.asarray(sds), mid, np.asarray(rows))
