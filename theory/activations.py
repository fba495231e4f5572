"""The activation catalogue: every activation is defined once, here.

A definition is a list of increasing breakpoints ``b_0 < ... < b_{n-1}`` and one sympy
expression per interval ``(-inf, b_0), [b_0, b_1), ..., [b_{n-1}, inf)``, written in
terms of the parameter symbols.  Everything else is generated from it: the sympy
``Piecewise`` expression, exact derivatives per piece, the jumps of ``phi'`` at the
kinks (needed for the delta terms of ``phi''``, science.md section 3), the
piecewise-linear coefficients used by the closed forms, the parity used by the drift
theory, and numpy / pure-Python (numba-compilable) / torch callables.

Adding an activation is one call to :func:`_define`.
"""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import Callable, Sequence

import numpy as np
import sympy as sp

from .errors import ParameterError

X = sp.Symbol("x", real=True)


@dataclass(frozen=True)
class Param:
    """A scalar activation parameter with its valid range."""

    name: str
    valid: str
    ok: Callable[[float], bool]
    default: float | None = None
    assumptions: dict = field(default_factory=lambda: {"real": True})

    @cached_property
    def symbol(self) -> sp.Symbol:
        return sp.Symbol(self.name, **self.assumptions)


TAU = Param("tau", "a finite number >= 0", lambda v: 0.0 <= v < math.inf,
            assumptions={"nonnegative": True})
M = Param("m", "a finite number > 0", lambda v: 0.0 < v < math.inf,
          assumptions={"positive": True})
C = Param("c", "a finite number > 0", lambda v: 0.0 < v < math.inf,
          assumptions={"positive": True})
SLOPE = Param("slope", "a number in [0, 1]", lambda v: 0.0 <= v <= 1.0, default=0.01)


@dataclass(frozen=True, eq=False)
class Family:
    """One activation definition, parametrised by ``params``.

    ``breaks(*syms)`` returns the breakpoints, ``pieces(x, *syms)`` the expressions on
    the ``len(breaks) + 1`` intervals (each piece holds on ``[b_{k-1}, b_k)``).
    """

    name: str
    params: tuple[Param, ...]
    breaks: Callable[..., Sequence[sp.Expr]]
    pieces: Callable[..., Sequence[sp.Expr]]
    description: str

    # --- symbolic forms -------------------------------------------------------------
    @cached_property
    def symbols(self) -> tuple[sp.Symbol, ...]:
        return tuple(p.symbol for p in self.params)

    @cached_property
    def breaks_sym(self) -> tuple[sp.Expr, ...]:
        return tuple(sp.sympify(b) for b in self.breaks(*self.symbols))

    def pieces_sym(self, order: int = 0) -> tuple[sp.Expr, ...]:
        """Pieces of ``d^order phi / dx^order`` (classical derivative inside each interval)."""
        pieces = tuple(sp.sympify(p) for p in self.pieces(X, *self.symbols))
        if len(pieces) != len(self.breaks_sym) + 1:
            raise ValueError(f"{self.name}: need len(breaks) + 1 pieces")
        return tuple(sp.diff(p, X, order) for p in pieces)

    def expr(self, order: int = 0) -> sp.Expr:
        """The sympy ``Piecewise`` of ``phi`` (or of its classical derivative)."""
        pieces = self.pieces_sym(order)
        conds = [(p, X < b) for p, b in zip(pieces, self.breaks_sym)]
        return sp.Piecewise(*conds, (pieces[-1], True))

    @cached_property
    def kink_jumps_sym(self) -> tuple[sp.Expr, ...]:
        """Jump of ``phi'`` at each breakpoint: the weight of ``delta(x - b)`` in ``phi''``."""
        d1 = self.pieces_sym(1)
        return tuple(sp.simplify(d1[k + 1].subs(X, b) - d1[k].subs(X, b))
                     for k, b in enumerate(self.breaks_sym))

    @cached_property
    def value_jumps_sym(self) -> tuple[sp.Expr, ...]:
        """Jump of ``phi`` at each breakpoint (all catalogue activations are continuous)."""
        d0 = self.pieces_sym(0)
        return tuple(sp.simplify(d0[k + 1].subs(X, b) - d0[k].subs(X, b))
                     for k, b in enumerate(self.breaks_sym))

    @cached_property
    def is_piecewise_linear(self) -> bool:
        return all(sp.Poly(p, X).degree() <= 1 if p.is_polynomial(X) else False
                   for p in self.pieces_sym(0))

    @cached_property
    def zero_pieces(self) -> tuple[bool, ...]:
        """Which pieces are identically zero (exact sparsity comes from these)."""
        return tuple(sp.simplify(p) == 0 for p in self.pieces_sym(0))

    @cached_property
    def parity(self) -> int:
        """+1 if ``phi`` is even, -1 if odd, 0 otherwise (proved symbolically)."""
        b = self.breaks_sym
        if any(sp.simplify(b[k] + b[-1 - k]) != 0 for k in range(len(b))):
            return 0
        pieces = self.pieces_sym(0)
        for sign in (1, -1):
            if all(sp.simplify(p.subs(X, -X) - sign * q) == 0
                   for p, q in zip(pieces, reversed(pieces))):
                return sign
        return 0

    # --- numeric callables, parameters as trailing arguments --------------------------
    def _lambdify(self, exprs, modules):
        return [sp.lambdify((X, *self.symbols), e, modules=modules) for e in exprs]

    @cached_property
    def _np_pieces(self) -> dict[int, list[Callable]]:
        return {k: self._lambdify(self.pieces_sym(k), ["scipy", "numpy"]) for k in range(3)}

    @cached_property
    def _np_full(self) -> list[Callable]:
        return self._lambdify([self.expr(k) for k in range(3)], ["scipy", "numpy"])

    @cached_property
    def _np_breaks(self) -> Callable:
        return sp.lambdify(self.symbols, list(self.breaks_sym), modules="numpy")

    @cached_property
    def _np_kink_jumps(self) -> Callable:
        return sp.lambdify(self.symbols, list(self.kink_jumps_sym), modules="numpy")

    @cached_property
    def _linear_coeffs(self) -> Callable:
        """``(slopes, intercepts)`` of each piece as numpy functions of the parameters."""
        pieces = self.pieces_sym(0)
        slopes = [sp.diff(p, X) for p in pieces]
        icpts = [sp.expand(p - s * X) for p, s in zip(pieces, slopes)]
        return sp.lambdify(self.symbols, [slopes, icpts], modules="numpy")

    def scalar_source(self, order: int = 0) -> Callable:
        """Pure-Python scalar function ``f(x, *params)`` using only ``math``.

        Written by sympy's code printer from :meth:`expr`; numba compiles it as it is.
        """
        if order not in (0, 1):
            raise ValueError("order must be 0 or 1")
        return self._lambdify([self.expr(order)], "math")[0]

    @lru_cache(maxsize=None)
    def torch_source(self, order: int = 0) -> Callable:
        """Torch function ``f(x, *params)`` (parameters may be tensors that broadcast),
        printed by sympy from :meth:`expr`; torch is imported only when this is called."""
        ops = {"sqrt": _sqrt_any, "lt": operator.lt, "le": operator.le, "gt": operator.gt,
               "ge": operator.ge}  # Python operators accept (number, tensor) in either order
        return sp.lambdify((X, *self.symbols), self.expr(order), modules=[ops, "torch"])

    def bind(self, **params: float) -> "Activation":
        """This family at numeric parameter values (validated)."""
        unknown = set(params) - {p.name for p in self.params}
        if unknown:
            raise ParameterError(sorted(unknown)[0], params[sorted(unknown)[0]],
                                 f"one of {[p.name for p in self.params]} for {self.name}")
        values = []
        for p in self.params:
            v = params.get(p.name, p.default)
            if v is None:
                raise ParameterError(p.name, None, f"given for {self.name}: {p.valid}")
            try:
                fv = float(v)
            except (TypeError, ValueError):
                raise ParameterError(p.name, v, p.valid) from None
            if math.isnan(fv) or not p.ok(fv):
                raise ParameterError(p.name, v, p.valid)
            values.append(fv)
        return Activation(self, tuple(values))


@dataclass(frozen=True)
class Activation:
    """A catalogue family at fixed parameter values: numeric evaluation and structure."""

    family: Family
    values: tuple[float, ...]

    @property
    def name(self) -> str:
        return self.family.name

    @property
    def params(self) -> dict[str, float]:
        return {p.name: v for p, v in zip(self.family.params, self.values)}

    def __call__(self, x):
        """``phi(x)`` elementwise on numpy arrays."""
        x = np.asarray(x, dtype=float)
        with np.errstate(over="ignore", invalid="ignore"):
            return self.family._np_full[0](x, *self.values) + np.zeros_like(x)

    def derivative(self, x, order: int = 1):
        """Classical derivative ``phi^(order)(x)``; right-continuous at breakpoints.

        The delta terms of ``phi''`` at kinks are *not* included: see :attr:`kinks`.
        """
        x = np.asarray(x, dtype=float)
        with np.errstate(over="ignore", invalid="ignore"):
            return self.family._np_full[order](x, *self.values) + np.zeros_like(x)

    def piece(self, k: int, order: int = 0) -> Callable:
        """Smooth function equal to ``phi^(order)`` on interval ``k`` (numpy)."""
        f, v = self.family._np_pieces[order][k], self.values

        def g(x):
            with np.errstate(over="ignore"):
                return f(x, *v) + 0.0 * x
        return g

    @cached_property
    def breakpoints(self) -> np.ndarray:
        return np.asarray(self.family._np_breaks(*self.values), dtype=float).reshape(-1)

    @cached_property
    def kinks(self) -> np.ndarray:
        """Jumps of ``phi'`` at :attr:`breakpoints` (weights of ``delta`` in ``phi''``)."""
        j = self.family._np_kink_jumps(*self.values)
        return np.asarray(j, dtype=float).reshape(-1)

    @property
    def is_piecewise_linear(self) -> bool:
        return self.family.is_piecewise_linear

    @cached_property
    def linear_coeffs(self) -> tuple[np.ndarray, np.ndarray]:
        """Slopes and intercepts of the pieces (piecewise-linear activations only)."""
        if not self.is_piecewise_linear:
            raise TypeError(f"{self.name} is not piecewise linear")
        a, c = self.family._linear_coeffs(*self.values)
        return np.asarray(a, float), np.asarray(c, float)

    def sympy(self) -> sp.Expr:
        """The ``Piecewise`` expression with the parameters substituted."""
        return self.family.expr(0).subs(dict(zip(self.family.symbols, self.values)))

    def torch_fn(self, order: int = 0) -> Callable:
        """``phi`` (or ``phi'``) as a torch function of one tensor, parameters bound."""
        f, v = self.family.torch_source(order), self.values
        return lambda x: f(x, *v)


def _sqrt_any(v):
    """``sqrt`` for torch code: tensors via ``v.sqrt()``, plain numbers via ``math``."""
    return v.sqrt() if hasattr(v, "sqrt") else math.sqrt(v)


def _gelu(x):
    return x * (1 + sp.erf(x / sp.sqrt(2))) / 2


CATALOGUE: dict[str, Family] = {}


def _define(name, params, breaks, pieces, description) -> None:
    CATALOGUE[name] = Family(name, tuple(params), breaks, pieces, description)


# [P24] sparsity-inducing activations (science.md section 2).
_define("relu", [], lambda: (0,), lambda x: (0, x), "max(0, x)")
_define("relu_tau", [TAU], lambda t: (t,), lambda x, t: (0, x - t),
        "shifted ReLU max(0, x - tau) [P24]")
_define("st", [TAU], lambda t: (-t, t), lambda x, t: (x + t, 0, x - t),
        "soft thresholding sign(x) max(|x| - tau, 0) [P24]")
_define("crelu", [TAU, M], lambda t, m: (t, t + m), lambda x, t, m: (0, x - t, m),
        "clipped shifted ReLU min(max(x - tau, 0), m) [P24]")
_define("cst", [TAU, M], lambda t, m: (-t - m, -t, t, t + m),
        lambda x, t, m: (-m, x + t, 0, x - t, m),
        "clipped soft thresholding sign(x) min(max(|x| - tau, 0), m) [P24]")
# [BF2] drift family and controls.
_define("gelu", [], lambda: (), lambda x: (_gelu(x),), "x Phi(x) (exact erf form)")
_define("silu", [], lambda: (), lambda x: (x / (1 + sp.exp(-x)),), "x sigmoid(x)")
_define("leaky_relu", [SLOPE], lambda a: (0,), lambda x, a: (a * x, x),
        "max(slope x, x)")
_define("sigmoid", [], lambda: (), lambda x: (1 / (1 + sp.exp(-x)),), "1 / (1 + e^-x)")
_define("tanh", [], lambda: (), lambda x: (sp.tanh(x),), "tanh(x) (control)")
_define("identity", [], lambda: (), lambda x: (x,), "x (control)")
_define("abs", [], lambda: (0,), lambda x: (-x, x), "|x| (control)")
_define("relu2", [], lambda: (0,), lambda x: (0, x**2), "relu(x)^2 (Primer)")
_define("crelu2", [C], lambda c: (0, sp.sqrt(c)), lambda x, c: (0, x**2, c),
        "min(relu(x)^2, c) (clipped ReLU^2 [BF2])")
_define("gelu2", [], lambda: (), lambda x: (_gelu(x) ** 2,), "GELU(x)^2 [BF2]")


def family(name: str) -> Family:
    """Look up a catalogue family by name."""
    try:
        return CATALOGUE[name]
    except KeyError:
        raise ParameterError("activation", name, f"one of {sorted(CATALOGUE)}") from None


def get(name: str, **params: float) -> Activation:
    """Catalogue activation ``name`` bound to ``params`` (validated)."""
    return family(name).bind(**params)
