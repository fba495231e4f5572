"""``E[phi^2]``, ``E[phi'^2]`` of the piecewise-linear catalogue on a 10^4-point ``q`` grid
over [1e-3, 1e8]: no speed cliff across the regions of the ``pl_tail`` route.

Regions (theory/pl_univariate.py): *far* (some breakpoint beyond ``TAIL_Z = 4`` sds:
``q < q_lo``, the backward continued fraction and double-double exponent), *band*
(``q_lo <= q < X^2``, the tail basis) and *series* (``q >= X^2``, the remainder series of
theory/pl_series.py).  Printed per activation and quantity: the grid's CPU time per point
through :mod:`sparsefield.theory.moments`, each region's points timed alone, ``grid /
fastest region``, and the plain numpy truncated-moment sums (``PiecewiseLinear.e_phi2``,
inexact outside the band) on the same grid as the straightforward alternative.

Run: ``python benchmarks/bench_pl_univariate.py [--repeat 9]``.  CPU medians (benchmarks/timing.py,
the rounds of a grid, its regions and numpy interleaved), one thread,
the load printed at start and end.  A few seconds.
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
from timing import REPEATS, cpu_medians  # noqa: E402

from sparsefield.theory import activations as A  # noqa: E402
from sparsefield.theory import generic, pl_series  # noqa: E402
from sparsefield.theory import moments as M  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=REPEATS)
    args = ap.parse_args()
    load0 = os.getloadavg()[0]
    q = np.geomspace(1e-3, 1e8, 10 ** 4)
    print(f"load average {load0:.1f}; 10^4 q in [1e-3, 1e8]; CPU time, median of {args.repeat}")
    print(f"{'activation':15s} {'quantity':8s} {'grid ns/pt':>10s} {'/fastest':>8s} "
          f"{'numpy ns/pt':>11s}  regions: share, ns/pt")
    worst = []
    for name, fam in A.CATALOGUE.items():
        act = fam.bind(**fam.examples[0])
        if not act.is_piecewise_linear or not np.any(act.breakpoints):
            continue  # positively homogeneous: E[phi^2] = q E[phi(z)^2], one multiply
        lo, q_min = generic.q_range(act)[0], pl_series.series(act, 0).q_min
        regions = {"far": q < lo, "band": (q >= lo) & (q < q_min), "series": q >= q_min}
        pl = generic.pl(act)
        for quantity, fn, ref in (("e_phi2", M.e_phi2, pl.e_phi2), ("e_dphi2", M.e_dphi2, pl.e_dphi2)):
            if quantity == "e_dphi2" and act.has_jumps:
                continue  # infinite: delta terms of phi'
            fns = {"grid": lambda fn=fn: fn(act, q), "numpy": lambda ref=ref: ref(q)}
            fns.update({k: (lambda fn=fn, qm=q[m]: fn(act, qm))
                        for k, m in regions.items() if m.any()})
            t = cpu_medians(fns, args.repeat)  # the rounds of the grid and its regions interleaved
            grid, base = t.pop("grid") / q.size, t.pop("numpy") / q.size
            per = {k: (regions[k].mean(), v / regions[k].sum()) for k, v in t.items()}
            fastest = min(t for _, t in per.values())
            worst.append((grid / fastest, name, quantity))
            desc = ", ".join(f"{k} {s:.0%} {t * 1e9:.0f}" for k, (s, t) in per.items())
            print(f"{name:15s} {quantity:8s} {grid * 1e9:10.0f} {grid / fastest:8.2f} "
                  f"{base * 1e9:11.0f}  {desc}")
    worst.sort(reverse=True)
    print(f"\nREADME (load {load0:.1f} -> {os.getloadavg()[0]:.1f}): 10^4 q in [1e-3, 1e8], "
          f"grid / fastest region at most {worst[0][0]:.2f}x ({worst[0][1]} {worst[0][2]}); "
          f"<= 3x on {sum(r <= 3 for r, *_ in worst)} of {len(worst)}")


if __name__ == "__main__":
    main()
