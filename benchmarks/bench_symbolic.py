"""Generated formulas (``theory.symbolic``, sympy ``lambdify`` with ``cse``) against today's
numeric theory (``MeanField``: hand-written closed forms, or breakpoint-split quadrature for
ReLU^2-type pieces), timed the same way in the same run; accuracy of both against the
formula evaluated at 30 digits (mpmath), on a wide grid including tails.

Run: ``python benchmarks/bench_symbolic.py``.
"""

from __future__ import annotations

import itertools
import time

import mpmath as mp
import numpy as np
import sympy as sp

from sparsefield.theory import get, symbolic
from sparsefield.theory.maps import MeanField

CASES = {"crelu": {"tau": 0.5, "m": 1.3}, "cst": {"tau": 0.5, "m": 1.3}, "crelu2": {"c": 2.0}}
WIDE = {"tau": [0.0, 0.5, 1.5, 3.0], "m": [0.1, 0.8, 3.0], "c": [0.2, 1.0, 4.0]}
QS = [0.1, 0.5, 1.0, 3.0, 10.0]
SW2, SB2 = 2.0, 0.1


def best_of(fn, repeat: int = 5, number: int = 20) -> float:
    """Best mean seconds per call over ``repeat`` rounds of ``number`` calls."""
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        best = min(best, (time.perf_counter() - t0) / number)
    return best


def accuracy(name: str, quantity: str) -> tuple[float, float]:
    """Max relative error of (generated, numeric) against 30 digits on the wide grid."""
    exact = sp.lambdify(symbolic.arguments(name, quantity), symbolic.formula(name, quantity),
                        modules=[{"Phi": mp.ncdf, "phi": mp.npdf}, "mpmath"])
    gen = symbolic.lambdified(name, quantity)
    fam = symbolic.family(name)
    worst = [0.0, 0.0]
    for vals in itertools.product(*(WIDE[p.name] for p in fam.params)):
        mf = MeanField(fam.bind(**dict(zip((p.name for p in fam.params), vals))), SW2, SB2)
        for q in QS:
            with mp.workdps(30):
                ref = float(exact(q, SW2, SB2, *vals))
            for i, v in enumerate((gen(q, SW2, SB2, *vals), getattr(mf, quantity)(q))):
                worst[i] = max(worst[i], abs(float(v) / ref - 1.0))
    return worst[0], worst[1]


def main() -> None:
    t0 = time.process_time()
    for name in symbolic.supported():
        for quantity in symbolic.UNIVARIATE:
            try:
                symbolic.formula(name, quantity)
            except ValueError:
                pass
    print(f"deriving every univariate formula of {len(symbolic.supported())} families: "
          f"{time.process_time() - t0:.2f} s CPU (once; cached)")
    print(f"{'case':<22}{'generated':>12}{'numeric':>12}{'speed-up':>10}"
          f"{'err gen':>10}{'err num':>10}")
    for name, params in CASES.items():
        mf = MeanField(get(name, **params), SW2, SB2)
        for quantity in ("V", "dV", "d2V"):
            f = symbolic.lambdified(name, quantity)
            g = getattr(mf, quantity)
            e_gen, e_num = accuracy(name, quantity)
            size = 100 if name == "crelu2" else 10_000  # quadrature: one quad per q
            for label, q in (("scalar", 1.1), (f"{size} q", np.linspace(0.1, 3.0, size))):
                ta = best_of(lambda: f(q, SW2, SB2, *params.values()), repeat=3, number=5)
                tb = best_of(lambda: g(q), repeat=3, number=5)
                print(f"{name + ' ' + quantity + ' ' + label:<22}{ta * 1e6:>10.1f}us"
                      f"{tb * 1e6:>10.1f}us{tb / ta:>9.1f}x{e_gen:>10.1e}{e_num:>10.1e}", flush=True)


if __name__ == "__main__":
    main()
