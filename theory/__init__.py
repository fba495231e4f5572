"""Mean-field theory of sparsity-inducing activations (scipy, sympy; no torch, no numba).

Sources: [P24] Price et al., ICLR 2024; [DT26] Dent & Tanner 2026; [BF2] Shvetsov et al.
2026; Poole et al. 2016; Schoenholz et al. 2017.  See ``docs/theory.md``.

The names below are loaded on first use (PEP 562), so importing one submodule (say
``sparsefield.theory.errors``) does not import sympy and scipy through the others.
"""

import importlib

# public name -> submodule defining it
_EXPORTS = {
    "CATALOGUE": "activations", "Activation": "activations", "Family": "activations",
    "family": "activations", "get": "activations",
    "Derivation": "clipping", "critical_m": "clipping", "derive": "clipping",
    "derive_grid": "clipping", "m_for_vprime": "clipping",
    "drift_stats": "drift",
    "edge_of_chaos": "eoc",
    "FiniteWidth": "finite_width",
    "InfeasibleError": "errors", "ParameterError": "errors",
    "FixedPoint": "maps", "MeanField": "maps",
    "tau_for_sparsity": "sparsity",
}  # (the function ``sparsity`` is not here: ``theory.sparsity`` is its module)

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    try:
        module = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
