"""Every threshold a verdict uses, and every paper number shown next to one, with its source
(torch-free constants and two small functions; the report, the training summaries and
:mod:`sparsefield.paper_results` read them from here).

Training (relative to the baseline of the same size, [P24]'s dense ReLU on its edge of
chaos): a run *fails* when its loss diverged or its accuracy gained less than
:data:`FAIL_FRACTION` of what the baseline gained over chance,
``acc - chance < FAIL_FRACTION (baseline - chance)`` (a run at a quarter of the baseline's
gain learnt next to nothing); without a baseline that trained, the absolute floor
``acc <= chance + CHANCE_MARGIN`` decides.  A point is *within* when its mean accuracy is at
least the baseline's minus :data:`WITHIN`, else *degraded*.

Finite-width networks (the report's depth part, docs/theory.md section 3): a stable ``q*``
holds when the median ``q^L / q*`` is within :data:`STAYS_WITHIN` of 1; an unstable one
(``V'(q*) = 1``, ``V''(q*) > 0``) is seen to explode when it exceeds :data:`EXPLODES_ABOVE`.
"""

from __future__ import annotations

import math

# --- training verdicts ---------------------------------------------------------------------
WITHIN = 0.02         # accuracy (absolute) below the baseline still counted as "within"
CHANCE_MARGIN = 0.05  # without a trained baseline: at most chance + this is "at chance"
FAIL_FRACTION = 0.25  # below this fraction of the baseline's gain over chance: "failed"
CHANCE_10 = 0.1       # ten balanced classes (MNIST, Fashion-MNIST)
TRAINABLE = 0.5       # the phase diagram (width_results): a cell "trains" at this test accuracy

# --- finite-width q^L / q* over depth --------------------------------------------------------
STAYS_WITHIN = 0.5    # |median q^L/q* - 1| below this: the stable fixed point holds
EXPLODES_ABOVE = 2.0  # median q^L/q* above this: the unstable q* was left upwards

# --- the papers' numbers --------------------------------------------------------------------
# [P24] (Price et al. 2024, DNN table and figure: MNIST, depth 100, width 300, 85% sparsity);
# (mean test accuracy, s.d. over seeds or None); keyed by the sweep label of the point
P24_ACC = {"relu": (0.94, None), "crelu_sparsity=0.85_vprime=0.5": (0.78, None),
           "crelu_sparsity=0.85_vprime=0.9": (0.28, 0.37)}
P24_FAILS = ("relu_tau_sparsity=0.85", "st_sparsity=0.85")  # "fails to train" in [P24]
P24_BEST_CLIP = 0.93  # [P24]: the best clipped CReLU at 85%
P24_DEPTH = 100       # [P24]'s depth: their numbers are shown only next to runs this deep
# the same numbers as the report's one-line expectations per clipping point
P24_EXPECTS = {"baseline": "the reference (ReLU 0.94 in [P24])",
               "clipped": f"trains in [P24] (best clip about {P24_BEST_CLIP})",
               "beyond": "beyond the bifurcation: unstable by [P24]'s theory",
               "unclipped": "fails to train in [P24]"}
P24_CRELU_85 = {0.5: "0.78 in [P24] (m = 0.81)", 0.9: "0.28 +- 0.37 in [P24] (m = 1.74)"}
BF2_CLIFF = 0.7       # [BF2]: the accuracy cliff of forced sparsity near 70%


def failed(acc: float, chance: float, baseline: float | None, diverged: bool = False) -> bool:
    """Whether one run (or a point's mean) failed: diverged, not finite, or below
    :data:`FAIL_FRACTION` of the baseline's gain over chance (the absolute
    :data:`CHANCE_MARGIN` when no baseline above chance exists)."""
    if diverged or acc is None or not math.isfinite(acc):
        return True
    if baseline is not None and math.isfinite(baseline) and baseline > chance + CHANCE_MARGIN:
        return acc - chance < FAIL_FRACTION * (baseline - chance)
    return acc <= chance + CHANCE_MARGIN


def training_verdict(acc: float, chance: float, baseline: float | None,
                     diverged: bool = False) -> str:
    """``failed``, ``within`` (at least ``baseline - WITHIN``) or ``degraded``; ``trains``
    when there is no baseline."""
    if failed(acc, chance, baseline, diverged):
        return "failed"
    if baseline is None:
        return "trains"
    return "within" if acc >= baseline - WITHIN else "degraded"
