"""The shapes of stored ``summary.json`` files, checked before anything reads them.

A summary is recomputable from its records, but the report reads the stored one; a file
edited by hand or by someone else must not crash the report or inject anything into it.
:func:`check_summary` checks, per experiment, the type of every field a reader uses
(numbers finite, ints not bools, known verdict codes, bounded texts); a summary that
fails is treated as corrupt (a warning, then absent).
"""

from __future__ import annotations

import math
from typing import Any

from .io import CorruptRecord
from .names import AGREES_INIT, PREDICTED_AT_TARGET, TEST_ACC, VAL_LOSS, VERDICT_TEXT
from sparsefield.results.names import AT_TARGET_FINAL, AT_TARGET_INIT, TARGET_SPARSITY, ZERO_INIT

VERDICTS = {"within", "degraded", "failed", "trains", "baseline"}
MAX_TEXT = 2000


class _Opt:
    def __init__(self, spec):
        self.spec = spec


class _Map:
    def __init__(self, spec):
        self.spec = spec


def _check(value: Any, spec, where: str) -> None:
    if isinstance(spec, _Opt):
        if value is not None:
            _check(value, spec.spec, where)
        return
    if isinstance(spec, _Map):
        if not isinstance(value, dict):
            raise CorruptRecord(f"{where}: expected an object")
        for k, v in value.items():
            _check(k, str, f"{where} key")
            _check(v, spec.spec, f"{where}[{k[:40]!r}]")
        return
    if isinstance(spec, dict):
        if not isinstance(value, dict):
            raise CorruptRecord(f"{where}: expected an object")
        for k, sub in spec.items():
            if k not in value and not isinstance(sub, _Opt):
                raise CorruptRecord(f"{where}: missing {k!r}")
            _check(value.get(k), sub, f"{where}.{k}")
        return
    if isinstance(spec, list):  # list of one element spec
        if not isinstance(value, list):
            raise CorruptRecord(f"{where}: expected a list")
        for i, v in enumerate(value):
            _check(v, spec[0], f"{where}[{i}]")
        return
    if isinstance(spec, set):
        if value not in spec:
            raise CorruptRecord(f"{where}: {str(value)[:40]!r} is not one of {sorted(spec)}")
        return
    if spec is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) \
            and math.isfinite(value)
    elif spec is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif spec is str:
        ok = isinstance(value, str) and len(value) <= MAX_TEXT
    else:
        ok = isinstance(value, spec)
    if not ok:
        raise CorruptRecord(f"{where}: expected {getattr(spec, '__name__', spec)}, "
                            f"found {type(value).__name__}")


MEAN = {"mean": float, "sem": _Opt(float)}
VERDICT = {"verdict": VERDICTS, "text": str, "acc": {"mean": float}}
SETUP = {"depth": _Opt(int), "width": _Opt(int), "steps": _Opt(int), "optimizer": _Opt(str),
         "lr": _Opt(float)}
SCHEMAS: dict[str, dict] = {
    "clipping": {
        TARGET_SPARSITY: float, "tolerance": float, "within": _Opt(float),
        "baseline": _Opt(VERDICT), "setup": _Opt(SETUP),
        "ordering": _Opt({"predicted": str, "text": str, "verdict": str}),
        "rows": _Map({"verdict": _Opt(VERDICTS), VERDICT_TEXT: _Opt(str),
                      PREDICTED_AT_TARGET: _Opt(bool), AGREES_INIT: _Opt(bool),
                      ZERO_INIT: MEAN, TEST_ACC: _Opt(MEAN), AT_TARGET_INIT: int,
                      AT_TARGET_FINAL: int, "seeds": int, "m": _Opt(float),
                      "activation": str, "vprime": _Opt(float)})},
    "tradeoff": {"baseline": _Opt(VERDICT), "setup": _Opt(SETUP),
                 "cliffs": _Opt(_Map(_Opt(float))), "rows": _Opt(_Map(dict))},
    "drift": {"rows": _Map({"dataset": str, "agrees": bool, AGREES_INIT: bool})},
    "gpt": {"verdicts": {"order": [str]}, "config": {"size": str},
            "rows": _Map({VAL_LOSS: float})},
}


def check_summary(experiment: str, summary: Any) -> dict:
    """``summary`` if it has the shape of ``experiment``'s summary (:data:`SCHEMAS`), else
    :class:`CorruptRecord` naming the first bad field."""
    if not isinstance(summary, dict) or summary.get("experiment") != experiment:
        raise CorruptRecord(f"not a summary of {experiment!r}")
    _check(summary, SCHEMAS.get(experiment, {}), experiment)
    gpt_rows = summary.get("rows") if experiment == "gpt" else None
    if gpt_rows is not None and any(k not in gpt_rows for k in summary["verdicts"]["order"]):
        raise CorruptRecord("gpt.verdicts.order names a row that is not stored")
    return summary
