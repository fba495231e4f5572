"""Training verdicts relative to a baseline run of the same size (torch-free).

[P24] judge sparse networks against the dense ReLU (``tau = 0``) on its own edge of chaos,
``sigma_w^2 = 2, sigma_b^2 = 0``, at the same depth, width, optimiser and steps (their
DNN table: ReLU 0.94 on MNIST at depth 100, width 300).  A point's verdict, over its seeds:

* ``failed``: more than half of its runs failed, a run failing when its training loss
  was not finite at every logged step (diverged) or its final test accuracy gained less
  than a quarter of the baseline's gain over chance (``1 / n_classes``), or, without a
  trained baseline, is within ``chance_margin`` of chance (:func:`sparsefield.empirical.verdicts.failed`);
* ``within``: mean test accuracy at least the baseline's minus ``within`` (2 points);
* ``degraded``: otherwise.

The mean counts a diverged run at chance accuracy, so one failed seed of two shows as a
loss of accuracy, not as nothing.  Without a baseline that trained, the verdict is
``trains`` or ``failed`` (``baseline_ok`` false).
"""

from __future__ import annotations

import math

from ..store import DATA, FINITE, TEST_ACC, final, section
from ..verdicts import CHANCE_MARGIN, WITHIN, failed
from .stats import mean_sem

# the EoC of ReLU is sigma_w^2 = 2, sigma_b^2 = 0 at every q*; q* = 1 with standardised
# inputs makes it the He initialisation
BASELINE = {"activation": "relu", "init": "eoc", "q_star": 1.0}
TEXT = {"within": "within {points:g} points of {ref}", "degraded": "degraded",
        "failed": "failed", "trains": "trains (no baseline)", "baseline": "baseline"}


def run_outcome(rec: dict, chance_margin: float = CHANCE_MARGIN,
                baseline_acc: float | None = None) -> dict:
    """``diverged``, ``at_chance``, ``failed`` (against ``baseline_acc``, the baseline's mean
    accuracy, when given) and ``acc`` (chance when diverged or missing) of one stored run."""
    diverged = not final(rec, FINITE)  # a non-finite logged training loss
    chance = 1.0 / section(rec, DATA)["n_classes"]
    acc = final(rec, TEST_ACC)
    if diverged or acc is None or not math.isfinite(acc):
        acc = chance
    at_chance = acc <= chance + chance_margin
    fail = bool(at_chance) if baseline_acc is None else failed(acc, chance, baseline_acc)
    return {"diverged": diverged, "at_chance": bool(at_chance),
            "failed": bool(diverged or fail), "acc": float(acc), "chance": chance}


def verdict(records: list[dict], baseline: dict | None, within: float = WITHIN,
            chance_margin: float = CHANCE_MARGIN, ref: str = "ReLU") -> dict:
    """The verdict of one point's runs (``records``, one per seed) against ``baseline`` (a
    :func:`verdict` of the baseline's runs, or ``None``; ``ref`` names it), with its
    numbers."""
    base_ok = bool(baseline) and baseline["verdict"] != "failed"
    base_acc = baseline["acc"]["mean"] if base_ok else None
    outs = [run_outcome(r, chance_margin, base_acc) for r in records]
    acc = mean_sem([o["acc"] for o in outs])
    n, n_failed = len(outs), sum(o["failed"] for o in outs)
    if 2 * n_failed > n:
        code = "failed"
    elif not base_ok:
        code = "trains"
    else:
        code = "within" if acc["mean"] >= baseline["acc"]["mean"] - within else "degraded"
    gap = acc["mean"] - baseline["acc"]["mean"] if baseline else None
    out = {"verdict": code, "acc": acc, "seeds": n, "failed": n_failed,
           "diverged": sum(o["diverged"] for o in outs),
           "at_chance": sum(o["at_chance"] for o in outs),
           "chance": outs[0]["chance"] if outs else None,
           "baseline_acc": baseline["acc"]["mean"] if baseline else None, "gap": gap,
           "baseline_ok": base_ok, "within": within, "ref": ref}
    out["text"] = describe(out)
    return out


def describe(v: dict) -> str:
    """One line: the verdict and its numbers, e.g. ``within 2 points of ReLU (0.912 +- 0.004
    vs ReLU 0.925; 0/2 failed)``."""
    word = TEXT[v["verdict"]].format(points=100 * v["within"], ref=v["ref"])
    acc = v["acc"]
    num = f"{acc['mean']:.3f}" + (f" +- {acc['sem']:.2g}" if math.isfinite(acc["sem"]) else "")
    if v.get("baseline_acc") is not None and v["verdict"] != "baseline":
        num += f" vs {v['ref']} {v['baseline_acc']:.3f}"
    tail = f"{v['failed']}/{v['seeds']} failed"
    if v["diverged"]:
        tail += f", {v['diverged']} diverged"
    return f"{word} ({num}; {tail})"


def baseline_verdict(records: list[dict], chance_margin: float = CHANCE_MARGIN) -> dict:
    """The baseline's own verdict: ``baseline`` when it trained, else ``failed``."""
    v = verdict(records, None, chance_margin=chance_margin)
    v["verdict"] = "failed" if v["verdict"] == "failed" else "baseline"
    v["text"] = describe(v)
    return v
