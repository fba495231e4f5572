"""The peers of ``bench_peers.py``, each called the way its authors intend: neural-tangents
0.6.5 (``stax`` layers, ``kernel_fn`` under ``jax.jit``, float64) and dks 0.1.2 (its
Gauss-Legendre Gaussian mean and its ``dblquad`` 2-D mean), on plain ``phi`` written by hand.
Imported only when the peers are."""

from __future__ import annotations

import numpy as np

CRELU = {"tau": 1.0364, "m": 0.8095}
CST = {"tau": 0.5, "m": 1.5}
DKS_DEFAULT = 100_000  # dks.base.activation_transform._QUADRATURE_ORDER
DKS_BEST = 1_000  # as accurate as the default on these phi (2e-13), 100x fewer nodes


def jnp_phi(name: str):
    import jax.numpy as jnp
    import jax.scipy.special as jsp
    t, m, t2, m2 = CRELU["tau"], CRELU["m"], CST["tau"], CST["m"]
    return {"gelu": lambda x: x * 0.5 * (1 + jsp.erf(x / jnp.sqrt(2.0))), "tanh": jnp.tanh,
            "silu": lambda x: x / (1 + jnp.exp(-x)), "sigmoid": lambda x: 1 / (1 + jnp.exp(-x)),
            "relu": lambda x: jnp.maximum(x, 0.0), "relu2": lambda x: jnp.maximum(x, 0.0) ** 2,
            "crelu": lambda x: jnp.clip(x - t, 0.0, m),
            "cst": lambda x: jnp.sign(x) * jnp.clip(jnp.abs(x) - t2, 0.0, m2)}[name]


def np_phi(name: str):
    """``phi`` as a plain numpy function (what a dks user passes)."""
    from scipy.special import erf
    t, m, t2, m2 = CRELU["tau"], CRELU["m"], CST["tau"], CST["m"]
    return {"gelu": lambda x: x * 0.5 * (1 + erf(x / np.sqrt(2.0))), "tanh": np.tanh,
            "silu": lambda x: x / (1 + np.exp(-x)), "sigmoid": lambda x: 1 / (1 + np.exp(-x)),
            "relu": lambda x: np.maximum(x, 0.0), "relu2": lambda x: np.maximum(x, 0.0) ** 2,
            "crelu": lambda x: np.clip(x - t, 0.0, m),
            "cst": lambda x: np.sign(x) * np.clip(np.abs(x) - t2, 0.0, m2)}[name]


def nt_layers(name: str) -> dict:
    """NT's closed-form layer for ``name`` (if it has one) and its Gauss-Hermite layers."""
    from neural_tangents import stax
    out = {}
    closed = {"gelu": stax.Gelu, "relu": stax.Relu, "relu2": lambda: stax.RectifiedMonomial(2)}
    if name in closed:
        out["NT closed form"] = closed[name]()
    for deg in (25, 200):
        out[f"NT Gauss-Hermite deg {deg}"] = stax.ElementwiseNumerical(jnp_phi(name), deg=deg)
    return out


def _kernel_fn(layer):
    from neural_tangents import stax
    return stax.serial(stax.Dense(1, W_std=1.0, b_std=None), layer)[2]


def nt_kernel(layer, q: float, rho: float | None):
    """``E[phi(u1) phi(u2)]`` (or ``E[phi^2]`` when ``rho`` is None) from NT's kernel_fn of
    ``Dense(W_std=1, no bias) -> layer`` on two inputs with ``x x^T / d`` = the covariance."""
    import jax
    import jax.numpy as jnp
    kernel_fn = _kernel_fn(layer)
    c = 1.0 if rho is None else rho
    x = jnp.sqrt(2.0 * q) * jnp.array([[1.0, 0.0], [c, np.sqrt(max(1.0 - c * c, 0.0))]])
    if rho is None:
        x = x[:1]
    fn = jax.jit(lambda x: kernel_fn(x, None, "nngp"))
    idx = (0, 0) if rho is None else (0, 1)
    return lambda: float(fn(x)[idx])


def nt_diagonal(layer, qs):
    """``E[phi^2]`` at every ``q`` of ``qs`` in one ``kernel_fn`` call: a batch of inputs of
    norms ``sqrt(q)``, its ``cov1`` (the diagonal; NT computes no off-diagonal entries)."""
    import jax
    import jax.numpy as jnp
    kernel_fn = _kernel_fn(layer)
    x = jnp.sqrt(2.0 * jnp.asarray(qs, float))[:, None] * jnp.array([[1.0, 0.0]])
    fn = jax.jit(lambda x: kernel_fn(x, None, "cov1"))
    return lambda: np.asarray(fn(x))


def dks_mean(name: str, qs, order: int):
    """``E[phi^2]`` by dks's Gauss-Legendre mean, one call for all of ``qs`` (a scalar or an
    array: its ``fixed_quad`` sums over the last axis, nodes x ``q``)."""
    from dks.base import activation_transform as at
    f, s = np_phi(name), np.sqrt(np.asarray(qs, float))[..., None]
    return lambda: at._estimate_gaussian_mean(lambda z: f(s * z) ** 2, order)


def dks_bivariate(name: str, q: float, rho: float):
    from dks.base import activation_transform as at
    f = np_phi(name)
    s, c = np.sqrt(q), np.sqrt(1 - rho * rho)
    return lambda: at._estimate_2d_gaussian_mean(
        lambda x, y: float(f(s * x)) * float(f(s * (rho * x + c * y))))
