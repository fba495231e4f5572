"""Every name in the stored results, spelled once (docs/theory.md section 7): the keys of a
run record's ``metrics`` (``metric("test", ZERO_FRAC)`` is ``test_zero_frac``), the GPT
per-layer keys, the keys of experiment summaries, of report parts and of sweep CSVs, and
every stored path (record files, ``summary.json``, checkpoints, report parts, sweep folders,
the paper-size tables).  Every other module asks this one (``tests/test_results_names.py``
scans the sources for stray spellings).

Layout under a results root::

    <experiment>/<label>__<key>__seed<seed>.json   one run record (results.io.ResultStore)
    <experiment>/summary.json                       the experiment's verdicts
    <experiment>/checkpoints/<key>.pt               a run in progress
    <experiment>/sweep-<size>/sweep.json            a sweep's record; summary.csv, points.csv
    theory/<part>.json, numerics/<part>.json        report parts (results.io.write_part)

Plain data and string functions: no imports of ours, no numpy at import time.
"""

from __future__ import annotations

import re
from pathlib import Path

# --- names: the keys of a record's ``metrics`` ---------------------------------------------
# sections of ``metrics`` (an MLP record: train / eval histories, final, init, member, data, run)
TRAIN, EVAL, FINAL, INIT, MEMBER, DATA, RUN, MODEL = (
    "train", "eval", "final", "init", "member", "data", "run", "model")
TEST = "test"  # the evaluation splits are TEST and TRAIN
STEP = "step"  # the logged step of every history
# per-layer statistics of an evaluation pass (prefixed by the split) and of training
ACC, LOSS = "acc", "loss"
ZERO_FRAC, SOFT_FRAC, Q = "zero_frac", "soft_frac", "q"
NZ_SAMPLE_MEAN, NZ_SAMPLE_STD, NZ_SAMPLE_MIN = "nz_sample_mean", "nz_sample_std", "nz_sample_min"
ACT_MAX, DEAD_FRAC = "act_max", "dead_frac"
# parameter statistics, per layer, and the training loss of every step
W_MEAN, W_NEG, B_MEAN, W_PROJ = "w_mean", "w_neg", "b_mean", "w_proj"
OUT_COLMEAN_DEV, GRAD_NORM, LOSS_STEPS = "out_colmean_dev", "grad_norm", "loss_steps"
# gradients at initialisation (section INIT)
B_GRAD_MEAN, W_GRAD_MEAN, CE_HESS_TRACE = "b_grad_mean", "w_grad_mean", "ce_hess_trace"


def metric(split: str, stat: str) -> str:
    """The key of statistic ``stat`` evaluated on ``split``: ``metric("test", "q")`` is
    ``test_q`` (also the training-time statistics: ``metric(TRAIN, ZERO_FRAC)``)."""
    return f"{split}_{stat}"


TEST_ACC, TEST_LOSS = metric(TEST, ACC), metric(TEST, LOSS)
TRAIN_ACC, TRAIN_LOSS = metric(TRAIN, ACC), metric(TRAIN, LOSS)
TEST_ZERO_FRAC, TRAIN_ZERO_FRAC = metric(TEST, ZERO_FRAC), metric(TRAIN, ZERO_FRAC)
TEST_Q, TEST_DEAD_FRAC = metric(TEST, Q), metric(TEST, DEAD_FRAC)
TEST_ACT_MAX = metric(TEST, ACT_MAX)
# section FINAL: the headline numbers of a run
FINITE, LOSS_SPIKES = "finite", "loss_spikes"
INIT_TEST_ZERO_FRAC = metric(INIT, TEST_ZERO_FRAC)

# training diagnostics (empirical/diagnostics.py; docs/theory.md section 4.9), MLPs only.
# Section EVAL, per evaluation: per-layer typical log back-prop gain (layers - 1 rows),
# 1 - correlation of input pairs (layers rows), linear-window fraction P(phi' != 0)
# (layers rows), logit spread across inputs (one row), relative update |dW|/|W| of the
# evaluation step (layers + 1 rows).  Section INIT: the input-output Jacobian's numerical
# rank and effective rank, and each pair's layer-1 correlation (seeds the prediction).
DIAG_LOG_GAIN, DIAG_CORR_GAP = "diag_log_gain", "diag_corr_gap"
DIAG_ACTIVE_FRAC = "diag_active_frac"
DIAG_LOGIT_SPREAD, DIAG_REL_UPDATE = "diag_logit_spread", "diag_rel_update"
JAC_RANK, JAC_ERANK, DIAG_PAIR_RHO1 = "jac_rank", "jac_erank", "diag_pair_rho1"
# section PREDICTED of a record: what the theory expects of these, each with its width
PREDICTED = "predicted"
PRED_LOG_GAIN, PRED_LOG_GAIN_SD = "pred_log_gain_per_layer", "pred_log_gain_sd_per_layer"
PRED_LOG_GAIN_TOTAL, PRED_LOG_GAIN_TOTAL_SD = "pred_log_gain_total", "pred_log_gain_total_sd"
PRED_ACTIVE_FRAC, PRED_CORR_GAP, PRED_LOGIT_SPREAD = ("pred_active_fraction", "pred_corr_gap",
                                                      "pred_logit_spread")
PRED_WIDTH, MEAN_FIELD_WIDTH = "width", "infinite (mean field)"
PRED_FINITE_WIDTH, PRED_MEAN_FIELD = "pred_finite_width", "pred_mean_field"  # its two parts

# the GPT experiment: history keys (section EVAL), per MLP layer, and FINAL
VAL_LOSS, TOPK_VAL_LOSS, TOKENS, TIME_S, LR = "val_loss", "topk_val_loss", "tokens", "time_s", "lr"
ZERO_SPARSITY, SOFT_SPARSITY, NONZERO = "zero_sparsity", "soft_sparsity", "nonzero"
SEQ_USAGE, BATCH_USAGE, DEAD, MAX_ACT = "seq_usage", "batch_usage", "dead", "max_act"
UP, DOWN = "up", "down"  # the MLP projections
DW_MEAN, DW_PROJ = "dw_mean", "dw_proj"


def projection(proj: str, stat: str) -> str:
    """Key of a drift statistic of one MLP projection: ``projection(UP, W_MEAN)`` is
    ``up_w_mean``."""
    return f"{proj}_{stat}"


GPT_LAYER_KEYS = (ZERO_SPARSITY, SOFT_SPARSITY, NONZERO, SEQ_USAGE, BATCH_USAGE, DEAD, MAX_ACT,
                  *(projection(UP, k) for k in (W_MEAN, DW_MEAN, DW_PROJ, B_MEAN)),
                  *(projection(DOWN, k) for k in (W_MEAN, DW_MEAN, DW_PROJ)))


def topk_key(frac: float) -> str:
    """History key of the validation loss under per-token top-k keeping ``frac``."""
    return f"topk_{frac:g}"


def section(record: dict, name: str) -> dict:
    """``record["metrics"][name]`` (``{}`` when the record has no such section)."""
    return record["metrics"].get(name, {})


def series(record: dict, name: str, key: str):
    """``metrics[name][key]`` as a float array (``null`` -> ``nan``)."""
    import numpy as np

    return np.asarray(record["metrics"][name][key], dtype=float)


def final(record: dict, key: str):
    """A headline number of a run: ``metrics["final"][key]`` (``None`` when absent)."""
    return record["metrics"][FINAL].get(key)


# the GPT model sizes, smallest first (a record's ``config["size"]``; their shapes are
# sparsefield.empirical.gpt_config.SIZES)
GPT_SIZES = ("ci", "cpu", "gpu")


# --- names: keys of an experiment's summary rows (summary.json, read by the report) -------
PREDICTED_AT_TARGET = "predicted_at_target"  # mean field: sparsity stays at the target
AGREES_INIT = "agrees_init"                  # the observation at initialisation agrees
VERDICT_TEXT = "verdict_text"                # the training verdict in words with its numbers


# --- names: sweep rows (summary.csv per run, points.csv per point; sparsefield.sweep_summary)
# grid values and config fields keep their config names (TrainConfig's fields); these are
# the derived columns.  ``sem_key(k)`` / ``seeds_key(k)``: a column's standard error over
# seeds and its per-seed values.
TARGET_SPARSITY, ACT_TAU, ACT_M = "target_sparsity", "act_tau", "act_m"
THEORY_VPRIME, THEORY_VSECOND = "theory_vprime", "theory_vsecond"
EXTRA_FIXED_POINTS = "extra_fixed_points"  # also the member section's key (empirical.init)
ZERO_INIT, ZERO_FINAL, ZERO_FINAL_LAST_LAYER = "zero_init", "zero_final", "zero_final_last_layer"
ZERO_TRAJ_MIN, ZERO_TRAJ_MAX, DEAD_FINAL = "zero_traj_min", "zero_traj_max", "dead_final"
Q_INIT_MAX, Q_FINAL_MAX, ACT_MAX_FINAL = "q_init_max", "q_final_max", "act_max_final"
POINT_ROWS = "point_rows"  # sweep.json: the per-point rows the report shows
SWEEP_ROW_KEYS = (TARGET_SPARSITY, ACT_TAU, ACT_M, THEORY_VPRIME, THEORY_VSECOND,
                  EXTRA_FIXED_POINTS, ZERO_INIT, ZERO_FINAL, ZERO_FINAL_LAST_LAYER, ZERO_TRAJ_MIN,
                  ZERO_TRAJ_MAX, DEAD_FINAL, Q_INIT_MAX, Q_FINAL_MAX, ACT_MAX_FINAL)


def sem_key(column: str) -> str:
    """The column of ``column``'s standard error over seeds: ``test_acc_sem``."""
    return f"{column}_sem"


def seeds_key(column: str) -> str:
    """The column of ``column``'s per-seed values: ``test_acc_seeds``."""
    return f"{column}_seeds"


# the paper-size and width tables (sparsefield.paper_results, sparsefield.width_results)
VPRIME_TARGET, SEEDS_PLANNED, RELU_ACC = "vprime_target", "seeds_planned", "relu_acc"
KINK_K, ELL_C, ONE_MINUS_RHO = "kink_k", "ell_c", "one_minus_rho"
PAPER_ACC, PAPER_SD, PAPER_NOTE, STEPS_NOTE = "paper_acc", "paper_sd", "paper_note", "steps_note"
DEPTH_OVER_ELL_C, M_OVER_SQRT_Q = "depth_over_ell_c", "m_over_sqrt_q"
DEPTH_SCALE_FW, DEPTH_OVER_ELL_N = "depth_scale_fw", "depth_over_ell_n"
PREDICTED_TRAINS, BIFURCATION_M, C_FIT = "predicted_trains", "bifurcation_m", "c_fit"
# the phase diagram's fit (p24_phase_fit.json)
TRAINABLE_AT, FIT_ON, FIT_ERRORS, FIT_CELLS = "trainable_at", "fit_on", "fit_errors", "fit_cells"
TEST_ERRORS, TEST_CELLS = "test_errors", "test_cells"
C_FIT_MEAN_FIELD, TEST_ERRORS_MEAN_FIELD = "c_fit_mean_field", "test_errors_mean_field"
PAPER_TABLE_KEYS = (VPRIME_TARGET, SEEDS_PLANNED, RELU_ACC, KINK_K, ELL_C, ONE_MINUS_RHO,
                    PAPER_ACC, PAPER_SD, PAPER_NOTE, STEPS_NOTE, DEPTH_OVER_ELL_C, M_OVER_SQRT_Q,
                    DEPTH_SCALE_FW, DEPTH_OVER_ELL_N, PREDICTED_TRAINS, BIFURCATION_M, C_FIT)

# the clipping experiment's summary rows (besides PREDICTED_AT_TARGET, AGREES_INIT)
AT_TARGET_INIT, AT_TARGET_FINAL = "at_target_init", "at_target_final"


# --- names: report parts (<group>/<name>.json) and their payload keys ----------------------
PART_DERIVATIONS, PART_VARIANCE_MAPS, PART_VPRIME_CURVES = (
    "derivations", "variance_maps", "vprime_curves")
PART_STABILITY_GRID, PART_BIFURCATION, PART_EOC_CURVES = (
    "stability_grid", "bifurcation", "eoc_curves")
PART_SPARSITY_CURVES, PART_DRIFT_TABLE = "sparsity_curves", "drift_table"
PART_GAUSSIAN_MC, PART_DEPTH, PART_FINITE_SIZE, PART_CHECK = (
    "gaussian_mc", "depth", "finite_size", "check")
ELAPSED_S = "elapsed_s"        # a part record: seconds the run that computed it took
MAX_ABS_Z = "max_abs_z"        # the check part's summary
CURVES = "curves"              # a figure part's per-activation entries (one per subplot)
PART_KEYS = (ELAPSED_S, MAX_ABS_Z)


# --- names: stored paths -------------------------------------------------------------------
SUMMARY_JSON = "summary.json"
CHECKPOINTS = "checkpoints"
PART_GROUPS = ("theory", "numerics")  # report parts: <group>/<name>.json
SWEEP_RECORD, SWEEP_SUMMARY_CSV, SWEEP_POINTS_CSV = "sweep.json", "summary.csv", "points.csv"
# the paper-size tables under docs/results/ (CSV + PNG of each stem), in report order
PAPER_TABLES = {"p24": "p24_depth100", "p24long": "p24_depth100_long",
                "depth": "p24_depth_sweep", "dt26": "dt26_qstar"}


def part_file(group: str, name: str) -> str:
    """A report part's path relative to the results root: ``theory/variance_maps.json``."""
    return f"{group}/{name}.json"


def part_path(root: str | Path, group: str, name: str) -> Path:
    return Path(root) / part_file(group, name)


def sweep_dir(experiment_dir: str | Path, size: str) -> Path:
    """The folder of one sweep size's outputs: ``<experiment>/sweep-<size>``; ``size`` is
    a slug (or the glob ``*``), never a path."""
    if not re.fullmatch(r"\*|[A-Za-z0-9][A-Za-z0-9_-]{0,63}", str(size)):
        raise ValueError(f"sweep size {size!r} is not a slug")
    return Path(experiment_dir) / f"sweep-{size}"


def sweep_records(root: str | Path) -> list[Path]:
    """Every ``sweep.json`` under a results root, sorted."""
    return sorted(Path(root).glob(f"*/{sweep_dir('', '*')}/{SWEEP_RECORD}"))


def figure_list(paths) -> list[str]:
    """The ``figures`` entry of a sweep's ``outputs`` as written: a JSON list of paths."""
    return [str(p) for p in paths]


def figure_paths(outputs: dict) -> list[str]:
    """The figure paths of a sweep's ``outputs``: a list, or (records written before) one
    space-separated string."""
    figs = outputs.get("figures") or []
    return figs.split() if isinstance(figs, str) else [str(f) for f in figs]

