"""Speed and accuracy against the libraries researchers would use instead (issues 16, 27),
and against the physical limit: the same closed form written by hand in numpy.

Peers (optional, ``pip install 'sparsefield[peers]'``; a missing one is skipped and its
column says so): neural-tangents 0.6.5 (float64) and dks 0.1.2.  Reference: 30-digit mpmath
(:mod:`sparsefield.references.mpmath_moments`), 20 digits for the sub-sampled grid rows.

Cases with peers: ``E[phi^2]`` for GELU, tanh and SiLU at one ``q`` and over 10^4 ``q``; the
bivariate ``E[phi(u1) phi(u2)]`` for GELU, tanh, SiLU, sigmoid, ReLU, ReLU^2, CReLU and CST
at ``q = 1``, ``rho = 0.5`` and ``0.99``.  Peer methods: NT closed forms (``Gelu``,
``Relu``, ``RectifiedMonomial(2)``) and ``ElementwiseNumerical`` (Gauss-Hermite, degrees 25
and 200); dks's fixed-order Gauss-Legendre Gaussian mean (1,000 nodes, its
``_estimate_gaussian_mean``) and its ``dblquad`` 2-D mean (seconds per call, timed once).

Cases at the limit (issue 27), each beside a numpy closed form written by hand (where one
exists): ReLU ``E[phi^2]`` at one ``q`` and over 10^4 ``q``; CReLU ``V`` (``MeanField``) at
one ``q`` and over 10^4 ``q``; CReLU and CST ``E[phi phi]`` at one ``(q, rho)`` and on a 100 x
100 ``(q, rho)`` grid (``q`` in ``[0.1, 10]``, ``rho`` in ``[-1, 1]``); ReLU ``E[phi phi]`` on
that grid (numpy arc-cosine kernel).  Grid errors: the largest over a few sub-sampled points.

Timing: CPU time of this process (``time.process_time``: one thread, robust to other
load), median over ``REPEATS`` runs after one warm-up (jit compilation excluded); the load
average is printed at the start and the end.

Run: ``python benchmarks/bench_peers.py``.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false "
                      "intra_op_parallelism_threads=1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import importlib  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import mpmath as mp  # noqa: E402
import numpy as np  # noqa: E402

from sparsefield.references import mpmath_moments as R  # noqa: E402
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
        t0 = time.process_time()
        for _ in range(inner):
            fn()
        times.append((time.process_time() - t0) / inner)
    return statistics.median(times)


# --- 30-digit references (sparsefield.references.mpmath_moments: from the definitions, by mpmath) -----
def act_of(name: str):
    return get(name, **(CRELU if name == "crelu" else CST if name == "cst" else {}))


def ref_univariate(name: str, q: float) -> float:
    mp.mp.dps = 30
    return float(R.mp_e_phi2(act_of(name), q))


def ref_bivariate(name: str, q: float, rho: float, dps: int = 30) -> float:
    """Smooth ``phi``: a 200 x 200 tensor Gauss-Hermite rule; kinked: tanh-sinh quadrature
    in ``z1`` split at the breakpoints and their images, of the exact inner expectation."""
    mp.mp.dps = dps
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


def dks_univariate_grid(name: str, qs, order: int = 1000):
    """dks's estimator over many ``q`` at once, as its authors vectorise (``fixed_quad``
    sums over the last axis): one call, nodes x ``q``."""
    from dks.base import activation_transform as at
    f, s = np_phi(name), np.sqrt(np.asarray(qs, float))[:, None]
    return lambda: at._estimate_gaussian_mean(lambda z: f(s * z) ** 2, order)


def dks_bivariate(name: str, q: float, rho: float):
    from dks.base import activation_transform as at
    f = np_phi(name)
    s, c = np.sqrt(q), np.sqrt(1 - rho * rho)
    return lambda: at._estimate_2d_gaussian_mean(
        lambda x, y: float(f(s * x)) * float(f(s * (rho * x + c * y))))


# --- the limit: the closed forms written by hand in numpy ------------------------------
SQRT2PI = np.sqrt(2.0 * np.pi)
SW2, SB2 = 2.0, 0.1  # the CReLU V rows
QS = np.geomspace(0.1, 10.0, 10_000)
GRID_Q = np.geomspace(0.1, 10.0, 100)[:, None]
GRID_RHO = np.linspace(-1.0, 1.0, 100)[None, :]
SAMPLES = ((0, 70), (0, 95), (50, 20), (50, 85), (99, 60), (99, 98))  # (q, rho) indices


def np_relu_e2(q):
    return 0.5 * np.asarray(q, float)


def np_crelu_v(q):
    """``sigma_w^2 E[crelu^2] + sigma_b^2``: the truncated moments on ``[tau, tau + m)``
    plus ``m^2 Q((tau + m)/sqrt q)`` (what ``sparsefield formula`` prints)."""
    from scipy.special import ndtr
    t, m = CRELU["tau"], CRELU["m"]
    q = np.asarray(q, float)
    s = np.sqrt(q)
    a, b = t / s, (t + m) / s
    ga, gb = np.exp(-0.5 * a * a) / SQRT2PI, np.exp(-0.5 * b * b) / SQRT2PI
    qb = ndtr(-b)
    m0 = ndtr(-a) - qb
    e2 = q * (m0 + a * ga - b * gb) - 2.0 * t * s * (ga - gb) + t * t * m0 + m * m * qb
    return SW2 * e2 + SB2


def np_arccos(q, rho):
    """ReLU: ``q (sqrt(1 - rho^2) + (pi - arccos rho) rho) / (2 pi)`` (Cho & Saul 2009)."""
    rho = np.asarray(rho, float)
    return np.asarray(q, float) * (np.sqrt((1.0 - rho) * (1.0 + rho))
                                   + (np.pi - np.arccos(rho)) * rho) / (2.0 * np.pi)


def max_err(values, refs) -> float:
    """``1 +`` the largest relative error (so that :func:`row` prints it against 1)."""
    return 1.0 + float(np.max(np.abs(np.asarray(values) / refs - 1.0)))


def limit_rows(table: list) -> None:
    """The issue-27 rows: scalar and grid calls beside the numpy closed form."""
    from sparsefield.theory import MeanField, pl_bivariate, routes
    relu, crelu = get("relu"), act_of("crelu")
    case = "E[phi^2] ReLU q=1"
    ref = ref_univariate("relu", 1.0)
    row(table, case, "sparsefield", lambda: float(M.e_phi2(relu, 1.0)), ref)
    row(table, case, "numpy closed form", lambda: float(np_relu_e2(1.0)), ref)
    sub = slice(None, None, 1000)
    refs = np.array([ref_univariate("relu", q) for q in QS[sub]])
    case = "E[phi^2] ReLU over 10^4 q"
    row(table, case, "sparsefield", lambda: max_err(M.e_phi2(relu, QS)[sub], refs), 1.0,
        per=QS.size)
    row(table, case, "numpy closed form", lambda: max_err(np_relu_e2(QS)[sub], refs), 1.0,
        per=QS.size)
    mf = MeanField(crelu, SW2, SB2)
    case = "V CReLU q=1"
    ref = SW2 * ref_univariate("crelu", 1.0) + SB2
    row(table, case, "sparsefield (MeanField.V)", lambda: float(mf.V(1.0)), ref)
    row(table, case, "numpy closed form", lambda: float(np_crelu_v(1.0)), ref)
    refs = np.array([SW2 * ref_univariate("crelu", q) + SB2 for q in QS[sub]])
    case = "V CReLU over 10^4 q"
    row(table, case, "sparsefield (MeanField.V)", lambda: max_err(mf.V(QS)[sub], refs), 1.0,
        per=QS.size)
    row(table, case, "numpy closed form", lambda: max_err(np_crelu_v(QS)[sub], refs), 1.0,
        per=QS.size)
    qg, rg = np.broadcast_arrays(GRID_Q, GRID_RHO)
    idx = tuple(np.array(v) for v in zip(*SAMPLES))
    for name in ("relu", "crelu", "cst"):
        act = act_of(name)
        refs = np.array([ref_bivariate(name, qg[i], rg[i], dps=20) for i in SAMPLES])
        case = f"E[phi phi] {name} 100x100 (q, rho)"
        row(table, case, "sparsefield", lambda: max_err(M.e_phi_phi(act, qg, rg)[idx], refs),
            1.0, repeats=3, per=qg.size)
        if name == "relu":
            row(table, case, "numpy closed form", lambda: max_err(np_arccos(qg, rg)[idx], refs),
                1.0, per=qg.size)
        else:
            mix = routes.taken(act, "bivariate", (qg, rg), order=0)
            print(f"    {name}: points per route {mix} (pl_bivariate: the closed form, where its"
                  " error bound holds)")
            row(table, case, "closed form alone", lambda: max_err(
                pl_bivariate.expect(act, qg, rg)[0][idx], refs), 1.0, repeats=3, per=qg.size)


# --- the run ----------------------------------------------------------------------------
def row(table: list, case: str, method: str, fn, ref: float, repeats: int = REPEATS,
        inner: int | None = None, warm: bool = True, per: int = 1) -> None:
    """Time ``fn`` (``inner`` calls per repeat, chosen for ~2 ms when ``None``) and record
    its relative error against ``ref``; ``per``: the time is per that many points."""
    t0 = time.process_time()
    value = fn()
    once = time.process_time() - t0
    err = abs(value - ref) / abs(ref)
    if inner is None:
        inner = int(min(1000, max(1, 2e-3 / max(once, 1e-7))))
    t = (median_time(fn, repeats, inner) if warm else once) / per
    table.append((case, method, err, t))
    print(f"  {case:<36}{method:<28}{err:>10.1e}{t * 1e6:>14.4g} us", flush=True)


def summarise(table: list) -> list:
    """Per case: ours, the numpy closed form, the fastest peer reaching 1e-8, ratios."""
    lines = []
    for case in dict.fromkeys(c for c, *_ in table):
        rows = [r for r in table if r[0] == case]
        ours = next(r for r in rows if r[1].startswith("sparsefield"))
        lim = next((r for r in rows if r[1] in ("numpy closed form", "closed form alone")), None)
        peers = [r for r in rows if r is not ours and r is not lim]
        good = [r for r in peers if r[2] <= 1e-8]
        best = min(good, key=lambda r: r[3]) if good else None
        peer = best or min(peers, key=lambda r: r[3], default=None)
        limit = (f"{lim[1]}: {lim[2]:.1e}, {_fmt(lim[3])} | {ours[3] / lim[3]:.2g}x"
                 if lim else "none | ")
        other = (f"{peer[1]}: {peer[2]:.1e}, {_fmt(peer[3])}"
                 f"{'' if best else ' (none reaches 1e-8)'} | {peer[3] / ours[3]:.2g}x"
                 if peer else "not installed | ")
        lines.append(f"| {case} | {ours[2]:.1e}, {_fmt(ours[3])} | {limit} | {other} |")
    return lines


def _fmt(t: float) -> str:
    return (f"{t * 1e6:.3g} us" if t < 1e-3 else f"{t * 1e3:.3g} ms" if t < 1
            else f"{t:.3g} s")


def _importable(name: str) -> bool:
    """The peer imports (a package can be present without its dependencies)."""
    mod = {"dks": "dks.base.activation_transform", "neural_tangents": "neural_tangents.stax"}
    try:
        importlib.import_module(mod.get(name, name))
    except Exception:  # noqa: BLE001 -- any failure means: skip this peer's column
        return False
    return True


def main() -> int:
    have = {m: _importable(m) for m in PEERS}
    nt, dks = have["neural_tangents"] and have["jax"], have["dks"]
    if nt:
        import jax
        jax.config.update("jax_enable_x64", True)
    table: list = []
    print(f"load average at start: {os.getloadavg()[0]:.2f} (1 min), {os.cpu_count()} CPUs; "
          f"peers not installed: {[m for m, ok in have.items() if not ok] or 'none'}")
    print(f"{'':2}{'case':<36}{'method':<28}{'rel. error':>10}{'CPU time / eval':>17}")
    limit_rows(table)
    for name in ("gelu", "tanh", "silu"):
        for q in (1.0, 10.0):
            case = f"E[phi^2] {name} q={q:g}"
            ref = ref_univariate(name, q)
            act = get(name)
            row(table, case, "sparsefield", lambda: float(M.e_phi2(act, q)), ref)
            if nt:
                for label, layer in nt_layers(name)[1].items():
                    row(table, case, label, nt_kernel(layer, q, None), ref)
            if dks:
                row(table, case, "dks 1000 nodes", dks_univariate(name, q), ref)
        refs = np.array([ref_univariate(name, q) for q in QS[::1000]])
        case = f"E[phi^2] {name} over 10^4 q"
        act = get(name)
        row(table, case, "sparsefield (vectorised)",
            lambda: max_err(M.e_phi2(act, QS)[::1000], refs), 1.0, repeats=3, per=QS.size)
        if dks:
            grid = dks_univariate_grid(name, QS)
            row(table, case, "dks 1000 nodes (vectorised)",
                lambda: max_err(grid()[::1000], refs), 1.0, repeats=3, per=QS.size)
    for name in ("gelu", "tanh", "silu", "sigmoid", "relu", "relu2", "crelu", "cst"):
        for rho in (0.5, 0.99):
            case = f"E[phi phi] {name} rho={rho:g}"
            ref = ref_bivariate(name, 1.0, rho)
            act = act_of(name)
            row(table, case, "sparsefield", lambda: float(M.e_phi_phi(act, 1.0, rho)), ref)
            if name == "relu":
                row(table, case, "numpy closed form", lambda: float(np_arccos(1.0, rho)), ref)
            if nt:
                for label, layer in nt_layers(name)[1].items():
                    row(table, case, label, nt_kernel(layer, 1.0, rho), ref)
            if dks and (name in ("crelu", "cst") or (name == "tanh" and rho == 0.5)):
                row(table, case, "dks dblquad", dks_bivariate(name, 1.0, rho), ref, warm=False)
    print(f"load average at the end: {os.getloadavg()[0]:.2f} (1 min)")
    print("\n| case | sparsefield: error, CPU time | numpy closed form: error, time "
          "| sparsefield / numpy | fastest peer reaching 1e-8: error, time "
          "| peer / sparsefield |\n|---|---|---|---|---|---|")
    print("\n".join(summarise(table)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
