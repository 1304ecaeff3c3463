"""Serving the built site and loading its pages in headless Chromium.

Shared by the browser tests (``tests/site/conftest.py``, ``tests/site/test_browser.py``) and by
``make bench`` (``site_tools/bench.py``, which weighs pages with :func:`measure_page_weight`):

- :func:`start_server`: a static HTTP server on 127.0.0.1 (ephemeral port) serving a build under
  the base path it was built for (:func:`base_path`), so absolute links resolve as deployed;
- :func:`browser_unavailable_reason`, :func:`launch_chromium`: Debian's ``/usr/bin/chromium`` (or
  ``$ATLAS_CHROMIUM``) driven by Playwright;
- :func:`open_page`: a page loaded in a fresh context, every request, error and console message
  recorded (a :class:`Visit`), requests off 127.0.0.1 aborted;
- :func:`measure_page_weight`: the bytes one cold page load fetches, by type.
"""

from __future__ import annotations

import functools
import gzip
import http.server
import os
import re
import shutil
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
MKDOCS_YML = ROOT / "mkdocs.yml"
DEFAULT_CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
ALLOWED_HOST = "127.0.0.1"
VIEWPORT = {"width": 1280, "height": 900}
TIMEOUT_MS = 20_000
# Material attaches mermaid's SVG to a *closed* shadow root; force it open so tests can look in.
OPEN_SHADOW_ROOTS = """
(() => {
  const attach = Element.prototype.attachShadow;
  Element.prototype.attachShadow = function (init) {
    return attach.call(this, Object.assign({}, init, { mode: "open" }));
  };
})();
"""


# --------------------------------------------------------------------------------------------
# Where the build lives
# --------------------------------------------------------------------------------------------


def url_path(rel: str) -> str:
    """``blocks/attention/index.html`` -> ``blocks/attention/``; ``index.html`` -> ``""``."""
    if rel == "index.html":
        return ""
    if rel.endswith("/index.html"):
        return rel[: -len("index.html")]
    return rel


def _env_tag(loader, node):
    """mkdocs' ``!ENV VAR`` / ``!ENV [VAR1, VAR2, default]``: the first set variable, else the
    default (the last item of a list)."""
    import yaml

    if isinstance(node, yaml.SequenceNode):
        items = loader.construct_sequence(node)
        for name in items[:-1]:
            if os.environ.get(str(name)):
                return os.environ[str(name)]
        return items[-1] if len(items) > 1 else None
    return os.environ.get(loader.construct_scalar(node))


@functools.cache
def load_mkdocs_config() -> dict:
    """``mkdocs.yml`` as a dict: ``!ENV`` resolved, ``!!python/name:`` and other tags as None."""
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    Loader.add_constructor("!ENV", _env_tag)
    Loader.add_multi_constructor("tag:yaml.org,2002:python/", lambda *_: None)
    Loader.add_multi_constructor("!", lambda *_: None)
    return yaml.load(MKDOCS_YML.read_text(encoding="utf-8"), Loader=Loader) or {}  # noqa: S506


@functools.cache
def base_path(site_dir: Path) -> str:
    """The URL path the site was built for (``/transformer-atlas/`` on a project Pages site, ``/``
    locally): the path of index.html's canonical link, which mkdocs derives from ``site_url``."""
    url = None
    index = site_dir / "index.html"
    if index.is_file():
        head = index.read_text(encoding="utf-8")[:20_000]
        m = re.search(r'<link\s+rel="canonical"\s+href="([^"]*)"', head)
        url = m.group(1) if m else None
    if url is None:
        url = load_mkdocs_config().get("site_url") or "/"
    path = urlsplit(url).path or "/"
    return path if path.endswith("/") else path + "/"


# --------------------------------------------------------------------------------------------
# A static server
# --------------------------------------------------------------------------------------------


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    """Serves ``site/`` below ``base`` (the production base path); anything else is a 404."""

    base = "/"
    extensions_map = {
        **http.server.SimpleHTTPRequestHandler.extensions_map,
        ".html": "text/html; charset=utf-8",
        ".js": "text/javascript",
        ".mjs": "text/javascript",
        ".css": "text/css",
        ".json": "application/json",
        ".svg": "image/svg+xml",
        ".woff2": "font/woff2",
        ".woff": "font/woff",
        ".ttf": "font/ttf",
        ".wasm": "application/wasm",
        ".xml": "application/xml",
        ".ipynb": "application/x-ipynb+json",
    }

    def translate_path(self, path: str) -> str:
        raw = path.split("?", 1)[0].split("#", 1)[0]
        if not raw.startswith(self.base):
            return os.path.join(self.directory, ".outside-base-path", "none")  # never exists: 404
        return super().translate_path("/" + raw[len(self.base) :])

    def log_message(self, format, *args):  # noqa: A002 - quiet
        pass

    def handle_one_request(self):
        try:
            super().handle_one_request()
        except (ConnectionResetError, BrokenPipeError):  # the browser went away mid-response
            pass


class SiteServer:
    def __init__(self, httpd: http.server.ThreadingHTTPServer, thread: threading.Thread, base: str):
        self.httpd, self.thread, self.base = httpd, thread, base
        host, port = httpd.server_address[:2]
        self.origin = f"http://{host}:{port}"
        self.root_url = self.origin + base

    def url(self, rel_or_url_path: str = "") -> str:
        """URL of a page given as ``blocks/attention/index.html`` or ``blocks/attention/``."""
        return self.root_url + url_path(rel_or_url_path)

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=10)


def start_server(directory: Path, base: str | None = None) -> SiteServer:
    base = base or base_path(directory)
    handler = functools.partial(
        type("Handler", (_QuietHandler,), {"base": base}), directory=str(directory)
    )
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, name="site-server", daemon=True)
    thread.start()
    return SiteServer(httpd, thread, base)


# --------------------------------------------------------------------------------------------
# Chromium through Playwright
# --------------------------------------------------------------------------------------------


def chromium_path() -> str:
    return os.environ.get("ATLAS_CHROMIUM") or DEFAULT_CHROMIUM


def browser_unavailable_reason() -> str | None:
    exe = chromium_path()
    if not (os.path.isfile(exe) and os.access(exe, os.X_OK)) and not shutil.which(exe):
        return (
            f"Chromium not found at {exe} (install Debian's `chromium`: `make browser-deps`; "
            "or point ATLAS_CHROMIUM at a Chromium binary)"
        )
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the Python package `playwright` is not installed (`make setup`)"
    return None


def launch_chromium(playwright):
    """Headless Chromium with the flags that keep it quiet and off the network by itself."""
    return playwright.chromium.launch(
        executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS
    )


# --------------------------------------------------------------------------------------------
# Visiting a page: every request, error and console message recorded
# --------------------------------------------------------------------------------------------


@dataclass
class Visit:
    page: Any
    url: str
    status: int | None = None
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    offsite: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    responses: list[Any] = field(default_factory=list)

    def problems(self) -> list[str]:
        out = [f"request off 127.0.0.1 (aborted): {u}" for u in dict.fromkeys(self.offsite)]
        out += [f"uncaught exception: {e}" for e in self.page_errors]
        out += [f"console error: {e}" for e in self.console_errors]
        out += [f"failed request: {e}" for e in self.failed]
        if self.status is not None and self.status >= 400:
            out.insert(0, f"HTTP {self.status} for {self.url}")
        return out


def _is_offsite(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https", "ws", "wss") and parts.hostname != ALLOWED_HOST


@contextmanager
def open_page(browser, url: str, *, color_scheme: str = "light", wait: str = "networkidle"):
    """Open ``url`` in a fresh context; yield a :class:`Visit` once the network is idle."""
    context = browser.new_context(
        viewport=VIEWPORT,
        color_scheme=color_scheme,
        service_workers="block",
        reduced_motion="reduce",
    )
    context.set_default_timeout(TIMEOUT_MS)
    context.add_init_script(OPEN_SHADOW_ROOTS)
    visit = Visit(page=None, url=url)

    def guard(route):
        if _is_offsite(route.request.url):
            visit.offsite.append(route.request.url)
            route.abort("blockedbyclient")
        else:
            route.continue_()

    def on_request(request):
        if _is_offsite(request.url):
            visit.offsite.append(request.url)

    def on_failed(request):
        if not _is_offsite(request.url):
            visit.failed.append(f"{request.url} ({request.failure})")

    def on_console(msg):
        if msg.type == "error":
            loc = msg.location or {}
            where = f" [{loc.get('url', '')}:{loc.get('lineNumber', '')}]" if loc.get("url") else ""
            visit.console_errors.append(msg.text + where)

    context.route("**/*", guard)
    context.on("request", on_request)
    context.on("requestfailed", on_failed)
    context.on("response", lambda response: visit.responses.append(response))
    page = context.new_page()
    page.on("console", on_console)
    page.on("pageerror", lambda exc: visit.page_errors.append(str(exc)))
    visit.page = page
    try:
        response = page.goto(url, wait_until="load")
        visit.status = response.status if response else None
        try:
            page.wait_for_load_state(wait)
        except Exception:  # noqa: BLE001 - a page that never idles still gets checked
            pass
        page.evaluate("() => document.fonts.ready.then(() => true)")
        yield visit
    finally:
        context.close()


# --------------------------------------------------------------------------------------------
# Page weight (make bench)
# --------------------------------------------------------------------------------------------

TEXT_TYPES = {"html", "css", "js", "json", "svg"}


def _kind(response) -> str:
    rtype = response.request.resource_type
    ctype = (response.headers.get("content-type") or "").split(";")[0].strip()
    path = urlsplit(response.url).path
    if rtype == "document" or ctype == "text/html":
        return "html"
    if rtype == "stylesheet" or ctype == "text/css":
        return "css"
    if rtype == "script" or ctype.endswith("javascript") or path.endswith((".js", ".mjs")):
        return "js"
    if rtype == "font" or ctype.startswith("font/") or path.endswith((".woff2", ".woff", ".ttf")):
        return "font"
    if ctype == "image/svg+xml":
        return "svg"
    if rtype == "image" or ctype.startswith("image/"):
        return "img"
    if ctype.endswith("json") or path.endswith(".json"):
        return "json"
    return "other"


def measure_page_weight(browser, url: str) -> dict:
    """Bytes fetched by one cold load of ``url`` (until the network is idle), by type.

    ``bytes`` is the size of the bodies as served here (no compression); ``gzip_bytes`` estimates
    what a gzip-serving host (GitHub Pages) sends: text types gzipped at level 6, fonts and
    raster images as they are. Returns ``{"url", "requests", "by_type": {kind: {count, bytes,
    gzip_bytes}}, "total_bytes", "total_gzip_bytes", "offsite", "problems"}``.
    """
    by_type: dict[str, dict[str, int]] = {}
    with open_page(browser, url) as visit:
        for response in visit.responses:
            if _is_offsite(response.url) or response.status >= 300:
                continue
            try:
                body = response.body()
            except Exception:  # noqa: BLE001 - body gone (e.g. navigated away): use the header
                size = (response.request.sizes() or {}).get("responseBodySize", 0)
                body = b"\0" * max(size, 0)
            kind = _kind(response)
            slot = by_type.setdefault(kind, {"count": 0, "bytes": 0, "gzip_bytes": 0})
            slot["count"] += 1
            slot["bytes"] += len(body)
            slot["gzip_bytes"] += len(gzip.compress(body, 6)) if kind in TEXT_TYPES else len(body)
        problems = visit.problems()
        offsite = list(dict.fromkeys(visit.offsite))
    return {
        "url": url,
        "requests": sum(v["count"] for v in by_type.values()),
        "by_type": dict(sorted(by_type.items())),
        "total_bytes": sum(v["bytes"] for v in by_type.values()),
        "total_gzip_bytes": sum(v["gzip_bytes"] for v in by_type.values()),
        "offsite": offsite,
        "problems": problems,
    }
