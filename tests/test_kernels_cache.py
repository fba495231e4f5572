"""Numba callbacks are compiled once per machine: a fresh process loads them from disk."""

import os
import subprocess
import sys

SCRIPT = """
from sparsefield.numerics import kernels
cbs = kernels.callbacks("crelu")
print(sum(c.cache_hits for c in cbs), cbs[0](1.5, 1.0, 0.8), cbs[1](1.5, 1.0, 0.8))
"""


def run(cache):
    env = dict(os.environ, SPARSEFIELD_CACHE_DIR=str(cache))
    out = subprocess.run([sys.executable, "-c", SCRIPT], env=env, check=True,
                         capture_output=True, text=True).stdout.split()
    return int(out[0]), float(out[1]), float(out[2])


def test_second_process_compiles_nothing(tmp_path):
    hits, phi, dphi = run(tmp_path)
    assert hits == 0 and (phi, dphi) == (0.5, 1.0)  # crelu(1.5; tau=1, m=0.8) = 0.5
    files = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    assert any(str(f).endswith(".nbc") for f in files)
    hits, phi, dphi = run(tmp_path)
    assert hits == 2 and (phi, dphi) == (0.5, 1.0)  # both callbacks loaded from the cache
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == files
