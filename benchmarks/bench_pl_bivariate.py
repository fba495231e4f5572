"""The bivariate map of piecewise-linear activations against hand-written numpy closed forms.

Rows (CPU time per point, one thread, medians; relative error against 20-digit mpmath at
six sample points of the grid, :mod:`sparsefield.references.mpmath_moments`):

* ReLU ``E[phi phi]``: one ``(q, rho)`` and a 100 x 100 ``(q, rho)`` grid, sparsefield
  (the arc-cosine route) against ``q (sqrt(1 - rho^2) + (pi - arccos rho) rho) / (2 pi)``
  written in numpy;
* CReLU, CST, ST, hard threshold ``E[phi phi]`` and ``E[phi' phi']`` (classical ``phi'``;
  for jumps also ``moments.e_dphi_dphi``, which adds their delta terms): the 100 x 100 grid
  (``q`` log-spaced in [0.1, 10], ``rho`` in [-1, 1]) by the public route, by the orthant
  closed form alone (:func:`sparsefield.theory.pl_bivariate.expect`), each route's region
  timed alone (``grid / fastest region``: 1 without a cliff), and one scalar call; CReLU
  also against the naive Rosenbaum/Owen closed form in numpy (``scipy.special.owens_t``,
  no error control: it shows the cost of the formula and what its cancellation costs).

Run: ``python benchmarks/bench_pl_bivariate.py``; the load (``os.getloadavg``) is printed at
start and end.  A few minutes (the mpmath references and the fallback regions).
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import mpmath as mp  # noqa: E402
import numpy as np  # noqa: E402
from scipy.special import ndtr, owens_t  # noqa: E402
from timing import cpu_median  # noqa: E402

from sparsefield.references import mpmath_moments as R  # noqa: E402
from sparsefield.theory import get, pl_bivariate, routes  # noqa: E402
from sparsefield.theory import moments as M  # noqa: E402

CASES = {"crelu": {"tau": 1.0364, "m": 0.8095}, "cst": {"tau": 0.5, "m": 1.5},
         "st": {"tau": 1.0}, "hard_threshold": {"theta": 1.0}}
QG, RG = np.broadcast_arrays(np.geomspace(0.1, 10.0, 100)[:, None],
                             np.linspace(-1.0, 1.0, 100)[None, :])
SAMPLES = ((0, 70), (0, 95), (50, 20), (50, 85), (99, 60), (99, 98))  # (q, rho) indices
IDX = tuple(np.array(v) for v in zip(*SAMPLES))


def np_arccos(q, rho):
    """ReLU: ``q (sqrt(1 - rho^2) + (pi - arccos rho) rho) / (2 pi)`` (Cho & Saul 2009)."""
    rho = np.asarray(rho, float)
    return np.asarray(q, float) * (np.sqrt((1.0 - rho) * (1.0 + rho))
                                   + (np.pi - np.arccos(rho)) * rho) / (2.0 * np.pi)


def np_crelu(q, rho, tau, m):
    """CReLU ``= s (R_l - R_u)`` in ``z``: ``q [G(l,l) - 2 G(l,u) + G(u,u)]`` with Rosenbaum's
    ``G`` and Owen's ``L = Q(h)/2 + Q(k)/2 - T(h, a_h) - T(k, a_k)`` (``h, k > 0``), as one would
    write it from the papers (``|rho| < 1``)."""
    s = np.sqrt(q)
    l, u = tau / s, (tau + m) / s
    c = np.sqrt((1.0 - rho) * (1.0 + rho))
    g = lambda z: np.exp(-0.5 * z * z) / np.sqrt(2.0 * np.pi)  # noqa: E731

    def G(h, k):
        ks, hs = (k - rho * h) / c, (h - rho * k) / c
        L = 0.5 * (ndtr(-h) + ndtr(-k)) - owens_t(h, ks / h) - owens_t(k, hs / k)
        return ((rho + h * k) * L - k * g(h) * ndtr(-ks) - h * g(k) * ndtr(-hs)
                + c * g(h) * g(ks))
    return q * (G(l, l) - 2.0 * G(l, u) + G(u, u))


def refs(act, order: int) -> np.ndarray:
    mp.mp.dps = 20
    return np.array([float(R.mp_bivariate(act, QG[i], RG[i], order)) for i in SAMPLES])


def err(values, ref) -> float:
    """Largest error at the samples, relative to ``max(|ref|, 1e-300)``."""
    v = np.asarray(values, float)[IDX]
    return float(np.max(np.abs(v - ref) / np.maximum(np.abs(ref), 1e-300)))


def line(case: str, method: str, t: float, e: float | str = "") -> None:
    e = f"{e:.1e}" if isinstance(e, float) else e
    print(f"  {case:<34}{method:<34}{t * 1e6:>11.4g} us{e:>10}", flush=True)


def relu_rows() -> None:
    relu = get("relu")
    ref = refs(relu, 0)
    ts, tn = cpu_median(lambda: M.e_phi_phi(relu, 1.0, 0.3), inner=500), \
        cpu_median(lambda: np_arccos(1.0, 0.3), inner=500)
    line("ReLU E[phi phi] one (q, rho)", "sparsefield", ts)
    line("", "numpy closed form", tn)
    print(f"  {'':<34}ratio {ts / tn:.2f}")
    gs, gn = cpu_median(lambda: M.e_phi_phi(relu, QG, RG), inner=20) / QG.size, \
        cpu_median(lambda: np_arccos(QG, RG), inner=20) / QG.size
    line("ReLU E[phi phi] 100x100 grid /pt", "sparsefield", gs, err(M.e_phi_phi(relu, QG, RG), ref))
    line("", "numpy closed form", gn, err(np_arccos(QG, RG), ref))
    print(f"  {'':<34}ratio {gs / gn:.2f}")


def pl_rows(name: str, order: int) -> None:
    act = get(name, **CASES[name])
    ref = refs(act, order)
    def fn(a, q, rho):  # the classical phi' (the delta terms of jumps: a separate line)
        return M._bivariate(a, q, rho, order, "auto")
    what = "E[phi phi]" if order == 0 else "E[phi' phi']"
    case = f"{name} {what} 100x100 /pt"
    full = cpu_median(lambda: fn(act, QG, RG), repeats=3) / QG.size
    line(case, "sparsefield (public route)", full, err(fn(act, QG, RG), ref))
    closed = cpu_median(lambda: pl_bivariate.expect(act, QG, RG, order), repeats=3) / QG.size
    v, ok = pl_bivariate.expect(act, QG, RG, order)
    line("", f"closed form alone (ok {ok.mean():.0%})", closed,
         err(np.where(ok, v, np.nan), ref) if ok[IDX].all() else "-")
    if name == "crelu" and order == 0:
        inner = (RG > -1.0) & (RG < 1.0)
        naive = cpu_median(lambda: np_crelu(QG[inner], RG[inner], **CASES[name]), repeats=3) / inner.sum()
        nv = np.full(QG.shape, np.nan)
        nv[inner] = np_crelu(QG[inner], RG[inner], **CASES[name])
        line("", "numpy Rosenbaum/Owen (naive)", naive, err(nv, ref))
        print(f"  {'':<34}public / naive {full / naive:.2f}, closed / naive {closed / naive:.2f}")
    rts, index, _ = routes.plan(act, "bivariate", (QG, RG), order=order)
    mix = {}
    for j, r in enumerate(rts):
        at = index == j
        if at.any():
            q, rho = QG.ravel()[at], RG.ravel()[at]
            mix[r.name] = (int(at.sum()), cpu_median(lambda: r.fns["bivariate"](act, q, rho, order),
                                              repeats=3) / at.sum())
    fastest = min(t for _, t in mix.values())
    print(f"  {'':<34}regions: " + ", ".join(f"{k} {n} pts {t * 1e6:.3g} us/pt"
                                             for k, (n, t) in mix.items())
          + f"; grid / fastest region {full / fastest:.2f}")
    one = cpu_median(lambda: fn(act, 1.0, 0.5), inner=20)
    line(f"{name} {what} one (q=1, rho=0.5)", "sparsefield (public route)", one)
    if order == 1 and act.has_jumps:
        t = cpu_median(lambda: M.e_dphi_dphi(act, QG, RG), repeats=1) / QG.size
        line("", "e_dphi_dphi (+ jump deltas) /pt", t)


def main() -> None:
    print(f"load {os.getloadavg()}; CPU times, one thread")
    relu_rows()
    for name in CASES:
        for order in (0, 1):
            pl_rows(name, order)
    print(f"load {os.getloadavg()}")


if __name__ == "__main__":
    main()
