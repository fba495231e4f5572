"""Activation-sparsity metrics of transformer MLPs ([LN23], [WA24]; docs/theory.md section 4.8).

Inputs are MLP activations ``a = phi(h)`` (or their pre-activations ``h``) of shape
``(..., T, F)``: sequences of ``T`` tokens with ``F`` hidden units, leading axes are
sequences.  Every function works on the tensor's device and returns tensors, so a caller
can compute them all and fetch once.

* nonzero fraction per token [LN23]: ``nnz(a_t) / F``; exact-zero sparsity is ``1 -`` its mean;
* unit usage per sequence [WA24]: fraction of units nonzero for at least one token of the
  sequence; per batch: the same over consecutive chunks of ``batch_tokens`` (8192) tokens;
* dead units: never nonzero over all the tokens given;
* soft sparsity (GELU, SiLU, ...): fraction of negative pre-activations, or of
  ``|a| <= eps``;
* per-token top-k [LN23]: keep exactly the ``k`` largest activations of *each token*
  (not of the batch, not the ``k``-th value as a threshold shared by ties).
"""

from __future__ import annotations

import torch

from sparsefield.theory.errors import ParameterError

from .store import BATCH_USAGE, DEAD, MAX_ACT, NONZERO, SEQ_USAGE, SOFT_SPARSITY, ZERO_SPARSITY

BATCH_TOKENS = 8192  # [WA24]


def _check_rank(a: torch.Tensor, rank: int, name: str) -> None:
    if a.dim() < rank:
        raise ParameterError(name, tuple(a.shape), f"a tensor with at least {rank} axes")


def nonzero_mask(a: torch.Tensor, eps: float = 0.0) -> torch.Tensor:
    """``|a| > eps`` (``eps = 0``: exact nonzeros)."""
    if eps < 0:
        raise ParameterError("eps", eps, ">= 0")
    return a.abs() > eps


def token_nonzero_fraction(a: torch.Tensor, eps: float = 0.0) -> torch.Tensor:
    """Per token, the fraction of the ``F`` units that are nonzero: shape ``a.shape[:-1]``."""
    _check_rank(a, 1, "a")
    return nonzero_mask(a, eps).float().mean(dim=-1)


def sequence_unit_usage(a: torch.Tensor, eps: float = 0.0) -> torch.Tensor:
    """Per sequence, the fraction of units nonzero on at least one of its ``T`` tokens
    [WA24]: shape ``a.shape[:-2]``."""
    _check_rank(a, 2, "a")
    return nonzero_mask(a, eps).any(dim=-2).float().mean(dim=-1)


def batch_unit_usage(a: torch.Tensor, batch_tokens: int = BATCH_TOKENS,
                     eps: float = 0.0) -> torch.Tensor:
    """Fraction of units used (nonzero somewhere) in each consecutive chunk of
    ``batch_tokens`` tokens [WA24]; tokens are flattened in order and an incomplete
    last chunk is dropped.  Shape ``(n_chunks,)``."""
    _check_rank(a, 1, "a")
    if batch_tokens < 1:
        raise ParameterError("batch_tokens", batch_tokens, "an integer >= 1")
    flat = nonzero_mask(a, eps).reshape(-1, a.shape[-1])
    n = flat.shape[0] // batch_tokens
    if n == 0:
        raise ParameterError("batch_tokens", batch_tokens, f"<= the {flat.shape[0]} tokens given")
    chunks = flat[: n * batch_tokens].view(n, batch_tokens, -1)
    return chunks.any(dim=1).float().mean(dim=-1)


def dead_units(a: torch.Tensor, eps: float = 0.0) -> torch.Tensor:
    """Boolean ``(F,)``: units that are zero on every token given."""
    _check_rank(a, 1, "a")
    return ~nonzero_mask(a, eps).reshape(-1, a.shape[-1]).any(dim=0)


def negative_fraction(h: torch.Tensor) -> torch.Tensor:
    """Soft sparsity: fraction of pre-activations ``h < 0`` (scalar)."""
    return (h < 0).float().mean()


def topk_per_token(a: torch.Tensor, k: int) -> torch.Tensor:
    """``a`` with all but the ``k`` largest entries of each token (last axis) set to 0.

    Exactly ``k`` entries are kept per token (ties broken by index), so each token has
    at most ``k`` nonzeros [LN23].
    """
    n = a.shape[-1]
    if not 1 <= k <= n:
        raise ParameterError("k", k, f"an integer in [1, {n}]")
    idx = a.topk(k, dim=-1, sorted=False).indices
    return torch.zeros_like(a).scatter(-1, idx, a.gather(-1, idx))


def summary(a: torch.Tensor, h: torch.Tensor | None = None,
            batch_tokens: int = BATCH_TOKENS) -> dict[str, torch.Tensor]:
    """All scalar metrics of one layer's activations ``a`` ``(B, T, F)`` (device tensors):
    ``nonzero`` (mean per-token nonzero fraction), ``zero_sparsity`` (``1 - nonzero``),
    ``seq_usage`` (mean per-sequence unit usage), ``batch_usage`` (mean per-8192-token
    usage; over all tokens when fewer), ``dead`` (fraction of dead units), ``max_act``
    (``max |a|``) and, with ``h``, ``soft_sparsity`` (fraction ``h < 0``)."""
    _check_rank(a, 3, "a")
    nonzero = token_nonzero_fraction(a).mean()
    n_tokens = a.shape[0] * a.shape[1]
    out = {NONZERO: nonzero, ZERO_SPARSITY: 1.0 - nonzero,
           SEQ_USAGE: sequence_unit_usage(a).mean(),
           BATCH_USAGE: batch_unit_usage(a, min(batch_tokens, n_tokens)).mean(),
           DEAD: dead_units(a).float().mean(),
           MAX_ACT: a.abs().amax()}
    if h is not None:
        out[SOFT_SPARSITY] = negative_fraction(h)
    return out
