"""Where a run reads and writes, and on what device: checks of folders and device names
(torch-free, no training config).  The command line, the sweeps and
:func:`sparsefield.empirical.config_cli.validate_options` use them; each raises
:class:`ParameterError` naming the parameter and what it should be.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from sparsefield.theory.errors import ParameterError


def check_out_dir(param: str, path: str | os.PathLike) -> Path:
    """``path`` as a folder results can be written to: an existing writable folder, or
    one that can be created (its nearest existing parent is a writable folder)."""
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise ParameterError(param, str(path), "a folder (it is a file)")
    probe = p
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if not probe.is_dir():
        raise ParameterError(param, str(path), f"a folder ({probe} is a file)")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise ParameterError(param, str(path), f"a writable folder ({probe} is read-only)")
    return p


def check_in_dir(param: str, path: str | os.PathLike | None) -> Path | None:
    """``path`` as an existing folder (``None`` passes)."""
    if path is None:
        return None
    p = Path(path)
    if not p.is_dir():
        raise ParameterError(param, str(path), "an existing folder")
    return p


DEVICE_PATTERN = r"auto|cpu|cuda(:\d{1,3})?"


def check_device(name: str, param: str = "device") -> str:
    """``auto``, ``cpu``, ``cuda`` or ``cuda:N`` (whether that device exists is checked
    when the run starts)."""
    if not isinstance(name, str) or not re.fullmatch(DEVICE_PATTERN, name):
        raise ParameterError(param, name, "auto, cpu, cuda or cuda:N")
    return name
