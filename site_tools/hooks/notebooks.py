"""Notebook pages (jupytext percent-format ``docs/**/*.py`` rendered by mkdocs-jupyter): fresh
outputs, a downloadable ``.ipynb`` and a page description.

* Stale outputs: mkdocs-jupyter's cache key is the notebook text plus its own config, so after an
  edit in the package a notebook kept its old outputs. ``on_config`` points the plugin's
  ``cache_dir`` at ``.cache/mkdocs-jupyter/<hash of code/transformer_atlas/**/*.py>`` (a change in
  the package means an empty cache, so every notebook is executed again: "Cache miss") and
  deletes the directories of older hashes.
* Download: ``on_files`` converts each notebook page to ``.ipynb`` with jupytext and adds it as a
  generated file next to the page's source (``blocks/x.py`` -> ``blocks/x.ipynb``), with stable
  cell ids and a Python 3 kernelspec so the file is the same on every build.
  ``on_page_content`` puts a download link and how to run it under the page's first heading.
* Description: notebooks have no front matter, so ``on_page_content`` sets
  ``page.meta["description"]`` (unless one is set) to the first sentence of the first paragraph of
  the Markdown cells, i.e. the text after the title, with formulas as TeX, giving the page its own
  ``<meta name="description">``.
"""

from __future__ import annotations

import copy
import hashlib
import posixpath
import re
import shutil
from pathlib import Path

import jupytext
from bs4 import BeautifulSoup
from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File

PACKAGE_DIR = "code/transformer_atlas"
DOWNLOAD_HTML = """<div class="admonition note atlas-notebook-download">
<p class="admonition-title">Run this notebook yourself</p>
<p><a href="{href}" download>Download this notebook (.ipynb)</a>.
To run it: <code>pip install -e .</code> from the repository root, then open the notebook
in Jupyter.</p>
</div>"""

_ipynb: dict[str, File] = {}  # notebook page src_uri -> its generated .ipynb


def _jupyter(config):
    return config.plugins.get("mkdocs-jupyter")


def package_hash(package_dir: Path) -> str:
    """Short sha256 of every ``*.py`` under the package (paths and contents)."""
    digest = hashlib.sha256()
    for path in sorted(package_dir.rglob("*.py")):
        digest.update(f"{path.relative_to(package_dir).as_posix()}\0".encode())
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def to_ipynb(text: str) -> str:
    """A percent-format notebook as deterministic ``.ipynb`` JSON (no outputs)."""
    nb = jupytext.reads(text, fmt="py:percent")
    nb.metadata.pop("jupytext", None)
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.metadata["language_info"] = {"name": "python"}
    for n, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{n}"
    return jupytext.writes(nb, fmt="ipynb")


def first_sentence(soup: BeautifulSoup) -> str | None:
    """First sentence of the first paragraph of the notebook's Markdown cells, as plain text.

    Read from the rendered HTML, after katex_math.py, with each formula replaced by its TeX.
    """
    cell = soup.select_one(".jp-RenderedMarkdown p")
    if cell is None:
        return None
    paragraph = copy.copy(cell)
    for math in paragraph.select(".katex"):
        tex = math.find("annotation")
        math.replace_with(tex.get_text() if tex else math.get_text())
    text = " ".join(paragraph.get_text().split())
    return re.split(r"(?<=[.!?])\s+(?=[A-Z0-9])", text, maxsplit=1)[0] or None


def on_config(config):
    jupyter = _jupyter(config)
    if jupyter is None:
        return config
    root = Path(config.config_file_path).resolve().parent
    package = root / PACKAGE_DIR
    if not package.is_dir():
        raise PluginError(f"notebooks: {package} not found (needed to key the notebook cache)")
    key = package_hash(package)
    base = root / ".cache" / "mkdocs-jupyter"
    jupyter.config["cache_dir"] = str(base / key)
    if base.is_dir():
        for old in base.iterdir():  # caches of older package versions (or the plugin's default)
            if old.name != key:
                shutil.rmtree(old) if old.is_dir() else old.unlink()
    return config


def on_files(files, config):
    _ipynb.clear()
    jupyter = _jupyter(config)
    if jupyter is None:
        return files
    for file in [f for f in files if jupyter.should_include(f)]:
        src_uri = posixpath.splitext(file.src_uri)[0] + ".ipynb"
        if files.get_file_from_path(src_uri) is not None:
            raise PluginError(f"notebooks: docs/{src_uri} exists; it is generated from the .py")
        text = Path(file.abs_src_path).read_text(encoding="utf-8")
        _ipynb[file.src_uri] = ipynb = File.generated(config, src_uri, content=to_ipynb(text))
        files.append(ipynb)
    return files


def on_page_content(content, page, config, files):
    ipynb = _ipynb.get(page.file.src_uri)
    if ipynb is None:
        return content
    soup = BeautifulSoup(content, "html.parser")
    # katex_math.py's on_page_content runs first (priority 50), so formulas are KaTeX HTML here.
    if not page.meta.get("description") and (description := first_sentence(soup)):
        page.meta["description"] = description
    box = BeautifulSoup(DOWNLOAD_HTML.format(href=ipynb.url_relative_to(page.file)), "html.parser")
    heading = soup.find("h1")
    if heading is not None:
        heading.insert_after(box)
    else:
        soup.insert(0, box)
    return str(soup)
