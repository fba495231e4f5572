"""Mutation smoke test: plant known bugs, one at a time, and check the suite catches each.

Run by a developer (not CI): ``python benchmarks/mutation_smoke.py [-k NAME] [--list]``.
Every mutant is one textual edit of one source file, applied to a temporary copy of the
repository (the working tree is never touched).  The copy is put first on ``PYTHONPATH``
as the ``sparsefield`` package, and the tests that should catch the bug run there; the
mutant is *killed* when they fail.  An unmutated copy runs the same tests first (they
must pass, or a kill means nothing).  A mutant whose source text is no longer found is
*stale*: the code moved and the entry below must follow it.  Exit status 0 only when
every mutant is killed.

The first five are the survivors of issue 24's mutation check (tests/test_planted_bugs.py
kills them); the others guard properties the suite checked already.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SUBPACKAGES = ("theory", "numerics", "empirical", "figures")  # installed as sparsefield.<name>
SKIP_ANYWHERE = shutil.ignore_patterns(".git", ".venv", "__pycache__", "*.pyc", ".pytest_cache",
                                       ".hypothesis", "*.egg-info")
SKIP_AT_ROOT = {"results", "report", "build"}  # outputs of runs (sparsefield/results is code)


def skip(folder: str, names: list[str]) -> set[str]:
    out = SKIP_ANYWHERE(folder, names)
    return out | (SKIP_AT_ROOT & set(names) if Path(folder) == ROOT else set())


@dataclass(frozen=True)
class Mutant:
    """Replace ``old`` (which must occur exactly once) by ``new`` in ``path``; ``tests`` are
    pytest arguments that must then fail.  ``also``: other ``(path, old, new)`` spellings of
    the same bug where the code may have moved (the first that applies is planted)."""

    name: str
    path: str
    old: str
    new: str
    tests: tuple[str, ...]
    also: tuple[tuple[str, str, str], ...] = ()


RESULTS_IO = "sparsefield/results/io.py"
MUTANTS = (
    Mutant("correlation clamp at 0", "theory/maps.py",
           "np.clip(self.R(rhos[-1], ql), -1.0, 1.0)", "np.clip(self.R(rhos[-1], ql), 0.0, 1.0)",
           ("tests/test_planted_bugs.py", "-k", "correlations")),
    Mutant("write in place, not atomic", RESULTS_IO,
           "    return atomic_write_text(path, json.dumps(jsonable(obj), indent=1, allow_nan=False))",
           "    Path(path).parent.mkdir(parents=True, exist_ok=True)\n"
           "    Path(path).write_text(json.dumps(jsonable(obj), indent=1, allow_nan=False))\n"
           "    return Path(path)",
           ("tests/test_planted_bugs.py", "tests/test_empirical_store.py")),
    Mutant("explodes when q^L/q* > 0", "empirical/verdicts.py",
           "EXPLODES_ABOVE = 2.0", "EXPLODES_ABOVE = 0.0",
           ("tests/test_planted_bugs.py", "-k", "depth_verdicts")),
    Mutant("record key/config check off", RESULTS_IO,
           'if rec["key"] != point_key(rec["config"]):', "if False:",
           ("tests/test_planted_bugs.py", "-k", "key")),
    Mutant("Newton bracket off by one", "theory/clipping.py",
           "q[rows, np.maximum(i - 1, 0)]", "q[rows, np.maximum(i, 0)]",
           ("tests/test_planted_bugs.py", "-k", "bifurcation")),
    Mutant("a failed half counts as failed", "empirical/experiments/baseline.py",
           "if 2 * n_failed > n:", "if 2 * n_failed >= n:",
           ("tests/test_empirical_experiments.py", "-k", "verdict_rules")),
    Mutant("small-clip V'(q*) over rounded widths", "theory/clipping.py",
           "half = (np.where(short, width, 0.0) / 2.0)[..., None]",
           "half = (np.where(short, e[k + 1] - e[k], 0.0) / 2.0)[..., None]",
           ("tests/test_fixed_points.py", "-k", "tiny_targets")),
    Mutant("drift table formats a stored null", "empirical/experiments/drift.py",
           'return format(float("nan") if value is None else value, spec)',
           "return format(value, spec)",
           ("tests/test_empirical_experiments.py", "-k", "json")),
    Mutant("infinity stored as a number", RESULTS_IO,
           "if isinstance(obj, float) and not math.isfinite(obj):",
           "if isinstance(obj, float) and math.isnan(obj):",
           ("tests/test_empirical_store.py", "-k", "roundtrip")),
    Mutant("z-score without the rounding floor", "numerics/stats.py",
           "se = math.hypot(self.stderr, ROUNDING * max(abs(self.value), abs(reference)), "
           "ABS_FLOOR)", "se = self.stderr",
           ("tests/test_numerics_stats.py",)),
)


def make_copy(dest: Path) -> Path:
    """The repository copied to ``dest/repo``, its ``sparsefield`` folder laid out as
    installed (``sparsefield/theory`` -> ``../theory`` ...), so that the copy's package is
    the one imported from its root (``python -m pytest`` puts the root first on the path)."""
    repo = dest / "repo"
    shutil.copytree(ROOT, repo, ignore=skip, symlinks=True)
    for sub in SUBPACKAGES:
        (repo / "sparsefield" / sub).symlink_to(Path("..") / sub, target_is_directory=True)
    return repo


def run_tests(repo: Path, tests: tuple[str, ...], timeout: float) -> tuple[bool, str]:
    """Whether ``pytest tests`` passes in the copy (the copy's package first on the path)."""
    env = {**os.environ, "PYTHONPATH": str(repo), "OMP_NUM_THREADS": "1",
           "NUMBA_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONDONTWRITEBYTECODE": "1"}
    cmd = [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *tests]
    try:
        done = subprocess.run(cmd, cwd=repo, env=env, capture_output=True, text=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        return False, "timed out"
    tail = (done.stdout + done.stderr).strip().splitlines()
    return done.returncode == 0, tail[-1] if tail else ""


def check_the_copy_is_imported(repo: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(repo)}
    code = "import sparsefield.theory.maps as m; print(m.__file__)"
    out = subprocess.run([sys.executable, "-c", code], cwd=repo, env=env, capture_output=True,
                         text=True, check=True).stdout.strip()
    if not Path(out).resolve().is_relative_to(repo.resolve()):
        sys.exit(f"mutation_smoke: the copy is not the package imported ({out})")


def apply(repo: Path, m: Mutant) -> bool:
    """Plant ``m`` in the copy (its first spelling found exactly once); ``False`` when none
    is found: the code moved and the entry must follow it."""
    for rel, old, new in ((m.path, m.old, m.new), *m.also):
        path = repo / rel
        text = path.read_text(encoding="utf-8") if path.exists() else ""
        if text.count(old) == 1:
            path.write_text(text.replace(old, new), encoding="utf-8")
            return True
    return False


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-k", default="", help="only mutants whose name contains this")
    ap.add_argument("--list", action="store_true", help="list the mutants and exit")
    ap.add_argument("--timeout", type=float, default=600.0, help="seconds per pytest run")
    args = ap.parse_args(argv)
    chosen = [m for m in MUTANTS if args.k in m.name]
    if args.list:
        for m in chosen:
            print(f"{m.name:40s} {m.path}  ->  pytest {' '.join(m.tests)}")
        return 0
    results = {}
    for m in chosen:
        with tempfile.TemporaryDirectory(prefix="mutant-") as tmp:
            repo = make_copy(Path(tmp))
            check_the_copy_is_imported(repo)
            t0 = time.perf_counter()
            ok, why = run_tests(repo, m.tests, args.timeout)
            if not ok:
                results[m.name] = f"baseline fails ({why})"
            elif not apply(repo, m):
                results[m.name] = "stale (source text not found once)"
            else:
                passed, why = run_tests(repo, m.tests, args.timeout)
                results[m.name] = "survived" if passed else "killed"
            print(f"{m.name:40s} {results[m.name]:36s} {time.perf_counter() - t0:6.1f} s",
                  flush=True)
    killed = sum(v == "killed" for v in results.values())
    print(f"{killed}/{len(results)} killed")
    return 0 if killed == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
