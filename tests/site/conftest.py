"""Shared fixtures for the checks over the built site (``site/``).

Nothing here builds the site: ``make test`` runs ``mkdocs build --strict`` before these tests, and
``make site`` does it by hand. A missing build is a failure, never a silent skip.

Fixtures
--------
``site_dir``        Path to ``site/`` (fails with "run `make site` first" when it is not built).
``site_page``       Parametrized: one test per HTML file in ``site/`` (404.html included).
``content_page``    Parametrized: the same minus ``404.html``.
``page_at``         A factory: ``page_at(rel)`` -> ``SitePage``.
``glossary_page``   The built glossary page (``reference/glossary/index.html``).
``glossary``        The entries of ``docs/_data/glossary.yml``.
``glossary_entry``  Parametrized: one test per glossary entry.
``mkdocs_config``   ``mkdocs.yml`` as a dict (``!ENV`` resolved, ``!!python/name`` tags as ``None``).
``site_server``     A static HTTP server on 127.0.0.1 (ephemeral port) serving ``site/`` under the
                    base path the site was built for (the path of ``site_url``, read from the
                    canonical link of index.html), so absolute links (404.html) resolve as they do
                    when deployed. Its ``.url(rel)`` builds page URLs.
``screenshot_dir``  ``artifacts/screenshots/`` (created).

``ATLAS_SITE_DIR`` points every check at another build directory (default ``site/``).
``browser``         A headless Chromium (Debian's ``/usr/bin/chromium``, or ``$ATLAS_CHROMIUM``) driven
                    by Playwright. Missing: the browser tests skip, unless ``ATLAS_REQUIRE_BROWSER=1``
                    (CI), where they fail.

The plain helpers (``start_server``, ``launch_chromium``, ``CHROMIUM_ARGS``, ``site_pages``) are
also used by ``site_tools/bench.py``, which loads this file by path.
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# ATLAS_SITE_DIR points the checks at another build (e.g. `mkdocs build -d /tmp/site`).
SITE_DIR = Path(os.environ.get("ATLAS_SITE_DIR") or ROOT / "site").resolve()
DOCS_DIR = ROOT / "docs"
GLOSSARY_YML = DOCS_DIR / "_data" / "glossary.yml"
MKDOCS_YML = ROOT / "mkdocs.yml"
GLOSSARY_PAGE = "reference/glossary/index.html"
SCREENSHOT_DIR = ROOT / "artifacts" / "screenshots"

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
NOT_BUILT = "site/index.html is missing: run `make site` first (or `make test`, which builds it)"
MISSING_SENTINEL = "<site not built>"


# --------------------------------------------------------------------------------------------
# Reading the build
# --------------------------------------------------------------------------------------------

def site_pages(site_dir: Path = SITE_DIR, *, include_404: bool = True) -> list[str]:
    """Every HTML file under ``site_dir``, as sorted POSIX paths relative to it."""
    if not (site_dir / "index.html").is_file():
        return []
    pages = sorted(p.relative_to(site_dir).as_posix() for p in site_dir.rglob("*.html"))
    if not include_404:
        pages = [p for p in pages if p != "404.html"]
    return pages


def url_path(rel: str) -> str:
    """``blocks/attention/index.html`` -> ``blocks/attention/``; ``index.html`` -> ``""``."""
    if rel == "index.html":
        return ""
    if rel.endswith("/index.html"):
        return rel[: -len("index.html")]
    return rel


def slug(rel: str) -> str:
    """A file-name-safe id for a page: ``blocks/attention/index.html`` -> ``blocks-attention``."""
    path = url_path(rel).strip("/")
    path = re.sub(r"\.html$", "", path) or "index"
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", path)


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
def base_path(site_dir: Path = SITE_DIR) -> str:
    """The URL path the site was built for (``/transformer-atlas/`` on a project Pages site, ``/``
    locally): the path of index.html's canonical link, which mkdocs derives from ``site_url``."""
    from urllib.parse import urlsplit

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


@functools.cache
def load_glossary() -> list[dict]:
    import yaml

    data = yaml.safe_load(GLOSSARY_YML.read_text(encoding="utf-8")) or []
    assert isinstance(data, list), f"{GLOSSARY_YML} must be a YAML list of entries"
    return data


@functools.lru_cache(maxsize=16)  # parsed pages are large; re-parsing is cheap
def _read_soup(path: str):
    from bs4 import BeautifulSoup

    return BeautifulSoup(Path(path).read_text(encoding="utf-8"), "lxml")


@dataclass(frozen=True)
class SitePage:
    """One built HTML file. ``rel`` is relative to ``site/``; ``url`` is its URL path below the
    site root (``blocks/attention/``)."""

    rel: str
    site_dir: Path

    @property
    def path(self) -> Path:
        return self.site_dir / self.rel

    @property
    def url(self) -> str:
        return url_path(self.rel)

    @property
    def base(self) -> str:
        """The site's base URL path (``/transformer-atlas/``): absolute links start with it."""
        return base_path(self.site_dir)

    @property
    def slug(self) -> str:
        return slug(self.rel)

    @property
    def html(self) -> str:
        return self.path.read_text(encoding="utf-8")

    @property
    def soup(self):
        """The parsed page (BeautifulSoup + lxml), cached per process: do not mutate it."""
        return _read_soup(str(self.path))

    @property
    def is_notebook(self) -> bool:
        return is_notebook_html(self.html)

    def __str__(self) -> str:
        return self.rel


def is_notebook_html(html: str) -> bool:
    """mkdocs-jupyter pages carry ``jupyter-wrapper`` / ``jp-Notebook`` markup."""
    return 'class="jupyter-wrapper' in html or "jp-Notebook" in html


# --------------------------------------------------------------------------------------------
# Parametrization: a failure names the page (or the glossary term)
# --------------------------------------------------------------------------------------------

def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    for name, include_404 in (("site_page", True), ("content_page", False)):
        if name in metafunc.fixturenames:
            pages = site_pages(include_404=include_404) or [MISSING_SENTINEL]
            metafunc.parametrize(name, pages, ids=[url_path(p) or "index" for p in pages],
                                 indirect=True)
    if "glossary_entry" in metafunc.fixturenames:
        entries = load_glossary()
        metafunc.parametrize("glossary_entry", entries,
                             ids=[str(e.get("term", i)) for i, e in enumerate(entries)])


# --------------------------------------------------------------------------------------------
# Fixtures: the build
# --------------------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def site_dir() -> Path:
    if not (SITE_DIR / "index.html").is_file():
        pytest.fail(NOT_BUILT, pytrace=False)
    return SITE_DIR


@pytest.fixture
def site_page(request, site_dir) -> SitePage:
    return SitePage(request.param, site_dir)


@pytest.fixture
def content_page(request, site_dir) -> SitePage:
    return SitePage(request.param, site_dir)


@pytest.fixture(scope="session")
def page_at(site_dir):
    """``page_at("blocks/attention/index.html")`` -> SitePage, for modules that parametrize themselves."""
    return lambda rel: SitePage(rel, site_dir)


@pytest.fixture(scope="session")
def all_pages(site_dir) -> list[SitePage]:
    """Every built HTML file, 404.html included."""
    return [SitePage(p, site_dir) for p in site_pages(site_dir)]


@pytest.fixture(scope="session")
def content_pages(site_dir) -> list[SitePage]:
    """Every built HTML file except 404.html."""
    return [SitePage(p, site_dir) for p in site_pages(site_dir, include_404=False)]


@pytest.fixture(scope="session")
def glossary_page(site_dir) -> SitePage:
    if not (site_dir / GLOSSARY_PAGE).is_file():
        pytest.fail(f"the glossary page site/{GLOSSARY_PAGE} was not built", pytrace=False)
    return SitePage(GLOSSARY_PAGE, site_dir)


@pytest.fixture(scope="session")
def glossary() -> list[dict]:
    return load_glossary()


@pytest.fixture(scope="session")
def mkdocs_config() -> dict:
    return load_mkdocs_config()


# --------------------------------------------------------------------------------------------
# A static server for the browser tests
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
        return super().translate_path("/" + raw[len(self.base):])

    def log_message(self, format, *args):  # noqa: A002 - quiet
        pass

    def handle_one_request(self):
        try:
            super().handle_one_request()
        except (ConnectionResetError, BrokenPipeError):  # the browser went away mid-response
            pass


class SiteServer:
    def __init__(self, httpd: http.server.ThreadingHTTPServer, thread: threading.Thread,
                 base: str):
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


def start_server(directory: Path = SITE_DIR, base: str | None = None) -> SiteServer:
    base = base or base_path(directory)
    handler = functools.partial(type("Handler", (_QuietHandler,), {"base": base}),
                                directory=str(directory))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, name="site-server", daemon=True)
    thread.start()
    return SiteServer(httpd, thread, base)


@pytest.fixture(scope="session")
def site_server(site_dir):
    server = start_server(site_dir)
    yield server
    server.stop()


# --------------------------------------------------------------------------------------------
# Chromium through Playwright
# --------------------------------------------------------------------------------------------

def chromium_path() -> str:
    return os.environ.get("ATLAS_CHROMIUM") or DEFAULT_CHROMIUM


def browser_unavailable_reason() -> str | None:
    exe = chromium_path()
    if not (os.path.isfile(exe) and os.access(exe, os.X_OK)) and not shutil.which(exe):
        return (f"Chromium not found at {exe} (install Debian's `chromium`: `make browser-deps`; "
                "or point ATLAS_CHROMIUM at a Chromium binary)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the Python package `playwright` is not installed (`make setup`)"
    return None


def launch_chromium(playwright):
    """Headless Chromium with the flags that keep it quiet and off the network by itself."""
    return playwright.chromium.launch(executable_path=chromium_path(), headless=True,
                                      args=CHROMIUM_ARGS)


@pytest.fixture(scope="session")
def browser():
    reason = browser_unavailable_reason()
    if reason:
        if os.environ.get("ATLAS_REQUIRE_BROWSER") == "1":
            pytest.fail(f"ATLAS_REQUIRE_BROWSER=1 but {reason}", pytrace=False)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    pw = sync_playwright().start()
    try:
        chromium = launch_chromium(pw)
    except Exception as exc:  # a broken install must not pass silently in CI
        pw.stop()
        if os.environ.get("ATLAS_REQUIRE_BROWSER") == "1":
            pytest.fail(f"could not launch Chromium: {exc}", pytrace=False)
        pytest.skip(f"could not launch Chromium: {exc}")
    yield chromium
    chromium.close()
    pw.stop()


@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    return SCREENSHOT_DIR
