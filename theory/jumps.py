"""Activations whose value jumps: JumpReLU ``x 1[x > theta]`` and the hard threshold
``x 1[|x| > theta]``, and the top-k activation they are the wide limit of.

Where ``phi`` jumps by ``D_b = phi(b+) - phi(b-)`` at a breakpoint ``b``, its derivative in
the sense of distributions is ``phi' = g + sum_b D_b delta(x - b)`` with ``g`` the classical
derivative.  Consequences, for ``x ~ N(0, q)`` with density ``p_q``:

* ``E[phi'^2]`` contains ``D_b^2 delta(x - b)^2``: it is **infinite**, and so is
  ``chi_1 = sigma_w^2 E[phi'^2] = R'(1)``.  The correlation map has infinite slope at
  ``rho = 1``: two nearby inputs decorrelate at once (``1 - R(rho) ~ sqrt(1 - rho)``), so
  the ordered phase and the edge of chaos (``chi_1 = 1``) do not exist for any
  ``sigma_w^2 > 0``; every such network is chaotic at small distances.  (Autograd sees
  only ``g``; the finite ``sigma_w^2 E[g^2]`` is the gain of the straight-through
  gradient, not the mean-field ``chi_1``.)
* ``V'(q) = sigma_w^2 d/dq E[phi^2]`` stays finite.  By the heat equation
  ``d p_q / dq = p_q'' / 2``, ``d/dq E[phi^2] = E[(phi^2)''] / 2`` (Stein form), and the
  distribution ``(phi^2)''`` has, besides the classical part, ``[(phi^2)']_b delta_b`` and
  ``[phi^2]_b delta_b'`` at each breakpoint (``[f]_b`` the jump of ``f`` at ``b``;
  ``E[delta_b'] = -p_q'(b) = (b/q) p_q(b)``)::

      d/dq E[phi^2] = E[g^2 + phi phi''] + sum_b p_q(b) ([phi phi']_b + [phi^2]_b b / (2q))

  which reduces to the kink terms ``phi(b) J_b p_q(b)`` of continuous ``phi``.
* ``E[phi'(u1) phi'(u2)]`` (``u1, u2`` of variance ``q``, correlation ``|rho| < 1``) is
  finite: ``E[g g] + 2 sum_b D_b p_q(b) E[g(u2) | u1 = b] + sum_{b,b'} D_b D_b' p_2(b, b')``
  with ``p_2`` the bivariate density; it diverges as ``rho -> 1``.

Top-k: keeping, per token, the ``k = f N`` pre-activations of largest magnitude of ``N``
i.i.d. ``N(0, q)`` values is the hard threshold at the empirical ``(1 - f)`` quantile of
``|h|``, which converges (Glivenko-Cantelli; the sample quantile is within
``O(N^{-1/2})``) to ``theta = sqrt(q) Phi^{-1}(1 - f/2)``; keeping the ``k`` largest values
is JumpReLU at ``theta = sqrt(q) Phi^{-1}(1 - f)``.  So in the wide limit per-token top-k
at a fixed fraction has exactly the maps of these activations (:func:`topk_threshold`).
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from scipy import special
from scipy.special import ndtr

from .activations import Activation
from .errors import ParameterError, check_open_unit, check_variance
from .gaussian import SQRT2PI, split_expect
from .piecewise_linear import density


def chi1_reason(act: Activation) -> str:
    """Why ``chi_1`` is infinite for a jumping ``phi`` (one line, for the CLI and errors)."""
    where = ", ".join(f"x={b:.6g} (jump {d:.6g})" for b, d in zip(act.breakpoints, act.jumps)
                      if d != 0.0)
    return (f"{act.name} jumps at {where}: phi' has delta terms, so E[phi'^2] = inf and "
            "chi_1 = R'(1) = inf for every sigma_w2 > 0; no edge of chaos exists (the "
            "correlation map has infinite slope at rho = 1)")


def e_dphi2(act: Activation, q):
    """``E[phi'^2] = inf`` (the ``delta^2`` terms), shaped like ``q``."""
    return np.full(np.shape(q), np.inf)[()]


def undefined(act: Activation, what: str) -> ValueError:
    """The error for a moment that has no meaning when ``phi`` jumps."""
    return ValueError(f"{what} is undefined for {act.name}: phi jumps (phi times delta'); "
                      "use d/dq E[phi^2] (sparsefield.theory.jumps.dq_e_phi2)")


def _jump_sums(act: Activation):
    """Per breakpoint: ``[phi phi']_b`` and ``[phi^2]_b`` (right minus left limits)."""
    out = []
    for k, b in enumerate(act.breakpoints):
        lo, hi = act.piece(k, 0)(b), act.piece(k + 1, 0)(b)
        dlo, dhi = act.piece(k, 1)(b), act.piece(k + 1, 1)(b)
        out.append((b, hi * dhi - lo * dlo, hi * hi - lo * lo))
    return out


def dq_e_phi2(act: Activation, q):
    """``d/dq E[phi(x)^2]``, ``x ~ N(0, q)``, in Stein form with the jump terms (module
    docstring): finite for every piecewise-smooth ``phi``, continuous or not."""
    n = len(act.breakpoints) + 1
    jumps = _jump_sums(act)

    def one(qv: float) -> float:
        smooth = split_expect([lambda x, f=act.piece(k, 0), g=act.piece(k, 1),
                               h=act.piece(k, 2): g(x) ** 2 + f(x) * h(x) for k in range(n)],
                              act.breakpoints, qv)
        return smooth + sum(float(density(b, qv)) * (a + c * b / (2 * qv)) for b, a, c in jumps)
    return np.vectorize(one, otypes=[float])(np.asarray(q, float))[()]


def delta_dphi_dphi(act: Activation, q, rho):
    """The jump terms of ``E[phi'(u1) phi'(u2)]`` (added to the classical ``E[g g]``):
    ``2 sum_b D_b p_q(b) E[g(u2) | u1 = b] + sum_{b,b'} D_b D_b' p_2(b, b')``;
    ``inf`` at ``|rho| = 1`` where two deltas meet (``b' = rho b``).  Vectorised over
    ``(q, rho)``: for piecewise-linear ``phi``, ``g`` is piecewise constant and
    ``E[g(u2) | u1 = b]`` a sum of normal interval probabilities (``u2 | u1 = b`` is
    ``N(rho b, q (1 - rho^2))``); other ``phi`` integrate ``g`` per point."""
    if type(q) is float and type(rho) is float and abs(rho) < 1.0 and act.is_piecewise_linear:
        one = _delta_one(_pl_jumps(act), q, rho)  # one point: ~60 numpy calls saved
        if one is not None:
            return np.float64(one)
    q, rho = np.broadcast_arrays(np.asarray(q, float), np.asarray(rho, float))
    if np.any(np.abs(rho) > 1.0):
        raise ValueError(f"rho={rho[np.abs(rho) > 1.0].flat[0]} must be in [-1, 1]")
    b = act.breakpoints
    keep = act.jumps != 0.0
    bj, dj = b[keep], act.jumps[keep]
    qx, rx = q[..., None], rho[..., None]
    edge = np.abs(rho) == 1.0
    r = np.where(edge, 0.0, rho)[..., None]  # the |rho| = 1 points are set below
    cond = _conditional_g(act, qx, r, bj)
    dens = density(bj, qx)
    total = 2.0 * (dj * dens * cond).sum(axis=-1)
    det = 1.0 - r[..., None] ** 2
    b1, b2 = bj[:, None], bj[None, :]
    with np.errstate(divide="ignore", over="ignore", under="ignore"):
        p2 = np.exp(-(b1 * b1 - 2 * r[..., None] * b1 * b2 + b2 * b2)
                    / (2 * qx[..., None] * det)) / (2 * math.pi * qx[..., None] * np.sqrt(det))
    total = total + (dj[:, None] * dj[None, :] * p2).sum(axis=(-2, -1))
    if edge.any():  # u2 = rho u1: the delta at b meets g(rho b), or another delta (inf)
        meet = np.abs(b1 - rx[..., None] * b2) <= 1e-12 * np.maximum(1.0, np.abs(b2))
        at_edge = 2.0 * (dj * dens * act.derivative(rx * bj)).sum(axis=-1)
        total = np.where(edge, np.where(meet.any(axis=(-2, -1)), np.inf, at_edge), total)
    return total[()]


_SQRT2PI = float(SQRT2PI)


@lru_cache(maxsize=256)
def _pl_jumps(act: Activation) -> tuple:
    """``(jumps (b, D_b), edges, slopes)`` of piecewise-linear ``phi`` as Python floats."""
    keep = act.jumps != 0.0
    return (tuple(zip(act.breakpoints[keep].tolist(), act.jumps[keep].tolist())),
            (-math.inf, *act.breakpoints.tolist(), math.inf), tuple(act.linear_coeffs[0].tolist()))


def _delta_one(pl: tuple, q: float, rho: float) -> float | None:
    """:func:`delta_dphi_dphi` at one point, ``|rho| < 1``, piecewise-linear ``phi``: the same
    operations on Python floats (numpy's ``exp`` on floats: the bits of its array loop);
    ``None`` where the conditional variance ``q (1 - rho^2)`` is 0."""
    jumps, edges, slopes = pl
    s, sc, det = math.sqrt(q), math.sqrt(q * (1.0 - rho * rho)), 1.0 - rho * rho
    if not sc > 0.0:
        return None
    total = None
    for b, d in jumps:
        z = [(e - rho * b) / sc for e in edges]
        cond = None
        for i, a in enumerate(slopes):  # Q(z_i) - Q(z_i+1) above the mean, else Phi - Phi
            p = ndtr(-z[i]) - ndtr(-z[i + 1]) if z[i] >= 0.0 else ndtr(z[i + 1]) - ndtr(z[i])
            cond = a * float(p) if cond is None else cond + a * float(p)
        dens = float(np.exp(-0.5 * (b / s) * (b / s))) / _SQRT2PI / s
        t = d * dens * cond
        total = t if total is None else total + t
    total = 2.0 * total
    pair = None
    for b1, d1 in jumps:
        for b2, d2 in jumps:
            p2 = float(np.exp(-(b1 * b1 - 2 * rho * b1 * b2 + b2 * b2) / (2 * q * det))) / (
                2 * math.pi * q * math.sqrt(det))
            t = d1 * d2 * p2
            pair = t if pair is None else pair + t
    return total + pair


def _conditional_g(act: Activation, q, rho, b):
    """``E[g(u2) | u1 = b]`` for ``u1, u2`` of variance ``q``, correlation ``|rho| < 1``."""
    mu, s = rho * b, np.sqrt(q * (1.0 - rho * rho))
    if act.is_piecewise_linear:
        slopes = act.linear_coeffs[0]
        edges = np.concatenate(([-np.inf], act.breakpoints, [np.inf]))
        z = (edges[:, None] - mu[..., None, :]) / s[..., None, :]  # (..., edge, jump)
        upper, lower = ndtr(-z), ndtr(z)
        above = z[..., :-1, :] >= 0.0  # an interval above the mean: difference of upper tails
        prob = np.where(above, upper[..., :-1, :] - upper[..., 1:, :],
                        lower[..., 1:, :] - lower[..., :-1, :])
        return (slopes[:, None] * prob).sum(axis=-2)
    pieces = [act.piece(k, 1) for k in range(len(act.breakpoints) + 1)]
    one = np.vectorize(lambda m, v: split_expect(pieces, act.breakpoints, v, mu=m), otypes=[float])
    return one(mu, s * s)


def topk_threshold(fraction: float, q: float = 1.0, sided: int = 2) -> float:
    """The threshold that per-token top-k keeping a ``fraction`` of ``N(0, q)`` units
    converges to as the width grows: ``sqrt(q) Phi^{-1}(1 - f/2)`` (largest magnitudes,
    the hard threshold) or ``sqrt(q) Phi^{-1}(1 - f)`` (largest values, JumpReLU)."""
    f = check_open_unit("fraction", fraction)
    q = check_variance("q", q)
    if sided not in (1, 2):
        raise ParameterError("sided", sided, "1 (largest values) or 2 (largest magnitudes)")
    return float(math.sqrt(q) * special.ndtri(1.0 - f / sided))
