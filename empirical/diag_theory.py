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

The finite-width numbers come from :mod:`sparsefield.theory.finite_width` (with the
``q^l`` fluctuations and the conditioning correction of docs/theory.md section 7).
"""

from __future__ import annotations

import math

import numpy as np

from sparsefield.theory.activations import Activation
from sparsefield.theory.finite_width import derivative_moments
from sparsefield.theory.finite_width import predict as predict_fw
from sparsefield.theory.maps import MeanField

from .store import (
    DIAG_PAIR_RHO1,
    MEAN_FIELD_WIDTH,
    PRED_ACTIVE_FRAC,
    PRED_CORR_GAP,
    PRED_FINITE_WIDTH,
    PRED_LOG_GAIN,
    PRED_LOG_GAIN_SD,
    PRED_LOG_GAIN_TOTAL,
    PRED_LOG_GAIN_TOTAL_SD,
    PRED_LOGIT_SPREAD,
    PRED_MEAN_FIELD,
    PRED_WIDTH,
)


def finite_width_gain(act: Activation, sigma_w2: float, sigma_b2: float, q_star: float,
                      width: int, layers: int) -> dict:
    """Typical log gain per layer of a tangent vector or back-propagated gradient at width
    ``width``, its standard deviation, and their totals over ``layers`` layers: the
    finite-width theory's numbers (:func:`sparsefield.theory.finite_width.predict`)."""
    fw = predict_fw(act, int(width), int(layers), sigma_w2=sigma_w2, sigma_b2=sigma_b2,
                    q=q_star)
    return {PRED_WIDTH: int(width), "chi1": math.exp(fw.log_chi1), "kappa": fw.kappa,
            "layers": int(layers), PRED_LOG_GAIN: fw.log_gain_per_layer,
            PRED_LOG_GAIN_SD: fw.log_gain_sd_per_layer,
            PRED_LOG_GAIN_TOTAL: fw.log_gain_total_mean,
            PRED_LOG_GAIN_TOTAL_SD: fw.log_gain_total_sd}


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
          PRED_ACTIVE_FRAC: float(derivative_moments(act, q_star).active),
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
