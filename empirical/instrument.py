"""Per-layer statistics over training, gathered by forward hooks without host syncs.

Hooks on each :class:`~empirical.models.ActBlock` see the pre-activation ``h^l`` and
``phi(h^l)``; statistics are added to device tensors and only :meth:`Instrument.fetch`
copies them to the host (every ``log_every`` steps).  Per member and layer:

* exact-zero sparsity ``P(phi(h) = 0)`` and the per-sample nonzero fraction (mean, std,
  min over samples) [LN23, WA24]; dead units (never nonzero over an evaluation set);
* soft sparsity ``P(h < 0)`` (for GELU/SiLU); ``q^l = mean h^2``; ``max |phi(h)|`` (spikes);
* weight mean and negative fraction, bias mean, and the projection of weight rows on the
  running mean of the layer input, ``mean_j <w_j, u_bar> / ||u_bar||`` [BF2]; gradient norms
  (averaged over the statistics steps, ``stats_every``);
* the class-mean of each output-weight column, exactly conserved under cross-entropy with
  plain SGD [BF2] (reported as its largest deviation from the initial value).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from .models import EnsembleLinear
from .store import (
    ACT_MAX,
    B_MEAN,
    DEAD_FRAC,
    GRAD_NORM,
    LOSS_STEPS,
    NZ_SAMPLE_MEAN,
    NZ_SAMPLE_MIN,
    NZ_SAMPLE_STD,
    OUT_COLMEAN_DEV,
    SOFT_FRAC,
    TRAIN,
    W_MEAN,
    W_NEG,
    W_PROJ,
    ZERO_FRAC,
    Q,
    metric,
)

_NZ_SAMPLE_SQ = "nz_sample_sq"  # accumulated only, to give NZ_SAMPLE_STD
MEAN_KEYS = (ZERO_FRAC, SOFT_FRAC, Q, NZ_SAMPLE_MEAN, _NZ_SAMPLE_SQ)


class _Acc:
    """Weighted sums of :data:`MEAN_KEYS`, running max/min and unit usage, on the device."""

    def __init__(self, n_layers: int, n_members: int, device) -> None:
        z = lambda: torch.zeros(n_layers, n_members, device=device)  # noqa: E731
        self.sums = torch.zeros(len(MEAN_KEYS), n_layers, n_members, device=device)
        self.act_max, self.nz_min = z(), z() + 1.0
        self.weight = [0] * n_layers
        self.ever_on: list[torch.Tensor | None] = [None] * n_layers

    def add(self, layer: int, h: torch.Tensor, a: torch.Tensor, track_units: bool) -> None:
        rest, units = tuple(range(1, a.dim())), tuple(range(2, a.dim()))
        nz_sample = (a != 0).to(a.dtype).mean(dim=units)  # (E, B)
        nz_mean = nz_sample.mean(1)
        stats = torch.stack([1.0 - nz_mean, (h < 0).to(h.dtype).mean(dim=rest),
                             (h * h).mean(dim=rest), nz_mean, (nz_sample ** 2).mean(1)])
        n = a.shape[1]
        self.sums[:, layer].add_(stats.float(), alpha=n)
        self.weight[layer] += n
        torch.maximum(self.act_max[layer], a.detach().abs().amax(dim=rest).float(),
                      out=self.act_max[layer])
        torch.minimum(self.nz_min[layer], nz_sample.amin(1).float(), out=self.nz_min[layer])
        if track_units:
            on = (a != 0).any(dim=1)
            on = on.flatten(2).any(dim=2) if on.dim() > 2 else on  # CNN: unit = channel
            prev = self.ever_on[layer]
            self.ever_on[layer] = on if prev is None else prev | on

    def result(self) -> dict[str, np.ndarray]:
        """Means over everything added, as ``(layers, members)`` host arrays."""
        w = torch.tensor(self.weight, dtype=torch.float32, device=self.sums.device).clamp(min=1)
        parts = [self.sums / w[None, :, None], self.act_max[None], self.nz_min[None]]
        if all(u is not None for u in self.ever_on):
            parts.append(torch.stack([(~u).float().mean(1) for u in self.ever_on])[None])
        host = torch.cat(parts).cpu().numpy()
        out = dict(zip(MEAN_KEYS, host))
        out[NZ_SAMPLE_STD] = np.sqrt(np.maximum(out.pop(_NZ_SAMPLE_SQ)
                                                - out[NZ_SAMPLE_MEAN] ** 2, 0.0))
        out[ACT_MAX], out[NZ_SAMPLE_MIN] = host[len(MEAN_KEYS)], host[len(MEAN_KEYS) + 1]
        if len(host) > len(MEAN_KEYS) + 2:
            out[DEAD_FRAC] = host[-1]
        return out


class Instrument:
    """Hooks on a model's activation blocks and linear layers; ``mode`` is ``train``
    (accumulate between fetches), ``eval`` (one evaluation pass, with dead units) or ``off``."""

    def __init__(self, model: nn.Module, n_members: int, input_ema: float = 0.99) -> None:
        self.model, self.n = model, n_members
        self.blocks, self.layers = list(model.acts), list(model.linears)
        self.device = next(model.parameters()).device
        self.ema, self.mode = input_ema, "off"
        self.reset_train()
        self.eval_acc: _Acc | None = None
        self.input_mean: list[torch.Tensor | None] = [None] * len(self.layers)
        out = self.layers[-1].member_weight()
        self.out_colmean0 = out.detach().mean(dim=1).clone()  # (E, fan_in)
        self._handles = [b.register_forward_hook(self._act_hook(i)) for i, b in enumerate(self.blocks)]
        self._handles += [m.register_forward_pre_hook(self._input_hook(i))
                          for i, m in enumerate(self.layers) if isinstance(m, EnsembleLinear)]

    # --- hooks ---------------------------------------------------------------------------
    def _act_hook(self, layer: int):
        def hook(module, inputs, output):
            if self.mode == "off":
                return
            h, a = inputs[0].detach(), output.detach()
            if module.member_dim == 1:
                h, a = h.movedim(1, 0), a.movedim(1, 0)
            acc = self.train_acc if self.mode == "train" else self.eval_acc
            acc.add(layer, h, a, track_units=self.mode == "eval")
        return hook

    def _input_hook(self, layer: int):
        def hook(module, inputs):
            if self.mode != "train":
                return
            x = inputs[0].detach()
            m = x.mean(dim=-2).float()
            m = m.expand(self.n, -1) if m.dim() == 1 else m
            prev = self.input_mean[layer]
            self.input_mean[layer] = m.clone() if prev is None else prev.lerp_(m, 1.0 - self.ema)
        return hook

    def remove(self) -> None:
        for h in self._handles:
            h.remove()

    # --- training-time accumulation --------------------------------------------------------
    def reset_train(self) -> None:
        self.train_acc = _Acc(len(self.blocks), self.n, self.device)
        self.grad_sum = torch.zeros(len(self.layers), self.n, device=self.device)
        self.grad_steps = 0
        self.losses: list[torch.Tensor] = []

    def after_backward(self, member_loss: torch.Tensor) -> None:
        """Add this step's per-member loss and, on a statistics step (``mode`` ``train``),
        its per-layer gradient norms (no sync; nothing more between statistics steps)."""
        self.losses.append(member_loss.detach().float())
        if self.mode != "train":
            return
        norms = [l.weight.grad.reshape(self.n, -1).norm(dim=1) for l in self.layers]
        self.grad_sum.add_(torch.stack(norms).float())
        self.grad_steps += 1

    @torch.no_grad()
    def parameter_stats(self) -> dict[str, torch.Tensor]:
        """Weight mean / negative fraction, bias mean, row projection on the input mean."""
        w_mean, w_neg, b_mean, proj = [], [], [], []
        for i, layer in enumerate(self.layers):
            w = layer.member_weight().detach().reshape(self.n, layer.member_bias().shape[1], -1)
            w_mean.append(w.mean(dim=(1, 2)))
            w_neg.append((w < 0).float().mean(dim=(1, 2)))
            b_mean.append(layer.member_bias().detach().mean(1))
            u = self.input_mean[i]
            if u is None:
                proj.append(torch.full((self.n,), float("nan"), device=self.device))
            else:
                unit = u / u.norm(dim=1, keepdim=True).clamp(min=1e-12)
                proj.append(torch.einsum("eoi,ei->eo", w.float(), unit).mean(1))
        out = self.layers[-1].member_weight().detach().mean(dim=1)
        dev = (out - self.out_colmean0).abs().amax(dim=1)
        return {W_MEAN: torch.stack(w_mean), W_NEG: torch.stack(w_neg),
                B_MEAN: torch.stack(b_mean), W_PROJ: torch.stack(proj),
                OUT_COLMEAN_DEV: dev[None]}

    def fetch(self) -> dict[str, np.ndarray]:
        """Host copy of everything since the last fetch (then reset): ``(layers, members)``
        arrays, ``loss_steps`` ``(steps, members)`` and ``out_colmean_dev`` ``(1, members)``."""
        out = {metric(TRAIN, k): v for k, v in self.train_acc.result().items()}
        params = self.parameter_stats()
        params[GRAD_NORM] = self.grad_sum / max(self.grad_steps, 1)
        keys = list(params)
        host = torch.cat([params[k].float() for k in keys]).cpu().numpy()
        sizes = np.cumsum([0] + [params[k].shape[0] for k in keys])
        out.update({k: host[a:b] for k, a, b in zip(keys, sizes, sizes[1:])})
        out[LOSS_STEPS] = (torch.stack(self.losses).cpu().numpy() if self.losses
                             else np.zeros((0, self.n)))
        self.reset_train()
        return out

    # --- evaluation -------------------------------------------------------------------------
    def begin_eval(self) -> None:
        self.eval_acc, self.mode = _Acc(len(self.blocks), self.n, self.device), "eval"

    def end_eval(self) -> dict[str, np.ndarray]:
        self.mode = "train"
        return self.eval_acc.result()
