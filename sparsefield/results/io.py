"""Reading and writing stored results: atomic writes (a reader or a resumed run never sees
half a file), strict JSON reading, validation of run records, corrupt-file handling, and
the torch-free :class:`ResultStore` of one experiment (docs/theory.md section 7).

A corrupt or truncated file raises :class:`CorruptRecord` with the reason; readers that
skip it warn once per file on stderr (:func:`warn_corrupt`).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import platform
import re
import sys
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Any, Iterator

from .names import (
    ACC,
    CHECKPOINTS,
    EVAL,
    FINAL,
    STEP,
    SUMMARY_JSON,
    TEST_ACC,
    TEST_LOSS,
    TEST_ZERO_FRAC,
    TRAIN_ACC,
    TRAIN_LOSS,
    VAL_LOSS,
    part_path,
)

PACKAGES = ("sparsefield", "numpy", "scipy", "sympy", "numba", "torch")


def versions(extra: tuple[str, ...] = ()) -> dict[str, str | None]:
    """Python and package versions, ``PACKAGES`` then ``extra`` (read from metadata,
    nothing is imported; ``None`` for a package that is not installed)."""
    out: dict[str, str | None] = {"python": platform.python_version()}
    for name in PACKAGES + tuple(extra):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def jsonable(obj: Any) -> Any:
    """JSON-safe copy: non-finite floats (a diverged run, an undefined statistic) become
    ``null``, which ``np.asarray(..., float)`` reads back as ``nan``."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    return obj


def current_umask() -> int:
    """The process umask, read without changing it where Linux exposes it (thread-safe)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def file_mode() -> int:
    """Mode of a new result file: ``0o666`` less the umask, as ``open()`` would give
    (``mkstemp`` alone gives 0600, which would hide results the umask means to share)."""
    return 0o666 & ~current_umask()


def atomic_write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` to ``path`` via a synced temporary file and ``os.replace``: a reader
    (or a resumed run) never sees half a file.  The file's mode respects the umask."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, file_mode())
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as err:  # e.g. a full disk: name the file, leave no temporary behind
        Path(tmp).unlink(missing_ok=True)
        raise OSError(err.errno, err.strerror or str(err), str(path)) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path



def atomic_write_json(path: str | Path, obj: Any) -> Path:
    """Write ``obj`` as JSON to ``path`` atomically (:func:`atomic_write_text`)."""
    return atomic_write_text(path, json.dumps(jsonable(obj), indent=1, allow_nan=False))


def point_key(config: dict) -> str:
    """Stable 12-hex-digit key of a config point (sha256 of its canonical JSON)."""
    text = json.dumps(jsonable(config), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:12]


class CorruptRecord(ValueError):
    """A stored file that is not a complete, well-formed record (truncated, not JSON,
    non-finite numbers, wrong schema)."""


def _no_constant(name: str):
    raise ValueError(f"non-finite number {name}")


def read_json(path: str | Path) -> Any:
    """Strict JSON of a stored file: UTF-8, no ``NaN``/``Infinity`` (this package writes
    ``null`` for them), raising :class:`CorruptRecord` with the reason."""
    try:
        text = Path(path).read_text(encoding="utf-8")
        if not text.strip():
            raise ValueError("empty file")
        return json.loads(text, parse_constant=_no_constant)
    except UnicodeDecodeError:
        raise CorruptRecord("not UTF-8 text (binary?)") from None
    except json.JSONDecodeError as err:
        raise CorruptRecord(f"invalid or truncated JSON ({err.msg} at line {err.lineno})") from None
    except ValueError as err:
        raise CorruptRecord(str(err)) from None
    except RecursionError:
        raise CorruptRecord("JSON nested too deep") from None


_WARNED: set[str] = set()


def warn_corrupt(path: str | Path, why: object) -> None:
    """One stderr line per bad file and process: ``warning: skipping PATH: why``."""
    if str(path) not in _WARNED:
        _WARNED.add(str(path))
        print(f"warning: skipping {path}: {why}", file=sys.stderr)


def check_record(rec: Any, path: Path, experiment: str | None = None) -> dict:
    """``rec`` if it is a finished record of ``experiment`` stored under its own name
    (``<label>__<key>__seed<seed>.json`` with ``key = point_key(config)``); else raise
    :class:`CorruptRecord`."""
    if not isinstance(rec, dict):
        raise CorruptRecord("not a JSON object")
    for name, tp in (("experiment", str), ("key", str), ("seed", int), ("config", dict),
                     ("metrics", dict)):
        if not isinstance(rec.get(name), tp) or isinstance(rec.get(name), bool):
            raise CorruptRecord(f"field {name!r} missing or not a {tp.__name__}")
    if experiment is not None and rec["experiment"] != experiment:
        raise CorruptRecord(f"record of experiment {rec['experiment']!r}, not {experiment!r}")
    if rec["key"] != point_key(rec["config"]):
        raise CorruptRecord("key does not match its config")
    if not path.name.endswith(f"__{rec['key']}__seed{rec['seed']}.json"):
        raise CorruptRecord("file name does not match its key and seed")
    check_metrics(rec["metrics"], rec["config"])
    return rec


# the final metrics that are copies of the last evaluation (train._final, gpt_train)
FINAL_FROM_LAST_EVAL = (TEST_ACC, TEST_LOSS, TRAIN_ACC, TRAIN_LOSS, TEST_ZERO_FRAC, VAL_LOSS)


def check_metrics(metrics: dict, config: dict) -> None:
    """A finished run's metrics are complete and consistent: an evaluation history whose
    last step is the run's last step (``config["steps"]``), and a ``final`` entry with a
    headline metric (test accuracy or validation loss) equal to the last evaluation of
    each metric it shares with the history, accuracies in [0, 1]; else :class:`CorruptRecord`."""
    fin, ev = metrics.get(FINAL), metrics.get(EVAL)
    if not isinstance(fin, dict) or not isinstance(ev, dict):
        raise CorruptRecord(f"metrics without {FINAL!r} and {EVAL!r} (an unfinished run)")
    if TEST_ACC not in fin and VAL_LOSS not in fin:
        raise CorruptRecord(f"final metrics without {TEST_ACC!r} or {VAL_LOSS!r}")
    steps = ev.get(STEP)
    if not isinstance(steps, list) or not steps:
        raise CorruptRecord("an empty evaluation history")
    if isinstance(config.get("steps"), int) and steps[-1] != config["steps"]:
        raise CorruptRecord(f"last evaluation at step {steps[-1]!r}, not at the run's last "
                            f"step {config['steps']}")
    for k, v in fin.items():
        hist = ev.get(k)
        if isinstance(hist, list) and hist and len(hist) != len(steps):
            raise CorruptRecord(f"history {k!r} and its steps differ in length")
        if k in FINAL_FROM_LAST_EVAL and isinstance(hist, list) and hist and hist[-1] != v:
            raise CorruptRecord(f"final {k!r} differs from its last evaluation")
        if k.endswith(ACC) and v is not None and not (isinstance(v, (int, float))
                                                      and 0.0 <= v <= 1.0):
            raise CorruptRecord(f"final {k!r} = {v!r} is not an accuracy in [0, 1]")


def read_record(path: str | Path, experiment: str | None = None) -> dict:
    """A validated record (:func:`check_record`); :class:`CorruptRecord` if it is not one."""
    return check_record(read_json(path), Path(path), experiment)


def _slug(label: str) -> str:
    return re.sub(r"[^A-Za-z0-9._=-]+", "-", label).strip("-")[:60] or "point"


class ResultStore:
    """Results of one experiment under ``root/experiment/``."""

    def __init__(self, root: str | Path, experiment: str) -> None:
        self.dir = Path(root) / experiment
        self.experiment = experiment

    def path(self, config: dict, seed: int, label: str = "") -> Path:
        """``<label>__<key>__seed<seed>.json``; the key alone identifies the point."""
        key = point_key(config)
        found = sorted(self.dir.glob(f"*__{key}__seed{int(seed)}.json"))
        if found:
            return found[0]
        return self.dir / f"{_slug(label)}__{key}__seed{int(seed)}.json"

    def has(self, config: dict, seed: int) -> bool:
        """Whether a complete, valid record of ``(config, seed)`` is stored (a corrupt or
        truncated one does not count: the run is redone and the file replaced)."""
        for p in self.dir.glob(f"*__{point_key(config)}__seed{int(seed)}.json"):
            try:
                read_record(p, self.experiment)
                return True
            except (CorruptRecord, OSError) as err:
                warn_corrupt(p, f"{err}; the run will be redone")
        return False

    def write(self, config: dict, seed: int, metrics: dict, label: str = "") -> Path:
        """Atomically store one finished (point, seed) with its config and versions."""
        record = {"experiment": self.experiment, "label": label, "key": point_key(config),
                  "seed": int(seed), "config": config, "versions": versions(),
                  "metrics": metrics}
        return atomic_write_json(self.path(config, seed, label), record)

    def load(self, config: dict, seed: int) -> dict:
        return read_record(self.path(config, seed), self.experiment)

    def __iter__(self) -> Iterator[dict]:
        """Valid records; a corrupt file is skipped with a warning naming it."""
        for p in sorted(self.dir.glob("*__seed*.json")):
            try:
                yield read_record(p, self.experiment)
            except (CorruptRecord, OSError) as err:
                warn_corrupt(p, err)

    def load_all(self) -> list[dict]:
        """Every valid stored record of this experiment, sorted by file name."""
        return list(self)

    def checkpoint_path(self, key: str) -> Path:
        return self.dir / CHECKPOINTS / f"{key}.pt"

    @property
    def summary_path(self) -> Path:
        return self.dir / SUMMARY_JSON

    def write_summary(self, summary: dict) -> Path:
        """``summary.json``: the experiment's verdicts, recomputable from the records."""
        return atomic_write_json(self.summary_path,
                                 {"experiment": self.experiment, "versions": versions(),
                                  **summary})


def write_part(root: str | Path, group: str, name: str, data: dict, config: dict | None = None,
               seed: int | None = None, **extra) -> Path:
    """Atomically store one computed report part (``<group>/<name>.json``) with its config,
    seed and package versions: ``{"part", "config", "seed", "versions", ..., "data"}``."""
    record = {"part": f"{group}/{name}", "config": config or {}, "seed": seed,
              "versions": versions(), **extra, "data": data}
    return atomic_write_json(part_path(root, group, name), record)
