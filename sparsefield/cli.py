"""The ``sparsefield`` command: a thin dispatcher over the packages.

Each subcommand lives in a small module exposing ``register(subparsers)``; the module
imports its heavy dependencies only when its command runs.  Bad input (a parameter out of
range, an unusable path, a malformed file) ends with exit status 2 and one line on stderr
naming the parameter or path and what is valid.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import sys

from sparsefield.empirical.store import BadCheckpoint
from sparsefield.theory.errors import InfeasibleError, ParameterError

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


class Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose usage errors are one line (``--help`` shows the usage)."""

    def error(self, message: str):
        one = " ".join(message.split())
        self.exit(2, f"{self.prog}: error: {one} (see {self.prog} --help)\n")


@functools.lru_cache(maxsize=1)
def build_parser() -> argparse.ArgumentParser:
    """The whole command line (built once per process: parsing does not change it)."""
    parser = Parser(
        prog="sparsefield",
        description="Mean-field theory of sparsity-inducing activations, verified.")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def _os_error(err: OSError) -> str:
    """``PATH: reason`` of a failed file operation."""
    where = err.filename if err.filename is not None else ""
    if err.filename2 is not None:
        where = f"{where} -> {err.filename2}"
    reason = err.strerror or str(err)
    return f"cannot use {where}: {reason}" if where else f"file error: {reason}"


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (ParameterError, InfeasibleError, CliError, BadCheckpoint) as err:
        message = str(err)
    except OSError as err:  # a path the command could not read or write
        message = _os_error(err)
    print(f"sparsefield {args.command}: error: " + " ".join(message.split()), file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
