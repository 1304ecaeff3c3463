"""Self-host the two front-end libraries the site needs, copied from ``node_modules`` after a build.

* ``site/assets/vendor/katex/``: ``katex.min.css`` and the ``fonts/*.woff2`` it names. Math is
  rendered at build time (``katex_math.py``), so KaTeX's JavaScript is not shipped. The CSS lists
  woff2, woff and ttf for each font; every browser the theme supports reads woff2, so the woff/ttf
  fallbacks are stripped from the CSS and their files are not copied.
* ``site/assets/vendor/mermaid/``: mermaid's code-split ES module build (``mermaid.esm.min.mjs``,
  30 KB, and its ``chunks/``). ``overrides/main.html`` imports it only when Material draws a
  diagram, and the browser then fetches only the chunks that diagram type needs (about a third
  of the 3.5 MB single-file ``mermaid.min.js`` for a flowchart), so Material never falls back to
  loading mermaid from unpkg and pages without a diagram fetch none of it. Source maps are not
  copied.

Why a hook and not ``docs/``: the files come from ``package-lock.json`` (``npm ci``), stay out of
git, and the CSS rewrite is checked: every ``url()`` left in it must point to a copied file.
``node_modules`` is resolved next to ``mkdocs.yml``; when it is missing the build stops at once
(``on_config``) with "run `make setup`" instead of after rendering every page.
"""

from __future__ import annotations

import logging
import re
import shutil
from pathlib import Path

from mkdocs.exceptions import PluginError

log = logging.getLogger("mkdocs.hooks.vendor_assets")

KATEX_CSS = "katex/dist/katex.min.css"
MERMAID_JS = "mermaid/dist/mermaid.esm.min.mjs"
MERMAID_CHUNKS = "mermaid/dist/chunks/mermaid.esm.min"
# `,url(fonts/X.woff) format("woff")` and the same for truetype: fallbacks we do not ship.
FALLBACK_SRC = re.compile(
    r""",\s*url\([^)]*\.(?:woff|ttf)\)\s*format\(["']?(?:woff|truetype)["']?\)"""
)
CSS_URL = re.compile(r"""url\(\s*["']?([^)"']+)["']?\s*\)""")


def node_modules(config) -> Path:
    """``node_modules`` next to mkdocs.yml, checked to hold what the site needs."""
    root = Path(config.config_file_path).resolve().parent / "node_modules"
    missing = [p for p in (KATEX_CSS, MERMAID_JS, MERMAID_CHUNKS) if not (root / p).exists()]
    if missing:
        raise PluginError(
            f"vendor_assets: {', '.join(str(root / p) for p in missing)} not found: "
            "run `make setup` (installs KaTeX and mermaid from package-lock.json)"
        )
    return root


def katex_css(source: str) -> str:
    """KaTeX's CSS with only the woff2 sources left in each @font-face."""
    return FALLBACK_SRC.sub("", source)


def on_config(config):
    node_modules(config)
    return config


def on_post_build(config):
    src = node_modules(config)
    site = Path(config.site_dir)

    katex_dir = site / "assets/vendor/katex"
    (katex_dir / "fonts").mkdir(parents=True, exist_ok=True)
    css = katex_css((src / KATEX_CSS).read_text(encoding="utf-8"))
    for font in (src / "katex/dist/fonts").glob("*.woff2"):
        shutil.copyfile(font, katex_dir / "fonts" / font.name)
    urls = [u for u in CSS_URL.findall(css) if not u.startswith("data:")]
    dangling = [u for u in urls if not (katex_dir / u).is_file()]
    if dangling:
        raise PluginError(f"vendor_assets: katex.min.css still points to missing files: {dangling}")
    (katex_dir / "katex.min.css").write_text(css, encoding="utf-8")

    mermaid_dir = site / "assets/vendor/mermaid"
    chunks_dir = mermaid_dir / "chunks/mermaid.esm.min"  # the path the module imports from
    chunks_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src / MERMAID_JS, mermaid_dir / "mermaid.esm.min.mjs")
    for chunk in (src / MERMAID_CHUNKS).glob("*.mjs"):
        shutil.copyfile(chunk, chunks_dir / chunk.name)
    log.debug("vendor_assets: KaTeX CSS/fonts and mermaid copied to %s", site / "assets/vendor")
