"""Speed and accuracy against the libraries researchers would use instead (issues 16, 27),
and against the physical limit: the same closed form written by hand in numpy.

Peers (optional, ``pip install 'sparsefield[peers]'``, or in a separate virtual environment
named by ``--peers-venv DIR``, whose site-packages are appended to ``sys.path``; a missing
one is skipped and its rows say so): neural-tangents 0.6.5 (float64) and dks 0.1.2.
Reference: 30-digit mpmath (:mod:`sparsefield.references.mpmath_moments`) for every row, at
a few sub-sampled points for the grid rows; 20 digits for the six sampled points of each
bivariate grid (30 digits cost 16 s per CST point).

Cases with peers: ``E[phi^2]`` for ReLU, GELU, tanh and SiLU and CReLU's ``V`` at one ``q``
and over 10^4 ``q``; the bivariate ``E[phi(u1) phi(u2)]`` for GELU, tanh, SiLU, sigmoid,
ReLU, ReLU^2, CReLU and CST at ``q = 1``, ``rho = 0.5`` and ``0.99``.  Peer methods, each
used the way its authors intend: NT closed forms (``Gelu``, ``Relu``,
``RectifiedMonomial(2)``) and ``ElementwiseNumerical`` (Gauss-Hermite, degrees 25 and 200),
over many ``q`` as one ``kernel_fn`` call on a batch of inputs (``get="cov1"``: the
diagonal); dks's Gauss-Legendre Gaussian mean on ``[-10, 10]`` (its
``_estimate_gaussian_mean``) at its default 100,000 nodes and at 1,000 (its best setting
here: as accurate, 100x cheaper), over many ``q`` as one call vectorised over ``q`` (the
default on 100 of the ``q``: its nodes x ``q`` array would need 8 GB for all 10^4); and
dks's ``dblquad`` 2-D mean (seconds per call, timed once; not at CST ``rho = 0.5``, where it
takes minutes and misses 1e-8).

Cases at the limit (issue 27), each beside a numpy closed form written by hand (where one
exists): ReLU ``E[phi^2]`` at one ``q`` and over 10^4 ``q``; CReLU ``V`` (``MeanField``) at
one ``q`` and over 10^4 ``q``; CReLU and CST ``E[phi phi]`` at one ``(q, rho)`` and on a 100 x
100 ``(q, rho)`` grid (``q`` in ``[0.1, 10]``, ``rho`` in ``[-1, 1]``); ReLU ``E[phi phi]`` on
that grid (numpy arc-cosine kernel).  Grid errors: the largest over a few sub-sampled points.

Timing (``benchmarks/timing.py``): CPU time of this process (``time.process_time``, one
thread), the median of ``REPEATS`` rounds of at least ``ROUND_S`` each (as many calls per
round as that takes), after a warm-up (jit compilation excluded); the rows of one case are
timed with their rounds interleaved.  The load average is printed at the start and the end.

Run: ``python benchmarks/bench_peers.py [--peers-venv /work/peers-venv]`` (about 2-3 CPU
minutes; the last lines are the README's table).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false "
                      "intra_op_parallelism_threads=1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import argparse  # noqa: E402
import glob  # noqa: E402
import importlib  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402

import mpmath as mp  # noqa: E402
import numpy as np  # noqa: E402

from sparsefield.references import mpmath_moments as R  # noqa: E402
from sparsefield.theory import get  # noqa: E402
from sparsefield.theory import moments as M  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from peer_methods import CRELU, CST  # noqa: E402
from timing import REPEATS, ROUND_S, cpu_medians  # noqa: E402

PEERS = ("neural_tangents", "jax", "dks")
DKS_SUB = slice(None, None, 100)  # dks's default over "10^4 q": these 100 q (time per q)


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


# --- the limit: the closed forms written by hand in numpy ------------------------------
SQRT2PI = np.sqrt(2.0 * np.pi)
SW2, SB2 = 2.0, 0.1  # the CReLU V rows
QS = np.geomspace(0.1, 10.0, 10_000)
GRID_Q = np.geomspace(0.1, 10.0, 100)[:, None]
GRID_RHO = np.linspace(-1.0, 1.0, 100)[None, :]
SAMPLES = ((0, 70), (0, 95), (50, 20), (50, 85), (99, 60), (99, 98))  # (q, rho) indices
QS_SUB = slice(None, None, 1000)  # the grid rows' reference points


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


def peer_rows(table: Table, case: str, name: str, ref, nt: bool, dks: bool, qs=None,
              scale: tuple[float, float] = (1.0, 0.0)) -> None:
    """NT's and dks's ``E[phi^2]`` rows (``sw2 E[phi^2] + sb2`` with ``scale``) at ``q = 1``
    (``qs`` None, ``ref`` a number) or over ``qs`` (``ref`` the references at ``QS_SUB``)."""
    import peer_methods as P
    a, b = scale

    if qs is None:
        if nt:
            for label, layer in P.nt_layers(name).items():
                f = P.nt_kernel(layer, 1.0, None)
                row(table, case, label, lambda f=f: a * f() + b, ref)
        if dks:
            for order in (P.DKS_DEFAULT, P.DKS_BEST):
                f = P.dks_mean(name, 1.0, order)
                row(table, case, f"dks {order:,} nodes", lambda f=f: a * float(f()) + b, ref)
        return
    if nt:  # Gauss-Hermite layers on every 10th q (deg 200 over 10^4 q needs 4 GB)
        for label, layer in P.nt_layers(name).items():
            few = label.startswith("NT Gauss")
            sub, pick = (qs[::10], slice(None, None, 100)) if few else (qs, QS_SUB)
            f = P.nt_diagonal(layer, sub)
            row(table, case, f"{label} (one call{', 1000 q' if few else ''})",
                lambda f=f, pick=pick: max_err(a * f()[pick] + b, ref), 1.0, per=sub.size)
    if dks:
        f = P.dks_mean(name, qs, P.DKS_BEST)
        row(table, case, f"dks {P.DKS_BEST:,} nodes (one call)",
            lambda f=f: max_err(a * f()[QS_SUB] + b, ref), 1.0, per=qs.size)
        sub = qs[DKS_SUB]  # QS_SUB is every 1000th q, DKS_SUB every 100th: every 10th of it
        f = P.dks_mean(name, sub, P.DKS_DEFAULT)
        row(table, case, f"dks {P.DKS_DEFAULT:,} nodes (one call, 100 q)",
            lambda f=f: max_err(a * f()[::10] + b, ref), 1.0, per=sub.size)


def limit_rows(table: Table, nt: bool, dks: bool) -> None:
    """The issue-27 rows: scalar and grid calls beside the numpy closed form and the peers."""
    from sparsefield.theory import MeanField, pl_bivariate, routes
    relu, crelu = get("relu"), act_of("crelu")
    case = "E[phi^2] ReLU q=1"
    ref = ref_univariate("relu", 1.0)
    row(table, case, "sparsefield", lambda: float(M.e_phi2(relu, 1.0)), ref)
    row(table, case, "numpy closed form", lambda: float(np_relu_e2(1.0)), ref)
    peer_rows(table, case, "relu", ref, nt, dks)
    table.flush()
    refs = np.array([ref_univariate("relu", q) for q in QS[QS_SUB]])
    case = "E[phi^2] ReLU over 10^4 q"
    row(table, case, "sparsefield", lambda: max_err(M.e_phi2(relu, QS)[QS_SUB], refs), 1.0,
        per=QS.size)
    row(table, case, "numpy closed form", lambda: max_err(np_relu_e2(QS)[QS_SUB], refs), 1.0,
        per=QS.size)
    peer_rows(table, case, "relu", refs, nt, dks, QS)
    table.flush()
    mf = MeanField(crelu, SW2, SB2)
    case = "V CReLU q=1"
    ref = SW2 * ref_univariate("crelu", 1.0) + SB2
    row(table, case, "sparsefield (MeanField.V)", lambda: float(mf.V(1.0)), ref)
    row(table, case, "numpy closed form", lambda: float(np_crelu_v(1.0)), ref)
    peer_rows(table, case, "crelu", ref, nt, dks, scale=(SW2, SB2))
    table.flush()
    refs = np.array([SW2 * ref_univariate("crelu", q) + SB2 for q in QS[QS_SUB]])
    case = "V CReLU over 10^4 q"
    row(table, case, "sparsefield (MeanField.V)", lambda: max_err(mf.V(QS)[QS_SUB], refs), 1.0,
        per=QS.size)
    row(table, case, "numpy closed form", lambda: max_err(np_crelu_v(QS)[QS_SUB], refs), 1.0,
        per=QS.size)
    peer_rows(table, case, "crelu", refs, nt, dks, QS, scale=(SW2, SB2))
    table.flush()
    qg, rg = np.broadcast_arrays(GRID_Q, GRID_RHO)
    idx = tuple(np.array(v) for v in zip(*SAMPLES))
    for name in ("relu", "crelu", "cst"):
        act = act_of(name)
        refs = np.array([ref_bivariate(name, qg[i], rg[i], dps=20) for i in SAMPLES])
        case = f"E[phi phi] {name} 100x100 (q, rho)"
        row(table, case, "sparsefield", lambda: max_err(M.e_phi_phi(act, qg, rg)[idx], refs),
            1.0, per=qg.size)
        if name == "relu":
            row(table, case, "numpy closed form", lambda: max_err(np_arccos(qg, rg)[idx], refs),
                1.0, per=qg.size)
        else:
            mix = routes.taken(act, "bivariate", (qg, rg), order=0)
            print(f"    {name}: points per route {mix} (pl_bivariate: the closed form, where its"
                  " error bound holds)")
            row(table, case, "closed form alone", lambda: max_err(
                pl_bivariate.expect(act, qg, rg)[0][idx], refs), 1.0, per=qg.size)
        table.flush()


# --- the run ----------------------------------------------------------------------------
class Table:
    """The rows ``(case, method, rel. error, CPU s per point)``; the rows of one case are
    timed together by :meth:`flush` at the end of the case (before the variables its
    functions read change), their rounds interleaved, so that a change in the machine's
    state moves the times compared in one ratio alike."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, str, float, float]] = []
        self.pending: list[tuple[str, str, object, float, float | None, int]] = []

    def flush(self) -> None:
        warm = {str(i): r[2] for i, r in enumerate(self.pending) if r[4] is None}
        times = cpu_medians(warm)  # type: ignore[arg-type]
        for i, (case, method, _, err, once, per) in enumerate(self.pending):
            t = (times[str(i)] if once is None else once) / per
            self.rows.append((case, method, err, t))
            print(f"  {case:<36}{method:<28}{err:>10.1e}{t * 1e6:>14.4g} us", flush=True)
        self.pending = []


def row(table: Table, case: str, method: str, fn, ref: float, warm: bool = True,
        per: int = 1) -> None:
    """Record ``fn``'s relative error against ``ref`` (from its first call) and time it with
    the other rows of ``case`` (:func:`timing.cpu_medians`; ``warm=False``: the first call's
    time, for calls of seconds); ``per``: the time is per that many points."""
    if table.pending and table.pending[0][0] != case:
        raise RuntimeError(f"rows of {table.pending[0][0]!r} not timed: flush() ends a case")
    t0 = time.process_time()
    value = fn()
    once = time.process_time() - t0
    err = abs(value - ref) / abs(ref)
    table.pending.append((case, method, fn, err, None if warm else once, per))


def summarise(table: list) -> list:
    """Per case: ours, the numpy closed form, the fastest peer reaching 1e-8 (and the ratio),
    dks at its default 100,000 nodes."""
    lines = []
    for case in dict.fromkeys(c for c, *_ in table):
        rows = [r for r in table if r[0] == case]
        ours = next(r for r in rows if r[1].startswith("sparsefield"))
        lim = next((r for r in rows if r[1] in ("numpy closed form", "closed form alone")), None)
        peers = [r for r in rows if r is not ours and r is not lim]
        good = [r for r in peers if r[2] <= 1e-8]
        best = min(good, key=lambda r: r[3]) if good else None
        peer = best or min(peers, key=lambda r: r[3], default=None)
        default = next((r for r in peers if r[1].startswith("dks 100,000")), None)
        limit = (f"{lim[1]}: {lim[2]:.1e}, {_fmt(lim[3])} | {ours[3] / lim[3]:.2g}x"
                 if lim else "none | ")
        other = (f"{peer[1]}: {peer[2]:.1e}, {_fmt(peer[3])}"
                 f"{'' if best else ' (none reaches 1e-8)'} | {peer[3] / ours[3]:.2g}x"
                 if peer else "no peer | ")
        dflt = f"{default[2]:.1e}, {_fmt(default[3])}" if default else ""
        lines.append(f"| {case} | {ours[2]:.1e}, {_fmt(ours[3])} | {limit} | {other} | {dflt} |")
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
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--peers-venv", help="a virtual environment holding the peers: its "
                    "site-packages are searched after this interpreter's")
    args = ap.parse_args()
    if args.peers_venv:
        sys.path.extend(glob.glob(os.path.join(args.peers_venv, "lib", "python*", "site-packages")))
    have = {m: _importable(m) for m in PEERS}
    nt, dks = have["neural_tangents"] and have["jax"], have["dks"]
    if nt:
        import jax
        jax.config.update("jax_enable_x64", True)
    import peer_methods as P
    warnings.filterwarnings("ignore", message="Numerical Activation Layer")  # NT, per layer
    table = Table()
    print(f"load average at start: {os.getloadavg()[0]:.2f} (1 min), {os.cpu_count()} CPUs; "
          f"peers not installed: {[m for m, ok in have.items() if not ok] or 'none'}; CPU time, "
          f"median of {REPEATS} rounds of >= {ROUND_S * 1e3:g} ms, rows of a case interleaved")
    print(f"{'':2}{'case':<36}{'method':<28}{'rel. error':>10}{'CPU time / eval':>17}")
    limit_rows(table, nt, dks)
    for name in ("gelu", "tanh", "silu"):
        for q in (1.0, 10.0):
            case = f"E[phi^2] {name} q={q:g}"
            ref = ref_univariate(name, q)
            act = get(name)
            row(table, case, "sparsefield", lambda: float(M.e_phi2(act, q)), ref)
            if nt:
                for label, layer in P.nt_layers(name).items():
                    row(table, case, label, P.nt_kernel(layer, q, None), ref)
            if dks:
                for order in (P.DKS_DEFAULT, P.DKS_BEST):
                    f = P.dks_mean(name, q, order)
                    row(table, case, f"dks {order:,} nodes", lambda f=f: float(f()), ref)
            table.flush()
        refs = np.array([ref_univariate(name, q) for q in QS[QS_SUB]])
        case = f"E[phi^2] {name} over 10^4 q"
        act = get(name)
        row(table, case, "sparsefield (vectorised)",
            lambda: max_err(M.e_phi2(act, QS)[QS_SUB], refs), 1.0, per=QS.size)
        peer_rows(table, case, name, refs, nt, dks, QS)
        table.flush()
    for name in ("gelu", "tanh", "silu", "sigmoid", "relu", "relu2", "crelu", "cst"):
        for rho in (0.5, 0.99):
            case = f"E[phi phi] {name} rho={rho:g}"
            ref = ref_bivariate(name, 1.0, rho)
            act = act_of(name)
            row(table, case, "sparsefield", lambda: float(M.e_phi_phi(act, 1.0, rho)), ref)
            if name == "relu":
                row(table, case, "numpy closed form", lambda: float(np_arccos(1.0, rho)), ref)
            if nt:
                for label, layer in P.nt_layers(name).items():
                    row(table, case, label, P.nt_kernel(layer, 1.0, rho), ref)
            if dks and (name == "crelu" or (name, rho) in (("cst", 0.99), ("tanh", 0.5))):
                row(table, case, "dks dblquad", P.dks_bivariate(name, 1.0, rho), ref, warm=False)
            table.flush()
    print(f"load average at the end: {os.getloadavg()[0]:.2f} (1 min)")
    print("\n| case | sparsefield: error, CPU time | numpy closed form: error, time "
          "| sparsefield / numpy | fastest peer reaching 1e-8: error, time "
          "| peer / sparsefield | dks default (100,000 nodes): error, time |"
          "\n|---|---|---|---|---|---|---|")
    print("\n".join(summarise(table.rows)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
