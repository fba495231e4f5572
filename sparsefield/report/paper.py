"""The stored paper-size results ([P24] at depth 100, the depth sweep, [DT26]) as curated
tables: the columns of ``docs/results/README.md``, 2-3 significant digits, the verdict
recomputed from the stored numbers by :mod:`sparsefield.empirical.verdicts`.

Where they are looked for, in order: ``<results>/paper`` (written by ``python -m
sparsefield.paper_results --results R --out R/paper`` next to the user's own sweeps), then
the copy shipped with sparsefield (``docs/results`` of a checkout, package data of a wheel).
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from sparsefield.empirical import verdicts as V
from sparsefield.empirical.store import PAPER_TABLES, TEST_ACC, TRAIN_ACC
from sparsefield.html_safe import esc
from sparsefield.results.names import (
    DEPTH_OVER_ELL_C,
    ELL_C,
    M_OVER_SQRT_Q,
    ONE_MINUS_RHO,
    PAPER_ACC,
    PAPER_NOTE,
    PAPER_SD,
    RELU_ACC,
    SEEDS_PLANNED,
    THEORY_VPRIME,
    ZERO_FINAL,
    ZERO_INIT,
    seeds_key,
    sem_key,
)
from sparsefield.sweep_files import stored_results_dir

from .fmt import DASH, pm, sig

USER_FOLDER = "paper"  # <results>/paper: the user's own paper-size tables
TITLES = {"p24": "[P24] at depth 100, width 300, 85% sparsity",
          "p24long": "[P24] at depth 100, the longer schedule",
          "depth": "Depth sweep at the same budget",
          "dt26": "[DT26]: larger q* at 90% sparsity"}
WORDS = {"within": "matches ReLU", "degraded": "degraded", "failed": "failed",
         "trains": "trains"}


@dataclass(frozen=True)
class PaperTable:
    """One curated table: escaped header and cells, and the files it was read from."""

    key: str
    title: str
    head: list[str]
    rows: list[list[str]]
    csv: Path
    png: Path | None


def _num(row: dict, key: str) -> float | None:
    text = row.get(key, "")
    try:
        v = float(text)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(v) else v


def verdict(row: dict) -> str:
    """The point's verdict against the ReLU of the same budget, from its stored numbers."""
    seeds = int(_num(row, "seeds") or 0)
    if not seeds:
        return "not run"
    acc, base = _num(row, TEST_ACC), _num(row, RELU_ACC)
    word = WORDS[V.training_verdict(acc if acc is not None else math.nan, V.CHANCE_10, base,
                                    bool(_num(row, "diverged")))]
    return "baseline" if row.get("activation") == "relu" and word != "failed" else word


def _acc(row: dict) -> str:
    seeds = int(_num(row, "seeds") or 0)
    if not seeds:
        return "not run"
    return (f"{pm(_num(row, TEST_ACC), _num(row, sem_key(TEST_ACC)))} "
            f"({seeds}/{int(_num(row, SEEDS_PLANNED) or seeds)})")


def _per_seed(row: dict) -> str:
    return ", ".join(sig(float(a), 3) for a in row.get(seeds_key(TEST_ACC), "").split(";") if a) \
        or DASH


def _paper(row: dict) -> str:
    if row.get(PAPER_NOTE):
        return esc(row[PAPER_NOTE])
    return pm(_num(row, PAPER_ACC), _num(row, PAPER_SD), 2) if _num(row, PAPER_ACC) else DASH


def _col(key: str, digits: int = 3) -> Callable[[dict], str]:
    return lambda row: sig(_num(row, key), digits)


def _text(key: str) -> Callable[[dict], str]:
    return lambda row: esc(row.get(key, ""))


Column = tuple[str, Callable[[dict], str]]
_POINT: list[Column] = [("point", _text("short")), ("m", _col("m")),
                        ("V'(q*)", _col(THEORY_VPRIME))]
_RUN: list[Column] = [("test acc (seeds)", _acc), ("per seed", _per_seed),
                      ("train acc", _col(TRAIN_ACC)), ("zeros init", _col(ZERO_INIT)),
                      ("zeros final", _col(ZERO_FINAL)), (ELL_C, _col(ELL_C))]
COLUMNS: dict[str, list[Column]] = {
    "p24": _POINT + _RUN + [("xi_q", _col("xi_q")), ("verdict", verdict), ("[P24]", _paper)],
    "p24long": _POINT + _RUN + [("verdict", verdict), ("[P24]", _paper)],
    "depth": [("activation", _text("short")), ("depth L", _col("depth")),
              ("test acc (seeds)", _acc), (ELL_C, _col(ELL_C)),
              ("L / ell_c", _col(DEPTH_OVER_ELL_C, 2)),
              ("1 - rho^L", _col(ONE_MINUS_RHO)), ("zeros final", _col(ZERO_FINAL)),
              ("verdict", verdict)],
    "dt26": [("family", _text("series")), ("q*", _col("q_star")), ("m", _col("m")),
             ("m/sqrt(q*)", _col(M_OVER_SQRT_Q)), ("V'(q*)", _col(THEORY_VPRIME)),
             ("sigma_w^2", _col("sigma_w2")), ("sigma_b^2", _col("sigma_b2")),
             ("test acc (seeds)", _acc), ("per seed", _per_seed),
             ("zeros final", _col(ZERO_FINAL)), (ELL_C, _col(ELL_C)),
             ("verdict", verdict)],
}


def folders(results: Path) -> list[Path]:
    """Where paper-size tables are looked for, in order (existing folders only)."""
    shipped = stored_results_dir()
    cands = [Path(results) / USER_FOLDER] + ([shipped] if shipped is not None else [])
    return [p for p in cands if p.is_dir()]


def find(results: Path) -> tuple[Path | None, list[PaperTable]]:
    """The first folder holding any of :data:`PAPER_TABLES`, and its curated tables."""
    for folder in folders(results):
        tables = [t for key, stem in PAPER_TABLES.items()
                  if (t := read_table(key, folder / f"{stem}.csv")) is not None]
        if tables:
            return folder, tables
    return None, []


def read_table(key: str, path: Path) -> PaperTable | None:
    """The curated table ``key`` read from ``path`` (``None`` when absent or unreadable)."""
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
    except (OSError, UnicodeDecodeError, csv.Error):
        return None
    cols = COLUMNS[key]
    try:
        cells = [[fn(r) for _, fn in cols] for r in rows]
    except (KeyError, ValueError, TypeError):
        return None  # not a paper_results table: shown as a link only
    png = path.with_suffix(".png")
    return PaperTable(key, TITLES[key], [h for h, _ in cols], cells, path,
                      png if png.is_file() else None)
