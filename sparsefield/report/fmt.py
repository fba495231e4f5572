"""Numbers and tables as HTML text: significant digits, never a fake precision.

``sig(v)`` prints a value with ``digits`` significant digits (``0.00025``, not ``0.000``);
a magnitude below :data:`ZERO` prints as ``0`` (a quadrature of an exact zero is ~1e-17,
not a number to read); infinities as ``inf``; a missing value as a dash.
"""

from __future__ import annotations

import math

from sparsefield.html_safe import esc

ZERO = 1e-12   # |v| below this prints as 0 (quadrature and closed forms of a zero)
DASH = "&ndash;"


def sig(v, digits: int = 3) -> str:
    """``v`` with ``digits`` significant digits, as HTML text."""
    if v is None:
        return DASH
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return DASH
        if math.isinf(v):
            return "inf" if v > 0 else "&minus;inf"
        if abs(v) < ZERO:
            return "0"
        text = f"{v:.{digits}g}"
        if "e" in text:  # 1.2e-05 -> 1.2&times;10<sup>-5</sup>
            mant, exp = text.split("e")
            return f"{mant}&times;10<sup>{int(exp)}</sup>"
        return text
    return esc(v)


def pm(mean, sem, digits: int = 3) -> str:
    """``mean +- sem``: the mean to ``digits`` significant digits, the error to 2."""
    if sem is None or (isinstance(sem, float) and not math.isfinite(sem)):
        return sig(mean, digits)
    return f"{sig(mean, digits)} &plusmn; {sig(sem, 2)}"


def table(head: list[str], rows: list[list[str]], classes: list[str] | None = None,
          mark: int = -1, cls: str = "") -> str:
    """An HTML table of already-escaped cells; ``classes[i]`` styles cell ``mark`` of row
    ``i``; wrapped so that a wide table scrolls inside the page, never the page itself."""
    th = "".join(f"<th>{esc(h)}</th>" for h in head)
    trs = []
    for i, row in enumerate(rows):
        cells = [f'<td class="{classes[i]}">{c}</td>' if classes and classes[i]
                 and j == mark % len(row) else f"<td>{c}</td>" for j, c in enumerate(row)]
        trs.append("<tr>" + "".join(cells) + "</tr>")
    attr = f' class="{esc(cls)}"' if cls else ""
    return (f'<div class="wide"><table{attr}><thead><tr>{th}</tr></thead>'
            f"<tbody>{''.join(trs)}</tbody></table></div>")


def ok_class(ok) -> str:
    """The cell class of a verdict: ``ok``, ``bad`` or none (informative)."""
    return "ok" if ok is True else ("bad" if ok is False else "")
