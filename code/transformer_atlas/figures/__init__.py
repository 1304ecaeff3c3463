"""Figures of the guide: functions that return matplotlib figures.

Each figure is a plain function registered under a name with :func:`figure`.
The site build renders every registered figure to
``assets/figures/<name>.svg`` (see ``site_tools/hooks/figures.py``), and a
reader can call the same function with other arguments to redraw it::

    from transformer_atlas.figures.blocks.logits_softmax import (
        softmax_temperatures,
    )
    fig = softmax_temperatures(temperatures=(0.25, 1.0, 4.0))
    fig.savefig("softmax.png")

Figures draw dark ink on a white background so they read the same in the
light and dark palette.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable

from matplotlib.figure import Figure

FigureFunction = Callable[..., Figure]

#: Every registered figure: name -> function returning a matplotlib Figure.
REGISTRY: dict[str, FigureFunction] = {}


def figure(name: str) -> Callable[[FigureFunction], FigureFunction]:
    """Register a figure function under ``name``.

    The name is also the file name: ``assets/figures/<name>.svg``.
    """

    def register(fn: FigureFunction) -> FigureFunction:
        if name in REGISTRY and REGISTRY[name] is not fn:
            raise ValueError(f"figure name {name!r} is registered twice")
        REGISTRY[name] = fn
        return fn

    return register


def figure_modules() -> list[str]:
    """Names of the figure modules: ``figures.<part>.<stem>``, sorted.

    A topic's figures live in ``figures/<part>/<stem>.py``, next to its
    module ``<part>/<stem>.py``; names starting with ``_`` are helpers.
    """
    return sorted(
        info.name
        for info in pkgutil.walk_packages(__path__, f"{__name__}.")
        if not info.ispkg and not info.name.rpartition(".")[2].startswith("_")
    )


def load_all() -> dict[str, FigureFunction]:
    """Import every figure module, so all figures are registered.

    Returns a copy of :data:`REGISTRY`.
    """
    for name in figure_modules():
        importlib.import_module(name)
    return dict(REGISTRY)
