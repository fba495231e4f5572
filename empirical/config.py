"""Run configurations as dataclasses and their validation (torch-free).

A config point (:class:`TrainConfig` as a dict) fully determines one training run up to
its seed; the result store keys results by it.  Experiments declare their own dataclass
(fields of the same name mean the same and share one range in :data:`RANGES`; a class's
``FREE_FIELDS`` are checked by the experiment itself).  Their command-line form is
:mod:`.config_cli`; folder and device checks are :mod:`.places`.
"""

from __future__ import annotations

import dataclasses
import json
import math
import types
import typing
from dataclasses import dataclass

from sparsefield.theory.errors import ParameterError

# Fields that may differ between members of one ensemble (same architecture and family).
MEMBER_KEYS = ("tau", "m", "c", "slope", "sparsity", "vprime", "q_star", "init", "force_sparsity")


@dataclass(kw_only=True)
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
    warmup: int = 0                 # linear learning-rate warm-up over the first steps
    schedule: str = "constant"      # constant | cosine (decay to 0 at the last step)
    grad_clip: float = 0.0          # clip each member's gradient norm to this (0: off)
    loss: str = "ce"                # ce | mse
    log_every: int = 10
    stats_every: int = 1            # activation statistics on every k-th training step
    eval_every: int = 100
    eval_size: int = 2000
    checkpoint_every: int = 0
    data_seed: int = 0


TRAIN_KEYS = ("steps", "batch_size", "lr", "optimizer", "momentum", "weight_decay", "warmup",
              "schedule", "grad_clip", "loss",
              "log_every", "stats_every", "eval_every", "eval_size", "checkpoint_every", "data_seed")


CHOICES = {"model": ("mlp", "cnn"), "init": ("eoc", "default"),
           "force": ("none", "quantile", "topk"), "optimizer": ("sgd", "adam"),
           "schedule": ("constant", "cosine"),
           "loss": ("ce", "mse")}
MAX_WIDTH = 1 << 16   # width / channels: beyond this a layer does not fit in memory
MAX_COUNT = 10 ** 9   # steps, samples, intervals
MAX_SEED = 2 ** 63 - 1
_INF = math.inf


@dataclass(frozen=True)
class Range:
    """The valid values of a number: ``lo``..``hi`` (open ends where ``*_open``), finite."""

    lo: float = -_INF
    hi: float = _INF
    lo_open: bool = False
    hi_open: bool = False
    integer: bool = False

    def ok(self, v) -> bool:
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            return False
        if self.integer and not isinstance(v, int):
            return False
        if isinstance(v, float) and not math.isfinite(v):  # (an int of any size compares exactly)
            return False
        return (v > self.lo if self.lo_open else v >= self.lo) and \
               (v < self.hi if self.hi_open else v <= self.hi)

    def __str__(self) -> str:
        kind = "an integer" if self.integer else "a finite number"
        lo, hi = (f"{int(x)}" if self.integer and math.isfinite(x) else f"{x:g}"
                  for x in (self.lo, self.hi))
        if self.lo == -_INF and self.hi == _INF:
            return kind
        if self.hi == _INF:
            return f"{kind} {'>' if self.lo_open else '>='} {lo}"
        if self.lo == -_INF:
            return f"{kind} {'<' if self.hi_open else '<='} {hi}"
        return f"{kind} in {'(' if self.lo_open else '['}{lo}, {hi}{')' if self.hi_open else ']'}"


def _count(lo: int = 1, hi: int = MAX_COUNT) -> Range:
    return Range(lo, hi, integer=True)


_UNIT = Range(0.0, 1.0, True, True)
_POS = Range(0.0, _INF, True)
_NONNEG = Range(0.0)
# Scales beyond these overflow float32 training (activations, gradients, the learning
# rate as a tensor) or the theory's integrals (theory/errors.py SCALE_MAX).
MAX_SCALE = 1e6
_SCALE = Range(0.0, MAX_SCALE, True)
_SIGNED = Range(-MAX_SCALE, MAX_SCALE)
# The valid range of every numeric config field, by name: one table for TrainConfig, the
# experiment Configs (their fields of the same name mean the same) and sweep files.
RANGES: dict[str, Range] = {
    "width": _count(1, MAX_WIDTH), "channels": _count(1, MAX_WIDTH), "depth": _count(1, 10000),
    "kernel": _count(1, 31), "tau": _SIGNED, "m": _SCALE, "c": _SCALE, "slope": _SIGNED,
    "sparsity": _UNIT, "vprime": _UNIT, "q_star": Range(0.0, 1e4, True), "force_sparsity": _UNIT,
    "n_train": _count(), "n_test": _count(), "steps": _count(), "batch_size": _count(1, 1 << 20),
    "lr": _SCALE, "momentum": Range(0.0, 1.0, hi_open=True),
    "weight_decay": Range(0.0, MAX_SCALE), "warmup": _count(0), "grad_clip": Range(0.0, MAX_SCALE),
    "log_every": _count(), "stats_every": _count(), "eval_every": _count(),
    "eval_size": _count(), "checkpoint_every": _count(0), "data_seed": _count(0, MAX_SEED),
    "seeds": _count(0, MAX_SEED), "vprimes": _UNIT, "beyond": _POS, "sparsities": _UNIT,
    "tolerance": Range(0.0, 1.0), "learn_margin": Range(0.0, 1.0, hi_open=True),
    "z_sign": _POS, "min_effect": _NONNEG, "cliff_drop": Range(0.0, 1.0, lo_open=True),
    "topk": Range(0.0, 1.0, lo_open=True), "max_members": _count(1, 4096),
    "within": Range(0.0, 1.0), "chance_margin": Range(0.0, 1.0, hi_open=True),
}
# Fields naming things from a fixed set, beyond CHOICES (filled lazily: see _choices).
LIST_CHOICES = ("activations", "datasets", "forces", "unclipped")


def _choices(name: str, free: tuple[str, ...] = ()) -> tuple | None:
    """The allowed values of a choice field (elements for list fields), or ``None`` (also
    for the ``free`` fields of a config class: its ``FREE_FIELDS``, checked by its experiment)."""
    # sympy/scipy (and numpy, .data) only when a value is checked: the CLI builds its
    # parser from this module
    from sparsefield.theory.activations import CATALOGUE
    from sparsefield.theory.clipping import CLIPPED, UNCLIPPED

    from .data import NAMES

    if name in CHOICES:
        return CHOICES[name]
    if name in ("dataset", "datasets"):
        return NAMES
    if name in free:
        return None
    if name in ("activation", "activations"):
        return tuple(CATALOGUE)
    return {"forces": ("quantile", "topk"), "clipped": CLIPPED, "unclipped": UNCLIPPED}.get(name)


def check_value(name: str, value, tp, param: str | None = None, free: tuple[str, ...] = ()) -> None:
    """Check one field against its annotation ``tp`` (``int``, ``float | None``,
    ``list[str]``, ...) and its entry in :data:`RANGES` / the choice tables; ``param``
    names it in the error (default ``name``).  Raises :class:`ParameterError`."""
    param = param or name
    base, many = base_type(tp)
    optional = is_optional(tp)
    if value is None:
        if optional:
            return
        raise ParameterError(param, value, f"set (it has no 'none' value): {_describe(name, base, free)}")
    values = value if many else [value]
    if many and (not isinstance(value, list) or not value):
        raise ParameterError(param, value, f"a non-empty list of {_describe(name, base, free)}")
    for v in values:
        if not _type_ok(v, base) or not _range_ok(name, v, base, free):
            shown = value if not many else v
            where = param if not many else f"{param} (element)"
            raise ParameterError(where, shown, _describe(name, base, free))


def _type_ok(v, base) -> bool:
    if base is bool:
        return isinstance(v, bool)
    if base is int:
        return isinstance(v, int) and not isinstance(v, bool)
    if base is float:
        return isinstance(v, (int, float)) and not isinstance(v, bool)
    if base is str:
        return isinstance(v, str)
    return True


def _range_ok(name: str, v, base, free: tuple[str, ...]) -> bool:
    if base in (int, float):
        rng = RANGES.get(name)
        return rng.ok(v) if rng is not None else (isinstance(v, int) or math.isfinite(v))
    if base is str:
        allowed = _choices(name, free)
        return allowed is None or v in allowed
    return True


def _describe(name: str, base, free: tuple[str, ...] = ()) -> str:
    if base in (int, float):
        rng = RANGES.get(name)
        if rng is not None:
            return str(rng)
        return "an integer" if base is int else "a finite number"
    if base is str:
        allowed = _choices(name, free)
        return f"one of {list(allowed)}" if allowed is not None else "a string"
    if base is bool:
        return "true or false"
    return base.__name__


def check_fields(cls: type, values: dict, prefix: str = "", free: tuple[str, ...] = ()) -> dict:
    """Check the fields ``values`` of dataclass ``cls`` (unknown names, types, ranges);
    errors name ``prefix + field``.  Returns ``values``."""
    hints = {f.name: t for f in dataclasses.fields(cls)
             for t in [typing.get_type_hints(cls)[f.name]]}  # fields only, no ClassVar
    for name, v in values.items():
        if name not in hints:
            raise ParameterError(prefix + name, v, f"a field of {cls.__name__}: {sorted(hints)}")
        check_value(name, v, hints[name], prefix + name, free)
    return values


def validate(p: dict, prefix: str = "") -> dict:
    """Check a config point: every field's type and range, and that the activation
    parameters given belong together (a target ``sparsity`` derives ``tau``/``m``; ``vprime``
    is for clipped activations; explicit ``tau``, ``m``, ``c``, ``slope`` must be
    parameters of the activation); returns ``p``."""
    # sympy/scipy only when a value is checked: the CLI builds its parser from this module
    from sparsefield.theory.activations import family
    from sparsefield.theory.clipping import CLIPPED, UNCLIPPED

    check_fields(TrainConfig, p, prefix)
    act = p["activation"]
    given = {k: p[k] for k in ("tau", "m", "c", "slope") if p.get(k) is not None}
    if p.get("sparsity") is not None:
        if act not in CLIPPED + UNCLIPPED:
            raise ParameterError(prefix + "sparsity", p["sparsity"],
                                 f"omitted for {act} (only {list(CLIPPED + UNCLIPPED)} take it)")
        allowed = ("m",) if act in CLIPPED else ()
        for k, v in given.items():
            if k not in allowed:
                raise ParameterError(prefix + k, v, f"omitted when sparsity is given (it derives "
                                     f"{'tau and m' if act in CLIPPED else 'tau'} for {act})")
        if p.get("vprime") is not None and "m" in given:
            raise ParameterError(prefix + "vprime", p["vprime"], "omitted when m is given")
    else:
        names = {q.name for q in family(act).params}
        for k, v in given.items():
            if k not in names:
                raise ParameterError(prefix + k, v, f"omitted: {act} takes "
                                     f"{sorted(names) or 'no parameters'}")
    if p.get("vprime") is not None and (act not in CLIPPED or p.get("sparsity") is None):
        raise ParameterError(prefix + "vprime", p["vprime"],
                             f"omitted unless a clipped activation {list(CLIPPED)} has a target sparsity")
    if (p["force"] == "none") != (p.get("force_sparsity") is None):
        raise ParameterError(prefix + "force_sparsity", p.get("force_sparsity"),
                             "given exactly when force is quantile or topk")
    return p


def point(**overrides) -> dict:
    """A validated config point: :class:`TrainConfig` defaults updated by ``overrides``."""
    names = {f.name for f in dataclasses.fields(TrainConfig)}
    unknown = sorted(set(overrides) - names)
    if unknown:
        raise ParameterError(unknown[0], overrides[unknown[0]], f"one of {sorted(names)}")
    return validate(dataclasses.asdict(TrainConfig(**overrides)))


def group_key(p: dict) -> str:
    """Points with equal group keys can share one ensemble."""
    return json.dumps({k: v for k, v in p.items() if k not in MEMBER_KEYS}, sort_keys=True)


@dataclass(kw_only=True)
class RunOptions:
    """Where and how to run; not part of any result's identity."""

    out: str = "results"
    device: str = "auto"
    data_root: str | None = None
    max_members: int = 16
    progress: bool = True
    download: bool = False


# --- annotations (also read by .config_cli) ------------------------------------------------
def is_optional(tp) -> bool:
    """Whether an annotation admits ``None``."""
    return typing.get_origin(tp) in (typing.Union, types.UnionType) and type(None) in typing.get_args(tp)


def base_type(tp):
    """``(element type, is_list)`` of an annotation such as ``float | None`` or ``list[str]``."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        tp = next(a for a in typing.get_args(tp) if a is not type(None))
        origin = typing.get_origin(tp)
    if origin is list:
        return typing.get_args(tp)[0], True
    return tp, False
