"""The result store: one JSON per (config point, seed), written atomically.

A run is resumable because a finished (point, seed) is a file that is skipped when present.
Each file holds the point's config, the seed, package versions and the metrics.  Torch-free
at import: :mod:`figures` reads results through :meth:`ResultStore.load_all`.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import platform
import re
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Any, Iterator

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


def atomic_write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` to ``path`` via a synced temporary file and ``os.replace``: a reader
    (or a resumed run) never sees half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o644)  # mkstemp's 0600 would hide results from other users
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_torch_save(path: str | Path, obj: Any) -> Path:
    """``torch.save`` to ``path`` via a temporary file and ``os.replace`` (checkpoints)."""
    import torch

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        torch.save(obj, tmp)
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return path


def atomic_write_json(path: str | Path, obj: Any) -> Path:
    """Write ``obj`` as JSON to ``path`` atomically (:func:`atomic_write_text`)."""
    return atomic_write_text(path, json.dumps(jsonable(obj), indent=1, allow_nan=False))


def point_key(config: dict) -> str:
    """Stable 12-hex-digit key of a config point (sha256 of its canonical JSON)."""
    text = json.dumps(jsonable(config), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:12]


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
        return any(self.dir.glob(f"*__{point_key(config)}__seed{int(seed)}.json"))

    def write(self, config: dict, seed: int, metrics: dict, label: str = "") -> Path:
        """Atomically store one finished (point, seed) with its config and versions."""
        record = {"experiment": self.experiment, "label": label, "key": point_key(config),
                  "seed": int(seed), "config": config, "versions": versions(),
                  "metrics": metrics}
        return atomic_write_json(self.path(config, seed, label), record)

    def load(self, config: dict, seed: int) -> dict:
        return json.loads(self.path(config, seed).read_text())

    def __iter__(self) -> Iterator[dict]:
        for p in sorted(self.dir.glob("*__seed*.json")):
            yield json.loads(p.read_text())

    def load_all(self) -> list[dict]:
        """Every stored record of this experiment, sorted by file name."""
        return list(self)

    def checkpoint_path(self, key: str) -> Path:
        return self.dir / "checkpoints" / f"{key}.pt"

    def write_summary(self, summary: dict) -> Path:
        """``summary.json``: the experiment's verdicts, recomputable from the records."""
        return atomic_write_json(self.dir / "summary.json",
                                 {"experiment": self.experiment, "versions": versions(),
                                  **summary})
