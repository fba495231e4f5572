"""One-point bivariate calls of piecewise-linear activations (issue 27: <= 50 us per scalar
call): ``moments.e_phi_phi`` / ``e_dphi_dphi`` at one float ``(q, rho)``, which takes the
scalar path of :mod:`sparsefield.theory.pl_scalar` wherever the orthant closed form's error
bound holds, beside the same closed form in numpy on one point (``pl_bivariate.expect``,
what the call cost before) and, for ReLU, the numpy arc-cosine kernel.

These are ``bench_peers.py``'s scalar bivariate rows (``E[phi phi] crelu rho=0.5`` ... at
``q = 1``, CReLU tau 1.0364, m 0.8095 and CST tau 0.5, m 1.5 as in ``peer_methods.py``), run
alone with the same harness (``row``: CPU time, median of 7 after a warm-up) plus ``E[phi'
phi']`` and ReLU6, ST, hardtanh, JumpReLU at a few points.  Reference: 20-digit mpmath
(``sparsefield.references.mpmath_moments``; ``E[phi' phi']`` of JumpReLU has delta terms: its
reference is the array route).

Run: ``python benchmarks/bench_pl_scalar.py`` (about 1-2 CPU minutes, mostly the references).
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_peers as B  # noqa: E402  (sets one thread per library before numpy loads)
import mpmath as mp  # noqa: E402
import numpy as np  # noqa: E402

from sparsefield.references import mpmath_moments as R  # noqa: E402
from sparsefield.theory import get, jumps, pl_bivariate, pl_scalar  # noqa: E402
from sparsefield.theory import moments as M  # noqa: E402

CASES = [  # (name, params, q, rho)
    ("relu", {}, 1.0, 0.5), ("relu", {}, 1.0, 0.99),
    ("crelu", B.CRELU, 1.0, 0.5), ("crelu", B.CRELU, 1.0, 0.99),
    ("cst", B.CST, 1.0, 0.5), ("cst", B.CST, 1.0, 0.99),
    ("relu6", {}, 1.0, 0.5), ("relu6", {}, 4.0, -0.7),
    ("st", {"tau": 0.3}, 1.0, 0.5), ("st", {"tau": 0.3}, 1.0, 0.99),
    ("hardtanh", {}, 1.0, 0.5), ("hardtanh", {}, 0.3, 0.99),
    ("jumprelu", {"theta": 1.0}, 1.0, 0.5), ("jumprelu", {"theta": 1.0}, 3.0, -0.7),
]


def reference(act, q: float, rho: float, order: int) -> float:
    if order == 1 and act.has_jumps:
        return float(M.e_dphi_dphi(act, np.array([q]), np.array([rho]))[0])
    mp.mp.dps = 20
    return float(R.mp_bivariate(act, q, rho, order))


def main() -> int:
    table: list = []
    print(f"load average at start: {os.getloadavg()[0]:.2f} (1 min), {os.cpu_count()} CPUs")
    print(f"{'':2}{'case':<36}{'method':<28}{'rel. error':>10}{'CPU time / eval':>17}")
    for name, params, q, rho in CASES:
        act = get(name, **params)
        for order, fn in enumerate((M.e_phi_phi, M.e_dphi_dphi)):
            case = f"E[{'phi' if order == 0 else 'dphi'} ...] {name} q={q:g} rho={rho:g}"
            ref = reference(act, q, rho, order)
            B.row(table, case, "sparsefield", lambda: float(fn(act, q, rho)), ref)
            if name == "relu":
                if order == 0:
                    B.row(table, case, "numpy closed form", lambda: float(B.np_arccos(q, rho)), ref)
                continue
            served = pl_scalar.point(act, q, rho, order)[1]
            print(f"    scalar path serves it: {served}")
            classical = ref - float(jumps.delta_dphi_dphi(act, q, rho)) if (
                order and act.has_jumps) else ref  # the closed form has no delta terms
            B.row(table, case, "closed form alone", lambda: float(
                pl_bivariate.expect(act, q, rho, order)[0]), classical)
    print(f"load average at the end: {os.getloadavg()[0]:.2f} (1 min)")
    print("\n| case | sparsefield: error, CPU time | numpy closed form, one point: error, time "
          "| sparsefield / numpy |\n|---|---|---|---|")
    for case in dict.fromkeys(c for c, *_ in table):
        ours, *lim = [r for r in table if r[0] == case]
        alt = f"{lim[0][2]:.1e}, {B._fmt(lim[0][3])} | {ours[3] / lim[0][3]:.2g}x" if lim else " | "
        print(f"| {case} | {ours[2]:.1e}, {B._fmt(ours[3])} | {alt} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
