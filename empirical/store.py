"""The engine's view of the result store: every name and reader/writer of
:mod:`sparsefield.results` (re-exported here, so the training code asks one module), plus
the torch checkpoints of runs in progress, written atomically and read back as plain
tensors only (``torch.load(weights_only=True)``).

The schema, the names and the torch-free IO live in :mod:`sparsefield.results`
(``names``, ``io``, ``records``), where :mod:`sparsefield.figures` reads them without
importing this package.  Torch-free at import.
"""

from __future__ import annotations

import errno
import os
import pickle
import tempfile
from pathlib import Path
from typing import Any

from sparsefield.results.io import (  # noqa: F401
    FINAL_FROM_LAST_EVAL,
    PACKAGES,
    CorruptRecord,
    ResultStore,
    atomic_write_json,
    atomic_write_text,
    check_metrics,
    check_record,
    current_umask,
    file_mode,
    jsonable,
    point_key,
    read_json,
    read_record,
    versions,
    warn_corrupt,
    write_part,
)
from sparsefield.results.names import *  # noqa: F401,F403 -- the engine reads names here


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


