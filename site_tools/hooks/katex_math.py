"""Render every formula to HTML at build time with KaTeX, so pages ship only KaTeX's CSS and fonts.

What it does, on each page (``on_page_content``):

* Markdown pages: pymdownx.arithmatex (generic mode) leaves
  ``<span class="arithmatex">\\(..\\)</span>`` and ``<div class="arithmatex">\\[..\\]</div>``;
  their TeX is replaced by KaTeX's HTML.
* Notebook pages (mkdocs-jupyter) leave raw ``$..$`` / ``$$..$$`` in the rendered Markdown cells;
  those are found in text nodes of ``.jp-RenderedMarkdown`` only (never in code, ``pre`` or cell
  outputs) and rendered too. nbconvert has already turned ``\\$`` into ``$``, so a dollar sign only
  opens math when followed by a non-space and closes it when preceded by a non-space and not
  followed by a digit (Pandoc's rule): "costs \\$5 and \\$10" stays text.
* Notebook pages also carry mkdocs-jupyter's MathJax loader and a mermaid loader that imports from
  a CDN: those scripts and any other off-site script/link are removed. On every page an off-site
  ``script``/``link``/``img``/``iframe`` left after that is a warning (so ``--strict`` fails).
* Math in headings is also rendered in the table of contents; math in a page *title* (nav, browser
  tab) cannot be, so it is a warning.
* Each formula's MathML gets ``data-search-exclude`` so Material's search indexes its text once.

Why this way: one long-lived Node process (``site_tools/katex/render.mjs``), started lazily on the
first page with math and fed one JSON line per page with all of its formulas, costs one Node start
per build instead of one per formula or page. Rendered formulas are cached in memory by
``(tex, display)``, which also spares ``mkdocs serve`` rebuilds. The process is stopped on
``on_post_build`` / ``on_build_error`` / ``on_shutdown`` and restarted by the next build if needed.

A KaTeX parse error fails the build with a message naming the page and the formula; KaTeX's
"strict" notices (non-standard LaTeX) are logged as warnings. Pages with math get
``page.meta["katex"] = True`` (and ``data-katex`` on each formula) so that ``main.html`` links
KaTeX's CSS only there. KaTeX is resolved from ``node_modules`` next to ``mkdocs.yml``.
"""

from __future__ import annotations

import atexit
import html
import json
import logging
import re
import secrets
import shutil
import subprocess
from pathlib import Path

from bs4 import BeautifulSoup, Comment, NavigableString, Tag
from mkdocs.exceptions import PluginError
from mkdocs.plugins import event_priority

log = logging.getLogger("mkdocs.hooks.katex_math")

RENDERER = Path(__file__).resolve().parent.parent / "katex" / "render.mjs"

# $$..$$ first, then $..$ with Pandoc's rules; the formula is group "display" or "inline".
DOLLAR_MATH = re.compile(
    r"\$\$(?P<display>.+?)\$\$"
    r"|\$(?=\S)(?P<inline>(?:\\.|[^$\\])+?)(?<=\S)\$(?!\d)",
    re.DOTALL,
)
TOC_MATH = re.compile(r"\\\((?P<inline>.+?)\\\)")
SKIP_TAGS = {"code", "pre", "kbd", "samp", "script", "style", "svg", "math", "textarea"}
OFFSITE = re.compile(r"^\s*(?:[a-z][a-z0-9+.-]*:)?//", re.IGNORECASE)
# An inline script loading something from another host (mkdocs-jupyter's mermaid loader).
OFFSITE_IN_SCRIPT = re.compile(r"""(?:import\s*\(|src\s*=)\s*["'](?:https?:)?//""")

_cache: dict[tuple[str, bool], dict] = {}  # (tex, display) -> {"html":..., "warnings": [...]}
_node: subprocess.Popen | None = None
_katex_mjs: Path | None = None


# ---------------------------------------------------------------- the Node process


def _start() -> subprocess.Popen:
    node = shutil.which("node")
    if node is None:
        raise PluginError("katex_math: `node` is not on PATH: install Node 20+, run `make setup`")
    return subprocess.Popen(
        [node, str(RENDERER), str(_katex_mjs)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        encoding="utf-8",
        bufsize=1,
    )


def _stop() -> None:
    global _node
    if _node is not None:
        try:
            _node.stdin.close()
            _node.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            _node.kill()
            _node.wait()
        _node = None


atexit.register(_stop)


def render_many(items: list[tuple[str, bool]]) -> list[dict]:
    """Render ``(tex, display)`` pairs in one round trip; each result has "html" or "error"."""
    global _node
    todo = list(dict.fromkeys(i for i in items if i not in _cache))
    failed = {}
    if todo:
        if _node is None or _node.poll() is not None:
            _node = _start()
        _node.stdin.write(json.dumps({"items": todo}) + "\n")
        _node.stdin.flush()
        line = _node.stdout.readline()
        if not line:
            raise PluginError("katex_math: the KaTeX Node process exited (see its output above)")
        reply = json.loads(line)
        if "fatal" in reply:
            raise PluginError(f"katex_math: renderer failed: {reply['fatal']}")
        for item, result in zip(todo, reply["results"]):
            if "error" in result:
                failed[item] = result  # errors are not cached: the author will fix the formula
            else:
                # Material's search indexes text; without this each formula would be indexed three
                # times (MathML, its TeX annotation, the visual HTML). Keep the visual text only.
                result["html"] = result["html"].replace("<math ", "<math data-search-exclude ", 1)
                _cache[item] = result
    return [failed.get(i) or _cache[i] for i in items]


# ---------------------------------------------------------------- finding formulas


def _arithmatex(el: Tag) -> tuple[str, bool]:
    """TeX and display flag of a pymdownx.arithmatex (generic) element."""
    text = el.get_text().strip()
    if text.startswith("\\(") and text.endswith("\\)"):
        return text[2:-2].strip(), False
    if text.startswith("\\[") and text.endswith("\\]"):
        return text[2:-2].strip(), True
    return text, el.name == "div"  # \begin{align}...\end{align} blocks come without delimiters


def _skipped(node: NavigableString, stop: Tag) -> bool:
    for parent in node.parents:
        if parent is stop:
            return False
        if parent.name in SKIP_TAGS or "katex" in (parent.get("class") or []):
            return True
    return False


def _dollar_math(cell: Tag, soup: BeautifulSoup) -> list[tuple[Tag, str, bool]]:
    """Wrap each $..$ / $$..$$ in the text of a rendered Markdown cell in a span; return them."""
    found = []
    strings = [s for s in cell.find_all(string=True) if type(s) is NavigableString]
    for string in strings:
        if "$" not in string or _skipped(string, cell):
            continue
        pieces, pos = [], 0
        for m in DOLLAR_MATH.finditer(string):
            display = m.group("display") is not None
            span = soup.new_tag("span", attrs={"class": "arithmatex"})
            pieces += [string[pos : m.start()], span]
            found.append((span, (m.group("display") or m.group("inline")).strip(), display))
            pos = m.end()
        if pieces:
            pieces.append(string[pos:])
            for piece in pieces:
                if piece != "":
                    string.insert_before(piece)
            string.extract()
    return found


def _is_notebook(page, config) -> bool:
    jupyter = config.plugins.get("mkdocs-jupyter")
    return bool(jupyter and jupyter.should_include(page.file))


def _clean_notebook(soup: BeautifulSoup) -> None:
    """Drop mkdocs-jupyter's MathJax and CDN loaders; let Material draw notebook mermaid blocks."""
    for script in soup.find_all("script"):
        src = script.get("src")
        if (
            "mathjax" in (script.get("type") or "").lower()
            or (src is not None and (not src.strip() or OFFSITE.match(src)))
            or (src is None and OFFSITE_IN_SCRIPT.search(script.string or ""))
        ):
            script.decompose()
    for link in soup.find_all("link", href=OFFSITE):
        link.decompose()
    for comment in soup.find_all(string=lambda s: isinstance(s, Comment)):
        if "mathjax" in comment.lower():
            comment.extract()
    for box in soup.select("div.jp-Mermaid"):  # hidden by mkdocs-jupyter until its CDN loader ran
        box.unwrap()


def _warn_offsite(soup: BeautifulSoup, page) -> None:
    for tag, attr in (("script", "src"), ("link", "href"), ("img", "src"), ("iframe", "src")):
        for el in soup.find_all(tag, attrs={attr: OFFSITE}):
            log.warning("%s loads %s from another host: %s", page.file.src_uri, tag, el[attr])


# ---------------------------------------------------------------- mkdocs events


def on_config(config):
    global _katex_mjs
    root = Path(config.config_file_path).resolve().parent
    _katex_mjs = root / "node_modules/katex/dist/katex.mjs"
    if not _katex_mjs.is_file():
        raise PluginError(f"katex_math: {_katex_mjs} is missing: run `make setup` (npm ci)")
    return config


@event_priority(50)  # before glossary.py wraps abbreviations, so it never sees raw TeX
def on_page_content(content, page, config, files):
    notebook = _is_notebook(page, config)
    soup = BeautifulSoup(content, "html.parser")
    if notebook:
        _clean_notebook(soup)
    _warn_offsite(soup, page)

    formulas = [(el, *_arithmatex(el)) for el in soup.select(".arithmatex")]
    if notebook:
        for cell in soup.select(".jp-RenderedMarkdown"):
            formulas += _dollar_math(cell, soup)
    if not formulas:
        return str(soup) if notebook else content

    results = render_many([(tex, display) for _, tex, display in formulas])
    errors = [
        f"  formula {tex!r}: {result['error']}"
        for (_, tex, _), result in zip(formulas, results)
        if "error" in result
    ]
    if errors:
        where = f"KaTeX cannot render math on page {page.file.src_uri}:"
        raise PluginError("\n".join([where, *errors]))
    nonce = secrets.token_hex(8)
    rendered = {}
    for n, ((el, tex, display), result) in enumerate(zip(formulas, results)):
        for warning in result["warnings"]:
            log.warning("KaTeX on %s, formula %r: %s", page.file.src_uri, tex, warning)
        marker = f"katex-{nonce}-{n}"
        rendered[marker] = result["html"]
        el.clear()
        el.append(marker)
        el["data-katex"] = "display" if display else "inline"

    out = str(soup)
    for marker, math_html in rendered.items():
        out = out.replace(marker, math_html, 1)
    _render_toc(page.toc, DOLLAR_MATH if notebook else TOC_MATH)
    if page.title and (DOLLAR_MATH if notebook else TOC_MATH).search(page.title):
        log.warning(
            "%s: its title %r has math, which the navigation and browser tab would show "
            "as raw TeX; keep math out of the H1/title",
            page.file.src_uri,
            page.title,
        )
    page.meta["katex"] = True
    return out


def _render_toc(items, pattern: re.Pattern) -> None:
    """Math in headings also shows in the table of contents, whose titles are escaped HTML."""
    for item in items:
        matches = list(pattern.finditer(item.title))
        if matches:
            texs = [html.unescape(next(g for g in m.groups() if g)).strip() for m in matches]
            results = iter(render_many([(tex, False) for tex in texs]))
            item.title = pattern.sub(lambda m: next(results).get("html", m.group(0)), item.title)
        _render_toc(item.children, pattern)


def on_post_build(config):
    _stop()


def on_build_error(error):
    _stop()


def on_shutdown():
    _stop()
