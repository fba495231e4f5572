"""A sweep file as a grid of training points: parsing (``sparsefield.sweep_config``
validates every table and key first), the points and their labels, and what is still to
run.  The file format is described in :mod:`sparsefield.sweep`.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path

from sparsefield.empirical.config import point
from sparsefield.empirical.data import resolve_name
from sparsefield.empirical.store import ResultStore, point_key
from sparsefield.theory.activations import family
from sparsefield.theory.errors import ParameterError

from . import sweep_config
from .sweep_config import FIGURES, SIZE_SWEEP_KEYS

SPARSITY_AXES = ("sparsity", "force_sparsity", "tau")  # the x-axis of the figures


@dataclass
class Sweep:
    """A parsed sweep file: its points (``(label, config point)``) and seeds."""

    name: str
    points: list[tuple[str, dict]]
    seeds: list[int]
    axes: tuple[str, ...]
    size: str | None = None
    gpu: bool = False
    device: str = "auto"
    retries: int = 2
    figures: tuple[str, ...] = FIGURES
    description: str = ""
    source: str = ""

    @property
    def tag(self) -> str:
        return self.size or "full"


def _as_list(key: str, value) -> list:
    values = value if isinstance(value, list) else [value]
    if not values:
        raise ParameterError(f"grid.{key}", value, "a non-empty list")
    return values


def _fmt(v) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def label_of(over: dict) -> str:
    """``crelu_sparsity=0.85_vprime=0.5``: the grid values of a point (activation bare,
    ``None`` left out)."""
    parts = [_fmt(v) if k == "activation" else f"{k}={_fmt(v)}" for k, v in over.items()
             if v is not None]
    return "_".join(parts) or "base"


def load_sweep(path: str | Path, size: str | None = None,
               data_root: str | None = None) -> Sweep:
    """Parse a sweep file; ``size`` applies its ``[size.NAME]`` overrides.  ``dataset =
    "auto"`` is resolved here (the point keys name the data actually used)."""
    path = Path(path)
    doc = sweep_config.read(path)
    sweep_config.validate(doc, size)
    sweep_config.check_name(doc.get("sweep", {}).get("name", path.stem))
    head, base = dict(doc.get("sweep", {})), dict(doc.get("base", {}))
    raw = doc.get("grid", {})
    grids = [{k: _as_list(k, v) for k, v in g.items()}
             for g in (raw if isinstance(raw, list) else [raw])]
    if size is not None:
        for key, value in doc["size"][size].items():  # validated: size is one of them
            if key in SIZE_SWEEP_KEYS:
                head[key] = value
            elif any(key in g for g in grids):
                grids = [{**g, key: _as_list(key, value)} if key in g else g for g in grids]
            else:
                base[key] = value
    figures = tuple(head.get("figures", FIGURES))  # validated: a subset of FIGURES
    axes = tuple(dict.fromkeys(k for g in grids for k in g))
    points, labels, keys = [], {}, set()
    for g in grids:
        for combo in itertools.product(*g.values()):
            over = dict(zip(g, combo))
            merged = {**base, **over}
            merged["dataset"] = resolve_name(merged.get("dataset", "auto"), data_root)
            p = point(**merged)
            family(p["activation"])  # a misspelt name fails here, not in every task
            label, key = label_of(over), point_key(p)
            if labels.setdefault(label, key) != key:
                raise ParameterError("grid", label, "values giving distinct labels")
            if key not in keys:  # the first label of a point repeated by another grid
                keys.add(key)
                points.append((label, p))
    return Sweep(name=head.get("name", path.stem), points=points,
                 seeds=[int(s) for s in head.get("seeds", [0])], axes=axes, size=size,
                 gpu=bool(head.get("gpu", False)), device=head.get("device", "auto"),
                 retries=int(head.get("retries", 2)), figures=figures,
                 description=head.get("description", ""), source=str(path))


def pending(store: ResultStore, sweep: Sweep) -> list[tuple[str, dict, int]]:
    """The (label, point, seed) triples without a stored result."""
    return [(label, p, s) for label, p in sweep.points for s in sweep.seeds
            if not store.has(p, s)]


def task_key(sweep: Sweep, p: dict, seed: int) -> str:
    return f"sweep-{sweep.name}-{point_key(p)}-seed{seed}"


