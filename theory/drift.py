"""Expected gradient at initialisation and the sign of weight drift [BF2].

For a linear read-out ``f = W h + b`` with ``h_j = phi(z_j)`` and ``W ~ N(0, sigma^2)``
independent of the rest, Stein's lemma gives
``E_W[dL/dz_j] = sigma^2 phi(z_j) phi'(z_j) E[tr Hess_f L]``: ``n_out sigma^2 phi phi'``
for ``L = 1/2 ||f - y||^2`` and ``sigma^2 phi phi' E[sum_c p_c (1 - p_c)]`` for softmax
cross-entropy.  Over ``z ~ N(0, q)`` the net sign is that of ``E[phi phi']``: when it is
positive, gradient descent pushes hidden biases and downstream weights (fed inputs of
positive mean) negative.  Odd or even activations have ``E[phi phi'] = 0`` exactly.
"""

from __future__ import annotations

import numpy as np

from . import moments
from .activations import Activation
from .errors import ParameterError, check_variance
from .piecewise_linear import density
from .spec import as_activation, format_spec

ZERO_TOL = 1e-12


def stein_expected_grad(phi_z, dphi_z, sigma2: float, hess_trace):
    """``E_W[dL/dz] = sigma^2 phi(z) phi'(z) E[tr Hess_f L]`` ([BF2], Stein's lemma)."""
    return sigma2 * np.asarray(phi_z) * np.asarray(dphi_z) * hess_trace


def mse_hessian_trace(n_out: int) -> float:
    """``tr Hess_f (1/2 ||f - y||^2) = n_out``."""
    return float(n_out)


def ce_hessian_trace(probs) -> np.ndarray:
    """``tr Hess_f CE = sum_c p_c (1 - p_c)`` for softmax probabilities (last axis)."""
    p = np.asarray(probs, float)
    return np.sum(p * (1.0 - p), axis=-1)


def drift_sign(e_phi_dphi: float, scale: float = 1.0) -> str:
    """``negative`` if ``E[phi phi'] > 0`` (weights and biases drift down), ``positive`` if
    ``< 0``, ``none`` if zero (to ``ZERO_TOL`` relative to ``scale``)."""
    if abs(e_phi_dphi) <= ZERO_TOL * max(scale, 1.0):
        return "none"
    return "negative" if e_phi_dphi > 0 else "positive"


def drift_stats(act: Activation, q: float = 1.0) -> dict:
    """``E[phi]``, ``E[phi phi']`` (all, ``z >= 0``, ``z < 0``), ``P(phi = 0)`` and the
    predicted drift for ``z ~ N(0, q)``.

    For activations proved odd or even (:attr:`Family.parity`) ``E[phi phi']`` is set to
    0 exactly (``phi phi'`` is odd); the odd ones also have ``E[phi] = 0``.  ``E[phi phi']``
    uses the classical derivative (what backpropagation computes, and so what drives the
    drift); for a jumping ``phi`` the distributional value, with the jump terms
    :func:`jump_terms`, is ``E_phi_dphi_dist`` (docs/theory.md section 4.5).
    """
    act = as_activation(act)
    q = check_variance("q", q)
    parity = act.family.parity
    e_phi = 0.0 if parity == -1 else float(moments.e_phi(act, q))
    pos = float(moments.e_phi_dphi(act, q, "pos"))
    neg = float(moments.e_phi_dphi(act, q, "neg"))
    total = 0.0 if parity != 0 else pos + neg
    e_phi2 = float(moments.e_phi2(act, q))
    out = {"E_phi": e_phi, "E_phi_dphi": total, "E_phi_dphi_pos": pos,
           "E_phi_dphi_neg": neg, "p_zero": float(moments.p_zero(act, q))}
    bad = [k for k, v in out.items() if not np.isfinite(v)] + (["E_phi2"] if not e_phi2 >= 0 else [])
    if bad:
        raise ParameterError("q", q, f"a variance where the drift statistics of "
                             f"{format_spec(act)} are computable ({bad[0]} is not finite "
                             "or negative there)")
    if act.has_jumps:
        out["E_phi_dphi_dist"] = total + jump_terms(act, q)
    return {**out, "drift": drift_sign(total, e_phi2 / np.sqrt(q))}


def jump_terms(act: Activation, q: float) -> float:
    """``sum_b [phi^2]_b p_q(b) / 2``: what the delta terms ``D_b delta(x - b)`` of a jumping
    ``phi'`` add to ``E[phi phi']`` in the sense of distributions (``phi phi' = (phi^2)'/2``;
    docs/theory.md section 4.5)."""
    b = act.breakpoints
    up, lo = act(b), act(b) - act.jumps  # phi(b+) and phi(b-)
    return float(np.sum((up * up - lo * lo) * density(b, q)) / 2.0)
