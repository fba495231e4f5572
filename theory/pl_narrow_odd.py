"""The narrow-clip bivariate map of an odd bounded piecewise-linear ``phi`` near ``rho = 0``.

For odd ``phi`` (CST, hardtanh) the clamp basis of :mod:`.pl_narrow` comes in mirrored pairs
``e_i(z)``, ``-e_i(-z)``, so ``E[phi(u1) phi(u2)] = 2 sum_{i,k} beta_i beta_k (F_ik(rho) -
F_ik(-rho))``, ``F_ik(r) = E[e_i(z1) e_k(z2)]`` at correlation ``r`` over the positive-side
basis alone.  Near ``rho = 0`` the two ``F`` nearly cancel (the map is ``O(rho)``); their
differences are written without subtraction (docs/theory.md section 3.2), ``c = sqrt(1 -
rho^2)``:

* narrow x narrow: ``p(x, y; r) - p(x, y; -r) = e^{-(x^2 + y^2)/2c^2} 2 sinh(r x y / c^2) /
  (2 pi c)``;
* narrow x step ``h``: ``Q((h - r x)/c) - Q((h + r x)/c) = int_{-d}^{d} gamma(h/c + t) dt``,
  ``d = r x / c`` (a second Gauss-Legendre axis);
* step x step: ``L(h, k; r) - L(h, k; -r) = int_{-r}^{r} phi_2(h, k; t) dt`` (Plackett 1954:
  ``dL/dr`` is the bivariate density at the corner).

The same Gauss-Legendre rules and Bernstein-ellipse bound as :mod:`.pl_narrow` (the spans
below bound the growth of each log-integrand off the real segment); used for ``|rho| <=
R_ODD`` and order 0 (``phi'`` of an odd ``phi`` is even: no cancellation).
"""

from __future__ import annotations

import numpy as np

from . import gl_bound as GB

R_ODD = 0.5
EPS = GB.EPS
INV_2PI = 1.0 / (2.0 * np.pi)


def half(bs):
    """``(steps, pieces)`` of the positive side if ``phi`` is odd in its clamp basis ``bs``
    (:func:`.pl_narrow.basis`, order 0), else ``None``."""
    pos_s = sorted((h, b) for s, h, b in bs.steps if s > 0)
    neg_s = sorted((h, -b) for s, h, b in bs.steps if s < 0)
    pos_p = sorted((a, b, k) for s, a, b, k in bs.pieces if s > 0)
    neg_p = sorted((a, b, -k) for s, a, b, k in bs.pieces if s < 0)
    if bs.const != 0.0 or pos_s != neg_s or pos_p != neg_p:
        return None
    return tuple(pos_s), tuple(pos_p)


def spans(steps, pieces, r, c):
    """Per integral, the span over ``RADII`` x points (:func:`.gl_bound.level`)."""
    R, A, B = GB.ellipse()
    ar = np.abs(r)
    poly = 2.0 * np.log(A + 1.0)  # per axis: P and the factor x beside it, over their mean
    out = []
    for j, (a, b, _) in enumerate(pieces):
        m, ell = 0.5 * (a + b), 0.5 * (b - a)
        xmax = np.abs(m) + ell * A
        for h, _ in steps:
            hi = 0.5 * (h / c + ar * (np.abs(m) + ell) / c) ** 2
            out.append(GB.crude_gauss(m, ell, A, B) + 2.0 * poly + hi + 0.5 * (ar * xmax * A / c) ** 2)
        for a2, b2, _ in pieces[j:]:
            m2, l2 = 0.5 * (a2 + b2), 0.5 * (b2 - a2)
            out.append(GB.crude_gauss_u(m / c, ell / c, A, B) + GB.crude_gauss_u(m2 / c, l2 / c, A, B)
                       + 2.0 * poly + ar * xmax * (np.abs(m2) + l2 * A) / (c * c))
    for i, (h, _) in enumerate(steps):
        for k2, _ in steps[i:]:
            S, hk = h * h + k2 * k2, np.abs(h * k2)
            t2 = (ar * A) ** 2
            with np.errstate(divide="ignore", invalid="ignore"):
                sp = (S + 2.0 * ar * A * hk) / (2.0 * (1.0 - t2)) + (S + 2.0 * ar * hk) / (
                    2.0 * (1.0 - r * r)) - 0.5 * np.log1p(-t2)
            out.append(np.where(t2 < 0.81, sp, np.inf))
    return out


def terms(steps, pieces, s, r, c, n):
    """``(E[phi(u1) phi(u2)], error bound)`` by the odd-part form, rule size ``n``."""
    X, W = GB.RULES[n]
    ar, sg = np.abs(r), np.sign(r)
    st = [(h / s, beta) for h, beta in steps]
    pc = [(a / s, b / s, kap * s) for a, b, kap in pieces]
    vals, errs = [], []
    for j, (a, b, kap) in enumerate(pc):
        x, tx, wx = GB.gl(n, a, b)
        px = tx * wx
        for h, beta in st:
            d = (ar[:, None] * x / c[:, None])[:, :, None]
            u = (h / c)[:, None, None] + d * X
            inner = (np.exp(-0.5 * u * u) * W).sum(axis=2) * GB.INV_SQRT2PI * d[:, :, 0]
            f = px * GB.gam(x) * inner
            vals.append(2.0 * kap * beta * f.sum(axis=1))
            rnd = 24.0 + GB.wmean(f, GB.node_kappa(x, b), 1) + 2.0 * np.max(u * u, axis=(1, 2))
            errs.append(np.abs(vals[-1]) * (rnd * EPS + GB.QUAD_TOL))
        for k in range(j, len(pc)):
            a2, b2, kap2 = pc[k]
            y, ty, wy = GB.gl(n, a2, b2)
            py = ty * wy
            c2 = (c * c)[:, None, None]
            e = 0.5 * ((x * x)[:, :, None] + (y * y)[:, None, :]) / c2
            t = ar[:, None, None] * x[:, :, None] * y[:, None, :] / c2
            f = np.exp(-e) * np.sinh(t) * (px[:, :, None] * py[:, None, :])
            v = f.sum(axis=(1, 2)) * (2.0 * INV_2PI) / c
            vals.append((1.0 if k == j else 2.0) * kap * kap2 * v)
            rnd = 24.0 + GB.wmean(f, 4.0 * (e + t) + 4.0, (1, 2))
            errs.append(np.abs(vals[-1]) * (rnd * EPS + GB.QUAD_TOL))
    for i, (h, beta) in enumerate(st):
        for k, (h2, beta2) in enumerate(st[i:], i):
            t = ar[:, None] * X
            om = (1.0 - t) * (1.0 + t)
            e = (h * h + h2 * h2)[:, None] - 2.0 * t * (h * h2)[:, None]
            e = 0.5 * e / om
            v = (np.exp(-e) / np.sqrt(om) * W).sum(axis=1) * INV_2PI * ar
            vals.append((1.0 if k == i else 2.0) * beta * beta2 * v)
            errs.append(np.abs(vals[-1]) * ((24.0 + 4.0 * e.max(axis=1)) * EPS + GB.QUAD_TOL))
    vals = np.stack(vals)
    total = 2.0 * sg * vals.sum(axis=0)
    bound = 2.0 * (np.stack(errs).sum(axis=0) + (len(vals) + 2) * EPS * np.abs(vals).sum(axis=0))
    return total, bound
