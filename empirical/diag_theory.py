"""What the theory expects of the training diagnostics at initialisation (torch-free).

The one place where the diagnostics (:mod:`.diagnostics`) get their predictions; each
states the width it holds at (docs/theory.md section 4.9):

* **finite width N** (products of random matrices; Hanin & Nica 2019): a vector pushed
  through one layer, ``a -> D W a`` with ``W_ij ~ N(0, sigma_w^2/N)`` and ``D =
  diag(phi'(h))``, ``h ~ N(0, q*)``, gains ``|D W a|^2/|a|^2 = (sigma_w^2/N) sum_j
  phi'_j^2 zeta_j^2`` with ``zeta_j ~ N(0, 1)``; to order ``1/N`` its logarithm has

      E[log gain] = log chi_1 - (3 kappa - 1) / (2N),   Var[log gain] = (3 kappa - 1) / N,

  ``chi_1 = sigma_w^2 E[phi'^2]``, ``kappa = E[phi'^4] / E[phi'^2]^2`` (``1/p`` when ``phi'``
  takes the values 0 and 1, ``p = P(phi' != 0)``).  The same holds for a back-propagated
  gradient ``g -> D W^T g`` (gradient independence).  Over ``L`` layers the logs add.
* **mean field** (infinite width): the linear-window fraction ``p``; the correlation of
  two inputs ``rho^{l+1} = R(rho^l)`` iterated from the measured layer-1 correlation
  (docs/theory.md section 3); the logit spread across inputs, ``sqrt(q* (1 -
  mean_pairs rho^{L+1}))`` (the read-out has variance ``sigma_w^2/N``, so
  ``E(f_a - f_b)^2 / 2 = q* (1 - R(rho^L))``).

The finite-width formula is :func:`finite_width_gain`, the one place it is spelled here;
``theory.finite_width.predict`` (branch ``fw-theory``, with ``q^l`` fluctuations and a
conditioning correction) is to replace its body when it is on main.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from sparsefield.theory.activations import Activation, Family
from sparsefield.theory.gaussian import split_expect
from sparsefield.theory.maps import MeanField

from .store import (DIAG_PAIR_RHO1, MEAN_FIELD_WIDTH, PRED_ACTIVE_FRAC, PRED_CORR_GAP,
                    PRED_FINITE_WIDTH, PRED_LOG_GAIN, PRED_LOG_GAIN_SD, PRED_LOG_GAIN_TOTAL,
                    PRED_LOG_GAIN_TOTAL_SD, PRED_LOGIT_SPREAD, PRED_MEAN_FIELD, PRED_WIDTH)


@lru_cache(maxsize=None)
def _flat_pieces(fam: Family) -> tuple[bool, ...]:
    """Pieces on which ``phi'`` is identically zero (symbolically)."""
    return tuple(bool(d.equals(0)) for d in fam.pieces_sym(1))


def derivative_moments(act: Activation, q: float) -> dict:
    """``p = P(phi' != 0)``, ``E[phi'^2]`` and ``E[phi'^4]`` at ``h ~ N(0, q)``, integrated
    piece by piece between the breakpoints (:func:`sparsefield.theory.gaussian.split_expect`)."""
    flat = _flat_pieces(act.family)
    d = [None if f else act.piece(k, 1) for k, f in enumerate(flat)]
    ones = [None if f else (lambda x: 1.0 + 0.0 * x) for f in flat]
    sq = [None if f is None else (lambda x, f=f: f(x) ** 2) for f in d]
    quart = [None if f is None else (lambda x, f=f: f(x) ** 4) for f in d]
    b = act.breakpoints
    return {"p": split_expect(ones, b, q), "e2": split_expect(sq, b, q),
            "e4": split_expect(quart, b, q)}


def finite_width_gain(act: Activation, sigma_w2: float, sigma_b2: float, q_star: float,
                      width: int, layers: int) -> dict:
    """Typical log gain per layer of a tangent vector or back-propagated gradient at width
    ``width`` and its standard deviation, and their totals over ``layers`` layers
    (module docstring; the one spelling of the formula here).  ``sigma_b2`` is unused by
    the leading ``1/N`` form; the fuller prediction of ``theory.finite_width.predict``
    (branch ``fw-theory``: ``predict(act, width, layers, sigma_w2, sigma_b2, q_star)``,
    fields of the same names) takes it and replaces this body once it is on main."""
    mom = derivative_moments(act, q_star)
    chi1, kappa = sigma_w2 * mom["e2"], mom["e4"] / mom["e2"] ** 2
    var = (3.0 * kappa - 1.0) / width
    mean = math.log(chi1) - var / 2.0
    return {PRED_WIDTH: int(width), "chi1": chi1, "kappa": kappa, "layers": int(layers),
            PRED_LOG_GAIN: mean, PRED_LOG_GAIN_SD: math.sqrt(var),
            PRED_LOG_GAIN_TOTAL: layers * mean, PRED_LOG_GAIN_TOTAL_SD: math.sqrt(layers * var)}


def correlation_gap(mf: MeanField, q_star: float, rho1, depth: int) -> np.ndarray:
    """``mean_pairs (1 - rho^l)`` for ``l = 1 .. depth + 1`` under ``rho^{l+1} = R(rho^l)``
    from the layer-1 correlations ``rho1`` (one per input pair); the last entry is the
    read-out's input correlation ``R(rho^depth)``."""
    rho = np.clip(np.asarray(rho1, float), -1.0, 1.0)
    gaps = [np.mean(1.0 - rho)]
    for _ in range(depth):
        below = rho < 1.0
        rho = np.where(below, np.clip(mf.R(np.where(below, rho, 0.0), q_star), -1.0, 1.0), 1.0)
        gaps.append(np.mean(1.0 - rho))
    return np.asarray(gaps)


def predict(act: Activation, sigma_w2: float | None, sigma_b2: float | None, q_star: float,
            width: int, depth: int, rho1) -> dict | None:
    """Both parts of the prediction for one network (``None`` without an edge-of-chaos
    initialisation, or where ``phi'`` has delta terms)."""
    if sigma_w2 is None or sigma_b2 is None or act.has_jumps:
        return None
    fw = finite_width_gain(act, sigma_w2, sigma_b2, q_star, width, depth - 1)
    gaps = correlation_gap(MeanField(act, sigma_w2, sigma_b2), q_star, rho1, depth)
    mf = {PRED_WIDTH: MEAN_FIELD_WIDTH,
          PRED_ACTIVE_FRAC: derivative_moments(act, q_star)["p"],
          PRED_CORR_GAP: gaps[:-1].tolist(),
          PRED_LOGIT_SPREAD: math.sqrt(q_star * gaps[-1])}
    return {PRED_FINITE_WIDTH: fw, PRED_MEAN_FIELD: mf}


def predict_record(member, point: dict, init: dict) -> dict | None:
    """:func:`predict` for one trained member (a :class:`~.init.MemberInit`) of an MLP
    config ``point``, seeded by its stored layer-1 pair correlations (``None`` for a CNN,
    forced sparsity, or a run without diagnostics)."""
    if point.get("model", "mlp") != "mlp" or point.get("force", "none") != "none" \
            or DIAG_PAIR_RHO1 not in init:
        return None
    return predict(member.act, member.sigma_w2, member.sigma_b2, member.q_star,
                   point["width"], point["depth"], init[DIAG_PAIR_RHO1])
