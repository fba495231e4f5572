"""The verification matrix behind ``sparsefield check``: activation x quantity x method.

Methods: ``quadrature`` (theory's closed form vs its own breakpoint-split quadrature,
piecewise-linear activations, tolerance ``QUAD_TOL``), ``monte carlo``
(:mod:`sparsefield.numerics.gaussian_mc`, z-score; ``R``, ``R'`` also for smooth activations
at several ``(q, rho)``; a row whose variance-reduced error is 0 by construction is redone
by plain Monte Carlo or, for a constant integrand, left out), ``finite width``
(:mod:`sparsefield.numerics.finite_width` ensembles vs the iterated maps, z-score; the [P24]
claims of :mod:`sparsefield.numerics.reproduce`, the bifurcation jump against a control
below the bifurcation), ``stein mc`` (:mod:`sparsefield.numerics.drift_mc` vs
:mod:`sparsefield.theory.drift` [BF2], every activation).  A z-score row passes when
``|z| < Z_BOUND``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Callable

import numpy as np
from tqdm import tqdm

from sparsefield.references import quad
from sparsefield.results.names import MAX_ABS_Z
from sparsefield.theory import moments
from sparsefield.theory.activations import CATALOGUE, Activation, names
from sparsefield.theory.clipping import CLIPPED, UNCLIPPED, critical_m, derive
from sparsefield.theory.drift import drift_stats
from sparsefield.theory.eoc import edge_of_chaos
from sparsefield.theory.errors import InfeasibleError
from sparsefield.theory.maps import MeanField
from sparsefield.theory.spec import format_spec, parse

from . import drift_mc, finite_size, finite_width, gaussian_mc, reproduce
from .exact import DEGENERATE, INTEGRANDS, degenerate, exact_by_construction  # noqa: F401
from .stats import Z_BOUND, Estimate, proportion, sample_mean, wilson

QUAD_TOL = 1e-8  # closed form vs quadrature: |diff| <= QUAD_TOL (1 + |closed|)
P24 = names(derivable=True)
PARAMS = {n: f.examples[0] for n, f in CATALOGUE.items() if f.params}
GENERIC = (1.5, 0.1)  # (sigma_w^2, sigma_b^2) where no edge of chaos is imposed
EXACT = "exact by construction"  # the method of rows whose variance-reduced s.e. is 0
BELOW_BIFURCATION = 0.9  # control clip (x bifurcation) for the jump probability


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


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Sizes of the matrix (``QUICK`` or ``FULL``)."""

    n_mc: int
    q_values: tuple[float, ...]
    rhos: tuple[float, ...]
    slow_rhos: tuple[float, ...]  # at q = 1: closed form vs quadrature of E[phi phi],
    # E[phi' phi'] (piecewise linear; nested quadrature)
    smooth_corr: tuple[tuple[float, float], ...]  # (q, rho): R, R' of smooth activations
    # vs Monte Carlo (nested quadrature: seconds per value)
    map_size: tuple[int, int, int]  # depth, width, networks
    map_activations: tuple[str, ...]
    claim_networks: tuple[int, int, int]  # explosion, stability, bifurcation
    drift: tuple[str, ...] | None  # None: every activation of the matrix
    drift_samples: int
    drift_inits: int


QUICK = Settings(n_mc=1 << 19, q_values=(1.0,), rhos=(0.5,), slow_rhos=(),
                 smooth_corr=((1.0, 0.9),), map_size=(20, 300, 48), map_activations=("crelu",),
                 claim_networks=(32, 32, 96), drift=None, drift_samples=2000, drift_inits=600)
FULL = Settings(n_mc=1 << 22, q_values=(1.0, 2.5), rhos=(-0.3, 0.5, 0.9), slow_rhos=(0.5,),
                smooth_corr=((1.0, -0.5), (1.0, 0.5), (1.0, 0.99), (0.25, 0.9), (4.0, 0.5)),
                map_size=(30, 300, 256), map_activations=("crelu", "cst", "tanh"),
                claim_networks=(128, 128, 512), drift=None, drift_samples=40000, drift_inits=8000)
QUICK_SMOOTH = ("tanh",)  # smooth activations whose R, R' the quick matrix checks


def setups(specs: list[str] | None = None) -> list[tuple[Activation, float, float]]:
    """Activations with ``(sigma_w^2, sigma_b^2)``: every catalogue name (default) or the
    given specs (:func:`sparsefield.theory.spec.parse`).  A bare [P24] name gets the derived
    edge of chaos at 85% sparsity (``V'(q*) = 0.5`` when clipped); others the edge of chaos
    at ``q* = 1`` where feasible, else ``GENERIC``; bare names needing parameters take
    ``PARAMS``."""
    out = []
    for spec in specs or list(CATALOGUE):
        if spec in P24:
            d = derive(spec, 0.85)
            out.append((d.activation_fn(), d.sigma_w2, d.sigma_b2))
            continue
        act = CATALOGUE[spec].bind(**PARAMS[spec]) if spec in PARAMS else parse(spec)
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
    """Closed forms (:mod:`sparsefield.theory.moments`, ``method="closed"``) against the
    breakpoint-split adaptive quadrature reference (:mod:`sparsefield.references.quad`)."""
    uni = (("E[phi^2]", "e_phi2"), ("E[phi'^2]", "e_dphi2"), ("E[phi phi']", "e_phi_dphi"),
           ("P(phi=0)", "p_zero"))
    if act.has_jumps:  # E[phi'^2] = inf by both routes
        uni = tuple(u for u in uni if u[1] != "e_dphi2")
    cases = [(f"{k} q={q:g}", f, (q,)) for q in s.q_values for k, f in uni]
    cases += [(f"{k} q=1 rho={r:g}", f, (1.0, r)) for r in s.slow_rhos
              for k, f in (("E[phi phi]", "e_phi_phi"), ("E[phi' phi']", "e_dphi_dphi"))]
    rows = []
    for label, f, point in cases:
        closed = float(getattr(moments, f)(act, *point, method="closed"))
        ref = float(getattr(quad, f)(act, *point))
        ok = abs(ref - closed) <= QUAD_TOL * (1.0 + abs(closed))
        rows.append(Row(act.name, label, "quadrature", closed, ref, None, None, ok,
                        f"tol {QUAD_TOL:g}"))
    return rows


def monte_carlo_rows(act: Activation, sw2: float, sb2: float, s: Settings, seed: int,
                     smooth_corr: bool = True) -> list[Row]:
    """Gaussian Monte Carlo of the moments and maps against :mod:`theory`; ``R``, ``R'``
    at ``s.rhos`` (piecewise linear) or at the ``(q, rho)`` of ``s.smooth_corr`` (smooth,
    when ``smooth_corr``).

    A quantity whose variance-reduced error is below ``DEGENERATE`` is estimated again by
    plain Monte Carlo, so it keeps a z-row that can fail; where the estimate is exact by
    construction (:func:`exact_by_construction`, e.g. ReLU's ``E[phi^2]``, ``E[phi'^2]``)
    it also gets a row labelled ``EXACT`` (estimate equal to the theory to rounding).  If
    the plain error is 0 too (a constant integrand, e.g. ``P(phi = 0)`` of GELU) the exact
    row is its only check."""
    mf = MeanField(act, sw2, sb2)
    points = [(q, rho) for q in s.q_values for rho in (s.rhos if act.is_piecewise_linear else ())]
    if not act.is_piecewise_linear and smooth_corr:
        points += list(s.smooth_corr)
    rows = []
    for i, q in enumerate(s.q_values):
        theory = {"E[phi^2]": ("e_phi2", moments.e_phi2(act, q)),
                  "E[phi'^2]": ("e_dphi2", moments.e_dphi2(act, q)),
                  "E[phi phi']": ("e_phi_dphi", moments.e_phi_dphi(act, q)),
                  "P(phi=0)": ("p_zero", moments.p_zero(act, q)),
                  "V(q)": ("V", mf.V(q)), "chi_1(q)": ("chi1", mf.chi1(q))}
        if act.has_jumps:  # E[phi'^2] = chi_1 = inf: no sample mean estimates it
            del theory["E[phi'^2]"], theory["chi_1(q)"]
        rows += _mc_rows(act, q, 0.0, sw2, sb2, s, _sub(seed, i, 0),
                         {f"{k} q={q:g}": (key, float(v)) for k, (key, v) in theory.items()})
    for j, (q, rho) in enumerate(points):
        corr = {f"R(rho) q={q:g} rho={rho:g}": ("R", float(mf.R(rho, q)))}
        if not act.has_jumps:  # R' of a jump has delta terms no sample mean estimates
            corr[f"R'(rho) q={q:g} rho={rho:g}"] = ("dR", float(mf.dR(rho, q)))
        rows += _mc_rows(act, q, rho, sw2, sb2, s, _sub(seed, 100 + j, 1), corr)
    return rows


def _mc_rows(act: Activation, q: float, rho: float, sw2: float, sb2: float, s: Settings,
             seed: int, theory: dict[str, tuple[str, float]]) -> list[Row]:
    """One Monte Carlo run at ``(q, rho)``, z-rows for ``{label: (key, theory value)}``;
    degenerate errors handled as in :func:`monte_carlo_rows`."""
    est = gaussian_mc.estimates(act, q, sw2, sb2, rho, s.n_mc, seed)
    plain = None

    rows = []
    for label, (key, value) in theory.items():
        e, note = est[key], ""
        if degenerate(e, value):
            if exact := rho == 0.0 and exact_by_construction(act, q, key):  # (else: ReLU6's tails)
                # |E[phi phi']| <= sqrt(E[phi^2] E[phi'^2]): an odd activation's 0 is compared to that
                sc = math.sqrt(abs(moments.e_phi2(act, q) * moments.e_dphi2(act, q))) \
                    if key == "e_phi_dphi" else 0.0
                rows.append(_exact_row(act.name, label, value, e, sc))
            if plain is None:
                plain = gaussian_mc.estimates(act, q, sw2, sb2, rho, s.n_mc // 4, seed,
                                              reduce=False)
            e, note = plain[key], "plain MC: the variance-reduced error is " + (
                "0 by construction" if exact else "below rounding (tails not sampled)")
            if degenerate(e, value):
                continue  # a constant integrand: the exact row above is its check
        rows.append(_z_row(act.name, label, "monte carlo", value, e, note))
    return rows


def _exact_row(act: str, quantity: str, theory: float, est: Estimate, scale: float = 0.0) -> Row:
    """A variance-reduced estimate with standard error 0 (antithetic pair + control variates
    make it exact, e.g. ReLU's ``E[phi'^2]``): it must equal the theory to rounding."""
    ok = abs(est.value - theory) <= DEGENERATE * max(abs(est.value), abs(theory), scale, 1e-300)
    return Row(act, quantity, EXACT, float(theory), float(est.value), float(est.stderr), None,
               bool(ok), "exact by construction: standard error 0, compared to rounding")


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
        c = _below_bifurcation(name, r["threshold"], n_bif, _sub(seed, 13, i))
        clo, chi = wilson(round(c.value * c.n), c.n)
        rows.append(_claim(name, "P(jump to large fixed point)", r["probability"], lo > chi,
                           f"m = 1.1 x bifurcation: 95% CI [{lo:.2f}, {hi:.2f}] above the "
                           f"control's [{clo:.2f}, {chi:.2f}]; large q = {r['q_large']:.3g}, "
                           f"sparsity there {r['sparsity_large']:.2f}"))
        rows.append(_claim(name, "P(jump) control, below the bifurcation", c, chi < 0.1,
                           f"m = {BELOW_BIFURCATION:g} x bifurcation (no fixed point above q*): "
                           f"95% CI [{clo:.2f}, {chi:.2f}] < 0.1", theory=0.0))
    return rows


def finite_size_rows(quick: bool, seed: int) -> list[Row]:
    """Finite-size scaling (:mod:`sparsefield.numerics.finite_size`): the typical gain per
    layer, its spreads, the spread of ``q^L`` and the explosion rate against
    :mod:`sparsefield.theory.finite_width` (quick: one width; full: all)."""
    plan = finite_size.QUICK if quick else finite_size.FULL
    rows = []
    for i, name in enumerate(plan.activations):
        act, sw2, sb2 = finite_size.setup(name)
        for p in finite_size.scaling(act, sw2, sb2, plan.widths, plan.depth, plan.networks,
                                     _sub(seed, 14, i)):
            note = f"depth {p.depth}, width {p.width}, {p.n_networks} networks" + (
                f", {p.dead} dead gradients left out" if p.dead else "")
            rows.append(_z_row(act.name, f"{p.quantity} N={p.width}", "finite size",
                               p.theory, Estimate(p.estimate, p.stderr, p.n_networks), note))
    return rows


def _below_bifurcation(name: str, threshold: float, n: int, seed: int) -> Estimate:
    """Fraction of networks ending (mean ``q`` of the last layers) above ``threshold`` at a
    clip ``BELOW_BIFURCATION x`` the bifurcation, where ``V`` has no fixed point above q*."""
    d = derive(name, 0.85, m=BELOW_BIFURCATION * critical_m(name, 0.85)["bifurcation"])
    ens = finite_width.simulate(d.activation_fn(), d.sigma_w2, d.sigma_b2, 100, 300, n,
                                q0=d.q_star, seed=seed, gradients=False)
    k = int(np.sum(ens.q_mean[:, -reproduce.TAIL:].mean(1) > threshold))
    return proportion(k, n)


def drift_rows(act: Activation, s: Settings, seed: int, sigma_w2: float = 1.0) -> list[Row]:
    """[BF2]: per-unit Stein formula, random inputs, 2-hidden-layer net expected gradient
    (hidden weights of variance ``sigma_w2 / fan_in``: the [P24] thresholds get their edge
    of chaos, at ``sigma_w^2 = 1`` most of their units would be dead)."""
    name = format_spec(act) if act.name in PARAMS else act.name
    rng = np.random.default_rng(np.random.SeedSequence((seed, 3)))
    n_hidden, n_out = 32, 10
    # pre-activations on a grid over [-3, 3]: every piece of phi has units (a random draw
    # can leave, e.g., CST's active band empty, and all-zero gradients check nothing)
    z, y = np.linspace(-3.0, 3.0, n_hidden), np.eye(n_out)[rng.integers(n_out)]
    rows = []
    for loss in drift_mc.LOSSES:
        u = drift_mc.fixed_input(act, z, y, 1.0 / n_hidden, loss, s.drift_samples, seed)
        worst = float(u.zscore[np.argmax(np.abs(u.zscore))])
        # the estimate is the signed z of the worst unit, the same number as the z column
        rows.append(Row(name, f"E_W[dL/dz_j] vs Stein, worst z of {n_hidden} units ({loss})",
                        "stein mc", None, worst, None, worst,
                        u.agrees and u.sign_contradictions == 0,
                        f"max |z| of {n_hidden} units; corr {_finite(u.correlation)}, rel.err "
                        f"{_finite(u.rel_error)}, sign {u.sign_agreement:.0%} of z>0"))
    r = drift_mc.random_inputs(act, n_hidden, n_out, 1.0, 1.0 / n_hidden, "mse",
                               s.drift_samples, seed)
    rows.append(_z_row(name, "E[dL/dz] random inputs (mse)", "stein mc", r["theory"], r["grad"],
                       "sigma^2 n_out E[phi phi']"))
    r = drift_mc.random_inputs(act, n_hidden, n_out, 1.0, 1.0 / n_hidden, "ce",
                               s.drift_samples, seed)
    rows.append(_z_row(name, "E[dL/dz - Stein] random inputs (ce)", "stein mc", 0.0,
                       r["paired"]))
    net = drift_mc.network(act, 16, 32, n_out, "ce", s.drift_inits, sigma_w2=sigma_w2, seed=seed)
    stats = drift_stats(act)
    sign = stats["drift"]
    # E[dL/dW2_ij] = E[delta_i phi(z_j)] ~ E[delta_i] E[phi]: the weights drift with the bias
    # times the sign of E[phi], and not at all where E[phi] = 0 (SELU, odd activations)
    e_phi = 0.0 if abs(stats["E_phi"]) < 1e-12 else stats["E_phi"]
    for key in ("b2", "W2"):
        est = net[key]
        z = est.z(0.0)
        control = sign == "none" or (key == "W2" and e_phi == 0.0)
        if control:
            ok = abs(z) < Z_BOUND
            note = "control: E[phi phi'] = 0" if sign == "none" else "control: E[phi] = 0"
        else:
            want = (1.0 if sign == "negative" else -1.0) * (1.0 if key == "b2" or e_phi > 0 else -1.0)
            ok = want * z > Z_BOUND
            note = (f"sign of E[phi phi']{'' if key == 'b2' else ' E[phi]'}: {sign} drift, "
                    f"z > {Z_BOUND:g}")
        rows.append(Row(name, f"net E[dL/d{key}] 2 hidden layers (ce)", "stein mc",
                        0.0 if control else None, est.value, est.stderr, z, ok, note))
    return rows


def tasks(quick: bool = False, seed: int = 0, activations: list[str] | None = None
          ) -> list[tuple[str, Callable[[], list[Row]]]]:
    """The matrix as named thunks (run in order by :func:`run`); ``activations``: specs
    restricting it (default every catalogue activation; the [P24] claims run only then)."""
    s = QUICK if quick else FULL
    out = []
    chosen = setups(activations)
    for i, (act, sw2, sb2) in enumerate(chosen):
        if act.is_piecewise_linear:
            out.append((f"quadrature {act.name}", lambda a=act: quadrature_rows(a, s)))
        corr = not quick or activations is not None or act.name in QUICK_SMOOTH
        args = (act, sw2, sb2, s)
        out.append((f"monte carlo {act.name}",
                    lambda a=args, k=i, c=corr: monte_carlo_rows(*a, _sub(seed, 1, k), c)))
        if act.name in s.map_activations:
            out.append((f"finite width {act.name}",
                        lambda a=args, k=i: map_rows(*a, _sub(seed, 2, k))))
    if activations is None:
        out.append(("finite width claims", lambda: claim_rows(s, seed)))
        out.append(("finite size scaling", lambda: finite_size_rows(quick, seed)))
    drift = chosen if s.drift is None else [x for x in chosen if x[0].name in s.drift]
    out += [(f"drift {a.name}", lambda a=a, k=k, w=(sw2 if a.name in P24 else 1.0):
             drift_rows(a, s, _sub(seed, 4, k), w)) for k, (a, sw2, _) in enumerate(drift)]
    return out


def run(quick: bool = False, seed: int = 0, progress: bool = False,
        activations: list[str] | None = None) -> list[Row]:
    """Run every task of :func:`tasks`; a tqdm bar when ``progress`` (and on a terminal)."""
    todo = tasks(quick, seed, activations)
    rows: list[Row] = []
    with tqdm(todo, disable=None if progress else True, unit="task", leave=False) as bar:
        for name, thunk in bar:
            bar.set_description(name)
            rows += thunk()
    return rows


def _finite(v: float) -> str:
    """A note's number; ``-`` where it is undefined (e.g. no spread to correlate)."""
    return f"{v:.4f}" if np.isfinite(v) else "-"


def _sub(seed: int, *key: int) -> int:
    """A sub-seed that depends only on ``(seed, *key)``."""
    return int(np.random.SeedSequence((seed, *key)).generate_state(1)[0])


def summary(rows: list[Row]) -> dict:
    """Counts, and the largest ``|z|`` among rows comparing an estimate with a theory value."""
    zs = [abs(r.z) for r in rows if r.z is not None and r.theory is not None]
    return {"rows": len(rows), "failed": sum(not r.passed for r in rows), MAX_ABS_Z: max(zs, default=0.0)}
