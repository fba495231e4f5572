"""``sparsefield formula``: the exact expressions of :mod:`sparsefield.theory.symbolic`."""

from __future__ import annotations

import argparse
import math

from sparsefield.jsonout import dumps

PARAMS = ("tau", "m", "c", "slope")
LHS = {"Ephi": r"\mathrm{E}[\phi]", "Ephi2": r"\mathrm{E}[\phi^{2}]",
       "Edphi2": r"\mathrm{E}[\phi'^{2}]", "Ephidphi": r"\mathrm{E}[\phi\,\phi']",
       "Ephid2phi": r"\mathrm{E}[\phi\,\phi'']", "P0": r"P(\phi = 0)", "V": "V(q)",
       "dV": "V'(q)", "d2V": "V''(q)", "chi1": r"\chi_1(q)", "dV_eoc": r"V'(q^{*})",
       "Ephiphi": r"\mathrm{E}[\phi(u_1)\phi(u_2)]", "Edphidphi": r"\mathrm{E}[\phi'(u_1)\phi'(u_2)]",
       "R": r"R(\rho)", "dR": r"R'(\rho)",
       "sigma_w2": r"\sigma_w^{2}", "sigma_b2": r"\sigma_b^{2}"}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("formula", help="exact closed-form expressions (sympy) for "
                                       "piecewise-polynomial activations")
    p.add_argument("--activation", required=True)
    p.add_argument("--quantity", nargs="+", default=None,
                   help="V dV d2V chi1 EoC dV_eoc Ephi Ephi2 Edphi2 Ephidphi Ephid2phi P0 "
                        "Ephiphi Edphidphi R dR (default: all univariate ones)")
    for name in PARAMS:
        p.add_argument(f"--{name}", type=float, help=f"substitute {name}")
    for name in ("q", "q-star", "sigma-w2", "sigma-b2", "rho"):
        p.add_argument(f"--{name}", type=float, help=f"substitute {name.replace('-', '_')}")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--latex", action="store_true")
    g.add_argument("--json", action="store_true")
    p.set_defaults(func=_formula)


def _substitutions(args: argparse.Namespace, fam) -> dict:
    """Validated numbers to substitute, as exact rationals keyed by symbol."""
    import sympy as sp

    from sparsefield.theory import symbolic
    from sparsefield.theory.errors import ParameterError, check_nonnegative, check_positive, check_real

    names = {p.name for p in fam.params}
    given = {k: getattr(args, k) for k in PARAMS if getattr(args, k) is not None}
    for k in given:
        if k not in names:
            raise ParameterError(k, given[k], f"omitted: {fam.name} takes {sorted(names) or 'no parameters'}")
    for p in fam.params:
        if p.name in given and (math.isnan(given[p.name]) or not p.ok(given[p.name])):
            raise ParameterError(p.name, given[p.name], p.valid)
    subs = {s: given[s.name] for s in fam.symbols if s.name in given}
    checks = {"q": check_positive, "q_star": check_positive, "sigma_w2": check_positive,
              "sigma_b2": check_nonnegative,
              "rho": lambda n, v: check_real(n, v, "in the open interval (-1, 1)",
                                             lambda r: -1.0 < r < 1.0)}
    for name, check in checks.items():
        v = getattr(args, name)
        if v is not None:
            subs[symbolic.GLOBAL_SYMBOLS[name]] = check(name, v)
    return {s: sp.Rational(repr(float(v))) for s, v in subs.items()}


def _entry(expr, subs: dict, fam=None, quantity: str = "") -> dict:
    """Printed forms and, when nothing is left free, the value.  A one-dimensional integral
    is printed unsubstituted (sympy would evaluate it with mpmath just to order the terms)
    and its value comes from the generated scipy function."""
    import sympy as sp

    from sparsefield.theory import symbolic

    value = None
    if expr.has(sp.Integral):
        e = expr
        args = symbolic.arguments(fam, quantity)
        if all(a in subs or a not in expr.free_symbols for a in args):
            value = float(symbolic.lambdified(fam, quantity)(*(float(subs.get(a, 1)) for a in args)))
    else:
        e = expr.subs(subs) if subs else expr
        if not e.free_symbols:
            value = symbolic.value(e)
    value = value if value is not None and math.isfinite(value) else None
    return {"expr": str(e), "erf": str(e.rewrite(sp.erf)), "latex": symbolic.latex(e),
            "symbols": sorted(s.name for s in e.free_symbols), "value": value}


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _formula(args: argparse.Namespace) -> int:
    from sparsefield.theory import symbolic
    from sparsefield.theory.errors import InfeasibleError, ParameterError

    fam = symbolic.polynomial_family(args.activation)
    subs = _substitutions(args, fam)
    explicit = args.quantity is not None
    wanted = args.quantity or list(symbolic.UNIVARIATE)
    for q in wanted:
        if q not in symbolic.QUANTITIES:
            raise ParameterError("quantity", q, f"one of {list(symbolic.QUANTITIES)}")
    out = {}
    for q in wanted:
        try:
            expr = symbolic.formula(fam, q)
        except InfeasibleError:
            if explicit:
                raise
            continue
        if q == "EoC":
            out[q] = {"sigma_w2": _entry(expr[0], subs), "sigma_b2": _entry(expr[1], subs)}
        else:
            out[q] = _entry(expr, subs, fam, q)
    if args.json:
        print(dumps({"activation": fam.name, "substituted": {str(k): float(v) for k, v in subs.items()},
                          "definitions": symbolic.DEFINITIONS, "quantities": out}))
        return 0
    for q, entry in out.items():
        for name, e in (entry.items() if q == "EoC" else [(q, entry)]):
            if args.latex:
                print(f"{LHS[name]} = {e['latex']}")
            else:
                tail = "" if e["value"] is None or _is_number(e["expr"]) else f"   (= {e['value']:.16g})"
                print(f"{name} = {e['expr']}{tail}")
    if not args.latex:
        print("where " + "; ".join(symbolic.DEFINITIONS.values()))
    return 0
