"""Finite-width corrections to the gain of a random network (docs/theory.md section 9).

One layer maps a tangent vector ``v -> W D v`` (a back-propagated gradient
``g -> D W^T g``), ``D = diag(phi'(h))``, ``W_ij ~ N(0, sigma_w^2/N)``.  Given ``u = D v``,
``|W u|^2 = sigma_w^2 |u|^2 chi2_N / N``; with ``v`` isotropic and independent of ``D``,
``|D v|^2/|v|^2 = sum a_i g_i^2 / sum g_i^2``, ``a_i = phi'(h_i)^2``, ``g_i`` standard
normal (Hanin 2018; Hanin & Nica 2019).  Expanding the logarithms to ``O(1/N)`` with
``mu = E[phi'^2]``, ``kappa = E[phi'^4] / mu^2``:

    E[log gain]   = log chi_1 - (3 kappa - 1) / (2N),      chi_1 = sigma_w^2 mu,
    Var[log gain] = (3 kappa - 1) / N.

Where ``phi'^2`` takes a single non-zero value ``c`` (ReLU, ReLU_tau, ST, CReLU, CST:
``kappa = 1/p``, ``p = P(phi' != 0)``) the law is exact: ``K ~ Binomial(N, p)`` units are
active and ``|D v|^2/|v|^2 = c Beta(K/2, (N-K)/2)``, so with ``psi`` the digamma and
``psi_1`` the trigamma function (``K >= 1``; ``P(K = 0) = (1-p)^N`` is reported)

    E[log gain]   = log(sigma_w^2 c) + log(2/N) + E_K[psi(K/2)],
    Var[log gain] = E_K[psi_1(K/2)] + Var_K[psi(K/2)].

This ``digamma`` form is used where it applies (closer to simulated networks at
``N = 100``: docs/theory.md section 9.1); otherwise the ``1/N`` expansion.  :func:`predict`
adds the structure of a real network: the per-layer mean is averaged over the law of the
fluctuating ``q^l`` (:mod:`.q_chain`) and corrected for the forward-pass conditioning
(:func:`conditioning`), and the layers of the total over depth are correlated through
``q^l`` (section 9.3).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
from scipy import special, stats

from . import panel_moments
from .activations import Activation
from .errors import ParameterError, check_positive
from .gaussian import interval_prob, truncated_moments

P_TINY = 1e-300  # Binomial probabilities below this are dropped from the digamma sums
DIGAMMA_MAX_WIDTH = 5000  # auto: wider, the 1/N form (off by O(1/N^2) < 1e-6; sums cost O(N))
MAX_WIDTH, MAX_DEPTH = 10**7, 10**4  # predict's valid ranges


@dataclass(frozen=True)
class DerivativeMoments:
    """``P(phi' != 0)``, ``E[phi'^2]``, ``E[phi'^4]`` at ``x ~ N(0, q)`` (arrays like ``q``);
    ``level``: the single non-zero value of ``phi'^2`` where there is one, else ``None``."""

    active: np.ndarray
    e2: np.ndarray
    e4: np.ndarray
    level: float | None

    @property
    def kappa(self) -> np.ndarray:
        """``E[phi'^4] / E[phi'^2]^2`` (``1/p`` for a single level)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return self.e4 / (self.e2 * self.e2)


def _single_level(act: Activation) -> float | None:
    if not act.is_piecewise_linear:
        return None
    a2 = np.unique(np.asarray(act.linear_coeffs[0], float) ** 2)
    a2 = a2[a2 > 0]
    return float(a2[0]) if a2.size == 1 else None


def derivative_moments(act: Activation, q) -> DerivativeMoments:
    """Moments of ``phi'`` under ``N(0, q)``: piecewise constant ``phi'`` in closed form
    (interval probabilities), any other activation by the panel rule of
    :mod:`.panel_moments` (pieces integrated between breakpoints)."""
    if act.has_jumps:
        raise ParameterError("activation", act.name, "an activation without jumps (phi' has a "
                             "delta where phi jumps: chi_1 and every gain are infinite)")
    q = np.asarray(q, float)
    if act.is_piecewise_linear:
        slopes = np.asarray(act.linear_coeffs[0], float)
        s = np.sqrt(q)[..., None]
        edges = np.concatenate(([-np.inf], act.breakpoints, [np.inf]))
        prob = interval_prob(edges[:-1] / s, edges[1:] / s)
        return DerivativeMoments((prob * (slopes != 0)).sum(-1), (prob * slopes ** 2).sum(-1),
                                 (prob * slopes ** 4).sum(-1), _single_level(act))

    def moment(power):
        def f(k, x, z):
            return panel_moments.piece(act, k, 1)(x) ** power
        return np.asarray(panel_moments.univariate(act, q, f, lambda k: panel_moments.zero_piece(
            act, k, 1)), float)

    ones = np.asarray(panel_moments.univariate(
        act, q, lambda k, x, z: np.ones_like(x), lambda k: panel_moments.zero_piece(act, k, 1)), float)
    return DerivativeMoments(ones, moment(2), moment(4), None)


def e_dphi2_x2(act: Activation, q):
    """``E[phi'(x)^2 x^2]``, ``x ~ N(0, q)``: truncated second moments for piecewise-linear
    ``phi``, else the panel rule."""
    q = np.asarray(q, float)
    if act.is_piecewise_linear:
        slopes = np.asarray(act.linear_coeffs[0], float)
        edges = np.concatenate(([-np.inf], act.breakpoints, [np.inf]))
        m2 = truncated_moments(edges[:-1], edges[1:], 0.0, q[..., None])[2]
        return (m2 * slopes ** 2).sum(-1)
    return np.asarray(panel_moments.univariate(
        act, q, lambda k, x, z: panel_moments.piece(act, k, 1)(x) ** 2 * x * x,
        lambda k: panel_moments.zero_piece(act, k, 1)), float)


def expansion(mu, kappa, sigma_w2: float, width: int):
    """``(E, Var)`` of the per-layer log gain to ``O(1/N)`` (module docstring)."""
    c = 3.0 * np.asarray(kappa, float) - 1.0
    return np.log(sigma_w2 * np.asarray(mu, float)) - c / (2.0 * width), c / width


def digamma_form(p, level: float, sigma_w2: float, width: int):
    """Exact ``(E, Var, P(K = 0))`` of the per-layer log gain for a single-level ``phi'^2``
    (module docstring), vectorised over ``p``; ``E, Var`` are conditional on ``K >= 1``."""
    p = np.asarray(p, float)
    k = np.arange(1, width + 1, dtype=float)
    w = stats.binom.pmf(k, width, p[..., None])
    w = np.where(w > P_TINY, w, 0.0)
    p0 = stats.binom.pmf(0, width, p)
    with np.errstate(invalid="ignore", divide="ignore"):
        w = w / w.sum(-1, keepdims=True)
    dg, tg = special.digamma(k / 2.0), special.polygamma(1, k / 2.0)
    m1 = (w * dg).sum(-1)
    var = (w * tg).sum(-1) + np.maximum((w * dg * dg).sum(-1) - m1 * m1, 0.0)
    return math.log(sigma_w2 * level * 2.0 / width) + m1, var, p0


@dataclass(frozen=True)
class LayerGain:
    """Per-layer law of ``log(|v^{l+1}|^2/|v^l|^2)`` at one ``q`` (arrays like ``q``)."""

    mean: np.ndarray
    var: np.ndarray
    log_chi1: np.ndarray
    active: np.ndarray
    kappa: np.ndarray
    p_dead: np.ndarray  # P(no unit active): the gain is exactly 0 there (digamma form)
    method: str  # "digamma" or "1/N"


def layer_gain(act: Activation, sigma_w2: float, q, width: int, method: str = "auto"
               ) -> LayerGain:
    """The per-layer typical log gain and its variance at ``x ~ N(0, q)``, width ``N``.

    ``method``: ``"auto"`` (digamma where ``phi'^2`` has a single level and
    ``N <= DIGAMMA_MAX_WIDTH``, else ``"1/N"``), ``"1/N"`` or ``"digamma"``.
    """
    sigma_w2 = check_positive("sigma_w2", sigma_w2)
    if not (isinstance(width, (int, np.integer)) and width >= 2):
        raise ParameterError("width", width, "an integer >= 2")
    m = derivative_moments(act, q)
    if method not in ("auto", "1/N", "digamma"):
        raise ParameterError("method", method, "one of auto, 1/N, digamma")
    if method == "digamma" and m.level is None:
        raise ParameterError("method", method, f"1/N or auto ({act.name}: phi'^2 takes "
                             "several non-zero values)")
    if np.any(m.e2 <= 0):
        raise ParameterError("q", float(np.ravel(q)[0]), f"a variance where phi' of {act.name}"
                             " is not zero almost surely (no signal passes)")
    log_chi1 = np.log(sigma_w2 * m.e2)
    if m.level is not None and (method == "digamma" or (
            method == "auto" and width <= DIGAMMA_MAX_WIDTH)):
        mean, var, p0 = digamma_form(m.active, m.level, sigma_w2, width)
        return LayerGain(mean, var, log_chi1, m.active, m.kappa, p0, "digamma")
    mean, var = expansion(m.e2, m.kappa, sigma_w2, width)
    return LayerGain(mean, var, log_chi1, m.active, m.kappa, np.zeros_like(mean), "1/N")


LEAVE_NOTE = 0.01  # P(q^l leaves the band) above this: the record says the gains are conditional
FD_STEP = 1e-3  # relative step of the central differences of log chi_1 in q
GAIN_BAND_SD = 10.0  # the chain averaging f(q^l) spans qbar^l -+ this many sd of q^l


@dataclass(frozen=True)
class FiniteWidth:
    """Finite-width predictions for a depth-``L``, width-``N`` network at initialisation
    (docs/theory.md section 9).  Log gains are natural logs of squared-norm ratios of a
    tangent vector (equivalently of a back-propagated gradient) per layer.  ``by_layer``:
    arrays over ``l = 0..L-1`` of the mean-field ``q``, the expected ``log_gain`` of layer
    ``l`` (``log |g^l|^2/|g^{l+1}|^2``) and its ``log_gain_sd``."""

    width: int
    depth: int
    q: float
    method: str
    active_fraction: float  # P(phi' != 0) at q
    kappa: float  # E[phi'^4] / E[phi'^2]^2
    effective_width: float  # N / kappa (= p N for a single level)
    log_chi1: float  # mean over layers of log chi_1(qbar^l): the infinite-width value
    log_gain_per_layer: float  # E[log gain], averaged over the L layers
    log_gain_sd_per_layer: float  # sqrt of the mean per-layer variance
    log_gain_total_mean: float
    log_gain_total_sd: float  # with the correlation through q^l
    log_gain_total_sd_independent: float  # layers taken independent
    depth_scale: float | None  # -1 / log_gain_per_layer (None: the typical gain grows)
    q_sd_final: float | None  # sd of q^L over networks that stay in q_band (the chain)
    q_mean_shift_final: float | None  # E[q^L | stayed] - qbar^L (the chain)
    q_band: tuple[float, float]
    p_leave_band: float | None  # P(q^l leaves q_band within L layers)
    p_explode: float | None  # P(q^l passes the band's upper edge within L layers)
    reasons: dict
    by_layer: dict = field(default_factory=dict, repr=False)  # per-layer arrays (Python only)

    def to_dict(self) -> dict:
        """Plain JSON types; every non-finite number is ``None`` with a reason."""
        from dataclasses import asdict

        out, reasons = asdict(self), dict(self.reasons)
        del out["by_layer"]  # the JSON carries the summaries; the arrays stay in Python
        for k, v in out.items():
            if isinstance(v, float) and not math.isfinite(v):
                out[k] = None
                reasons.setdefault(k, f"not finite ({v})")
        out["q_band"] = list(self.q_band)
        out["reasons"] = reasons
        return out


def _dlog_chi1(act: Activation, sigma_w2: float, q):
    """``(d/dq, d^2/dq^2) log chi_1`` by central differences (relative step ``FD_STEP``)."""
    q = np.asarray(q, float)
    h = FD_STEP * q
    f = [np.log(sigma_w2 * derivative_moments(act, q + k * h).e2) for k in (-1, 0, 1)]
    return (f[2] - f[0]) / (2 * h), (f[2] - 2 * f[1] + f[0]) / (h * h)


def conditioning(act: Activation, sigma_b2: float, q, q_next, width: int, e2=None,
                 e_phi2=None, e_dphi2_phi2=None):
    """``A R / N``: the mean log gain's correction from the vector's component along the
    weight part ``a = W x`` of ``h^{l+1} = a + b`` (docs/theory.md section 9.2), with
    ``R = E[phi'^2 phi^2] / (E[phi'^2] E[phi^2])`` at ``q`` and
    ``A = (1 - sigma_b^2/q') (E[phi'^2 x^2] / (q' E[phi'^2]) - 1)`` at ``q' = q_next``."""
    from .q_chain import phi_moment

    q, q_next = np.asarray(q, float), np.asarray(q_next, float)
    e2 = derivative_moments(act, q).e2 if e2 is None else e2
    e_phi2 = phi_moment(act, q, 2) if e_phi2 is None else e_phi2
    e_dphi2_phi2 = phi_moment(act, q, 2, 2) if e_dphi2_phi2 is None else e_dphi2_phi2
    e2n = derivative_moments(act, q_next).e2
    a = (1.0 - sigma_b2 / q_next) * (e_dphi2_x2(act, q_next) / (q_next * e2n) - 1.0)
    return a * e_dphi2_phi2 / (e2 * e_phi2) / width


class Totals(NamedTuple):
    """What :func:`totals` returns (named fields; :func:`predict` unpacks them in order)."""

    gains: LayerGain
    noise: object          # q_chain.LinearNoise
    band: object | None    # q_chain.BandExit, None when not asked for
    means: np.ndarray      # per-layer mean log gain
    var_total: float       # variance of the total log gain
    var_per_layer: np.ndarray


def totals(mf, q: float, width: int, depth: int, method: str, band) -> Totals:
    """Per-layer :class:`LayerGain` at ``qbar^l``, the linear noise of ``q^l``, the chain
    :class:`.q_chain.BandExit`, per-layer means, the variance of the total and the per-layer
    variances (:func:`predict`)."""
    from .q_chain import band_exit, linear_noise, phi_moment

    act, sigma_w2 = mf.act, mf.sigma_w2
    try:
        ln = linear_noise(mf, q, width, depth)
    except ParameterError as err:
        raise ParameterError("depth", depth, f"a depth over which the mean-field variance stays "
                             f"finite from q={q:g} ({err.valid})") from None
    qbar = ln.qbar[:-1]
    g = layer_gain(act, sigma_w2, qbar, width, method)
    f1, _ = _dlog_chi1(act, sigma_w2, qbar)
    e2 = np.asarray(derivative_moments(act, qbar).e2, float)
    e_phi2 = phi_moment(act, qbar, 2)
    e_dphi2_phi2 = phi_moment(act, qbar, 2, 2)
    cov = sigma_w2 * (e_dphi2_phi2 / e2 - e_phi2) / width
    spread = GAIN_BAND_SD * math.sqrt(float(ln.var.max()) + float(ln.step_var.max()))
    lo, hi = float(ln.qbar.min()), float(ln.qbar.max())
    chain = band_exit(mf, q, width, depth, (max(lo - spread, lo / 10.0), hi + spread))
    if band is not False:
        band = band or (lo / 10.0, hi * 10.0)
        leave = band_exit(mf, q, width, depth, band)
    with np.errstate(divide="ignore", invalid="ignore"):
        f_cells = (layer_gain(act, sigma_w2, chain.cells, width, method).mean
                   + conditioning(act, mf.sigma_b2, chain.cells, mf.V(chain.cells), width))
    mass = chain.density[1:depth].sum(1)
    f_at = g.mean[0] + conditioning(act, mf.sigma_b2, q, mf.V(q), width)
    means = np.concatenate(([f_at], np.where(
        mass > 0, chain.density[1:depth] @ np.nan_to_num(f_cells, nan=0.0, neginf=0.0)
        / np.where(mass > 0, mass, 1.0), np.nan)))
    var_s, c = 0.0, 0.0
    for l in range(depth):
        var_s, c = (var_s + g.var[l] + f1[l] ** 2 * ln.var[l] + 2 * f1[l] * c,
                    ln.slope[l] * (c + f1[l] * ln.var[l]) + cov[l])
    return Totals(g, ln, None if band is False else leave, means, var_s,
                  g.var + f1 ** 2 * ln.var[:-1])


def predict(source, width: int, depth: int, sigma_w2: float | None = None,
            sigma_b2: float | None = None, q: float | None = None,
            q_band: tuple[float, float] | None = None, method: str = "auto") -> FiniteWidth:
    """Finite-width predictions from ``q^0 = q`` (module docstring; docs/theory.md section 9).

    ``source``: a :class:`.clipping.Derivation` (its activation, ``sigma_w^2``,
    ``sigma_b^2`` and ``q*``) or an :class:`.activations.Activation` with ``sigma_w2``,
    ``sigma_b2`` and ``q`` (default 1) given.  Per layer ``l`` the law of the log gain is
    taken at the mean-field ``qbar^l`` (:func:`layer_gain`) plus the correction
    :func:`conditioning`; the fluctuation ``dq^l`` of ``q^l``
    (:func:`.q_chain.linear_noise`) adds ``f' E[dq] + f''/2 Var[dq]`` to the mean
    (``f = log chi_1``) and correlates the layers: with ``C_l = Cov(S_l, dq^l)`` of the
    running total ``S_l``, ``Var S_{l+1} = Var S_l + v_l + f'^2 P_l + 2 f' C_l``,
    ``C_{l+1} = V'(C_l + f' P_l) + c_l``, ``c_l = Cov(xi_l, eps_l)
    = sigma_w^2 (E[phi'^2 phi^2]/E[phi'^2] - E[phi^2]) / N``.  ``q_band`` (default
    ``(q/10, 10 q)``): :func:`.q_chain.band_exit`.
    """
    if hasattr(source, "activation_fn"):
        act, sigma_w2, sigma_b2 = source.activation_fn(), source.sigma_w2, source.sigma_b2
        q = source.q_star if q is None else q
    else:
        act = source
        if sigma_w2 is None or sigma_b2 is None:
            raise ParameterError("sigma_w2" if sigma_w2 is None else "sigma_b2", None,
                                 "given with an activation (or pass a Derivation)")
        q = 1.0 if q is None else q
    from .maps import MeanField

    for name, v, lo, hi in (("width", width, 2, MAX_WIDTH), ("depth", depth, 1, MAX_DEPTH)):
        if not (isinstance(v, (int, np.integer)) and not isinstance(v, bool) and lo <= v <= hi):
            raise ParameterError(name, v, f"an integer in [{lo}, {hi:g}]")
    q = check_positive("q", q)
    mf = MeanField(act, sigma_w2, sigma_b2)
    reasons: dict[str, str] = {}
    band = None if q_band is None else tuple(float(b) for b in q_band)
    g, ln, be, means, var_s, per_layer_var = totals(mf, q, width, depth, method, band)
    band = be.band
    total = float(means.sum())
    per_layer = total / depth
    depth_scale = -1.0 / per_layer if per_layer < 0 else None
    if depth_scale is None:
        reasons["depth_scale"] = "the typical gain does not decay (log gain per layer >= 0)"
    p_explode = float(be.p_above[-1])
    p_leave = float(min(1.0, be.p_above[-1] + be.p_below[-1]))
    if p_leave > LEAVE_NOTE:
        reasons["validity"] = (f"q^l leaves {band} with probability {p_leave:.2g} within "
                               f"{depth} layers: the gains hold for networks that stay")
    return FiniteWidth(
        width, int(depth), q, g.method, float(g.active[0]), float(g.kappa[0]),
        float(width / g.kappa[0]), float(g.log_chi1.mean()), per_layer,
        float(np.sqrt(per_layer_var.mean())), total, float(np.sqrt(max(var_s, 0.0))),
        float(np.sqrt(g.var.sum())), depth_scale, float(be.sd[-1]),
        float(be.mean[-1] - ln.qbar[-1]), band, p_leave, p_explode, reasons,
        {"q": ln.qbar[:-1], "log_gain": means, "log_gain_sd": np.sqrt(per_layer_var)})

