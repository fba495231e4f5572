"""Formulas as pictures: LaTeX lines (from :mod:`sparsefield.theory.symbolic`) rendered with
matplotlib mathtext, so the report and README show them without a TeX installation."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt

from sparsefield.theory.symbolic import crelu_formulas

from . import style

FONT_SIZE = 11
LINE_GAP = 0.18  # inches between lines


def formula_card(lines: dict[str, str], out: str | Path, name: str, title: str = "",
                 note: str = "") -> list[Path]:
    """One mathtext line per entry of ``lines`` (values are LaTeX without ``$``), an
    optional title and a small note; sized to the widest line.  Returns the written paths."""
    style.apply()
    fig = plt.figure(figsize=(8, 1))
    kw = {"va": "bottom"}
    texts = ([fig.text(0, 0, title, fontsize=FONT_SIZE, weight="bold", **kw)] if title else [])
    texts += [fig.text(0, 0, f"${v}$", fontsize=FONT_SIZE, **kw) for v in lines.values()]
    texts += [fig.text(0, 0, note, fontsize=FONT_SIZE - 3, color="0.35", **kw)] if note else []
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    boxes = [t.get_window_extent(r) for t in texts]
    dpi = fig.dpi
    width = max(b.width for b in boxes) / dpi + 0.4
    heights = [b.height / dpi for b in boxes]
    height = sum(heights) + LINE_GAP * (len(texts) + 1)
    fig.set_size_inches(width, height)
    y = height - LINE_GAP
    for t, h in zip(texts, heights):
        y -= h
        t.set_position((0.2 / width, y / height))
        y -= LINE_GAP
    return style.save(fig, out, name)


def crelu_card(out: str | Path, name: str = "crelu_formulas") -> list[Path]:
    """The CReLU formulas of [P24]: ``V(q)``, the edge of chaos and ``V'(q*)`` on it, as
    derived by :func:`sparsefield.theory.symbolic.crelu_formulas`."""
    return formula_card(crelu_formulas(), out, name,
                        title=r"CReLU$_{\tau,m}(x) = \min(\max(x - \tau, 0), m)$, "
                              r"$x \sim N(0, q)$",
                        note=r"$\Phi$, $\varphi$: standard normal cdf and density; derived "
                             "by sympy from the catalogue definition (sparsefield formula)")
