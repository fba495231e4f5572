"""Monte Carlo and finite-width checks of derived edge-of-chaos initialisations (the
report's numerics parts).

* :func:`gaussian_mc`: Gaussian Monte Carlo with standard errors of ``V(q)``, ``V(q*)``,
  ``chi_1``, the exact-zero fraction and ``V'(q*)`` (Stein's identity) at the derived
  points, each row a z-score against the theory (docs/theory.md section 3);
* :func:`finite_networks`: finite-width random networks ``q^l`` over depth against the
  mean-field iterate (Poole et al. 2016; [P24]).
"""

from __future__ import annotations

import math

import numpy as np

from sparsefield.theory import curves
from sparsefield.theory.activations import get
from sparsefield.theory.clipping import UNCLIPPED
from sparsefield.theory.sparsity import TWO_SIDED

from .finite_width import simulate
from .gaussian_mc import estimates
from .stats import Z_BOUND, z_score


def gaussian_mc(derivations: list, q_points, n: int, seed: int) -> dict:
    """Gaussian Monte Carlo with standard errors (:func:`sparsefield.numerics.gaussian_mc.estimates`):
    ``V(q)`` on the variance maps; ``V(q*)``, ``chi_1`` and the exact-zero fraction at
    ``q*`` for the derivations at the default sparsity, and ``V'(q*)`` there by Stein's
    identity ``V'(q) = sigma_w^2 E[phi(sqrt(q) z)^2 (z^2 - 1)] / (2q)`` (plain numpy
    sampling: no delta terms needed); the zero fraction against ``tau`` (``q = 1``)."""
    points, checks = [], []
    for i, d in enumerate(derivations):
        act = d.activation_fn()
        est = [estimates(act, q, d.sigma_w2, d.sigma_b2, n=n, seed=seed + i)["V"]
               for q in q_points]
        mf = d.mean_field()  # the theory stored next to each estimate, not re-derived later
        points.append({"activation": d.activation, "sparsity": d.sparsity, "q": list(q_points),
                       "V": [e.value for e in est], "V_se": [e.stderr for e in est],
                       "V_theory": [float(mf.V(q)) for q in q_points],
                       "z": [e.z(float(mf.V(q))) for e, q in zip(est, q_points)]})
        if not math.isclose(d.sparsity, curves.DEFAULT["sparsity"]):
            continue
        e = estimates(act, d.q_star, d.sigma_w2, d.sigma_b2, n=n, seed=seed + 1000 + i)
        name = f"{d.activation} s={d.sparsity:g}"
        for label, key, theory in (("V(q*)", "V", float(d.mean_field().V(d.q_star))),
                                   ("chi_1", "chi1", d.chi1), ("sparsity", "p_zero", d.sparsity)):
            checks.append(check_row(f"{label} {name}", theory, e[key].value, e[key].stderr,
                                     f"numerics.gaussian_mc (n={e[key].n})"))
        z = np.random.default_rng(seed + 2000 + i).standard_normal(n)
        f = d.sigma_w2 * act(math.sqrt(d.q_star) * z) ** 2 * (z * z - 1) / (2 * d.q_star)
        checks.append(check_row(f"V'(q*) {name}", d.vprime, float(f.mean()),
                                 float(f.std(ddof=1) / math.sqrt(n)),
                                 f"Stein estimator, numpy (n={n})"))
    sparsity = []
    for name in UNCLIPPED:  # one per sidedness: ReLU_tau, ST
        kind = "two_sided" if name in TWO_SIDED else "one_sided"
        for tau in (0.0, 0.5, 1.0, 1.5, 2.0, 2.5):
            e = estimates(get(name, tau=tau), 1.0, 1.0, 0.0, n=n, seed=seed)["p_zero"]
            sparsity.append({"kind": kind, "tau": tau, "s": e.value, "se": e.stderr,
                             "source": "Gaussian Monte Carlo"})
    return {"source": "numerics", "n": n, "points": points, "checks": checks,
            "sparsity": sparsity}


def check_row(check: str, theory: float, value: float, stderr: float, source: str) -> dict:
    z = z_score(value, theory, stderr)
    return {"check": check, "theory": theory, "measured": value, "stderr": stderr, "z": z,
            "ok": abs(z) < Z_BOUND, "source": source}


def finite_networks(derivations: list, width: int, depth: int, networks: int,
                    q0: float = 1.0, *, seed: int, quantiles=(0.1, 0.9),
                    max_points: int = 240) -> dict:
    """Finite-width random networks on the edge of chaos (:func:`sparsefield.numerics.finite_width.
    simulate`): ``q^l`` per network summarised by the median and ``quantiles`` over
    networks, next to the mean-field ``q^l`` from the same ``q^0``; and (network, layer)
    pairs of ``(tau / sqrt(q^l), exact-zero fraction)`` for the sparsity figure."""
    rng = np.random.default_rng(seed)
    curves, points = [], []
    for d in derivations:
        ens = simulate(d.activation_fn(), d.sigma_w2, d.sigma_b2, depth, width, networks,
                       q0=q0, seed=seed, gradients=False)
        q = ens.q_mean  # (networks, depth + 1)
        with np.errstate(invalid="ignore"):
            lo, med, hi = np.nanquantile(q, [quantiles[0], 0.5, quantiles[1]], axis=0)
        curves.append({"activation": d.activation, "sparsity": d.sparsity, "m": d.m,
                       "theory": d.mean_field().iterate(q0, depth).tolist(),
                       "median": med.tolist(), "lo": lo.tolist(), "hi": hi.tolist(),
                       "quantiles": list(quantiles), "final": q[:, -1].tolist()})
        qs, sp = ens.q.reshape(-1), ens.sparsity.reshape(-1)
        ok = np.flatnonzero(np.isfinite(qs) & (qs > 0))
        kind = "two_sided" if d.activation in TWO_SIDED else "one_sided"
        for i in rng.choice(ok, min(max_points, ok.size), replace=False):
            points.append({"kind": kind, "tau": d.tau / math.sqrt(qs[i]), "s": float(sp[i]),
                           "se": None, "source": f"random networks, width {width}"})
    return {"source": "numerics", "width": width, "depth": depth, "n_networks": networks,
            "q0": q0, "curves": curves, "sparsity": points}
