"""The result store: one JSON per (config point, seed), written atomically, and the one
owner of every name in the stored results.

A run is resumable because a finished (point, seed) is a file that is skipped when present.
Each file holds the point's config, the seed, package versions and the metrics.  Torch-free
at import: :mod:`figures` reads results through :meth:`ResultStore.load_all`.

Names (docs/theory.md section 7): the metric keys of a record (``metric("test",
ZERO_FRAC)`` is ``test_zero_frac``), the sections of its ``metrics``, the GPT per-layer
keys, and every stored path (record files, ``summary.json``, checkpoints, report parts,
sweep folders and their CSVs, the paper-size tables) are spelled here only; every other
module asks this one (``tests/test_results_names.py`` scans the sources for stray
spellings).  Layout under a results root::

    <experiment>/<label>__<key>__seed<seed>.json   one record (ResultStore)
    <experiment>/summary.json                       the experiment's verdicts
    <experiment>/checkpoints/<key>.pt               a run in progress
    <experiment>/sweep-<size>/sweep.json            a sweep's record; summary.csv, points.csv
    theory/<part>.json, numerics/<part>.json        report parts (write_part)
"""

from __future__ import annotations

import errno
import hashlib
import json
import math
import os
import pickle
import platform
import re
import sys
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Any, Iterator

PACKAGES = ("sparsefield", "numpy", "scipy", "sympy", "numba", "torch")

# --- names: the keys of a record's ``metrics`` ---------------------------------------------
# sections of ``metrics`` (an MLP record: train / eval histories, final, init, member, data, run)
TRAIN, EVAL, FINAL, INIT, MEMBER, DATA, RUN, MODEL = (
    "train", "eval", "final", "init", "member", "data", "run", "model")
TEST = "test"  # the evaluation splits are TEST and TRAIN
STEP = "step"  # the logged step of every history
# per-layer statistics of an evaluation pass (prefixed by the split) and of training
ACC, LOSS = "acc", "loss"
ZERO_FRAC, SOFT_FRAC, Q = "zero_frac", "soft_frac", "q"
NZ_SAMPLE_MEAN, NZ_SAMPLE_STD, NZ_SAMPLE_MIN = "nz_sample_mean", "nz_sample_std", "nz_sample_min"
ACT_MAX, DEAD_FRAC = "act_max", "dead_frac"
# parameter statistics, per layer, and the training loss of every step
W_MEAN, W_NEG, B_MEAN, W_PROJ = "w_mean", "w_neg", "b_mean", "w_proj"
OUT_COLMEAN_DEV, GRAD_NORM, LOSS_STEPS = "out_colmean_dev", "grad_norm", "loss_steps"
# gradients at initialisation (section INIT)
B_GRAD_MEAN, W_GRAD_MEAN, CE_HESS_TRACE = "b_grad_mean", "w_grad_mean", "ce_hess_trace"


def metric(split: str, stat: str) -> str:
    """The key of statistic ``stat`` evaluated on ``split``: ``metric("test", "q")`` is
    ``test_q`` (also the training-time statistics: ``metric(TRAIN, ZERO_FRAC)``)."""
    return f"{split}_{stat}"


TEST_ACC, TEST_LOSS = metric(TEST, ACC), metric(TEST, LOSS)
TRAIN_ACC, TRAIN_LOSS = metric(TRAIN, ACC), metric(TRAIN, LOSS)
TEST_ZERO_FRAC, TRAIN_ZERO_FRAC = metric(TEST, ZERO_FRAC), metric(TRAIN, ZERO_FRAC)
TEST_Q, TEST_DEAD_FRAC = metric(TEST, Q), metric(TEST, DEAD_FRAC)
TEST_ACT_MAX = metric(TEST, ACT_MAX)
# section FINAL: the headline numbers of a run
FINITE, LOSS_SPIKES = "finite", "loss_spikes"
INIT_TEST_ZERO_FRAC = metric(INIT, TEST_ZERO_FRAC)

# the GPT experiment: history keys (section EVAL), per MLP layer, and FINAL
VAL_LOSS, TOPK_VAL_LOSS, TOKENS, TIME_S, LR = "val_loss", "topk_val_loss", "tokens", "time_s", "lr"
ZERO_SPARSITY, SOFT_SPARSITY, NONZERO = "zero_sparsity", "soft_sparsity", "nonzero"
SEQ_USAGE, BATCH_USAGE, DEAD, MAX_ACT = "seq_usage", "batch_usage", "dead", "max_act"
UP, DOWN = "up", "down"  # the MLP projections
DW_MEAN, DW_PROJ = "dw_mean", "dw_proj"


def projection(proj: str, stat: str) -> str:
    """Key of a drift statistic of one MLP projection: ``projection(UP, W_MEAN)`` is
    ``up_w_mean``."""
    return f"{proj}_{stat}"


GPT_LAYER_KEYS = (ZERO_SPARSITY, SOFT_SPARSITY, NONZERO, SEQ_USAGE, BATCH_USAGE, DEAD, MAX_ACT,
                  *(projection(UP, k) for k in (W_MEAN, DW_MEAN, DW_PROJ, B_MEAN)),
                  *(projection(DOWN, k) for k in (W_MEAN, DW_MEAN, DW_PROJ)))


def topk_key(frac: float) -> str:
    """History key of the validation loss under per-token top-k keeping ``frac``."""
    return f"topk_{frac:g}"


def section(record: dict, name: str) -> dict:
    """``record["metrics"][name]`` (``{}`` when the record has no such section)."""
    return record["metrics"].get(name, {})


def series(record: dict, name: str, key: str):
    """``metrics[name][key]`` as a float array (``null`` -> ``nan``)."""
    import numpy as np

    return np.asarray(record["metrics"][name][key], dtype=float)


def final(record: dict, key: str):
    """A headline number of a run: ``metrics["final"][key]`` (``None`` when absent)."""
    return record["metrics"][FINAL].get(key)


# --- names: stored paths -------------------------------------------------------------------
SUMMARY_JSON = "summary.json"
CHECKPOINTS = "checkpoints"
PART_GROUPS = ("theory", "numerics")  # report parts: <group>/<name>.json
SWEEP_RECORD, SWEEP_SUMMARY_CSV, SWEEP_POINTS_CSV = "sweep.json", "summary.csv", "points.csv"
# the paper-size tables under docs/results/ (CSV + PNG of each stem), in report order
PAPER_TABLES = {"p24": "p24_depth100", "p24long": "p24_depth100_long",
                "depth": "p24_depth_sweep", "dt26": "dt26_qstar"}


def part_file(group: str, name: str) -> str:
    """A report part's path relative to the results root: ``theory/variance_maps.json``."""
    return f"{group}/{name}.json"


def part_path(root: str | Path, group: str, name: str) -> Path:
    return Path(root) / part_file(group, name)


def sweep_dir(experiment_dir: str | Path, size: str) -> Path:
    """The folder of one sweep size's outputs: ``<experiment>/sweep-<size>``; ``size`` is
    a slug (or the glob ``*``), never a path."""
    if not re.fullmatch(r"\*|[A-Za-z0-9][A-Za-z0-9_-]{0,63}", str(size)):
        raise ValueError(f"sweep size {size!r} is not a slug")
    return Path(experiment_dir) / f"sweep-{size}"


def sweep_records(root: str | Path) -> list[Path]:
    """Every ``sweep.json`` under a results root, sorted."""
    return sorted(Path(root).glob(f"*/{sweep_dir('', '*')}/{SWEEP_RECORD}"))


def figure_list(paths) -> list[str]:
    """The ``figures`` entry of a sweep's ``outputs`` as written: a JSON list of paths."""
    return [str(p) for p in paths]


def figure_paths(outputs: dict) -> list[str]:
    """The figure paths of a sweep's ``outputs``: a list, or (records written before) one
    space-separated string."""
    figs = outputs.get("figures") or []
    return figs.split() if isinstance(figs, str) else [str(f) for f in figs]


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


def atomic_torch_save(path: str | Path, obj: Any) -> Path:
    """``torch.save`` to ``path`` via a temporary file and ``os.replace`` (checkpoints)."""
    # torch and numpy only for checkpoints: figures and the CLI read records without them
    import torch

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.fchmod(fd, file_mode())
    os.close(fd)
    try:
        with open(tmp, "wb") as fh:
            torch.save(obj, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as err:  # e.g. a full disk: name the file
        raise OSError(err.errno, err.strerror or str(err), str(path)) from None
    except RuntimeError as err:  # torch's writer wraps the failing write
        raise OSError(errno.EIO, f"could not write the checkpoint ({str(err)[:120]})",
                      str(path)) from None
    finally:
        Path(tmp).unlink(missing_ok=True)
    return path


class BadCheckpoint(ValueError):
    """A checkpoint that cannot be read as plain tensors and containers."""


def load_checkpoint(path: str | Path, device) -> dict:
    """A checkpoint written by :func:`atomic_torch_save`, read with
    ``torch.load(weights_only=True)``: tensors, numbers, strings, lists and dicts only, so
    a planted file cannot run code.  Anything else raises :class:`BadCheckpoint`."""
    # torch and numpy only for checkpoints: figures and the CLI read records without them
    import torch

    try:
        state = torch.load(path, map_location=device, weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, OSError, ValueError) as err:
        why = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise BadCheckpoint(f"checkpoint {path} is not a plain-tensor checkpoint ({why[:160]})") from None
    if not isinstance(state, dict):
        raise BadCheckpoint(f"checkpoint {path} does not hold a dict")
    return state


def numpy_to_tensors(obj: Any) -> Any:
    """Copy of ``obj`` with numpy arrays as tensors (checkpoints hold tensors only)."""
    # torch and numpy only for checkpoints: figures and the CLI read records without them
    import numpy as np
    import torch

    if isinstance(obj, np.ndarray):
        return torch.from_numpy(np.ascontiguousarray(obj))
    if isinstance(obj, dict):
        return {k: numpy_to_tensors(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [numpy_to_tensors(v) for v in obj]
    return obj


def tensors_to_numpy(obj: Any) -> Any:
    """Inverse of :func:`numpy_to_tensors` for a history read from a checkpoint."""
    # torch and numpy only for checkpoints: figures and the CLI read records without them
    import torch

    if isinstance(obj, torch.Tensor):
        return obj.cpu().numpy()
    if isinstance(obj, dict):
        return {k: tensors_to_numpy(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [tensors_to_numpy(v) for v in obj]
    return obj


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
