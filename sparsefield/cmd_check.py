"""``sparsefield check``: the verification matrix of :mod:`sparsefield.numerics.check` as a table."""

from __future__ import annotations

import argparse
import math

from sparsefield.empirical.store import versions
from sparsefield.jsonout import dumps
from sparsefield.results.names import MAX_ABS_Z
from sparsefield.theory.errors import ParameterError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("check", help="verify the theory: closed form / quadrature / Monte "
                                     "Carlo / finite width / drift (exit 1 on any failure)")
    p.add_argument("--quick", action="store_true", help="smaller matrix (well under a minute)")
    p.add_argument("--json", action="store_true", help="rows, summary and versions as JSON")
    p.add_argument("--seed", type=int, default=0, help="master seed (integer >= 0, default 0)")
    p.add_argument("--activation", nargs="+", action="extend", default=None, metavar="SPEC",
                   help="restrict the matrix to these activations: a catalogue name (the [P24] "
                        "ones at their derived edge of chaos) or a spec such as crelu2:c=4; "
                        "--activation A B or repeated --activation A --activation B")
    p.set_defaults(func=_check)


def _num(v, width: int) -> str:
    if v is None:
        return f"{'-':>{width}}"
    if isinstance(v, float) and not math.isfinite(v):
        return f"{v!s:>{width}}"
    return f"{v:>{width}.6g}" if abs(v) >= 1e-4 or v == 0 else f"{v:>{width}.3e}"


def _table(rows) -> str:
    wa = max(len("activation"), *(len(r.activation) for r in rows))
    wq = max(len("quantity"), *(len(r.quantity) for r in rows))
    wm = max(len("method"), *(len(r.method) for r in rows))
    head = (f"{'activation':<{wa}}  {'quantity':<{wq}}  {'method':<{wm}}  {'theory':>12}  "
            f"{'estimate':>12}  {'stderr':>10}  {'z':>8}  verdict")
    lines = [head, "-" * len(head)]
    for r in rows:
        verdict = "pass" if r.passed else "FAIL"
        lines.append(f"{r.activation:<{wa}}  {r.quantity:<{wq}}  {r.method:<{wm}}  "
                     f"{_num(r.theory, 12)}  {_num(r.estimate, 12)}  {_num(r.stderr, 10)}  "
                     f"{'-' if r.z is None else format(r.z, '.2f'):>8}  {verdict}"
                     + (f"  ({r.note})" if r.note else ""))
    return "\n".join(lines)


def _check(args: argparse.Namespace) -> int:
    if args.seed < 0:
        raise ParameterError("seed", args.seed, "an integer >= 0")
    # numba/scipy only when the check runs: the CLI imports this module for its parser
    from sparsefield.numerics import check

    specs = list(dict.fromkeys(args.activation)) if args.activation else None
    if specs:
        check.setups(specs)  # bad specs: exit 2 before any work
    rows = check.run(quick=args.quick, seed=args.seed, progress=not args.json, activations=specs)
    summary = check.summary(rows)
    if args.json:
        print(dumps({"config": {"quick": args.quick, "seed": args.seed,
                                     "activations": specs,
                                     "z_bound": check.Z_BOUND},
                          "versions": versions(), "summary": summary,
                          "rows": [r.to_dict() for r in rows]}))
    else:
        print(_table(rows))
        print(f"\n{summary['rows']} checks, {summary['failed']} failed "
              f"(|z| < {check.Z_BOUND:g} passes; max |z| {summary[MAX_ABS_Z]:.2f})")
    return 1 if summary["failed"] else 0
