"""Shared fixtures for the theory tests: parameter sets covering every catalogue family
(the ``examples`` of each definition, :func:`sparsefield.testing.catalogue_activations`)."""

import ast
from pathlib import Path

from sparsefield import testing
from sparsefield.theory import activations as A

PARAMS = {name: list(fam.examples) for name, fam in A.CATALOGUE.items() if fam.params}


def all_activations():
    """Every catalogue family at each of its example parameter sets."""
    return testing.catalogue_activations()


def ids(acts):
    return [f"{a.name}{a.values}" for a in acts]


ROOT = Path(__file__).resolve().parents[1]


def module_name(path: Path) -> str:
    """The installed name of a source file: ``theory/maps.py`` is ``sparsefield.theory.maps``."""
    folder, *rest = path.relative_to(ROOT).with_suffix("").parts
    pkg = "sparsefield" if folder == "sparsefield" else f"sparsefield.{folder}"
    return ".".join([pkg, *rest]).removesuffix(".__init__")


def imports_of(path: Path) -> set[str]:
    """Absolute names of every module ``path`` imports, function-local imports included
    (relative imports resolved; ``from . import x`` gives both the package and ``.x``)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")
            base = base[:len(base) - node.level + 1] if node.level else []
            mod = ".".join(base + ([node.module] if node.module else []))
            out |= {mod} | {f"{mod}.{a.name}" for a in node.names}
    return out
