"""One look for every figure: Agg backend, fonts, colours per activation and per sparsity,
and saving as PNG + PDF."""

from __future__ import annotations

import errno
import logging
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from sparsefield.results.io import file_mode  # noqa: E402
from sparsefield.theory.activations import CATALOGUE  # noqa: E402
from sparsefield.theory.gated import GATED  # noqa: E402

RC = {
    "figure.dpi": 100, "font.size": 9,
    "axes.titlesize": 10, "axes.labelsize": 9, "legend.fontsize": 7.5, "legend.frameon": False,
    "xtick.labelsize": 8, "ytick.labelsize": 8, "axes.spines.top": False,
    "axes.spines.right": False, "axes.grid": True, "grid.alpha": 0.25, "lines.linewidth": 1.5,
    "errorbar.capsize": 2,
}

# Colours and labels live with the activation definitions (theory.activations, .gated).
_DEFINED = {**CATALOGUE, **GATED}
ACTIVATION_COLORS = {n: f.color for n, f in _DEFINED.items()}
LABELS = {n: f.label or n for n, f in _DEFINED.items()}
THEORY = {"color": "k", "lw": 1.2, "ls": "--"}
MEASURED = {"marker": "o", "ms": 3.5, "ls": "none", "mfc": "white", "mew": 1.0}
FORMATS = ("png", "pdf")
DPI = 150
_output = {"formats": FORMATS, "dpi": DPI}
logging.getLogger("fontTools").setLevel(logging.ERROR)  # font-subsetting chatter in PDFs


def apply() -> None:
    """Set the shared rcParams (called by every figure function)."""
    plt.rcParams.update(RC)


def color(name: str) -> str:
    return ACTIVATION_COLORS.get(name, "#333333")


def label(name: str) -> str:
    return LABELS.get(name, name)


def sequential(n: int, cmap: str = "viridis") -> list:
    """``n`` colours from a sequential map (low sparsity light, high dark)."""
    return list(plt.get_cmap(cmap)(np.linspace(0.85, 0.1, max(n, 1))))


def subplots(nrows: int = 1, ncols: int = 1, width: float = 3.2, height: float = 2.6, **kw):
    """``plt.subplots`` with subplots of ``width x height`` inches and the shared style."""
    apply()
    kw.setdefault("squeeze", False)
    kw.setdefault("layout", "constrained")
    return plt.subplots(nrows, ncols, figsize=(width * ncols, height * nrows), **kw)


@contextmanager
def output(formats=FORMATS, dpi: int = DPI):
    """Within the block, :func:`save` writes ``formats`` at ``dpi`` (raster formats)."""
    old = dict(_output)
    _output.update(formats=tuple(formats), dpi=dpi)
    try:
        yield
    finally:
        _output.update(old)


def save(fig, out: str | Path, name: str) -> list[Path]:
    """Write ``out/name.png`` and ``out/name.pdf`` (see :func:`output`); close the figure;
    return the paths."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    try:
        for ext in _output["formats"]:
            path = out / f"{name}.{ext}"
            # a unique temporary (two writers of one folder must not share one), removed
            # whatever happens; a failed write is an OSError naming the file
            fd, tmp = tempfile.mkstemp(dir=out, prefix=f".{name}.{ext}.", suffix=".tmp")
            try:
                os.fchmod(fd, file_mode())  # as open() would (mkstemp alone: 0600)
                with os.fdopen(fd, "wb") as fh:  # closed even when the backend fails
                    fig.savefig(fh, dpi=_output["dpi"], format=ext)
                os.replace(tmp, path)  # atomic: a reader never sees half a file
            except OSError as err:
                raise OSError(err.errno, err.strerror or str(err), str(path)) from None
            except Exception as err:  # a backend failing on a full disk (AttributeError ...)
                raise OSError(errno.EIO, f"could not write the figure ({type(err).__name__}: "
                              f"{err})", str(path)) from None
            finally:
                Path(tmp).unlink(missing_ok=True)
            paths.append(path)
    finally:
        plt.close(fig)
    return paths


def note(ax, text: str) -> None:
    """A small grey note in the corner of a subplot (e.g. where data are missing)."""
    ax.text(0.02, 0.02, text, transform=ax.transAxes, fontsize=7, color="0.4",
            ha="left", va="bottom", wrap=True)
