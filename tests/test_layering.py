"""Layering: each layer imports only the layers below it (read from the source, so an import
inside a function counts too).  The training engine (runner, train loop, store, config,
data, models) never imports the experiments that use it; numerics and figures never
import the command line, the report or the sweeps on top of them."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = {"sparsefield.theory": "theory", "sparsefield.numerics": "numerics",
           "sparsefield.empirical": "empirical", "sparsefield.figures": "figures"}
CLIENTS = ("sparsefield.empirical.experiments", "sparsefield.empirical.gpt_experiment",
           "sparsefield.empirical.gpt_train")
TOP = ("sparsefield.cli", "sparsefield.cmd_", "sparsefield.report", "sparsefield.sweep",
       "sparsefield.paper_results")


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    folder, *rest = rel.parts
    pkg = next(k for k, v in FOLDERS.items() if v == folder)
    return ".".join([pkg, *rest]).removesuffix(".__init__")


def imports_of(path: Path) -> set[str]:
    """Absolute names of every module ``path`` imports (relative imports resolved)."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")
            base = base[:len(base) - node.level + 1] if node.level else []
            mod = ".".join(base + ([node.module] if node.module else []))
            out.add(mod)
            out |= {f"{mod}.{a.name}" for a in node.names}  # from . import x
    return out


def _offending(paths, banned) -> list[str]:
    return [f"{p.relative_to(ROOT)} imports {m}" for p in paths for m in sorted(imports_of(p))
            if m.startswith(banned)]


def _engine_files() -> list[Path]:
    return [p for p in sorted((ROOT / "empirical").glob("*.py"))
            if _module_name(p) not in CLIENTS]


def test_the_engine_imports_no_experiment():
    files = _engine_files()
    assert {"runner.py", "train.py", "store.py", "config.py"} <= {p.name for p in files}
    assert not _offending(files, CLIENTS)


def test_numerics_and_figures_import_nothing_above_them():
    files = sorted((ROOT / "numerics").glob("*.py")) + sorted((ROOT / "figures").glob("*.py"))
    assert not _offending(files, TOP)


def test_the_check_sees_relative_and_local_imports(tmp_path, monkeypatch):
    fake = ROOT / "empirical" / "runner.py"
    code = ("def f():\n    from .experiments.stats import select\n"
            "from . import gpt_experiment\nimport sparsefield.report\n")
    monkeypatch.setattr(Path, "read_text", lambda self, **kw: code)
    got = imports_of(fake)
    assert {"sparsefield.empirical.experiments.stats", "sparsefield.empirical.gpt_experiment",
            "sparsefield.report"} <= got
    assert _offending([fake], CLIENTS) and _offending([fake], TOP)
