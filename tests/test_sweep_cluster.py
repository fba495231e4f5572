"""The embedded Dask cluster's worker environment (sparsefield.sweep_cluster)."""

from __future__ import annotations

import os
import subprocess
import sys

CHECK = """
import os
from sparsefield.sweep_cluster import local_client

def env():
    return {k: os.environ.get(k) for k in ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_")}

with local_client(1) as client:
    (worker_env,) = client.run(env).values()
print(worker_env["MALLOC_MMAP_THRESHOLD_"], worker_env["MALLOC_TRIM_THRESHOLD_"])
"""


def test_workers_keep_a_fixed_mmap_threshold():
    """Dask sets MALLOC_TRIM_THRESHOLD_ for its workers, which pins glibc's mmap threshold at
    128 KiB (every large tensor mmapped and unmapped per step); the embedded cluster's
    workers must also carry a fixed 32 MiB mmap threshold."""
    env = dict(os.environ, OMP_NUM_THREADS="1", NUMBA_NUM_THREADS="1", MKL_NUM_THREADS="1")
    env.pop("MALLOC_MMAP_THRESHOLD_", None)
    out = subprocess.run([sys.executable, "-c", CHECK], env=env, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    mmap, trim = out.stdout.split()[-2:]
    assert int(mmap) == 32 * 2**20
    assert trim != "None"      # Dask's own trimming is kept
