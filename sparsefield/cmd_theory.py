"""``sparsefield derive | map | drift``: the theory package on the command line."""

from __future__ import annotations

import argparse
import math
import sys

from sparsefield import cmd_finite_width
from sparsefield.jsonout import dumps
from sparsefield.theory.errors import ParameterError

# The activations ``derive`` has closed forms for, spelled out so that building the parser
# imports no sympy or scipy (theory.clipping would); a test checks them against
# theory.clipping.  Any other activation spec is derived numerically (theory.derive_any).
DERIVE_ACTIVATIONS = ("crelu", "cst", "relu_tau", "st")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("derive", help="edge-of-chaos initialisation of any activation (tau, m "
                       "for a target sparsity)")
    p.add_argument("--activation", required=True,
                   help=f"{', '.join(DERIVE_ACTIVATIONS)} (closed forms, [P24]) or any spec "
                        f"({SPEC_HELP}, or expr:EXPRESSION, e.g. 'expr:Max(x - 1, 0)')")
    p.add_argument("--sparsity", type=float,
                   help="target exact-zero fraction in (0,1): required for the [P24] families; "
                        "for another activation with a zero region and a parameter tau, tau "
                        "is solved for it")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--vprime", type=float, help="target V'(q*) in (0,1) (clipped only; default 0.5)")
    g.add_argument("--m", type=float, help="clipping magnitude m > 0 (clipped only)")
    p.add_argument("--q-star", type=float, default=1.0, help="fixed point q* > 0 (default 1)")
    cmd_finite_width.add_arguments(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_derive)

    p = sub.add_parser("map", help="V, V', V'', chi_1 (and R, R') for any catalogue activation")
    p.add_argument("--activation", required=True,
                   help=f"an activation spec ({SPEC_HELP}) or a gated unit a(g) c(u), one of "
                        f"{', '.join(GATED_UNITS)} (theory.gated: its factorised maps)")
    for name in ACT_FLAGS:
        p.add_argument(f"--{name}", type=float, help=f"the activation's {name} (or in the spec)")
    p.add_argument("--sigma-w2", type=float, required=True)
    p.add_argument("--sigma-b2", type=float, required=True)
    p.add_argument("--q", type=float, required=True)
    p.add_argument("--rho", type=float)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_map)

    p = sub.add_parser("drift", help="expected-gradient statistics and predicted drift sign [BF2]")
    p.add_argument("--activation", nargs="+", action="extend", default=None, metavar="SPEC",
                   help=f"activation specs ({SPEC_HELP}); --activation A B or repeated "
                        "--activation A --activation B (default: every activation without "
                        "required parameters)")
    p.add_argument("--q", type=float, default=1.0)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_drift)


SPEC_HELP = "name or name:k=v,k=v, e.g. crelu2:c=4 or crelu:tau=1,m=2"
ACT_FLAGS = ("alpha", "beta", "c", "m", "slope", "tau", "theta")  # = activations.PARAM_NAMES (a test checks)
GATED_UNITS = ("drelu", "geglu", "reglu", "swiglu")  # = sorted(gated.GATED) (a test checks)


def activation_specs(specs: list[str]) -> dict:
    """``{spec: Activation}`` for a list of specs (:func:`sparsefield.theory.spec.parse`),
    in order, repeated specs once."""
    from sparsefield.theory.spec import parse

    return {s: parse(s) for s in dict.fromkeys(specs)}


def _fmt(v) -> str:
    if v is None:
        return "-"
    return f"{v:.10g}" if isinstance(v, float) else str(v)


def _table(rows: list[tuple[str, object]]) -> str:
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{width}}  {_fmt(v)}" for k, v in rows)


def _derive(args: argparse.Namespace) -> int:
    from sparsefield.theory.derive_any import derive

    fw = cmd_finite_width.wanted(args)
    d = derive(args.activation, args.sparsity, vprime=args.vprime, m=args.m, q_star=args.q_star,
               emit=False)  # the warnings are printed below
    out = d.to_dict()
    if fw:
        out["finite_width"], line = cmd_finite_width.section(d, args.width, args.depth)
        if line:
            print(f"warning: {line}", file=sys.stderr)
    if args.json:
        print(dumps(out))
        return 0
    rows = [(k, out[k]) for k in ("activation", "sparsity", "q_star", "tau", "m", "sigma_w2",
                                  "sigma_b2", "chi1", "vprime", "vsecond")]
    rows += [(f"fixed point {i}", f"q={f['q']:.10g}  V'={f['slope']:.6g}  {f['stability']}")
             for i, f in enumerate(out["fixed_points"])]
    if out["critical_m"]:
        rows += [(f"critical m ({k})", v) for k, v in out["critical_m"].items()]
    rows += [(k, v) for k, v in out["depth_scales"].items()]
    rows += cmd_finite_width.rows(out["finite_width"]) if fw else []
    print(_table(rows))
    for w in out["warnings"]:
        print(f"warning: {w}")
    return 0


def _mean_field(args: argparse.Namespace):
    """The maps of ``--activation``: a gated unit's factorised ones, or one activation's."""
    from sparsefield.theory.maps import MeanField

    given = [k for k in ACT_FLAGS if getattr(args, k) is not None]
    if args.activation.strip() in GATED_UNITS:
        from sparsefield.theory.gated import GatedMeanField, gated

        if given:
            raise ParameterError(given[0], getattr(args, given[0]), "not given for the gated "
                                 f"unit {args.activation.strip()} (its factors are fixed)")
        return GatedMeanField(gated(args.activation.strip()), args.sigma_w2, args.sigma_b2)
    from sparsefield.theory.spec import parse

    flags = ",".join(f"{k}={getattr(args, k)!r}" for k in given)
    spec = args.activation if not flags else (  # --tau 1 etc. join the spec's parameters
        args.activation + ("," if ":" in args.activation else ":") + flags)
    return MeanField(parse(spec), args.sigma_w2, args.sigma_b2)


def _map(args: argparse.Namespace) -> int:
    from sparsefield.theory.errors import check_variance
    from sparsefield.theory.jumps import chi1_reason
    from sparsefield.theory.maps import FixedPoint

    check_variance("q", args.q)
    mf = _mean_field(args)
    out = {"V": float(mf.V(args.q)), "dV": float(mf.dV(args.q)), "d2V": float(mf.d2V(args.q)),
           "chi1": float(mf.chi1(args.q))}
    if args.rho is not None:
        if math.isnan(args.rho) or not -1.0 <= args.rho <= 1.0:
            raise ParameterError("rho", args.rho, "in [-1, 1]")
        out.update(R=float(mf.R(args.rho, args.q)), dR=float(mf.dR(args.rho, args.q)))
    if abs(out["V"] - args.q) <= 1e-9 * args.q:  # e.g. SELU's self-normalising q* = 1
        out["fixed_point"] = f"V(q) = q: {FixedPoint(args.q, out['dV']).stability}"
    if getattr(mf.act, "has_jumps", False):  # chi1 (and R'(1)) infinite: say so, why
        out = {k: "inf" if v == math.inf else v for k, v in out.items()}
        out["chi1_reason"] = chi1_reason(mf.act)
    print(dumps(out) if args.json else _table(list(out.items())))
    return 0


def _drift(args: argparse.Namespace) -> int:
    from sparsefield.theory.activations import CATALOGUE
    from sparsefield.theory.drift import drift_stats

    specs = args.activation or [n for n, f in CATALOGUE.items()
                                if all(p.default is not None for p in f.params)]
    out = {s: drift_stats(act, args.q) for s, act in activation_specs(specs).items()}
    if args.json:
        print(dumps(out))
        return 0
    keys = ["E_phi", "E_phi_dphi", "E_phi_dphi_pos", "E_phi_dphi_neg", "p_zero", "drift"]
    if any("E_phi_dphi_dist" in row for row in out.values()):  # jumping phi: both values
        keys.insert(2, "E_phi_dphi_dist")
    width = max(12, *(len(s) + 2 for s in out))
    print(f"{'activation':<{width}}" + "".join(f"{k:>16}" for k in keys))
    for n, row in out.items():
        print(f"{n:<{width}}" + "".join(f"{row[k]:>16.6g}" if isinstance(row.get(k), float)
                                        else f"{row.get(k, '-'):>16}" for k in keys))
    return 0
