"""The Mehler series route (theory/pl_mehler.py) on the 100 x 100 grid of
benchmarks/bench_routes.py (``q`` log-spaced in [1e-2, 1e2], ``rho`` in [-1, 1], catalogue
examples ``fam.bind(**fam.examples[0])``), ``E[phi(u1) phi(u2)]``.

Per activation: the route shares without and with ``pl_mehler`` (:func:`routes.taken`), and
CPU time per point of (a) the series on the points it takes, (b) the orthant closed form on
its own points, (c) the routes that took the series' points before (``pl_inner`` / panels,
on at most ``--sample`` of them).  Medians of CPU time (benchmarks/timing.py), one thread;
the load is printed.  Run: ``python benchmarks/bench_pl_mehler.py [--only st,cst]``.
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
from timing import cpu_median  # noqa: E402

from sparsefield.theory import activations as A  # noqa: E402
from sparsefield.theory import routes  # noqa: E402

NAMES = ("st", "hard_threshold", "cst", "hardtanh", "crelu", "jumprelu")


def without_mehler(act, q, rho):
    """The plan with the series route left out: ``(routes, index)``."""
    saved = list(routes.ROUTES)
    routes.ROUTES[:] = [r for r in saved if r.name != "pl_mehler"]
    routes._candidates.cache_clear()
    try:
        rts, index, _ = routes.plan(act, "bivariate", (q, rho), order=0)
        return rts, index
    finally:
        routes.ROUTES[:] = saved
        routes._candidates.cache_clear()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", default=",".join(NAMES))
    ap.add_argument("--sample", type=int, default=30)
    args = ap.parse_args()
    print(f"load {os.getloadavg()[0]:.2f}")
    qg, rg = (a.ravel() for a in np.broadcast_arrays(np.geomspace(1e-2, 1e2, 100)[:, None],
                                                      np.linspace(-1.0, 1.0, 100)[None, :]))
    rng = np.random.default_rng(0)
    for name in args.only.split(","):
        fam = A.CATALOGUE[name]
        act = fam.bind(**fam.examples[0])
        old_rts, old = without_mehler(act, qg, rg)
        before = {r.name: int(np.sum(old == j)) for j, r in enumerate(old_rts) if np.any(old == j)}
        rts, new, _ = routes.plan(act, "bivariate", (qg, rg), order=0)
        names = [r.name for r in rts]
        after = {n: int(np.sum(new == j)) for j, n in enumerate(names) if np.any(new == j)}
        ours = new == names.index("pl_mehler")
        closed = new == names.index("pl_bivariate")
        fns = {r.name: r for r in rts}
        t_ours = cpu_median(lambda: fns["pl_mehler"].accurate(act, "bivariate", qg[ours],
                                                               rg[ours], 0)) / max(ours.sum(), 1)
        t_closed = cpu_median(lambda: fns["pl_bivariate"].accurate(
            act, "bivariate", qg[closed], rg[closed], 0)) / closed.sum()
        pick = rng.choice(np.flatnonzero(ours), min(args.sample, int(ours.sum())), replace=False)
        t_old = 0.0
        for i in pick:  # each point by the route that took it before, one call per point
            r = old_rts[old[i]]
            t_old += cpu_median(lambda: r.fns["bivariate"](act, qg[i:i + 1], rg[i:i + 1], 0),
                                repeats=1, warm=False)
        t_old /= max(len(pick), 1)
        print(f"{name}: before {before}\n{' ' * len(name)}  after  {after}")
        print(f"{' ' * len(name)}  us/pt: series {1e6 * t_ours:.2f}, orthant closed form "
              f"{1e6 * t_closed:.2f} (series / closed {t_ours / t_closed:.2f}), the series' "
              f"points by their old routes {1e6 * t_old:.0f} ({t_old / max(t_ours, 1e-12):.0f}x)")
    print(f"load {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
