"""Reading stored results (torch-free): theory and Monte Carlo parts written by
:mod:`sparsefield.report`, and experiment records written by :mod:`sparsefield.empirical.store`.

Layout under a results root::

    theory/<part>.json      {"part", "config", "seed", "versions", "data"}
    numerics/<part>.json    same record layout
    <experiment>/*.json     empirical.store records and summary.json
"""

from __future__ import annotations

import json
from pathlib import Path

from sparsefield.empirical.store import ResultStore, atomic_write_json, versions


def part_path(root: str | Path, group: str, name: str) -> Path:
    return Path(root) / group / f"{name}.json"


def write_part(root: str | Path, group: str, name: str, data: dict, config: dict | None = None,
               seed: int | None = None, **extra) -> Path:
    """Atomically store one computed part with its config, seed and package versions."""
    record = {"part": f"{group}/{name}", "config": config or {}, "seed": seed,
              "versions": versions(), **extra, "data": data}
    return atomic_write_json(part_path(root, group, name), record)


class Results:
    """The stored results under ``root``; absent parts read as ``None`` / ``[]``."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def record(self, group: str, name: str) -> dict | None:
        path = part_path(self.root, group, name)
        return json.loads(path.read_text()) if path.exists() else None

    def part(self, group: str, name: str) -> dict | None:
        """The ``data`` of a stored part, or ``None``."""
        rec = self.record(group, name)
        return None if rec is None else rec["data"]

    def records(self, experiment: str) -> list[dict]:
        """Every stored (point, seed) record of an experiment."""
        return ResultStore(self.root, experiment).load_all()

    def summary(self, experiment: str) -> dict | None:
        path = ResultStore(self.root, experiment).dir / "summary.json"
        return json.loads(path.read_text()) if path.exists() else None
