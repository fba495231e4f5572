"""Issue 26, security: attacks by a second local user (a numeric uid, made by running as
it: needs root, skipped otherwise) and by callers of the Python API.  Each test plants the
attack the audit used and shows it no longer works."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.local_attacker import as_other, needs_root, remove, shared_tmp

ENV = dict(os.environ, OMP_NUM_THREADS="1", NUMBA_NUM_THREADS="1", MKL_NUM_THREADS="1")

# --- Dask's scratch folder --------------------------------------------------------------------
CLUSTER = """
import importlib.util, os, sys
from sparsefield.sweep_cluster import local_client

def found():
    return importlib.util.find_spec("sf_planted") is not None, list(sys.path)

with local_client(1) as client:
    (worker, wpath), = client.run(found).values()
    here, cpath = found()
    print(worker, here)
    for p in wpath + cpath:
        st = os.stat(p) if os.path.isdir(p) else None
        assert st is None or st.st_mode & 0o002 == 0 or st.st_mode & 0o1000, p
"""
PLANT = """
for d in dask-scratch-space dask-scratch-space-{uid}; do
  mkdir -m777 $d && printf 'open("{marker}", "w").write("pwned")\\n' > $d/sf_planted.py
  chmod 666 $d/sf_planted.py
done
"""


@needs_root
def test_dask_scratch_planted_by_another_user_is_not_on_sys_path():
    """Another user creates ``$TMPDIR/dask-scratch-space[-uid]`` (mode 777) with a module
    in it first; neither the client nor a worker can import it (before the fix both could:
    Dask put that folder first on ``sys.path``)."""
    tmp = shared_tmp()
    try:
        marker = tmp / "marker"
        as_other(PLANT.format(uid=os.getuid(), marker=marker), cwd=tmp)
        out = subprocess.run([sys.executable, "-c", CLUSTER], env=dict(ENV, TMPDIR=str(tmp)),
                             capture_output=True, text=True, timeout=300)
        assert out.returncode == 0, out.stderr[-2000:]
        assert out.stdout.split()[-2:] == ["False", "False"], out.stdout
        assert not marker.exists()
        assert not list(tmp.glob("sparsefield-dask-*")), "private scratch not removed"
    finally:
        remove(tmp)
