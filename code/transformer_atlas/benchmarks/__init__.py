"""Benchmarks: what ``make bench`` measures, one module per topic stem.

Speed and memory are measured here and recorded; no test asserts them.
A benchmark is a module ``benchmarks/<part>/<stem>.py`` (the stem of the
topic whose page cites it) that defines two functions::

    def run(quick: bool = False) -> dict:
        '''Measure; return JSON-serialisable results.

        ``quick=True`` runs tiny sizes in a second or two: the tests use it
        to check the shape of the results and of the report, never the
        numbers.'''

    def report(results: dict) -> str:
        '''The Markdown the page shows (a table or a sentence).'''

``make bench`` (``site_tools/bench.py``) runs every benchmark, saves
``{"results": ..., "machine": ..., "commit": ..., "when": ...}`` as
``benchmarks/results/<stem>.json`` with :func:`save`, and writes the
provenance line (:func:`provenance`) and ``report(results)`` to
``docs/_snippets/bench/<stem>.md``, which the topic's page includes with
``--8<-- "bench/<stem>.md"`` (:func:`snippet` makes that text). A figure
that draws a measurement reads it with :func:`recorded`, so the site
shows what the benchmark measured, and the build itself times nothing.

``python -m transformer_atlas bench <slug>`` runs one benchmark and
prints its report without saving anything; the keyword-only arguments of
its ``run`` (sizes, with defaults) become the command's options. A module
whose name starts with ``_`` is a helper, not a benchmark.
"""

from __future__ import annotations

import datetime as dt
import importlib
import json
import os
import pkgutil
import platform
import subprocess
from pathlib import Path
from types import ModuleType
from typing import Any

__all__ = [
    "RESULTS_DIR",
    "benchmark_modules",
    "load",
    "machine",
    "provenance",
    "recorded",
    "save",
    "snippet",
    "stem_of",
]

#: Where ``make bench`` keeps the latest results, one JSON file per stem.
RESULTS_DIR = Path(__file__).resolve().parent / "results"


def benchmark_modules() -> dict[str, str]:
    """Every benchmark module: stem -> ``benchmarks.<part>.<stem>``."""
    found = {}
    for info in pkgutil.walk_packages(__path__, f"{__name__}."):
        parts = info.name.split(".")
        if not info.ispkg and len(parts) == 4 and parts[-2] != "results":
            if not parts[-1].startswith("_"):
                found[parts[-1]] = info.name
    return dict(sorted(found.items()))


def stem_of(name: str) -> str:
    """The stem of a benchmark named by stem or page slug.

    ``stem_of("kv-cache") == stem_of("kv_cache") == "kv_cache"``; an
    unknown name raises ``ValueError`` listing the benchmarks' slugs.
    """
    stem = name.replace("-", "_")
    modules = benchmark_modules()
    if stem not in modules:
        slugs = ", ".join(s.replace("_", "-") for s in modules)
        raise ValueError(f"no benchmark {name!r}; benchmarks: {slugs}")
    return stem


def load(stem: str) -> ModuleType:
    """Import the benchmark module of ``stem`` (``kv_cache`` or
    ``kv-cache``)."""
    return importlib.import_module(benchmark_modules()[stem_of(stem)])


def machine() -> str:
    """A short description of this machine and its software."""
    import torch

    return (
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, torch {torch.__version__}, "
        f"{torch.get_num_threads()} torch threads"
    )


def _commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
    except OSError:
        out = ""
    return out or "unknown"


def save(
    stem: str, results: dict[str, Any], directory: Path | None = None
) -> dict[str, Any]:
    """Record ``results`` of benchmark ``stem`` with the machine and commit.

    Writes ``<directory>/<stem>.json`` (default :data:`RESULTS_DIR`) and
    returns the record.
    """
    record = {
        "stem": stem,
        "when": dt.date.today().isoformat(),
        "commit": _commit(),
        "machine": machine(),
        "results": results,
    }
    directory = RESULTS_DIR if directory is None else Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{stem}.json"
    path.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    return record


def recorded(stem: str, directory: Path | None = None) -> dict[str, Any]:
    """The record ``make bench`` last saved for ``stem``.

    Read from ``<directory>/<stem>.json`` (default :data:`RESULTS_DIR`).
    Raises ``ValueError`` saying how to make one if there is none.
    """
    directory = RESULTS_DIR if directory is None else Path(directory)
    path = directory / f"{stem}.json"
    if not path.is_file():
        raise ValueError(
            f"no recorded benchmark {stem!r} at {path}: run `make bench` "
            f"(or `python site_tools/bench.py --only {stem}`)"
        )
    return json.loads(path.read_text(encoding="utf-8"))


def provenance(record: dict[str, Any]) -> str:
    """One line saying which run measured a record, for the page."""
    return (
        f"*Measured by `make bench` on {record['when']} at commit "
        f"`{record['commit']}`: {record['machine']}.*"
    )


def snippet(record: dict[str, Any]) -> str:
    """The Markdown a page includes: the provenance line, then the report.

    ``make bench`` writes it to ``docs/_snippets/bench/<stem>.md``.
    """
    report = load(record["stem"]).report(record["results"]).strip()
    return f"{provenance(record)}\n\n{report}\n"
