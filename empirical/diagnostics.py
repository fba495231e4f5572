"""Signal-propagation diagnostics of an MLP ensemble, measured at evaluation steps only.

One extra forward and backward pass on ``2 P`` fixed evaluation inputs (``P`` disjoint
pairs) per evaluation, so the cost is a small fraction of an evaluation and nothing runs
between evaluations (docs/theory.md section 4.9; predictions in :mod:`.diag_theory`).
Per member, with ``h^l`` the pre-activations of hidden layer ``l = 1..L``:

* typical back-prop gain per layer: ``mean_samples log(|dL/dh^l|^2 / |dL/dh^{l+1}|^2)``
  (``L - 1`` rows; per-sample loss gradients, so each sample is its own random vector);
* ``1 - rho^l``: one minus the correlation ``<h_a, h_b>/(|h_a| |h_b|)`` of each input pair,
  averaged over pairs (``L`` rows; computed in float64);
* linear-window fraction ``P(phi'(h^l) != 0)`` (``L`` rows; ``phi'`` by autograd, so a
  flat clipped piece counts as outside the window, not only exact zeros of ``phi``);
* logit spread across inputs: ``sqrt(mean_classes var_inputs f_c)`` (one row);
* relative update of the evaluation step ``|W_after - W_before|_F / |W_before|_F`` per
  layer (``L + 1`` rows, read-out included; :func:`relative_update`);
* at initialisation only: the input-output Jacobian ``df/dx`` of each input, its
  numerical rank (singular values above ``s_max max(C, D) eps_float32``) and its
  effective rank ``exp(H)``, ``H`` the entropy of ``s / sum s`` (Roy & Vetterli 2007;
  0 for a zero Jacobian), averaged over inputs; and each pair's layer-1 correlation,
  which seeds the prediction.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from .store import (
    DIAG_ACTIVE_FRAC,
    DIAG_CORR_GAP,
    DIAG_LOG_GAIN,
    DIAG_LOGIT_SPREAD,
    DIAG_PAIR_RHO1,
    JAC_ERANK,
    JAC_RANK,
)

PAIRS = 16  # input pairs (2 x PAIRS inputs) per diagnostic pass
JAC_INPUTS = 8  # inputs whose Jacobian is decomposed at initialisation
TINY = 1e-300  # floor under squared gradient norms before the logarithm (float64)


def applies(model: nn.Module) -> bool:
    """Diagnostics are defined for the MLP ensemble (``acts`` between ``linears``)."""
    return hasattr(model, "acts") and len(model.linears) == len(model.acts) + 1 \
        and all(a.member_dim == 0 for a in model.acts)


def _forward(model: nn.Module, x: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor]:
    """Pre-activations of every hidden layer and the logits, ``x`` shared ``(B, D)`` or per
    member ``(E, B, D)``."""
    hs = []
    z = x
    for lin, act in zip(model.linears, model.acts):
        h = lin(z)
        hs.append(h)
        z = act(h)
    return hs, model.linears[-1](z)


def _pair_gap(h: torch.Tensor) -> torch.Tensor:
    """``1 - rho`` of consecutive inputs ``(2i, 2i+1)`` of ``h`` ``(E, 2P, N)``: ``(E, P)``."""
    h = h.double()
    a, b = h[:, 0::2], h[:, 1::2]
    rho = (a * b).sum(-1) / (a.norm(dim=-1) * b.norm(dim=-1)).clamp(min=TINY)
    return 1.0 - rho


def measure(model: nn.Module, x: torch.Tensor, y: torch.Tensor, loss_fn) -> dict[str, np.ndarray]:
    """The per-evaluation diagnostics on inputs ``x`` (``2 P`` of them, paired in order) as
    ``(rows, members)`` host arrays; ``loss_fn(logits, y)`` gives per-member mean losses."""
    with torch.enable_grad():
        hs, logits = _forward(model, x.flatten(1))
        total = loss_fn(logits, y).sum() * len(y)  # per-sample gradients, unscaled
        grads = torch.autograd.grad(total, hs)
        window = []
        for h, act in zip(hs, model.acts):
            hd = h.detach().requires_grad_(True)
            (d,) = torch.autograd.grad(act.phi(hd).sum(), hd)
            window.append((d != 0).float().mean(dim=(1, 2)))
    g2 = torch.stack([g.double().square().sum(-1) for g in grads]).clamp(min=TINY).log()
    # g2: (L, E, B) log squared gradient norms per layer, member and input
    out = {DIAG_LOG_GAIN: (g2[:-1] - g2[1:]).mean(-1),
           DIAG_CORR_GAP: torch.stack([_pair_gap(h.detach()).mean(-1) for h in hs]),
           DIAG_ACTIVE_FRAC: torch.stack(window).double(),
           DIAG_LOGIT_SPREAD: logits.detach().double().var(dim=1).mean(-1).sqrt()[None]}
    keys = list(out)
    host = torch.cat([out[k] for k in keys]).cpu().numpy()
    sizes = np.cumsum([0] + [out[k].shape[0] for k in keys])
    return {k: host[a:b] for k, a, b in zip(keys, sizes, sizes[1:])}


def measure_init(model: nn.Module, x: torch.Tensor, n: int) -> dict[str, np.ndarray]:
    """At initialisation (``n`` members): Jacobian rank and effective rank (means over the
    first :data:`JAC_INPUTS` inputs) and each pair's layer-1 correlation ``(P, members)``."""
    xj = x[:JAC_INPUTS].flatten(1).expand(n, -1, -1).clone().requires_grad_(True)
    with torch.enable_grad():
        hs, logits = _forward(model, xj)
        rows = [torch.autograd.grad(logits[..., c].sum(), xj, retain_graph=True)[0]
                for c in range(logits.shape[-1])]
    jac = torch.stack(rows, dim=2).double()  # (E, B, C, D)
    s = torch.linalg.svdvals(jac)  # (E, B, C)
    tol = s[..., :1] * max(jac.shape[-2:]) * torch.finfo(torch.float32).eps
    rank = (s > tol).double().sum(-1)
    w = s / s.sum(-1, keepdim=True).clamp(min=TINY)
    erank = torch.where(rank > 0, (-(w * w.clamp(min=TINY).log()).sum(-1)).exp(), 0.0)
    with torch.no_grad():
        h1 = model.linears[0](x.flatten(1))
    rho1 = 1.0 - _pair_gap(h1).T  # (P, E)
    host = torch.cat([rank.mean(-1)[None], erank.mean(-1)[None], rho1]).cpu().numpy()
    return {JAC_RANK: host[:1], JAC_ERANK: host[1:2], DIAG_PAIR_RHO1: host[2:]}


def snapshot(model: nn.Module) -> list[torch.Tensor]:
    """Copies of the weights before an evaluation step's update."""
    return [lin.weight.detach().clone() for lin in model.linears]


def relative_update(before: list[torch.Tensor], model: nn.Module, n: int) -> np.ndarray:
    """``|W_after - W_before|_F / |W_before|_F`` per layer and member ``(L + 1, E)``."""
    rel = [(lin.weight.detach() - w0).reshape(n, -1).norm(dim=1)
           / w0.reshape(n, -1).norm(dim=1).clamp(min=1e-30)
           for w0, lin in zip(before, model.linears)]
    return torch.stack(rel).double().cpu().numpy()


def no_update(model: nn.Module, n: int) -> np.ndarray:
    """The relative-update row of an evaluation without an update (step 0): ``nan``."""
    return np.full((len(model.linears), n), np.nan)
