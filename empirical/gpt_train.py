"""Training the GPT of :mod:`sparsefield.empirical.gpt_experiment`: one activation, one seed.

AdamW with linear warm-up and cosine decay, bf16 autocast on CUDA, gradient clipping; every
``eval_every`` steps :func:`evaluate` records the validation loss, the per-layer token
metrics and the weight drift on a fixed validation set (one host synchronisation per
evaluation); the state is checkpointed at each evaluation and a present checkpoint is
resumed.
"""

from __future__ import annotations

import math
import time
from contextlib import nullcontext
from pathlib import Path

import torch
from tqdm.auto import tqdm

from . import token_metrics as tm
from .store import (
    B_MEAN,
    DATA,
    DOWN,
    DW_MEAN,
    DW_PROJ,
    EVAL,
    FINAL,
    GPT_LAYER_KEYS,
    LR,
    RUN,
    STEP,
    TIME_S,
    TOKENS,
    TOPK_VAL_LOSS,
    TRAIN_LOSS,
    UP,
    VAL_LOSS,
    W_MEAN,
    atomic_torch_save,
    load_checkpoint,
    point_key,
    projection,
    topk_key,
)
from .text_data import eval_windows, load_corpus, random_batch
from .train import Stopped
from .transformer import GPT, GPTConfig


def _lr(p: dict, step: int) -> float:
    """Linear warm-up then cosine decay to ``min_lr_frac * lr``."""
    warm = max(1, int(p["warmup_frac"] * p["steps"]))
    if step < warm:
        return p["lr"] * (step + 1) / warm
    t = (step - warm) / max(1, p["steps"] - warm)
    return p["lr"] * (p["min_lr_frac"] + (1 - p["min_lr_frac"]) * 0.5 * (1 + math.cos(math.pi * t)))


def _optimizer(model, p: dict):
    decay = [q for q in model.parameters() if q.dim() >= 2]
    other = [q for q in model.parameters() if q.dim() < 2]
    return torch.optim.AdamW([{"params": decay, "weight_decay": p["weight_decay"]},
                              {"params": other, "weight_decay": 0.0}],
                             lr=p["lr"], betas=(0.9, p["beta2"]))


def evaluate(model, val_x, val_y, p: dict, init_weights: list, amp, topk: bool = False) -> dict:
    """Validation loss, per-layer token metrics and drift as device tensors (no host sync).

    ``amp()`` makes the autocast context (or a null one); with ``topk``, also the
    validation loss under each per-token top-k of ``p["topk"]`` (kept fractions).
    """
    model.eval()
    chunk = p["batch_size"]
    n_metric = max(1, min(len(val_x), p["metrics_tokens"] // p["block_size"]))

    def val_loss(observer=None):
        total = torch.zeros((), device=val_x.device)
        for i in range(0, len(val_x), chunk):
            with amp(), (model.observe(observer) if observer else nullcontext()):
                total += model(val_x[i:i + chunk], val_y[i:i + chunk]).float() * len(val_x[i:i + chunk])
        return total / len(val_x)

    layers: dict[int, dict] = {}

    def record(layer, u, h, a):
        s = tm.summary(a.float(), h.float(), batch_tokens=tm.BATCH_TOKENS)
        s["u_mean"] = u.float().mean(dim=(0, 1))
        s["a_mean"] = a.float().mean(dim=(0, 1))
        layers[layer] = s

    with torch.no_grad():
        out = {VAL_LOSS: val_loss()}
        with amp(), model.observe(record):
            model(val_x[:n_metric])
        for i, mlp in enumerate(model.mlps):
            s = layers[i]
            for name, lin, mu in ((UP, mlp.up, s.pop("u_mean")), (DOWN, mlp.down, s.pop("a_mean"))):
                w, w0 = lin.weight.float(), init_weights[i][name]
                dw = w - w0
                s[projection(name, W_MEAN)] = w.mean()
                s[projection(name, DW_MEAN)] = dw.mean()
                s[projection(name, DW_PROJ)] = (dw @ (mu / mu.norm().clamp_min(1e-12))).mean()
            s[projection(UP, B_MEAN)] = mlp.up.bias.float().mean()
        for key in GPT_LAYER_KEYS:
            out[key] = torch.stack([layers[i][key].float() for i in range(len(layers))])
        if topk:
            d_ff = model.cfg.d_ff
            for frac in p["topk"]:
                k = max(1, round(frac * d_ff))
                out[topk_key(frac)] = val_loss(lambda layer, u, h, a, k=k: tm.topk_per_token(a, k))
    model.train()
    return out


def train_step(model, opt, x, y, amp, grad_clip: float):
    """One AdamW step on a batch (loss under ``amp``, clipped gradients); returns the
    detached loss (no host synchronisation)."""
    with amp():
        loss = model(x, y)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
    opt.step()
    return loss.detach().float()


def train_point(p: dict, seed: int, corpus, device, checkpoint: Path | None = None,
                progress: bool = True, desc: str = "", stop_after: int | None = None) -> dict:
    """Train one activation; return the record's ``metrics`` (eval history, final, run info).

    With ``checkpoint``, the state is saved after each evaluation and a present checkpoint
    is resumed.  ``stop_after`` stops (raising :class:`Stopped`) after that many steps of
    this call, leaving the checkpoint behind (used to test resumption).
    """
    cuda = device.type == "cuda"
    amp = (lambda: torch.autocast("cuda", dtype=torch.bfloat16)) if cuda else nullcontext
    cfg = GPTConfig(vocab_size=corpus.vocab_size, block_size=p["block_size"], n_layer=p["n_layer"],
                    n_head=p["n_head"], d_model=p["d_model"], activation=p["activation"],
                    act_params=dict(p["act_params"]))
    model = GPT(cfg)
    model.init_weights(torch.Generator().manual_seed(int(seed)))
    model.to(device)
    opt = _optimizer(model, p)
    init_weights = [{UP: m.up.weight.detach().float().clone(),
                     DOWN: m.down.weight.detach().float().clone()} for m in model.mlps]
    train_data, val_data = corpus.train.to(device), corpus.val.to(device)
    val_x, val_y = eval_windows(val_data, p["block_size"], p["eval_tokens"])
    gen = torch.Generator(device=device).manual_seed(int(seed) + 1)
    history: dict[str, list] = {}
    step, wall, resumed = 0, 0.0, False
    if checkpoint is not None and checkpoint.exists():
        state = load_checkpoint(checkpoint, device)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        gen.set_state(state["gen"].cpu())
        init_weights, history = state["init_weights"], state["history"]
        step, wall, resumed = state["step"], state["wall"], True

    def log(step: int, loss_sum, n: int, tic: float, final: bool) -> dict:
        ev = evaluate(model, val_x, val_y, p, init_weights, amp, topk=final)
        ev[TRAIN_LOSS] = loss_sum / max(n, 1) if n else torch.full((), float("nan"), device=device)
        host = {k: v.tolist() for k, v in ev.items()}  # the one host synchronisation
        elapsed = wall + time.perf_counter() - tic
        history.setdefault(STEP, []).append(step)
        history.setdefault(TOKENS, []).append(step * p["batch_size"] * p["block_size"])
        history.setdefault(TIME_S, []).append(elapsed)
        history.setdefault(LR, []).append(_lr(p, max(step - 1, 0)))
        for k in (TRAIN_LOSS, VAL_LOSS, *GPT_LAYER_KEYS):
            history.setdefault(k, []).append(host[k])
        return host

    tic = time.perf_counter()
    if not history:
        log(0, None, 0, tic, final=False)
    loss_sum, n_acc, done_here = torch.zeros((), device=device), 0, 0
    bar = tqdm(total=p["steps"], initial=step, desc=desc, disable=not progress, leave=False)
    model.train()
    while step < p["steps"]:
        for group in opt.param_groups:
            group["lr"] = _lr(p, step)
        x, y = random_batch(train_data, p["block_size"], p["batch_size"], gen)
        loss_sum += train_step(model, opt, x, y, amp, p["grad_clip"])
        n_acc, step, done_here = n_acc + 1, step + 1, done_here + 1
        bar.update()
        if step % p["eval_every"] == 0 or step == p["steps"]:
            final = step == p["steps"]
            host = log(step, loss_sum, n_acc, tic, final)
            loss_sum, n_acc = torch.zeros((), device=device), 0
            bar.set_postfix(val=f"{host[VAL_LOSS]:.3f}")
            if checkpoint is not None and not final:
                wall_now = history[TIME_S][-1]
                atomic_torch_save(checkpoint, {
                    "model": model.state_dict(), "opt": opt.state_dict(), "gen": gen.get_state(),
                    "init_weights": init_weights, "history": history, "step": step,
                    "wall": wall_now})
        if stop_after is not None and done_here >= stop_after and step < p["steps"]:
            bar.close()
            raise Stopped(f"stopped after {done_here} steps at step {step}")
    bar.close()
    wall_total = history[TIME_S][-1]
    trained = p["steps"] * p["batch_size"] * p["block_size"]
    return {EVAL: history,
            FINAL: {VAL_LOSS: history[VAL_LOSS][-1],
                    TOPK_VAL_LOSS: {f"{k:g}": host[topk_key(k)] for k in p["topk"]}},
            "model": cfg.to_dict() | {"d_ff": cfg.d_ff,
                                      "n_params": sum(q.numel() for q in model.parameters())},
            DATA: {"source": corpus.source, "vocab_size": corpus.vocab_size,
                     "n_train": int(corpus.train.numel()), "n_val": int(corpus.val.numel()),
                     "val_tokens": int(val_x.numel())},
            RUN: {"device": str(device), "autocast": "bf16" if cuda else "fp32",
                    "wall_s": wall_total,  # evaluations included
                    "tokens_per_s": trained / max(wall_total, 1e-9),
                    "resumed": resumed}}


class GPTTrainer:
    """The runner's plug-in for the GPT (:class:`sparsefield.empirical.runner.Trainer`):
    one (activation, seed) per chunk through :func:`train_point`; the corpus is loaded on
    the first run that needs it."""

    max_members = 1

    def __init__(self, progress: bool = True) -> None:
        self.progress, self.corpora = progress, {}

    def group(self, p: dict) -> str:
        return point_key(p)

    def train(self, chunk, device: torch.device, checkpoint: Path, desc: str,
              stop_after: int | None) -> list[dict]:
        ((label, p, seed),) = chunk
        key = (p["data"], p["val_fraction"])
        if key not in self.corpora:
            self.corpora[key] = load_corpus(*key)
        return [train_point(p, seed, self.corpora[key], device, checkpoint, self.progress,
                            f"{desc} s{seed}", stop_after)]
