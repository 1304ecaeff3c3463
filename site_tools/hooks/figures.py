"""Render every figure registered in ``transformer_atlas.figures`` to ``assets/figures/<name>.svg``.

Figures are functions in the package (``@figure("name")``, see ``code/transformer_atlas/figures``),
so a reader can call them with other arguments. ``on_files`` imports them all (``load_all()``) and
adds one generated SVG per figure to the site's files, so a page embeds
``![alt](../assets/figures/<name>.svg)`` and mkdocs validates that link like any other.

SVGs are deterministic (Agg backend, matplotlib's default style, fixed ``svg.hashsalt``, no date,
text as paths) and cached in ``.cache/figures/`` (next to mkdocs.yml) under a key that hashes:
the figure's name, matplotlib's version, the source of the figure's module and of every
``transformer_atlas`` module it imports, transitively (found with ``ast`` + ``find_spec``,
parent packages included), and, for a figure that imports ``transformer_atlas.benchmarks`` (one
that draws what ``make bench`` recorded), the recorded results ``benchmarks/results/*.json``.
An unchanged figure is read from the cache ("figure <name>: cached")
instead of being redrawn ("figure <name>: drawn"). When no module of the package changed since the
last build (``.cache/figures/manifest.json``), the cached SVGs are used without importing the
package at all: that import pulls in torch and matplotlib, most of a cached build's time.
A figure function that raises, or returns something other than a matplotlib Figure, fails the
build naming the figure.

Under ``mkdocs serve`` the package's modules are re-imported on each build so that edits show up,
and ``code/transformer_atlas`` is watched.
"""

from __future__ import annotations

import ast
import hashlib
import importlib
import importlib.util
import io
import json
import logging
import re
import sys
from importlib import metadata
from pathlib import Path

from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File

log = logging.getLogger("mkdocs.hooks.figures")

PACKAGE = "transformer_atlas"
RENDER_VERSION = "1"  # bump when the rendering settings below change
RC = {"svg.hashsalt": "transformer-atlas", "svg.fonttype": "path"}


def _root(config) -> Path:
    return Path(config.config_file_path).resolve().parent


def _imported_modules(tree: ast.AST, module: str, is_package: bool) -> set[str]:
    """Names of ``transformer_atlas`` modules that ``module``'s syntax tree imports."""
    package = module if is_package else module.rpartition(".")[0]
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = importlib.util.resolve_name("." * node.level + (node.module or ""), package)
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)  # `from pkg import mod`
    found = set()
    for name in names:
        parts = name.split(".")
        if parts[0] == PACKAGE:
            found.update(".".join(parts[: i + 1]) for i in range(len(parts)))  # parents run too
    return found


def module_sources(module: str) -> dict[str, str]:
    """Source of ``module`` and of every package module it imports, transitively: name -> text."""
    sources: dict[str, str] = {}
    todo = [module]
    while todo:
        name = todo.pop()
        if name in sources:
            continue
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            spec = None
        if spec is None or not spec.origin or not spec.origin.endswith(".py"):
            continue  # an attribute imported with `from x import name`, not a module
        text = Path(spec.origin).read_text(encoding="utf-8")
        sources[name] = text
        is_package = spec.submodule_search_locations is not None
        todo.extend(_imported_modules(ast.parse(text), name, is_package))
    return sources


def recorded_results(package_dir: Path) -> list[Path]:
    """The benchmark records figures may draw (``benchmarks/results/*.json``), sorted."""
    return sorted((package_dir / "benchmarks" / "results").glob("*.json"))


def cache_key(name: str, fn) -> str:
    import matplotlib

    digest = hashlib.sha256(f"{name}\0{matplotlib.__version__}\0{RENDER_VERSION}\0".encode())
    sources = module_sources(fn.__module__)
    for module, text in sorted(sources.items()):
        digest.update(f"{module}\0{text}\0".encode())
    if f"{PACKAGE}.benchmarks" in sources:  # draws a measurement: its records count
        package_dir = Path(importlib.util.find_spec(PACKAGE).submodule_search_locations[0])
        for path in recorded_results(package_dir):
            digest.update(f"{path.name}\0".encode() + path.read_bytes())
    return digest.hexdigest()


def render_svg(name: str, fn) -> bytes:
    """Call the figure function and return its deterministic SVG."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure

    fig = None
    try:
        with plt.style.context("default"), matplotlib.rc_context(RC):
            fig = fn()
            if not isinstance(fig, Figure):
                raise TypeError(f"returned {type(fig).__name__}, not a matplotlib Figure")
            buf = io.BytesIO()
            fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    except Exception as exc:
        where = f"{fn.__module__}.{fn.__qualname__}"
        raise PluginError(f"figure {name!r} ({where}) failed: {exc!r}") from exc
    finally:
        if fig is not None and isinstance(fig, Figure):
            plt.close(fig)
    return buf.getvalue()


def load_figures() -> dict:
    """Import the package's figure modules afresh and return the registry (name -> function)."""
    for module in [m for m in sys.modules if m == PACKAGE or m.startswith(PACKAGE + ".")]:
        del sys.modules[module]  # pick up edits when `mkdocs serve` rebuilds
    importlib.invalidate_caches()
    try:
        return importlib.import_module(f"{PACKAGE}.figures").load_all()
    except Exception as exc:
        raise PluginError(f"figures: importing {PACKAGE}.figures failed: {exc!r}") from exc


def package_key() -> str:
    """Hash of every module of the package, the benchmark records, matplotlib's version and the
    render settings."""
    spec = importlib.util.find_spec(PACKAGE)  # a top-level name: found, not imported
    if spec is None:
        raise PluginError(f"figures: the package {PACKAGE} is not installed: run `make setup`")
    package_dir = Path(spec.submodule_search_locations[0])
    digest = hashlib.sha256(f"{metadata.version('matplotlib')}\0{RENDER_VERSION}\0".encode())
    for path in [*sorted(package_dir.rglob("*.py")), *recorded_results(package_dir)]:
        digest.update(f"{path.relative_to(package_dir).as_posix()}\0".encode() + path.read_bytes())
    return digest.hexdigest()


def draw_all(cache: Path) -> dict[str, str]:
    """Import the figures, draw those whose key is not cached; return name -> cache file name."""
    drawn = {}
    for name, fn in sorted(load_figures().items()):
        if not re.fullmatch(r"[a-z0-9][a-z0-9_-]*", name):
            raise PluginError(f"figure name {name!r} must be lowercase letters, digits, '-' or '_'")
        path = cache / f"{name}-{cache_key(name, fn)[:16]}.svg"
        if path.is_file():
            log.info("figure %s: cached", name)
        else:
            tmp = path.with_suffix(".tmp")
            tmp.write_bytes(render_svg(name, fn))
            tmp.replace(path)
            log.info("figure %s: drawn", name)
        drawn[name] = path.name
    return drawn


def on_files(files, config):
    cache = _root(config) / ".cache" / "figures"
    cache.mkdir(parents=True, exist_ok=True)
    # Shortcut: if no module of the package changed since the last build, neither did the registry
    # nor any figure, so the package (and torch, which it imports) need not even be imported.
    manifest_path, key = cache / "manifest.json", package_key()
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        manifest = {}
    figures = manifest.get("figures", {})
    if manifest.get("package") == key and all((cache / f).is_file() for f in figures.values()):
        for name in figures:
            log.info("figure %s: cached", name)
    else:
        figures = draw_all(cache)
        manifest = {"package": key, "figures": figures}
        manifest_path.write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    for name, cached in figures.items():
        src_uri = f"assets/figures/{name}.svg"
        if files.get_file_from_path(src_uri) is not None:
            raise PluginError(f"figure {name!r}: docs/{src_uri} exists; figures are generated")
        files.append(File.generated(config, src_uri, content=(cache / cached).read_bytes()))
    for stale in cache.glob("*.svg"):
        if stale.name not in figures.values():
            stale.unlink()
    return files


def on_serve(server, config, builder):
    server.watch(str(_root(config) / "code" / PACKAGE))
    return server
