"""Numerics speed, each against a plain numpy baseline timed in the same run.

1. Gaussian Monte Carlo: time per draw and accuracy per second, ``1 / (stderr^2 * seconds)``
   (the inverse of the time needed for a unit variance), of ``gaussian_mc`` (numba,
   with and without variance reduction) vs hand-written vectorised numpy
   (``rng.standard_normal``, ``np.clip`` / ``np.maximum`` / ``erf`` forms of ``phi``,
   ``phi'``: what a competent user would write), per quantity, both on one thread.  "Per
   draw" is the ratio of CPU times for the same number of points (plain numba draws as
   many normals as numpy); accuracy per second also counts the standard errors, so the plain
   rows' accuracy ratios scatter around the per-draw ratio by a few % (sampling noise).
2. Finite-width networks: network-layers/s (forward + backward) of the batched ``gram``
   and ``dense`` samplers vs a plain numpy loop over networks with explicit weights.

Run: ``python3 benchmarks/bench_numerics.py``.  Compile time is excluded (one warm-up
call) and printed separately; times are CPU time of this process (``time.process_time``,
median of ``timing.REPEATS`` rounds for the Monte Carlo, of 3 for the networks, the rounds of
the rows compared interleaved: ``benchmarks/timing.py``); the load is printed at start and
end, and the last lines are the README's (about a minute on a quiet machine).
"""

from __future__ import annotations

import math
import os
import sys
import time

import numba
import numpy as np
from scipy import special

from sparsefield.numerics import finite_width, gaussian_mc
from sparsefield.theory.activations import get
from sparsefield.theory.clipping import derive

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from timing import cpu_medians  # noqa: E402

N_POINTS = 1 << 22
QUANTITIES = {"e_phi2": "phi2", "e_dphi2": "dphi2", "e_phi_dphi": "phi_dphi"}


def hand_written(name: str, params: dict):
    """``(phi, phi')`` as a user would write them in numpy."""
    if name == "crelu":
        t, m = params["tau"], params["m"]
        return (lambda x: np.clip(x - t, 0.0, m),
                lambda x: ((x >= t) & (x < t + m)).astype(float))
    if name == "relu_tau":
        t = params["tau"]
        return lambda x: np.maximum(x - t, 0.0), lambda x: (x >= t).astype(float)
    if name == "gelu":
        r2 = math.sqrt(0.5)
        cdf = lambda x: 0.5 * (1.0 + special.erf(r2 * x))  # noqa: E731
        return (lambda x: x * cdf(x),
                lambda x: cdf(x) + x * np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi))
    raise KeyError(name)


def numpy_mc(phi, dphi, q: float, n: int, seed: int) -> dict:
    """The baseline: i.i.d. draws, vectorised numpy, chunks of 2^20."""
    rng = np.random.default_rng(seed)
    sums = {k: np.zeros(2) for k in QUANTITIES}
    for s in range(0, n, 1 << 20):
        x = math.sqrt(q) * rng.standard_normal(min(1 << 20, n - s))
        f, g = phi(x), dphi(x)
        for k, v in (("e_phi2", f * f), ("e_dphi2", g * g), ("e_phi_dphi", f * g)):
            sums[k] += (v.sum(), (v * v).sum())
    out = {}
    for k, (a, b) in sums.items():
        mean = a / n
        out[k] = (mean, math.sqrt(max(b / n - mean * mean, 0.0) / (n - 1)))
    return out


def bench_mc(name: str, params: dict) -> dict:
    act = get(name, **params)
    phi, dphi = hand_written(name, params)
    x = np.linspace(-4, 4, 1001)
    assert np.allclose(phi(x), act(x)) and np.allclose(dphi(x)[::7], act.derivative(x)[::7])
    t0 = time.perf_counter()
    gaussian_mc.moments(act, 1.0, n=1 << 14)
    compile_s = time.perf_counter() - t0
    fns = {"numpy": lambda: numpy_mc(phi, dphi, 1.0, N_POINTS, 1),
           "numba plain": lambda: _ours(act, False),
           "numba reduced": lambda: _ours(act, True)}
    times = cpu_medians(fns)  # the rounds interleaved; fixed seeds: every call's result is the same
    rows = {label: (times[label], fn()) for label, fn in fns.items()}
    base_t, base = rows["numpy"]
    ratios = {}
    print(f"\n{name}{tuple(params.values()) or ''}: {N_POINTS:,} points, "
          f"{numba.get_num_threads()} threads, first call (callbacks + kernel load) "
          f"{compile_s:.2f} s")
    print(f"  {'method':<14}{'CPU s':>8}{'Mpoints/s':>11}{'per draw':>10}  "
          + "".join(f"{k + ' stderr':>18}{'acc/s ratio':>13}" for k in QUANTITIES))
    for label, (t, res) in rows.items():
        cells = ""
        for k in QUANTITIES:
            se = res[k][1]
            ratio = (base[k][1] ** 2 * base_t) / (se * se * t) if se > 0 else math.inf
            cells += f"{se:>18.3e}{ratio:>12.1f}x"
        print(f"  {label:<14}{t:>8.3f}{N_POINTS / t / 1e6:>11.2f}{base_t / t:>9.2f}x  {cells}")
        ratios[label] = [base_t / t] + [(base[k][1] ** 2 * base_t) / (res[k][1] ** 2 * t)
                                        if res[k][1] > 0 else math.inf for k in QUANTITIES]
    return ratios


def _ours(act, reduce: bool) -> dict:
    m = gaussian_mc.moments(act, 1.0, n=N_POINTS, seed=1, reduce=reduce)
    return {k: (m[v].value, m[v].stderr) for k, v in QUANTITIES.items()}


def plain_loop(act, sw2, sb2, depth, width, n_networks, seed) -> np.ndarray:
    """The baseline: one network at a time, explicit weights kept for the backward pass."""
    rng = np.random.default_rng(seed)
    gains = np.empty((n_networks, depth))
    for k in range(n_networks):
        h = rng.standard_normal((2, width))
        hs, ws = [h], []
        for _ in range(depth):
            w = rng.standard_normal((width, width)) * math.sqrt(sw2 / width)
            h = act(hs[-1]) @ w.T + rng.standard_normal(width) * math.sqrt(sb2)
            hs.append(h), ws.append(w)
        g = rng.standard_normal((2, width))
        for l in range(depth - 1, -1, -1):
            back = act.derivative(hs[l]) * (g @ ws[l])
            gains[k, l] = (back * back).sum() / (g * g).sum()
            g = back
    return gains


def bench_finite_width() -> None:
    d = derive("crelu", 0.85, vprime=0.5)
    act, depth, width = d.activation_fn(), 50, 300
    print(f"\nfinite width: crelu at V'(q*)=0.5, depth {depth}, width {width}, "
          "forward + backward (gradient gains)")
    runs = {"plain numpy loop": (8, lambda n: plain_loop(act, d.sigma_w2, d.sigma_b2, depth,
                                                          width, n, 0)),
            "dense batched": (16, lambda n: finite_width.simulate(
                act, d.sigma_w2, d.sigma_b2, depth, width, n, method="dense")),
            "dense float32": (16, lambda n: finite_width.simulate(
                act, d.sigma_w2, d.sigma_b2, depth, width, n, method="dense", dtype=np.float32)),
            "gram batched": (256, lambda n: finite_width.simulate(
                act, d.sigma_w2, d.sigma_b2, depth, width, n, method="gram"))}
    times = cpu_medians({k: lambda n=n, fn=fn: fn(n) for k, (n, fn) in runs.items()}, repeats=3)
    base = None
    for label, (n, _) in runs.items():
        rate = n * depth / times[label]
        base = base or rate
        print(f"  {label:<18}{n:>5} networks {rate:>12.0f} network-layers/s "
              f"{rate / base:>8.1f}x")


def main() -> None:
    load0 = os.getloadavg()[0]
    print(f"load average {load0:.1f}")
    threads = numba.get_num_threads()
    numba.set_num_threads(1)  # numpy runs on one thread: so does numba here
    lines = {"numba plain": [], "numba reduced": []}
    for name, params in (("crelu", {"tau": 1.0364, "m": 0.8095}), ("relu_tau", {"tau": 1.0364}),
                         ("gelu", {})):
        ratios = bench_mc(name, params)
        for label, out in lines.items():
            r = ratios[label]
            out.append(f"{name} {r[0]:.2f}x per draw, " + " / ".join(f"{v:,.3g}x" for v in r[1:]))
    numba.set_num_threads(threads)
    bench_finite_width()
    print(f"\nREADME (load {load0:.1f} -> {os.getloadavg()[0]:.1f}; one thread, CPU time; per draw, "
          f"then accuracy per second over vectorised numpy, {' / '.join(QUANTITIES)}):")
    for label, out in lines.items():
        print(f"  {label}: " + "; ".join(out))


if __name__ == "__main__":
    main()
