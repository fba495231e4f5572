"""The Monte Carlo kernels are compiled once per family and machine: a fresh process loads
them from numba's on-disk cache (compilations counted where numba performs every one,
``numba.core.compiler.compile_extra``)."""

import json
import os
import subprocess
import sys

import numpy as np

SCRIPT = """
import json
import numpy as np
import numba.core.compiler as C
names = []
compile_extra = C.compile_extra
def counting(typingctx, targetctx, func, *args, **kwargs):
    names.append(getattr(func, "__qualname__", repr(func)))
    return compile_extra(typingctx, targetctx, func, *args, **kwargs)
C.compile_extra = counting
from sparsefield.numerics import kernels
block = kernels.fused("crelu")
out = np.empty(len(kernels.FEATURES) + len(kernels.CONTROLS))
z = np.array([1.5 / 1.2, 0.3, -1.5 / 1.2, 2.0])  # one plain pair: x = 1.5, 0.36, -1.5, 2.4
block(z, (1.0, 0.8), 1.2, 0.0, 1, False, out)
print(json.dumps({"compiled": names, "out": out.tolist()}))
"""


def run(cache):
    env = dict(os.environ, SPARSEFIELD_CACHE_DIR=str(cache))
    out = subprocess.run([sys.executable, "-c", SCRIPT], env=env, check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out.splitlines()[-1])


def test_second_process_compiles_nothing(tmp_path):
    first = run(tmp_path)
    assert {"gaussian_block", "SCALAR_0", "SCALAR_1"} <= set(first["compiled"])
    # crelu(x; tau=1, m=0.8) at 1.5, 0.36, -1.5, 2.4: 0.5, 0, 0, 0.8; mean of phi = 1.3 / 4
    assert first["out"][0] == np.float64(1.3) / 4
    files = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    assert any(str(f).endswith(".nbc") for f in files)
    second = run(tmp_path)
    assert second["compiled"] == [] and second["out"] == first["out"]
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == files
