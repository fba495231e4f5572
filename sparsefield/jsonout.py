"""Strict JSON for every ``--json`` output: what any JSON parser reads.

Python's ``json`` writes ``Infinity`` and ``NaN``, which are not JSON.  :func:`dumps` writes
an infinity as the string ``"inf"`` / ``"-inf"`` (``xi_c`` on the edge of chaos, ``chi_1`` of
an activation with jumps) and a NaN as ``null`` (no value), converts numpy scalars and
tuples, and refuses anything else non-finite (``allow_nan=False``).
"""

from __future__ import annotations

import json
import math
from typing import Any


def strict(obj: Any) -> Any:
    """A copy of ``obj`` with only JSON values in it (see the module docstring)."""
    if isinstance(obj, dict):
        return {str(k): strict(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [strict(v) for v in obj]
    if hasattr(obj, "item") and callable(obj.item) and getattr(obj, "ndim", None) == 0:
        obj = obj.item()  # a numpy scalar
    if isinstance(obj, float) and not math.isfinite(obj):
        return None if math.isnan(obj) else ("inf" if obj > 0 else "-inf")
    return obj


def dumps(obj: Any, indent: int | None = 2) -> str:
    """``obj`` as strict JSON text."""
    return json.dumps(strict(obj), indent=indent, allow_nan=False)
