"""Every page's prerequisites come before it in the guide's order.

A page's ``**Prerequisites:**`` line names the pages a reader should have read first. The guide's
order is the order of the manifest's :data:`~transformer_atlas.manifest.TOPICS` (the site's
navigation follows it; ``test_manifest.py`` checks that), so every page linked from that line must
be a topic listed earlier, or the conventions page, which every page assumes.
"""

from __future__ import annotations

import posixpath
import re
from pathlib import Path

import pytest

from transformer_atlas.manifest import TOPICS, Topic

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
ALWAYS_ALLOWED = {"conventions.md"}  # read once, before everything (the navigation's "Start here")

# From "**Prerequisites:**" to the next bold label ("**Used by:**", "**Hands-on:**") or the end of
# the paragraph.
_PREREQ = re.compile(r"\*\*Prerequisites:\*\*(.*?)(?=\*\*[A-Z][^*]*:\*\*|\n\s*\n|\Z)", re.S)
_LINK = re.compile(r"\]\(([^)\s]+)\)")


def _page_text(t: Topic) -> str:
    text = (DOCS / t.page).read_text(encoding="utf-8")
    if t.notebook:  # jupytext percent format: the Markdown cells are "# " comment lines
        text = "\n".join(
            line[2:] if line.startswith("# ") else line.lstrip("#") for line in text.splitlines()
        )
    return text


def _target(t: Topic, link: str) -> str | None:
    """The page (relative to docs/) a link of page ``t`` points to; None for external links."""
    link = link.split("#", 1)[0]
    if not link or re.match(r"[a-z]+:", link):
        return None
    if link.endswith((".md", ".py")):  # a source link, relative to the page's folder
        return posixpath.normpath(posixpath.join(posixpath.dirname(t.page), link))
    # a notebook's site link, relative to the page's URL (foundations/tensors/)
    url = posixpath.normpath(posixpath.join(t.url, link)) + "/"
    if url == "conventions/":
        return "conventions.md"
    for other in TOPICS:
        if other.url == url:
            return other.page
    return url  # not a page: reported by the test below


def _prerequisites() -> list[tuple[Topic, str]]:
    """(page, prerequisite page) for every link in every page's Prerequisites line."""
    pairs = []
    for t in TOPICS:
        match = _PREREQ.search(_page_text(t))
        if match:
            for link in _LINK.findall(match.group(1)):
                target = _target(t, link)
                if target is not None:
                    pairs.append((t, target))
    return pairs


def test_pages_state_their_prerequisites() -> None:
    with_line = {t.page for t, _ in _prerequisites()}
    assert len(with_line) >= 20, f"only {len(with_line)} pages link prerequisites: {with_line}"


@pytest.mark.parametrize(
    ("topic", "prerequisite"),
    _prerequisites(),
    ids=[f"{t.slug}->{p}" for t, p in _prerequisites()],
)
def test_prerequisites_come_earlier_in_the_guide(topic: Topic, prerequisite: str) -> None:
    if prerequisite in ALWAYS_ALLOWED:
        return
    order = [t.page for t in TOPICS]
    assert prerequisite in order, f"{topic.page}: prerequisite {prerequisite} is not a page"
    assert order.index(prerequisite) < order.index(topic.page), (
        f"{topic.page} lists {prerequisite} as a prerequisite, but it comes later in the guide "
        "(manifest.TOPICS, the order of the navigation): link it as a follow-up instead"
    )
