"""A second local user for attack tests: a numeric uid with no passwd entry, used through
``subprocess.run(user=...)`` (needs root; tests skip otherwise), and a shared folder
like ``/tmp`` (mode 1777) that both users can write."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

OTHER_UID = 54321  # no passwd entry needed: the kernel only checks the number

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="a second uid needs root to act as it")


def as_other(script: str, cwd: Path | None = None) -> None:
    """Run the shell ``script`` as :data:`OTHER_UID` (the attacker)."""
    subprocess.run(["sh", "-c", script], user=OTHER_UID, group=OTHER_UID, check=True,
                   cwd=cwd, env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")})


def shared_tmp() -> Path:
    """A fresh folder with /tmp's permissions (world-writable, sticky)."""
    path = Path(tempfile.mkdtemp(prefix="sf-shared-"))
    path.chmod(0o1777)
    return path


def remove(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
