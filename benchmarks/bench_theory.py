"""Theory speed: one ``derive``, and a 100 x 100 grid of (sparsity, target V'(q*)) derivations
against a straightforward per-point scipy-quad + brentq implementation, in the same run.

Run: ``python benchmarks/bench_theory.py``.  The baseline is timed on a 10 x 10 sub-grid
and reported per point (the full grid would take minutes); results are cross-checked.
"""

from __future__ import annotations

import time

import numpy as np
from scipy import integrate, optimize, special

from sparsefield.theory.clipping import derive, derive_grid, m_for_vprime


def timed(fn, repeat: int = 5) -> float:
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def baseline_m(s: float, v: float) -> float:
    """CReLU clip for target V'(q*) the plain way: quad for E[phi'^2], brentq on m."""
    tau = special.ndtri(s)

    def vprime(m: float) -> float:
        e_dphi2 = integrate.quad(lambda z: np.exp(-z * z / 2) / np.sqrt(2 * np.pi), tau, tau + m)[0]
        delta = -m * np.exp(-(tau + m) ** 2 / 2) / np.sqrt(2 * np.pi)
        return 1.0 + delta / e_dphi2 - v
    return optimize.brentq(vprime, 1e-6, 50.0, xtol=1e-14)


def main() -> None:
    derive("crelu", 0.85)  # warm caches (sympy lambdification happens once per family)
    sparsities = iter(np.linspace(0.61, 0.89, 1000))
    t_cold = timed(lambda: derive("crelu", float(next(sparsities)), vprime=0.5))
    t_one = timed(lambda: derive("crelu", 0.85, vprime=0.5))
    t_m = timed(lambda: m_for_vprime("crelu", 0.85, 0.5))
    s = np.linspace(0.55, 0.95, 100)[:, None]
    v = np.linspace(0.05, 0.95, 100)[None, :]
    t_grid = timed(lambda: derive_grid("crelu", s, v), repeat=3)
    sub_s, sub_v = s[::10, 0], v[0, ::10]
    t0 = time.perf_counter()
    base = np.array([[baseline_m(a, b) for b in sub_v] for a in sub_s])
    t_base = (time.perf_counter() - t0) / base.size
    ours = derive_grid("crelu", sub_s[:, None], sub_v[None, :])["m"]
    err = np.max(np.abs(ours / base - 1))
    print(f"one derive at a new sparsity (critical clips too): {t_cold * 1e3:8.2f} ms")
    print(f"one derive, critical clips cached for the sparsity: {t_one * 1e3:7.2f} ms")
    print(f"one m_for_vprime:                                  {t_m * 1e3:8.2f} ms")
    print(f"100x100 derive_grid (vectorised):                  {t_grid:8.3f} s "
          f"({t_grid / 1e4 * 1e6:.1f} us/point)")
    print(f"baseline per-point quad + brentq:                  {t_base * 1e6:8.1f} us/point "
          f"-> {t_base * 1e4:.1f} s for the grid")
    print(f"speed-up (baseline / vectorised, per point):       {t_base / (t_grid / 1e4):8.1f}x")
    print(f"max relative difference of m vs baseline:          {err:.2e}")


if __name__ == "__main__":
    main()
