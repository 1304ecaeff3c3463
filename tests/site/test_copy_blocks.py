"""The copy test: every Python code block a reader sees on a page runs.

For each page of the built site, the page's runnable blocks are joined in page order into one
script, which runs in a fresh interpreter (this venv's Python) with a temporary directory as working
directory, ``MPLBACKEND=Agg``, ``HF_HUB_OFFLINE=1`` and a 120 s timeout. A failure names the page
and the block (its index on the page and first line) and shows the interpreter's stderr.

Blocks are read from the BUILT HTML, so snippets included with ``--8<--`` are tested exactly as
readers see them. A block is runnable when its highlight wrapper has the class ``language-python``,
``language-py`` or ``language-python3`` (```` ```python ````, ```` ```py ````); a
``language-pycon`` block (```` ```pycon ````, a ``>>>`` session) contributes its ``>>>``/``...`` input
lines (outputs are not compared). Code-annotation markers (``# (1)!``) are stripped.

Opting a block out
------------------
Give the fence the extra class ``no-run``; pymdownx.superfences copies it onto the block's
``<div class="language-python no-run highlight">``::

    ```python {.no-run}
    model.generate(prompt)  # needs a checkpoint: shown, not run
    ```

(```` ```{.python .no-run} ```` is the same; options go inside the braces then:
```` ```{.python .no-run title="train.py" linenums="1"} ````.) Use it for fragments that are not
meant to run on their own (a method body, pseudo-code, an intentional error, something needing a
GPU or a download). Everything else must run as written, in page order.

Notebook pages (mkdocs-jupyter) are skipped: they are executed at build time already.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from bs4 import BeautifulSoup, NavigableString

if TYPE_CHECKING:
    from conftest import SitePage

pytestmark = pytest.mark.site

NO_RUN_CLASS = "no-run"
SCRIPT_LANGS = frozenset({"language-python", "language-py", "language-python3"})
SESSION_LANGS = frozenset({"language-pycon"})
TIMEOUT_S = 120
ANNOTATION_MARKER = re.compile(r"[ \t]*#[ \t]*\(\d+\)!?[ \t]*$", re.M)
PROMPT = re.compile(r"^(?:>>> ?|\.\.\. ?)(.*)$")


def extract_blocks(soup) -> list[dict]:
    """The runnable Python blocks of a page, in page order: ``{"index", "lang", "code"}``.

    ``index`` counts every Python-ish block on the page (no-run ones included), from 0, so it is
    the position a writer sees."""
    blocks = []
    index = -1
    for div in soup.select("div.highlight"):
        classes = set(div.get("class") or [])
        lang = classes & (SCRIPT_LANGS | SESSION_LANGS)
        if not lang:
            continue
        if div.find_parent(class_="highlight") is not None:  # nested highlight: counted once
            continue
        index += 1
        if NO_RUN_CLASS in classes:
            continue
        code_el = div.find("code")
        if code_el is None:
            continue
        code = "".join(_code_text(code_el))
        code = ANNOTATION_MARKER.sub("", code)
        if SESSION_LANGS & lang:
            code = "\n".join(m.group(1) for line in code.splitlines() if (m := PROMPT.match(line)))
        if code.strip():
            blocks.append({"index": index, "lang": sorted(lang)[0], "code": code.rstrip() + "\n"})
    return blocks


def _code_text(el):
    """Text of a <code>, skipping line numbers (``span.linenos``)."""
    for node in el.find_all(string=True):
        if type(node) is NavigableString and not any(
                "linenos" in (p.get("class") or []) for p in node.parents):
            yield str(node)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "copy_page" not in metafunc.fixturenames:
        return

    site_dir = Path(os.environ.get("ATLAS_SITE_DIR") or metafunc.config.rootpath / "site")
    pages = []
    if (site_dir / "index.html").is_file():
        for path in sorted(site_dir.rglob("*.html")):
            rel = path.relative_to(site_dir).as_posix()
            if rel == "404.html":
                continue
            html = path.read_text(encoding="utf-8")
            if 'class="jupyter-wrapper' in html or "jp-Notebook" in html:
                continue  # notebook: executed at build time
            if "highlight" not in html or not extract_blocks(BeautifulSoup(html, "lxml")):
                continue
            pages.append(rel)
    else:
        pages = ["<site not built>"]
    ids = [p[: -len("index.html")] if p.endswith("index.html") else p for p in pages]
    metafunc.parametrize("copy_page", pages, ids=[i or "index" for i in ids], indirect=True)


@pytest.fixture
def copy_page(request, page_at) -> SitePage:
    return page_at(request.param)


def build_script(page_rel: str, blocks: list[dict]) -> tuple[str, list[tuple[int, int, dict]]]:
    """Join the blocks into one script; return it and ``(first_line, last_line, block)`` spans."""
    lines = [f"# The runnable Python blocks of site/{page_rel}, in page order."]
    spans = []
    for block in blocks:
        lines.append(f"# --- block {block['index']} ({block['lang']}) ---")
        start = len(lines) + 1
        lines += block["code"].rstrip("\n").split("\n")
        spans.append((start, len(lines), block))
    return "\n".join(lines) + "\n", spans


def failing_block(stderr: str, script_name: str, spans) -> dict | None:
    """The block holding the last traceback line that points into the script."""
    hits = re.findall(rf'File "[^"]*{re.escape(script_name)}", line (\d+)', stderr)
    if not hits:
        return None
    line = int(hits[-1])
    return next((b for start, end, b in spans if start <= line <= end), None)


def test_code_blocks_run(copy_page: SitePage, tmp_path):
    blocks = extract_blocks(copy_page.soup)
    if not blocks:
        pytest.skip("no runnable Python blocks")
    script, spans = build_script(copy_page.rel, blocks)
    script_path = tmp_path / "page_blocks.py"
    script_path.write_text(script, encoding="utf-8")
    workdir = tmp_path / "cwd"
    workdir.mkdir()
    env = {**os.environ, "MPLBACKEND": "Agg", "HF_HUB_OFFLINE": "1", "PYTHONDONTWRITEBYTECODE": "1",
           "PYTHONHASHSEED": "0"}
    env.pop("PYTHONPATH", None)  # a reader's fresh interpreter: only the installed package
    try:
        proc = subprocess.run([sys.executable, str(script_path)], cwd=workdir, env=env,
                              capture_output=True, text=True, timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired as exc:
        err = exc.stderr or ""
        err = err.decode(errors="replace") if isinstance(err, bytes) else err
        pytest.fail(f"{copy_page}: its {len(blocks)} Python block(s) did not finish in {TIMEOUT_S} s"
                    f"\n--- stderr (tail) ---\n{err[-3000:]}", pytrace=False)
    if proc.returncode != 0:
        block = failing_block(proc.stderr, script_path.name, spans)
        where = (f"block {block['index']} (first line: {block['code'].splitlines()[0]!r})"
                 if block else "a block (no traceback line into the script)")
        pytest.fail(
            f"{copy_page}: {where} failed with exit code {proc.returncode} when the page's "
            f"{len(blocks)} Python block(s) ran in order in a fresh interpreter.\n"
            f"Mark a block that is not meant to run with ```python {{.no-run}}.\n"
            f"--- stderr ---\n{proc.stderr[-4000:]}",
            pytrace=False,
        )
