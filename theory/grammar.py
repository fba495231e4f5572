"""The one parser of user text into sympy: a restricted grammar, no ``eval``.

Numbers, ``x`` (and named parameters), ``pi``, ``E``, ``+ - * / **``, the comparisons
``< <= > >=``, tuples (for ``Piecewise((x, x > 0), (0, True))``) and the functions in
:data:`FUNCTIONS`.  No attribute access, no builtins, no keywords.  Sizes are bounded
before sympy sees them, since sympy evaluates integer arithmetic eagerly
(``9**9**9**9`` would never finish): at most :data:`MAX_LENGTH` characters,
:data:`MAX_NODES` syntax nodes nested at most :data:`MAX_DEPTH` deep, integer literals of
at most :data:`MAX_DIGITS` digits, and a numeric power only when its value has at most
:data:`MAX_DIGITS` digits and its exponent at most :data:`MAX_EXPONENT` in size.

:func:`to_sympy` is the entry point for anything a caller hands over: text goes through
this grammar, sympy objects and plain numbers are taken as they are, everything else is a
:class:`ParameterError` -- nothing reaches ``sympify``, which evaluates Python.
"""

from __future__ import annotations

import ast
import math
from numbers import Real
from typing import Mapping

import sympy as sp

from .errors import ParameterError

X = sp.Symbol("x", real=True)
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
MAX_NODES = 400
MAX_DEPTH = 40
MAX_DIGITS = 60
MAX_EXPONENT = 64
_CMPS = {ast.Lt: sp.Lt, ast.LtE: sp.Le, ast.Gt: sp.Gt, ast.GtE: sp.Ge}


def _digits(v: sp.Expr) -> float:
    """Decimal digits of a number's magnitude (0 for non-numbers and |v| <= 1)."""
    if not v.is_number or v.is_zero:
        return 0.0
    try:
        mag = abs(complex(sp.N(v, 5)))
    except (TypeError, ValueError, OverflowError):
        return math.inf
    return max(math.log10(mag), 0.0) if mag > 0 else 0.0


def _power(text: str, base, exp):
    """``base ** exp`` when it stays small (module docstring), else refused."""
    if isinstance(base, tuple) or isinstance(exp, tuple):
        raise ParameterError("expression", text, f"{SYNTAX}; a tuple cannot be raised to a power")
    if exp.is_number:
        try:
            e = abs(float(exp))
        except (TypeError, ValueError):
            e = math.inf
        size = e * max(_digits(base), _digits(1 / base) if base.is_number and not base.is_zero
                       else 0.0)
        if e > MAX_EXPONENT or size > MAX_DIGITS:
            raise ParameterError("expression", text, f"numeric powers with exponents of at most "
                                 f"{MAX_EXPONENT} and values of at most {MAX_DIGITS} digits")
    elif base.is_number and _digits(base) > 1:
        raise ParameterError("expression", text, "a power with a symbolic exponent only of a "
                             "base of at most 10 in size")
    return sp.Pow(base, exp)


def _binop(text: str, op, a, b):
    if isinstance(a, tuple) or isinstance(b, tuple):
        raise ParameterError("expression", text, f"{SYNTAX}; arithmetic on a tuple is not allowed")
    if isinstance(op, ast.Pow):
        return _power(text, a, b)
    if isinstance(op, ast.Add):
        return a + b
    if isinstance(op, ast.Sub):
        return a - b
    if isinstance(op, ast.Mult):
        out = a * b
    else:
        out = a / b
    if _digits(out) > 2 * MAX_DIGITS:
        raise ParameterError("expression", text, f"numbers of at most {2 * MAX_DIGITS} digits")
    return out


def parse(text: str, names: Mapping[str, sp.Symbol] | None = None) -> sp.Expr:
    """Text to a sympy expression under the restricted grammar of the module docstring;
    ``names`` maps extra symbol names (parameters) to symbols."""
    if not isinstance(text, str) or not text.strip():
        raise ParameterError("expression", text, SYNTAX)
    if len(text) > MAX_LENGTH:
        raise ParameterError("expression", text[:40] + "...", f"at most {MAX_LENGTH} characters")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except (SyntaxError, RecursionError, MemoryError, ValueError) as e:
        why = getattr(e, "msg", None) or type(e).__name__
        raise ParameterError("expression", text, f"valid syntax ({why}): {SYNTAX}") from None
    if sum(1 for _ in ast.walk(tree)) > MAX_NODES:
        raise ParameterError("expression", text[:40] + "...", f"at most {MAX_NODES} syntax nodes")
    symbols = {"x": X, **(names or {})}

    def refuse(node, what: str):
        raise ParameterError("expression", text, f"{SYNTAX}; {what} is not allowed")

    def build(node, depth: int = 0):
        if depth > MAX_DEPTH:
            raise ParameterError("expression", text[:40] + "...", f"nested at most {MAX_DEPTH} deep")
        d = depth + 1
        if isinstance(node, ast.Expression):
            return build(node.body, d)
        if isinstance(node, ast.Constant):
            v = node.value
            if isinstance(v, bool):
                return sp.true if v else sp.false
            if isinstance(v, int):
                if len(str(abs(v))) > MAX_DIGITS:
                    refuse(node, f"an integer of more than {MAX_DIGITS} digits")
                return sp.Integer(v)
            if isinstance(v, float):
                if not math.isfinite(v):
                    refuse(node, f"the number {v!r}")
                return sp.nsimplify(v) if abs(v) < 1e15 else sp.Float(v)
            return refuse(node, f"the constant {v!r}")
        if isinstance(node, ast.Name):
            if node.id in symbols:
                return symbols[node.id]
            if node.id in CONSTANTS:
                return CONSTANTS[node.id]
            return refuse(node, f"the name {node.id!r}")
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub, ast.Mult,
                                                               ast.Div, ast.Pow)):
            return _binop(text, node.op, build(node.left, d), build(node.right, d))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            v = build(node.operand, d)
            if isinstance(v, tuple):
                refuse(node, "a sign on a tuple")
            return -v if isinstance(node.op, ast.USub) else v
        if isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in _CMPS:
            return _CMPS[type(node.ops[0])](build(node.left, d), build(node.comparators[0], d))
        if isinstance(node, ast.Tuple):
            return tuple(build(e, d) for e in node.elts)
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
                return refuse(node, f"the call {ast.unparse(node.func)}(...)")
            if node.keywords:
                return refuse(node, "a keyword argument")
            return FUNCTIONS[node.func.id](*(build(a, d) for a in node.args))
        if isinstance(node, ast.Attribute):
            return refuse(node, "attribute access")
        return refuse(node, f"'{ast.unparse(node)}' ({type(node).__name__})")

    try:
        expr = build(tree)
    except ParameterError:
        raise
    except (TypeError, ValueError, AttributeError, IndexError, RecursionError,
            sp.SympifyError) as e:
        raise ParameterError("expression", text, f"{SYNTAX} ({type(e).__name__})") from None
    if isinstance(expr, tuple) or not isinstance(expr, sp.Expr):
        raise ParameterError("expression", text, f"a number-valued expression: {SYNTAX}")
    if expr.has(sp.zoo, sp.oo, -sp.oo, sp.nan):
        raise ParameterError("expression", text, "finite (it contains a division by zero or "
                             "an infinity)")
    return expr


def to_sympy(obj, names: Mapping[str, sp.Symbol] | None = None,
             param: str = "expression") -> sp.Basic:
    """``obj`` as a sympy object without evaluating code: text through :func:`parse`, a
    sympy object as it is, a finite real number (not a bool) as a sympy number;
    :class:`ParameterError` naming ``param`` for anything else."""
    if isinstance(obj, str):
        return parse(obj, names)
    if isinstance(obj, sp.Basic):
        return obj
    if isinstance(obj, Real) and not isinstance(obj, bool):
        if isinstance(obj, int):
            if len(str(abs(int(obj)))) > MAX_DIGITS:
                raise ParameterError(param, "<integer>", f"at most {MAX_DIGITS} digits")
            return sp.Integer(int(obj))
        v = float(obj)
        if math.isfinite(v):
            return sp.Float(v)
    raise ParameterError(param, repr(obj)[:80], "text in the restricted grammar "
                         f"({SYNTAX}), a sympy expression or a finite real number")
