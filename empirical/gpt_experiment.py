"""Activation comparison in a small character-level GPT on Shakespeare ([BF2], [LN23], [WA24]).

Each activation (``relu``, ``relu2``, ``crelu2:c=4``, ``gelu``, ``gelu2``, ``silu`` by
default) trains the same model on the same budget and seed (same initial weights apart
from the activation, same batches).  Every ``eval_every`` steps the run records on a fixed
validation set:

* validation loss (and the mean training loss since the last evaluation);
* per MLP layer (one 8192-token batch, [LN23]/[WA24] via :mod:`sparsefield.empirical.token_metrics`):
  exact-zero sparsity, soft sparsity (fraction of negative pre-activations), per-sequence
  and per-batch unit usage, dead units, maximum ``|phi|`` (spikes, docs/theory.md section 4.7);
* weight drift [BF2] of the up and down projections: raw mean of ``W``, mean of
  ``W - W_0``, and the projection ``mean_j (W - W_0)_j . mu/|mu|`` of the change of each
  row on the mean ``mu`` of the layer's input (predicted negative for the up projection
  of ReLU-like activations, docs/theory.md section 4.5); the mean of the up-projection bias;
* at the end, the validation loss under a correct per-token top-k of the MLP activations.

One result JSON per (activation, seed) through :class:`sparsefield.empirical.store.ResultStore`
(experiment ``gpt``); a run in progress is checkpointed at each evaluation and resumes
from there.  :func:`summarise` turns the records into the verdicts on the claims.

The training itself is :mod:`sparsefield.empirical.gpt_train` (torch), imported when a run
starts: this module's top level stays light, as the experiment registry requires.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import ClassVar

from sparsefield.theory.errors import ParameterError

from .gpt_config import SIZES, TRAIN
from .store import (
    DATA,
    EVAL,
    FINAL,
    GPT_LAYER_KEYS,
    MAX_ACT,
    RUN,
    SOFT_SPARSITY,
    TOPK_VAL_LOSS,
    VAL_LOSS,
    ZERO_SPARSITY,
)

NAME = "gpt"
HELP = "activation comparison in a char-level GPT on Shakespeare: loss, sparsity, spikes, drift"

DEFAULT_ACTIVATIONS = ["relu", "relu2", "crelu2:c=4", "gelu", "gelu2", "silu"]

CLIP_REACHED = 0.95  # a peak at >= this fraction of the clip counts as reaching it

LAYER_KEYS = GPT_LAYER_KEYS  # per MLP layer, every evaluation


@dataclass(kw_only=True)
class Config:
    """What ``sparsefield experiment gpt`` runs; ``None`` takes the size's value."""

    # activation specs with parameters ("crelu:tau=0.5"), checked by parse_activation
    FREE_FIELDS: ClassVar[tuple[str, ...]] = ("activations",)

    size: str = "cpu"
    activations: list[str] = field(default_factory=lambda: list(DEFAULT_ACTIVATIONS))
    seeds: list[int] = field(default_factory=lambda: [0])
    data: str = "auto"  # auto = shakespeare (bundled) | generated (see empirical.text_data)
    steps: int | None = None
    eval_every: int | None = None
    topk: list[float] = field(default_factory=lambda: [0.1, 0.05])  # kept fraction per token


def parse_activation(spec: str) -> tuple[str, dict[str, float]]:
    """``"crelu2:c=4"`` -> ``("crelu2", {"c": 4.0})``, validated by the catalogue."""
    # sympy only when a spec is parsed: the CLI imports this module for its parser
    from sparsefield.theory.activations import get

    name, _, rest = spec.partition(":")
    params: dict[str, float] = {}
    for item in filter(None, rest.split(",")):
        key, eq, value = item.partition("=")
        try:
            params[key.strip()] = float(value)
        except ValueError:
            raise ParameterError("activation", spec, "NAME or NAME:p=v[,q=w] (e.g. crelu2:c=4)") from None
        if not eq:
            raise ParameterError("activation", spec, "NAME or NAME:p=v[,q=w] (e.g. crelu2:c=4)")
    act = get(name.strip(), **params)
    return act.name, act.params


def points(cfg: Config) -> list[tuple[str, dict]]:
    """``(label, config point)`` per activation: everything that determines a run but the seed."""
    if cfg.size not in SIZES:
        raise ParameterError("size", cfg.size, f"one of {sorted(SIZES)}")
    base = {**SIZES[cfg.size], **TRAIN, "size": cfg.size, "data": cfg.data,
            "topk": [float(k) for k in cfg.topk]}
    for key in ("steps", "eval_every"):
        if getattr(cfg, key) is not None:
            base[key] = int(getattr(cfg, key))
    if base["steps"] < 1 or base["eval_every"] < 1:
        raise ParameterError("steps/eval_every", (base["steps"], base["eval_every"]), "integers >= 1")
    if any(not 0.0 < k <= 1.0 for k in base["topk"]):
        raise ParameterError("topk", cfg.topk, "fractions in (0, 1]")
    out = []
    for spec in cfg.activations:
        name, params = parse_activation(spec)
        label = name + "".join(f"-{k}={v:g}" for k, v in params.items())
        out.append((label, {**base, "activation": name, "act_params": params}))
    return out


# --- running and summarising ----------------------------------------------------------------
def run(cfg: Config, opts, stop_after: int | None = None) -> dict:
    """Registry entry point (``opts``: :class:`sparsefield.empirical.config.RunOptions`):
    the shared runner (:func:`sparsefield.empirical.runner.run_experiment`) with the GPT
    trainer, one (activation, seed) at a time."""
    # torch only when a run starts (the registry imports this module to build the CLI)
    from .gpt_train import GPTTrainer
    from .runner import run_experiment

    return run_experiment(NAME, points(cfg), summarise, cfg, opts, stop_after,
                          GPTTrainer(opts.progress))


def _mean(xs) -> float:
    xs = [x for x in xs if x is not None and math.isfinite(x)]
    return sum(xs) / len(xs) if xs else math.nan


# the verdicts of :func:`summarise` on the papers' claims, with the claims they test (the
# report shows these; ``clip_active`` and ``order`` are diagnostics)
CLAIMS = {
    "relu_sparsity_grows": "ReLU MLP sparsity grows during training [LN23]",
    "relu_layer_dependent": "ReLU sparsity differs between the first and last layer [LN23]",
    "relu_drift_negative": "ReLU up-projection and bias drift negative [BF2]",
    "relu2_spikes": "ReLU^2 raises the max activation in intermediate layers [BF2]",
    "clip_bounds": "clipping bounds the ReLU^2 max activation",
    "clip_no_worse": "clipped ReLU^2 no worse than ReLU^2 in validation loss",
    "gelu2_best": "GELU^2 has the lowest validation loss [BF2]",
}


def summarise(records: list[dict], cfg: Config) -> dict:
    """Per activation (means over seeds) and the verdicts on the claims (:data:`CLAIMS`):

    * ``relu_sparsity_grows``: mean-over-layers ReLU exact-zero sparsity, init -> end;
    * ``relu_layer_dependent``: first vs last layer final ReLU sparsity differ by > 0.05;
    * ``relu2_spikes``: ReLU^2 max activation above ReLU's in every intermediate layer;
    * ``relu_drift_negative``: ReLU up-projection rows moved against the input mean and
      hidden biases fell (layer means of the final values, init 0) [BF2];
    * ``clip_active``: ReLU^2 exceeds ``c`` somewhere (else clipping changed nothing);
    * ``clip_bounds``: the clip, not the training, is what bounds clipped ReLU^2: where
      ReLU^2 exceeds ``c`` (``clip_active``), the clipped model's peak activation over
      layers reaches the clip (``>= 0.95 c``; it cannot exceed ``c``, so "peak <= c"
      alone would be true by construction).  False when the clipped network learned to
      stay well below its clip, so that the clip bounded nothing;
    * ``clip_no_worse``: clipped ReLU^2 final validation loss <= ReLU^2's + 0.01;
    * ``order``: activations by final validation loss; ``gelu2_best``.
    """
    rows: dict[str, dict] = {}
    by_label: dict[str, list[dict]] = {}
    for r in records:
        by_label.setdefault(r["label"], []).append(r)
    for label, recs in sorted(by_label.items()):
        def layer_mean(key: str, idx: int) -> list[float]:
            vals = [r["metrics"][EVAL][key][idx] for r in recs]
            return [_mean(col) for col in zip(*vals)]

        rows[label] = {
            "activation": recs[0]["config"]["activation"],
            "act_params": recs[0]["config"]["act_params"],
            "seeds": sorted(r["seed"] for r in recs),
            VAL_LOSS: _mean(r["metrics"][FINAL][VAL_LOSS] for r in recs),
            TOPK_VAL_LOSS: {k: _mean(r["metrics"][FINAL][TOPK_VAL_LOSS][k] for r in recs)
                            for k in recs[0]["metrics"][FINAL][TOPK_VAL_LOSS]},
            **{f"{key}_init": layer_mean(key, 0) for key in (ZERO_SPARSITY, SOFT_SPARSITY, MAX_ACT)},
            **{f"{key}_final": layer_mean(key, -1) for key in LAYER_KEYS},
            "data": recs[0]["metrics"][DATA]["source"],
            "tokens_per_s": _mean(r["metrics"][RUN]["tokens_per_s"] for r in recs),
        }
    verdicts: dict[str, object] = {}
    acts = {row["activation"]: row for row in rows.values()}
    relu, relu2, crelu2 = acts.get("relu"), acts.get("relu2"), acts.get("crelu2")
    if relu:
        s0, s1 = relu["zero_sparsity_init"], relu["zero_sparsity_final"]
        verdicts["relu_sparsity_grows"] = _mean(s1) > _mean(s0)
        verdicts["relu_layer_dependent"] = abs(s1[0] - s1[-1]) > 0.05
        verdicts["relu_drift_negative"] = (_mean(relu["up_dw_proj_final"]) < 0
                                           and _mean(relu["up_b_mean_final"]) < 0)
    if relu and relu2 and len(relu["max_act_final"]) > 2:
        mid = range(1, len(relu["max_act_final"]) - 1)
        verdicts["relu2_spikes"] = all(relu2["max_act_final"][i] > relu["max_act_final"][i] for i in mid)
    if crelu2 and relu2:
        c = crelu2["act_params"]["c"]
        verdicts["clip_active"] = any(m > c for m in relu2["max_act_final"])
        peak = max(crelu2["max_act_final"])  # independently trained nets: compare peaks,
        verdicts["clip_bounds"] = bool(verdicts["clip_active"]  # not layer by layer
                                       and CLIP_REACHED * c <= peak <= c * (1 + 1e-3))
        verdicts["clip_no_worse"] = crelu2[VAL_LOSS] <= relu2[VAL_LOSS] + 0.01
    order = sorted(rows, key=lambda k: rows[k][VAL_LOSS])
    verdicts["order"] = order
    if "gelu2" in acts and order:
        verdicts["gelu2_best"] = rows[order[0]]["activation"] == "gelu2"
    return {"config": asdict(cfg), "rows": rows, "verdicts": verdicts}


def table(summary: dict) -> str:
    """Plain-text table: final loss, per-layer sparsity, soft sparsity, max activation."""
    fmt = lambda xs, f: "/".join(format(x, f) for x in xs)  # noqa: E731
    lines = [f"{'activation':<14}{VAL_LOSS:>9}  {'zero sparsity init->final (per layer)':<44}"
             f"{'soft (final)':<24}{'max |phi| (final)':<28}{'dW_up.mu':<10}"]
    for label, r in sorted(summary["rows"].items(), key=lambda kv: kv[1][VAL_LOSS]):
        zero = fmt(r["zero_sparsity_init"], ".2f") + " -> " + fmt(r["zero_sparsity_final"], ".2f")
        lines.append(f"{label:<14}{r[VAL_LOSS]:>9.4f}  {zero:<44}"
                     f"{fmt(r['soft_sparsity_final'], '.2f'):<24}{fmt(r['max_act_final'], '.3g'):<28}"
                     f"{fmt(r['up_dw_proj_final'], '.1e')}")
    lines += [f"{k}: {v}" for k, v in summary["verdicts"].items()]
    return "\n".join(lines)
