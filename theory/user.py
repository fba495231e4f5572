"""User-defined activations: from breakpoints and pieces, or from one expression.

* :func:`from_pieces` -- breakpoints and one sympy expression per interval (the
  catalogue's own :func:`sparsefield.theory.activations.define`, bound to values).
* :func:`from_expression` -- one expression in ``x`` with ``Piecewise``, ``Max``,
  ``Min``, ``Abs``, ``Heaviside``, ``sign``; its breakpoints (kinks and jumps) are found
  automatically: the expression is rewritten as one ``Piecewise``, every boundary of a
  condition is a candidate breakpoint, each interval gets the branch valid inside it, and
  breakpoints where neighbouring pieces are the same expression are dropped.

The CLI form ``--activation 'expr:Min(Max(x - 1, 0), 2)'`` and every text handed to
these functions (an expression, a piece, a breakpoint) is parsed with the restricted
grammar of :mod:`sparsefield.theory.grammar` (no ``eval``, bounded sizes); other inputs
must be sympy objects or numbers (:func:`~sparsefield.theory.grammar.to_sympy`): nothing
a caller passes reaches ``sympify``.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import sympy as sp

from .activations import Activation, Param, X, define
from .errors import ParameterError
from .grammar import FUNCTIONS, SYNTAX, parse, to_sympy  # noqa: F401  (re-exported)


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


def _log_abs(piece: sp.Expr, x: int) -> float:
    """``log |piece(x)|`` to double precision (``-inf`` at a zero), evaluated in
    arbitrary precision so that ``exp(x**2)`` at ``x = 1e6`` does not overflow."""
    v = piece.subs(X, sp.Integer(x))
    try:
        mag = sp.Abs(sp.N(v, 20))
        return -np.inf if mag == 0 else float(sp.N(sp.log(mag), 20))
    except (TypeError, ValueError, OverflowError):
        return np.inf


_EXPS = (sp.exp, sp.sinh, sp.cosh)


def _check_growth(piece: sp.Expr, side: int, label: str) -> None:
    """Refuse an outer piece growing like ``exp(c x^2)`` (``c > 0``) or faster: then
    ``E[phi(sqrt(q) z)^2]`` diverges for ``q >= 1/(4c)`` and there is no variance map
    (docs/theory.md, section 8.1).  Detected from ``r(x) = log|phi(x)| / x^2`` at ``|x| = 1e2 ... 1e6``:
    Gaussian growth keeps ``r`` level, anything slower (``exp(|x|^a)``, ``a < 2``,
    polynomials) makes it fall by orders of magnitude; ``r > 100`` anywhere is faster than
    Gaussian already (and stops the evaluation before it explodes).  Nested exponentials
    are refused outright (their growth cannot be evaluated safely)."""
    def refuse(why: str):
        raise ParameterError("expression", label, f"an activation growing slower than "
                             f"exp(c x^2) for every c > 0 as x -> {'+' if side > 0 else '-'}inf "
                             f"({why}; else its Gaussian integrals diverge: no variance map)")
    if any(f.args[0].has(*_EXPS) for f in piece.atoms(*_EXPS)):
        refuse("nested exponentials")
    rs = []
    for k in range(2, 7):
        x = 10.0 ** k
        r = _log_abs(piece, side * 10 ** k) / (x * x)
        if r > 100:
            refuse(f"log|phi| / x^2 = {r:.3g} at x = {side * x:g}")
        rs.append(r)
    if rs[-1] > 1e-12 and rs[-1] >= 0.9 * rs[0]:
        refuse(f"log|phi| / x^2 stays near {rs[-1]:.3g}")


def from_expression(text: str | sp.Expr, name: str | None = None, **props) -> Activation:
    """An activation from one expression in ``x`` (text under the restricted grammar, or
    a sympy expression whose symbol is :data:`sparsefield.theory.activations.X` or any
    symbol named ``x``).  ``props`` are :class:`Family` properties (``label``, ...)."""
    if isinstance(text, str):
        expr, label = parse(text), text
    else:
        expr = to_sympy(text)
        if not isinstance(expr, sp.Expr):
            raise ParameterError("expression", str(expr)[:80], f"a number-valued expression: {SYNTAX}")
        label = str(expr)
        expr = expr.subs({s: X for s in expr.free_symbols if s.name == "x"})
    try:
        breaks, pieces = analyse(expr)
    except (TypeError, ValueError, KeyError, NotImplementedError, AttributeError) as e:
        if isinstance(e, ParameterError):
            raise
        raise ParameterError("expression", label, f"a form whose breakpoints sympy can find "
                             f"({type(e).__name__}: {e})") from None
    for piece, side in ((pieces[0], -1), (pieces[-1], 1)):
        _check_growth(piece, side, label)
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
    for k in params:
        if not (isinstance(k, str) and k.isidentifier() and k != "x"):
            raise ParameterError("params", k, "identifiers other than x as names")
    syms = {k: sp.Symbol(k, real=True) for k in params}
    if isinstance(pieces, (str, bytes)) or isinstance(breaks, (str, bytes)):
        raise ParameterError("pieces", str(pieces)[:80], "sequences of expressions")
    conv = [to_sympy(p, syms, "pieces") for p in pieces]
    bconv = [to_sympy(b, syms, "breaks") for b in breaks]
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
