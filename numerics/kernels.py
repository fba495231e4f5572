"""Numba kernel for Gaussian Monte Carlo, with activations compiled from the catalogue.

Each activation reaches numba from its single sympy definition: ``Family.scalar_source``
(printed by sympy, ``math`` only) is written as a small generated source module in the
user cache directory (:func:`cache_dir`; atomic writes, named by a hash of the source) and
compiled from there as a C callback (``numba.cfunc(cache=True)``), so it is compiled once
per machine and loaded from numba's on-disk cache in every later process.

Trust: a cached module is imported, and numba unpickles its index and code files (in
``callbacks/__pycache__``, or ``$NUMBA_CACHE_DIR`` when set), so whoever can write there
runs code as the user.  The cache folders are therefore private (:func:`private_folder`):
created with mode 0700, and refused when owned by another user or writable by group or
others, as is any cached file owned by another user or writable by them; and a module's
content must hash to the name it is loaded under (else it is rewritten from the source).  The callbacks
reach the kernel as first-class functions, so the kernel too compiles once per number of
activation parameters and is cached on disk.

Reproducibility: samples come in fixed blocks; block ``b`` draws from its own numpy
generator (PCG64, numpy's ziggurat normals run by numba inside the kernel) seeded with a
word derived from ``(seed, b)`` (``numpy.random.SeedSequence``), and the
per-block means are returned in block order, so results do not depend on how the blocks
are spread over threads (:func:`run_blocks`).  The blocks are i.i.d., so their means give
the standard errors (batch means) without per-sample cross-products.
"""

from __future__ import annotations

import hashlib
import importlib.util
import inspect
import math
import os
import re
import stat
import sys
import tempfile
import warnings
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from pathlib import Path

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


def cache_dir() -> Path:
    """Where generated callback modules and their numba caches live:
    ``$SPARSEFIELD_CACHE_DIR``, else ``$XDG_CACHE_HOME/sparsefield``, else
    ``~/.cache/sparsefield``."""
    env = os.environ.get("SPARSEFIELD_CACHE_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "sparsefield"


def _refuse(param: str, path: Path, why: str):
    raise ParameterError(param, str(path), f"a folder owned by uid {os.geteuid()} that group "
                         f"and others cannot write (chmod 700 it): {why}")


def private_folder(path: Path, param: str = "SPARSEFIELD_CACHE_DIR") -> Path:
    """Create ``path`` (mode 0700) if missing and check that only this user can write in it
    or in the files it holds; :class:`ParameterError` (naming ``param``) otherwise."""
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        st = path.stat()
        entries = list(path.iterdir())
    except OSError as err:
        raise ParameterError(param, str(path), f"a folder this user can create and read "
                             f"({err.strerror or err})") from None
    if not stat.S_ISDIR(st.st_mode):
        _refuse(param, path, "not a folder")
    if st.st_uid != os.geteuid():
        _refuse(param, path, f"owned by uid {st.st_uid}")
    if st.st_mode & 0o022:
        _refuse(param, path, f"mode {stat.filemode(st.st_mode)}")
    for entry in entries:
        est = entry.lstat()
        if est.st_uid != os.geteuid() or (est.st_mode & 0o022 and not stat.S_ISLNK(est.st_mode)):
            _refuse(param, path, f"{entry.name} is owned by uid {est.st_uid}, "
                    f"mode {stat.filemode(est.st_mode)}")
    return path


def _module_source(fn) -> str:
    """A self-contained module defining ``fn`` (a sympy-printed ``math`` function): its
    source plus an import or value for every global name it uses."""
    lines = []
    for name in sorted(set(fn.__code__.co_names)):
        obj = fn.__globals__.get(name)
        if callable(obj) and getattr(math, getattr(obj, "__name__", ""), None) is obj:
            lines.append(f"from math import {obj.__name__} as {name}")
        elif obj is abs:
            lines.append(f"{name} = abs")
        elif isinstance(obj, (int, float)):
            lines.append(f"{name} = {float(obj)!r}")
        elif obj is not None:
            raise TypeError(f"cannot cache callback global {name}={obj!r}")
    src = inspect.getsource(fn)
    return "\n".join(["# generated by sparsefield.numerics.kernels; do not edit", *lines,
                      "", "", src])


def _load_generated(source: str, tag: str):
    """Write ``source`` once as ``cache_dir()/callbacks/<tag>_<hash>.py`` (atomically) and
    import it; an unchanged file keeps numba's on-disk cache valid.  The folders are
    private (:func:`private_folder`) and a file whose content does not hash to its name is
    rewritten (numba then sees a new source stamp and recompiles)."""
    folder = private_folder(private_folder(cache_dir()) / "callbacks")
    private_folder(folder / "__pycache__")  # numba's index and code files (pickles)
    numba_dir = os.environ.get("NUMBA_CACHE_DIR")
    if numba_dir:
        private_folder(Path(numba_dir), "NUMBA_CACHE_DIR")
    digest = hashlib.sha256(source.encode()).hexdigest()[:16]
    mod_name = f"sf_{tag}_{digest}"
    path = folder / f"{mod_name}.py"
    try:
        stored = path.read_bytes()
    except FileNotFoundError:
        stored = None
    if stored is not None and hashlib.sha256(stored).hexdigest()[:16] != digest:
        warnings.warn(f"{path}: content does not match its hash; rewritten", stacklevel=2)
        stored = None
    if stored is None:
        fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
        with os.fdopen(fd, "w") as fh:
            fh.write(source)
        os.replace(tmp, path)
    if mod_name in sys.modules:
        return sys.modules[mod_name]
    spec = importlib.util.spec_from_file_location(mod_name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[mod_name] = module
    spec.loader.exec_module(module)
    return module


@lru_cache(maxsize=None)
def callbacks(fam: Family | str) -> tuple:
    """``(phi, phi')`` of a family (or catalogue name; user-defined families work too) as
    numba C callbacks ``f(x, *params)``,
    compiled from generated modules with numba's on-disk cache (:func:`_load_generated`)."""
    fam = family(fam) if isinstance(fam, str) else fam
    sig = types.float64(*([types.float64] * (1 + len(fam.params))))
    out = []
    for order in (0, 1):
        fn = fam.scalar_source(order)
        module = _load_generated(_module_source(fn), f"{re.sub(r'[^A-Za-z0-9]', '_', fam.name)}_{order}")
        out.append(numba.cfunc(sig, cache=True)(getattr(module, fn.__name__)))
    return tuple(out)


def block_seeds(seed: int, n_blocks: int) -> np.ndarray:
    """One 32-bit seed per block, a function of ``(seed, block index)`` only."""
    if not (isinstance(seed, (int, np.integer)) and seed >= 0):
        raise ParameterError("seed", seed, "an integer >= 0")
    return np.array([np.random.SeedSequence((int(seed), b)).generate_state(1)[0]
                     for b in range(n_blocks)], dtype=np.uint32)


def run_blocks(kernel, seeds: np.ndarray, *args) -> np.ndarray:
    """``kernel(rng, *args, out)`` per block, ``rng`` numpy's PCG64 generator seeded with the
    block's seed (numba runs numpy's ziggurat on it), on ``numba.get_num_threads()``
    threads (the kernel releases the GIL); the per-block results in block order."""
    out = np.empty((len(seeds), len(FEATURES) + len(CONTROLS)))

    def work(blocks):
        for b in blocks:
            kernel(np.random.Generator(np.random.PCG64(int(seeds[b]))), *args, out[b])
    chunks = [c for c in np.array_split(np.arange(len(seeds)), numba.get_num_threads()) if len(c)]
    if len(chunks) == 1:
        work(chunks[0])
    else:
        with ThreadPoolExecutor(len(chunks)) as pool:
            list(pool.map(work, chunks))
    return out


@numba.njit(cache=True, nogil=True)
def gaussian_block(rng, phi, dphi, params, scale, rho, block, antithetic, out):
    """Into ``out``: the means of ``FEATURES`` then ``CONTROLS`` over ``block`` pairs,
    ``u1 = scale z1``, ``u2 = scale w``, ``w = rho z1 + sqrt(1 - rho^2) z2``, each pair
    ``(z1, z2), (-z1, -z2)`` (antithetic) or two independent draws; one fused loop, the
    sums in registers, the normals drawn here (numpy's ziggurat on ``rng``)."""
    s = math.sqrt(max(1.0 - rho * rho, 0.0))
    r0 = r1 = r2 = r3 = r4 = r5 = r6 = r7 = r8 = r9 = r10 = r11 = 0.0
    for _ in range(block):
        a1 = rng.standard_normal()
        a2 = rng.standard_normal()
        c1 = -a1 if antithetic else rng.standard_normal()
        c2 = -a2 if antithetic else rng.standard_normal()
        for k in range(2):
            z1 = a1 if k == 0 else c1
            z2 = a2 if k == 0 else c2
            w = rho * z1 + s * z2
            x1, x2 = scale * z1, scale * w
            f1, f2 = phi(x1, *params), phi(x2, *params)
            g1, g2 = dphi(x1, *params), dphi(x2, *params)
            r0 += f1 + f2
            r1 += f1 * f1 + f2 * f2
            r2 += g1 * g1 + g2 * g2
            r3 += f1 * g1 + f2 * g2
            r4 += (f1 * g1 if x1 >= 0.0 else 0.0) + (f2 * g2 if x2 >= 0.0 else 0.0)
            r5 += (f1 == 0.0) + (f2 == 0.0)
            r6 += 2.0 * f1 * f2
            r7 += 2.0 * g1 * g2
            r8 += z1 * z1 + w * w - 2.0
            r9 += abs(z1) + abs(w) - 2.0 * SQRT_2_OVER_PI
            r10 += z1 ** 4 + w ** 4 - 6.0
            r11 += 2.0 * (z1 * w - rho)
    d = 4.0 * block  # 2 draws per pair, 2 points (u1, u2) per draw
    out[0], out[1], out[2], out[3] = r0 / d, r1 / d, r2 / d, r3 / d
    out[4], out[5], out[6], out[7] = r4 / d, r5 / d, r6 / d, r7 / d
    out[8], out[9], out[10], out[11] = r8 / d, r9 / d, r10 / d, r11 / d
