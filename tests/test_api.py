"""The public API of ``import sparsefield``: every name resolves to its definition, lazily,
and neither the API nor the command line imports what it does not use."""

import importlib
import json
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

import sparsefield as sf
import sparsefield.theory as theory
from sparsefield import cmd_theory
from sparsefield.theory import activations, clipping, derive_any, drift, errors, maps

HEAVY = ("numpy", "scipy", "sympy", "mpmath", "numba", "torch", "matplotlib")


def _modules_after(code: str) -> set[str]:
    """The modules a fresh interpreter holds after running ``code``."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True, timeout=120).stdout
    return set(json.loads(out.splitlines()[-1]))


def _imported_after(code: str) -> set[str]:
    """Top-level packages among ``HEAVY`` that a fresh interpreter holds after ``code``."""
    return set(HEAVY) & _modules_after(code)


def test_names_are_the_theory_definitions():
    assert sf.derive is derive_any.derive and sf.derive_grid is clipping.derive_grid
    assert sf.critical_m is clipping.critical_m and sf.MeanField is maps.MeanField
    assert sf.activation is activations.get and sf.get is activations.get
    assert sf.catalogue is activations.CATALOGUE and sf.drift_stats is drift.drift_stats
    assert sf.edge_of_chaos is derive_any.edge_of_chaos  # eoc.edge_of_chaos, with warnings
    assert sf.StabilityWarning is derive_any.StabilityWarning
    assert sf.ParameterError is errors.ParameterError
    assert sf.InfeasibleError is errors.InfeasibleError
    assert sf.__version__ == metadata.version("sparsefield")
    assert set(sf.__all__) <= set(dir(sf)) and "theory" in dir(sf)
    with pytest.raises(AttributeError, match="no_such_name"):
        sf.no_such_name  # noqa: B018


def test_theory_package_exports_resolve():
    for name in theory.__all__:
        obj = getattr(theory, name)
        assert getattr(obj, "__name__", name) == name or name == "CATALOGUE", name
    with pytest.raises(AttributeError):
        theory.no_such_name  # noqa: B018


def test_api_derives_with_a_bad_input_error():
    d = sf.derive("crelu", 0.85, vprime=0.5)
    assert d.activation == "crelu" and abs(d.vprime - 0.5) < 1e-9 and d.chi1 == pytest.approx(1.0)
    with pytest.raises(sf.ParameterError, match="sparsity"):
        sf.derive("crelu", 1.5)


def test_import_sparsefield_imports_no_numerical_stack():
    assert _imported_after("import sparsefield") == set()
    assert _imported_after("import sparsefield.theory.errors") == set()


def test_derive_imports_neither_torch_nor_numba():
    got = _imported_after("import sparsefield as sf; print(sf.derive('crelu', 0.85, vprime=0.5))")
    assert {"numpy", "scipy"} <= got  # the probe really ran the theory (sympy only on a cold
    # generated-code cache: tests/test_numeric_forms.py)
    assert not got & {"torch", "numba", "matplotlib"}


def test_building_the_cli_parser_imports_no_theory():
    got = _imported_after("from sparsefield.cli import build_parser; build_parser()")
    assert not got & {"scipy", "sympy", "mpmath", "numba", "torch", "matplotlib"}


def test_derive_choices_are_the_derivable_activations():
    assert sorted(cmd_theory.DERIVE_ACTIVATIONS) == sorted(clipping.CLIPPED + clipping.UNCLIPPED)
    assert all(n in activations.CATALOGUE for n in cmd_theory.DERIVE_ACTIVATIONS)


def test_figures_import_no_training_code():
    got = _modules_after("import importlib, pkgutil, sparsefield.figures as F\n"
                         "for m in pkgutil.iter_modules(F.__path__):\n"
                         "    importlib.import_module(f'sparsefield.figures.{m.name}')")
    assert "sparsefield.figures.gpt" in got and "sparsefield.figures.maps" in got
    empirical = {m for m in got if m.startswith("sparsefield.empirical.")}
    assert empirical <= {"sparsefield.empirical.store", "sparsefield.empirical.gpt_config"}, empirical
    assert "torch" not in got and "sparsefield.sweep" not in got and "sparsefield.report" not in got


def test_the_readme_python_api_example_runs():
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Python API", 1)[1].split("\n## ", 1)[0]
    (code,) = re.findall(r"```python\n(.*?)```", section, re.S)
    scope: dict = {}
    exec(compile(code, "README.md", "exec"), scope)  # noqa: S102 - the project's own README
    d = scope["d"]
    assert (round(d.tau, 4), round(d.m, 4)) == (1.0364, 0.8095)


def test_map_flags_are_the_catalogue_parameters():
    assert cmd_theory.ACT_FLAGS == activations.PARAM_NAMES
    from sparsefield.theory import gated

    assert cmd_theory.GATED_UNITS == tuple(sorted(gated.GATED))
    assert not set(gated.GATED) & set(activations.CATALOGUE)  # a name means one thing


def test_cli_command_table_names_what_each_module_registers():
    import argparse

    from sparsefield import cli

    for module in cli.COMMAND_MODULES:
        sub = argparse.ArgumentParser().add_subparsers()
        importlib.import_module(module).register(sub)
        assert {c for c, m in cli.COMMANDS.items() if m == module} == set(sub.choices), module
    assert list(cli.build_parser().format_usage().split("{")[1].split("}")[0].split(",")) \
        == list(cli.COMMANDS)


def test_derive_on_the_command_line_builds_only_its_parser():
    got = _modules_after("from sparsefield.cli import main; "
                         "main(['derive', '--activation', 'crelu', '--sparsity', '0.85'])")
    assert "sparsefield.cmd_theory" in got and "sparsefield.theory.clipping" in got
    assert not got & {"sparsefield.cmd_empirical", "sparsefield.empirical.config",
                      "sparsefield.empirical.store", "scipy.optimize", "scipy.integrate",
                      "sympy.physics", "torch", "numba"}, got
