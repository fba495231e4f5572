"""Ensembles of deep MLPs and CNNs with catalogue activations ([P24] set-ups).

An ensemble of ``E`` independent networks of one architecture and activation family is
one module with stacked parameters (batched matmul; grouped convolution for the CNN),
so several seeds or configurations keep a GPU busy.  The summed loss gives each member
exactly its own gradient.  ``E = 1`` is the single model.

Layout: the MLP works on ``(E, B, N)``; the CNN on ``(B, E * C, H, W)``, viewed as
``(B, E, C, H, W)`` at each activation.  Every layer exposes ``member_weight()``
``(E, ...)`` and ``member_bias()`` ``(E, out)`` for instrumentation.
"""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from sparsefield.theory.errors import ParameterError

from .forcing import check_kind, quantile_shift, topk_mask
from .init import MemberInit, init_bias_, init_weight_
from .torch_act import TorchActivation

LAYOUT = 2  # EnsembleLinear stores (E, in, out); layout 1 (before) stored (E, out, in)


class EnsembleLinear(nn.Module):
    """``y_e = x_e W_e^T + b_e`` for members ``e``; ``x`` is ``(E, B, in)`` or shared ``(B, in)``.

    The parameter holds ``W_e^T``, ``(E, in, out)``, so the batched matmul reads it without a
    transposed view; :meth:`member_weight` is ``W_e`` ``(E, out, in)``, torch's convention."""

    def __init__(self, n_members: int, fan_in: int, fan_out: int) -> None:
        super().__init__()
        self.fan_in = fan_in
        self.weight = nn.Parameter(torch.empty(n_members, fan_in, fan_out))
        self.bias = nn.Parameter(torch.empty(n_members, 1, fan_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 2:
            return torch.matmul(x, self.weight) + self.bias
        return torch.baddbmm(self.bias, x, self.weight)

    def member_weight(self) -> torch.Tensor:
        return self.weight.transpose(1, 2)

    def member_bias(self) -> torch.Tensor:
        return self.bias[:, 0]


def upgrade_state(model: nn.Module, layout: int | None, state: dict, opt_state: dict) -> None:
    """Convert, in place, a checkpoint's model and optimizer state written in ``layout``
    (``None``: before layouts were recorded, i.e. 1) to :data:`LAYOUT`: every
    :class:`EnsembleLinear` weight and its optimizer buffers (momentum, Adam moments) from
    ``(E, out, in)`` to ``(E, in, out)``.  ``ValueError`` if a shape does not fit the model."""
    if (layout or 1) == LAYOUT:
        return
    if layout not in (None, 1):
        raise ValueError(f"checkpoint layout {layout!r} is not 1 or {LAYOUT}")
    index = {name: i for i, (name, _) in enumerate(model.named_parameters())}
    for name, mod in model.named_modules():
        if not isinstance(mod, EnsembleLinear):
            continue
        key = f"{name}.weight" if name else "weight"
        want = tuple(mod.weight.shape)
        old = state[key]
        if tuple(old.shape) != (want[0], want[2], want[1]):
            raise ValueError(f"{key} has shape {tuple(old.shape)}, layout 1 of {want} expected")
        state[key] = old.transpose(1, 2).contiguous()
        buffers = opt_state.get("state", {}).get(index[key], {})
        for k, v in buffers.items():
            if isinstance(v, torch.Tensor) and v.dim() == 3:
                buffers[k] = v.transpose(1, 2).contiguous()


class EnsembleConv2d(nn.Module):
    """``E`` convolutions ``C_in -> C_out`` side by side as one grouped convolution."""

    def __init__(self, n_members: int, c_in: int, c_out: int, kernel: int) -> None:
        super().__init__()
        self.n, self.c_out, self.fan_in = n_members, c_out, c_in * kernel * kernel
        self.weight = nn.Parameter(torch.empty(n_members * c_out, c_in, kernel, kernel))
        self.bias = nn.Parameter(torch.empty(n_members * c_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight, self.bias, padding="same", groups=self.n)

    def member_weight(self) -> torch.Tensor:
        return self.weight.view(self.n, self.c_out, -1)

    def member_bias(self) -> torch.Tensor:
        return self.bias.view(self.n, self.c_out)


class ActBlock(nn.Module):
    """Activation with optional sparsity forcing; hooks here see ``h`` in and ``phi`` out.

    ``member_dim`` tells the instrumentation which axis indexes members (sample axis is
    the other of the first two).
    """

    def __init__(self, acts: Sequence, member_dim: int, ndim: int, force: str = "none",
                 force_sparsity: Sequence[float] | None = None) -> None:
        super().__init__()
        self.member_dim = member_dim
        self.phi = TorchActivation(acts, member_dim, ndim)
        self.force = force
        if force != "none":
            shape = [1] * ndim
            shape[member_dim] = len(acts)
            self.register_buffer("sparsity", torch.tensor(force_sparsity).view(shape),
                                 persistent=False)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        if self.force == "quantile":
            return self.phi(quantile_shift(h, self.sparsity))
        if self.force == "topk":
            return self.phi(h) * topk_mask(h, self.sparsity)
        return self.phi(h)


class EnsembleMLP(nn.Module):
    """``depth`` hidden layers of ``width`` units and a linear read-out, per member."""

    def __init__(self, members: Sequence[MemberInit], in_dim: int, width: int, depth: int,
                 n_out: int, force: str = "none",
                 force_sparsity: Sequence[float] | None = None) -> None:
        super().__init__()
        e = len(members)
        dims = [in_dim] + [width] * depth + [n_out]
        self.linears = nn.ModuleList(EnsembleLinear(e, a, b) for a, b in zip(dims, dims[1:]))
        self.acts = nn.ModuleList(ActBlock([m.act for m in members], 0, 3, force, force_sparsity)
                                  for _ in range(depth))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.flatten(1)  # the batch is shared by all members
        for lin, act in zip(self.linears, self.acts):
            x = act(lin(x))
        return self.linears[-1](x)


class EnsembleCNN(nn.Module):
    """``depth`` same-padded ``kernel x kernel`` convolutions of ``channels`` channels,
    global average pooling and a linear read-out, per member ([P24]: 300 channels, depth 50)."""

    def __init__(self, members: Sequence[MemberInit], in_channels: int, channels: int,
                 depth: int, n_out: int, kernel: int = 3) -> None:
        super().__init__()
        e = self.n = len(members)
        chans = [in_channels] + [channels] * depth
        self.convs = nn.ModuleList(EnsembleConv2d(e, a, b, kernel) for a, b in zip(chans, chans[1:]))
        self.acts = nn.ModuleList(ActBlock([m.act for m in members], 1, 5) for _ in range(depth))
        self.head = EnsembleLinear(e, channels, n_out)

    @property
    def linears(self) -> list[nn.Module]:
        return [*self.convs, self.head]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b = x.shape[0]
        x = x.repeat(1, self.n, 1, 1)
        for conv, act in zip(self.convs, self.acts):
            h = conv(x)
            x = act(h.view(b, self.n, -1, *h.shape[2:])).view_as(h)
        pooled = x.mean(dim=(2, 3)).view(b, self.n, -1).transpose(0, 1)
        return self.head(pooled)


def initialise(model: nn.Module, members: Sequence[MemberInit], seeds: Sequence[int]) -> None:
    """EoC (or default) initialisation, member ``e`` drawn from ``torch.Generator(seed_e)``
    on the CPU, so a member's weights do not depend on the ensemble it sits in."""
    for e, (member, seed) in enumerate(zip(members, seeds)):
        gen = torch.Generator().manual_seed(int(seed))
        for i, layer in enumerate(model.linears):
            init_weight_(layer.member_weight()[e], layer.fan_in, member, i == 0, gen)
            init_bias_(layer.member_bias()[e], layer.fan_in, member, gen)


def build(arch: dict, members: Sequence[MemberInit], seeds: Sequence[int],
          data_shape: tuple[int, ...], n_classes: int,
          force_sparsity: Sequence[float | None] | None = None) -> nn.Module:
    """Model from a config point (``model`` mlp/cnn, ``width``, ``depth``, ``channels``,
    ``kernel``, ``force``) with per-member forced sparsities; then :func:`initialise`."""
    kind, force = arch.get("model", "mlp"), arch.get("force", "none")
    sparsities = list(force_sparsity or [None] * len(members))
    for s in sparsities:
        check_kind(force, s)
    if kind == "mlp":
        in_dim = int(torch.tensor(data_shape).prod())
        model = EnsembleMLP(members, in_dim, arch["width"], arch["depth"], n_classes, force,
                            sparsities if force != "none" else None)
    elif kind == "cnn":
        if force != "none" or len(data_shape) != 3:
            raise ParameterError("model", kind, "mlp when forcing sparsity or for flat inputs")
        model = EnsembleCNN(members, data_shape[0], arch.get("channels") or arch["width"],
                            arch["depth"], n_classes, arch.get("kernel", 3))
    else:
        raise ParameterError("model", kind, "one of ['mlp', 'cnn']")
    initialise(model, members, seeds)
    return model
