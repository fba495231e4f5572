"""The number a closed sympy expression of :mod:`.symbolic` stands for, correctly rounded
to float64 (the value ``sparsefield formula`` prints; docs/theory.md section 3.2's accuracy
table)."""

from __future__ import annotations

import mpmath
import sympy as sp


def value(expr: sp.Expr) -> float:
    """The float a closed expression (no free symbols, no integrals) stands for: mpmath at 30,
    60, ... digits until two agree to 1e-20 (``Phi`` by ``ncdf``; sympy's ``evalf`` of
    ``(1 + erf)/2`` lost far-tail terms); a true zero ends at 1920 digits as ``0.0``."""
    if expr.free_symbols:
        raise ValueError(f"free symbols left: {sorted(s.name for s in expr.free_symbols)}")
    f, old, dps = sp.lambdify([], expr, modules=[{"Phi": mpmath.ncdf, "phi": mpmath.npdf}, "mpmath"]), None, 30
    while dps <= 1920:
        with mpmath.workdps(dps):
            new = f()
            if old is not None and abs(new - old) <= abs(new) * mpmath.mpf(10) ** -20:
                break
        old, dps = new, 2 * dps
    return float(new)
