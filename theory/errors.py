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


def check_real(param: str, value: float, valid: str, ok) -> float:
    """Return ``float(value)`` if it is a finite real accepted by ``ok``; else raise."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ParameterError(param, value, valid) from None
    if math.isnan(v) or not ok(v):
        raise ParameterError(param, value, valid)
    return v


def check_open_unit(param: str, value: float) -> float:
    """Validate a number in the open interval (0, 1)."""
    return check_real(param, value, "in the open interval (0, 1)", lambda v: 0.0 < v < 1.0)


def check_positive(param: str, value: float) -> float:
    """Validate a finite number > 0."""
    return check_real(param, value, "a finite number > 0", lambda v: 0.0 < v < math.inf)


def check_nonnegative(param: str, value: float) -> float:
    """Validate a finite number >= 0."""
    return check_real(param, value, "a finite number >= 0", lambda v: 0.0 <= v < math.inf)
