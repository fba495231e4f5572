"""The ``sparsefield`` command: a thin dispatcher over the packages.

Each subcommand lives in a small module exposing ``register(subparsers)``; the module
imports its heavy dependencies only when its command runs, and :func:`main` registers only
the module of the command it was given (``sparsefield derive`` never builds the training
options).  Bad input (a parameter out of
range, an unusable path, a malformed file) ends with exit status 2 and one line on stderr
naming the parameter or path and what is valid.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import sys

# command -> the module registering it, in --help order (a test checks the modules agree)
COMMANDS = {
    "derive": "sparsefield.cmd_theory", "map": "sparsefield.cmd_theory",
    "drift": "sparsefield.cmd_theory",
    "check": "sparsefield.cmd_check",
    "sweep": "sparsefield.cmd_sweep",
    "train": "sparsefield.cmd_empirical", "experiment": "sparsefield.cmd_empirical",
    "figures": "sparsefield.cmd_report", "report": "sparsefield.cmd_report",
    "formula": "sparsefield.cmd_formula",
}
COMMAND_MODULES = list(dict.fromkeys(COMMANDS.values()))


class CliError(Exception):
    """Bad input from the command line: reported as one line, exit status 2."""


class Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose usage errors are one line (``--help`` shows the usage)."""

    def error(self, message: str):
        one = " ".join(message.split())
        self.exit(2, f"{self.prog}: error: {one} (see {self.prog} --help)\n")


@functools.lru_cache(maxsize=None)
def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The whole command line, or only the subcommands of ``command``'s module (built once
    per process and command: parsing does not change it)."""
    parser = Parser(
        prog="sparsefield",
        description="Mean-field theory of sparsity-inducing activations, verified.")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ([COMMANDS[command]] if command in COMMANDS else COMMAND_MODULES):
        importlib.import_module(name).register(sub)
    return parser


def _command(argv: list[str]) -> str | None:
    """The subcommand named by ``argv`` (its first word), or ``None`` (``--help``, a typo:
    the whole parser answers those)."""
    return argv[0] if argv and argv[0] in COMMANDS else None


def _input_errors() -> tuple[type, ...]:
    """The exceptions reported as bad input.  ``BadCheckpoint`` counts only once its module
    is loaded: before that nothing can have raised it (and ``derive`` need not import it)."""
    from sparsefield.theory.errors import InfeasibleError, ParameterError

    store = sys.modules.get("sparsefield.empirical.store")
    return (ParameterError, InfeasibleError, CliError) + ((store.BadCheckpoint,) if store else ())


def _os_error(err: OSError) -> str:
    """``PATH: reason`` of a failed file operation."""
    where = err.filename if err.filename is not None else ""
    if err.filename2 is not None:
        where = f"{where} -> {err.filename2}"
    reason = err.strerror or str(err)
    return f"cannot use {where}: {reason}" if where else f"file error: {reason}"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser(_command(argv)).parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except Exception as err:
        if isinstance(err, _input_errors()):
            message = str(err)
        elif isinstance(err, OSError):  # a path the command could not read or write
            message = _os_error(err)
        else:
            raise
    print(f"sparsefield {args.command}: error: " + " ".join(message.split()), file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
