"""Per-run locks: two processes sharing a results folder never train one (point, seed)
twice.  A run's lock is ``<experiment>/locks/<key>__seed<seed>.lock``, held with
``fcntl.flock`` (released by the kernel when its holder dies, so a killed run leaves no
stale lock); whoever gets it checks the store again before training."""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path
from typing import Iterator

from .store import point_key


def lock_path(store_dir: Path, config: dict, seed: int) -> Path:
    return Path(store_dir) / "locks" / f"{point_key(config)}__seed{int(seed)}.lock"


@contextlib.contextmanager
def hold(paths: list[Path], block: bool = True) -> Iterator[bool]:
    """Hold the locks ``paths`` (sorted: no deadlock between holders of overlapping sets);
    yields ``False`` at once when ``block`` is false and one is held elsewhere."""
    fds: list[int] = []
    try:
        for p in sorted(set(paths)):
            p.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(p, os.O_RDWR | os.O_CREAT, 0o600)
            fds.append(fd)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | (0 if block else fcntl.LOCK_NB))
            except BlockingIOError:
                yield False
                return
        yield True
    finally:
        for fd in fds:
            os.close(fd)  # closing releases the flock
