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
    one that can be created (its nearest existing parent is a writable folder), not under
    ``/proc``, ``/sys`` or ``/dev``, reached without looping or dangling links."""
    p = real_folder(param, path)
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


PSEUDO_FS = ("/proc", "/sys", "/dev")


def real_folder(param: str, path: str | os.PathLike) -> Path:
    """``Path(path)`` unless it is empty, a file, under a pseudo file system, or reached
    through a looping or dangling symbolic link (:class:`ParameterError`)."""
    if not str(path).strip():
        raise ParameterError(param, str(path), "a folder path (it is empty)")
    p = Path(path)
    try:
        real = p.resolve(strict=False)
    except (RuntimeError, OSError) as err:  # a symlink loop (RuntimeError before 3.13)
        raise ParameterError(param, str(path), f"a folder reached without looping links ({err})") from None
    for probe in (p, *p.parents):
        if os.path.lexists(probe) and not probe.exists():
            raise ParameterError(param, str(path), f"a folder ({probe} is a dangling or looping "
                                 "symbolic link)")
    if any(real == Path(d) or Path(d) in real.parents for d in PSEUDO_FS):
        raise ParameterError(param, str(path), f"a folder outside {', '.join(PSEUDO_FS)}")
    if p.exists() and not p.is_dir():
        raise ParameterError(param, str(path), "a folder (it is a file)")
    return p


def check_results_dir(param: str, path: str | os.PathLike) -> Path:
    """A results root to read: an existing folder, or an absent one (nothing stored yet)
    whose nearest existing parent is a folder."""
    p = real_folder(param, path)
    probe = p
    while not probe.exists() and probe.parent != probe:
        probe = probe.parent
    if not probe.is_dir():
        raise ParameterError(param, str(path), f"a folder ({probe} is a file)")
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
