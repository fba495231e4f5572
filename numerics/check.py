"""The verification matrix behind ``sparsefield check``: activation x quantity x method.

Methods: ``quadrature`` (theory's closed form vs its own breakpoint-split quadrature,
piecewise-linear activations, tolerance ``QUAD_TOL``), ``monte carlo``
(:mod:`sparsefield.numerics.gaussian_mc`, z-score), ``finite width`` (:mod:`sparsefield.numerics.finite_width`
ensembles vs the iterated maps, z-score; the [P24] claims of :mod:`sparsefield.numerics.reproduce`),
``stein mc`` (:mod:`sparsefield.numerics.drift_mc` vs :mod:`sparsefield.theory.drift` [BF2]).  A z-score row
passes when ``|z| < Z_BOUND``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Callable

import numpy as np

from sparsefield.theory import moments
from sparsefield.theory.activations import CATALOGUE, Activation, names
from sparsefield.theory.clipping import CLIPPED, UNCLIPPED, derive
from sparsefield.theory.drift import drift_stats
from sparsefield.theory.eoc import edge_of_chaos
from sparsefield.theory.errors import InfeasibleError
from sparsefield.theory.maps import MeanField

from . import drift_mc, finite_width, gaussian_mc, reproduce
from .stats import Z_BOUND, Estimate, sample_mean

QUAD_TOL = 1e-8  # closed form vs quadrature: |diff| <= QUAD_TOL (1 + |closed|)
P24 = names(derivable=True)
PARAMS = {n: f.examples[0] for n, f in CATALOGUE.items() if f.params}
GENERIC = (1.5, 0.1)  # (sigma_w^2, sigma_b^2) where no edge of chaos is imposed
DRIFT = names(tag="bf2") + names(tag="control")


@dataclass(frozen=True)
class Row:
    """One check: the theory value, the estimate, its standard error and the verdict."""

    activation: str
    quantity: str
    method: str
    theory: float | None
    estimate: float
    stderr: float | None
    z: float | None
    passed: bool
    note: str = ""

    def to_dict(self) -> dict:
        """Plain Python types (numpy scalars converted) for JSON."""
        return {k: v.item() if isinstance(v, np.generic) else v for k, v in asdict(self).items()}


@dataclass(frozen=True)
class Settings:
    """Sizes of the matrix (``QUICK`` or ``FULL``)."""

    n_mc: int
    q_values: tuple[float, ...]
    rhos: tuple[float, ...]
    slow_rhos: tuple[float, ...]  # at q = 1: R, R' of smooth activations and closed vs
    # quadrature of E[phi phi], E[phi' phi'] (nested quadrature: seconds per value)
    map_size: tuple[int, int, int]  # depth, width, networks
    map_activations: tuple[str, ...]
    claim_networks: tuple[int, int, int]  # explosion, stability, bifurcation
    drift: tuple[str, ...]
    drift_samples: int
    drift_inits: int


QUICK = Settings(1 << 19, (1.0,), (0.5,), (), (20, 300, 48), ("crelu",),
                 (32, 32, 96), ("relu", "gelu", "relu2", "tanh", "identity", "abs"), 4000, 1000)
FULL = Settings(1 << 22, (1.0, 2.5), (-0.3, 0.5, 0.9), (0.5,), (30, 300, 256),
                ("crelu", "cst", "tanh"), (128, 128, 512), DRIFT, 40000, 8000)


def setups() -> list[tuple[Activation, float, float]]:
    """Every catalogue activation with ``(sigma_w^2, sigma_b^2)``: the derived edge of chaos
    at 85% sparsity (``V'(q*) = 0.5`` when clipped) for [P24], the edge of chaos at
    ``q* = 1`` where feasible, else ``GENERIC``."""
    out = []
    for name, fam in CATALOGUE.items():
        if name in P24:
            d = derive(name, 0.85)
            out.append((d.activation_fn(), d.sigma_w2, d.sigma_b2))
            continue
        act = fam.bind(**PARAMS.get(name, {}))
        try:
            out.append((act, *edge_of_chaos(act, 1.0)))
        except InfeasibleError:
            out.append((act, *GENERIC))
    return out


def _z_row(act: str, quantity: str, method: str, theory: float, est: Estimate,
           note: str = "") -> Row:
    z = est.z(theory)
    return Row(act, quantity, method, float(theory), float(est.value), float(est.stderr),
               float(z), bool(abs(z) < Z_BOUND), note)


def _claim(act: str, quantity: str, est: Estimate, passed: bool, note: str,
           theory: float | None = None) -> Row:
    z = None if theory is None else est.z(theory)
    return Row(act, quantity, "finite width", theory, est.value, est.stderr, z, passed, note)


def quadrature_rows(act: Activation, s: Settings) -> list[Row]:
    """Closed forms vs breakpoint-split quadrature (both from :mod:`sparsefield.theory.moments`)."""
    pairs = []
    for q in s.q_values:
        pairs += [(f"{k} q={q:g}", lambda m, f=f, q=q: f(act, q, method=m))
                  for k, f in (("E[phi^2]", moments.e_phi2), ("E[phi'^2]", moments.e_dphi2),
                               ("E[phi phi']", moments.e_phi_dphi), ("P(phi=0)", moments.p_zero))]
    pairs += [(f"{k} q=1 rho={r:g}", lambda m, f=f, r=r: f(act, 1.0, r, method=m))
              for r in s.slow_rhos for k, f in (("E[phi phi]", moments.e_phi_phi),
                                                ("E[phi' phi']", moments.e_dphi_dphi))]
    if act.has_jumps:  # E[phi'^2] = inf by both routes
        pairs = [p for p in pairs if not p[0].startswith("E[phi'^2]")]
    rows = []
    for label, f in pairs:
        closed, quad = float(f("closed")), float(f("quad"))
        ok = abs(quad - closed) <= QUAD_TOL * (1.0 + abs(closed))
        rows.append(Row(act.name, label, "quadrature", closed, quad, None, None, ok,
                        f"tol {QUAD_TOL:g}"))
    return rows


def monte_carlo_rows(act: Activation, sw2: float, sb2: float, s: Settings, seed: int
                     ) -> list[Row]:
    """Gaussian Monte Carlo of the moments and maps against :mod:`theory`; ``R``, ``R'``
    at ``s.rhos`` (piecewise linear) or at ``q = 1``, ``s.slow_rhos`` (smooth)."""
    mf = MeanField(act, sw2, sb2)
    rows = []
    for i, q in enumerate(s.q_values):
        if act.is_piecewise_linear:
            rhos = s.rhos
        else:
            rhos = s.slow_rhos if q == 1.0 else ()
        for j, rho in enumerate(rhos or (0.0,)):
            est = gaussian_mc.estimates(act, q, sw2, sb2, rho, s.n_mc, _sub(seed, i, j))
            if j == 0:
                theory = {"E[phi^2]": ("e_phi2", moments.e_phi2(act, q)),
                          "E[phi'^2]": ("e_dphi2", moments.e_dphi2(act, q)),
                          "E[phi phi']": ("e_phi_dphi", moments.e_phi_dphi(act, q)),
                          "P(phi=0)": ("p_zero", moments.p_zero(act, q)),
                          "V(q)": ("V", mf.V(q)), "chi_1(q)": ("chi1", mf.chi1(q))}
                if act.has_jumps:  # E[phi'^2] = chi_1 = inf: no sample mean estimates it
                    del theory["E[phi'^2]"], theory["chi_1(q)"]
                rows += [_z_row(act.name, f"{k} q={q:g}", "monte carlo", float(v), est[key])
                         for k, (key, v) in theory.items()]
            if rhos:
                for k, key, f in (("R(rho)", "R", mf.R), ("R'(rho)", "dR", mf.dR))[
                        :1 if act.has_jumps else 2]:  # R' of a jump has delta terms
                    rows.append(_z_row(act.name, f"{k} q={q:g} rho={rho:g}", "monte carlo",
                                       float(f(rho, q)), est[key]))
    return rows


def map_rows(act: Activation, sw2: float, sb2: float, s: Settings, seed: int) -> list[Row]:
    """Finite-width ensemble means at the last layer vs the iterated maps (the correlation
    map for piecewise-linear activations only: closed forms)."""
    depth, width, n = s.map_size
    mf = MeanField(act, sw2, sb2)
    ens = finite_width.simulate(act, sw2, sb2, depth, width, n, q0=1.0, rho0=0.5, seed=seed)
    cmp = finite_width.compare(ens, mf, corr=act.is_piecewise_linear)
    note = f"depth {depth}, width {width}, {n} networks"
    labels = {"q": "q^l", "sparsity": "P(phi(h^l)=0)", "corr": "rho^l"}
    rows = [_z_row(act.name, f"{label} l={depth}", "finite width", cmp.theory[key][-1],
                   cmp.at(key, depth), note)
            for key, label in labels.items() if key in cmp.theory
            and (key != "sparsity" or any(act.family.zero_pieces))]
    gain = sample_mean(np.nanmean(ens.gain, axis=1))
    rows.append(_z_row(act.name, f"gain |g^l|^2/|g^l+1|^2 mean l<{depth}", "finite width",
                       float(np.mean(cmp.theory["gain"])), gain, note))
    return rows


def claim_rows(s: Settings, seed: int) -> list[Row]:
    """[P24]: explosion (unclipped), stability and sparsity (clipped), bifurcation jumps."""
    n_exp, n_stab, n_bif = s.claim_networks
    rows = []
    for i, name in enumerate(UNCLIPPED):
        r = reproduce.explosion(name, n_networks=n_exp, seed=_sub(seed, 10, i))
        lo, hi = r["interval"]
        rows.append(_claim(name, f"P(q^100 > {reproduce.EXPLODED:g} q*)", r["fraction"], lo > 0.5,
                           f"most explode: 95% CI [{lo:.2f}, {hi:.2f}] > 1/2; width 300"))
    for i, name in enumerate(CLIPPED):
        r = reproduce.stability(name, n_networks=n_stab, seed=_sub(seed, 11, i))
        rows.append(_claim(name, f"P(|q^100/q* - 1| < {reproduce.NEAR:g})", r["near"],
                           r["near"].value >= 0.9, "clip at V'(q*)=0.5: >= 90% stay near q*"))
        sp = r["sparsity_tail"]
        rows.append(_claim(name, "sparsity, last 10 layers", sp,
                           abs(sp.value - 0.85) < reproduce.SPARSITY_TOL,
                           f"target 0.85 +- {reproduce.SPARSITY_TOL:g}", theory=0.85))
    for i, name in enumerate(CLIPPED):
        r = reproduce.bifurcation(name, n_networks=n_bif, seed=_sub(seed, 12, i))
        lo, hi = r["interval"]
        rows.append(_claim(name, "P(jump to large fixed point)", r["probability"], lo > 0.0,
                           f"m = 1.1 x bifurcation: 95% CI [{lo:.2f}, {hi:.2f}] > 0; "
                           f"large q = {r['q_large']:.3g}, sparsity there "
                           f"{r['sparsity_large']:.2f}"))
    return rows


def drift_rows(name: str, s: Settings, seed: int) -> list[Row]:
    """[BF2]: per-unit Stein formula, random inputs, 2-hidden-layer net expected gradient."""
    act = CATALOGUE[name].bind(**PARAMS.get(name, {}))
    rng = np.random.default_rng(np.random.SeedSequence((seed, 3)))
    n_hidden, n_out = 32, 10
    z, y = rng.standard_normal(n_hidden), np.eye(n_out)[rng.integers(n_out)]
    rows = []
    for loss in drift_mc.LOSSES:
        u = drift_mc.fixed_input(act, z, y, 1.0 / n_hidden, loss, s.drift_samples, seed)
        worst = float(u.zscore[np.argmax(np.abs(u.zscore))])
        rows.append(Row(name, f"E_W[dL/dz_j] vs Stein, max|z| ({loss})", "stein mc", None,
                        float(np.max(np.abs(u.zscore))), None, worst,
                        u.agrees and u.sign_contradictions == 0,
                        f"max |z| of {n_hidden} units; corr {u.correlation:.4f}, rel.err "
                        f"{u.rel_error:.3f}, sign {u.sign_agreement:.0%} of z>0"))
    r = drift_mc.random_inputs(act, n_hidden, n_out, 1.0, 1.0 / n_hidden, "mse",
                               s.drift_samples, seed)
    rows.append(_z_row(name, "E[dL/dz] random inputs (mse)", "stein mc", r["theory"], r["grad"],
                       "sigma^2 n_out E[phi phi']"))
    r = drift_mc.random_inputs(act, n_hidden, n_out, 1.0, 1.0 / n_hidden, "ce",
                               s.drift_samples, seed)
    rows.append(_z_row(name, "E[dL/dz - Stein] random inputs (ce)", "stein mc", 0.0,
                       r["paired"]))
    net = drift_mc.network(act, 16, 32, n_out, "ce", s.drift_inits, seed=seed)
    sign = drift_stats(act)["drift"]
    for key in ("b2", "W2"):
        est = net[key]
        z = est.z(0.0)
        if sign == "none":
            ok, note = abs(z) < Z_BOUND, "control: E[phi phi'] = 0"
        else:
            want = 1.0 if sign == "negative" else -1.0
            ok = want * z > Z_BOUND
            note = f"sign of E[phi phi']: {sign} drift, z > {Z_BOUND:g}"
        rows.append(Row(name, f"net E[dL/d{key}] 2 hidden layers (ce)", "stein mc",
                        0.0 if sign == "none" else None, est.value, est.stderr, z, ok, note))
    return rows


def tasks(quick: bool = False, seed: int = 0) -> list[tuple[str, Callable[[], list[Row]]]]:
    """The matrix as named thunks (run in order by :func:`run`)."""
    s = QUICK if quick else FULL
    out = []
    for i, (act, sw2, sb2) in enumerate(setups()):
        if act.is_piecewise_linear:
            out.append((f"quadrature {act.name}", lambda a=act: quadrature_rows(a, s)))
        args = (act, sw2, sb2, s)
        out.append((f"monte carlo {act.name}",
                    lambda a=args, k=i: monte_carlo_rows(*a, _sub(seed, 1, k))))
        if act.name in s.map_activations:
            out.append((f"finite width {act.name}",
                        lambda a=args, k=i: map_rows(*a, _sub(seed, 2, k))))
    out.append(("finite width claims", lambda: claim_rows(s, seed)))
    out += [(f"drift {n}", lambda n=n, k=k: drift_rows(n, s, _sub(seed, 4, k)))
            for k, n in enumerate(s.drift)]
    return out


def run(quick: bool = False, seed: int = 0, progress: bool = False) -> list[Row]:
    """Run every task of :func:`tasks`; a tqdm bar when ``progress`` (and on a terminal)."""
    from tqdm import tqdm

    todo = tasks(quick, seed)
    rows: list[Row] = []
    with tqdm(todo, disable=None if progress else True, unit="task", leave=False) as bar:
        for name, thunk in bar:
            bar.set_description(name)
            rows += thunk()
    return rows


def _sub(seed: int, *key: int) -> int:
    """A sub-seed that depends only on ``(seed, *key)``."""
    return int(np.random.SeedSequence((seed, *key)).generate_state(1)[0])


def summary(rows: list[Row]) -> dict:
    """Counts, and the largest ``|z|`` among rows comparing an estimate with a theory value."""
    zs = [abs(r.z) for r in rows if r.z is not None and r.theory is not None]
    return {"rows": len(rows), "failed": sum(not r.passed for r in rows),
            "max_abs_z": max(zs, default=0.0)}
