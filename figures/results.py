"""Reading stored results (torch-free): theory and Monte Carlo parts written by
:mod:`sparsefield.report`, and experiment records written by the training engine through
:mod:`sparsefield.results` (which owns the layout and every name in it).
"""

from __future__ import annotations

from pathlib import Path

from sparsefield.results.io import CorruptRecord, ResultStore, read_json, warn_corrupt
from sparsefield.results.names import part_path
from sparsefield.results.summary_schema import check_summary


class Results:
    """The stored results under ``root``; absent parts read as ``None`` / ``[]``."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def record(self, group: str, name: str) -> dict | None:
        """A stored part; a corrupt one reads as absent, with a warning naming the file."""
        return _read(part_path(self.root, group, name), "data")

    def part(self, group: str, name: str) -> dict | None:
        """The ``data`` of a stored part, or ``None``."""
        rec = self.record(group, name)
        return None if rec is None else rec["data"]

    def records(self, experiment: str) -> list[dict]:
        """Every stored (point, seed) record of an experiment."""
        return ResultStore(self.root, experiment).load_all()

    def summary(self, experiment: str) -> dict | None:
        """A stored ``summary.json`` of the shape its readers expect
        (:func:`sparsefield.results.summary_schema.check_summary`), else ``None`` with a
        warning naming the file."""
        path = ResultStore(self.root, experiment).summary_path
        rec = _read(path, "experiment")
        try:
            return None if rec is None else check_summary(experiment, rec)
        except CorruptRecord as err:
            warn_corrupt(path, err)
            return None


def _read(path: Path, required: str) -> dict | None:
    """``path``'s JSON object (holding ``required``), or ``None`` when absent or corrupt."""
    if not path.exists():
        return None
    try:
        rec = read_json(path)
        if not isinstance(rec, dict) or required not in rec:
            raise CorruptRecord(f"not a stored record (no {required!r})")
        return rec
    except (CorruptRecord, OSError) as err:
        warn_corrupt(path, err)
        return None
