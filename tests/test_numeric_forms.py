"""Issue 28, cold start: a catalogue activation's numeric forms come from generated source
cached on disk (theory/numeric_forms.py, theory/codecache.py), so that ``derive`` and the
mean-field maps run without importing sympy once the cache is warm.  Each cached form is
checked against sympy's own ``lambdify`` of the definition, evaluated here."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import sympy as sp

from sparsefield.theory import activations as A
from sparsefield.theory import codecache, numeric_forms

FAMILIES = list(A.CATALOGUE.values())
X = np.array([-7.5, -2.2, -1.0, -0.3, 0.0, 0.4, 1.0, 1.7, 3.1, 8.0])


def _params(fam) -> list[tuple[float, ...]]:
    return [fam.bind(**ex).values for ex in fam.examples
            if not (fam.params and not ex and any(p.default is None for p in fam.params))]


@pytest.mark.parametrize("fam", FAMILIES, ids=[f.name for f in FAMILIES])
def test_cached_forms_equal_sympys_lambdify(fam):
    """Every generated function equals a fresh ``lambdify`` of the sympy definition (the
    route the cache replaces), and every fact equals the sympy computation."""
    A.validate(fam)  # the catalogue is not validated at import
    forms, mods = fam.forms, ["scipy", "numpy"]
    syms = (A.X, *fam.symbols)
    with np.errstate(all="ignore"):
        for values in _params(fam):
            for k in range(3):
                want = sp.lambdify(syms, fam.expr(k), mods)(X, *values) + 0 * X
                np.testing.assert_array_equal(getattr(forms, f"FULL_{k}")(X, *values) + 0 * X, want)
                for i, p in enumerate(fam.pieces_sym(k)):
                    want = sp.lambdify(syms, p, mods)(X, *values) + 0 * X
                    np.testing.assert_array_equal(getattr(forms, f"PIECE_{k}_{i}")(X, *values) + 0 * X,
                                                  want)
            for name, exprs in (("BREAKS", fam.breaks_sym), ("KINK_JUMPS", fam.kink_jumps_sym),
                                ("VALUE_JUMPS", fam.value_jumps_sym)):
                want = sp.lambdify(fam.symbols, list(exprs), "numpy")(*values)
                np.testing.assert_array_equal(np.asarray(getattr(forms, name)(*values), float),
                                              np.asarray(want, float))
            for k in (0, 1):
                f, g = fam.scalar_source(k), fam.sym_lambdify([fam.expr(k)], "math")[0]
                for x in X.tolist():
                    try:
                        want = g(x, *values)
                    except OverflowError:
                        continue
                    assert f(x, *values) == want
    assert forms.IS_PIECEWISE_LINEAR == fam.sym_is_piecewise_linear()
    assert forms.ZERO_PIECES == fam.sym_zero_pieces() and forms.PARITY == fam.sym_parity()
    assert forms.HAS_JUMPS == any(j != 0 for j in fam.value_jumps_sym)
    assert forms.ZERO_SIMPLIFIED == tuple(tuple(bool(sp.simplify(p) == 0) for p in fam.pieces_sym(k))
                                          for k in range(3))


def test_a_bad_definition_is_still_refused_by_define():
    with pytest.raises(A.ParameterError, match="pieces"):
        A.define("bad", [], lambda: (0,), lambda x: (x,), "one piece for two intervals")


def test_a_corrupted_cached_module_is_regenerated(tmp_path, monkeypatch):
    """A cached forms file whose content does not hash to its name is never imported."""
    monkeypatch.setenv("SPARSEFIELD_CACHE_DIR", str(tmp_path))
    marker = tmp_path / "marker"
    build = lambda: "VALUE = 1.5\n"  # noqa: E731
    assert codecache.load_keyed("t_demo", "key-a", build).VALUE == 1.5
    (path,) = (tmp_path / "generated").glob("sf_t_demo_*.py")
    path.write_text(f'open("{marker}", "w").write("pwned")\nVALUE = -1.0\n')
    sys.modules.pop(path.stem)
    with pytest.warns(UserWarning, match="does not match its hash"):
        assert codecache.load_keyed("t_demo", "key-a", build).VALUE == 1.5
    assert not marker.exists()


def test_an_unusable_cache_folder_is_not_read(tmp_path, monkeypatch):
    """A cache folder others can write is refused (not read); the forms are built in memory."""
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    monkeypatch.setenv("SPARSEFIELD_CACHE_DIR", str(shared))
    with pytest.warns(UserWarning, match="cache not used.*SPARSEFIELD_CACHE_DIR"):
        mod = codecache.load_keyed("t_demo", "key-b", lambda: "VALUE = 2.5\n")
    assert mod.VALUE == 2.5 and not (shared / "generated").exists()


def test_a_file_that_vanishes_during_the_check_is_skipped(tmp_path, monkeypatch):
    """Another process's temporary file, listed and then renamed before its ``lstat``, is not
    an error (parallel test workers and Dask workers fill one cache); a foreign file still is."""
    from pathlib import Path

    folder = tmp_path / "cache"
    folder.mkdir(mode=0o700)
    (folder / "gone.tmp").write_text("")
    real_lstat = Path.lstat

    def vanishing(self, *a, **kw):
        if self.name == "gone.tmp":
            raise FileNotFoundError(2, "No such file or directory", str(self))
        return real_lstat(self, *a, **kw)
    monkeypatch.setattr(Path, "lstat", vanishing)
    assert codecache.private_folder(folder) == folder
    (folder / "shared.py").write_text("")
    (folder / "shared.py").chmod(0o666)
    with pytest.raises(A.ParameterError, match="shared.py"):
        codecache.private_folder(folder)


def test_user_defined_families_are_generated_in_memory(tmp_path, monkeypatch):
    monkeypatch.setenv("SPARSEFIELD_CACHE_DIR", str(tmp_path))
    fam = A.define("clip2", [], lambda: (-2, 2), lambda x: (-2, x, 2), "hardtanh at 2")
    act = fam.bind()
    np.testing.assert_array_equal(act(np.array([-3.0, 0.5, 3.0])), [-2.0, 0.5, 2.0])
    assert fam.is_piecewise_linear and fam.scalar_source(1)(0.5) == 1.0
    assert not (tmp_path / "generated").exists()
    assert numeric_forms.family_fact(fam, "demo", lambda: 7) == 7


# --- the cold path in a fresh process -------------------------------------------------
SCRIPT = """
import io, json, sys
from contextlib import redirect_stdout
{block}
from sparsefield.cli import main
buf = io.StringIO()
with redirect_stdout(buf):
    main(["derive", "--activation", "crelu", "--sparsity", "0.85", "--vprime", "0.5", "--json"])
from sparsefield.theory.maps import MeanField
out = {{"derive": json.loads(buf.getvalue())}}
for name in ("relu", "crelu:tau=0.5,m=1", "tanh", "elu", "relu2"):
    mf = MeanField(name, 2.0, 0.1)
    out[name] = [float(mf.V(1.0)), float(mf.chi1(1.0)), float(mf.R(0.5, 1.0))]
out["sympy imported"] = sys.modules.get("sympy") is not None
print(json.dumps(out))
"""
BLOCK = 'sys.modules["sympy"] = None  # import sympy now raises ImportError'


def _run(cache, block: bool):
    env = dict(os.environ, SPARSEFIELD_CACHE_DIR=str(cache))
    return subprocess.run([sys.executable, "-c", SCRIPT.format(block=BLOCK if block else "")],
                          env=env, capture_output=True, text=True)


def test_derive_and_the_maps_run_without_sympy_once_cached(tmp_path):
    cold = _run(tmp_path, block=True)  # empty cache: the forms need sympy, and it is blocked
    assert cold.returncode != 0 and "sympy" in cold.stderr
    first = _run(tmp_path, block=False)  # fills the cache (imports sympy to do so)
    assert first.returncode == 0, first.stderr[-2000:]
    warm = _run(tmp_path, block=True)
    assert warm.returncode == 0, warm.stderr[-2000:]
    a, b = json.loads(first.stdout), json.loads(warm.stdout)
    assert a.pop("sympy imported") and not b.pop("sympy imported")
    assert a == b
    assert b["derive"]["vprime"] == pytest.approx(0.5, rel=1e-12)
    assert b["relu"][:2] == pytest.approx([1.1, 1.0], rel=1e-14)  # V = 2 q/2 + 0.1, chi1 = 1


def test_the_cached_asymptote_equals_sympys_limits_at_each_example():
    """The tails' asymptote found once with the parameters as symbols (cached with the forms)
    equals sympy's limits taken at each example's values (the route it replaces); families
    without parameters take the same limits either way."""
    from sparsefield.theory import tails

    checked = 0
    for fam in (f for f in FAMILIES if f.params):
        for values in _params(fam):
            act = A.Activation(fam, values)
            per = tails._asymptote(act)
            want = None if per is None else tuple(tuple(float(v) for v in p) for p in per)
            assert tails.asymptote(act) == want, (fam.name, values)
            checked += want is not None
    assert checked >= 20
