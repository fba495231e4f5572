"""Modules imported on first attribute access, so that the numeric path (``derive``,
:class:`~sparsefield.theory.maps.MeanField`) never pays for sympy or mpmath unless it
needs them (a cold cache, an exact formula, a user-defined activation)."""

from __future__ import annotations

import importlib
from types import ModuleType


class LazyModule:
    """Stands for module ``name``; imports it on the first attribute access."""

    def __init__(self, name: str):
        self._name = name

    def __getattr__(self, attr: str):
        module: ModuleType = importlib.import_module(self._name)
        return getattr(module, attr)

    def __repr__(self) -> str:
        return f"<lazy module {self._name!r}>"


sympy = LazyModule("sympy")
mpmath = LazyModule("mpmath")
