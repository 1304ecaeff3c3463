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

The server, Chromium and page-loading helpers live in ``site_tools/browser.py``, which
``site_tools/bench.py`` (``make bench``) uses too; this file imports them.
"""

from __future__ import annotations

import functools
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # site_tools/ is not an installed package

from site_tools.browser import (  # noqa: E402
    base_path,
    browser_unavailable_reason,
    launch_chromium,
    load_mkdocs_config,
    start_server,
    url_path,
)

# ATLAS_SITE_DIR points the checks at another build (e.g. `mkdocs build -d /tmp/site`).
SITE_DIR = Path(os.environ.get("ATLAS_SITE_DIR") or ROOT / "site").resolve()
DOCS_DIR = ROOT / "docs"
GLOSSARY_YML = DOCS_DIR / "_data" / "glossary.yml"
GLOSSARY_PAGE = "reference/glossary/index.html"
SCREENSHOT_DIR = ROOT / "artifacts" / "screenshots"
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


def slug(rel: str) -> str:
    """A file-name-safe id for a page: ``blocks/attention/index.html`` -> ``blocks-attention``."""
    path = url_path(rel).strip("/")
    path = re.sub(r"\.html$", "", path) or "index"
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", path)


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

@pytest.fixture(scope="session")
def site_server(site_dir):
    server = start_server(site_dir)
    yield server
    server.stop()


# --------------------------------------------------------------------------------------------
# Chromium through Playwright
# --------------------------------------------------------------------------------------------

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
