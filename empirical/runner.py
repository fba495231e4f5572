"""Running config points x seeds as batched ensembles, resumably, into a result store.

Pending (point, seed) pairs (those without a result file) are grouped by
:func:`sparsefield.empirical.config.group_key` (same architecture, activation family, data and
optimisation) and trained ``max_members`` at a time as one ensemble.  Each member's
result is written as soon as its ensemble finishes; an ensemble's checkpoint (when
``checkpoint_every > 0``) lets an interrupted long run continue where it stopped.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from .config import TRAIN_KEYS, RunOptions, group_key
from .data import Dataset, load
from .init import resolve
from .models import build
from .store import ResultStore, point_key
from .train import resolve_device, train_ensemble


@dataclass
class RunReport:
    """What a call did: ``ran`` and ``skipped`` hold ``(label, seed)`` pairs."""

    ran: list[tuple[str, int]] = field(default_factory=list)
    skipped: list[tuple[str, int]] = field(default_factory=list)


def load_data(p: dict, opts: RunOptions) -> Dataset:
    """The data of a point (standardised unless ``standardize`` is false)."""
    data = load(p["dataset"], opts.data_root, p["n_train"], p["n_test"], seed=p["data_seed"],
                download_missing=opts.download)
    return data.standardized() if p["standardize"] else data


def run_points(store: ResultStore, points: list[tuple[str, dict]], seeds: list[int],
               opts: RunOptions, stop_after: int | None = None) -> RunReport:
    """Train every (point, seed) not yet in ``store``; ``points`` are ``(label, point)``."""
    report, groups = RunReport(), {}
    for label, p in points:
        for seed in seeds:
            if store.has(p, seed):
                report.skipped.append((label, seed))
            else:
                groups.setdefault(group_key(p), []).append((label, p, int(seed)))
    device = resolve_device(opts.device)
    data_cache: dict[str, Dataset] = {}
    for members in groups.values():
        for i in range(0, len(members), max(opts.max_members, 1)):
            chunk = members[i:i + opts.max_members]
            _run_chunk(store, chunk, opts, device, data_cache, stop_after)
            report.ran += [(label, seed) for label, _, seed in chunk]
    return report


def _run_chunk(store, chunk, opts, device, data_cache, stop_after) -> None:
    p0 = chunk[0][1]
    dkey = str([p0[k] for k in ("dataset", "n_train", "n_test", "data_seed", "standardize")])
    if dkey not in data_cache:
        data_cache[dkey] = load_data(p0, opts)
    data = data_cache[dkey]
    inits = [resolve(p) for _, p, _ in chunk]
    seeds = [seed for _, _, seed in chunk]
    model = build(p0, inits, seeds, data.shape, data.n_classes,
                  [p["force_sparsity"] for _, p, _ in chunk])
    ident = "|".join(f"{point_key(p)}:{s}" for _, p, s in chunk)
    ckpt = store.checkpoint_path(hashlib.sha256(ident.encode()).hexdigest()[:16])
    desc = f"{store.experiment} {chunk[0][0]}" + (f" +{len(chunk) - 1}" if len(chunk) > 1 else "")
    results = train_ensemble(model, data, {k: p0[k] for k in TRAIN_KEYS}, len(chunk), device,
                             checkpoint=ckpt, progress=opts.progress, desc=desc,
                             stop_after=stop_after)
    for (label, p, seed), member, res in zip(chunk, inits, results):
        res["member"] = member.info
        res["data"] = {"name": data.name, "source": data.source, "shape": list(data.shape),
                       "n_train": len(data.x_train), "n_test": len(data.x_test),
                       "n_classes": data.n_classes}
        res["run"] = {"device": str(device), "ensemble_size": len(chunk)}
        store.write(p, seed, res, label)
    ckpt.unlink(missing_ok=True)


def select(store, points: list[tuple[str, dict]], seeds: list[int]) -> list[dict]:
    """The stored records of these points and seeds (others in the store are ignored)."""
    keys = {point_key(p) for _, p in points}
    return [r for r in store if r["key"] in keys and r["seed"] in set(seeds)]


def run_experiment(name: str, points: list[tuple[str, dict]], summarise, cfg, opts: RunOptions,
                   stop_after: int | None = None) -> dict:
    """An experiment's ``run``: train the missing (point, seed) pairs of ``cfg.seeds`` into
    ``ResultStore(opts.out, name)``, summarise the stored records of these points and seeds
    with ``summarise(records, cfg)``, and store the summary (with ``ran`` and ``skipped``)."""
    store = ResultStore(opts.out, name)
    report = run_points(store, points, cfg.seeds, opts, stop_after)
    summary = summarise(select(store, points, cfg.seeds), cfg)
    summary.update(ran=len(report.ran), skipped=len(report.skipped))
    store.write_summary(summary)
    return summary
