"""A small GPT whose MLPs use a catalogue activation ([BF2] GPT-nano set-up).

Pre-norm blocks ``x + Attn(RMSNorm(x))``, ``x + MLP(RMSNorm(x))``; learned absolute
positions; causal attention through ``F.scaled_dot_product_attention`` (fused kernels on
CUDA); MLP ``down(phi(up(u)))`` with ``phi`` generated from the one catalogue definition
(:meth:`sparsefield.theory.activations.Activation.torch_fn`); weights tied between the token embedding
and the read-out.  Init as in GPT-2: ``N(0, 0.02^2)``, residual projections scaled by
``1 / sqrt(2 n_layer)``, zero biases.

Instrumentation: :meth:`GPT.observe` installs a callback that every MLP calls with
``(layer, u, h, a)`` (input, pre-activation, activation) during a forward pass; a tensor
it returns replaces ``a`` (per-token top-k evaluation [LN23]).
"""

from __future__ import annotations

import math
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Callable, Iterator

import torch
import torch.nn.functional as F
from torch import nn

from sparsefield.theory.activations import get
from sparsefield.theory.errors import ParameterError

Observer = Callable[[int, torch.Tensor, torch.Tensor, torch.Tensor], "torch.Tensor | None"]


@dataclass(frozen=True, kw_only=True)
class GPTConfig:
    """Architecture; ``activation`` is a catalogue name, ``act_params`` its parameters."""

    vocab_size: int
    block_size: int = 64
    n_layer: int = 4
    n_head: int = 4
    d_model: int = 128
    mlp_ratio: int = 4
    activation: str = "relu"
    act_params: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("vocab_size", "block_size", "n_layer", "n_head", "d_model", "mlp_ratio"):
            v = getattr(self, name)
            if not isinstance(v, int) or v < 1:
                raise ParameterError(name, v, "an integer >= 1")
        if self.d_model % self.n_head:
            raise ParameterError("n_head", self.n_head, f"a divisor of d_model={self.d_model}")

    @property
    def d_ff(self) -> int:
        return self.mlp_ratio * self.d_model

    def to_dict(self) -> dict:
        return asdict(self)


class RMSNorm(nn.Module):
    """``g * x / sqrt(mean(x^2) + eps)`` over the last axis."""

    def __init__(self, dim: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        xf = x.float()
        return (xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + self.eps)).type_as(x) * self.weight


class Attention(nn.Module):
    def __init__(self, cfg: GPTConfig) -> None:
        super().__init__()
        self.n_head = cfg.n_head
        self.qkv = nn.Linear(cfg.d_model, 3 * cfg.d_model, bias=False)
        self.proj = nn.Linear(cfg.d_model, cfg.d_model, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, d = x.shape
        q, k, v = self.qkv(x).view(b, t, 3, self.n_head, d // self.n_head).permute(2, 0, 3, 1, 4)
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.proj(y.transpose(1, 2).reshape(b, t, d))


class MLP(nn.Module):
    """``down(phi(up(u)))``; ``up`` has a bias (its drift is tracked [BF2])."""

    def __init__(self, cfg: GPTConfig, layer: int) -> None:
        super().__init__()
        self.layer = layer
        self.up = nn.Linear(cfg.d_model, cfg.d_ff, bias=True)
        self.down = nn.Linear(cfg.d_ff, cfg.d_model, bias=True)
        self.phi = get(cfg.activation, **cfg.act_params).torch_fn()
        self.observer: Observer | None = None

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        h = self.up(u)
        a = self.phi(h)
        if self.observer is not None:
            replaced = self.observer(self.layer, u, h, a)
            a = a if replaced is None else replaced
        return self.down(a)


class Block(nn.Module):
    def __init__(self, cfg: GPTConfig, layer: int) -> None:
        super().__init__()
        self.norm1, self.norm2 = RMSNorm(cfg.d_model), RMSNorm(cfg.d_model)
        self.attn = Attention(cfg)
        self.mlp = MLP(cfg, layer)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class GPT(nn.Module):
    def __init__(self, cfg: GPTConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.tok = nn.Embedding(cfg.vocab_size, cfg.d_model)
        self.pos = nn.Embedding(cfg.block_size, cfg.d_model)
        self.blocks = nn.ModuleList(Block(cfg, i) for i in range(cfg.n_layer))
        self.norm = RMSNorm(cfg.d_model)
        self.head = nn.Linear(cfg.d_model, cfg.vocab_size, bias=False)
        self.head.weight = self.tok.weight

    def init_weights(self, generator: torch.Generator) -> None:
        """GPT-2 initialisation drawn from ``generator`` (CPU), independent of the device."""
        resid_std = 0.02 / math.sqrt(2 * self.cfg.n_layer)
        with torch.no_grad():
            for name, p in self.named_parameters():
                if name.endswith("norm1.weight") or name.endswith("norm2.weight") or name == "norm.weight":
                    p.fill_(1.0)
                elif name.endswith(".bias"):
                    p.zero_()
                else:
                    std = resid_std if name.endswith(("proj.weight", "down.weight")) else 0.02
                    p.copy_(torch.randn(p.shape, generator=generator) * std)

    @property
    def mlps(self) -> list[MLP]:
        return [b.mlp for b in self.blocks]

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None):
        """Logits ``(B, T, V)``, or the mean cross-entropy when ``targets`` are given."""
        t = idx.shape[1]
        if t > self.cfg.block_size:
            raise ParameterError("sequence length", t, f"<= block_size={self.cfg.block_size}")
        x = self.tok(idx) + self.pos(torch.arange(t, device=idx.device))
        for block in self.blocks:
            x = block(x)
        logits = self.head(self.norm(x))
        if targets is None:
            return logits
        return F.cross_entropy(logits.float().view(-1, logits.shape[-1]), targets.reshape(-1))

    @contextmanager
    def observe(self, fn: Observer) -> Iterator[None]:
        """Call ``fn(layer, u, h, a)`` from every MLP inside the ``with`` block (a returned
        tensor replaces the activation ``a``)."""
        for m in self.mlps:
            m.observer = fn
        try:
            yield
        finally:
            for m in self.mlps:
                m.observer = None
