"""The ``sparsefield`` command: a thin dispatcher over the packages.

Each subcommand lives in a small module exposing ``register(subparsers)``; the module
imports its heavy dependencies only when its command runs.
"""

from __future__ import annotations

import argparse
import importlib
import sys

COMMAND_MODULES = [
    "sparsefield.cmd_theory",
    "sparsefield.cmd_check",
    "sparsefield.cmd_sweep",
    "sparsefield.cmd_empirical",
    "sparsefield.cmd_report",
    "sparsefield.cmd_formula",
]


class CliError(Exception):
    """Bad input from the command line: reported as one line, exit status 2."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sparsefield",
        description="Mean-field theory of sparsity-inducing activations, verified.")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from sparsefield.theory.errors import InfeasibleError, ParameterError

    try:
        return int(args.func(args) or 0)
    except (ParameterError, InfeasibleError, CliError) as err:
        print(f"sparsefield {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
