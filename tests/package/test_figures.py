"""Every registered figure renders to a labelled SVG on white; names are registered once.

A topic's own figure tests (its arguments, the numbers it draws) live in its test file.
"""

from __future__ import annotations

import io

import pytest
from matplotlib.figure import Figure

from transformer_atlas.figures import REGISTRY, figure, load_all


def _svg(fig: Figure) -> str:
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg")
    return buffer.getvalue()


def _check_labelled(fig: Figure) -> None:
    """At least one axes; every axes that draws data has a title and both axis labels."""
    axes = [ax for ax in fig.get_axes() if ax.get_label() != "<colorbar>"]
    assert axes, "figure has no axes"
    for ax in axes:
        assert ax.get_title(), f"axes without title in {fig}"
        assert ax.get_xlabel() and ax.get_ylabel(), f"axes {ax.get_title()!r} lacks an axis label"
    assert fig.get_facecolor()[:3] == (1.0, 1.0, 1.0)


@pytest.mark.parametrize("name", sorted(load_all()))
def test_every_registered_figure_renders_to_svg(name: str) -> None:
    fig = REGISTRY[name]()
    assert isinstance(fig, Figure)
    svg = _svg(fig)
    assert svg.lstrip().startswith("<?xml") and "</svg>" in svg
    _check_labelled(fig)


def test_registering_a_name_twice_is_refused() -> None:
    with pytest.raises(ValueError, match="registered twice"):
        figure("attention-heatmap")(lambda: Figure())
