"""Finite-width random networks at initialisation, many at once, against the maps.

``h^{l+1} = W^{l+1} phi(h^l) + b^{l+1}``, ``W_ij ~ N(0, sigma_w^2/N)``,
``b_i ~ N(0, sigma_b^2)`` (docs/theory.md section 3), for two inputs whose ``h^0`` have second
moment ``q^0`` and correlation ``rho^0`` exactly.  Recorded per layer and network:
``q^l = |h^l|^2/N`` (each input), the exact-zero fraction of ``phi(h^l)``, the
correlation of the two ``h^l``, and the gradient gain ``|g^l|^2/|g^{l+1}|^2`` of random
output gradients back-propagated, ``g^l = phi'(h^l) * W^{l+1 T} g^{l+1}``; the maps
predict ``q^{l+1} = V(q^l)``, ``rho^{l+1} = R(rho^l)``, gain ``chi_1(q^l)``, sparsity
``P(phi = 0)`` (Poole et al. 2016; Schoenholz et al. 2017; [P24]).

Two exact samplers:

* ``dense``: the weights themselves, batched matrix products (BLAS); the backward pass
  regenerates ``W^l`` from its per-(group, layer) seed.
* ``gram`` (default, ``O(N)`` per layer): the rows of ``W`` are i.i.d. Gaussian, so given
  the layer input ``X`` (``N x 2``) the outputs ``W X`` have rows ``N(0, sigma_w^2 G/N)``,
  ``G = X^T X``; backward, ``W`` given ``W X = A`` is ``A G^+ X^T + eta P``
  (``P = I - X G^+ X^T``, ``eta`` fresh), so ``W^T g = X G^+ A g + P eta^T g`` with
  ``eta^T g`` rows ``N(0, sigma_w^2 g^T g / N)``.  Same joint law as ``dense``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from tqdm import tqdm

from sparsefield.theory import moments
from sparsefield.theory.activations import Activation
from sparsefield.theory.errors import ParameterError, check_nonnegative, check_positive
from sparsefield.theory.maps import MeanField

from .stats import Estimate, sample_means, z_score

GROUP = {"gram": 64, "dense": 8}  # networks per random stream (fixed: part of the seed)


@dataclass(frozen=True)
class Ensemble:
    """Per-network, per-layer records of a finite-width simulation."""

    q: np.ndarray  # (networks, depth + 1, 2): |h^l|^2 / N for each input
    sparsity: np.ndarray  # (networks, depth + 1, 2): fraction of phi(h^l) == 0
    corr: np.ndarray  # (networks, depth + 1): correlation of h^l(x_a), h^l(x_b)
    gain: np.ndarray | None  # (networks, depth): |g^l|^2 / |g^{l+1}|^2, both inputs summed
    gain_each: np.ndarray | None = None  # (networks, depth, 2): the same for each input
    config: dict = field(default_factory=dict)

    @property
    def n_networks(self) -> int:
        return self.q.shape[0]

    @property
    def q_mean(self) -> np.ndarray:
        """``q^l`` averaged over the two inputs, ``(networks, depth + 1)``."""
        return self.q.mean(axis=2)


def _check(depth, width, n_networks, q0, rho0, method, dtype) -> None:
    for name, v in (("depth", depth), ("width", width), ("n_networks", n_networks)):
        if not (isinstance(v, (int, np.integer)) and v >= 1):
            raise ParameterError(name, v, "an integer >= 1")
    if width < 3:
        raise ParameterError("width", width, "an integer >= 3")
    check_positive("q0", q0)
    if not -1.0 < rho0 < 1.0:
        raise ParameterError("rho0", rho0, "in the open interval (-1, 1)")
    if method not in GROUP:
        raise ParameterError("method", method, f"one of {sorted(GROUP)}")
    if np.dtype(dtype) not in (np.float32, np.float64):
        raise ParameterError("dtype", dtype, "float32 or float64")


def simulate(act: Activation, sigma_w2: float, sigma_b2: float, depth: int, width: int,
             n_networks: int, q0: float = 1.0, rho0: float = 0.5, seed: int = 0,
             gradients: bool = True, method: str = "gram", dtype=np.float64,
             progress: bool = False) -> Ensemble:
    """Simulate ``n_networks`` independent networks (see the module docstring).

    Networks come in fixed groups (``GROUP[method]``), group ``k`` drawing from
    ``SeedSequence((seed, k))``: results depend on ``seed`` only, not on ``n_networks``
    for the networks they share.
    """
    _check(depth, width, n_networks, q0, rho0, method, dtype)
    sigma_w2 = check_positive("sigma_w2", sigma_w2)
    sigma_b2 = check_nonnegative("sigma_b2", sigma_b2)
    group = GROUP[method]
    starts = range(0, n_networks, group)
    parts = []
    bar = _progress(len(starts), progress)
    for k, s in enumerate(starts):
        g = min(group, n_networks - s)
        run = _gram if method == "gram" else _dense
        parts.append(run(act, sigma_w2, sigma_b2, depth, width, g, q0, rho0, (seed, k),
                         gradients, np.dtype(dtype)))
        bar.update()
    bar.close()
    cat = [np.concatenate(p) if p[0] is not None else None for p in zip(*parts)]
    each = cat.pop()
    config = dict(activation=act.name, params=act.params, sigma_w2=sigma_w2,
                  sigma_b2=sigma_b2, depth=depth, width=width, n_networks=n_networks,
                  q0=q0, rho0=rho0, seed=seed, method=method, dtype=np.dtype(dtype).name)
    return Ensemble(*cat, gain_each=each, config=config)


def _progress(total: int, show: bool):
    return tqdm(total=total, disable=not show, desc="networks", unit="group", leave=False)


def _inputs(rng, g, width, q0, rho0, dtype) -> np.ndarray:
    """``h^0`` of shape ``(g, 2, N)``: second moment ``q0`` and correlation ``rho0`` exactly."""
    e, _ = np.linalg.qr(rng.standard_normal((g, width, 2)))
    e = np.swapaxes(e, 1, 2) * math.sqrt(q0 * width)
    h0 = np.stack([e[:, 0], rho0 * e[:, 0] + math.sqrt(1 - rho0 * rho0) * e[:, 1]], axis=1)
    return h0.astype(dtype)


class _Records:
    """Per-layer ``q``, exact-zero fraction and correlation of ``h`` (``(g, 2, N)``)."""

    def __init__(self, act: Activation) -> None:
        self.act, self.q, self.sparsity, self.corr = act, [], [], []

    def add(self, h: np.ndarray) -> np.ndarray:
        """Record ``h``; return ``phi(h)``."""
        with np.errstate(over="ignore", invalid="ignore"):
            x = self.act(h).astype(h.dtype, copy=False)
            sq = np.einsum("gin,gjn->gij", h, h, dtype=np.float64)
            self.corr.append(sq[:, 0, 1] / np.sqrt(sq[:, 0, 0] * sq[:, 1, 1]))
        self.q.append(np.diagonal(sq, axis1=1, axis2=2) / h.shape[-1])
        self.sparsity.append((x == 0).mean(axis=2))
        return x

    def arrays(self, gains):
        """``(q, sparsity, corr, gain, gain_each)``; ``gains``: per-layer ``(num, den)``
        (each ``(g, 2)``: ``|g^l|^2``, ``|g^{l+1}|^2`` per input) or ``None``."""
        out = (np.stack(self.q, 1), np.stack(self.sparsity, 1), np.stack(self.corr, 1))
        if gains is None:
            return (*out, None, None)
        num, den = (np.stack(x, 1) for x in zip(*gains))
        with np.errstate(divide="ignore", invalid="ignore"):
            return (*out, num.sum(2) / den.sum(2), num / den)


def _sqrt_psd(c: np.ndarray) -> np.ndarray:
    """Symmetric square root of a batch of PSD matrices."""
    lam, u = np.linalg.eigh(c)
    return (u * np.sqrt(np.maximum(lam, 0.0))[..., None, :]) @ np.swapaxes(u, -1, -2)


def _gram(act, sw2, sb2, depth, width, g, q0, rho0, key, gradients, dtype):
    rng = np.random.default_rng(np.random.SeedSequence(key))
    rec = _Records(act)
    h = _inputs(rng, g, width, q0, rho0, dtype)
    hs, xs, bs = [h], [], []
    for _ in range(depth):
        x = rec.add(h)
        with np.errstate(over="ignore", invalid="ignore"):
            gram = np.einsum("gin,gjn->gij", x, x, dtype=np.float64) * (sw2 / width)
            root = _sqrt_psd(gram).astype(dtype)
        xi = rng.standard_normal((g, 2, width), dtype=dtype)
        b = (rng.standard_normal((g, 1, width)) * math.sqrt(sb2)).astype(dtype)
        h = root @ xi + b  # rows N(0, sigma_w^2 G / N) + bias: the law of W x + b
        if gradients:
            hs.append(h)
            xs.append(x)
            bs.append(b)
    rec.add(h)
    return rec.arrays(_gram_backward(act, sw2, hs, xs, bs, rng, dtype) if gradients else None)


def _gram_backward(act, sw2, hs, xs, bs, rng, dtype) -> np.ndarray:
    """Per layer ``(|g^l|^2, |g^{l+1}|^2)`` of each input, each ``W^{l+1}`` drawn from its law
    given the forward pass."""
    gvec = rng.standard_normal(hs[-1].shape).astype(dtype)  # dL/dh^L for both inputs
    n = gvec.shape[-1]
    gains = []
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for l in range(len(xs) - 1, -1, -1):
            x, a = xs[l], hs[l + 1] - bs[l]  # a = W x (rows: inputs)
            gram = np.einsum("gin,gjn->gij", x, x, dtype=np.float64)
            ginv = np.linalg.pinv(gram, rcond=1e-12, hermitian=True)
            ag = np.einsum("gin,gjn->gij", a, gvec, dtype=np.float64)  # (A g)_{ij} = a_i . g_j
            mean = np.einsum("gik,gkj,gin->gjn", ginv, ag, x)  # X G^+ A g, rows: g_a, g_b
            ggt = np.einsum("gin,gjn->gij", gvec, gvec, dtype=np.float64) * (sw2 / n)
            noise = _sqrt_psd(ggt) @ rng.standard_normal(gvec.shape)
            coef = np.einsum("gik,gjk->gji", ginv, np.einsum("gkn,gjn->gjk", x, noise))
            noise = noise - np.einsum("gjk,gkn->gjn", coef, x)  # P eta^T g
            back = act.derivative(hs[l]) * (mean + noise)
            gains.append((np.einsum("gin,gin->gi", back, back, dtype=np.float64),
                          np.einsum("gin,gin->gi", gvec, gvec, dtype=np.float64)))
            gvec = back.astype(dtype)
    return gains[::-1]


def _dense(act, sw2, sb2, depth, width, g, q0, rho0, key, gradients, dtype):
    def layer(l):  # the same (W^l, b^l) forward and backward
        rng = np.random.default_rng(np.random.SeedSequence((*key, l)))
        w = rng.standard_normal((g, width, width), dtype=dtype) * dtype.type(math.sqrt(sw2 / width))
        return w, (rng.standard_normal((g, 1, width)) * math.sqrt(sb2)).astype(dtype)

    rng = np.random.default_rng(np.random.SeedSequence((*key, depth + 1)))
    rec = _Records(act)
    h = _inputs(rng, g, width, q0, rho0, dtype)
    hs = [h]
    for l in range(1, depth + 1):
        x = rec.add(h)
        w, b = layer(l)
        with np.errstate(over="ignore", invalid="ignore"):
            h = x @ np.swapaxes(w, 1, 2) + b  # rows are inputs: h = x W^T + b
        hs.append(h)
    rec.add(h)
    if not gradients:
        return rec.arrays(None)
    gvec = rng.standard_normal(h.shape).astype(dtype)
    gains = []
    with np.errstate(over="ignore", invalid="ignore"):
        for l in range(depth, 0, -1):
            back = act.derivative(hs[l - 1]).astype(dtype) * (gvec @ layer(l)[0])
            gains.append((np.einsum("gin,gin->gi", back, back, dtype=np.float64),
                          np.einsum("gin,gin->gi", gvec, gvec, dtype=np.float64)))
            gvec = back
    return rec.arrays(gains[::-1])


@dataclass(frozen=True)
class Comparison:
    """Ensemble means (with standard errors over networks) next to the maps, per layer."""

    theory: dict[str, np.ndarray]
    mean: dict[str, np.ndarray]
    stderr: dict[str, np.ndarray]
    n: int  # networks

    def z(self, key: str) -> np.ndarray:
        """Per layer ``(mean - theory) / stderr`` (:func:`.stats.z_score`: zero-s.e. guard)."""
        return np.vectorize(z_score, otypes=[float])(self.mean[key], self.theory[key],
                                                     self.stderr[key])

    def at(self, key: str, layer: int) -> Estimate:
        return Estimate(float(self.mean[key][layer]), float(self.stderr[key][layer]), self.n)


def compare(ens: Ensemble, mf: MeanField, corr: bool = True) -> Comparison:
    """Per-layer ``q``, sparsity, correlation (unless ``corr=False``: ``iterate_corr`` of a
    smooth activation costs a nested quadrature per layer) and gain against
    ``MeanField.iterate``, ``iterate_corr``, ``p_zero`` and ``chi1`` from the same
    ``q^0``, ``rho^0``."""
    cfg = ens.config
    q_th = mf.iterate(cfg["q0"], cfg["depth"])
    th = {"q": q_th, "sparsity": np.asarray(moments.p_zero(mf.act, q_th), float)}
    data = {"q": ens.q_mean, "sparsity": ens.sparsity.mean(axis=2)}
    if corr:
        th["corr"] = mf.iterate_corr(cfg["rho0"], cfg["q0"], cfg["depth"])
        data["corr"] = ens.corr
    if ens.gain is not None:
        th["gain"] = np.asarray(mf.chi1(q_th[:-1]), float)
        data["gain"] = ens.gain
    mean, err = {}, {}
    for k, v in data.items():
        mean[k], err[k] = sample_means(v, axis=0)
    return Comparison(th, mean, err, ens.n_networks)
