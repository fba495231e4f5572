"""The clipping experiment's theory check: predictions per point and the ordering verdict.

**Predicted ordering** (docs/theory.md sections 4.2-4.3, 4.9): every clipped point that
mean field keeps at its target (CReLU/CST with ``V'(q*) < 1`` and no fixed point above
``q*``) trains to a higher test accuracy than every unclipped point (ReLU_tau, ST_tau,
``V'(q*) = 1``, ``V'' > 0``: ``q^l`` escapes upward at finite width).  For each pair
(clipped ``c``, unclipped ``u``) the difference of seed means ``d = acc_c - acc_u`` and its
standard error ``se = sqrt(sem_c^2 + sem_u^2)`` give ``z = d / se`` (a diverged run counts
at chance, :mod:`.baseline`).  The ordering is *observed* when every pair has ``z >``
:data:`Z_ORDER`; otherwise *not observed*, naming the pairs that fail (reversed: ``z <
-Z_ORDER``; unresolved: within the error bars; or no error bar with one seed).

Per point, next to the measurement: the mean-field predictions (infinite width: ``V'(q*)``,
sparsity kept or not, ``1 - rho^L`` of input pairs at initialisation) and the
finite-width ones at the run's width (typical end-to-end log gain of a back-propagated
gradient over the depth, its spread), each stating the width it holds at.
"""

from __future__ import annotations

import math

import numpy as np

from ..store import (
    DIAG_CORR_GAP,
    DIAG_LOG_GAIN,
    EVAL,
    PRED_ACTIVE_FRAC,
    PRED_CORR_GAP,
    PRED_FINITE_WIDTH,
    PRED_LOG_GAIN_TOTAL,
    PRED_LOG_GAIN_TOTAL_SD,
    PRED_MEAN_FIELD,
    PRED_WIDTH,
    PREDICTED,
    section,
    series,
)
from . import baseline as B
from .stats import mean_sem

Z_ORDER = 2.0  # one-sided: a pair is ordered when its difference exceeds 2 standard errors
OBSERVED, NOT_OBSERVED = "observed", "not observed"


def point_predictions(recs: list[dict], predicted_at_target: bool | None) -> dict:
    """Mean-field and finite-width predictions of one point with the matching measurements
    at initialisation (means over seeds; ``{}`` parts where the records hold none)."""
    pred = section(recs[0], PREDICTED) or {}
    fw, mf = pred.get(PRED_FINITE_WIDTH), pred.get(PRED_MEAN_FIELD)
    out: dict = {PRED_MEAN_FIELD: {PRED_WIDTH: mf[PRED_WIDTH] if mf else None,
                                   "keeps_sparsity": predicted_at_target}}
    if mf:
        out[PRED_MEAN_FIELD].update(active_fraction=mf[PRED_ACTIVE_FRAC],
                                 corr_gap_last=mf[PRED_CORR_GAP][-1])
    if fw:
        out[PRED_FINITE_WIDTH] = {PRED_WIDTH: fw[PRED_WIDTH],
                                  PRED_LOG_GAIN_TOTAL: fw[PRED_LOG_GAIN_TOTAL],
                                  PRED_LOG_GAIN_TOTAL_SD: fw[PRED_LOG_GAIN_TOTAL_SD]}
    if DIAG_LOG_GAIN in section(recs[0], EVAL):
        out["measured_init"] = {
            PRED_LOG_GAIN_TOTAL: mean_sem([float(np.sum(series(r, EVAL, DIAG_LOG_GAIN)[0]))
                                        for r in recs]),
            "corr_gap_last": mean_sem([float(series(r, EVAL, DIAG_CORR_GAP)[0][-1])
                                       for r in recs])}
    return out


def _acc(recs: list[dict], chance_margin: float) -> dict:
    return mean_sem([B.run_outcome(r, chance_margin)["acc"] for r in recs])


def ordering(groups: dict[str, list[dict]], clipped: list[str], unclipped: list[str],
             chance_margin: float = B.CHANCE_MARGIN) -> dict:
    """The verdict on the predicted ordering ``clipped > unclipped`` (module docstring)."""
    accs = {k: _acc(groups[k], chance_margin) for k in clipped + unclipped if k in groups}
    pairs, failing = [], []
    for c in clipped:
        for u in unclipped:
            if c not in accs or u not in accs:
                continue
            d = accs[c]["mean"] - accs[u]["mean"]
            se = math.hypot(accs[c]["sem"], accs[u]["sem"])
            if se > 0 or math.isnan(se):
                z = d / se
            else:  # every seed equal on both sides
                z = math.copysign(math.inf, d) if d else 0.0
            state = ("ordered" if z > Z_ORDER else "reversed" if z < -Z_ORDER
                     else "no error bar" if math.isnan(z) else "within error bars")
            pairs.append({"clipped": c, "unclipped": u, "diff": d, "se": se, "z": z,
                          "state": state})
            if state != "ordered":
                failing.append(f"{c} vs {u}: {state} ({d:+.3f} +- {se:.3f})")
    verdict = OBSERVED if pairs and not failing else NOT_OBSERVED
    text = (f"ordering predicted by the theory (clipped {', '.join(clipped)} above unclipped "
            f"{', '.join(unclipped)}, each pair by more than {Z_ORDER:g} standard errors): "
            f"{verdict}" + (f"; failing: {'; '.join(failing)}" if failing else "")
            + ("" if pairs else "; no pair to compare"))
    return {"predicted": "clipped above unclipped", "clipped": clipped, "unclipped": unclipped,
            "z_order": Z_ORDER, "pairs": pairs, "verdict": verdict, "text": text}
