"""Browser tests: the built site in headless Chromium (Playwright, sync API), served on 127.0.0.1.

Every page: loads with no console error and no uncaught exception, makes NO request to any host but
127.0.0.1 (every other request is recorded and aborted, so a leak fails fast instead of hanging),
shows rendered math (visible KaTeX has a size, KaTeX's CSS and fonts are in use, no raw TeX is
visible), and leaves a full-page screenshot in ``artifacts/screenshots/<page>.png``.

Features: mermaid diagrams become SVGs, the search box finds the softmax page, glossary
abbreviations carry their definition as a tooltip, and the light/dark toggle switches schemes.

The helpers that load a page (``open_page``) and weigh it (``measure_page_weight``, which
``make bench`` uses too) live in ``site_tools/browser.py``; ``conftest.py`` puts the repository's
root on ``sys.path``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from site_tools.browser import TIMEOUT_MS, measure_page_weight, open_page

if TYPE_CHECKING:
    from conftest import SitePage
    from site_tools.browser import SiteServer

pytestmark = [pytest.mark.site, pytest.mark.browser]

RAW_TEX = re.compile(r"\\\(|\\\)|\\\[|\\\]|\$\$")
INLINE_DOLLAR_TEX = re.compile(r"(?<![\\$\w])\$(?=[^\s$])([^$\n]{1,300}?)(?<=[^\s\\])\$(?![\w$])")
TEXY = re.compile(r"[\\^_]")

MATH_PROBE = """
() => {
  const visible = (el) => !!el && (el.checkVisibility ? el.checkVisibility()
                                   : el.getClientRects().length > 0);
  const out = { katex: 0, checked: 0, zeroSize: [], mathmlShown: [], fontsLoaded: [], text: "" };
  for (const k of document.querySelectorAll(".katex")) {
    out.katex++;
    if (k.parentElement.closest(".katex") || !visible(k.parentElement)) continue;
    out.checked++;
    const r = k.getBoundingClientRect();
    if (!(r.width > 0 && r.height > 0)) out.zeroSize.push(k.textContent.slice(0, 60));
    const mathml = k.querySelector(".katex-mathml");
    if (mathml && getComputedStyle(mathml).position !== "absolute")
      out.mathmlShown.push(k.textContent.slice(0, 60));
  }
  out.fontsLoaded = [...document.fonts]
    .filter((f) => f.status === "loaded").map((f) => f.family.replace(/["']/g, ""));
  const skip = "pre, code, script, style, textarea, noscript, annotation, kbd, samp, .katex, svg";
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const parts = [];
  while (walker.nextNode()) {
    const p = walker.currentNode.parentElement;
    if (!p || p.closest(skip) || !visible(p)) continue;
    parts.push(walker.currentNode.nodeValue);
  }
  out.text = parts.join("");
  return out;
}
"""


# --------------------------------------------------------------------------------------------
# Collection helpers
# --------------------------------------------------------------------------------------------

def _site_dir(config) -> Path:
    return Path(os.environ.get("ATLAS_SITE_DIR") or config.rootpath / "site")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "mermaid_page" in metafunc.fixturenames:
        site = _site_dir(metafunc.config)
        pages = []
        if (site / "index.html").is_file():
            pages = [p.relative_to(site).as_posix() for p in sorted(site.rglob("*.html"))
                     if re.search(r'class="[^"]*\bmermaid\b', p.read_text(encoding="utf-8"))]
        else:
            pages = ["<site not built>"]
        metafunc.parametrize("mermaid_page", pages, indirect=True,
                             ids=[p.removesuffix("index.html") or "index" for p in pages])


@pytest.fixture(scope="session")
def mermaid_pages_rel(request) -> list[str]:
    """Site-relative paths of the pages that contain a mermaid diagram."""
    site = _site_dir(request.config)
    return [p.relative_to(site).as_posix() for p in sorted(site.rglob("*.html"))
            if re.search(r'class="[^"]*\bmermaid\b', p.read_text(encoding="utf-8"))]


@pytest.fixture
def mermaid_page(request, page_at) -> SitePage:
    return page_at(request.param)


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text or "").strip()


# --------------------------------------------------------------------------------------------
# Every page
# --------------------------------------------------------------------------------------------

def test_page_in_browser(site_page: SitePage, browser, site_server: SiteServer,
                         screenshot_dir: Path):
    url = site_server.url(site_page.rel)
    with open_page(browser, url) as visit:
        visit.page.screenshot(path=str(screenshot_dir / f"{site_page.slug}.png"), full_page=True)
        math = visit.page.evaluate(MATH_PROBE)
        problems = visit.problems()

    if math["checked"]:
        problems += [f"KaTeX element with zero size: {t!r}" for t in math["zeroSize"]]
        problems += [f"KaTeX MathML shown as text (KaTeX CSS missing?): {t!r}"
                     for t in math["mathmlShown"][:5]]
        if not any(f.startswith("KaTeX") for f in math["fontsLoaded"]):
            problems.append("page shows KaTeX math but no KaTeX font was loaded "
                            f"(loaded: {sorted(set(math['fontsLoaded']))})")
    text = math["text"]
    problems += [f"raw TeX visible: {text[max(0, m.start() - 30):m.end() + 30]!r}"
                 for m in RAW_TEX.finditer(text)][:10]
    problems += [f"raw $...$ TeX visible: {m.group(0)!r}"
                 for m in INLINE_DOLLAR_TEX.finditer(text) if TEXY.search(m.group(1))][:10]
    problems = list(dict.fromkeys(problems))
    assert not problems, f"{site_page} in Chromium ({url}):\n  " + "\n  ".join(problems)


# --------------------------------------------------------------------------------------------
# Features
# --------------------------------------------------------------------------------------------

def test_mermaid_renders_to_svg(mermaid_page: SitePage, browser, site_server: SiteServer):
    url = site_server.url(mermaid_page.rel)
    expected = len(mermaid_page.soup.select(".mermaid"))
    with open_page(browser, url) as visit:
        page = visit.page
        try:
            page.wait_for_function(
                """(n) => {
                  const hosts = [...document.querySelectorAll("div.mermaid")];
                  return document.querySelectorAll("pre.mermaid").length === 0
                      && hosts.length >= n
                      && hosts.every((h) => h.shadowRoot && h.shadowRoot.querySelector("svg"));
                }""", arg=expected, timeout=TIMEOUT_MS)
            rendered = True
        except Exception:  # noqa: BLE001 - reported below with the page's errors
            rendered = False
        sizes = page.evaluate("""() => [...document.querySelectorAll("div.mermaid")].map((h) => {
              const svg = h.shadowRoot && h.shadowRoot.querySelector("svg");
              if (!svg) return null;
              const r = svg.getBoundingClientRect();
              return [r.width, r.height];
            })""")
        problems = visit.problems()
    assert rendered, (f"{mermaid_page}: {expected} mermaid diagram(s) did not all become an SVG "
                      f"within {TIMEOUT_MS // 1000} s (hosts with SVG: {sizes}).\n  "
                      + "\n  ".join(problems))
    assert all(s and s[0] > 0 and s[1] > 0 for s in sizes), \
        f"{mermaid_page}: a mermaid SVG has zero size: {sizes}"
    assert not problems, f"{mermaid_page}:\n  " + "\n  ".join(problems)


def test_search_finds_softmax_page(browser, site_server: SiteServer):
    with open_page(browser, site_server.url("")) as visit:
        page = visit.page
        box = page.locator("input[data-md-component='search-query']")
        box.click()
        box.press_sequentially("softmax", delay=20)
        page.wait_for_function("""() => {
            const m = document.querySelector(".md-search-result__meta");
            return m && m.textContent.trim() && !/initializing/i.test(m.textContent);
        }""")
        meta = _norm(page.locator(".md-search-result__meta").inner_text())
        page.wait_for_selector("li.md-search-result__item a[href]", state="attached")
        hrefs = page.eval_on_selector_all("li.md-search-result__item a[href]",
                                          "els => els.map((a) => a.href)")
        problems = visit.problems()
    target = site_server.url("blocks/logits-softmax/")
    assert any(h.split("#")[0].split("?")[0] == target for h in hrefs), \
        f"searching 'softmax' did not list {target}; results ({meta!r}): {hrefs}"
    assert not problems, "\n  ".join(["index page during search:", *problems])


def test_glossary_abbreviation_tooltip(browser, site_server: SiteServer, content_pages, glossary,
                                       mkdocs_config):
    abbrs = {e["abbr"]: _norm(e.get("definition", "")) for e in glossary if e.get("abbr")}
    if not abbrs:
        pytest.skip("docs/_data/glossary.yml defines no abbreviations")
    candidate = user = None
    for site_page in content_pages:
        article = site_page.soup.select_one("article") or site_page.soup.body
        hit = next((a for a in article.find_all("abbr", title=True)
                    if a.get_text(strip=True) in abbrs), None)
        if hit is not None:
            candidate = (site_page, hit.get_text(strip=True))
            break
        text = article.get_text(" ")
        if user is None and any(re.search(rf"(?<![\w-]){re.escape(a)}(?![\w-])", text)
                                for a in abbrs):
            user = site_page
    assert candidate, ("no page wraps a glossary abbreviation in <abbr title=...>"
                       + (f" although {user} uses one" if user else ""))
    site_page, abbr = candidate
    features = ((mkdocs_config.get("theme") or {}).get("features")) or []
    with open_page(browser, site_server.url(site_page.rel)) as visit:
        page = visit.page
        el = page.locator("article abbr[title]", has_text=re.compile(rf"^\s*{re.escape(abbr)}\s*$"))
        el = el.first
        el.scroll_into_view_if_needed()
        assert el.is_visible(), f"{site_page}: <abbr>{abbr}</abbr> is not visible"
        title = _norm(el.get_attribute("title"))
        assert abbrs[abbr] in title, \
            f"{site_page}: <abbr>{abbr}</abbr> title {title!r} lacks the definition {abbrs[abbr]!r}"
        if "content.tooltips" in features:
            el.hover()
            tip = page.locator(".md-tooltip2--active, .md-tooltip--active").first
            tip.wait_for(state="visible", timeout=5_000)
        problems = visit.problems()
    assert not problems, f"{site_page}:\n  " + "\n  ".join(problems)


def test_palette_toggle_switches_scheme(browser, site_server: SiteServer, mkdocs_config):
    palette = (mkdocs_config.get("theme") or {}).get("palette")
    schemes = [p.get("scheme") for p in palette] if isinstance(palette, list) else []
    if len(schemes) < 2:
        pytest.skip("theme.palette does not define a light/dark toggle")
    with open_page(browser, site_server.url(""), color_scheme="light") as visit:
        page = visit.page
        scheme = lambda: page.evaluate("() => document.body.getAttribute('data-md-color-scheme')")  # noqa: E731
        assert scheme() == "default", f"light system preference should give 'default', got {scheme()!r}"
        toggle = "label.md-header__button[for^='__palette']:visible"
        page.locator(toggle).first.click()
        page.wait_for_function("() => document.body.dataset.mdColorScheme === 'slate'")
        page.locator(toggle).first.click()
        page.wait_for_function("() => document.body.dataset.mdColorScheme === 'default'")
        problems = visit.problems()
    assert not problems, "index page while toggling the palette:\n  " + "\n  ".join(problems)


def test_page_weight_helper(browser, site_server: SiteServer):
    """Smoke test of the helper bench.py uses: a typical page fetches HTML, CSS and JS, nothing
    from off the site."""
    weight = measure_page_weight(browser, site_server.url(""))
    assert weight["by_type"].get("html", {}).get("bytes", 0) > 0, weight
    assert weight["by_type"].get("css", {}).get("bytes", 0) > 0, weight
    assert weight["by_type"].get("js", {}).get("bytes", 0) > 0, weight
    assert not weight["offsite"], f"index page requested off-site URLs: {weight['offsite']}"


def test_mermaid_loads_only_where_needed_and_survives_instant_navigation(
        browser, site_server: SiteServer, mermaid_pages_rel: list[str]):
    """The 3.5 MB mermaid bundle is not fetched by a page without a diagram; a diagram page
    reached by instant navigation (no full reload) still draws its diagram with the
    self-hosted copy."""
    if not mermaid_pages_rel:
        pytest.skip("no page has a mermaid diagram")
    target = mermaid_pages_rel[0]
    with open_page(browser, site_server.url("")) as visit:
        page = visit.page
        fetched = lambda: [r.url for r in visit.responses if "mermaid" in r.url]  # noqa: E731
        assert fetched() == [], f"the home page (no diagram) fetched mermaid: {fetched()}"
        link = page.locator(f"article a[href$='{target.removesuffix('index.html')}']").first
        link.click()
        page.wait_for_function(
            """() => [...document.querySelectorAll("div.mermaid")].length > 0
                 && [...document.querySelectorAll("div.mermaid")]
                      .every((h) => h.shadowRoot && h.shadowRoot.querySelector("svg"))""",
            timeout=TIMEOUT_MS)
        assert len(page.evaluate("() => performance.getEntriesByType('navigation')")) == 1, \
            "the click reloaded the page instead of using instant navigation"
        assert fetched() and all(u.startswith(site_server.url("")) for u in fetched()), fetched()
        problems = visit.problems()
    assert not problems, "home page -> diagram page:\n  " + "\n  ".join(problems)


def test_search_finds_glossary_term(browser, site_server: SiteServer, glossary):
    """Every glossary term has its own anchor that the site search finds."""
    entry = next(e for e in glossary if e["term"] == "Grouped-query attention")
    with open_page(browser, site_server.url("")) as visit:
        page = visit.page
        box = page.locator("input[data-md-component='search-query']")
        box.click()
        box.press_sequentially("grouped-query", delay=20)
        page.wait_for_selector("li.md-search-result__item a[href]", state="attached")
        hrefs = page.eval_on_selector_all("li.md-search-result__item a[href]",
                                          "els => els.map((a) => a.href)")
        problems = visit.problems()
    target = site_server.url("reference/glossary/") + "#grouped-query-attention"
    hrefs = [re.sub(r"\?[^#]*", "", h) for h in hrefs]  # drop Material's ?h=highlight
    assert target in hrefs, f"searching for {entry['term']!r} did not list {target}: {hrefs}"
    assert not problems, "\n  ".join(problems)
