"""Running config points x seeds resumably into a result store, for every experiment.

Pending (point, seed) pairs (those without a result file) are grouped by the trainer's
:meth:`Trainer.group` and trained ``max_members`` at a time as one chunk.  Each member's
result is written atomically as soon as its chunk finishes; a chunk's checkpoint lets an
interrupted long run continue where it stopped (:class:`sparsefield.empirical.train.Stopped`
ends one early).  The training itself is a plug-in (:class:`Trainer`):
:class:`EnsembleTrainer` (batched MLP/CNN ensembles, the default) or
:class:`sparsefield.empirical.gpt_train.GPTTrainer`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import torch

from . import locks
from .chunks import chunks
from .config import TRAIN_KEYS, RunOptions, group_key
from .data import Dataset, load
from .diag_theory import predict_record
from .init import resolve
from .memory import check_fits
from .models import build
from .store import DATA, INIT, MEMBER, PREDICTED, RUN, ResultStore, point_key
from .train import resolve_device, train_ensemble

Chunk = list[tuple[str, dict, int]]  # (label, point, seed) trained together


class Trainer(Protocol):
    """What the runner needs of one kind of training."""

    max_members: int | None  # largest chunk (``None``: ``RunOptions.max_members``)

    def group(self, p: dict) -> str:
        """Points with equal keys may train in one chunk."""

    def train(self, chunk: Chunk, device: torch.device, checkpoint: Path, desc: str,
              stop_after: int | None) -> list[dict]:
        """Train ``chunk`` (resuming from ``checkpoint`` when it exists, saving to it on the
        way); return each member's record ``metrics``."""


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
               opts: RunOptions, stop_after: int | None = None,
               trainer: Trainer | None = None) -> RunReport:
    """Train every (point, seed) not yet in ``store``; ``points`` are ``(label, point)``;
    ``trainer`` defaults to :class:`EnsembleTrainer`."""
    trainer = trainer or EnsembleTrainer(opts)
    report, todo = RunReport(), []
    for label, p in points:
        for seed in seeds:
            if store.has(p, seed):
                report.skipped.append((label, seed))
            else:
                todo.append((label, p, int(seed)))
    device = resolve_device(opts.device)
    # first the chunks nobody else is training, then wait for the others (locks.py)
    deferred = [c for c in chunks(todo, trainer.group, trainer.max_members or opts.max_members)
                if not _run_locked(store, c, trainer, device, stop_after, report, block=False)]
    for chunk in deferred:
        _run_locked(store, chunk, trainer, device, stop_after, report, block=True)
    return report


def _run_locked(store: ResultStore, chunk: Chunk, trainer: Trainer, device: torch.device,
                stop_after: int | None, report: RunReport, block: bool) -> bool:
    """Train ``chunk`` under its runs' locks unless another process finished it meanwhile;
    ``False`` (nothing done) when not ``block`` and another process holds a lock."""
    with locks.hold([locks.lock_path(store.dir, p, s) for _, p, s in chunk], block) as got:
        if not got:
            return False
        todo = [(label, p, seed) for label, p, seed in chunk if not store.has(p, seed)]
        report.skipped += [(label, seed) for label, p, seed in chunk if (label, p, seed) not in todo]
        if todo:
            run_chunk(store, todo, trainer, device, stop_after)
            report.ran += [(label, seed) for label, _, seed in todo]
    return True


def run_chunk(store: ResultStore, chunk: Chunk, trainer: Trainer, device: torch.device,
              stop_after: int | None = None) -> None:
    """Train one chunk with its checkpoint and store each member's record (callers hold
    the runs' locks: :func:`run_points`, :func:`sparsefield.sweep.ensemble_task`)."""
    ident = "|".join(f"{point_key(p)}:{s}" for _, p, s in chunk)
    ckpt = store.checkpoint_path(hashlib.sha256(ident.encode()).hexdigest()[:16])
    desc = f"{store.experiment} {chunk[0][0]}" + (f" +{len(chunk) - 1}" if len(chunk) > 1 else "")
    results = trainer.train(chunk, device, ckpt, desc, stop_after)
    for (label, p, seed), res in zip(chunk, results):
        store.write(p, seed, res, label)
    ckpt.unlink(missing_ok=True)


class EnsembleTrainer:
    """MLP/CNN points of one :func:`sparsefield.empirical.config.group_key` as one batched
    ensemble (:func:`sparsefield.empirical.train.train_ensemble`); data loaded once."""

    max_members = None

    def __init__(self, opts: RunOptions) -> None:
        self.opts, self.data_cache = opts, {}

    def group(self, p: dict) -> str:
        return group_key(p)

    def train(self, chunk: Chunk, device: torch.device, checkpoint: Path, desc: str,
              stop_after: int | None) -> list[dict]:
        p0 = chunk[0][1]
        dkey = str([p0[k] for k in ("dataset", "n_train", "n_test", "data_seed", "standardize")])
        if dkey not in self.data_cache:
            self.data_cache[dkey] = load_data(p0, self.opts)
        data = self.data_cache[dkey]
        check_fits(p0, data.shape, data.n_classes, len(chunk), device)
        inits = [resolve(p) for _, p, _ in chunk]
        seeds = [seed for _, _, seed in chunk]
        model = build(p0, inits, seeds, data.shape, data.n_classes,
                      [p["force_sparsity"] for _, p, _ in chunk])
        results = train_ensemble(model, data, {k: p0[k] for k in TRAIN_KEYS}, len(chunk), device,
                                 checkpoint=checkpoint, progress=self.opts.progress, desc=desc,
                                 stop_after=stop_after)
        for member, res in zip(inits, results):
            res[MEMBER] = member.info
            res[DATA] = {"name": data.name, "source": data.source, "shape": list(data.shape),
                           "n_train": len(data.x_train), "n_test": len(data.x_test),
                           "n_classes": data.n_classes}
            res[RUN] = {"device": str(device), "ensemble_size": len(chunk)}
            res[PREDICTED] = predict_record(member, p0, res[INIT])
        return results


def select(store, points: list[tuple[str, dict]], seeds: list[int]) -> list[dict]:
    """The stored records of these points and seeds (others in the store are ignored)."""
    keys = {point_key(p) for _, p in points}
    return [r for r in store if r["key"] in keys and r["seed"] in set(seeds)]


def run_experiment(name: str, points: list[tuple[str, dict]], summarise, cfg, opts: RunOptions,
                   stop_after: int | None = None, trainer: Trainer | None = None) -> dict:
    """An experiment's ``run``: train the missing (point, seed) pairs of ``cfg.seeds`` into
    ``ResultStore(opts.out, name)`` with ``trainer`` (:func:`run_points`), summarise the
    stored records of these points and seeds with ``summarise(records, cfg)``, and store
    the summary (with ``ran`` and ``skipped``)."""
    store = ResultStore(opts.out, name)
    report = run_points(store, points, cfg.seeds, opts, stop_after, trainer)
    summary = summarise(select(store, points, cfg.seeds), cfg)
    summary.update(ran=len(report.ran), skipped=len(report.skipped))
    store.write_summary(summary)
    return summary
