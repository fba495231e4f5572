"""``sparsefield derive --width N --depth L``: the finite-width section of ``derive``
(:mod:`sparsefield.theory.finite_width`, docs/theory.md section 9).

Not a command of its own: :mod:`sparsefield.cmd_theory` calls :func:`add_arguments` and
:func:`section`.  The JSON object ``finite_width`` holds the keys of
:meth:`FiniteWidth.to_dict` and ``best_clip`` (clipped activations; ``None`` with a
reason otherwise); strict JSON (``None`` for any non-finite number, with a reason).
"""

from __future__ import annotations

import argparse
import math

from sparsefield.theory.errors import ParameterError

TARGET_LOG_GAIN = -1.0  # derive warns when the typical end-to-end gain is below e^-1


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--width", type=int, help="width N (with --depth): finite-width predictions")
    p.add_argument("--depth", type=int, help="depth L (with --width)")


def wanted(args: argparse.Namespace) -> bool:
    """Whether the section was asked for (``--width`` and ``--depth`` come together)."""
    if (args.width is None) != (args.depth is None):
        given = "width" if args.width is not None else "depth"
        raise ParameterError(given, getattr(args, given), "given together with --" +
                             ("depth" if given == "width" else "width"))
    return args.width is not None


def section(d, width: int, depth: int) -> tuple[dict, str | None]:
    """``(finite_width object, warning line or None)`` for a :class:`Derivation`."""
    from sparsefield.theory.clip_width import best_clip
    from sparsefield.theory.clipping import CLIPPED
    from sparsefield.theory.finite_width import predict

    fw = predict(d, width, depth)
    out = fw.to_dict()
    if d.activation in CLIPPED:
        out["best_clip"] = best_clip(d.activation, d.sparsity, width, depth,
                                     vprime=d.vprime, q_star=d.q_star)
    else:
        out["best_clip"] = None
        out["reasons"]["best_clip"] = f"{d.activation} has no clip"
    return _strict(out, out["reasons"]), _warning(d, fw)


def _strict(obj, reasons: dict, key: str = ""):
    """``obj`` with every non-finite float replaced by ``None`` (and a reason named by its
    key path): strict JSON."""
    if isinstance(obj, dict):
        return {k: _strict(v, reasons, f"{key}.{k}" if key else k) for k, v in obj.items()}
    if isinstance(obj, float) and not math.isfinite(obj):
        reasons.setdefault(key, f"not finite ({obj})")
        return None
    return obj


def _warning(d, fw) -> str | None:
    from sparsefield.theory.finite_width import MAX_WIDTH, predict

    total = fw.log_gain_total_mean
    if not (math.isfinite(total) and total < TARGET_LOG_GAIN):
        return None
    per = fw.log_gain_per_layer
    depth_ok = math.floor(TARGET_LOG_GAIN / per) if per < 0 else None
    width_ok = None
    n = max(fw.width + 1, math.ceil(fw.width * total / TARGET_LOG_GAIN))
    while n <= MAX_WIDTH:  # total ~ 1/N: the first guess is close; check it
        if predict(d, n, fw.depth).log_gain_total_mean >= TARGET_LOG_GAIN:
            width_ok = n
            break
        n = math.ceil(n * 1.25)
    fixes = " or ".join(x for x in (f"width >= {width_ok}" if width_ok else "",
                                   f"depth <= {depth_ok}" if depth_ok else "") if x)
    return (f"typical end-to-end gain at width {fw.width}, depth {fw.depth} is "
            f"e^{total:.2f} (sd e^{fw.log_gain_total_sd:.2f} across networks): "
            f"{fixes or f'no width up to {MAX_WIDTH:g} or depth'} brings it to >= e^{TARGET_LOG_GAIN:g}")


def rows(out: dict) -> list[tuple[str, object]]:
    """Text rows of the section."""
    skip = ("reasons", "best_clip", "q_band")
    r = [(f"finite width: {k}", v) for k, v in out.items() if k not in skip]
    r.append(("finite width: q_band", f"[{out['q_band'][0]:.4g}, {out['q_band'][1]:.4g}]"))
    for k, b in (out["best_clip"] or {}).items():
        if isinstance(b, dict):
            text = (f"m={b['m']:.6g}  V'={b['vprime']:.4g}  log gain total "
                    f"{b['log_gain_total_mean']:.4g} +- {b['log_gain_total_sd']:.4g}")
            r.append((f"clip ({k})", text))
    r += [(f"finite width: note ({k})", v) for k, v in out["reasons"].items()]
    return r
