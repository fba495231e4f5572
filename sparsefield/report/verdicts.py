"""Theory against measurement, row by row, from the stored parts and summaries alone.

Each row is a :class:`Check`: what is checked, the stored theory value and measurement, the
standard error and z-score, whether it agrees (``None``: informative, never counted) and
where it comes from.  The thresholds and the papers' numbers are those of
:mod:`sparsefield.empirical.verdicts` (one owner, with sources); a Monte Carlo estimate
agrees when ``|z| < Z_BOUND`` (:mod:`sparsefield.numerics.stats`).
"""

from __future__ import annotations

import math

from sparsefield.empirical import verdicts as V
from sparsefield.empirical.experiments.clipping import BASELINE_LABEL
from sparsefield.empirical.gpt_experiment import CLAIMS
from sparsefield.figures.results import Results
from sparsefield.numerics.stats import Z_BOUND
from sparsefield.results.names import (
    AGREES_INIT,
    AT_TARGET_FINAL,
    AT_TARGET_INIT,
    PART_GAUSSIAN_MC,
    PREDICTED_AT_TARGET,
    TARGET_SPARSITY,
    VAL_LOSS,
    VERDICT_TEXT,
    ZERO_INIT,
)
from sparsefield.results.records import Check

Z_OK = Z_BOUND  # |z| below which a Monte Carlo estimate agrees with the theory


def verification_rows(res: Results) -> list[Check]:
    """Every row: Monte Carlo, finite-width networks, the matrix's finite-width rows and the
    experiments."""
    rows: list[Check] = []
    mc = res.part("numerics", PART_GAUSSIAN_MC)
    if mc:
        rows += [Check(**c) for c in mc["checks"]]
        zs = [abs(z) for p in mc["points"] for z in p.get("z", ())]
        if zs:
            zmax = max(zs)
            rows.append(Check(f"V(q) at {len(zs)} points of the variance maps", None, None,
                              None, zmax, zmax < Z_OK, "Gaussian MC (max |z|)"))
    rows += depth_rows(res.part("numerics", "depth"))
    check = res.part("numerics", "check")
    rows += [Check.of_row(r) for r in (check or {}).get("rows", [])
             if r["method"] == "finite width" and r["z"] is None]
    rows += experiment_rows(res)
    return rows


def depth_rows(depth: dict | None) -> list[Check]:
    """``q^L / q*`` of finite-width networks: a stable ``q*`` stays (within
    ``STAYS_WITHIN``), an unstable one explodes (above ``EXPLODES_ABOVE``)."""
    rows = []
    for p in (depth or {}).get("curves", []):
        final = sorted(p["final"])
        med = float(final[len(final) // 2] if len(final) % 2 else
                    (final[len(final) // 2 - 1] + final[len(final) // 2]) / 2)
        stable = p.get("m") is not None
        ok = abs(med - 1.0) < V.STAYS_WITHIN if stable else med > V.EXPLODES_ABOVE
        rows.append(Check(f"q^L / q* at depth {depth['depth']}, {p['activation']} (width "
                          f"{depth['width']}, median of {depth['n_networks']})",
                          p["theory"][-1], med, None, None, ok,
                          "finite-width networks: " + ("stays at q*" if stable else
                                                       "explodes (V''>0) as predicted")))
    return rows


def experiment_rows(res: Results) -> list[Check]:
    return (drift_rows(res.summary("drift")) + clipping_rows(res.summary("clipping"))
            + tradeoff_rows(res.summary("tradeoff")) + gpt_rows(res.summary("gpt")))


def drift_rows(drift: dict | None) -> list[Check]:
    if not drift:
        return []
    everything = list(drift["rows"].values())
    random = [r for r in everything if r["dataset"] == "random"]
    real = [r for r in everything if r["dataset"] != "random"]
    rows = []
    for what, rs, key, counted in (
            ("drift sign of the initial hidden-bias gradient (Stein), all data", everything,
             AGREES_INIT, True),
            ("drift sign of hidden biases after training, random data", random, "agrees", True),
            ("drift sign of hidden biases after training, real data", real, "agrees", False)):
        if rs:
            k = sum(r[key] for r in rs)
            rows.append(Check(f"{what} ({len(rs)} activation x data)", None,
                              f"{k}/{len(rs)} agree", None, None,
                              (k == len(rs)) if counted else None,
                              "empirical drift (sign by |z| over seeds)" + (
                                  "" if counted else
                                  "; the learning signal may reverse it, informative")))
    return rows


def clipping_rows(clip: dict | None) -> list[Check]:
    if not clip:
        return []
    rows = []
    for label, r in clip["rows"].items():
        if r.get(PREDICTED_AT_TARGET, False) is None:
            continue  # the dense baseline has no target sparsity
        # Leaving the target is a deep-network effect (tens of layers at width 300,
        # checked by the finite-width rows above); a shallow run cannot refute it.
        stays = r[PREDICTED_AT_TARGET]
        rows.append(Check(f"sparsity over depth at initialisation "
                          f"{'stays at' if stays else 'may leave'} the target (theory), {label}",
                          clip[TARGET_SPARSITY], r[ZERO_INIT]["mean"],
                          r[ZERO_INIT]["sem"], None, r[AGREES_INIT] if stays else None,
                          f"empirical clipping: within {clip['tolerance']:g} of the target in "
                          f"{r[AT_TARGET_INIT]}/{r['seeds']} seeds at initialisation, "
                          f"{r[AT_TARGET_FINAL]}/{r['seeds']} after training"))
    return rows + training_rows(clip)


def expected(label: str, r: dict, target: float) -> str:
    """What [P24] report for a clipping point like this one (at depth 100)."""
    if label == BASELINE_LABEL:
        return V.P24_EXPECTS["baseline"]
    if r["m"] is None:
        return V.P24_EXPECTS["unclipped"]
    if not r[PREDICTED_AT_TARGET]:
        return V.P24_EXPECTS["beyond"]
    known = r["activation"] == "crelu" and math.isclose(target, 0.85) and r["vprime"] is not None
    return next((v for k, v in V.P24_CRELU_85.items()
                 if known and math.isclose(r["vprime"], k, abs_tol=1e-6)),
                V.P24_EXPECTS["clipped"])


def training_rows(clip: dict) -> list[Check]:
    """One row per clipping point: its verdict against the dense ReLU baseline, next to what
    [P24] report only when the runs have [P24]'s depth (informative); then, when the summary
    holds it, the verdict on the ordering the theory predicts (counted)."""
    setup = clip.get("setup") or {}
    paper_depth = setup.get("depth") == V.P24_DEPTH
    size = ", ".join(f"{k} {setup[k]}" for k in ("depth", "width", "steps", "optimizer", "lr")
                     if k in setup)
    rows = [Check(f"training vs the dense ReLU baseline, {label}" + (f" ({size})" if size else ""),
                  None, r[VERDICT_TEXT], None, None, None, "empirical clipping" + (
                      f"; [P24] at depth {V.P24_DEPTH}: "
                      + expected(label, r, clip[TARGET_SPARSITY]) if paper_depth else ""))
            for label, r in clip["rows"].items() if "verdict" in r]
    order = clip.get("ordering")
    if order:  # the theory's predicted ordering, observed or not
        rows.append(Check("ordering predicted by the theory" + (f" ({size})" if size else ""),
                          order["predicted"], order["text"], None, None,
                          order["verdict"] == "observed",
                          "empirical clipping: difference of seed means per pair"))
    return rows


def tradeoff_rows(trade: dict | None) -> list[Check]:
    if not trade:
        return []
    rows = []
    if trade.get("baseline"):
        rows.append(Check("trade-off: the unforced ReLU network trains", None,
                          trade["baseline"]["text"], None, None, None,
                          "empirical tradeoff: the reference of its cliff and verdicts; "
                          "informative only"))
    for force, s in (trade.get("cliffs") or {}).items():
        rows.append(Check(f"accuracy cliff ({force})", V.BF2_CLIFF, s, None, None, None,
                          f"[BF2] report ~{V.BF2_CLIFF:.0%}; informative only"))
    return rows


def gpt_rows(gpt: dict | None) -> list[Check]:
    if not gpt:
        return []
    verdicts, size = gpt["verdicts"], gpt["config"]["size"]
    rows = [Check(f"GPT ({size} size): {claim}", None,
                  "confirmed" if verdicts[key] else "not confirmed", None, None, None,
                  "empirical gpt; a paper's claim, informative only")
            for key, claim in CLAIMS.items() if key in verdicts]
    rows.append(Check(f"GPT ({size} size): validation loss, best first", None,
                      ", ".join(f"{k} {gpt['rows'][k][VAL_LOSS]:.3f}" for k in verdicts["order"]),
                      None, None, None, "[BF2] found GELU^2 best"))
    return rows


def training_headline(res: Results) -> dict:
    """The baselines' accuracies and the clipping verdicts counted: ``{"baselines": [(what,
    acc, depth, failed)], "counts": {verdict: n}, "within": points, "ordering": verdict}``."""
    clip, trade = res.summary("clipping") or {}, res.summary("tradeoff") or {}
    bases = []
    for what, summ in (("clipping", clip), ("trade-off", trade)):
        base = summ.get("baseline")
        if base:
            bases.append((what, base["acc"]["mean"], (summ.get("setup") or {}).get("depth"),
                          base["verdict"] == "failed"))
    counts: dict[str, int] = {}
    for r in (clip.get("rows") or {}).values():
        if r.get("verdict") and r["verdict"] != "baseline":
            counts[r["verdict"]] = counts.get(r["verdict"], 0) + 1
    return {"baselines": bases, "counts": dict(sorted(counts.items())),
            "within": 100 * clip.get("within", V.WITHIN),
            "ordering": (clip.get("ordering") or {}).get("verdict")}
