"""Theory speed: one ``derive``, and a 100 x 100 grid of (sparsity, target V'(q*)) derivations
against the best straightforward alternative, in the same run: per point, ``brentq`` on
the closed form ``V'(q*) = 1 - m gamma(tau + m) / (Phi(tau + m) - Phi(tau))`` written with
``erfc`` (what a competent user would write; no quadrature).

Run: ``python benchmarks/bench_theory.py``.  Both are timed the same way, their rounds
interleaved (CPU time of this process, ``benchmarks/timing.py``, one thread); the baseline on a
10 x 10 sub-grid, reported per point; results are cross-checked; the load average is printed
at the start and the end, and the last line is the README's.
"""

from __future__ import annotations

import math
import os
import sys

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
from scipy import optimize, special  # noqa: E402

from sparsefield.theory.clipping import derive, derive_grid, m_for_vprime  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from timing import cpu_median, cpu_medians  # noqa: E402


def baseline_m(s: float, v: float) -> float:
    """CReLU clip for target V'(q*) the plain way: ``brentq`` on the ``erfc`` closed form
    ``V' = 1 - m gamma(tau+m) / (Phi(tau+m) - Phi(tau))`` (z units, ``tau = Phi^-1(s)``)."""
    tau = special.ndtri(s)

    def vprime(m: float) -> float:
        mass = 0.5 * (special.erfc(tau / math.sqrt(2)) - special.erfc((tau + m) / math.sqrt(2)))
        return 1.0 - m * math.exp(-0.5 * (tau + m) ** 2) / math.sqrt(2 * math.pi) / mass - v
    return optimize.brentq(vprime, 1e-6, 50.0, xtol=1e-14)


def main() -> None:
    load0 = os.getloadavg()[0]
    derive("crelu", 0.85)  # warm caches (generated forms, critical clips)
    sparsities = iter(np.linspace(0.61, 0.89, 1000))
    t_cold = cpu_median(lambda: derive("crelu", float(next(sparsities)), vprime=0.5))
    t_one = cpu_median(lambda: derive("crelu", 0.85, vprime=0.5))
    t_m = cpu_median(lambda: m_for_vprime("crelu", 0.85, 0.5))
    s = np.linspace(0.55, 0.95, 100)[:, None]
    v = np.linspace(0.05, 0.95, 100)[None, :]
    sub_s, sub_v = s[::10, 0], v[0, ::10]
    base = np.array([[baseline_m(a, b) for b in sub_v] for a in sub_s])
    t = cpu_medians({"grid": lambda: derive_grid("crelu", s, v),
                     "base": lambda: [[baseline_m(a, b) for b in sub_v] for a in sub_s]})
    t_grid, t_base = t["grid"], t["base"] / base.size
    ours = derive_grid("crelu", sub_s[:, None], sub_v[None, :])["m"]
    err = np.max(np.abs(ours / base - 1))
    print(f"one derive at a new sparsity (critical clips too): {t_cold * 1e3:8.2f} ms")
    print(f"one derive, critical clips cached for the sparsity: {t_one * 1e3:7.2f} ms")
    print(f"one m_for_vprime:                                  {t_m * 1e3:8.2f} ms")
    print(f"100x100 derive_grid (vectorised):                  {t_grid:8.3f} s "
          f"({t_grid / 1e4 * 1e6:.1f} us/point)")
    print(f"baseline per-point brentq on the erfc closed form: {t_base * 1e6:8.1f} us/point "
          f"-> {t_base * 1e4:.1f} s for the grid")
    print(f"speed-up (baseline / vectorised, per point):       {t_base / (t_grid / 1e4):8.1f}x")
    print(f"max relative difference of m vs baseline:          {err:.2e}")
    print(f"README (load {load0:.1f} -> {os.getloadavg()[0]:.1f}; CPU time): derive_grid "
          f"{t_grid:.2f} s ({t_grid / 1e4 * 1e6:.0f} us/point) vs per-point brentq "
          f"{t_base * 1e6:.0f} us/point: {t_base / (t_grid / 1e4):.1f}x (max rel. diff "
          f"{err:.1e}); one derive {t_one * 1e3:.0f} ms cached / {t_cold * 1e3:.0f} ms at a new "
          "sparsity")


if __name__ == "__main__":
    main()
