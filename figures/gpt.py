"""Figures of the GPT activation comparison (stored ``gpt`` records, torch-free).

Four subplots from :mod:`sparsefield.empirical.gpt_experiment` records ([BF2], [LN23], [WA24]):
validation loss over training per activation; ReLU exact-zero sparsity per MLP layer over
training; final maximum ``|phi|`` per layer (spikes: ReLU^2 against its clipped form, with
the clip ``c`` marked); per-batch unit usage of the first and last MLP layers over training.
Means over seeds.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sparsefield.results.names import BATCH_USAGE, EVAL, GPT_SIZES, MAX_ACT, STEP, VAL_LOSS, ZERO_SPARSITY
from sparsefield.theory.activations import family

from . import style
from .experiments import group_by

SIZE_ORDER = ("", *GPT_SIZES)  # smallest first; "" for records without a size


def _history(recs: list[dict], key: str) -> tuple[np.ndarray, np.ndarray]:
    """``(steps, mean over seeds)``; per-layer keys give ``(n_eval, n_layer)`` arrays."""
    steps = np.asarray(recs[0]["metrics"][EVAL][STEP], float)
    vals = np.asarray([r["metrics"][EVAL][key] for r in recs], float)
    return steps, np.nanmean(vals, axis=0)


def _name(label: str, recs: list[dict]) -> str:
    cfg = recs[0]["config"]
    params = ", ".join(f"{k}={v:g}" for k, v in cfg["act_params"].items())
    return style.label(cfg["activation"]) + (f" ({params})" if params else "")


def gpt(records: list[dict], out: str | Path, summary: dict | None = None) -> list[Path]:
    """Loss, ReLU sparsity by layer, spikes by layer and unit usage (first vs last layer),
    from the records of the summary's model size (else the largest size stored)."""
    sizes = sorted({r["config"].get("size", "") for r in records}, key=SIZE_ORDER.index)
    size = summary["config"]["size"] if summary and summary["config"]["size"] in sizes else sizes[-1]
    groups = group_by([r for r in records if r["config"].get("size", "") == size],
                     lambda r: r["label"])
    by_loss = sorted(groups, key=lambda k: _history(groups[k], VAL_LOSS)[1][-1])
    fig, ax = style.subplots(1, 4, width=3.3, height=2.8)
    ax_loss, ax_sp, ax_max, ax_use = ax[0]

    for label in by_loss:
        recs = groups[label]
        steps, loss = _history(recs, VAL_LOSS)
        ax_loss.plot(steps, loss, color=style.color(recs[0]["config"]["activation"]),
                     label=f"{_name(label, recs)}: {loss[-1]:.3f}")
    ax_loss.set(xlabel="step", ylabel="validation loss (nats/char)",
                title=f"validation loss ({size} size)" if size else "validation loss")
    lo = min(_history(groups[k], VAL_LOSS)[1][-1] for k in groups)
    ax_loss.set_ylim(lo - 0.1, lo + 1.2)
    fig.legend(*ax_loss.get_legend_handles_labels(), loc="outside lower center",
               ncol=len(groups), title="final validation loss")  # off the curves

    relu = [k for k in groups if groups[k][0]["config"]["activation"] == "relu"]
    if relu:
        steps, sp = _history(groups[relu[0]], ZERO_SPARSITY)
        colors = style.sequential(sp.shape[1])
        for layer in range(sp.shape[1]):
            ax_sp.plot(steps, sp[:, layer], color=colors[layer], label=f"layer {layer}")
        ax_sp.axhline(0.5, color="0.6", lw=0.8, ls=":")
        ax_sp.legend(loc="best")  # the least data under it
    else:
        style.note(ax_sp, "no ReLU run stored")
    ax_sp.set(xlabel="step", ylabel="exact-zero fraction", title="ReLU MLP sparsity by layer")

    for label in by_loss:
        recs = groups[label]
        _, mx = _history(recs, MAX_ACT)
        act = recs[0]["config"]["activation"]
        ax_max.plot(np.arange(mx.shape[1]), mx[-1], marker="o", ms=3,
                    color=style.color(act), label=_name(label, recs))
        if "c" in recs[0]["config"]["act_params"]:
            ax_max.axhline(recs[0]["config"]["act_params"]["c"], color=style.color(act),
                           lw=0.8, ls="--")
    ax_max.set_yscale("log")
    n_layers = max(_history(groups[k], MAX_ACT)[1].shape[1] for k in groups)
    ax_max.set_xticks(range(n_layers))  # integer layers only
    ax_max.set_xlim(-0.3, n_layers - 0.7)
    ax_max.set(xlabel="MLP layer", ylabel="max |phi| (final)",
               title="activation spikes (colours: left)")

    for label in by_loss:
        recs = groups[label]
        if not any(family(recs[0]["config"]["activation"]).zero_pieces):
            continue  # unit usage: activations with exact zeros only
        steps, use = _history(recs, BATCH_USAGE)
        color = style.color(recs[0]["config"]["activation"])
        ax_use.plot(steps, use[:, 0], color=color, label=f"{_name(label, recs)}, first")
        ax_use.plot(steps, use[:, -1], color=color, ls="--")
    ax_use.set(xlabel="step", ylabel="fraction of units used per batch",
               title="unit usage: first (solid)\nvs last (dashed) MLP layer")
    return style.save(fig, out, "gpt")
