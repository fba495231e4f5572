"""The pieces of the piecewise-linear bivariate routes of :mod:`.routes` (``E[phi^(order)(u1)
phi^(order)(u2)]``): each route's values at every point and its ``accurate`` mask, in the
order of :data:`.routes.ROUTES` -- Rosenbaum's orthant sums (deferred to the Mehler series at
small ``|rho|`` for two corners and up), the apex form alone for one-signed maps, the Mehler
series, the clamp basis, the orthant sums with the apex form, the closed-form inner integral
(docs/theory.md section 3.2)."""

from __future__ import annotations

import numpy as np

from . import generic, pl_apex, pl_bivariate, pl_mehler, pl_narrow


def bivariate(act, q, rho, order):
    """The orthant closed form of :mod:`.pl_bivariate` at every point (``method="closed"``)."""
    return pl_bivariate.expect(act, q, rho, order)[0][()]


def bivariate_accurate(act, quantity, q, rho, order):
    """Its values, and the points where the forward error bound of Rosenbaum's sums holds
    (:func:`.pl_bivariate.expect` without the apex form: the cheaper series and clamp routes
    come next)."""
    return pl_bivariate.expect(act, q, rho, order, refine=False)


def bivariate_defer(act, quantity, q, rho, order):
    """Grids of a ``phi`` with two kinks or more (two distinct orthant corners and up: CReLU
    3, CST 6, ~1-2 us a point each): the points where the Mehler series is tried
    (:func:`.pl_mehler.tried`, ~1.5 us a point) go to it first; Rosenbaum's sums serve them
    only where it and the clamp basis decline, as ``pl_apex`` (the same sums, refined where
    they cancel).  One corner (shifted ReLU, JumpReLU) is cheaper than the series: no change."""
    if len(pl_bivariate.basis(act).corners) < 2:
        return False
    return pl_mehler.tried(rho)


def apex_accurate(act, quantity, q, rho, order):
    """The orthant closed form with the apex form where Rosenbaum's sums cancel (far
    corners, ``rho -> -1``): its values and the points where its bound holds."""
    return pl_bivariate.expect(act, q, rho, order)


def apex_signed_values(act, q, rho, order):
    """The apex form alone (:mod:`.pl_apex`) at every point of a one-signed map."""
    return pl_apex.expect(act, q, rho, order)[0]


def apex_signed(act, quantity, q, rho, order):
    """The apex form alone where every term of the map has one sign (:mod:`.pl_apex`: no
    cancellation, so it serves where Rosenbaum's sums cancel, before the Mehler series)."""
    return pl_apex.expect(act, q, rho, order)


def mehler(act, q, rho, order):
    """The Mehler series of :mod:`.pl_mehler` (``N_MAX`` terms) at every point."""
    return pl_mehler.expect(act, q, rho, order, everywhere=True)[0][()]


def mehler_accurate(act, quantity, q, rho, order):
    """Its values, and the points where its forward error bound holds (small ``|rho|``)."""
    return pl_mehler.expect(act, q, rho, order)


def narrow(act, q, rho, order):
    """The clamp basis of :mod:`.pl_narrow` at every point (``method="closed"``)."""
    return pl_narrow.expect(act, q, rho, order)[0][()]


def narrow_accurate(act, quantity, q, rho, order):
    """Its values, and the points where its quadrature and rounding bounds hold."""
    return pl_narrow.expect(act, q, rho, order)


def inner(act, q, rho, order):
    """Outer panel rule of the closed-form conditional expectation (:mod:`.panel_moments`)."""
    return generic.bivariate(act, q, rho, order, closed_inner=True)


def inner_accurate(act, quantity, q, rho, order):
    """No interval narrower than ``NARROW_Z`` conditional sds (``Phi(b) - Phi(a)`` of nearly
    equal numbers otherwise)."""
    sd = np.sqrt(np.asarray(q, float) * ((1.0 - rho) * (1.0 + rho)))
    w = np.diff(act.breakpoints).reshape((-1,) + (1,) * sd.ndim)
    return None, np.all(w >= generic.NARROW_Z * sd, axis=0)
