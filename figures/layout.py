"""Layout checks of a drawn figure (used by the tests on every figure): text that leaves
the canvas, and legends drawn over data.

:func:`problems` draws the figure and compares, in display pixels, the extent of every
visible text artist (titles, labels, tick labels, legends, annotations) with the figure's
box, and the box of every legend with the data points of the lines and markers of its axes.
"""

from __future__ import annotations

import numpy as np
from matplotlib.collections import PathCollection
from matplotlib.text import Text

TOLERANCE_PX = 1.0


def _label(t: Text) -> str:
    return " ".join(t.get_text().split())[:60]


def _drawn_texts(fig) -> list[Text]:
    """The text artists a draw of ``fig`` really paints (not the tick labels matplotlib
    keeps for ticks outside the view)."""
    drawn: list[Text] = []
    original = Text.draw

    def draw(self, renderer):
        original(self, renderer)
        if self.get_visible() and self.get_text().strip():
            drawn.append(self)

    Text.draw = draw
    try:
        fig.canvas.draw()
    finally:
        Text.draw = original
    return drawn


def text_outside(fig) -> list[str]:
    """Every drawn, non-empty text whose extent leaves the canvas."""
    texts = _drawn_texts(fig)
    renderer = fig.canvas.get_renderer()
    box = fig.bbox
    out = []
    for t in texts:
        e = t.get_window_extent(renderer)
        if (e.x0 < box.x0 - TOLERANCE_PX or e.y0 < box.y0 - TOLERANCE_PX
                or e.x1 > box.x1 + TOLERANCE_PX or e.y1 > box.y1 + TOLERANCE_PX):
            out.append(f"text outside the canvas: {_label(t)!r} at x {e.x0:.0f}..{e.x1:.0f}, "
                       f"y {e.y0:.0f}..{e.y1:.0f} (canvas {box.width:.0f} x {box.height:.0f})")
    return out


def _points(ax) -> np.ndarray:
    """Display coordinates of the data points drawn in ``ax`` (lines' vertices that are
    markers or data, scatter offsets); lines spanning the axes (axhline) are left out."""
    pts = []
    for line in ax.get_lines():
        if not line.get_visible() or line.get_transform() != ax.transData:
            continue  # axhline/axvline: axes-fraction in one coordinate
        xy = np.asarray(line.get_xydata(), float)
        if xy.size:
            pts.append(ax.transData.transform(xy))
    for c in ax.collections:
        if isinstance(c, PathCollection) and c.get_visible():
            off = np.asarray(c.get_offsets(), float)
            if off.size:
                pts.append(c.get_offset_transform().transform(off))
    if not pts:
        return np.empty((0, 2))
    p = np.concatenate(pts)
    b = ax.bbox  # points clipped away by the view limits are not drawn
    keep = (np.all(np.isfinite(p), axis=1) & (p[:, 0] >= b.x0) & (p[:, 0] <= b.x1)
            & (p[:, 1] >= b.y0) & (p[:, 1] <= b.y1))
    return p[keep]


def legend_over_data(fig) -> list[str]:
    """Every axes legend whose box holds data points of its own axes."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    out = []
    for ax in fig.axes:
        leg = ax.get_legend()
        if leg is None or not leg.get_visible():
            continue
        b = leg.get_window_extent(renderer)
        p = _points(ax)
        inside = (p[:, 0] > b.x0) & (p[:, 0] < b.x1) & (p[:, 1] > b.y0) & (p[:, 1] < b.y1)
        if inside.any():
            title = ax.get_title() or "an axes"
            out.append(f"legend over {int(inside.sum())} data points in {_label(Text(text=title))!r}")
    return out


def problems(fig) -> list[str]:
    """Both checks."""
    return text_outside(fig) + legend_over_data(fig)
