"""The clipping experiment's ordering verdict (clipped above unclipped, pairwise z) and the
report's rule that [P24]'s numbers stand only beside runs of [P24]'s depth."""

import math

import pytest

from sparsefield.empirical.experiments.ordering import NOT_OBSERVED, OBSERVED, Z_ORDER, ordering


def _recs(accs, finite=True):
    return [{"metrics": {"final": {"finite": finite, "test_acc": a},
                         "data": {"n_classes": 10}}} for a in accs]


def test_observed_when_every_pair_is_separated_beyond_the_error_bars():
    groups = {"crelu": _recs([0.80, 0.82, 0.81]), "cst": _recs([0.78, 0.79, 0.77]),
              "relu_tau": _recs([0.40, 0.50, 0.45]), "st": _recs([0.10, 0.11, 0.10])}
    out = ordering(groups, ["crelu", "cst"], ["relu_tau", "st"])
    assert out["verdict"] == OBSERVED and len(out["pairs"]) == 4
    pair = next(p for p in out["pairs"] if p["clipped"] == "crelu" and p["unclipped"] == "relu_tau")
    sem = lambda v: (sum((x - sum(v) / 3) ** 2 for x in v) / 2) ** 0.5 / 3 ** 0.5  # noqa: E731
    se = math.hypot(sem([0.80, 0.82, 0.81]), sem([0.40, 0.50, 0.45]))
    assert pair["diff"] == pytest.approx(0.36) and pair["se"] == pytest.approx(se)
    assert pair["z"] == pytest.approx(0.36 / se) and pair["z"] > Z_ORDER
    assert "observed" in out["text"] and "failing" not in out["text"]


@pytest.mark.parametrize("unclipped, state", [
    ([0.86, 0.87, 0.88], "reversed"),            # the depth-10 quick run: ReLU_tau above
    ([0.79, 0.84, 0.80], "within error bars"),   # overlapping
])
def test_not_observed_names_the_failing_pair(unclipped, state):
    groups = {"crelu": _recs([0.83, 0.84, 0.845]), "relu_tau": _recs(unclipped)}
    out = ordering(groups, ["crelu"], ["relu_tau"])
    assert out["verdict"] == NOT_OBSERVED
    assert out["pairs"][0]["state"] == state and f"crelu vs relu_tau: {state}" in out["text"]


def test_a_diverged_run_counts_at_chance_and_one_seed_is_no_error_bar():
    groups = {"crelu": _recs([0.8, 0.8]), "st": _recs([0.9, 0.9], finite=False)}
    out = ordering(groups, ["crelu"], ["st"])
    assert out["pairs"][0]["diff"] == pytest.approx(0.7) and out["verdict"] == OBSERVED
    one = ordering({"crelu": _recs([0.8]), "st": _recs([0.1])}, ["crelu"], ["st"])
    assert one["verdict"] == NOT_OBSERVED and one["pairs"][0]["state"] == "no error bar"
    assert ordering({}, ["crelu"], ["st"])["verdict"] == NOT_OBSERVED


def _clip_summary(depth):
    row = {"verdict": "degraded", "verdict_text": "degraded (0.8)", "m": 0.81, "vprime": 0.5,
           "activation": "crelu", "predicted_at_target": True}
    return {"setup": {"depth": depth, "width": 128}, "target_sparsity": 0.85,
            "rows": {"crelu-vprime0.5": row},
            "ordering": {"predicted": "clipped above unclipped", "verdict": OBSERVED,
                         "text": "ordering predicted by the theory (...): observed"}}


@pytest.mark.parametrize("depth, paper", [(25, False), (100, True)])
def test_paper_numbers_only_beside_runs_of_the_papers_depth(depth, paper):
    from sparsefield.report.verdicts import training_rows

    rows = training_rows(_clip_summary(depth))
    assert any("[P24]" in r.source for r in rows) == paper
    order = [r for r in rows if r.check.startswith("ordering predicted by the theory")]
    assert len(order) == 1 and order[0].ok is True and f"depth {depth}" in order[0].check
