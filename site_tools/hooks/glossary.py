"""The glossary, generated from its one source ``docs/_data/glossary.yml``.

* ``on_config``: load and validate the YAML (required fields, no duplicate term/abbreviation/anchor,
  ``page`` must exist under ``docs/``); any problem stops the build naming the entry.
* ``on_page_markdown``: a page containing ``<!-- glossary -->`` (``reference/glossary.md``) gets the
  generated glossary in its place: terms grouped by first letter, each a Markdown heading with a
  stable anchor (the slug of the term, e.g. ``#scaled-dot-product-attention``), its abbreviation,
  definition and a relative link to the page that teaches it. Being Markdown, the links are
  validated by mkdocs and the headings are indexed by the built-in search.
* ``on_page_content``: on every page, notebook pages included, each whole-word use of an
  abbreviation becomes ``<abbr title="Term: definition">ABBR</abbr>``, except inside code, ``pre``,
  links, headings, existing ``abbr``, scripts, styles, SVG, math, mermaid blocks and notebook
  code cells and outputs.
  (Markdown's ``abbr`` extension cannot do this on notebook pages, which mkdocs-jupyter renders.)

``load_glossary``, ``glossary_markdown`` and ``wrap_abbreviations`` are plain functions that tests
can use by importing this file by path.
"""

from __future__ import annotations

import html
import posixpath
import re
from pathlib import Path

import yaml
from bs4 import BeautifulSoup, NavigableString
from markdown.extensions.toc import slugify
from mkdocs.exceptions import PluginError

MARKER = "<!-- glossary -->"
SOURCE = "_data/glossary.yml"
FIELDS = {"term", "abbr", "definition", "page"}
REQUIRED = ("term", "definition", "page")
SKIP_TAGS = {
    "code",
    "pre",
    "a",
    "abbr",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "script",
    "style",
    "svg",
    "math",
    "textarea",
    "button",
    "title",
}
SKIP_CLASSES = {
    "katex",
    "arithmatex",
    "mermaid",
    "headerlink",
    "jp-InputArea-editor",
    "jp-OutputArea",
}  # notebook code cells and their outputs

_entries: list[dict] = []


class GlossaryError(ValueError):
    """The glossary source is invalid; the message names the entry."""


def load_glossary(path: str | Path, docs_dir: str | Path | None = None) -> list[dict]:
    """Read and validate the glossary YAML; return its entries sorted by term.

    Each entry gets ``anchor`` (the slug of its term). With ``docs_dir``, each ``page`` (minus its
    ``#anchor``) must be a file under it.
    """
    path = Path(path)
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, list):
        raise GlossaryError(f"{path}: expected a list of entries, got {type(data).__name__}")
    entries, seen = [], {}
    for n, raw in enumerate(data, 1):
        where = f"{path.name} entry {n}"
        if not isinstance(raw, dict):
            raise GlossaryError(f"{where}: expected a mapping with {', '.join(REQUIRED)}")
        if isinstance(raw.get("term"), str):
            where += f" ({raw['term']!r})"
        if unknown := set(raw) - FIELDS:
            raise GlossaryError(f"{where}: unknown field(s) {sorted(unknown)}")
        for field in REQUIRED + (("abbr",) if "abbr" in raw else ()):
            if not isinstance(raw.get(field), str) or not raw[field].strip():
                raise GlossaryError(f"{where}: field {field!r} is missing or not a string")
        entry = {k: " ".join(v.split()) for k, v in raw.items()}
        if re.search(r"[$`]", entry["definition"]):
            raise GlossaryError(f"{where}: the definition must be plain text (no `code` or $math$)")
        if not entry["definition"].rstrip().endswith((".", "?", "!")):
            # In YAML, " #" starts a comment: an unquoted definition containing "##" is cut
            # short there. Whole sentences end with a full stop, so a cut one is caught here.
            raise GlossaryError(
                f"{where}: the definition must be whole sentences ending with a full stop, "
                f"got {entry['definition']!r} (quote it if it contains ' #')"
            )
        if "abbr" in entry and not re.fullmatch(r"\w[\w.+-]*", entry["abbr"]):
            raise GlossaryError(f"{where}: abbreviation {entry['abbr']!r} must be one word")
        entry["anchor"] = slugify(entry["term"], "-")
        for key in ("term", "abbr", "anchor"):
            if key in entry:
                value = entry[key].casefold()
                if (key, value) in seen:
                    other = seen[key, value]
                    raise GlossaryError(f"{where}: duplicate {key} {entry[key]!r} (also {other})")
                seen[key, value] = where
        if docs_dir is not None:
            target = entry["page"].split("#", 1)[0]
            if not (Path(docs_dir) / target).is_file():
                raise GlossaryError(f"{where}: page {target!r} does not exist under {docs_dir}")
        entries.append(entry)
    return sorted(entries, key=lambda e: e["term"].casefold())


def _md_escape(text: str) -> str:
    return re.sub(r"([\\`*_\[\]{}])", r"\\\1", html.escape(text, quote=False))


def _letter(entry: dict) -> str:
    first = entry["term"][0].upper()
    return first if first.isalpha() else "#"


def glossary_markdown(entries: list[dict], page_uri: str, titles: dict | None = None) -> str:
    """The glossary as Markdown for the page at ``page_uri`` (links are relative to it)."""
    titles = titles or {}
    letters = list(dict.fromkeys(_letter(e) for e in entries))
    ids = {letter: "letter-" + (slugify(letter, "-") or "other") for letter in letters}
    lines = [" · ".join(f"[{_md_escape(x)}](#{ids[x]})" for x in letters), ""]
    for letter in letters:
        lines += [f"## {_md_escape(letter)} {{#{ids[letter]}}}", ""]
        for e in (e for e in entries if _letter(e) == letter):
            abbr = f" ({e['abbr']})" if "abbr" in e else ""
            target, _, anchor = e["page"].partition("#")
            link = posixpath.relpath(target, posixpath.dirname(page_uri) or ".")
            link += f"#{anchor}" if anchor else ""
            title = titles.get(target) or target
            lines += [
                f"### {_md_escape(e['term'])}{abbr} {{#{e['anchor']}}}",
                "",
                _md_escape(e["definition"]),
                "",
                f"Taught in: [{_md_escape(title)}]({link})",
                "",
            ]
    return "\n".join(lines)


def _skipped(node: NavigableString) -> bool:
    for parent in node.parents:
        if parent.name in SKIP_TAGS or SKIP_CLASSES.intersection(parent.get("class") or ()):
            return True
    return False


def wrap_abbreviations(content: str, entries: list[dict]) -> str:
    """Wrap whole-word abbreviations in HTML ``content`` in ``<abbr title="Term: definition">``."""
    titles = {e["abbr"]: f"{e['term']}: {e['definition']}" for e in entries if "abbr" in e}
    if not titles:
        return content
    words = "|".join(re.escape(a) for a in sorted(titles, key=len, reverse=True))
    pattern = re.compile(rf"(?<!\w)({words})(?!\w)")
    if not pattern.search(content):
        return content
    soup = BeautifulSoup(content, "html.parser")
    for string in soup.find_all(string=pattern):
        if type(string) is not NavigableString or _skipped(string):
            continue
        parts = pattern.split(str(string))  # [text, ABBR, text, ABBR, ..., text]
        for i, part in enumerate(parts):
            if i % 2:
                abbr = soup.new_tag("abbr", attrs={"title": titles[part]})
                abbr.string = part
                string.insert_before(abbr)
            elif part:
                string.insert_before(part)
        string.extract()
    return str(soup)


def on_config(config):
    global _entries
    try:
        _entries = load_glossary(Path(config.docs_dir) / SOURCE, config.docs_dir)
    except (OSError, yaml.YAMLError, GlossaryError) as exc:
        raise PluginError(f"glossary: {exc}") from exc
    return config


def on_page_markdown(markdown, page, config, files):
    if MARKER not in markdown:
        return markdown
    titles = {}
    for entry in _entries:
        target = entry["page"].split("#", 1)[0]
        file = files.get_file_from_path(target)
        if file is not None and file.page is not None and file.page.title:
            titles[target] = file.page.title
    return markdown.replace(MARKER, glossary_markdown(_entries, page.file.src_uri, titles))


def on_page_content(content, page, config, files):
    return wrap_abbreviations(content, _entries)
