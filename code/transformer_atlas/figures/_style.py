"""The look shared by every figure: dark ink on white, one palette.

White backgrounds keep a figure readable in both the light and the dark
palette of the site (the site puts it on a white card).
"""

from __future__ import annotations

from matplotlib.axes import Axes
from matplotlib.figure import Figure

INK = "#1a1a1a"
MUTED = "#6b6b6b"
BLUE = "#1f5fa8"
ORANGE = "#c8551b"
GREEN = "#2e7d32"
SIZE = (6.0, 4.0)


def new_figure(size: tuple[float, float] = SIZE) -> Figure:
    """A white, constrained-layout figure of ``size`` inches (no pyplot)."""
    return Figure(figsize=size, facecolor="white", layout="constrained")


def style_axes(ax: Axes) -> None:
    """White face, dark ink for ticks, labels and title, muted spines."""
    ax.set_facecolor("white")
    ax.tick_params(colors=INK, labelsize=8)
    for spine in ax.spines.values():
        spine.set_color(MUTED)
    ax.title.set_color(INK)
    ax.xaxis.label.set_color(INK)
    ax.yaxis.label.set_color(INK)


def bare_axes(ax: Axes) -> None:
    """A diagram: no ticks, no spines."""
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)
