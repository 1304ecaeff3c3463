"""Static checks over every HTML page of the built site (``site/``), with BeautifulSoup + lxml.

Each check is parametrized by page, so a failure names the page (``[blocks/attention/]``):

* internal links and their ``#anchors`` resolve to a file in ``site/`` and an ``id``/``name`` in it;
* no resource (script, stylesheet, image, font, iframe, ``url(...)``...) is loaded from off the
  site, and every local one exists; external URLs are allowed only as ``<a href>`` targets;
* no raw TeX is left (``\\(``, ``\\[``, ``$$``, ``$x_1$``...), and every ``.arithmatex`` was rendered;
* every page has a ``<title>`` and a ``<meta name="description">``;
* the glossary page has an entry (id, definition, link) for each term of
  ``docs/_data/glossary.yml``, and each abbreviation used on a page is wrapped in ``<abbr title>``;
* every figure under ``assets/figures/`` that a page shows exists and is a valid SVG.
"""

from __future__ import annotations

import functools
import posixpath
import re
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

import pytest
from bs4 import BeautifulSoup, NavigableString, Tag

if TYPE_CHECKING:
    from conftest import SitePage

pytestmark = pytest.mark.site

# Text inside these is code or machinery, not prose a reader sees as text.
NON_PROSE_TAGS = frozenset({"code", "pre", "script", "style", "noscript", "template", "textarea",
                            "annotation", "kbd", "samp", "svg", "math"})
# Rendered KaTeX (its HTML half holds the math as text, e.g. "FFN") and mermaid sources.
NON_PROSE_CLASSES = frozenset({"katex", "katex-display", "mermaid"})
# Where an abbreviation is not expected to carry a tooltip: headings and links (a tooltip there
# would fight the link or the permalink), besides code and math.
NO_ABBR_TAGS = NON_PROSE_TAGS | {"h1", "h2", "h3", "h4", "h5", "h6", "a"}
# Display-math delimiters and inline-math delimiters pymdownx.arithmatex leaves when unrendered.
RAW_TEX = re.compile(r"\\\(|\\\)|\\\[|\\\]|\$\$")
# Inline $...$ TeX (notebook markdown, or a Markdown page the math hook missed): no space just inside
# the dollars, no digit right after the closing one (so "$5 and $3" is prose), and the body must
# look like TeX (a backslash, ^ or _).
INLINE_DOLLAR_TEX = re.compile(r"(?<![\\$\w])\$(?=[^\s$])([^$\n]{1,300}?)(?<=[^\s\\])\$(?![\w$])")
TEXY = re.compile(r"[\\^_]")

EXTERNAL_LINK_SCHEMES = frozenset({"http", "https", "mailto", "tel"})
LOCAL_RESOURCE_SCHEMES = frozenset({"", "data", "blob", "about"})
RESOURCE_LINK_RELS = frozenset({"stylesheet", "preload", "modulepreload", "prefetch", "icon",
                                "apple-touch-icon", "mask-icon", "manifest", "preconnect",
                                "dns-prefetch"})
SRC_ATTRS = {  # tag -> attributes whose URL the browser fetches on its own
    "script": ("src",), "img": ("src",), "iframe": ("src",), "frame": ("src",),
    "source": ("src",), "video": ("src", "poster"), "audio": ("src",), "track": ("src",),
    "embed": ("src",), "object": ("data",), "input": ("src",),
    "image": ("href", "xlink:href"), "use": ("href", "xlink:href"), "feimage": ("href", "xlink:href"),
}
CSS_URL = re.compile(r"""url\(\s*(['"]?)(.*?)\1\s*\)|@import\s+(['"])(.*?)\3""", re.I)
JS_URL_LITERAL = re.compile(r"""(["'`])((?:https?:)?//[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+[^"'`\s]*)\1""")
JS_URL_ALLOWED = ("http://www.w3.org/", "https://www.w3.org/")  # namespace names, never fetched
EXECUTABLE_SCRIPT_TYPES = frozenset({"", "text/javascript", "application/javascript", "module",
                                     "text/ecmascript", "application/ecmascript"})


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------

def prose_strings(root: Tag, skip_tags=NON_PROSE_TAGS, skip_classes=NON_PROSE_CLASSES):
    """The text nodes a reader sees as prose: not in code, pre, script, style or rendered math..."""
    for node in root.descendants:
        if type(node) is not NavigableString:  # skips Comment, Doctype, CData, ...
            continue
        if any(parent.name in skip_tags or skip_classes.intersection(parent.get("class") or ())
               for parent in node.parents):
            continue
        yield node


def prose_text(root: Tag, **skip) -> str:
    return "".join(prose_strings(root, **skip))


def main_content(soup: BeautifulSoup) -> Tag:
    """Material's article (the page's own content), or the body for pages without one."""
    return soup.select_one("article.md-content__inner") or soup.body or soup


def norm_space(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def excerpt(text: str, start: int, end: int, pad: int = 40) -> str:
    return repr(norm_space(text[max(0, start - pad):end + pad]))


@functools.cache
def _anchors(path: str) -> frozenset[str]:
    soup = BeautifulSoup(Path(path).read_text(encoding="utf-8"), "lxml")
    ids = {el["id"] for el in soup.find_all(id=True)}
    ids |= {el["name"] for el in soup.find_all(["a", "area"], attrs={"name": True})}
    return frozenset(ids)


def resolve_local(page: SitePage, url: str) -> tuple[str | None, str, str | None]:
    """Resolve a site-local URL found on ``page``.

    Returns ``(target, fragment, error)`` where ``target`` is a path relative to ``site/``
    (``dir/`` -> ``dir/index.html``) or None when it does not resolve, with the reason in ``error``.
    """
    parts = urlsplit(url)
    path, fragment = unquote(parts.path), unquote(parts.fragment)
    if not path:
        return page.rel, fragment, None
    if path.startswith("/"):
        base = page.base
        if not path.startswith(base):
            return None, fragment, f"absolute path outside the site's base path {base!r}"
        joined = path[len(base):]
    else:
        joined = posixpath.join(posixpath.dirname(page.rel), path)
    norm = posixpath.normpath(joined) if joined else "."
    if norm == ".." or norm.startswith("../") or norm.startswith("/"):
        return None, fragment, "points outside site/"
    norm = "" if norm == "." else norm
    fs = page.site_dir / norm
    if path.endswith("/") or fs.is_dir():
        target = posixpath.join(norm, "index.html") if norm else "index.html"
    else:
        target = norm
    if not (page.site_dir / target).is_file():
        return None, fragment, f"no file site/{target}"
    return target, fragment, None


def check_fragment(page: SitePage, target: str, fragment: str) -> str | None:
    if not fragment or not target.endswith(".html"):
        return None
    if fragment not in _anchors(str(page.site_dir / target)):
        return f"no id or name {fragment!r} in site/{target}"
    return None


def is_offsite(url: str) -> bool:
    parts = urlsplit(url.strip())
    return bool(parts.netloc) or parts.scheme.lower() not in LOCAL_RESOURCE_SCHEMES


def srcset_urls(value: str) -> list[str]:
    return [item.strip().split()[0] for item in value.split(",") if item.strip()]


def resource_urls(soup: BeautifulSoup) -> list[tuple[str, str]]:
    """Every URL the page makes the browser fetch by itself, as ``(where, url)``."""
    found: list[tuple[str, str]] = []
    for tag_name, attrs in SRC_ATTRS.items():
        for el in soup.find_all(tag_name):
            for attr in attrs:
                if el.has_attr(attr):
                    found.append((f"<{tag_name} {attr}>", el[attr]))
            if el.has_attr("srcset"):
                found += [(f"<{tag_name} srcset>", u) for u in srcset_urls(el["srcset"])]
    for el in soup.find_all("link", href=True):
        rels = {r.lower() for r in (el.get("rel") or [])}
        if rels & RESOURCE_LINK_RELS:
            found.append((f"<link rel={' '.join(sorted(rels))}>", el["href"]))
    for el in soup.find_all(style=True):
        found += [(f"<{el.name} style> url()", m.group(2) or m.group(4) or "")
                  for m in CSS_URL.finditer(el["style"])]
    for el in soup.find_all("style"):
        found += [("<style> url()/@import", m.group(2) or m.group(4) or "")
                  for m in CSS_URL.finditer(el.get_text())]
    return found


# --------------------------------------------------------------------------------------------
# Links
# --------------------------------------------------------------------------------------------

def test_internal_links_resolve(site_page: SitePage):
    problems = []
    for el in site_page.soup.find_all(["a", "area"], href=True):
        href = el["href"].strip()
        parts = urlsplit(href)
        if parts.scheme.lower() in EXTERNAL_LINK_SCHEMES or (not parts.scheme and parts.netloc):
            continue  # external: allowed as a link target, not checked (no network in tests)
        if parts.scheme:
            problems.append(f"{href!r}: unexpected URL scheme {parts.scheme!r}")
            continue
        target, fragment, error = resolve_local(site_page, href)
        error = error or check_fragment(site_page, target, fragment)
        if error:
            text = norm_space(el.get_text())[:40]
            problems.append(f"{href!r} (link text {text!r}): {error}")
    assert not problems, f"broken links on {site_page}:\n  " + "\n  ".join(problems)


# --------------------------------------------------------------------------------------------
# Resources: local only, and present
# --------------------------------------------------------------------------------------------

def test_no_offsite_resources(site_page: SitePage):
    offsite = [f"{where} {url!r}" for where, url in resource_urls(site_page.soup) if is_offsite(url)]
    assert not offsite, (f"{site_page} loads resources from off the site (self-host them; "
                         "external URLs are allowed only in <a href>):\n  " + "\n  ".join(offsite))


def test_no_offsite_urls_in_inline_scripts(site_page: SitePage):
    """An inline script that imports or fetches from a CDN leaks a request just like a <script src>
    (mkdocs-jupyter's notebook template does this for mermaid)."""
    problems = []
    for i, el in enumerate(site_page.soup.find_all("script")):
        if el.has_attr("src") or (el.get("type") or "").lower() not in EXECUTABLE_SCRIPT_TYPES:
            continue
        for m in JS_URL_LITERAL.finditer(el.get_text()):
            if not m.group(2).startswith(JS_URL_ALLOWED):
                problems.append(f"inline <script> #{i}: {m.group(2)!r}")
    assert not problems, (f"{site_page} has inline scripts that reach off the site:\n  "
                          + "\n  ".join(problems))


def test_local_resources_exist(site_page: SitePage):
    problems = []
    for where, url in resource_urls(site_page.soup):
        if is_offsite(url):
            continue  # reported by test_no_offsite_resources
        stripped = url.strip()
        if not stripped:
            problems.append(f"{where} is empty (an empty src/href is a request for nothing)")
            continue
        parts = urlsplit(stripped)
        if parts.scheme or not parts.path:  # data:/blob:/about: or a same-document #fragment
            continue
        _target, _frag, error = resolve_local(site_page, stripped)
        if error:
            problems.append(f"{where} {url!r}: {error}")
    assert not problems, f"{site_page} refers to missing local resources:\n  " + "\n  ".join(problems)


# --------------------------------------------------------------------------------------------
# Math
# --------------------------------------------------------------------------------------------

def test_no_unrendered_math(site_page: SitePage):
    soup = site_page.soup
    body = soup.body or soup
    problems = []
    text = prose_text(body)
    for m in RAW_TEX.finditer(text):
        problems.append(f"raw TeX delimiter {m.group(0)!r} in text: {excerpt(text, m.start(), m.end())}")
    for m in INLINE_DOLLAR_TEX.finditer(text):
        if TEXY.search(m.group(1)):
            problems.append(f"raw inline $...$ TeX in text: {excerpt(text, m.start(), m.end(), 20)}")
    for el in body.select(".arithmatex"):
        if el.find(class_="katex") is None:
            problems.append(f"<{el.name} class=arithmatex> not rendered by KaTeX: "
                            f"{norm_space(el.get_text())[:80]!r}")
    assert not problems, (f"unrendered math on {site_page} ({len(problems)} place(s)):\n  "
                          + "\n  ".join(problems[:25]))


# --------------------------------------------------------------------------------------------
# Metadata
# --------------------------------------------------------------------------------------------

def test_title_and_description(site_page: SitePage):
    soup = site_page.soup
    title = soup.title.get_text(strip=True) if soup.title else ""
    assert title, f"{site_page} has no (or an empty) <title>"
    metas = soup.find_all("meta", attrs={"name": "description"})
    assert metas, f"{site_page} has no <meta name=\"description\">"
    assert all(norm_space(m.get("content", "")) for m in metas), \
        f"{site_page} has an empty <meta name=\"description\">"


# --------------------------------------------------------------------------------------------
# Glossary
# --------------------------------------------------------------------------------------------

def docs_page_to_site(docs_path: str) -> tuple[str, str]:
    """``blocks/attention.md#x`` -> (``blocks/attention/index.html``, ``x``) (directory URLs)."""
    path, _, fragment = docs_path.partition("#")
    stem = posixpath.splitext(path)[0]
    if posixpath.basename(stem) in ("index", "README"):
        stem = posixpath.dirname(stem)
    return (posixpath.join(stem, "index.html") if stem else "index.html"), fragment


def _toc_slug(text: str) -> str:
    from markdown.extensions.toc import slugify

    return slugify(text, "-")


def test_glossary_page_has_entry(glossary_entry: dict, glossary_page: SitePage):
    term = glossary_entry["term"]
    page, site_dir = glossary_page, glossary_page.site_dir
    soup = page.soup
    content = main_content(soup)

    slug = _toc_slug(term)
    anchored = soup.find(id=slug) is not None or any(
        norm_space(el.get_text(" ")).replace("¶", "").strip().lower().startswith(term.lower())
        for el in content.find_all(id=True))
    assert anchored, (f"glossary page has no element with an id for {term!r} "
                      f"(expected id={slug!r}, or an element with an id whose text starts with the term)")

    definition = norm_space(glossary_entry.get("definition", ""))
    assert definition, f"glossary.yml entry {term!r} has no definition"
    # Paragraph text without separators: the glossary wraps abbreviations inside definitions
    # in <abbr>, and get_text(" ") would put spaces around them ("Attn( LN (x))").
    paragraphs = [norm_space(p.get_text()) for p in content.find_all("p")]
    assert any(definition in text for text in paragraphs), \
        f"the definition of {term!r} does not appear on the glossary page"

    if glossary_entry.get("page"):
        want_target, want_fragment = docs_page_to_site(glossary_entry["page"])
        assert (site_dir / want_target).is_file(), \
            f"glossary.yml: {term!r} points at {glossary_entry['page']!r}, which was not built"
        if want_fragment:
            assert want_fragment in _anchors(str(site_dir / want_target)), \
                f"glossary.yml: {term!r} points at #{want_fragment}, which site/{want_target} lacks"
        links = []
        for a in content.find_all("a", href=True):
            target, fragment, error = resolve_local(page, a["href"])
            if not error:
                links.append((target, fragment))
        assert (want_target, want_fragment) in links, \
            f"glossary page does not link {term!r} to the page that teaches it ({glossary_entry['page']})"


def test_abbreviations_have_tooltips(content_page: SitePage, glossary: list[dict]):
    """Every glossary abbreviation used in a page's prose is wrapped, at least once on that page, in
    an ``<abbr title=...>`` whose title carries the glossary definition. Uses only in headings,
    links, code or math do not count (no tooltip is expected there)."""
    entries = [e for e in glossary if e.get("abbr")]
    content = main_content(content_page.soup)
    text = prose_text(content, skip_tags=NO_ABBR_TAGS)
    abbrs = content.find_all("abbr")
    problems = []
    for entry in entries:
        abbr = entry["abbr"]
        if not re.search(rf"(?<![\w-]){re.escape(abbr)}(?![\w-])", text):
            continue
        wrapped = [a for a in abbrs if a.get_text(strip=True) == abbr]
        titled = [a for a in wrapped if norm_space(a.get("title", ""))]
        if not titled:
            problems.append(f"{abbr!r} is used but never wrapped in <abbr title=...>")
            continue
        definition = norm_space(entry.get("definition", ""))
        if definition and not any(definition in norm_space(a["title"]) for a in titled):
            problems.append(f"<abbr>{abbr}</abbr> title {titled[0]['title']!r} does not contain "
                            f"the glossary definition")
    assert not problems, f"abbreviations on {content_page}:\n  " + "\n  ".join(problems)


# --------------------------------------------------------------------------------------------
# Figures
# --------------------------------------------------------------------------------------------

def _figure_imgs(page: SitePage):
    for img in main_content(page.soup).find_all("img", src=True):
        src = img["src"].strip()
        if is_offsite(src) or urlsplit(src).scheme:
            continue
        target, _frag, error = resolve_local(page, src)
        resolved = target or posixpath.normpath(posixpath.join(posixpath.dirname(page.rel), src))
        if resolved.startswith("assets/figures/"):
            yield img, src, target, error


def test_figures_are_valid_svg(content_page: SitePage):
    from lxml import etree

    problems = []
    for _img, src, target, error in _figure_imgs(content_page):
        if error:
            problems.append(f"{src!r}: {error}")
            continue
        if not target.endswith(".svg"):
            problems.append(f"{src!r}: figures under assets/figures/ must be SVG")
            continue
        parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)
        try:
            root = etree.parse(str(content_page.site_dir / target), parser).getroot()
        except etree.XMLSyntaxError as exc:
            problems.append(f"{src!r}: not well-formed XML: {exc}")
            continue
        if root.tag != "{http://www.w3.org/2000/svg}svg":
            problems.append(f"{src!r}: root element is {root.tag!r}, not an SVG <svg>")
            continue
        for el in root.iter():
            for attr, value in el.attrib.items():
                local = attr.rsplit("}", 1)[-1]
                if local in ("href", "src") and is_offsite(value):
                    problems.append(f"{src!r}: refers off-site: {value!r}")
            if isinstance(el.tag, str) and el.tag.endswith("}style") and el.text:
                problems += [f"{src!r}: CSS refers off-site: {u!r}"
                             for m in CSS_URL.finditer(el.text)
                             if is_offsite(u := m.group(2) or m.group(4) or "")]
    assert not problems, f"figures on {content_page}:\n  " + "\n  ".join(problems)


def test_figures_have_alt_text(content_page: SitePage):
    missing = [src for img, src, _t, _e in _figure_imgs(content_page)
               if not norm_space(img.get("alt", ""))]
    assert not missing, f"figures without alt text on {content_page}: {missing}"
