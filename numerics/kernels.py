"""Numba kernel for Gaussian Monte Carlo, with activations compiled from the catalogue.

Each activation reaches numba from its single sympy definition: ``Family.scalar_source``
(printed by sympy, ``math`` only) is compiled as a C callback (``numba.cfunc``) and passed
to the kernel as a first-class function, so the kernel compiles once per number of
activation parameters and is cached on disk (``cache=True``); only the small callbacks
compile in each process.

Reproducibility: samples come in fixed blocks; block ``b`` seeds numba's (per-thread)
generator with a word derived from ``(seed, b)`` (``numpy.random.SeedSequence``), and the
per-block means are returned in block order, so results do not depend on how the blocks
are spread over threads (:func:`run_blocks`).  The blocks are i.i.d., so their means give
the standard errors (batch means) without per-sample cross-products.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache

import numba
import numpy as np
from numba import types

from sparsefield.theory.activations import Family, family
from sparsefield.theory.errors import ParameterError

SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
# Features, averaged over u1, u2 (univariate ones) and over the antithetic pair.
FEATURES = ("phi", "phi2", "dphi2", "phi_dphi", "phi_dphi_pos", "zero", "phi_phi",
            "dphi_dphi")
# Controls with exactly known mean 0: (z1^2 + w^2)/2 - 1, (|z1| + |w|)/2 - sqrt(2/pi),
# (z1^4 + w^4)/2 - 3, z1 w - rho.
CONTROLS = ("z2", "absz", "z4", "z1w")


@lru_cache(maxsize=None)
def callbacks(fam: Family | str) -> tuple:
    """``(phi, phi')`` of a family (or catalogue name; user-defined families work too) as
    numba C callbacks ``f(x, *params)``."""
    fam = family(fam) if isinstance(fam, str) else fam
    sig = types.float64(*([types.float64] * (1 + len(fam.params))))
    return tuple(numba.cfunc(sig)(fam.scalar_source(order)) for order in (0, 1))


def block_seeds(seed: int, n_blocks: int) -> np.ndarray:
    """One 32-bit seed per block, a function of ``(seed, block index)`` only."""
    if not (isinstance(seed, (int, np.integer)) and seed >= 0):
        raise ParameterError("seed", seed, "an integer >= 0")
    return np.array([np.random.SeedSequence((int(seed), b)).generate_state(1)[0]
                     for b in range(n_blocks)], dtype=np.uint32)


def run_blocks(kernel, seeds: np.ndarray, *args) -> np.ndarray:
    """Run ``kernel(seeds_chunk, *args)`` on ``numba.get_num_threads()`` threads (the
    kernel releases the GIL) and concatenate the per-block results in block order."""
    chunks = [c for c in np.array_split(seeds, numba.get_num_threads()) if len(c)]
    if len(chunks) == 1:
        return kernel(seeds, *args)
    with ThreadPoolExecutor(len(chunks)) as pool:
        return np.concatenate(list(pool.map(lambda c: kernel(c, *args), chunks)))


@numba.njit(cache=True, nogil=True)
def gaussian_blocks(seeds, phi, dphi, params, scale, rho, block, antithetic):
    """Per block of ``block`` pairs: the means of ``FEATURES`` then ``CONTROLS`` for
    ``u1 = scale z1``, ``u2 = scale w``, ``w = rho z1 + sqrt(1 - rho^2) z2``, each pair
    ``(z1, z2), (-z1, -z2)`` (antithetic) or two independent draws."""
    nf = len(FEATURES) + len(CONTROLS)
    means = np.zeros((seeds.shape[0], nf))
    s = math.sqrt(max(1.0 - rho * rho, 0.0))
    for b in range(seeds.shape[0]):
        np.random.seed(seeds[b])
        r = means[b]
        for _ in range(block):
            a1 = np.random.standard_normal()
            a2 = np.random.standard_normal()
            c1 = -a1 if antithetic else np.random.standard_normal()
            c2 = -a2 if antithetic else np.random.standard_normal()
            for z1, z2 in ((a1, a2), (c1, c2)):
                w = rho * z1 + s * z2
                x1, x2 = scale * z1, scale * w
                f1, f2 = phi(x1, *params), phi(x2, *params)
                g1, g2 = dphi(x1, *params), dphi(x2, *params)
                r[0] += f1 + f2
                r[1] += f1 * f1 + f2 * f2
                r[2] += g1 * g1 + g2 * g2
                r[3] += f1 * g1 + f2 * g2
                r[4] += (f1 * g1 if x1 >= 0.0 else 0.0) + (f2 * g2 if x2 >= 0.0 else 0.0)
                r[5] += (f1 == 0.0) + (f2 == 0.0)
                r[6] += 2.0 * f1 * f2
                r[7] += 2.0 * g1 * g2
                r[8] += z1 * z1 + w * w - 2.0
                r[9] += abs(z1) + abs(w) - 2.0 * SQRT_2_OVER_PI
                r[10] += z1 ** 4 + w ** 4 - 6.0
                r[11] += 2.0 * (z1 * w - rho)
        r /= 4.0 * block  # 2 draws per pair, 2 points (u1, u2) per draw
    return means
