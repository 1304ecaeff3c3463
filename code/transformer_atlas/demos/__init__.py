"""Runnable demos: ``python -m transformer_atlas demo NAME``.

A topic's demo is the module ``demos/<part>/<stem>.py`` with a ``main()``
that prints a walk-through using the package's own functions; its name is
the stem with hyphens (``demos/blocks/positional_encoding.py`` is
``positional-encoding``), the same as the page's. Demos are discovered from the
files, never listed by hand: :func:`discover` reads each module's docstring
(``Demo ``name``: what it shows.``) without importing it, so listing stays
fast, and :func:`run_demo` imports a demo only when it runs.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Demo", "UnknownDemoError", "discover", "run_demo"]

_SUMMARY = re.compile(r"^Demo ``([a-z0-9-]+)``: (.+?)\.?$", re.S)


class UnknownDemoError(ValueError):
    """No demo has the name asked for; the message lists the names."""


@dataclass(frozen=True)
class Demo:
    """One demo: its name, one-line summary, module and topic."""

    name: str  # "kv-cache"
    summary: str  # what the demo shows, one line
    module: str  # "transformer_atlas.demos.inference.kv_cache"
    part: str  # "inference"
    stem: str  # "kv_cache"

    def run(self) -> None:
        """Import the demo's module and call its ``main()``."""
        importlib.import_module(self.module).main()


def _summary(path: Path, name: str) -> str:
    """The summary in the docstring's first paragraph of the demo file."""
    doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
    first = " ".join((doc or "").split("\n\n")[0].split())
    match = _SUMMARY.match(first)
    if match is None or match.group(1) != name:
        raise ValueError(
            f"{path}: a demo's docstring must start with "
            f"'Demo ``{name}``: what it shows.', got {first[:60]!r}"
        )
    return match.group(2)


def discover() -> dict[str, Demo]:
    """Every demo under ``demos/<part>/``, by name (sorted)."""
    demos = {}
    for info in pkgutil.walk_packages(__path__, f"{__name__}."):
        parts = info.name.split(".")
        if info.ispkg or len(parts) != 4 or parts[-1].startswith("_"):
            continue
        part, stem = parts[-2], parts[-1]
        name = stem.replace("_", "-")
        path = Path(__path__[0], part, f"{stem}.py")
        demos[name] = Demo(name, _summary(path, name), info.name, part, stem)
    return dict(sorted(demos.items()))


def run_demo(name: str) -> None:
    """Run the demo called ``name``.

    ``kv_cache`` is read as ``kv-cache``. Raises :class:`UnknownDemoError`
    (a ``ValueError``), listing the available names, if there is none.
    """
    demos = discover()
    name = name.replace("_", "-")
    if name not in demos:
        raise UnknownDemoError(
            f"unknown demo {name!r}; available demos: {', '.join(demos)}"
        )
    demos[name].run()
