"""Grid cost against the cost of its fastest region: no cliff in the moment routes.

For every catalogue activation, an ``n x n`` grid of ``(q, rho)`` (``q`` log-spaced in
[1e-2, 1e2], ``rho`` in [-1, 1]) of ``E[phi(u1) phi(u2)]``, and an ``n^2``-point ``q`` grid of
``E[phi^2]``: the whole grid in one call against each route's region timed alone (the points
:func:`sparsefield.theory.routes.plan` gives it, in one call).  Printed per activation: the
grid's time per point, each region's time per point, and ``grid / fastest region`` -- which
measures the mix; a cliff (one point sending the grid down a slow path) shows as a ratio
far above the share-weighted mean of the regions (also printed: ``grid / mix``, ~1 when the
grid costs what its regions cost).

Run: ``python benchmarks/bench_routes.py [--n 100] [--only cst,gelu] [--skip-slow]``.
Times are medians of ``--repeat`` runs, one thread; the load is printed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from sparsefield.theory import activations as A  # noqa: E402
from sparsefield.theory import moments as M  # noqa: E402
from sparsefield.theory import routes  # noqa: E402

SLOW = {"panels"}  # the nested panel rule: ~0.1-300 ms per bivariate point (--skip-slow)


def timed(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.process_time()
        fn()
        times.append(time.process_time() - t0)
    return statistics.median(times)


def row(act, quantity, points, repeat, skip_slow):
    """``(grid s/pt, {route: (share, s/pt)})`` for one grid."""
    kw = {"order": 0} if quantity == "bivariate" else {}
    fn = (lambda *p: M.e_phi_phi(act, *p)) if quantity == "bivariate" else \
        (lambda *p: M.e_phi2(act, *p))
    rs, index, _ = routes.plan(act, quantity, points, **kw)
    flat = [a.reshape(-1) for a in np.broadcast_arrays(*points)]
    n = index.size
    regions = {}
    for j, r in enumerate(rs):
        at = index == j
        if not at.any():
            continue
        if skip_slow and quantity == "bivariate" and r.name in SLOW:
            regions[r.name] = (at.mean(), float("nan"))
            continue
        sub = [p[at] for p in flat]
        fn(*sub)  # warm the region's rules and caches
        regions[r.name] = (at.mean(), timed(lambda: fn(*sub), repeat) / at.sum())
    if skip_slow and quantity == "bivariate" and any(r in SLOW for r in regions):
        return float("nan"), regions
    fn(*points)  # warm the caches of the whole grid's rules
    return timed(lambda: fn(*points), repeat) / n, regions


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--only", default="")
    ap.add_argument("--skip-slow", action="store_true",
                    help="do not time grids with a nested-panel region")
    args = ap.parse_args()
    print(f"load average {os.getloadavg()}; n = {args.n}; CPU time, median of {args.repeat}")
    q = np.geomspace(1e-2, 1e2, args.n)
    rho = np.linspace(-1.0, 1.0, args.n)
    grids = {"bivariate": (q[:, None], rho[None, :]),
             "e_phi2": (np.geomspace(1e-2, 1e2, args.n ** 2),)}
    names = args.only.split(",") if args.only else list(A.CATALOGUE)
    print(f"{'activation':15s} {'quantity':9s} {'grid us/pt':>10s} {'/fastest':>8s} {'/mix':>6s}"
          "  regions: share, us/pt")
    for name in names:
        fam = A.CATALOGUE[name]
        act = fam.bind(**fam.examples[0])
        for quantity, points in grids.items():
            grid, regions = row(act, quantity, points, args.repeat, args.skip_slow)
            per = [t for _, t in regions.values() if np.isfinite(t)]
            fastest = min(per) if per else float("nan")
            mix = sum(s * t for s, t in regions.values())
            desc = ", ".join(f"{k} {s:.0%} {t * 1e6:.3g}" for k, (s, t) in regions.items())
            print(f"{name:15s} {quantity:9s} {grid * 1e6:10.3g} {grid / fastest:8.2f} "
                  f"{grid / mix:6.2f}  {desc}")


if __name__ == "__main__":
    main()
