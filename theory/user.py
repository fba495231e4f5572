"""User-defined activations: from breakpoints and pieces, or from one expression.

* :func:`from_pieces` -- breakpoints and one sympy expression per interval (the
  catalogue's own :func:`sparsefield.theory.activations.define`, bound to values).
* :func:`from_expression` -- one expression in ``x`` with ``Piecewise``, ``Max``,
  ``Min``, ``Abs``, ``Heaviside``, ``sign``; its breakpoints (kinks and jumps) are found
  automatically: the expression is rewritten as one ``Piecewise``, every boundary of a
  condition is a candidate breakpoint, each interval gets the branch valid inside it, and
  breakpoints where neighbouring pieces are the same expression are dropped.

The CLI form ``--activation 'expr:Min(Max(x - 1, 0), 2)'`` is parsed here from text with
a restricted grammar (no ``eval``): numbers, ``x``, ``pi``, ``E``, ``+ - * / **``, the
comparisons ``< <= > >=``, tuples (for ``Piecewise((x, x > 0), (0, True))``) and the
functions in :data:`FUNCTIONS`.  No attribute access, no builtins, no keywords; anything
else is a :class:`ParameterError` naming what was refused.
"""

from __future__ import annotations

import ast
from typing import Mapping, Sequence

import numpy as np
import sympy as sp

from .activations import Activation, Param, X, define
from .errors import ParameterError

FUNCTIONS = {
    "Piecewise": sp.Piecewise, "Max": sp.Max, "Min": sp.Min, "Abs": sp.Abs,
    "Heaviside": sp.Heaviside, "sign": sp.sign, "exp": sp.exp, "log": sp.log,
    "sqrt": sp.sqrt, "erf": sp.erf, "erfc": sp.erfc, "tanh": sp.tanh, "sinh": sp.sinh,
    "cosh": sp.cosh, "sin": sp.sin, "cos": sp.cos, "atan": sp.atan, "And": sp.And,
    "Or": sp.Or,
}
CONSTANTS = {"pi": sp.pi, "E": sp.E, "True": sp.true, "False": sp.false}
SYNTAX = ("an expression in x with numbers, + - * / **, < <= > >=, pi, E and "
          f"{', '.join(FUNCTIONS)}")
MAX_LENGTH = 2000
_BINOPS = {ast.Add: sp.Add, ast.Sub: lambda a, b: a - b, ast.Mult: sp.Mul,
           ast.Div: lambda a, b: a / b, ast.Pow: sp.Pow}
_CMPS = {ast.Lt: sp.Lt, ast.LtE: sp.Le, ast.Gt: sp.Gt, ast.GtE: sp.Ge}


def parse(text: str, names: Mapping[str, sp.Symbol] | None = None) -> sp.Expr:
    """Text to a sympy expression under the restricted grammar of the module docstring;
    ``names`` maps extra symbol names (parameters) to symbols."""
    if not isinstance(text, str) or not text.strip():
        raise ParameterError("expression", text, SYNTAX)
    if len(text) > MAX_LENGTH:
        raise ParameterError("expression", text[:40] + "...", f"at most {MAX_LENGTH} characters")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as e:
        raise ParameterError("expression", text, f"valid syntax ({e.msg}): {SYNTAX}") from None
    symbols = {"x": X, **(names or {})}

    def refuse(node, what: str):
        raise ParameterError("expression", text, f"{SYNTAX}; {what} is not allowed")

    def build(node):
        if isinstance(node, ast.Expression):
            return build(node.body)
        if isinstance(node, ast.Constant):
            if isinstance(node.value, bool):
                return sp.true if node.value else sp.false
            if isinstance(node.value, (int, float)):
                return sp.nsimplify(node.value) if isinstance(node.value, float) \
                    else sp.Integer(node.value)
            return refuse(node, f"the constant {node.value!r}")
        if isinstance(node, ast.Name):
            if node.id in symbols:
                return symbols[node.id]
            if node.id in CONSTANTS:
                return CONSTANTS[node.id]
            return refuse(node, f"the name {node.id!r}")
        if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
            return _BINOPS[type(node.op)](build(node.left), build(node.right))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            v = build(node.operand)
            return -v if isinstance(node.op, ast.USub) else v
        if isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in _CMPS:
            return _CMPS[type(node.ops[0])](build(node.left), build(node.comparators[0]))
        if isinstance(node, ast.Tuple):
            return tuple(build(e) for e in node.elts)
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
                return refuse(node, f"the call {ast.unparse(node.func)}(...)")
            if node.keywords:
                return refuse(node, "a keyword argument")
            return FUNCTIONS[node.func.id](*(build(a) for a in node.args))
        if isinstance(node, ast.Attribute):
            return refuse(node, "attribute access")
        return refuse(node, f"'{ast.unparse(node)}' ({type(node).__name__})")

    try:
        expr = build(tree)
    except ParameterError:
        raise
    except (TypeError, ValueError, sp.SympifyError) as e:
        raise ParameterError("expression", text, f"{SYNTAX} ({e})") from None
    if isinstance(expr, tuple) or not isinstance(expr, sp.Expr):
        raise ParameterError("expression", text, f"a number-valued expression: {SYNTAX}")
    if expr.has(sp.zoo, sp.oo, -sp.oo, sp.nan):
        raise ParameterError("expression", text, "finite (it contains a division by zero or "
                             "an infinity)")
    return expr


def _boundaries(cond) -> set:
    """Real points where a relational condition (or a boolean of them) can change value."""
    out = set()
    for rel in cond.atoms(sp.Rel):
        if rel.has(sp.I):
            continue
        sols = sp.solveset(rel.lhs - rel.rhs, X, domain=sp.S.Reals)
        if not isinstance(sols, sp.FiniteSet):
            raise ParameterError("expression", str(rel), "conditions whose boundaries are "
                                 "finitely many points in x")
        out |= set(sols)
    return out


def analyse(expr: sp.Expr) -> tuple[list[sp.Expr], list[sp.Expr]]:
    """``(breakpoints, pieces)`` of an expression in ``x`` (module docstring)."""
    extra = expr.free_symbols - {X}
    if extra:
        raise ParameterError("expression", str(expr), f"an expression in x only (found "
                             f"{sorted(map(str, extra))})")
    pw = sp.piecewise_fold(expr.rewrite(sp.Piecewise))
    branches = pw.args if isinstance(pw, sp.Piecewise) else ((pw, sp.true),)
    breaks = set()
    for _, cond in branches:
        breaks |= _boundaries(cond)
    breaks = sorted(breaks, key=lambda b: float(b))
    if any(not b.is_finite for b in breaks):
        raise ParameterError("expression", str(expr), "finite breakpoints")
    edges = [None, *breaks, None]
    pieces = []
    for lo, hi in zip(edges[:-1], edges[1:]):
        t = (lo + hi) / 2 if lo is not None and hi is not None else \
            (hi - 1 if lo is None and hi is not None else (lo + 1 if lo is not None else 0))
        for e, cond in branches:
            if bool(cond.subs(X, t)):
                if e.has(sp.Piecewise, sp.Heaviside, sp.sign, sp.Max, sp.Min, sp.Abs):
                    raise ParameterError("expression", str(expr), "a form sympy can fold into "
                                         "one Piecewise")
                pieces.append(sp.simplify(e))
                break
        else:
            raise ParameterError("expression", str(expr), f"defined for every real x (not "
                                 f"near x = {t})")
    # drop breakpoints where nothing changes
    keep_b, keep_p = [], [pieces[0]]
    for b, p in zip(breaks, pieces[1:]):
        if sp.simplify(p - keep_p[-1]) == 0:
            continue
        keep_b.append(b)
        keep_p.append(p)
    return keep_b, keep_p


def from_expression(text: str | sp.Expr, name: str | None = None, **props) -> Activation:
    """An activation from one expression in ``x`` (text under the restricted grammar, or
    a sympy expression whose symbol is :data:`sparsefield.theory.activations.X` or any
    symbol named ``x``).  ``props`` are :class:`Family` properties (``label``, ...)."""
    if isinstance(text, str):
        expr, label = parse(text), text
    else:
        expr, label = sp.sympify(text), str(text)
        expr = expr.subs({s: X for s in expr.free_symbols if s.name == "x"})
    try:
        breaks, pieces = analyse(expr)
    except (TypeError, ValueError, KeyError, NotImplementedError, AttributeError) as e:
        if isinstance(e, ParameterError):
            raise
        raise ParameterError("expression", label, f"a form whose breakpoints sympy can find "
                             f"({type(e).__name__}: {e})") from None
    props.setdefault("label", label)
    fam = define(name or f"expr:{label}", [], lambda: tuple(breaks), lambda x: tuple(
        p.subs(X, x) for p in pieces), f"user expression {label}", **props)
    act = fam.bind()
    grid = np.concatenate([np.linspace(-8.0, 8.0, 161), act.breakpoints])
    with np.errstate(all="ignore"):
        bad = ~np.isfinite(act(grid))
    if np.any(bad):
        raise ParameterError("expression", label, f"real and finite for every real x (not at "
                             f"x = {grid[bad][0]:g})")
    return act


def from_pieces(name: str, breaks: Sequence, pieces: Sequence,
                params: Mapping[str, float] | None = None, **props) -> Activation:
    """An activation from breakpoints and pieces given as sympy expressions (or text)
    in ``x`` and the named parameters, bound to the values in ``params``."""
    params = dict(params or {})
    syms = {k: sp.Symbol(k, real=True) for k in params}
    conv = [parse(p, syms) if isinstance(p, str) else sp.sympify(p) for p in pieces]
    bconv = [parse(b, syms) if isinstance(b, str) else sp.sympify(b) for b in breaks]
    ps = [Param(k, "a finite real number", lambda v: abs(v) < float("inf")) for k in params]
    sub = {s: X for e in conv for s in e.free_symbols if s.name == "x" and s != X}
    conv = [e.subs(sub) for e in conv]
    order = [syms[k] for k in params]

    def pf(x, *vals):
        m = dict(zip(order, vals)) | {X: x}
        return tuple(e.subs(m, simultaneous=True) for e in conv)

    def bf(*vals):
        return tuple(b.subs(dict(zip(order, vals)), simultaneous=True) for b in bconv)
    props.setdefault("examples", [params])
    return define(name, ps, bf, pf, props.pop("description", f"user activation {name}"),
                  **props).bind(**params)
