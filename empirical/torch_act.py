"""Catalogue activations as torch modules, generated from the one sympy definition.

A single parameter set uses :meth:`sparsefield.theory.activations.Activation.torch_fn`; an ensemble
whose members differ in parameters (same family) uses :meth:`Family.torch_source` with
the parameters as tensors broadcast along the member axis.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Callable, Sequence

import torch
from torch import nn

from sparsefield.theory.activations import Activation, Family
from sparsefield.theory.errors import ParameterError


@lru_cache(maxsize=None)
def _bound_fn(act: Activation) -> Callable:
    return act.torch_fn()


@lru_cache(maxsize=None)
def _family_fn(fam: Family) -> Callable:
    return fam.torch_source()


class TorchActivation(nn.Module):
    """``phi`` elementwise for one activation or one per ensemble member.

    ``member_dim`` is the axis of the input that indexes members (``E`` entries) and
    ``ndim`` the input rank; per-member parameters are buffers broadcast along it.
    """

    def __init__(self, acts: Activation | Sequence[Activation], member_dim: int = 0,
                 ndim: int = 3) -> None:
        super().__init__()
        acts = [acts] if isinstance(acts, Activation) else list(acts)
        if not acts:
            raise ParameterError("acts", acts, "a non-empty list of activations")
        fam = acts[0].family
        if any(a.family is not fam for a in acts):
            raise ParameterError("acts", [a.name for a in acts],
                                 "one family per ensemble (build one ensemble per family)")
        self.acts = tuple(acts)
        self.shared = all(a.values == acts[0].values for a in acts)
        self.fn = _bound_fn(acts[0]) if self.shared else _family_fn(fam)
        shape = [1] * ndim
        shape[member_dim] = len(acts)
        values = torch.tensor([a.values for a in acts], dtype=torch.float64).T
        self.register_buffer("values", values.reshape(len(fam.params), *shape), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.shared:
            return self.fn(x)
        return self.fn(x, *self.values.to(x.dtype))

    def extra_repr(self) -> str:
        names = sorted({f"{a.name}{a.params or ''}" for a in self.acts})
        return ", ".join(names[:3]) + (", ..." if len(names) > 3 else "")
