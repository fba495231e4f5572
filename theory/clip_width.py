"""The clip that maximises the finite-width end-to-end gain (docs/theory.md section 9.4).

For a target sparsity the clip ``m`` of CReLU / CST trades two finite-width effects: a
larger ``m`` widens the linear window (more active units, ``kappa = 1/p`` falls) but pushes
``V'(q*)`` toward 1, where ``q^l`` wanders (:mod:`.q_chain`) and the spread of the gain
across networks grows; past the bifurcation extra fixed points appear [P24].
"""

from __future__ import annotations

import functools
import math

import numpy as np

from . import finite_width
from .errors import ParameterError, check_positive


def best_clip(activation: str, sparsity: float, width: int, depth: int,
              vprime: float | None = None, q_star: float = 1.0, n_grid: int = 24) -> dict:
    """The clips ``m`` maximising the predicted end-to-end log gain at width ``N``, depth
    ``L`` for a target sparsity (clipped activations), next to the clip of the target
    ``V'(q*)`` (default 0.5): ``typical`` maximises ``log_gain_total_mean`` (the log of the
    typical gain), ``robust`` maximises ``log_gain_total_mean - log_gain_total_sd`` (a
    network one standard deviation below typical).  A larger ``m`` widens the linear window
    (``kappa = 1/p`` falls) but pushes ``V'(q*)`` to 1, where ``q^l`` fluctuates more and
    the spread of the gain across networks grows (:mod:`.q_chain`); clips at or past the
    bifurcation are excluded.  Scanned on ``V'(q*)`` in ``[0.02, 0.98]``, refined by
    golden-section search (:func:`.roots.fminbound`)."""
    from .activations import get
    from .clipping import CLIPPED, DEFAULT_VPRIME, critical_m, eoc_scaled, m_for_vprime
    from .maps import MeanField
    from .roots import fminbound
    from .sparsity import tau_for_sparsity

    if activation not in CLIPPED:
        raise ParameterError("activation", activation, f"one of {list(CLIPPED)} (a clip)")
    q_star = check_positive("q_star", q_star)
    t = float(tau_for_sparsity(activation, sparsity))
    bif = critical_m(activation, sparsity)["bifurcation"]

    @functools.cache
    def at_clip(mu: float) -> tuple[float, float]:
        eoc = eoc_scaled(activation, t, mu)
        mf = MeanField(get(activation, tau=t, m=mu), float(eoc.sigma_w2), float(eoc.sigma_b2))
        try:
            out = finite_width.totals(mf, 1.0, width, depth, "auto", False)
        except ParameterError:
            return -math.inf, math.inf
        return float(out.means.sum()), math.sqrt(max(out.var_total, 0.0))

    objectives = {"typical": lambda mu: at_clip(mu)[0],
                  "robust": lambda mu: at_clip(mu)[0] - at_clip(mu)[1]}
    mus = np.asarray(m_for_vprime(activation, sparsity, np.linspace(0.02, 0.98, n_grid)))
    mus = mus[mus < bif] if bif is not None else mus
    rq = math.sqrt(q_star)
    out: dict = {}
    for key, obj in objectives.items():
        values = np.array([obj(float(mu)) for mu in mus])
        i = int(np.argmax(values))
        lo, hi = mus[max(i - 1, 0)], mus[min(i + 1, len(mus) - 1)]
        x, f = fminbound(lambda lm, obj=obj: -obj(math.exp(lm)), math.log(lo), math.log(hi),
                         xatol=1e-3)
        mu = math.exp(x) if -f >= values[i] else float(mus[i])
        out[key] = {"m": mu * rq, "vprime": float(eoc_scaled(activation, t, mu).vprime),
                    "log_gain_total_mean": at_clip(mu)[0], "log_gain_total_sd": at_clip(mu)[1]}
    target = DEFAULT_VPRIME if vprime is None else vprime
    mu_t = float(m_for_vprime(activation, sparsity, target))
    out["target"] = {"m": mu_t * rq, "vprime": target, "log_gain_total_mean": at_clip(mu_t)[0],
                     "log_gain_total_sd": at_clip(mu_t)[1]}
    out["bifurcation_m"] = None if bif is None else bif * rq
    return out
