"""One namespace: every package installs under ``sparsefield`` and no code imports the bare
repository folder names (``theory``, ``numerics``, ``empirical``, ``figures``)."""

import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BARE = re.compile(r"^\s*(from|import)\s+(theory|numerics|empirical|figures)\b", re.M)


def _python_files():
    out = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "*.py"], cwd=ROOT,
                         capture_output=True, text=True, check=True).stdout.split()
    return [ROOT / f for f in out if (ROOT / f).exists()]


def test_no_bare_top_level_imports():
    bad = [f"{p.relative_to(ROOT)}:{text.count(chr(10), 0, m.start()) + 1}"
           for p in _python_files()
           for text in [p.read_text(encoding="utf-8")]
           for m in BARE.finditer(text)]
    assert not bad, "bare imports (use sparsefield.<package>): " + ", ".join(bad)


def test_the_lint_catches_a_bare_import():
    assert BARE.search("x = 1\n    from theory.maps import MeanField\n")
    assert BARE.search("import numerics.check as c\n")
    assert not BARE.search("from sparsefield.theory import maps\nimport theoryx\n")


def test_wheel_has_one_top_level_package(tmp_path):
    # Build from a copy of the tracked tree: a build/ folder left in the checkout would
    # put stale modules into the wheel (and this test would leave one behind).
    src = tmp_path / "src"
    shipped = sorted((ROOT / "sweeps").glob("*.toml")) + sorted((ROOT / "docs" / "results").iterdir())
    for f in _python_files() + shipped + [ROOT / "pyproject.toml", ROOT / "README.md"]:
        dest = src / f.relative_to(ROOT)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(f, dest)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps",
                    "--no-build-isolation", "-w", str(tmp_path), str(src)], check=True,
                   timeout=300, capture_output=True)
    (wheel,) = tmp_path.glob("sparsefield-*.whl")
    tops = {n.split("/")[0] for n in zipfile.ZipFile(wheel).namelist()
            if not n.split("/")[0].endswith(".dist-info")}
    assert tops == {"sparsefield"}
    names = set(zipfile.ZipFile(wheel).namelist())  # the sweeps and stored results ship
    assert {"sparsefield/sweeps/p24_dnn.toml", "sparsefield/stored_results/README.md",
            "sparsefield/stored_results/p24_depth100.csv"} <= names
