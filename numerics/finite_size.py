"""Finite-size scaling: simulated networks against :mod:`sparsefield.theory.finite_width`.

For each width ``N`` an ensemble of random networks (:func:`.finite_width.simulate`, the
exact ``gram`` sampler, fixed seeds) is measured for the quantities the theory predicts
(docs/theory.md section 9), each with a standard error over networks:

* ``log_gain_per_layer``: ``(1/L) sum_l log(|g^l|^2/|g^{l+1}|^2)`` of a back-propagated
  gradient, each input separately, averaged over the two inputs of a network (the typical,
  geometric gain, not the mean gain ``chi_1``);
* ``log_gain_total_sd``: the standard deviation over networks of one input's total
  ``sum_l log`` gain (standard error from the fourth moment);
* ``log_gain_sd_per_layer``: the root-mean-square over layers of the per-layer spread;
* ``q_sd_final``: the spread of ``|h^L|^2/N`` over networks; the theory's ``q^L`` is the
  variance parameter, the measured one is ``q^L chi2_N/N``, so the prediction compared is
  ``sqrt(sd^2 (1 + 2/N) + 2 E[q^L]^2/N)``;
* ``p_explode``: the fraction of networks whose first input has ``|h^L|^2/N > 10 q*``
  (:func:`.reproduce.explosion`'s threshold, one input) against the chain's prediction.

Networks whose gradient dies (a layer with no active unit: log gain ``-inf``) are left
out of the gain statistics and counted; the theory conditions on at least one active
unit too.  Gains are compared only where at most ``GAIN_ROWS_UP_TO`` of the networks are
predicted to explode; for ReLU_tau / ST the rows are the explosion probability.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from sparsefield.theory.activations import Activation
from sparsefield.theory.finite_width import FiniteWidth, predict

from .finite_width import simulate
from .stats import Z_BOUND, Estimate

WIDTHS = (100, 200, 300, 600, 1000)
EXPLODED = 10.0  # |h^L|^2 / N above this many q*: exploded (as numerics.reproduce)
EXPLODE_ROW = 0.01  # a p_explode row where the chain predicts more than this
GAIN_ROWS_UP_TO = 0.05  # gain rows only where fewer networks are predicted to explode
GAIN_KEYS = ("log_gain_per_layer", "log_gain_sd_per_layer", "log_gain_total_sd", "q_sd_final")


@dataclass(frozen=True)
class Point:
    """One quantity at one width: theory, estimate, standard error, z."""

    activation: str
    quantity: str
    width: int
    depth: int
    n_networks: int
    theory: float
    estimate: float
    stderr: float
    dead: int  # networks left out: a dead gradient

    @property
    def z(self) -> float:
        return Estimate(self.estimate, self.stderr, self.n_networks).z(self.theory)

    @property
    def passed(self) -> bool:
        return abs(self.z) < Z_BOUND

    def to_dict(self) -> dict:
        return {**asdict(self), "z": self.z, "passed": self.passed}


def _sd_estimate(x: np.ndarray) -> tuple[float, float]:
    """Sample standard deviation and its standard error (delta method on the variance,
    ``se(s^2) = sqrt((m4 - s^4)/n)``)."""
    n = len(x)
    d = x - x.mean()
    var = float(d @ d / (n - 1))
    m4 = float(np.mean(d ** 4))
    sd = math.sqrt(var)
    return sd, math.sqrt(max(m4 - var * var, 0.0) / n) / (2.0 * sd) if sd > 0 else 0.0


def measure(act: Activation, sigma_w2: float, sigma_b2: float, width: int, depth: int,
            n_networks: int, seed: int = 0, q0: float = 1.0,
            theory: FiniteWidth | None = None) -> list[Point]:
    """The module's quantities at one width, next to :func:`theory.finite_width.predict`."""
    th = theory or predict(act, width, depth, sigma_w2=sigma_w2, sigma_b2=sigma_b2, q=q0)
    ens = simulate(act, sigma_w2, sigma_b2, depth, width, n_networks, q0=q0, seed=seed)
    name = act.name

    def point(quantity: str, theory: float, est: float, se: float, n: int, dead: int = 0):
        return Point(name, quantity, width, depth, n, float(theory), float(est), float(se), dead)

    q_last = ens.q[:, -1, 0]
    exploded = q_last > EXPLODED * q0
    out = []
    if th.p_explode is not None and th.p_explode > EXPLODE_ROW:
        p = th.p_explode
        out.append(point("p_explode", p, exploded.mean(), math.sqrt(p * (1 - p) / n_networks),
                         n_networks))
    if th.p_explode is not None and th.p_explode > GAIN_ROWS_UP_TO:
        return out
    with np.errstate(divide="ignore", invalid="ignore"):
        lg = np.log(ens.gain_each)  # (networks, depth, 2)
    ok = np.all(np.isfinite(lg), axis=(1, 2))
    lg, dead, n = lg[ok], int((~ok).sum()), int(ok.sum())
    per_net = lg.mean(axis=(1, 2))
    out.append(point("log_gain_per_layer", th.log_gain_per_layer, per_net.mean(),
                     per_net.std(ddof=1) / math.sqrt(n), n, dead))
    sd, se = _sd_estimate(lg[:, :, 0].sum(1))
    out.append(point("log_gain_total_sd", th.log_gain_total_sd, sd, se, n, dead))
    dev = lg[:, :, 0] - lg[:, :, 0].mean(0)
    y = (dev * dev).mean(1) * n / (n - 1)
    v = float(y.mean())
    out.append(point("log_gain_sd_per_layer", th.log_gain_sd_per_layer, math.sqrt(v),
                     y.std(ddof=1) / math.sqrt(n) / (2 * math.sqrt(v)), n, dead))
    return out + [_q_point(name, th, q_last, width, depth, n_networks)]


def _q_point(name: str, th: FiniteWidth, q_last: np.ndarray, width: int, depth: int,
             n: int) -> Point:
    mean_q = float(np.mean(q_last))
    pred = math.sqrt(th.q_sd_final ** 2 * (1 + 2 / width) + 2 * mean_q ** 2 / width)
    sd, se = _sd_estimate(q_last)
    return Point(name, "q_sd_final", width, depth, n, pred, sd, se, 0)


def scaling(act: Activation, sigma_w2: float, sigma_b2: float, widths=WIDTHS,
            depth: int = 50, n_networks: int = 256, seed: int = 0, q0: float = 1.0
            ) -> list[Point]:
    """:func:`measure` at each width (seed ``(seed, width)``)."""
    out = []
    for w in widths:
        sub = int(np.random.SeedSequence((seed, w)).generate_state(1)[0])
        out += measure(act, sigma_w2, sigma_b2, w, depth, n_networks, sub, q0)
    return out


@dataclass(frozen=True)
class Plan:
    """Sizes of the finite-size rows of ``sparsefield check``."""

    widths: tuple[int, ...]
    depth: int
    networks: int
    activations: tuple[str, ...]


QUICK = Plan((300,), 30, 64, ("crelu",))
FULL = Plan(WIDTHS, 50, 256, ("crelu", "cst", "relu_tau", "st", "relu", "tanh"))


def setup(name: str) -> tuple[Activation, float, float]:
    """``(activation, sigma_w^2, sigma_b^2)``: the [P24] thresholds derived at 85% sparsity
    (clipped at ``V'(q*) = 0.5``), ReLU at ``(2, 0)``, others on the edge of chaos at ``q* = 1``."""
    from sparsefield.theory.activations import get
    from sparsefield.theory.clipping import CLIPPED, UNCLIPPED, derive
    from sparsefield.theory.eoc import edge_of_chaos

    if name in CLIPPED + UNCLIPPED:
        d = derive(name, 0.85, vprime=0.5 if name in CLIPPED else None)
        return d.activation_fn(), d.sigma_w2, d.sigma_b2
    if name == "relu":
        return get("relu"), 2.0, 0.0
    act = get(name)
    return (act, *edge_of_chaos(act, 1.0))


def figure_data(plan: Plan = FULL, seed: int = 0, grid: int = 12) -> dict:
    """Records for :func:`sparsefield.figures.finite_size.gain_vs_width`: per activation of
    ``plan`` whose gains are compared (not the exploding ones), theory on a grid of ``1/N``
    down to the smallest width and the simulated points of :func:`scaling`."""
    curves = []
    for name in plan.activations:
        act, sw2, sb2 = setup(name)
        points = [p.to_dict() for p in scaling(act, sw2, sb2, plan.widths, plan.depth,
                                               plan.networks, seed)]
        if not any(p["quantity"] == "log_gain_per_layer" for p in points):
            continue
        widths = np.unique(np.geomspace(min(plan.widths), 20 * max(plan.widths), grid).astype(int))
        th = [predict(act, int(n), plan.depth, sigma_w2=sw2, sigma_b2=sb2) for n in widths]
        curves.append({"activation": name, "points": points, "theory": {
            "inv_width": [1.0 / n for n in widths],
            "log_gain_per_layer": [t.log_gain_per_layer for t in th],
            "log_gain_sd_per_layer": [t.log_gain_sd_per_layer for t in th]}})
    return {"depth": plan.depth, "curves": curves}
