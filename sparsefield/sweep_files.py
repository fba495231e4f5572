"""Files that ship with sparsefield: the sweep files (``sweeps/*.toml``) and the stored
paper-size results (``docs/results/``).

In a source checkout they are the repository's folders; an installed wheel carries them as
package data (``sparsefield/sweeps``, ``sparsefield/stored_results``, see ``pyproject.toml``),
so ``sparsefield sweep p24_dnn --size reduced`` works from any folder.
"""

from __future__ import annotations

import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

from sparsefield.theory.errors import ParameterError

_HERE = Path(__file__).resolve().parent
# (folder inside the installed package, folder of the source checkout)
SWEEPS = (_HERE / "sweeps", _HERE.parent / "sweeps")
STORED_RESULTS = (_HERE / "stored_results", _HERE.parent / "docs" / "results")


def _first_dir(candidates: tuple[Path, Path]) -> Path | None:
    return next((p for p in candidates if p.is_dir()), None)


def sweeps_dir() -> Path | None:
    """The folder of the shipped sweep files (``None`` if this installation has none)."""
    return _first_dir(SWEEPS)


def stored_results_dir() -> Path | None:
    """The folder of the shipped paper-size results (CSV, PNG, README.md), or ``None``."""
    return _first_dir(STORED_RESULTS)


def shipped_sweeps() -> dict[str, Path]:
    """``{name: path}`` of every shipped sweep file, by name."""
    folder = sweeps_dir()
    return {} if folder is None else {p.stem: p for p in sorted(folder.glob("*.toml"))}


def describe(path: Path) -> str:
    """A sweep file's ``[sweep] description`` (else its first comment line)."""
    text = path.read_text(encoding="utf-8")
    try:
        desc = tomllib.loads(text).get("sweep", {}).get("description")
    except tomllib.TOMLDecodeError:
        desc = None
    if desc:
        return str(desc)
    return next((line.lstrip("# ").strip() for line in text.splitlines()
                 if line.startswith("#")), "")


def sweep_path(config: str | Path) -> Path:
    """``config`` itself when it is an existing file, else the shipped sweep of that name
    (``p24_dnn`` or ``p24_dnn.toml``); an unknown name raises :class:`ParameterError`
    listing the shipped ones."""
    path = Path(config)
    if path.is_file():
        return path
    shipped = shipped_sweeps()
    name = path.name.removesuffix(".toml") if path.parent == Path(".") or \
        path.parent.name == "sweeps" else None
    if name in shipped:
        return shipped[name]
    raise ParameterError("sweep file", str(config), "an existing TOML file or a shipped "
                         f"sweep name, one of {sorted(shipped)} (sparsefield sweep --list)")
