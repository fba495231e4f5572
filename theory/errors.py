"""Errors raised on bad input: each names the parameter and its valid range."""

from __future__ import annotations

import math


class ParameterError(ValueError):
    """A parameter lies outside its valid range (``param`` holds its name)."""

    def __init__(self, param: str, value: object, valid: str) -> None:
        self.param, self.value, self.valid = param, value, valid
        super().__init__(f"{param}={value!r} is invalid: must be {valid}")


class InfeasibleError(ValueError):
    """The edge of chaos cannot be reached: it would need ``sigma_b^2 < 0``."""


# Magnitudes of scales (variances q, q*, activation parameters tau, m, c, ...): outside
# [SCALE_MIN, SCALE_MAX] (zero aside) double-precision Gaussian integrals over, and
# iterations of, the maps overflow or underflow, so such inputs are refused, not computed.
SCALE_MIN, SCALE_MAX = 1e-12, 1e12
SCALE_RANGE = f"of magnitude at most {SCALE_MAX:g}"


def check_real(param: str, value: float, valid: str, ok) -> float:
    """Return ``float(value)`` if it is a finite real (not a bool) accepted by ``ok``; else
    raise."""
    if isinstance(value, bool):
        raise ParameterError(param, value, valid)
    try:
        v = float(value)
    except (TypeError, ValueError, OverflowError):
        raise ParameterError(param, _short(value), valid) from None
    if math.isnan(v) or not ok(v):
        raise ParameterError(param, _short(value), valid)
    return v


def _short(value: object) -> object:
    """``value`` for a message: a huge integer by its size, not its 400 digits."""
    if isinstance(value, int) and abs(value) > 10 ** 30:
        return f"<integer of {len(str(abs(value)))} digits>"
    return value


def in_scale(v: float) -> bool:
    """``|v| <= SCALE_MAX`` (an activation parameter; tiny ones act as 0, harmlessly)."""
    return abs(v) <= SCALE_MAX


def check_variance(param: str, value: float, what: str = "a variance") -> float:
    """Validate a variance (``q``, ``q*``) or another positive scale (``what``): a finite
    number in [SCALE_MIN, SCALE_MAX]."""
    return check_real(param, value, f"{what} in [{SCALE_MIN:g}, {SCALE_MAX:g}]",
                      lambda v: SCALE_MIN <= v <= SCALE_MAX)


def check_open_unit(param: str, value: float) -> float:
    """Validate a number in the open interval (0, 1)."""
    return check_real(param, value, "in the open interval (0, 1)", lambda v: 0.0 < v < 1.0)


def check_positive(param: str, value: float) -> float:
    """Validate a finite number > 0."""
    return check_real(param, value, "a finite number > 0", lambda v: 0.0 < v < math.inf)


def check_nonnegative(param: str, value: float) -> float:
    """Validate a finite number >= 0."""
    return check_real(param, value, "a finite number >= 0", lambda v: 0.0 <= v < math.inf)
