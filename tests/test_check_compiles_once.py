"""A second ``sparsefield check`` in a fresh process compiles nothing: every numba
function it needs (the generated activation callbacks, the Monte Carlo kernels) loads from
numba's on-disk cache.  Compilations are counted where numba performs every one of them,
``numba.core.compiler.compile_extra`` (a cache hit never calls it)."""

import json
import os
import subprocess
import sys

import pytest

PROBE = """
import json, sys
import numba.core.compiler as C
names = []
compile_extra = C.compile_extra
def counting(typingctx, targetctx, func, *args, **kwargs):
    names.append(getattr(func, "__qualname__", repr(func)))
    return compile_extra(typingctx, targetctx, func, *args, **kwargs)
C.compile_extra = counting
from sparsefield.cli import main
rc = main(sys.argv[1:])
print(json.dumps({"rc": rc, "compiled": names}), file=sys.stderr)
"""


def compiled(cache, argv: list[str]) -> list[str]:
    """Names of the functions numba compiled while ``sparsefield ARGV`` ran in a fresh
    process with the callback cache in ``cache``."""
    env = dict(os.environ, SPARSEFIELD_CACHE_DIR=str(cache))
    proc = subprocess.run([sys.executable, "-c", PROBE, *argv], env=env, capture_output=True,
                          text=True, timeout=600)
    out = json.loads(proc.stderr.strip().splitlines()[-1])
    assert out["rc"] == 0, proc.stderr[-2000:]
    return out["compiled"]


def _twice(tmp_path, argv):
    first = compiled(tmp_path, argv)
    # a fresh cache folder: at least the generated activation callbacks were compiled
    assert {"SCALAR_0", "SCALAR_1"} <= set(first), first  # phi, phi' (theory/numeric_forms.py)
    assert compiled(tmp_path, argv) == []


def test_second_check_of_one_activation_compiles_nothing(tmp_path):
    _twice(tmp_path, ["check", "--quick", "--json", "--activation", "crelu"])


@pytest.mark.slow
def test_second_quick_check_compiles_nothing(tmp_path):
    _twice(tmp_path, ["check", "--quick", "--json"])
