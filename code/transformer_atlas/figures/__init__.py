"""Figures of the guide: functions that return matplotlib figures.

Each figure is a plain function registered under a name with :func:`figure`.
The site build renders every registered figure to
``assets/figures/<name>.svg`` (see ``site_tools/hooks/figures.py``), and a
reader can call the same function with other arguments to redraw it::

    from transformer_atlas.figures.attention import softmax_temperatures
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


def load_all() -> dict[str, FigureFunction]:
    """Import every module of this package, so all figures are registered.

    Returns a copy of :data:`REGISTRY`.
    """
    for info in pkgutil.iter_modules(__path__):
        if not info.name.startswith("_"):
            importlib.import_module(f"{__name__}.{info.name}")
    return dict(REGISTRY)
