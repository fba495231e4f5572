"""Depth scale of the correlation map (Schoenholz et al. 2017, "Deep information propagation").

Two inputs with correlation ``rho^l`` at layer ``l`` (both at the variance fixed point
``q*``) follow ``rho^{l+1} = R(rho^l)``.  With ``chi_c = R'(c*)`` at the stable fixed
point ``c*`` of ``R``, ``|rho^l - c*| ~ exp(-l / xi_c)``, ``xi_c = -1 / ln chi_c``
(Schoenholz et al. 2017, eq. 9); the network is trainable while its depth stays within a
few multiples of ``xi_c``.

* ordered phase (``chi_1 = R'(1) < 1``): ``c* = 1``, ``chi_c = chi_1``;
* chaotic phase (``chi_1 > 1``): ``c* < 1`` is the other root of ``R(c) = c``;
* edge of chaos (``chi_1 = 1``): ``xi_c = inf`` and the approach to ``rho = 1`` is
  polynomial.  For a continuous piecewise-linear ``phi`` with slope jumps ``J_k`` at
  breakpoints ``b_k``, two inputs ``u1, u2`` (variance ``q*``, correlation ``1 - eps``)
  straddle ``b_k`` with probability ``2 gamma(b_k/sqrt(q*)) sqrt(eps/pi) + O(eps)``, so
  ``R'(1 - eps) = chi_1 - sigma_w^2 sqrt(eps/pi) sum_k J_k^2 gamma(b_k/sqrt(q*))`` and

      R(1 - eps) = 1 - chi_1 eps + K eps^{3/2} + O(eps^2),
      K = 2/(3 sqrt(pi)) sigma_w^2 sum_k J_k^2 gamma(b_k / sqrt(q*)).

  On the edge ``eps^{l+1} = eps^l - K (eps^l)^{3/2}``, whose continuum solution is
  ``eps^l = (eps_0^{-1/2} + K l / 2)^{-2} -> (ell_c / l)^2`` with ``ell_c = 2 / K``.
  (ReLU, ``sigma_w^2 = 2``: ``K = 2 sqrt(2) / (3 pi)``, the known ``eps^l ~ 9 pi^2 / (2 l^2)``.)
  ``ell_c`` is the edge-of-chaos depth scale: the larger it is, the longer distinct
  inputs stay distinguishable.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from .activations import Activation
from .errors import ParameterError, check_positive, check_variance
from .gaussian import gamma
from .maps import MARGINAL_TOL, MeanField
from .roots import brentq

EDGE_TOL = 1e-6  # |chi_1 - 1| below this counts as the edge of chaos


@dataclass(frozen=True)
class DepthScale:
    """Depth scales of one initialisation at its fixed point ``q*``.

    ``phase`` is ``ordered``, ``chaotic`` or ``edge``; ``xi_c`` is ``inf`` on the edge,
    where ``kink_k`` (``K``) and ``ell_c = 2/K`` describe the polynomial approach
    ``1 - rho^l ~ (ell_c / l)^2``; ``xi_q = -1/ln V'(q*)`` is the variance map's scale
    (``inf`` where ``V'(q*) = 1``: the unclipped thresholds' semi-stable ``q*`` [P24]).
    """

    q_star: float
    chi_1: float
    phase: str
    c_star: float
    chi_c: float
    xi_c: float
    kink_k: float
    ell_c: float
    xi_q: float

    def to_dict(self) -> dict:
        return asdict(self)


def kink_coefficient(act: Activation, sigma_w2: float, q) -> np.ndarray:
    """``K(q) = 2/(3 sqrt(pi)) sigma_w^2 sum_k J_k^2 gamma(b_k / sqrt(q))`` (vectorised in ``q``).

    The ``eps^{3/2}`` coefficient of ``R(1 - eps)`` for a continuous piecewise-linear
    activation (module docstring)."""
    if not act.is_piecewise_linear:
        raise ParameterError("activation", act.name, "a piecewise-linear activation "
                             "(its kinks set the edge-of-chaos approach)")
    a, c = act.linear_coeffs
    b = act.breakpoints
    jumps = (a[1:] * b + c[1:]) - (a[:-1] * b + c[:-1])
    if np.any(np.abs(jumps) > 1e-12):
        raise ParameterError("activation", act.name, "a continuous activation (value jumps "
                             "give an eps^{1/2} term instead)")
    q = np.asarray(q, float)
    if np.any(~(q > 0)):
        check_positive("q", float(np.min(q)))
    z = b[:, None] / np.sqrt(q.reshape(-1))[None, :]
    total = (act.kinks[:, None] ** 2 * gamma(z)).sum(0)
    return (2.0 / (3.0 * np.sqrt(np.pi)) * sigma_w2 * total).reshape(q.shape)


def edge_approach(kink_k, eps0, depth) -> np.ndarray:
    """``1 - rho^l = (eps_0^{-1/2} + K l / 2)^{-2}`` on the edge of chaos (broadcasts)."""
    eps0, k, l = (np.asarray(v, float) for v in (eps0, kink_k, depth))
    return (eps0 ** -0.5 + 0.5 * k * l) ** -2.0


def correlation_fixed_point(mf: MeanField, q_star: float) -> float:
    """Stable fixed point ``c*`` of ``R`` at ``q*``: 1 unless ``chi_1 > 1``, then the root
    of ``R(c) = c`` in ``[-1, 1)`` (bracketed on a grid, refined by Brent's method)."""
    chi1 = float(mf.chi1(q_star))
    if chi1 <= 1.0 + EDGE_TOL:
        return 1.0
    # coarse in [-1, 0.9], geometric towards 1 (a c* close to 1 is not stepped over)
    grid = np.concatenate([np.linspace(-1.0, 0.9, 20, endpoint=False),
                           1.0 - np.geomspace(0.1, 1e-6, 21)])
    g = np.array([float(mf.R(c, q_star)) - c for c in grid])
    idx = np.nonzero(np.sign(g[:-1]) * np.sign(g[1:]) <= 0)[0]
    if not len(idx):
        raise ParameterError("q_star", q_star, "a fixed point of V (R(c) = c has no root < 1)")
    i = idx[-1]
    return float(brentq(lambda c: float(mf.R(c, q_star)) - c, grid[i], grid[i + 1], xtol=1e-13))


def depth_scale(act: Activation, sigma_w2: float, sigma_b2: float, q_star: float) -> DepthScale:
    """Depth scales of ``(act, sigma_w^2, sigma_b^2)`` at a fixed point ``q*`` of ``V``."""
    q_star = check_variance("q_star", q_star)
    mf = MeanField(act, sigma_w2, sigma_b2)
    v = float(mf.V(q_star))
    if abs(v - q_star) > 1e-8 * q_star:
        raise ParameterError("q_star", q_star, f"a fixed point of V (V(q*) = {v:.6g})")
    chi1 = float(mf.chi1(q_star))
    vp = float(mf.dV(q_star))
    xi_q = float(np.inf) if abs(vp - 1.0) <= MARGINAL_TOL or vp <= 0 else -1.0 / np.log(abs(vp))
    # K exists for continuous piecewise-linear phi; a jump activation (chi_1 = inf) is
    # never on the edge, so it has none (nan), and its chaotic-phase scales follow below
    continuous_pl = act.is_piecewise_linear and not act.has_jumps
    kink = float(kink_coefficient(act, sigma_w2, q_star)) if continuous_pl else np.nan
    if abs(chi1 - 1.0) <= EDGE_TOL:
        phase, c_star, chi_c = "edge", 1.0, chi1
    else:
        phase = "ordered" if chi1 < 1.0 else "chaotic"
        c_star = correlation_fixed_point(mf, q_star)
        chi_c = float(mf.dR(c_star, q_star))
    xi_c = float(np.inf) if phase == "edge" or chi_c >= 1.0 else -1.0 / np.log(chi_c)
    ell_c = 2.0 / kink if phase == "edge" and kink > 0 else np.nan
    return DepthScale(q_star, chi1, phase, c_star, chi_c, xi_c, kink, float(ell_c), float(xi_q))
