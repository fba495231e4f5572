"""The stored records as types (the schema of docs/theory.md section 7): what a run record,
a summary and a report part hold, and one :class:`Check` row for every verification
source (the report's Monte Carlo, depth and experiment rows, and
:class:`sparsefield.numerics.check.Row` through :meth:`Check.of_row`).

``TypedDict`` for what is stored as JSON (a reader annotates what it reads; mypy checks the
keys), a frozen dataclass for the row every verification source produces.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, TypedDict


class RunRecord(TypedDict):
    """One finished (config point, seed): ``<label>__<key>__seed<seed>.json``
    (:meth:`sparsefield.results.io.ResultStore.write`; validated by ``check_record``)."""

    experiment: str
    label: str
    key: str  # point_key(config)
    seed: int
    config: dict[str, Any]
    versions: dict[str, str | None]
    metrics: dict[str, Any]  # sections named in sparsefield.results.names


class Summary(TypedDict, total=False):
    """An experiment's ``summary.json``: its verdicts, recomputable from the records."""

    experiment: str
    versions: dict[str, str | None]
    rows: dict[str, dict[str, Any]]  # label -> row (keys in sparsefield.results.names)


class ReportPart(TypedDict):
    """One computed report part, ``<group>/<name>.json``
    (:func:`sparsefield.results.io.write_part`)."""

    part: str  # "<group>/<name>"
    config: dict[str, Any]
    seed: int | None
    versions: dict[str, str | None]
    data: dict[str, Any]


@dataclass(frozen=True)
class Check:
    """Theory against measurement, one row: what is checked, the theory value, the
    measurement (a number, or words such as ``3/3 agree``), its standard error and z-score,
    whether it agrees (``None``: informative, never counted) and where it comes from."""

    check: str
    theory: float | None
    measured: float | str | None
    stderr: float | None
    z: float | None
    ok: bool | None
    source: str

    @classmethod
    def of_row(cls, row: dict) -> Check:
        """A stored :class:`sparsefield.numerics.check.Row` (as its dict) as a check."""
        note = f" ({row['note']})" if row.get("note") else ""
        return cls(f"{row['activation']}: {row['quantity']}", row["theory"], row["estimate"],
                   row["stderr"], row["z"], row["passed"], f"numerics.check, {row['method']}{note}")

    def to_dict(self) -> dict:
        return asdict(self)
