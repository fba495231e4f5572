"""What an activation is: :class:`Param` (a parameter and its valid range), :class:`Family`
(one definition: breakpoints and one sympy expression per interval, and everything generated
from it -- ``Piecewise``, exact derivatives per piece, kink and value jumps, piecewise-linear
coefficients, parity, numpy / pure-Python / torch callables) and :class:`Activation` (a family
bound to parameter values).  The catalogue of definitions is :mod:`.activations`
(docs/theory.md section 2).
"""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING, Callable, Sequence

import numpy as np

from . import numeric_forms
from .errors import SCALE_RANGE, ParameterError, check_real, in_scale

if TYPE_CHECKING:
    import sympy as sp
else:  # sympy is imported only where the symbolic forms are needed (not for catalogue numerics)
    from ._lazy import sympy as sp


def _to_sympy(obj, names, where):
    from .grammar import to_sympy as convert
    return convert(obj, names, where)


def _tidy(e: sp.Expr) -> sp.Expr:
    """``e`` simplified: ``cancel`` (a canonical form) for a rational function of its
    symbols -- every piecewise-linear difference is one -- else ``sp.simplify``.  (Each
    ``simplify`` call imports ``sympy.physics.units``, a quarter of ``sparsefield
    derive``'s run time, so the piecewise-linear path avoids it.)"""
    e = sp.sympify(e)
    if e.is_rational_function():
        return sp.cancel(e)
    return sp.simplify(e)


@dataclass(frozen=True)
class Param:
    """A scalar activation parameter with its valid range."""

    name: str
    valid: str
    ok: Callable[[float], bool]
    default: float | None = None
    assumptions: dict = field(default_factory=lambda: {"real": True})
    typical: tuple[float, float] = (0.1, 2.0)  # range drawn by sparsefield.testing

    @cached_property
    def symbol(self) -> sp.Symbol:
        return sp.Symbol(self.name, **self.assumptions)


@dataclass(frozen=True)
class Strip:
    """``phi`` is analytic in ``|Im x| < d`` (``inf``: entire), with ``|phi(x + iy)|``
    growing at most like ``exp(growth y^2)`` there; in ``t`` (``x = c sinh t``, ``c <= 1``)
    the singularities lie at ``|Im t| >= d_t``.  Part of an activation's definition (its
    nearest singularity off the real axis): the strip rules of :mod:`.strip` need it."""

    d: float
    growth: float = 0.0
    d_t: float = math.pi / 2


@dataclass(frozen=True, eq=False)
class Family:
    """One activation definition, parametrised by ``params``.

    ``breaks(*syms)`` returns the breakpoints, ``pieces(x, *syms)`` the expressions on
    the ``len(breaks) + 1`` intervals (each piece holds on ``[b_{k-1}, b_k)``).

    Properties: ``clip`` names the parameter that sets the clipping magnitude (``None``
    for a fixed clip or none) and ``clipped`` says whether ``phi`` is bounded by a clip;
    ``threshold`` names the parameter that sets the exact-zero sparsity and ``sided``
    (1 or 2) whether the zero set is ``x < threshold`` or ``|x| <= threshold``;
    ``examples`` are parameter sets used by checks (the first is the default one);
    ``strip(*params)`` is the :class:`Strip` of analyticity of an entire-line-analytic
    ``phi`` (``None``: kinked, or not declared), which enables the strip rules;
    ``band(*params)`` the half-width ``d`` of a band ``|Im x| < d`` in which ``phi`` and
    ``phi'`` are analytic and grow at most like ``|x|`` while the sinh-mapped sector of the
    strip rules is not (GoLU: ``e^{-e^{-x}}`` explodes there): it enables the uniform
    rule of :mod:`.smooth_bivariate`.
    """

    name: str
    params: tuple[Param, ...]
    breaks: Callable[..., Sequence[sp.Expr]]
    pieces: Callable[..., Sequence[sp.Expr]]
    description: str
    label: str = ""
    color: str = "#333333"
    clipped: bool = False
    clip: str | None = None
    threshold: str | None = None
    sided: int = 0
    tags: frozenset = frozenset()
    examples: tuple[dict, ...] = ({},)
    strip: Callable[..., Strip] | None = None
    band: Callable[..., float] | None = None
    catalogue: bool = False  # defined in .activations: its generated forms are cached on disk

    @property
    def derivable(self) -> bool:
        """[P24] derivation applies: a threshold sets the sparsity, ``phi`` is piecewise
        linear and continuous (``theory.clipping.derive``)."""
        return (self.threshold is not None and self.is_piecewise_linear
                and not self.has_jumps)

    # --- symbolic forms (sympy) ------------------------------------------------------
    @cached_property
    def symbols(self) -> tuple[sp.Symbol, ...]:
        return tuple(p.symbol for p in self.params)

    @cached_property
    def breaks_sym(self) -> tuple[sp.Expr, ...]:
        names = {s.name: s for s in self.symbols}
        return tuple(_to_sympy(b, names, "breaks") for b in self.breaks(*self.symbols))

    def pieces_sym(self, order: int = 0) -> tuple[sp.Expr, ...]:
        """Pieces of ``d^order phi / dx^order`` (classical derivative inside each interval)."""
        x = x_symbol()
        names = {s.name: s for s in self.symbols}
        pieces = tuple(_to_sympy(p, names, "pieces") for p in self.pieces(x, *self.symbols))
        if len(pieces) != len(self.breaks_sym) + 1:
            raise ValueError(f"{self.name}: need len(breaks) + 1 pieces")
        return tuple(sp.diff(p, x, order) for p in pieces)

    def expr(self, order: int = 0) -> sp.Expr:
        """The sympy ``Piecewise`` of ``phi`` (or of its classical derivative)."""
        pieces = self.pieces_sym(order)
        conds = [(p, x_symbol() < b) for p, b in zip(pieces, self.breaks_sym)]
        return sp.Piecewise(*conds, (pieces[-1], True))

    @cached_property
    def kink_jumps_sym(self) -> tuple[sp.Expr, ...]:
        """Jump of ``phi'`` at each breakpoint: the weight of ``delta(x - b)`` in ``phi''``."""
        d1, x = self.pieces_sym(1), x_symbol()
        return tuple(_tidy(d1[k + 1].subs(x, b) - d1[k].subs(x, b))
                     for k, b in enumerate(self.breaks_sym))

    @cached_property
    def value_jumps_sym(self) -> tuple[sp.Expr, ...]:
        """Jump ``phi(b+) - phi(b-)`` at each breakpoint: the weight of ``delta(x - b)`` in
        ``phi'`` (non-zero for JumpReLU and the hard threshold)."""
        d0, x = self.pieces_sym(0), x_symbol()
        return tuple(_tidy(d0[k + 1].subs(x, b) - d0[k].subs(x, b))
                     for k, b in enumerate(self.breaks_sym))

    def sym_is_piecewise_linear(self) -> bool:
        x = x_symbol()
        return all(sp.Poly(p, x).degree() <= 1 if p.is_polynomial(x) else False
                   for p in self.pieces_sym(0))

    def sym_zero_pieces(self) -> tuple[bool, ...]:
        return tuple(bool(_tidy(p) == 0) for p in self.pieces_sym(0))

    def sym_parity(self) -> int:
        b, x = self.breaks_sym, x_symbol()
        if any(sp.simplify(b[k] + b[-1 - k]) != 0 for k in range(len(b))):
            return 0
        pieces = self.pieces_sym(0)
        for sign in (1, -1):
            if all(sp.simplify(p.subs(x, -x) - sign * q) == 0
                   for p, q in zip(pieces, reversed(pieces))):
                return sign
        return 0

    def sym_lambdify(self, exprs, modules) -> list[Callable]:
        return [sp.lambdify((x_symbol(), *self.symbols), e, modules=modules) for e in exprs]

    def sym_linear_coeffs(self) -> Callable:
        x = x_symbol()
        pieces = self.pieces_sym(0)
        slopes = [sp.diff(p, x) for p in pieces]
        icpts = [sp.expand(p - s * x) for p, s in zip(pieces, slopes)]
        return sp.lambdify(self.symbols, [slopes, icpts], modules=["scipy", "numpy"])

    # --- generated numeric forms (numeric_forms: cached source, no sympy once cached) ----
    @cached_property
    def forms(self):
        return numeric_forms.forms(self)

    @cached_property
    def has_jumps(self) -> bool:
        """Whether ``phi`` itself may jump (some value jump is not identically zero)."""
        return self.forms.HAS_JUMPS

    @cached_property
    def is_piecewise_linear(self) -> bool:
        return self.forms.IS_PIECEWISE_LINEAR

    @cached_property
    def zero_pieces(self) -> tuple[bool, ...]:
        """Which pieces are identically zero (exact sparsity comes from these)."""
        return self.forms.ZERO_PIECES

    @cached_property
    def parity(self) -> int:
        """+1 if ``phi`` is even, -1 if odd, 0 otherwise (proved symbolically)."""
        return self.forms.PARITY

    @cached_property
    def np_pieces(self) -> dict[int, list[Callable]]:
        f = self.forms
        return {k: [getattr(f, f"PIECE_{k}_{i}") for i in range(f.N_PIECES)] for k in range(3)}

    @cached_property
    def _np_full(self) -> list[Callable]:
        return [getattr(self.forms, f"FULL_{k}") for k in range(3)]

    @cached_property
    def np_breaks(self) -> Callable:
        return self.forms.BREAKS

    @cached_property
    def _np_kink_jumps(self) -> Callable:
        return self.forms.KINK_JUMPS

    @cached_property
    def _np_value_jumps(self) -> Callable:
        return self.forms.VALUE_JUMPS

    @cached_property
    def linear_coeffs(self) -> Callable:
        """``(slopes, intercepts)`` of each piece as numpy functions of the parameters."""
        if not self.is_piecewise_linear:
            return self.sym_linear_coeffs()
        return self.forms.LINEAR_COEFFS

    def scalar_source(self, order: int = 0) -> Callable:
        """Pure-Python scalar function ``f(x, *params)`` using only ``math``.

        Written by sympy's code printer from :meth:`expr` (cached, :mod:`.numeric_forms`);
        numba compiles it as it is.
        """
        if order not in (0, 1):
            raise ValueError("order must be 0 or 1")
        return getattr(numeric_forms.scalar(self), f"SCALAR_{order}")

    @lru_cache(maxsize=None)
    def torch_source(self, order: int = 0) -> Callable:
        """Torch function ``f(x, *params)`` (parameters may be tensors that broadcast),
        printed by sympy from :meth:`expr`; torch is imported only when this is called."""
        ops = {"sqrt": _sqrt_any, "lt": operator.lt, "le": operator.le, "gt": operator.gt,
               "ge": operator.ge}  # Python operators accept (number, tensor) in either order
        return sp.lambdify((x_symbol(), *self.symbols), self.expr(order), modules=[ops, "torch"])

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
            fv = check_real(p.name, v, p.valid, p.ok)
            if not in_scale(fv):
                raise ParameterError(p.name, v, f"{p.valid}, {SCALE_RANGE}")
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
        f, v = self.family.np_pieces[order][k], self.values

        def g(x):
            with np.errstate(over="ignore"):
                return f(x, *v) + 0.0 * x
        return g

    @cached_property
    def breakpoints(self) -> np.ndarray:
        return np.asarray(self.family.np_breaks(*self.values), dtype=float).reshape(-1)

    @cached_property
    def kinks(self) -> np.ndarray:
        """Jumps of ``phi'`` at :attr:`breakpoints` (weights of ``delta`` in ``phi''``)."""
        j = self.family._np_kink_jumps(*self.values)
        return np.asarray(j, dtype=float).reshape(-1)

    @cached_property
    def jumps(self) -> np.ndarray:
        """Jumps of ``phi`` at :attr:`breakpoints` (weights of ``delta`` in ``phi'``)."""
        j = self.family._np_value_jumps(*self.values)
        return np.asarray(j, dtype=float).reshape(-1)

    @property
    def has_jumps(self) -> bool:
        """``phi`` is discontinuous: ``E[phi'^2]`` and ``chi_1`` are infinite
        (:mod:`sparsefield.theory.jumps`)."""
        return self.family.has_jumps and bool(np.any(self.jumps != 0.0))

    @property
    def is_piecewise_linear(self) -> bool:
        return self.family.is_piecewise_linear

    @cached_property
    def linear_coeffs(self) -> tuple[np.ndarray, np.ndarray]:
        """Slopes and intercepts of the pieces (piecewise-linear activations only)."""
        if not self.is_piecewise_linear:
            raise TypeError(f"{self.name} is not piecewise linear")
        a, c = self.family.linear_coeffs(*self.values)
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


def x_symbol():
    """The sympy symbol ``x`` of every definition (imported with sympy, on demand)."""
    from .grammar import X
    return X
