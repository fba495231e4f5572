"""``sparsefield figures | report``: figures from stored results, and the main job."""

from __future__ import annotations

import argparse
import sys
import time

from sparsefield.empirical.places import check_device, check_out_dir, check_results_dir
from sparsefield.theory.errors import ParameterError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("figures", help="regenerate every figure from stored results",
                       description="Draw every figure (PNG + PDF) from the results under "
                                   "--results; figures whose results are absent are skipped.")
    p.add_argument("--results", default="results", help="results root (default results)")
    p.add_argument("--out", default="report/figures",
                   help="output folder (default report/figures)")
    p.add_argument("--only", nargs="+", metavar="NAME", help="draw only these figures")
    p.add_argument("--formats", nargs="+", default=["png", "pdf"], choices=["png", "pdf", "svg"])
    p.add_argument("--dpi", type=int, default=150, help="raster resolution (default 150)")
    p.add_argument("--no-progress", dest="progress", action="store_false")
    p.set_defaults(func=_figures)

    p = sub.add_parser("report", help="the main job: derive, verify, train small, draw, report",
                       description="Derive the default initialisation (crelu, 85% sparsity, "
                                   "V'(q*)=0.5), store theory curves, Monte Carlo checks and "
                                   "small experiments under OUT/results (resumable), draw the "
                                   "figures and write OUT/report.html.")
    p.add_argument("--quick", action="store_true", help="small sizes: a few minutes on 2 cores")
    p.add_argument("--tiny", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--device", default="auto", help="auto (CUDA when present), cpu, cuda, cuda:N")
    p.add_argument("--out", default="report", help="output folder (default report)")
    p.add_argument("--no-progress", dest="progress", action="store_false")
    p.set_defaults(func=_report)


def _figures(args: argparse.Namespace) -> int:
    # matplotlib and the theory when the command runs, not when the parser is built
    from sparsefield.figures.catalogue import FIGURES, make_all

    check_results_dir("results", args.results)  # absent: theory only
    check_out_dir("out", args.out)
    if not 1 <= args.dpi <= 2400:
        raise ParameterError("dpi", args.dpi, "an integer in [1, 2400]")
    names = [f.name for f in FIGURES]
    for name in args.only or []:
        if name not in names:
            raise ParameterError("only", name, f"figure names from {names}")
    made = make_all(args.results, args.out, args.only, args.progress, args.formats, args.dpi)
    for m in made:
        where = ", ".join(str(p) for p in m.paths) or "-"
        print(f"{m.name:<18} {where}")
        for n in m.notes:
            print(f"{'':<18} note: {n}")
    return 0


def _report(args: argparse.Namespace) -> int:
    # the whole stack when the command runs, not when the parser is built
    from sparsefield.report import run

    check_out_dir("out", args.out)
    check_device(args.device)
    size = "tiny" if args.tiny else ("quick" if args.quick else "full")
    t0 = time.perf_counter()
    path = run(args.out, size, device=args.device, progress=args.progress)
    print(f"report written to {path} ({time.perf_counter() - t0:.0f} s)", file=sys.stderr)
    print(path)
    return 0
