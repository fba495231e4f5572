"""sparsefield: mean-field theory of sparsity-inducing activations, checked by Monte Carlo
and confirmed by training.

The public API, for a researcher at a Python prompt (theory: ``docs/theory.md``)::

    import sparsefield as sf
    d = sf.derive("crelu", 0.85, vprime=0.5)       # tau, m, sigma_w^2, sigma_b^2 [P24]
    mf = sf.MeanField(sf.get("crelu", tau=d.tau, m=d.m), d.sigma_w2, d.sigma_b2)
    mf.V(1.0), mf.dV(1.0), mf.chi1(1.0)
    fw = sf.finite_width(d, width=300, depth=100)  # typical gain at finite width

========================  ============================================================
``derive``                edge-of-chaos initialisation of any activation spec or object
``derive_grid``           :func:`derive` over a grid of sparsities and targets
``critical_m``            the clips where ``V''(q*) = 0`` and where extra fixed points appear
``MeanField``             variance and correlation maps ``V, V', V'', R, R', chi_1``
``activation`` / ``get``  a catalogue activation at parameter values
``catalogue``             the catalogue: name -> family definition
``finite_width``          finite-width gain over depth, its spread, ``q^l`` leaving a band
``best_clip``             the clip maximising the typical end-to-end gain at width, depth
``drift_stats``           expected-gradient statistics and the predicted drift sign [BF2]
``edge_of_chaos``         ``(sigma_w^2, sigma_b^2)`` for an activation and a fixed point
``from_expression``       an activation from one expression in ``x`` (a user's own)
``ParameterError``        bad input (names the parameter and its valid range)
``InfeasibleError``       the edge of chaos would need ``sigma_b^2 < 0``
``StabilityWarning``      issued by ``derive`` / ``edge_of_chaos`` where ``q*`` is unstable
``__version__``           the installed distribution's version
========================  ============================================================

Every name is loaded on first use (PEP 562), so ``import sparsefield`` and the command
line pay only for what they touch: the theory needs numpy and scipy (sympy only to generate
an activation's numeric forms, cached on disk, and for the exact formulas), never torch or
numba.  The subpackages ``theory``, ``numerics``, ``empirical`` and ``figures`` are
reachable as attributes too.
"""

import importlib

# public name -> (module, attribute)
_API = {
    "derive": ("sparsefield.theory.derive_any", "derive"),
    "derive_grid": ("sparsefield.theory.clipping", "derive_grid"),
    "critical_m": ("sparsefield.theory.clipping", "critical_m"),
    "MeanField": ("sparsefield.theory.maps", "MeanField"),
    "activation": ("sparsefield.theory.activations", "get"),
    "get": ("sparsefield.theory.activations", "get"),
    "catalogue": ("sparsefield.theory.activations", "CATALOGUE"),
    "drift_stats": ("sparsefield.theory.drift", "drift_stats"),
    "finite_width": ("sparsefield.theory.finite_width", "predict"),
    "best_clip": ("sparsefield.theory.clip_width", "best_clip"),
    "edge_of_chaos": ("sparsefield.theory.derive_any", "edge_of_chaos"),
    "StabilityWarning": ("sparsefield.theory.derive_any", "StabilityWarning"),
    "from_expression": ("sparsefield.theory.user", "from_expression"),
    "ParameterError": ("sparsefield.theory.errors", "ParameterError"),
    "InfeasibleError": ("sparsefield.theory.errors", "InfeasibleError"),
}
_SUBPACKAGES = ("theory", "numerics", "empirical", "figures")

__all__ = [*_API, "__version__"]


def _version() -> str:
    # importlib.metadata only when the version is asked for (import sparsefield stays cheap)
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("sparsefield")
    except PackageNotFoundError:  # running from a source tree that is not installed
        return "0+unknown"


def __getattr__(name: str):
    if name in _API:
        module, attr = _API[name]
        value = getattr(importlib.import_module(module), attr)
    elif name == "__version__":
        value = _version()
    elif name in _SUBPACKAGES:
        value = importlib.import_module(f"{__name__}.{name}")
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__) | set(_SUBPACKAGES))
