"""Sweep files ship with sparsefield and are found by name from any folder; the stored
paper-size results ship too (the report's curated tables)."""

import pytest

from sparsefield.cli import main
from sparsefield.sweep_files import shipped_sweeps, stored_results_dir, sweep_path
from sparsefield.theory.errors import ParameterError


def test_a_shipped_sweep_is_found_by_name_from_any_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert {"tiny", "p24_dnn", "p24_depth", "dt26_qstar", "tradeoff"} <= set(shipped_sweeps())
    assert sweep_path("p24_dnn") == shipped_sweeps()["p24_dnn"]
    assert sweep_path("p24_dnn.toml") == sweep_path("sweeps/p24_dnn.toml") == sweep_path("p24_dnn")
    own = tmp_path / "mine.toml"
    own.write_text("")
    assert sweep_path(str(own)) == own  # a file of the user's wins
    with pytest.raises(ParameterError, match="shipped sweep name, one of .*p24_dnn"):
        sweep_path("no_such_sweep")
    assert (stored_results_dir() / "README.md").is_file()


def test_sweep_list_and_a_dry_run_by_name(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["sweep", "--list"]) == 0
    listed = capsys.readouterr().out
    assert "p24_dnn" in listed and "tiny" in listed
    assert main(["sweep", "p24_dnn", "--size", "smoke", "--dry-run", "--results",
                 str(tmp_path / "r")]) == 0
    assert "missing" in capsys.readouterr().out
    assert main(["sweep", "--results", str(tmp_path / "r")]) == 2  # neither a file nor --list
    assert "sweep --list" in capsys.readouterr().err
