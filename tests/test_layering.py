"""Layering: each layer imports only the layers below it (read from the source, so an import
inside a function counts too).  The training engine (runner, train loop, store, config,
data, models) never imports the experiments that use it; numerics and figures never
import the command line, the report or the sweeps on top of them."""

from pathlib import Path

from helpers import ROOT, imports_of, module_name

CLIENTS = ("sparsefield.empirical.experiments", "sparsefield.empirical.gpt_experiment",
           "sparsefield.empirical.gpt_train")
TOP = ("sparsefield.cli", "sparsefield.cmd_", "sparsefield.report", "sparsefield.sweep",
       "sparsefield.paper_results")


def _offending(paths, banned) -> list[str]:
    return [f"{p.relative_to(ROOT)} imports {m}" for p in paths for m in sorted(imports_of(p))
            if m.startswith(banned)]


def _engine_files() -> list[Path]:
    return [p for p in sorted((ROOT / "empirical").glob("*.py"))
            if module_name(p) not in CLIENTS]


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
