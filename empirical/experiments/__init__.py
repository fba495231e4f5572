"""Experiments, each one command: ``sparsefield experiment NAME [options]``.

An experiment is a module exposing

* ``HELP`` (one line) and ``Config`` (a dataclass; its fields become ``--options``, and
  a JSON ``--config`` file may set them);
* ``run(cfg, opts: RunOptions) -> dict`` that trains what is missing into
  ``ResultStore(opts.out, NAME)`` (see :func:`sparsefield.empirical.runner.run_points`) and returns
  (and stores, ``summary.json``) a JSON-able summary;
* ``summarise(records, cfg) -> dict`` computing the verdicts from stored records, and
  ``table(summary) -> str`` printing them.

Module top levels stay torch-free (the CLI imports them to build its parser); heavy
imports happen inside ``run``.  Adding one is one line in :data:`EXPERIMENTS`.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from sparsefield.theory.errors import ParameterError

EXPERIMENTS: dict[str, str] = {
    "drift": "sparsefield.empirical.experiments.drift",
    "clipping": "sparsefield.empirical.experiments.clipping",
    "tradeoff": "sparsefield.empirical.experiments.tradeoff",
    "gpt": "sparsefield.empirical.gpt_experiment",
}


def get(name: str) -> ModuleType:
    """The module of experiment ``name``."""
    if name not in EXPERIMENTS:
        raise ParameterError("experiment", name, f"one of {sorted(EXPERIMENTS)}")
    return importlib.import_module(EXPERIMENTS[name])
