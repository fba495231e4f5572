"""Theory curves drawn by the figures, as JSON-able dicts.

The report computes each of these once and stores it under ``results/theory/``; the figure
functions only read them.  All quantities are at ``q* = 1`` unless a curve varies ``q*``.
Sources: [P24] (variance map, clipping, critical clips), [DT26] (``q*`` free),
Poole et al. 2016 / Schoenholz et al. 2017 (edge of chaos), [BF2] (drift).
"""

from __future__ import annotations

import numpy as np

from .activations import CATALOGUE, family, get
from .clipping import CLIPPED, critical_m, derive, eoc_scaled, m_for_vprime
from .drift import drift_stats
from .eoc import edge_of_chaos
from .errors import InfeasibleError
from .sparsity import sparsity as sparsity_of
from .sparsity import tau_for_sparsity

FAMILIES = ("relu_tau", "st", "crelu", "cst")
SPARSITIES = (0.6, 0.75, 0.85, 0.95)
TARGETS = (0.5, 0.9)
DEFAULT = {"activation": "crelu", "sparsity": 0.85, "vprime": 0.5}


SUMMARY_KEYS = ("activation", "sparsity", "tau", "m", "sigma_w2", "sigma_b2", "vprime",
                "vsecond", "fixed_points")


def variance_maps(sparsities=SPARSITIES, vprime: float = DEFAULT["vprime"],
                  q_max: float = 4.0, n: int = 161, families=FAMILIES) -> dict:
    """``V(q)`` on the edge of chaos (``q* = 1``) for each family and sparsity, clipped
    families at ``V'(q*) = vprime``."""
    q = np.linspace(q_max / n, q_max, n)
    curves = []
    for name in families:
        for s in sparsities:
            d = derive(name, s, vprime=vprime if name in CLIPPED else None)
            curves.append({**{k: getattr(d, k) for k in SUMMARY_KEYS},
                           "V": d.mean_field().V(q).tolist()})
    return {"q": q.tolist(), "vprime_target": vprime, "curves": curves}


def vprime_curves(sparsities=SPARSITIES, targets=TARGETS, m_range=(0.05, 10.0), n: int = 240,
                  families=CLIPPED) -> dict:
    """``V'(q*)`` and ``V''(q*)`` on the edge of chaos against the clip ``m`` (``q* = 1``),
    the clips solving each target ``V'(q*)`` and the critical clips [P24]."""
    m = np.geomspace(*m_range, n)
    out = {"m": m.tolist(), "targets": list(targets), "families": {}}
    for name in families:
        t = np.asarray(tau_for_sparsity(name, np.asarray(sparsities)))[:, None]
        eoc = eoc_scaled(name, t, m[None, :])
        v1, v2 = eoc.vprime, eoc.vsecond
        m_t = np.asarray(m_for_vprime(name, np.asarray(sparsities)[:, None], np.asarray(targets)))
        out["families"][name] = {
            "sparsities": list(sparsities), "vprime": v1.tolist(), "vsecond": v2.tolist(),
            "target_m": m_t.tolist(),
            "critical": [critical_m(name, float(s)) for s in sparsities]}
    return out


def stability_grid(s_range=(0.52, 0.97), n_s: int = 30, m_range=(0.05, 10.0), n_m: int = 160,
                   targets=TARGETS, families=CLIPPED) -> dict:
    """The (sparsity, m) plane on the edge of chaos: ``V'(q*)``, ``V''(q*)``, the critical
    clips ``m(V''=0)`` and ``m_bif`` per sparsity, and the clips of each target."""
    s = np.linspace(*s_range, n_s)
    m = np.geomspace(*m_range, n_m)
    out = {"sparsity": s.tolist(), "m": m.tolist(), "targets": list(targets), "families": {}}
    for name in families:
        t = np.asarray(tau_for_sparsity(name, s))[:, None]
        eoc = eoc_scaled(name, t, m[None, :])
        v1, v2 = eoc.vprime, eoc.vsecond
        crit = [critical_m(name, float(x)) for x in s]
        out["families"][name] = {
            "vprime": v1.tolist(), "vsecond": v2.tolist(),
            "vsecond_zero": [c["vsecond_zero"] for c in crit],
            "bifurcation": [c["bifurcation"] for c in crit],
            "target_m": np.asarray(m_for_vprime(name, s[:, None], np.asarray(targets))).tolist()}
    return out


def bifurcation_maps(name: str = DEFAULT["activation"], s: float = DEFAULT["sparsity"],
                     vprime: float = DEFAULT["vprime"], n: int = 300) -> dict:
    """``V(q) - q`` on the edge of chaos for clips below, between and beyond the critical
    clips: the saddle-node that creates a large stable fixed point [P24]."""
    crit = critical_m(name, s)
    m_derived = float(m_for_vprime(name, s, vprime))
    ms = {"derived": m_derived, "vsecond_zero": crit["vsecond_zero"]}
    if crit["bifurcation"] is not None:
        ms["between"] = 0.5 * (crit["vsecond_zero"] + crit["bifurcation"])
        ms["beyond"] = 1.15 * crit["bifurcation"]
    lines = []
    for label, m in ms.items():
        d = derive(name, s, m=m)
        q_hi = 4.0 * (d.sigma_w2 * m * m + d.sigma_b2)
        q = np.geomspace(0.05, q_hi, n)
        lines.append({"label": label, "m": m, "q": q.tolist(),
                      "gap": (d.mean_field().V(q) - q).tolist(),
                      "fixed_points": d.fixed_points, "vprime": d.vprime, "vsecond": d.vsecond})
    return {"activation": name, "sparsity": s, "critical": crit, "lines": lines}


EOC_SETS = {
    "relu_tau": [{"tau": 0.0}, {"tau": 0.5}, {"tau": 1.0}],
    "st": [{"tau": 0.25}, {"tau": 0.5}, {"tau": 1.0}],
    "crelu": [{"tau": 0.5, "m": 0.5}, {"tau": 0.5, "m": 2.0}, {"tau": 1.0, "m": 1.0}],
    "cst": [{"tau": 0.5, "m": 0.5}, {"tau": 0.5, "m": 2.0}, {"tau": 1.0, "m": 1.0}],
    "smooth": [{"name": "tanh"}, {"name": "gelu"}, {"name": "silu"}],
}


def eoc_curves(q_range=(0.2, 8.0), n: int = 40, sets=None) -> dict:
    """Edge-of-chaos curves ``(sigma_w^2(q*), sigma_b^2(q*))`` as ``q*`` varies, per family
    at fixed activation parameters; infeasible ``q*`` (``sigma_b^2 < 0``) are ``None``."""
    sets = EOC_SETS if sets is None else sets
    qs = np.geomspace(*q_range, n)
    out = {"q_star": qs.tolist(), "families": {}}
    for fam, param_sets in sets.items():
        lines = []
        for params in param_sets:
            params = dict(params)
            name = params.pop("name", fam)
            act = get(name, **params)
            w2, b2 = [], []
            for q in qs:
                try:
                    a, b = edge_of_chaos(act, float(q))
                except InfeasibleError:
                    a = b = None
                w2.append(a)
                b2.append(b)
            lines.append({"activation": name, "params": params, "sigma_w2": w2, "sigma_b2": b2})
        out["families"][fam] = lines
    return out


def sparsity_curves(tau_max: float = 3.0, n: int = 121) -> dict:
    """Exact-zero sparsity at initialisation against ``tau`` (``q = 1``): ``Phi(tau)``
    (ReLU_tau, CReLU) and ``2 Phi(tau) - 1`` (ST, CST) [P24]."""
    tau = np.linspace(0.0, tau_max, n)
    return {"tau": tau.tolist(),
            "one_sided": np.asarray(sparsity_of("relu_tau", tau)).tolist(),
            "two_sided": np.asarray(sparsity_of("st", tau)).tolist()}


def drift_names() -> list[str]:
    """Catalogue activations with default parameters (the drift table's rows)."""
    return [n for n, f in CATALOGUE.items() if all(p.default is not None for p in f.params)]


def drift_table(names=None, q: float = 1.0) -> dict:
    """:func:`sparsefield.theory.drift.drift_stats` for each activation: the predicted drift sign [BF2]."""
    names = drift_names() if names is None else list(names)
    return {"q": q, "rows": {n: drift_stats(family(n).bind(), q) for n in names}}
