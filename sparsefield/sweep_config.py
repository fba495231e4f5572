"""Validation of a whole sweep file before anything is submitted (:mod:`sparsefield.sweep`).

Every key is checked for its table, type and range, with its key path in the error
(``[size.reduced].width=-4 is invalid: must be an integer in [1, 65536]``), so a bad file
fails at once with exit status 2 instead of inside a Dask task.  The sweep's name becomes
a folder under the results root, so it must be a safe slug that is not the name of
another experiment's folder.
"""

from __future__ import annotations

import re
import typing
from pathlib import Path

from sparsefield.empirical.config import TrainConfig, check_value
from sparsefield.empirical.places import check_device
from sparsefield.theory.errors import ParameterError

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

TABLES = ("sweep", "base", "grid", "size")
SWEEP_TYPES = {"name": str, "description": str, "seeds": list[int], "gpu": bool, "device": str,
               "retries": int, "figures": list[str]}
SIZE_SWEEP_KEYS = ("seeds", "gpu", "device", "retries")  # [sweep] keys a size may override
FIGURES = ("tradeoff", "clipping")
MAX_RETRIES = 100
NAME_PATTERN = r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}"
# Folders of the results root that belong to something else.
RESERVED = ("train", "drift", "clipping", "tradeoff", "gpt", "theory", "numerics", "figures",
            "checkpoints")


def read(path: str | Path) -> dict:
    """The parsed TOML of a sweep file; unreadable or malformed files raise
    :class:`ParameterError` naming the path."""
    path = Path(path)
    if not path.is_file():
        raise ParameterError("sweep file", str(path), "an existing TOML file")
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise ParameterError("sweep file", str(path), "UTF-8 TOML text (it is binary)") from None
    except OSError as err:
        raise ParameterError("sweep file", str(path), f"readable ({err.strerror})") from None
    except tomllib.TOMLDecodeError as err:
        raise ParameterError("sweep file", str(path), f"valid TOML ({err})") from None
    except RecursionError:
        raise ParameterError("sweep file", str(path), "TOML nested at most a few hundred "
                             "levels deep") from None


def check_name(name: object, param: str = "sweep.name") -> str:
    """A sweep name: a slug (letters, digits, ``_``, ``-``; at most 64, no path
    separators or dots) that is not one of the :data:`RESERVED` result folders."""
    if not isinstance(name, str) or not re.fullmatch(NAME_PATTERN, name):
        raise ParameterError(param, name, f"a slug matching {NAME_PATTERN} (it names a folder "
                             f"under the results root)")
    if name.lower() in RESERVED:
        raise ParameterError(param, name, f"not one of the result folders {list(RESERVED)}")
    return name


def _train_types() -> dict:
    return typing.get_type_hints(TrainConfig)


def _check_sweep_key(key: str, value, where: str) -> None:
    if key not in SWEEP_TYPES:
        raise ParameterError(where, value, f"a key of [sweep]: {list(SWEEP_TYPES)}")
    tp = SWEEP_TYPES[key]
    if key == "name":
        check_name(value, where)
    elif key == "device":
        check_device(value, where)
    elif key == "retries":
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_RETRIES:
            raise ParameterError(where, value, f"an integer in [0, {MAX_RETRIES}]")
    elif key == "figures":
        if not isinstance(value, list) or any(f not in FIGURES for f in value):
            raise ParameterError(where, value, f"a list of figure names from {list(FIGURES)}")
    else:
        check_value(key, value, tp, where)


def _check_field(key: str, value, where: str, axis: bool = False) -> None:
    """A TrainConfig field (a grid axis: a non-empty list of its values)."""
    types = _train_types()
    if key not in types:
        raise ParameterError(where, value, f"a TrainConfig field: {sorted(types)}")
    if axis:
        values = value if isinstance(value, list) else [value]
        if not values:
            raise ParameterError(where, value, "a non-empty list of values")
        for v in values:
            check_value(key, v, types[key], where)
    else:
        check_value(key, value, types[key], where)


def _table(doc: dict, key: str, where: str) -> dict:
    value = doc.get(key, {})
    if not isinstance(value, dict):
        raise ParameterError(where, value, "a table")
    return value


def validate(doc: dict, size: str | None = None) -> None:
    """Check every table and key of a parsed sweep file (and that ``size`` is one of its
    ``[size.NAME]`` tables); raises :class:`ParameterError` with the key path."""
    for table in doc:
        if table not in TABLES:
            raise ParameterError(f"[{table}]", doc[table], f"one of the tables {list(TABLES)}")
    for key, value in _table(doc, "sweep", "[sweep]").items():
        _check_sweep_key(key, value, f"sweep.{key}")
    for key, value in _table(doc, "base", "[base]").items():
        _check_field(key, value, f"base.{key}")
    raw = doc.get("grid", {})
    grids = raw if isinstance(raw, list) else [raw]
    axes: set[str] = set()
    for i, g in enumerate(grids):
        where = "grid" if not isinstance(raw, list) else f"grid[{i}]"
        if not isinstance(g, dict):
            raise ParameterError(f"[{where}]", g, "a table of axis = [values]")
        for key, value in g.items():
            _check_field(key, value, f"{where}.{key}", axis=True)
            axes.add(key)
    sizes = _table(doc, "size", "[size]")
    for name, over in sizes.items():
        if not isinstance(name, str) or not re.fullmatch(NAME_PATTERN, name):
            raise ParameterError(f"[size.{name}]", name, f"a size name matching {NAME_PATTERN} "
                                 "(it names the folder sweep-NAME)")
        if not isinstance(over, dict):
            raise ParameterError(f"[size.{name}]", over, "a table of overrides")
        for key, value in over.items():
            where = f"[size.{name}].{key}"
            if key in SIZE_SWEEP_KEYS:
                _check_sweep_key(key, value, where)
            elif key in SWEEP_TYPES:
                raise ParameterError(where, value, f"a TrainConfig field or one of "
                                     f"{list(SIZE_SWEEP_KEYS)} (a size cannot override it)")
            else:
                _check_field(key, value, where, axis=key in axes)
    if size is not None and size not in sizes:
        raise ParameterError("size", size, f"one of {sorted(sizes) or 'the [size.NAME] tables (none here)'}")
    if not any(isinstance(g, dict) and g for g in grids):
        raise ParameterError("[grid]", raw or None, "at least one axis = [values] (an empty "
                             "file would be one default run of width 300, depth 100)")
    _check_task_count(doc, grids, sizes.get(size, {}) if size is not None else {})


MAX_TASKS = 10_000  # (point, seed) pairs of one sweep: more is a typo, not a plan (and a
# dry run validating them all would take minutes)


def _check_task_count(doc: dict, grids: list, over: dict) -> None:
    """Refuse a sweep of more than :data:`MAX_TASKS` (point, seed) pairs, counted from the
    axis lengths (``size`` overrides included) before the grid is expanded."""
    seeds = over.get("seeds", doc.get("sweep", {}).get("seeds", [0]))
    n = 0
    for g in grids:
        count = 1
        for key, values in g.items():
            values = over.get(key, values)
            count *= len(values) if isinstance(values, list) else 1
        n += count
    n *= max(len(seeds) if isinstance(seeds, list) else 1, 1)
    if n > MAX_TASKS:
        raise ParameterError("[grid]", f"{n:,} runs", f"at most {MAX_TASKS:,} (point, seed) "
                             "pairs per sweep (split it into several files)")


def check_scheduler(address: str) -> str:
    """A Dask scheduler address ``tcp://HOST:PORT`` or ``tls://HOST:PORT``."""
    if not isinstance(address, str) or not re.fullmatch(r"(tcp|tls)://[^\s/:]+:\d{1,5}", address) \
            or not 0 < int(address.rsplit(":", 1)[1]) < 65536:
        raise ParameterError("scheduler", address, "an address tcp://HOST:PORT or tls://HOST:PORT")
    return address
