"""Grid cost against the cost of its fastest region: no cliff in the moment routes.

For every catalogue activation, an ``n x n`` grid of ``(q, rho)`` (``q`` log-spaced in
[1e-2, 1e2], ``rho`` in [-1, 1]) of ``E[phi(u1) phi(u2)]``, and an ``n^2``-point ``q`` grid of
``E[phi^2]``: the whole grid in one call against each route's region timed alone (the points
:func:`sparsefield.theory.routes.plan` gives it, in one call).  Printed per activation: the
grid's time per point, each region's time per point, and ``grid / fastest region`` -- which
measures the mix; a cliff (one point sending the grid down a slow path) shows as a ratio
far above the share-weighted mean of the regions (also printed: ``grid / mix``, ~1 when the
grid costs what its regions cost).

For the ELU family also ``E[phi^2]`` on the grid against a hand-written numpy closed form
(``q/2 + alpha^2 (erfcx(2 sqrt(q/2)/alpha)/2 - erfcx(sqrt(q/2)/alpha) + 1/2)``, SELU scaled by
lambda^2), and for the grids whose bivariate map was all nested panels before
theory/exp_bivariate.py (``PANELS_BEFORE``), that rule's cost per point on 20 random points.

Then one smooth point (tanh, SiLU, softplus, Mish at ``q`` = 0.1 and 1): ``E[phi^2]`` by
:func:`sparsefield.theory.moments.e_phi2` (the strip rule's one-point path) against a
hand-written numpy Gauss-Hermite rule of 100 nodes, both against mpmath.

Run: ``python benchmarks/bench_routes.py [--n 100] [--only cst,gelu] [--all]``.  Grids
with more than ``SLOW_POINTS`` points in a nested-panel bivariate region (CReLU, CST,
hardtanh: ~0.1-300 ms per point) are timed only with ``--all``.  Times are CPU medians of
``--repeat`` rounds of at least ``timing.ROUND_S`` each (one call where a call takes over a
second; ``benchmarks/timing.py``), a grid's rounds interleaved with its regions' (and the
numpy form's), one thread; the load is printed at start and end, and the last lines are the
README's.  About 1-2 minutes on a quiet machine.
"""

from __future__ import annotations

import argparse
import os
import sys

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
from scipy.special import erfcx  # noqa: E402

from sparsefield.theory import activations as A  # noqa: E402
from sparsefield.theory import moments as M  # noqa: E402
from sparsefield.theory import routes  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from timing import ROUND_S, cpu_median, cpu_medians  # noqa: E402

SLOW = {"panels"}
# grids whose bivariate map was all nested panels before theory/exp_bivariate.py (GoLU:
# before theory/smooth_bivariate.py)
PANELS_BEFORE = {"elu", "selu", "celu", "crelu2", "hardswish", "golu"}
SLOW_POINTS = 50  # a grid with more nested-panel bivariate points is timed only with --all
ELU_FAMILY = {"elu": lambda a: (a.values[0], 1.0), "celu": lambda a: (a.values[0], 1.0),
              "selu": lambda a: (float(A.SELU_ALPHA), float(A.SELU_LAMBDA))}


def numpy_elu_e_phi2(act, q):
    """``E[phi^2]`` of ``lam * elu_alpha`` (CELU: ``e^{x/alpha}``; ELU: ``e^x``, here alpha = 1
    or the rate 1 with amplitude alpha), by hand: ``E[e^{a x}; x < 0] = erfcx(a sqrt(q/2))/2``."""
    alpha, lam = ELU_FAMILY[act.name](act)
    rate = 1.0 / alpha if act.name == "celu" else 1.0
    h = np.sqrt(q / 2.0)
    neg = alpha * alpha * (0.5 * erfcx(2.0 * rate * h) - erfcx(rate * h) + 0.5)
    return lam * lam * (0.5 * q + neg)  # the nested panel rule: ~0.1-300 ms per bivariate point (--skip-slow)


def row(act, quantity, points, repeat, skip_slow, extra=None):
    """``(grid s/pt, {route: (share, s/pt)}, {name: s per call of extra[name]})`` for one
    grid; the grid, its regions and ``extra`` timed with their rounds interleaved."""
    kw = {"order": 0} if quantity == "bivariate" else {}
    fn = (lambda *p: M.e_phi_phi(act, *p)) if quantity == "bivariate" else \
        (lambda *p: M.e_phi2(act, *p))
    rs, index, _ = routes.plan(act, quantity, points, **kw)
    flat = [a.reshape(-1) for a in np.broadcast_arrays(*points)]
    shares, fns = {}, {}
    for j, r in enumerate(rs):
        at = index == j
        if not at.any():
            continue
        shares[r.name] = (at.mean(), at.sum())
        if skip_slow and quantity == "bivariate" and r.name in SLOW and at.sum() > SLOW_POINTS:
            continue
        sub = [p[at] for p in flat]
        fns[r.name] = lambda sub=sub: fn(*sub)
    untimed = len(fns) < len(shares)
    if not untimed:
        fns["grid"] = lambda: fn(*points)
    times = cpu_medians({**fns, **{f"extra {k}": f for k, f in (extra or {}).items()}}, repeat)
    regions = {k: (share, times[k] / count if k in fns else float("nan"))
               for k, (share, count) in shares.items()}
    out = {k: times[f"extra {k}"] for k in extra or {}}
    return (float("nan") if untimed else times["grid"] / index.size), regions, out


def index_size(points) -> int:
    return int(np.prod(np.broadcast_shapes(*(np.shape(p) for p in points))))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=7, help="rounds per timing (median)")
    ap.add_argument("--only", default="")
    ap.add_argument("--all", action="store_true",
                    help="also time grids with a nested-panel bivariate region")
    args = ap.parse_args()
    args.skip_slow = not args.all
    load0 = os.getloadavg()[0]
    print(f"load average {load0:.1f}; n = {args.n}; CPU time, median of {args.repeat} rounds "
          f"of >= {ROUND_S * 1e3:g} ms (benchmarks/timing.py)")
    q = np.geomspace(1e-2, 1e2, args.n)
    rho = np.linspace(-1.0, 1.0, args.n)
    grids = {"bivariate": (q[:, None], rho[None, :]),
             "e_phi2": (np.geomspace(1e-2, 1e2, args.n ** 2),)}
    names = args.only.split(",") if args.only else list(A.CATALOGUE)
    worst, untimed, extra = [], [], []
    print(f"{'activation':15s} {'quantity':9s} {'grid us/pt':>10s} {'/fastest':>8s} {'/mix':>6s}"
          "  regions: share, us/pt")
    for name in names:
        fam = A.CATALOGUE[name]
        act = fam.bind(**fam.examples[0])
        for quantity, points in grids.items():
            elu = quantity == "e_phi2" and name in ELU_FAMILY
            numpy_form = {"numpy": lambda: numpy_elu_e_phi2(act, points[0])} if elu else None
            grid, regions, other = row(act, quantity, points, args.repeat, args.skip_slow,
                                       numpy_form)
            per = [t for _, t in regions.values() if np.isfinite(t)]
            fastest = min(per) if per else float("nan")
            mix = sum(s * t for s, t in regions.values())
            desc = ", ".join(f"{k} {s:.0%} {t * 1e6:.3g}" for k, (s, t) in regions.items())
            print(f"{name:15s} {quantity:9s} {grid * 1e6:10.3g} {grid / fastest:8.2f} "
                  f"{grid / mix:6.2f}  {desc}")
            if elu:
                qq = points[0]
                err = np.max(np.abs(M.e_phi2(act, qq) / numpy_elu_e_phi2(act, qq) - 1.0))
                t_np = other["numpy"] / qq.size
                print(f"{'':15s} numpy closed form {t_np * 1e6:.3g} us/pt: grid / numpy "
                      f"{grid / t_np:.2f}x (max rel. difference {err:.0e})")
                extra.append(f"{name} E[phi^2] {grid / t_np:.1f}x numpy")
            if quantity == "bivariate" and name in PANELS_BEFORE:
                pick = np.random.default_rng(0).choice(index_size(points), 20, replace=False)
                sub = [p.reshape(-1)[pick] for p in np.broadcast_arrays(*points)]
                t_pan = cpu_median(lambda: M.e_phi_phi(act, *sub, method="panels"),
                                   1) / sub[0].size
                print(f"{'':15s} nested panels {t_pan * 1e6:.3g} us/pt: {t_pan / grid:.0f}x the grid")
                if t_pan / grid > 3:
                    extra.append(f"{name} {t_pan / grid:.0f}x faster than the panels")
            if np.isfinite(grid):
                worst.append((grid / fastest, name, quantity))
            else:
                untimed.append(f"{name} {quantity}")
    point_rows = one_point()
    worst.sort(reverse=True)
    print(f"\nREADME (load {load0:.1f} -> {os.getloadavg()[0]:.1f}): {args.n} x {args.n} grids, "
          f"grid / fastest region <= 3x on {sum(r <= 3 for r, *_ in worst)} of {len(worst)} "
          f"timed grids; above 3x: "
          + (", ".join(f"{n} {q} {r:.1f}x" for r, n, q in worst if r > 3) or "none")
          + f"; not timed (nested panels): {', '.join(untimed) or 'none'}")
    print("README vs numpy / vs the nested panels: " + "; ".join(extra))
    print("README one point E[phi^2], ours / numpy GH-100 (CPU time; error vs mpmath): "
          + "; ".join(point_rows))


def one_point() -> list[str]:
    """``E[phi^2]`` at one ``q``: ours against numpy Gauss-Hermite with 100 nodes."""
    import mpmath as mp

    from sparsefield.references import mpmath_moments as R
    y, w = np.polynomial.hermite.hermgauss(100)
    w = w / np.sqrt(np.pi)
    numpy_phi = {"tanh": np.tanh, "silu": lambda x: x / (1.0 + np.exp(-x)),
                 "softplus": lambda x: np.logaddexp(0.0, x),
                 "mish": lambda x: x * np.tanh(np.logaddexp(0.0, x))}
    rows = []
    mp.mp.dps = 30
    print(f"\n{'one point':10s} {'q':>4s} {'ours us':>8s} {'err':>8s} {'GH-100 us':>9s} {'err':>8s}")
    for name, f in numpy_phi.items():
        act = A.get(name)
        for q in (0.1, 1.0):
            ref = float(R.mp_e_phi2(act, q))
            gh = lambda: float(w @ f(np.sqrt(2.0 * q) * y) ** 2)  # noqa: E731
            ours = lambda: M.e_phi2(act, q)  # noqa: E731
            t = cpu_medians({"ours": ours, "gh": gh})
            t_ours, t_gh = t["ours"], t["gh"]
            e_ours, e_gh = abs(ours() / ref - 1), abs(gh() / ref - 1)
            print(f"{name:10s} {q:4.1f} {t_ours * 1e6:8.2f} {e_ours:8.1e} {t_gh * 1e6:9.2f} "
                  f"{e_gh:8.1e}")
            rows.append(f"{name} q={q:g} {t_ours / t_gh:.2f}x ({e_ours:.0e} vs {e_gh:.0e})")
    return rows


if __name__ == "__main__":
    main()
