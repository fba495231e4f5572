"""Speed and accuracy against the libraries researchers would use instead (issue 16):
neural-tangents 0.6.5 (float64) and dks 0.1.2, with a 30-digit mpmath reference.

Cases: ``E[phi^2]`` for GELU, tanh and SiLU at one ``q`` and over 10^4 ``q``; the bivariate
``E[phi(u1) phi(u2)]`` for GELU, tanh, SiLU, sigmoid, ReLU, ReLU^2, CReLU and CST at
``q = 1``, ``rho = 0.5`` and ``0.99``.  Peer methods: NT closed forms (``Gelu``, ``Relu``,
``RectifiedMonomial(2)``) and ``ElementwiseNumerical`` (Gauss-Hermite, degrees 25 and
200); dks's fixed-order Gauss-Legendre Gaussian mean (1,000 nodes, its
``_estimate_gaussian_mean``) and its ``dblquad`` 2-D mean (CReLU, CST and tanh only:
seconds per call, timed once).  Every method is timed the same way: one warm-up call (jit compilation excluded),
then the median over ``REPEATS`` runs, one thread everywhere (set before importing).
References: :mod:`sparsefield.reference` at 30 digits (a 200 x 200 tensor Gauss-Hermite
rule for the smooth bivariate cases; tanh-sinh quadrature for the kinked ones).

Run: ``python benchmarks/bench_peers.py`` with the ``peers`` extra installed
(``pip install 'sparsefield[peers]'``); without it the script says so and exits 0.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false "
                      "intra_op_parallelism_threads=1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import importlib.util  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import mpmath as mp  # noqa: E402
import numpy as np  # noqa: E402

from sparsefield import reference as R  # noqa: E402
from sparsefield.theory import get  # noqa: E402
from sparsefield.theory import moments as M  # noqa: E402

REPEATS = 7
PEERS = ("neural_tangents", "jax", "dks")
CRELU = {"tau": 1.0364, "m": 0.8095}
CST = {"tau": 0.5, "m": 1.5}


def median_time(fn, repeats: int = REPEATS, inner: int = 1, warm: bool = True) -> float:
    """Median over ``repeats`` of the mean time of ``inner`` calls, after one warm-up
    (``warm=False``: none, for seconds-long pure-numpy calls that compile nothing)."""
    if warm:
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(inner):
            fn()
        times.append((time.perf_counter() - t0) / inner)
    return statistics.median(times)


# --- 30-digit references (sparsefield.reference: from the definitions, by mpmath) -----
def act_of(name: str):
    return get(name, **(CRELU if name == "crelu" else CST if name == "cst" else {}))


def ref_univariate(name: str, q: float) -> float:
    mp.mp.dps = 30
    return float(R.mp_e_phi2(act_of(name), q))


def ref_bivariate(name: str, q: float, rho: float) -> float:
    """Smooth ``phi``: a 200 x 200 tensor Gauss-Hermite rule; kinked: tanh-sinh quadrature
    in ``z1`` split at the breakpoints and their images, of the exact inner expectation."""
    mp.mp.dps = 30
    act = act_of(name)
    smooth = not len(act.breakpoints)
    return float(R.mp_bivariate(act, q, rho, 0, hermite=200 if smooth else None))


# --- peers ----------------------------------------------------------------------------
def nt_layers(name: str):
    import jax.numpy as jnp
    import jax.scipy.special as jsp
    from neural_tangents import stax
    ours = act_of(name)
    fns = {"gelu": lambda x: x * 0.5 * (1 + jsp.erf(x / jnp.sqrt(2.0))), "tanh": jnp.tanh,
           "silu": lambda x: x / (1 + jnp.exp(-x)), "sigmoid": lambda x: 1 / (1 + jnp.exp(-x)),
           "relu": lambda x: jnp.maximum(x, 0.0), "relu2": lambda x: jnp.maximum(x, 0.0) ** 2,
           "crelu": lambda x: jnp.clip(x - CRELU["tau"], 0.0, CRELU["m"]),
           "cst": lambda x: jnp.sign(x) * jnp.clip(jnp.abs(x) - CST["tau"], 0.0, CST["m"])}
    out = {}
    closed = {"gelu": stax.Gelu, "relu": stax.Relu,
              "relu2": lambda: stax.RectifiedMonomial(2)}
    if name in closed:
        out["NT closed form"] = closed[name]()
    for deg in (25, 200):
        out[f"NT Gauss-Hermite deg {deg}"] = stax.ElementwiseNumerical(fns[name], deg=deg)
    return ours, out


def nt_kernel(layer, q: float, rho: float | None):
    """``E[phi(u1) phi(u2)]`` (or ``E[phi^2]`` when ``rho`` is None) from NT's kernel_fn of
    ``Dense(W_std=1, no bias) -> layer`` on two inputs with ``x x^T / d`` = the covariance."""
    import jax
    import jax.numpy as jnp
    from neural_tangents import stax
    _, _, kernel_fn = stax.serial(stax.Dense(1, W_std=1.0, b_std=None), layer)
    c = 1.0 if rho is None else rho
    x = jnp.sqrt(2.0 * q) * jnp.array([[1.0, 0.0], [c, np.sqrt(max(1.0 - c * c, 0.0))]])
    if rho is None:
        x = x[:1]
    fn = jax.jit(lambda x: kernel_fn(x, None, "nngp"))
    idx = (0, 0) if rho is None else (0, 1)
    return lambda: float(fn(x)[idx])


def np_phi(name: str):
    """``phi`` as a plain numpy function (what a dks user passes)."""
    from scipy.special import erf
    t, m, t2, m2 = CRELU["tau"], CRELU["m"], CST["tau"], CST["m"]
    return {"gelu": lambda x: x * 0.5 * (1 + erf(x / np.sqrt(2.0))), "tanh": np.tanh,
            "silu": lambda x: x / (1 + np.exp(-x)), "sigmoid": lambda x: 1 / (1 + np.exp(-x)),
            "relu": lambda x: np.maximum(x, 0.0), "relu2": lambda x: np.maximum(x, 0.0) ** 2,
            "crelu": lambda x: np.clip(x - t, 0.0, m),
            "cst": lambda x: np.sign(x) * np.clip(np.abs(x) - t2, 0.0, m2)}[name]


def dks_univariate(name: str, q: float, order: int = 1000):
    from dks.base import activation_transform as at
    f, s = np_phi(name), np.sqrt(q)
    return lambda: at._estimate_gaussian_mean(lambda z: f(s * z) ** 2, order)


def dks_bivariate(name: str, q: float, rho: float):
    from dks.base import activation_transform as at
    f = np_phi(name)
    s, c = np.sqrt(q), np.sqrt(1 - rho * rho)
    return lambda: at._estimate_2d_gaussian_mean(
        lambda x, y: float(f(s * x)) * float(f(s * (rho * x + c * y))))


# --- the run ----------------------------------------------------------------------------
def row(table: list, case: str, method: str, fn, ref: float, repeats: int = REPEATS,
        inner: int = 1, warm: bool = True) -> None:
    t0 = time.perf_counter()
    value = fn()
    once = time.perf_counter() - t0
    err = abs(value - ref) / abs(ref)
    t = median_time(fn, repeats, inner) if warm else once
    table.append((case, method, err, t))
    print(f"  {case:<34}{method:<28}{err:>10.1e}{t * 1e6:>14.1f} us", flush=True)


def summarise(table: list) -> list:
    """Per case: ours, the fastest peer reaching 1e-8, and the time ratio."""
    lines = []
    for case in dict.fromkeys(c for c, *_ in table):
        rows = [r for r in table if r[0] == case]
        ours = next(r for r in rows if r[1].startswith("sparsefield"))
        good = [r for r in rows if not r[1].startswith("sparsefield") and r[2] <= 1e-8]
        best = min(good, key=lambda r: r[3]) if good else None
        anyp = min((r for r in rows if not r[1].startswith("sparsefield")), key=lambda r: r[3])
        peer = best or anyp
        lines.append(f"| {case} | {ours[2]:.1e}, {_fmt(ours[3])} | {peer[1]}: {peer[2]:.1e}, "
                     f"{_fmt(peer[3])}{'' if best else ' (none reaches 1e-8)'} | "
                     f"{peer[3] / ours[3]:.2g}x |")
    return lines


def _fmt(t: float) -> str:
    return f"{t * 1e6:.3g} us" if t < 1e-3 else f"{t * 1e3:.2f} ms" if t < 1 else f"{t:.2f} s"


def main() -> int:
    missing = [m for m in PEERS if importlib.util.find_spec(m) is None]
    if missing:
        print(f"bench_peers: skipped, not installed: {', '.join(missing)} "
              "(pip install 'sparsefield[peers]')")
        return 0
    import jax
    jax.config.update("jax_enable_x64", True)
    table: list = []
    print(f"load average at start: {os.getloadavg()[0]:.2f} (1 min), {os.cpu_count()} CPUs")
    print(f"{'':2}{'case':<34}{'method':<28}{'rel. error':>10}{'time / eval':>17}")
    for name in ("gelu", "tanh", "silu"):
        for q in (1.0, 10.0):
            case = f"E[phi^2] {name} q={q:g}"
            ref = ref_univariate(name, q)
            act = get(name)
            row(table, case, "sparsefield", lambda: float(M.e_phi2(act, q)), ref)
            _, layers = nt_layers(name)
            for label, layer in layers.items():
                row(table, case, label, nt_kernel(layer, q, None), ref)
            row(table, case, "dks 1000 nodes", dks_univariate(name, q), ref)
        qs = np.geomspace(0.1, 10.0, 10_000)
        refs = np.array([ref_univariate(name, q) for q in qs[::1000]])
        case = f"E[phi^2] {name} over 10^4 q"
        act = get(name)
        row(table, case, "sparsefield (vectorised)",
            lambda: float(np.max(np.abs(M.e_phi2(act, qs)[::1000] / refs - 1))) + 1.0, 1.0,
            repeats=3)
        table[-1] = (*table[-1][:3], table[-1][3] / qs.size)
        dks_fns = [dks_univariate(name, q) for q in qs[::1000]]
        row(table, case, "dks 1000 nodes (per q)",
            lambda: float(np.max([abs(f() / r - 1) for f, r in zip(dks_fns, refs)])) + 1.0,
            1.0, repeats=3)
        table[-1] = (*table[-1][:3], table[-1][3] / len(dks_fns))
    for name in ("gelu", "tanh", "silu", "sigmoid", "relu", "relu2", "crelu", "cst"):
        for rho in (0.5, 0.99):
            case = f"E[phi phi] {name} rho={rho:g}"
            ref = ref_bivariate(name, 1.0, rho)
            act, layers = nt_layers(name)
            row(table, case, "sparsefield", lambda: float(M.e_phi_phi(act, 1.0, rho)), ref)
            for label, layer in layers.items():
                row(table, case, label, nt_kernel(layer, 1.0, rho), ref)
            if name in ("crelu", "cst") or (name == "tanh" and rho == 0.5):
                row(table, case, "dks dblquad", dks_bivariate(name, 1.0, rho), ref, warm=False)
    print(f"load average at the end: {os.getloadavg()[0]:.2f} (1 min)")
    print("\n| case | sparsefield: error, time | fastest peer reaching 1e-8: error, time "
          "| peer / sparsefield time |\n|---|---|---|---|")
    print("\n".join(summarise(table)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
