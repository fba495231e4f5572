"""Code structure, read from the sources (issue 24): small modules, no import cycle, no
private name used across modules, and figures that only draw (they read stored results
through :mod:`sparsefield.results`, never through :mod:`sparsefield.empirical`).

Imports inside functions count: a cycle closed by a lazy import is still a cycle.
"""

import ast
import subprocess
import sys
from pathlib import Path
from unittest import mock

from helpers import ROOT, imports_of, module_name

FOLDERS = ("sparsefield", "theory", "numerics", "empirical", "figures")
MAX_LINES = 400
# the activation catalogue is data (one definition per family); report.py is split by its
# own branch (issue 24, "the report along the pipeline")
LONG_OK: set[str] = set()


def sources() -> dict[str, Path]:
    """Every module of the package by its installed name."""
    return {module_name(p): p for folder in FOLDERS for p in sorted((ROOT / folder).rglob("*.py"))}


def import_graph(mods: dict[str, Path]) -> dict[str, set[str]]:
    """``module -> modules of ours it imports``.  An edge to a package's ``__init__`` from
    inside that package is left out (Python runs the parent first; that is not a cycle of
    the design)."""
    return {m: {i for i in imports_of(p) if i in mods and i != m
                and not (mods[i].name == "__init__.py" and m.startswith(i + "."))}
            for m, p in mods.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def private_uses(path: Path, ours: set[str]) -> list[str]:
    """``name`` of every private name taken from another module of ours: ``from m import
    _x`` or ``m._x`` where ``m`` was imported (``_x`` not a dunder)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    me = module_name(path)
    package = me if path.name == "__init__.py" else me.rsplit(".", 1)[0]
    modules, bad = set(), []

    def private(name):
        return name.startswith("_") and not name.startswith("__")

    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            base = package.split(".")
            base = base[:len(base) - node.level + 1] if node.level else []
            mod = ".".join(base + ([node.module] if node.module else []))
            for a in node.names:
                if f"{mod}.{a.name}" in ours:
                    modules.add(a.asname or a.name)
                elif mod in ours and mod != me and private(a.name):
                    bad.append(f"{mod}.{a.name}")
        elif isinstance(node, ast.Import):
            modules |= {a.asname or a.name for a in node.names if a.name in ours and a.asname}
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                and node.value.id in modules and private(node.attr)):
            bad.append(f"{node.value.id}.{node.attr}")
    return bad


def private_definitions(path: Path) -> set[str]:
    """Private names a module defines: functions, classes, methods, assigned names."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            out.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            out.add(node.id)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            out.add(node.attr)
    return {n for n in out if n.startswith("_") and not n.startswith("__")}


def foreign_attributes(path: Path, defined_elsewhere: set[str]) -> list[str]:
    """``obj._x`` (``obj`` not ``self``/``cls``) where ``_x`` is defined by another module
    of ours and not by this one: a private attribute reached into from outside."""
    mine = private_definitions(path)
    return [ast.unparse(n) for n in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
            if isinstance(n, ast.Attribute) and n.attr in defined_elsewhere - mine
            and not (isinstance(n.value, ast.Name) and n.value.id in ("self", "cls"))]


def test_modules_are_small():
    long = {str(p.relative_to(ROOT)): n for p in sources().values()
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert set(long) <= LONG_OK, {k: v for k, v in long.items() if k not in LONG_OK}


def test_no_import_cycle():
    assert cycles(import_graph(sources())) == []


def test_no_private_name_crosses_a_module():
    mods = sources()
    bad = [f"{p.relative_to(ROOT)}: {u}" for p in mods.values()
           for u in private_uses(p, set(mods))]
    defs = {m: private_definitions(p) for m, p in mods.items()}
    bad += [f"{p.relative_to(ROOT)}: {u}" for m, p in mods.items()
            for u in foreign_attributes(p, set().union(*(d for k, d in defs.items() if k != m)))]
    assert not bad, bad


def test_figures_import_nothing_from_empirical():
    mods = sources()
    bad = [f"{m} imports {i}" for m, p in mods.items() if m.startswith("sparsefield.figures")
           for i in sorted(imports_of(p)) if i.startswith("sparsefield.empirical")]
    assert not bad, bad


def test_the_checks_see_planted_faults(tmp_path, monkeypatch):
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []
    fake = ROOT / "empirical" / "runner.py"
    code = ("from .train import _groups\nfrom sparsefield.theory import symbolic\n"
            "import sparsefield.theory.family as fam\n"
            "x = symbolic._family(1) + fam._np_breaks + symbolic.__name__\n")
    monkeypatch.setattr(Path, "read_text", lambda self, **kw: code)
    ours = {"sparsefield.empirical.train", "sparsefield.theory.symbolic",
            "sparsefield.theory.family", "sparsefield.empirical.runner"}
    assert sorted(private_uses(fake, ours)) == ["fam._np_breaks",
                                                "sparsefield.empirical.train._groups",
                                                "symbolic._family"]
    assert sorted(foreign_attributes(fake, {"_np_breaks", "_family"})) == [
        "fam._np_breaks", "symbolic._family"]


def test_the_results_layer_sits_at_the_bottom():
    """:mod:`sparsefield.results` imports nothing else of ours, and no numpy or torch at
    import (a reader that needs numpy imports it when called)."""
    mods = sources()
    files = [p for m, p in mods.items() if m.startswith("sparsefield.results")]
    assert len(files) >= 4
    bad = [f"{p.relative_to(ROOT)} imports {i}" for p in files for i in sorted(imports_of(p))
           if i.startswith("sparsefield.") and not i.startswith("sparsefield.results")]
    assert not bad, bad
    code = ("import sys, sparsefield.results.io, sparsefield.results.names, "
            "sparsefield.results.records; "
            "bad = [m for m in ('numpy', 'torch', 'scipy') if m in sys.modules]; assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


# the verifiers: the public testing API and the verification matrix compare with references
REFERENCE_USERS = ("sparsefield.references", "sparsefield.testing", "sparsefield.numerics.check")


def reference_importers(mods: dict[str, Path]) -> list[str]:
    """Modules outside :data:`REFERENCE_USERS` that import :mod:`sparsefield.references`."""
    return [f"{m} imports {i}" for m, p in mods.items() if not m.startswith(REFERENCE_USERS)
            for i in sorted(imports_of(p)) if i.startswith("sparsefield.references")]


def test_no_production_module_imports_the_references():
    """Where code lives says whether it is production: the mpmath, quadrature and gated
    Monte Carlo references sit in :mod:`sparsefield.references`, used by tests, benchmarks,
    :mod:`sparsefield.testing` and :mod:`sparsefield.numerics.check` only."""
    mods = sources()
    assert {"sparsefield.references.mpmath_moments", "sparsefield.references.quad",
            "sparsefield.references.gated_mc"} <= set(mods)
    assert not [m for m in mods if m.startswith("sparsefield.theory") and "reference" in m]
    assert reference_importers(mods) == []
    planted = {"sparsefield.theory.routes": ROOT / "theory" / "routes.py"}
    code = "from sparsefield.references import quad\n"
    with mock.patch.object(Path, "read_text", lambda self, **kw: code):
        assert reference_importers(planted) == [
            "sparsefield.theory.routes imports sparsefield.references",
            "sparsefield.theory.routes imports sparsefield.references.quad"]
