"""Training an ensemble with instrumentation, periodic evaluation and checkpoints.

The data sit on the device; each step draws one minibatch (shared by all members) from
a seeded permutation, so a member's run depends on its own seed and ``data_seed`` only.
Per-member losses are summed, so every member gets exactly its own gradient (SGD and
Adam act elementwise).  The host is synchronised only every ``log_every`` steps.
"""

from __future__ import annotations

import math
import re
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from sparsefield.theory.errors import ParameterError

from . import diagnostics as D
from .config import TRAIN_KEYS, TrainConfig
from .data import Dataset
from .instrument import Instrument
from .models import LAYOUT, upgrade_state
from .store import (
    ACC,
    B_GRAD_MEAN,
    CE_HESS_TRACE,
    DIAG_REL_UPDATE,
    EVAL,
    FINAL,
    FINITE,
    INIT,
    INIT_TEST_ZERO_FRAC,
    LOSS,
    LOSS_SPIKES,
    LOSS_STEPS,
    OUT_COLMEAN_DEV,
    STEP,
    TEST,
    TEST_ACC,
    TEST_LOSS,
    TEST_ZERO_FRAC,
    TRAIN,
    TRAIN_ACC,
    TRAIN_LOSS,
    W_GRAD_MEAN,
    BadCheckpoint,
    atomic_torch_save,
    load_checkpoint,
    metric,
    numpy_to_tensors,
    tensors_to_numpy,
)

TRAIN_DEFAULTS = {k: getattr(TrainConfig, k) for k in TRAIN_KEYS}


class Stopped(Exception):
    """Raised by :func:`train_ensemble` when asked to stop early (``stop_after``)."""


def resolve_device(name: str = "auto") -> torch.device:
    """``auto``: CUDA when present, else the CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    n_cuda = torch.cuda.device_count() if torch.cuda.is_available() else 0
    # parsed here: torch.device("cuda:999") wraps the index to a negative number
    match = re.fullmatch(r"(cpu|cuda)(?::(\d{1,4}))?", str(name))
    index = int(match.group(2)) if match and match.group(2) else 0
    if not match or (match.group(1) == "cuda" and index >= n_cuda):
        valid = (f"auto, cpu or cuda[:N] with N < {n_cuda} (CUDA devices present)" if n_cuda
                 else "auto or cpu (no CUDA device here)")
        raise ParameterError("device", name, valid)
    dev = torch.device(match.group(1), index if match.group(1) == "cuda" else None)
    return dev


def member_loss(logits: torch.Tensor, y: torch.Tensor, kind: str) -> torch.Tensor:
    """Per-member mean loss ``(E,)`` for logits ``(E, B, C)``: cross-entropy, or
    ``1/2 ||f - onehot(y)||^2`` (``mse``)."""
    e, b, c = logits.shape
    if kind == "ce":
        return F.cross_entropy(logits.reshape(e * b, c), y.repeat(e),
                               reduction="none").view(e, b).mean(1)
    if kind == "mse":
        return 0.5 * ((logits - F.one_hot(y, c).to(logits.dtype)) ** 2).sum(-1).mean(1)
    raise ParameterError("loss", kind, "one of ['ce', 'mse']")


def _optimizer(model: nn.Module, spec: dict) -> torch.optim.Optimizer:
    if spec["optimizer"] == "sgd":
        return torch.optim.SGD(model.parameters(), lr=spec["lr"], momentum=spec["momentum"],
                               weight_decay=spec["weight_decay"])
    if spec["optimizer"] == "adam":
        return torch.optim.Adam(model.parameters(), lr=spec["lr"],
                                weight_decay=spec["weight_decay"])
    raise ParameterError("optimizer", spec["optimizer"], "one of ['sgd', 'adam']")


def lr_factor(step: int, spec: dict) -> float:
    """Learning-rate multiplier at ``step`` (1-based): linear warm-up over ``warmup`` steps,
    then constant or a half-cosine that reaches 0 just after the last step."""
    warm, steps = spec["warmup"], spec["steps"]
    f = min(1.0, step / warm) if warm else 1.0
    if spec["schedule"] == "cosine":
        f *= 0.5 * (1.0 + math.cos(math.pi * max(0, step - warm) / max(1, steps - warm + 1)))
    return f


def clip_members_(params: list[torch.Tensor], n_members: int, max_norm: float) -> None:
    """Scale each member's gradient so its norm over all parameters is at most ``max_norm``.

    Member ``e`` owns the ``e``-th leading block of every parameter (MLP ``(E, ...)``, CNN
    ``(E * C, ...)``), so the norms are per member and stay on the device (no host sync).
    """
    grads = [p.grad.view(n_members, -1) for p in params if p.grad is not None]
    norm = torch.stack([g.square().sum(1) for g in grads]).sum(0).sqrt()
    scale = (max_norm / (norm + 1e-12)).clamp(max=1.0)[:, None]
    for g in grads:
        g.mul_(scale)


class Batches:
    """Minibatch indices from epoch permutations of a seeded CPU generator; each epoch's
    permutation is copied to the device once, so drawing a batch needs no host transfer."""

    def __init__(self, n: int, batch_size: int, seed: int, device: torch.device) -> None:
        self.n, self.bs, self.device = n, min(batch_size, n), device
        self.gen = torch.Generator().manual_seed(int(seed))
        self._new_epoch()

    def _new_epoch(self) -> None:
        self.perm, self.pos = torch.randperm(self.n, generator=self.gen).to(self.device), 0

    def next(self) -> torch.Tensor:
        if self.pos + self.bs > self.n:
            self._new_epoch()
        idx = self.perm[self.pos:self.pos + self.bs]
        self.pos += self.bs
        return idx

    def state(self) -> dict:
        return {"gen": self.gen.get_state(), "perm": self.perm, "pos": self.pos}

    def load(self, state: dict) -> None:
        self.gen.set_state(state["gen"].cpu())
        self.perm, self.pos = state["perm"].to(self.device), state["pos"]


@torch.no_grad()
def evaluate(model: nn.Module, inst: Instrument, x: torch.Tensor, y: torch.Tensor,
             loss: str, batch_size: int = 256) -> dict[str, np.ndarray]:
    """Accuracy, loss and per-layer statistics (dead units included) over ``(x, y)``."""
    inst.begin_eval()
    correct = torch.zeros(inst.n, device=x.device)
    total = torch.zeros(inst.n, device=x.device)
    for i in range(0, len(x), batch_size):
        logits = model(x[i:i + batch_size])
        yb = y[i:i + batch_size]
        correct += (logits.argmax(-1) == yb).float().sum(1)
        total += member_loss(logits.float(), yb, loss) * len(yb)
    out = inst.end_eval()
    host = torch.stack([correct, total]).cpu().numpy() / len(x)
    out[ACC], out[LOSS] = host[0][None], host[1][None]
    return out


def init_gradients(model: nn.Module, x: torch.Tensor, y: torch.Tensor, loss: str,
                   batch_size: int = 256) -> dict[str, np.ndarray]:
    """Full-batch gradients over ``(x, y)`` before any update: per layer and member the
    mean of ``dL/db`` (= mean over units of ``dL/dz_j``, the quantity of the Stein
    argument [BF2]) and of ``dL/dW``, and ``E[sum_c p_c (1 - p_c)]`` (the trace of the
    cross-entropy Hessian in the logits).  Gradients are cleared afterwards."""
    model.zero_grad(set_to_none=True)
    n, trace = len(x), 0.0
    for i in range(0, n, batch_size):
        logits = model(x[i:i + batch_size])
        (member_loss(logits, y[i:i + batch_size], loss).sum() * (len(logits[0]) / n)).backward()
        p = torch.softmax(logits.detach().float(), -1)
        trace = trace + (p * (1 - p)).sum(-1).sum(1) / n
    out = {B_GRAD_MEAN: torch.stack([l.bias.grad.reshape(len(trace), -1).mean(1)
                                     for l in model.linears]),
           W_GRAD_MEAN: torch.stack([l.weight.grad.reshape(len(trace), -1).mean(1)
                                     for l in model.linears]),
           CE_HESS_TRACE: trace[None]}
    model.zero_grad(set_to_none=True)
    return {k: v.cpu().numpy() for k, v in out.items()}


def _append(history: dict, step: int, record: dict[str, np.ndarray]) -> None:
    history.setdefault(STEP, []).append(step)
    for k, v in record.items():
        history.setdefault(k, []).append(v)


def split_members(history: dict, n: int) -> list[dict]:
    """Columnar per-member history: ``key -> [record]`` with a record ``[layer values]``
    (or a scalar for one-row statistics); ``loss_steps`` is flattened over steps."""
    out = [{STEP: list(history.get(STEP, []))} for _ in range(n)]
    for k, recs in history.items():
        if k == STEP:
            continue
        for e in range(n):
            if k == LOSS_STEPS:
                out[e][k] = [float(v) for r in recs for v in r[:, e]]
            else:
                out[e][k] = [r[0, e].item() if r.shape[0] == 1 else r[:, e].tolist() for r in recs]
    return out


def train_ensemble(model: nn.Module, data: Dataset, spec: dict, n_members: int,
                   device: torch.device, checkpoint: Path | None = None,
                   progress: bool = True, desc: str = "", stop_after: int | None = None
                   ) -> list[dict]:
    """Train ``model`` (an ensemble of ``n_members``) on ``data``; return per-member metrics
    ``{"train": history, "eval": history, "final": {...}, "init": init_gradients}``.

    ``spec`` holds :data:`TRAIN_DEFAULTS` keys.  With ``checkpoint`` the state is saved
    every ``checkpoint_every`` steps (on a logging step) and a present checkpoint is
    resumed; an unreadable or inconsistent one is reported and the run starts from step 0,
    and the final evaluation is always computed from the weights (never taken from a
    checkpoint).  ``stop_after`` ends the run early after that step (used to test resume).
    """
    spec = {**TRAIN_DEFAULTS, **spec}
    model.to(device)
    xs = {k: torch.from_numpy(getattr(data, k)).to(device) for k in
          ("x_train", "y_train", "x_test", "y_test")}
    n_eval = spec["eval_size"]
    evalsets = {TEST: (xs["x_test"][:n_eval], xs["y_test"][:n_eval]),
                TRAIN: (xs["x_train"][:n_eval], xs["y_train"][:n_eval])}
    opt = _optimizer(model, spec)
    params = list(model.parameters())
    inst = Instrument(model, n_members)
    batches = Batches(len(xs["x_train"]), spec["batch_size"], spec["data_seed"], device)
    hist, evals, start = {}, {}, 0
    diag = D.applies(model)  # signal-propagation diagnostics (MLP), at evaluations only
    n_diag = 2 * (min(2 * D.PAIRS, len(evalsets[TEST][0])) // 2)
    xd, yd = evalsets[TEST][0][:n_diag], evalsets[TEST][1][:n_diag]

    def run_eval(step: int, rel_update: np.ndarray | None = None) -> dict:
        rec = {k: v.float().cpu().numpy() for k, v in inst.parameter_stats().items()}
        for split, (x, y) in evalsets.items():
            ev = evaluate(model, inst, x, y, spec["loss"], spec["batch_size"])
            rec.update({metric(split, k): v for k, v in ev.items()})
        if diag:
            mode, inst.mode = inst.mode, "off"
            rec.update(D.measure(model, xd, yd, lambda f, t: member_loss(f, t, spec["loss"])))
            rec[DIAG_REL_UPDATE] = (D.no_update(model, n_members) if rel_update is None
                                    else rel_update)
            inst.mode = mode
        _append(evals, step, rec)
        return rec

    resumed = None
    if checkpoint is not None and checkpoint.exists():
        fresh = {k: v.detach().clone() for k, v in model.state_dict().items()}
        try:
            resumed = _resume(checkpoint, device, model, opt, batches, inst, spec["steps"])
        except BadCheckpoint as err:  # truncated or foreign: this run starts again
            print(f"warning: {err}; that run restarts from step 0", file=sys.stderr)
            model.load_state_dict(fresh)
            opt = _optimizer(model, spec)
            batches = Batches(len(xs["x_train"]), spec["batch_size"], spec["data_seed"], device)
    if resumed is not None:
        start, hist, evals, init = resumed
        if start == spec["steps"]:  # the final evaluation always comes from the weights
            rel = evals[DIAG_REL_UPDATE][-1] if DIAG_REL_UPDATE in evals else None  # the last step's
            for v in evals.values():
                del v[-1]
            run_eval(start, rel)
    else:
        init = init_gradients(model, *evalsets[TRAIN], spec["loss"], spec["batch_size"])
        if diag:
            init.update(D.measure_init(model, xd, n_members))
        run_eval(0)
    bar = tqdm(total=spec["steps"], initial=start, desc=desc, disable=None if progress else True,
               leave=False, file=sys.stderr, dynamic_ncols=True)
    log_every, ckpt_every = spec["log_every"], spec["checkpoint_every"]
    try:
        for step in range(start + 1, spec["steps"] + 1):
            inst.mode = "train" if step % spec["stats_every"] == 0 else "off"
            idx = batches.next()
            loss_e = member_loss(model(xs["x_train"][idx]), xs["y_train"][idx], spec["loss"])
            opt.zero_grad(set_to_none=True)
            loss_e.sum().backward()
            inst.after_backward(loss_e)
            if spec["grad_clip"]:
                clip_members_(params, n_members, spec["grad_clip"])
            for group in opt.param_groups:
                group["lr"] = spec["lr"] * lr_factor(step, spec)
            last = step == spec["steps"]
            eval_now = step % spec["eval_every"] == 0 or last
            before = D.snapshot(model) if diag and eval_now else None
            opt.step()
            bar.update(1)
            if step % log_every == 0 or last:
                rec = inst.fetch()
                _append(hist, step, rec)
                bar.set_postfix(loss=f"{np.mean(rec[LOSS_STEPS][-1]):.4g}")
            if eval_now:
                run_eval(step, None if before is None else D.relative_update(before, model,
                                                                             n_members))
            if checkpoint is not None and ckpt_every and step % ckpt_every == 0 \
                    and step % log_every == 0:
                atomic_torch_save(checkpoint, {
                    "model": model.state_dict(), "opt": opt.state_dict(), "layout": LAYOUT,
                    "batches": batches.state(), "input_mean": inst.input_mean,
                    "out_colmean0": inst.out_colmean0, "hist": numpy_to_tensors(hist),
                    "evals": numpy_to_tensors(evals), "step": step,
                    "init": numpy_to_tensors(init)})
            if stop_after is not None and step >= stop_after:
                raise Stopped(f"stopped after step {step}")
    finally:
        bar.close()
        inst.remove()
    train_h, eval_h = split_members(hist, n_members), split_members(evals, n_members)
    init_h = split_members({k: [v] for k, v in init.items()}, n_members)
    return [{TRAIN: t, EVAL: v, FINAL: _final(t, v),
             INIT: {k: vals[0] for k, vals in i.items() if k != STEP}}
            for t, v, i in zip(train_h, eval_h, init_h)]


def _resume(path: Path, device, model, opt, batches, inst, steps: int) -> tuple:
    """Load a checkpoint into ``model``, ``opt``, ``batches``, ``inst``; return ``(step,
    hist, evals, init)``.  :class:`BadCheckpoint` when it is unreadable or inconsistent
    (step outside ``[1, steps]``, the training history not ending at that step, an
    evaluation after it, evaluations of unequal lengths, keys missing)."""
    state = load_checkpoint(path, device)
    try:
        start = state["step"]
        hist, evals, init = (tensors_to_numpy(state[k]) for k in ("hist", "evals", "init"))
        # saved on a logging step: the training history ends at it, the evaluations at or
        # before it (checkpoint_every need not be a multiple of eval_every)
        if not (isinstance(start, int) and 0 < start <= steps) or not evals.get(STEP) \
                or not hist.get(STEP) or hist[STEP][-1] != start or evals[STEP][-1] > start \
                or any(len(v) != len(evals[STEP]) for v in evals.values()):
            raise ValueError(f"step {start!r} outside [1, {steps}], not its last logged step, "
                             f"or evaluations of unequal lengths")
        upgrade_state(model, state.get("layout"), state["model"], state["opt"])
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        batches.load(state["batches"])
        inst.input_mean, inst.out_colmean0 = state["input_mean"], state["out_colmean0"]
    except (KeyError, TypeError, ValueError, RuntimeError, AttributeError, IndexError) as err:
        raise BadCheckpoint(f"checkpoint {path} is inconsistent ({type(err).__name__}: "
                            f"{str(err)[:120]})") from None
    return start, hist, evals, init


def loss_spikes(losses, factor: float = 2.0, window: int = 20) -> int:
    """Number of steps whose loss exceeds ``factor`` times the median of the ``window``
    steps before it (a non-finite loss counts as a spike once, then stops the count)."""
    v = np.asarray(losses, float)
    count = 0
    for t in range(window, v.size):
        if not np.isfinite(v[t]):
            return count + 1
        if v[t] > factor * np.median(v[t - window:t]):
            count += 1
    return count


def _final(train: dict, evals: dict) -> dict:
    """Headline numbers of one member: last evaluation and stability."""
    losses = np.asarray(train.get(LOSS_STEPS, []), float)
    out = {k: evals[k][-1] for k in (TEST_ACC, TEST_LOSS, TRAIN_ACC, TRAIN_LOSS)}
    out[FINITE] = bool(losses.size and np.all(np.isfinite(losses)))
    out[TEST_ZERO_FRAC] = evals[TEST_ZERO_FRAC][-1]
    out[INIT_TEST_ZERO_FRAC] = evals[TEST_ZERO_FRAC][0]
    out[LOSS_SPIKES] = loss_spikes(losses)
    out[OUT_COLMEAN_DEV] = float(np.max(np.asarray(train.get(OUT_COLMEAN_DEV) or [0.0], float)))
    return out
