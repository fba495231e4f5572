"""Forcing a sparsity level per sample ([BF2] quantile shift, [LN23] top-k).

Both act on the last axis (the units of one sample) with a per-member target ``s``
broadcast along the other axes; ``k0 = round(s N)`` units are forced to zero.

* quantile shift: ``phi(h - t)`` with ``t`` the ``k0``-th smallest pre-activation of the
  sample (detached), so ReLU-like ``phi`` zeroes exactly the ``k0`` smallest units;
* top-k: ``phi(h)`` on the ``N - k0`` largest pre-activations and exactly 0 elsewhere,
  chosen by rank (ties broken by index), so each sample keeps at most ``N - k0`` units.
"""

from __future__ import annotations

import torch

from sparsefield.theory.errors import ParameterError

KINDS = ("none", "quantile", "topk")


def n_zero(sparsity: torch.Tensor, n_units: int) -> torch.Tensor:
    """``k0 = round(s N)`` clamped to ``[1, N - 1]`` (int64, shape of ``sparsity``)."""
    return torch.clamp(torch.round(sparsity * n_units).long(), 1, n_units - 1)


def quantile_shift(h: torch.Tensor, sparsity: torch.Tensor) -> torch.Tensor:
    """``h - t`` with ``t`` the ``k0``-th smallest entry of each sample (last axis)."""
    k0 = n_zero(sparsity, h.shape[-1])
    ranked = h.detach().sort(dim=-1).values
    t = ranked.gather(-1, (k0 - 1).expand(*h.shape[:-1], 1))
    return h - t


def topk_mask(h: torch.Tensor, sparsity: torch.Tensor) -> torch.Tensor:
    """0/1 mask keeping exactly the ``N - k0`` largest entries of each sample."""
    n = h.shape[-1]
    keep = n - n_zero(sparsity, n)
    order = h.detach().argsort(dim=-1, descending=True, stable=True)
    rank_kept = (torch.arange(n, device=h.device) < keep).to(h.dtype).expand(h.shape)
    return torch.zeros_like(h).scatter(-1, order, rank_kept)


def check_kind(kind: str, sparsity: float | None) -> None:
    if kind not in KINDS:
        raise ParameterError("force", kind, f"one of {list(KINDS)}")
    if kind != "none" and (sparsity is None or not 0.0 < sparsity < 1.0):
        raise ParameterError("force_sparsity", sparsity, f"in (0, 1) when force={kind}")
