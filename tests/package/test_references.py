"""Every file and module a text names exists: no stale reference survives a move.

Scans the pages, the README and every module, test and site tool for repository paths
(``tests/package/<part>/test_<stem>.py``, ``code/transformer_atlas/...``,
``transformer_atlas/<...>.py``, ``docs/...``, ``site_tools/...``) and for dotted names
(``transformer_atlas.blocks.attention``, ``transformer_atlas.blocks.attention.MultiHeadAttention``),
and checks each one resolves.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted(
    p
    for folder in ("code", "docs", "tests", "site_tools")
    for p in (ROOT / folder).rglob("*")
    if p.suffix in {".py", ".md", ".yml", ".html"}
    and "__pycache__" not in p.parts
    and ".egg-info" not in p.as_posix()
) + [ROOT / "README.md", ROOT / "Makefile", ROOT / "mkdocs.yml"]

PATH = re.compile(
    r"(?<![\w/.-])((?:tests|code|docs|site_tools)/[\w./-]*\w|transformer_atlas/[\w/]+\.py)"
)
DOTTED = re.compile(r"(?<![\w.\"'])(transformer_atlas(?:\.\w+)+)(?![\"'])")


def _exists(ref: str) -> bool:
    if ref.startswith("transformer_atlas/"):
        return (ROOT / "code" / ref).exists()
    if any(c in ref for c in "*<>{}"):
        return True  # a pattern, not a path
    return (ROOT / ref).exists() or (ROOT / ref.rstrip("/.")).exists()


def _resolves(dotted: str) -> bool:
    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        for name in parts[i:]:
            if not hasattr(obj, name):
                return False
            obj = getattr(obj, name)
        return True
    return False


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_named_files_and_modules_exist(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    missing = sorted({m for m in PATH.findall(text) if not _exists(m)})
    unresolved = sorted({m for m in DOTTED.findall(text) if not _resolves(m.rstrip("."))})
    assert not missing, f"{path.relative_to(ROOT)} names files that do not exist: {missing}"
    assert not unresolved, f"{path.relative_to(ROOT)} names what does not exist: {unresolved}"
