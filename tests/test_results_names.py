"""Stored results have one owner: every metric key, summary key and stored path is spelled
in :mod:`sparsefield.results.names` only (docs/theory.md section 7); the engine reads them
through :mod:`sparsefield.empirical.store`, which re-exports them."""

import ast
from pathlib import Path

import pytest

from sparsefield.empirical import store
from sparsefield.results import names as owner

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("theory", "numerics", "empirical", "figures", "sparsefield")
# theory imports nothing of ours, so an output key of its own that a stored table copies is
# spelled there too: the key, and the theory module that owns it
THEORY_OWNED = {"vprime_target": "theory/curves.py", "bifurcation_m": "theory/clip_width.py"}


def owned_names() -> set[str]:
    """The owner's distinctive spellings: its string constants holding ``_`` or ``.``
    (metric keys, file names; bare words such as ``q`` or ``train`` are too common to
    scan for), the GPT layer keys and the paper-size table stems."""
    out = {v for k, v in vars(owner).items()
           if k.isupper() and isinstance(v, str) and ("_" in v or "." in v)}
    return out | set(owner.GPT_LAYER_KEYS) | set(owner.PAPER_TABLES.values())


def stray_names(source: str, names: set[str]) -> list[tuple[int, str]]:
    """``(line, literal)`` of every string literal in ``source`` equal to one of ``names``
    (f-string pieces included; a docstring never equals a bare name)."""
    return [(node.lineno, node.value) for node in ast.walk(ast.parse(source))
            if isinstance(node, ast.Constant) and isinstance(node.value, str)
            and node.value in names]


def test_the_scan_catches_a_planted_literal():
    names = owned_names()
    planted = 'def f(rec):\n    """test_zero_frac in prose is fine."""\n' \
              '    return rec["metrics"]["eval"]["test_zero_frac"], f"{rec}_sem"\n'
    assert stray_names(planted, names) == [(3, "test_zero_frac")]
    assert stray_names('x = "sweep.json"\ny = "summary.csv"', names) == [
        (1, "sweep.json"), (2, "summary.csv")]
    assert stray_names("from m import TEST_ZERO_FRAC as z\nz[0]", names) == []


def test_the_scan_covers_summary_part_and_sweep_row_keys():
    """A summary key, a report-part key or a sweep-row column spelled as a literal in a
    second module is found (f-string pieces included)."""
    names = owned_names()
    assert set(owner.SWEEP_ROW_KEYS) | set(owner.PAPER_TABLE_KEYS) | set(owner.PART_KEYS) \
        | {owner.AT_TARGET_INIT, owner.POINT_ROWS, owner.PART_GAUSSIAN_MC} <= names
    planted = ('row = {"zero_final": 1.0, "label": "x"}\n'
               'print(f"{s[\'max_abs_z\']:.2f}", rec.get("point_rows"))\n'
               'summary["at_target_init"] += 1\npart = res.part("numerics", "gaussian_mc")\n')
    assert sorted(stray_names(planted, names)) == [(1, "zero_final"), (2, "max_abs_z"),
                                                   (2, "point_rows"), (3, "at_target_init"),
                                                   (4, "gaussian_mc")]
    assert owner.sem_key(owner.ZERO_FINAL) == "zero_final_sem"
    assert owner.seeds_key(owner.TEST_ACC) == "test_acc_seeds"


def test_the_owner_holds_the_names_the_engine_writes():
    names = owned_names()
    assert {"test_acc", "test_loss", "train_acc", "train_loss", "test_zero_frac", "test_q",
            "init_test_zero_frac", "loss_steps", "loss_spikes", "out_colmean_dev",
            "test_dead_frac", "val_loss", "up_dw_proj", "summary.json", "sweep.json",
            "summary.csv", "points.csv", "p24_depth100",
            "predicted_at_target", "agrees_init", "verdict_text"} <= names  # summary keys
    assert store.metric(store.TEST, store.ZERO_FRAC) == store.TEST_ZERO_FRAC


def test_no_module_outside_the_owner_spells_a_result_name():
    names, owner_file = owned_names(), Path(owner.__file__).resolve()
    bad = []
    for pkg in PACKAGES:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            if path.resolve() == owner_file:
                continue
            rel = path.relative_to(ROOT).as_posix()
            bad += [f"{rel}:{line}: {value!r}"
                    for line, value in stray_names(path.read_text(encoding="utf-8"), names)
                    if THEORY_OWNED.get(value) != rel]
    assert not bad, "spell these through sparsefield.results.names: " + ", ".join(bad)


@pytest.mark.parametrize("figures, paths", [
    (["a b/tradeoff.png", "c.pdf"], ["a b/tradeoff.png", "c.pdf"]),  # a path with a space
    ("x/tradeoff.png x/tradeoff.pdf", ["x/tradeoff.png", "x/tradeoff.pdf"]),  # before: a string
    ("", []), ([], [])])
def test_sweep_figures_read_as_a_list(figures, paths):
    assert store.figure_paths({"figures": figures}) == paths
    assert store.figure_paths({"figures": store.figure_list(paths)}) == paths


def test_catalogue_lists_keep_the_experiments_defaults():
    from sparsefield.empirical.experiments import clipping, drift

    assert drift.default_activations() == ["relu", "gelu", "silu", "relu2", "tanh", "identity",
                                           "abs"]
    labels = [label for label, _ in clipping.points(clipping.Config(depth=3, width=8))]
    assert labels[-3:] == ["relu_tau", "st", clipping.BASELINE_LABEL]


def test_gpt_claims_are_verdicts_of_summarise():
    """Every claim the report shows is a verdict key :func:`summarise` can produce."""
    import inspect

    from sparsefield.empirical import gpt_experiment

    src = inspect.getsource(gpt_experiment.summarise)
    written = {node.slice.value for node in ast.walk(ast.parse(src.strip()))
               if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name)
               and node.value.id == "verdicts" and isinstance(node.ctx, ast.Store)}
    assert set(gpt_experiment.CLAIMS) <= written
    assert written - set(gpt_experiment.CLAIMS) == {"order", "clip_active"}
