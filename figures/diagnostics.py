"""The training diagnostics of stored MLP records against their predictions (torch-free).

Six subplots, one colour per point label (seeds averaged): the typical back-prop log gain
per layer at initialisation against the finite-width prediction (line, with the +-1 sd
band of one random vector); its sum from the read-out back to layer ``l``; ``1 - rho^l``
of input pairs over depth, at initialisation (solid) and at the last evaluation (dotted),
against the iterated mean-field correlation map (dashed); the linear-window fraction
``P(phi' != 0)`` per layer against mean field; the logit spread across inputs over
training against its mean-field value at initialisation; and the relative update
``|dW|/|W|`` per layer at the last evaluation.  The legend states the widths the
predictions hold at and the Jacobian rank / effective rank at initialisation.
"""

from __future__ import annotations

import warnings
from collections import defaultdict
from pathlib import Path

import numpy as np

from sparsefield.results.names import (
    DIAG_ACTIVE_FRAC,
    DIAG_CORR_GAP,
    DIAG_LOG_GAIN,
    DIAG_LOGIT_SPREAD,
    DIAG_REL_UPDATE,
    EVAL,
    INIT,
    JAC_ERANK,
    JAC_RANK,
    PRED_ACTIVE_FRAC,
    PRED_CORR_GAP,
    PRED_FINITE_WIDTH,
    PRED_LOG_GAIN,
    PRED_LOG_GAIN_SD,
    PRED_LOGIT_SPREAD,
    PRED_MEAN_FIELD,
    PRED_WIDTH,
    PREDICTED,
    STEP,
    section,
    series,
)

from . import style


def _mean(arrs) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(np.asarray(arrs, float), axis=0)


def _groups(records: list[dict]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = defaultdict(list)
    for r in records:
        if DIAG_LOG_GAIN in section(r, EVAL):
            out[r["label"]].append(r)
    return dict(sorted(out.items()))


def diagnostics(records: list[dict], out: str | Path, name: str = "diagnostics") -> list[Path]:
    """Draw the diagnostics of ``records`` (those that hold them) into ``out/name.*``."""
    fig, axes = style.subplots(2, 3, width=3.3, height=2.6)
    (a_gain, a_cum, a_corr), (a_win, a_spread, a_upd) = axes
    groups = _groups(records)
    widths: set[str] = set()
    for i, (label, recs) in enumerate(groups.items()):
        color = f"C{i % 10}"  # one per point (several points may share an activation)
        pred = section(recs[0], PREDICTED) or {}
        fw, mf = pred.get(PRED_FINITE_WIDTH), pred.get(PRED_MEAN_FIELD)
        init = [section(r, INIT) for r in recs]
        jac = (f", J rank {_mean([s[JAC_RANK] for s in init]):.3g} / eff. "
               f"{_mean([s[JAC_ERANK] for s in init]):.3g}" if JAC_RANK in init[0] else "")
        gain = _mean([series(r, EVAL, DIAG_LOG_GAIN)[0] for r in recs])
        layers = np.arange(1, gain.size + 1)
        a_gain.plot(layers, gain, color=color, **style.MEASURED, label=f"{label}{jac}")
        cum = np.cumsum(gain[::-1])[::-1]
        a_cum.plot(layers, cum, color=color)
        if fw:
            widths.add(f"finite width N = {fw[PRED_WIDTH]}")
            m, sd = fw[PRED_LOG_GAIN], fw[PRED_LOG_GAIN_SD]
            a_gain.axhline(m, color=color, ls="--", lw=1.0)
            a_gain.axhspan(m - sd, m + sd, color=color, alpha=0.08, lw=0)
            tot = m * (gain.size - layers + 1)
            a_cum.plot(layers, tot, color=color, ls="--", lw=1.0)
            a_cum.fill_between(layers, tot - sd * np.sqrt(gain.size - layers + 1),
                               tot + sd * np.sqrt(gain.size - layers + 1), color=color,
                               alpha=0.08, lw=0)
        gaps = [series(r, EVAL, DIAG_CORR_GAP) for r in recs]
        depth = np.arange(1, gaps[0].shape[1] + 1)
        a_corr.semilogy(depth, _mean([g[0] for g in gaps]), color=color)
        a_corr.semilogy(depth, _mean([g[-1] for g in gaps]), color=color, ls=":")
        win = [series(r, EVAL, DIAG_ACTIVE_FRAC) for r in recs]
        a_win.plot(depth, _mean([w[0] for w in win]), color=color)
        a_win.plot(depth, _mean([w[-1] for w in win]), color=color, ls=":")
        steps = np.asarray(section(recs[0], EVAL)[STEP], float)
        a_spread.semilogy(steps, _mean([series(r, EVAL, DIAG_LOGIT_SPREAD) for r in recs]),
                      color=color, **style.MEASURED)
        if mf:
            widths.add(str(mf[PRED_WIDTH]))
            a_corr.semilogy(depth, mf[PRED_CORR_GAP], color=color, ls="--", lw=1.0)
            a_win.axhline(mf[PRED_ACTIVE_FRAC], color=color, ls="--", lw=1.0)
            a_spread.axhline(mf[PRED_LOGIT_SPREAD], color=color, ls="--", lw=1.0)
        upd = _mean([series(r, EVAL, DIAG_REL_UPDATE)[-1] for r in recs])
        a_upd.semilogy(np.arange(1, upd.size + 1), upd, color=color, **style.MEASURED)
    a_gain.set(xlabel="layer l", ylabel="log |dL/dh^l|^2 / |dL/dh^(l+1)|^2",
               title="typical back-prop gain per layer (init)")
    a_cum.set(xlabel="layer l", ylabel="log |dL/dh^l|^2 / |dL/dh^L|^2",
              title="gain from the last layer back to l (init)")
    a_corr.set(xlabel="layer l", ylabel="1 - rho^l (input pairs)",
               title="pair correlation: init solid, last dotted")
    a_win.set(xlabel="layer l", ylabel="P(phi'(h) != 0)", title="linear-window fraction")
    a_spread.set(xlabel="step", ylabel="sqrt(mean_c var_x f_c)", title="logit spread over inputs")
    a_upd.set(xlabel="layer (read-out last)", ylabel="|dW| / |W|",
              title="relative update, last evaluation step")
    if groups:
        fig.legend(*a_gain.get_legend_handles_labels(), loc="outside lower center",
                   ncol=min(len(groups), 3))
    else:
        style.note(a_gain, "no record holds diagnostics")
    fig.suptitle("diagnostics (dashed: predictions; " + ("; ".join(sorted(widths)) or "none")
                 + ")", fontsize=9)
    return style.save(fig, out, name)
