"""Fixed Gauss-Legendre panel rules for ``E[f(z)]``, ``z ~ N(0, 1)``, ``f`` piecewise smooth.

The line is cut at the pieces' breakpoints (so no kink or jump lies inside a panel) and
each interval is clipped to the window where ``gamma(z) >= e^-72 gamma(z*)`` (``z*`` the
interval's point nearest 0; beyond it the Gaussian weight is below 1e-31 of its peak).
Between consecutive *feature points* (breakpoints, interior features such as the origin
where ``f`` varies on a short scale ``delta``) each half-segment is mapped by
``z = c + delta sinh(t)`` from its feature ``c`` and cut into panels of width <= 0.75 in
``t``, with 20 Gauss-Legendre nodes each.  The map grades the panels geometrically
towards the feature (widths ~ ``delta`` there, ~ distance further away), the standard
remedy for nearly singular integrands (Johnston & Elliott 2005, "A sinh transformation
for evaluating nearly singular boundary element integrals"): poles of ``tanh(x)`` at
``x = i pi/2`` or a kink smoothed over a conditional width stay at a fixed relative
distance from every panel, so the rule converges geometrically in the node count for any
``delta``.  Everything is vectorised: arguments broadcast to one shape ``S`` and nodes
are appended as a last axis.  The panel count is fixed per call (the largest any element
needs), so one numpy evaluation serves a whole grid of parameters.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Callable, Sequence

import numpy as np

N_NODES = 20
PANEL_T = 0.75
LOG_WINDOW = 72.0
_T, _W = np.polynomial.legendre.leggauss(N_NODES)
_T01, _W01 = (_T + 1.0) / 2.0, _W / 2.0  # the rule on [0, 1]
INV_SQRT2PI = 1.0 / np.sqrt(2.0 * np.pi)


def window(lo, hi):
    """``[lo, hi]`` clipped to where ``gamma(z) >= e^-LOG_WINDOW gamma(z*)``."""
    zs = np.clip(0.0, lo, hi)
    w = np.sqrt(zs * zs + 2.0 * LOG_WINDOW)
    return np.clip(lo, -w, w), np.clip(hi, -w, w)


def _graded(c, e, delta):
    """Nodes and weights on the segment from feature ``c`` to ``e`` (``z = c +- delta sinh t``)."""
    length = np.abs(e - c)
    t_end = np.arcsinh(length / delta)
    n = max(1, int(np.ceil(np.max(t_end, initial=0.0) / PANEL_T)))
    h = t_end / n
    u, w01 = _template(n)
    t = u * h[..., None]
    sd = (np.sign(e - c) * delta)[..., None]
    z = c[..., None] + sd * np.sinh(t)
    w = w01 * (h * delta)[..., None] * np.cosh(t)
    return z, w


@lru_cache(maxsize=None)
def _template(n: int):
    """Node positions (in units of the panel width) and weights of ``n`` unit panels."""
    return (np.arange(n)[:, None] + _T01[None, :]).reshape(-1), np.tile(_W01, n)


def _local(loc, d):
    """A feature's scale, at most the Gaussian's own ``1/|z|`` there (tails decay fast)."""
    return np.minimum(d, 1.0 / np.maximum(np.abs(loc), 1.0))


def segment_rule(lo, hi, d_lo, d_hi):
    """Nodes, weights on ``[lo, hi]`` graded towards both ends (scales ``d_lo``, ``d_hi``)."""
    mid = 0.5 * (lo + hi)
    z1, w1 = _graded(lo, mid, d_lo)
    z2, w2 = _graded(hi, mid, d_hi)
    return np.concatenate([z1, z2], -1), np.concatenate([w1, w2], -1)


def interval_rule(lo, hi, d_ends, feats: Sequence = ()):
    """Nodes and weights for ``[lo, hi]`` (may be infinite): window-clipped, split at the
    interior features ``feats`` (pairs ``(location, delta)``; those outside are clipped to
    an end and contribute nothing), graded towards breakpoints with scale ``d_ends``."""
    a, b = window(lo, hi)
    shape = np.broadcast_shapes(np.shape(a), np.shape(d_ends),
                                *[np.shape(p) for f in feats for p in f])
    a, b = np.broadcast_to(a, shape), np.broadcast_to(b, shape)
    # a window cut is no feature: grade from it as little as from anything (delta = 1)
    d_a = np.where(a == lo, _local(a, d_ends), 1.0) * np.ones(shape)
    d_b = np.where(b == hi, _local(b, d_ends), 1.0) * np.ones(shape)
    if not feats:
        return segment_rule(a, b, np.minimum(d_a, 1.0), np.minimum(d_b, 1.0))
    locs = np.stack([a] + [np.clip(np.broadcast_to(p, shape), a, b) for p, _ in feats] + [b])
    dels = np.stack([d_a] + [_local(locs[i + 1], np.broadcast_to(d, shape))
                             for i, (_, d) in enumerate(feats)] + [d_b])
    order = np.argsort(locs, axis=0, kind="stable")
    locs = np.take_along_axis(locs, order, 0)
    dels = np.minimum(np.take_along_axis(dels, order, 0), 1.0)
    parts = [segment_rule(locs[i], locs[i + 1], dels[i], dels[i + 1])
             for i in range(len(locs) - 1)]
    return np.concatenate([p[0] for p in parts], -1), np.concatenate([p[1] for p in parts], -1)


def expect(funcs: Sequence[Callable | None], cuts: Sequence, d_ends,
           feats: Sequence[Sequence] | None = None):
    """``E[f(z)]``, ``z ~ N(0, 1)``, ``f = funcs[k]`` on ``[cuts[k-1], cuts[k])``.

    ``cuts`` are arrays (broadcasting to one shape ``S``) in increasing order; ``funcs[k]``
    maps an array of nodes shaped ``S + (n,)`` to values (``None``: zero on that interval).
    ``d_ends``: the grading scale at the cuts; ``feats[k]``: interior ``(location, delta)``
    pairs of interval ``k``.
    """
    edges = [-np.inf, *cuts, np.inf]
    total = np.zeros(np.broadcast_shapes(np.shape(d_ends), *[np.shape(c) for c in cuts]))
    for k, f in enumerate(funcs):
        if f is None:
            continue
        z, w = interval_rule(np.asarray(edges[k], float), np.asarray(edges[k + 1], float),
                             d_ends, feats[k] if feats else ())
        g = w * np.exp(-0.5 * z * z) * INV_SQRT2PI
        with np.errstate(invalid="ignore", over="ignore"):
            total = total + np.sum(np.where(g > 0.0, g * f(z), 0.0), axis=-1)
    return total
