"""Drift Monte Carlo [BF2]: the expected gradient at initialisation, sampled.

A hidden layer ``h = phi(z)`` feeds a linear read-out ``f = W h`` with
``W_cj ~ N(0, sigma^2)``.  Stein's lemma gives
``E_W[dL/dz_j] = sigma^2 phi(z_j) phi'(z_j) E_W[tr Hess_f L]``
(:func:`sparsefield.theory.drift.stein_expected_grad`), ``tr Hess = n_out`` for
``L = 1/2 |f - y|^2`` and ``sum_c p_c (1 - p_c)`` for softmax cross-entropy.  Here the
left side is averaged over sampled ``W`` and compared per unit (paired with the sampled
right side, so the errors largely cancel), for fixed and for random inputs and labels;
and the net expected bias and weight gradients of a 2-hidden-layer network are averaged
over re-initialisations (zero for the odd/even controls tanh, identity, ``|x|``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from sparsefield.theory import drift, moments
from sparsefield.theory.activations import Activation
from sparsefield.theory.errors import ParameterError, check_positive

from .stats import Z_BOUND, Estimate, sample_mean

LOSSES = ("mse", "ce")
CHUNK = 2048


def _check(loss: str, **counts: int) -> None:
    if loss not in LOSSES:
        raise ParameterError("loss", loss, f"one of {list(LOSSES)}")
    for name, v in counts.items():
        if not (isinstance(v, (int, np.integer)) and v >= 2):
            raise ParameterError(name, v, "an integer >= 2")


def _readout(f: np.ndarray, y: np.ndarray, loss: str) -> tuple[np.ndarray, np.ndarray]:
    """``dL/df`` and ``tr Hess_f L`` (last axis = outputs; ``y`` one-hot or targets)."""
    if loss == "mse":
        return f - y, np.full(f.shape[:-1], drift.mse_hessian_trace(f.shape[-1]))
    p = np.exp(f - f.max(axis=-1, keepdims=True))
    p /= p.sum(axis=-1, keepdims=True)
    return p - y, drift.ce_hessian_trace(p)


@dataclass(frozen=True)
class UnitCheck:
    """Sampled ``E_W[dL/dz_j]`` per unit next to the Stein formula."""

    z: np.ndarray  # pre-activations (units,)
    mc: np.ndarray  # sampled mean of dL/dz_j
    mc_stderr: np.ndarray
    stein: np.ndarray  # sigma^2 phi phi' E[tr Hess] (E[tr Hess] sampled alongside)
    zscore: np.ndarray  # paired (dL/dz_j - sigma^2 phi phi' tr Hess) / stderr
    n: int

    @property
    def correlation(self) -> float:
        """Correlation across units of the sampled and the predicted expected gradient."""
        if np.std(self.stein) == 0.0:
            return float("nan")
        return float(np.corrcoef(self.mc, self.stein)[0, 1])

    @property
    def rel_error(self) -> float:
        """``|mc - stein| / |stein|`` over units (Euclidean norms)."""
        return float(np.linalg.norm(self.mc - self.stein) / np.linalg.norm(self.stein))

    @property
    def sign_agreement(self) -> float:
        """Fraction of units with ``z_j > 0`` where the sampled mean has the predicted sign."""
        pos = self.z > 0
        return float(np.mean(np.sign(self.mc[pos]) == np.sign(self.stein[pos])))

    @property
    def sign_contradictions(self) -> int:
        """Units with ``z_j > 0`` whose sampled mean is significantly (``Z_BOUND``) of the
        opposite sign to the prediction."""
        pos = self.z > 0
        signed = self.mc[pos] * np.sign(self.stein[pos])
        return int(np.sum(signed < -Z_BOUND * self.mc_stderr[pos]))

    @property
    def agrees(self) -> bool:
        return bool(np.all(np.abs(self.zscore) < Z_BOUND))


def fixed_input(act: Activation, z, y, sigma2: float, loss: str, n_samples: int,
                seed: int = 0) -> UnitCheck:
    """``W`` sampled ``n_samples`` times for fixed pre-activations ``z`` and label ``y``."""
    _check(loss, n_samples=n_samples)
    sigma2 = check_positive("sigma2", sigma2)
    z, y = np.asarray(z, float), np.asarray(y, float)
    h, dh = act(z), act.derivative(z)
    rng = np.random.default_rng(np.random.SeedSequence((seed, 0)))
    g_sum, g_sq, d_sum, d_sq, t_sum, n = 0.0, 0.0, 0.0, 0.0, 0.0, 0
    for s in range(0, n_samples, CHUNK):
        k = min(CHUNK, n_samples - s)
        w = rng.standard_normal((k, len(y), len(z))) * math.sqrt(sigma2)
        r, tr = _readout(np.einsum("koj,j->ko", w, h), y, loss)
        g = dh * np.einsum("koj,ko->kj", w, r)
        d = g - drift.stein_expected_grad(h, dh, sigma2, tr[:, None])
        g_sum, g_sq = g_sum + g.sum(0), g_sq + (g * g).sum(0)
        d_sum, d_sq = d_sum + d.sum(0), d_sq + (d * d).sum(0)
        t_sum, n = t_sum + tr.sum(), n + k
    mc, d_mean = g_sum / n, d_sum / n
    se = np.sqrt(np.maximum(g_sq / n - mc * mc, 0.0) / (n - 1))
    d_se = np.sqrt(np.maximum(d_sq / n - d_mean * d_mean, 0.0) / (n - 1))
    stein = drift.stein_expected_grad(h, dh, sigma2, t_sum / n)
    floor = 1e-9 * (np.abs(stein) + np.abs(mc)) + 1e-300
    return UnitCheck(z, mc, se, stein, d_mean / np.hypot(d_se, floor), n)


def random_inputs(act: Activation, n_hidden: int, n_out: int, q: float, sigma2: float,
                  loss: str, n_samples: int, seed: int = 0) -> dict[str, Estimate]:
    """Fresh ``z ~ N(0, q)``, random class label and ``W`` per sample; averages over units.

    ``grad``: net ``E[dL/dz]``; ``paired``: ``E[dL/dz - sigma^2 phi phi' tr Hess]`` (0 by
    Stein); for MSE ``theory`` is ``sigma^2 n_out E[phi phi']`` (:mod:`sparsefield.theory.moments`).
    """
    _check(loss, n_hidden=n_hidden, n_out=n_out, n_samples=n_samples)
    q, sigma2 = check_positive("q", q), check_positive("sigma2", sigma2)
    rng = np.random.default_rng(np.random.SeedSequence((seed, 1)))
    grads, diffs = [], []
    for s in range(0, n_samples, CHUNK):
        k = min(CHUNK, n_samples - s)
        z = rng.standard_normal((k, n_hidden)) * math.sqrt(q)
        y = np.eye(n_out)[rng.integers(0, n_out, k)]
        w = rng.standard_normal((k, n_out, n_hidden)) * math.sqrt(sigma2)
        h, dh = act(z), act.derivative(z)
        r, tr = _readout(np.einsum("koj,kj->ko", w, h), y, loss)
        g = dh * np.einsum("koj,ko->kj", w, r)
        grads.append(g.mean(1))
        diffs.append((g - drift.stein_expected_grad(h, dh, sigma2, tr[:, None])).mean(1))
    out = {"grad": sample_mean(np.concatenate(grads)),
           "paired": sample_mean(np.concatenate(diffs))}
    if loss == "mse":
        out["theory"] = sigma2 * n_out * float(moments.e_phi_dphi(act, q))
    return out


def network(act: Activation, d_in: int, width: int, n_out: int, loss: str, n_inits: int,
            batch: int = 16, sigma_w2: float = 1.0, seed: int = 0) -> dict[str, Estimate]:
    """Net expected gradients of ``x -> phi(W1 x) -> phi(W2 .) -> W3 .`` (zero biases,
    ``W_l ~ N(0, sigma_w^2/fan_in)``, read-out ``N(0, 1/width)``) on random Gaussian
    inputs and random labels, averaged over ``n_inits`` re-initialisations: the mean over
    units of ``dL/db1``, ``dL/db2`` and over entries of ``dL/dW2`` [BF2]."""
    _check(loss, d_in=d_in, width=width, n_out=n_out, n_inits=n_inits)
    sigma_w2 = check_positive("sigma_w2", sigma_w2)
    rng = np.random.default_rng(np.random.SeedSequence((seed, 2)))
    rows = []
    for s in range(0, n_inits, 256):
        k = min(256, n_inits - s)
        w1 = rng.standard_normal((k, width, d_in)) * math.sqrt(sigma_w2 / d_in)
        w2 = rng.standard_normal((k, width, width)) * math.sqrt(sigma_w2 / width)
        w3 = rng.standard_normal((k, n_out, width)) * math.sqrt(1.0 / width)
        x = rng.standard_normal((k, batch, d_in))
        y = np.eye(n_out)[rng.integers(0, n_out, (k, batch))]
        z1 = x @ np.swapaxes(w1, 1, 2)
        h1 = act(z1)
        z2 = h1 @ np.swapaxes(w2, 1, 2)
        h2 = act(z2)
        r, _ = _readout(h2 @ np.swapaxes(w3, 1, 2), y, loss)
        d2 = act.derivative(z2) * (r @ w3) / batch  # dL/dz2 of the batch-mean loss
        d1 = act.derivative(z1) * (d2 @ w2)
        rows.append(np.stack([d1.sum(1).mean(1), d2.sum(1).mean(1),
                              np.einsum("kbj,kbi->k", d2, h1) / width ** 2], axis=1))
    rows = np.concatenate(rows)
    return {k: sample_mean(rows[:, i]) for i, k in enumerate(("b1", "b2", "W2"))}
