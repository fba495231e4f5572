"""Activation specs: one string naming a catalogue activation and its parameters.

``"name"`` or ``"name:k=v,k=v"``, e.g. ``"relu"``, ``"crelu2:c=4"``, ``"crelu:tau=1,m=2"``.
Parameters not given take the family's defaults; every value is validated by
:meth:`sparsefield.theory.activations.Family.bind` (errors name the parameter and its range).
Forms other than a catalogue name are dispatched on their prefix in :data:`PREFIXES`.
"""

from __future__ import annotations

import math
from typing import Callable

from .activations import CATALOGUE, Activation, family
from .errors import ParameterError


# --- prefix dispatch -----------------------------------------------------------------
# ``"prefix:rest"`` with a registered prefix is handed to ``PREFIXES[prefix](rest)``
# (e.g. an ``"expr:..."`` form); anything else is ``catalogue-name[:k=v,...]``.
# A prefix must not be a catalogue name.
def _expression(text: str) -> Activation:
    from .user import from_expression  # sympy parsing only when an expression is given

    return from_expression(text)


PREFIXES: dict[str, Callable[[str], Activation]] = {"expr": _expression}


def parse(spec: str) -> Activation:
    """The activation described by ``spec`` (see the module docstring)."""
    if not isinstance(spec, str) or not spec.strip():
        raise ParameterError("activation", spec, f"a name, one of {sorted(CATALOGUE)}, "
                             "optionally with parameters as name:k=v,k=v")
    head, sep, rest = spec.strip().partition(":")
    head = head.strip()
    if head in PREFIXES:
        return PREFIXES[head](rest)
    fam = family(head)
    params: dict[str, float] = {}
    names = [p.name for p in fam.params]
    for item in filter(None, (s.strip() for s in rest.split(","))) if sep else ():
        key, eq, value = (s.strip() for s in item.partition("="))
        if key not in names:
            raise ParameterError(key or "parameter", value or item, f"a parameter of {head}: "
                                 + (", ".join(names) if names else "it takes none"))
        if not eq or not value:
            raise ParameterError(key, value or None, f"given as {head}:{key}=VALUE")
        if key in params:
            raise ParameterError(key, value, f"given once in {spec!r}")
        try:
            params[key] = float(value)
        except ValueError:
            raise ParameterError(key, value, _valid(fam, key)) from None
        if math.isnan(params[key]):
            raise ParameterError(key, value, _valid(fam, key))
    missing = [p for p in fam.params if p.default is None and p.name not in params]
    if missing:
        p = missing[0]
        raise ParameterError(p.name, None, f"given as {head}:{p.name}=VALUE ({p.valid})")
    return fam.bind(**params)


def _valid(fam, key: str) -> str:
    return next(p.valid for p in fam.params if p.name == key)


def format_spec(act: Activation) -> str:
    """The spec that :func:`parse` maps back to ``act`` (``name`` or ``name:k=v,...``)."""
    if not act.params:
        return act.name
    return act.name + ":" + ",".join(f"{k}={float(v)!r}" for k, v in act.params.items())


def as_activation(obj: object, param: str = "act") -> Activation:
    """``obj`` if it is an :class:`Activation`, the activation a spec string names
    (:func:`parse`), else :class:`ParameterError` saying what is expected."""
    if isinstance(obj, Activation):
        return obj
    if isinstance(obj, str):
        return parse(obj)
    raise ParameterError(param, repr(obj)[:80], "an Activation (sparsefield.activation(...)) "
                         "or its name, e.g. 'crelu:tau=1,m=1'")
