"""The manifest says which files make each page; these tests hold it to the files.

Both directions: every topic has its page, tests and the modules, figures, demo and benchmark
the manifest lists; and every file of the package, the figure/demo/benchmark trees, the tests
and the docs belongs to a topic (or to the shared machinery the manifest names). The site's
navigation and the README's layout section are checked against the manifest too.
"""

from __future__ import annotations

import ast
import fnmatch
import importlib
import re
from pathlib import Path

import pytest
import yaml

from transformer_atlas.benchmarks import benchmark_modules
from transformer_atlas.demos import discover
from transformer_atlas.figures import REGISTRY, load_all
from transformer_atlas.manifest import (
    COMMON,
    PACKAGE_FILES,
    PARTS,
    SITE_PAGES,
    TOPICS,
    Topic,
    layout_markdown,
)

ROOT = Path(__file__).resolve().parents[2]
PKG = ROOT / "code" / "transformer_atlas"
DOCS = ROOT / "docs"
TESTS = ROOT / "tests" / "package"
PART_NAMES = [p.name for p in PARTS]
TREES = ("figures", "demos", "benchmarks")


def _ids(topics: tuple[Topic, ...]) -> list[str]:
    return [t.slug for t in topics]


def _py_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.py") if "__pycache__" not in p.parts)


# ------------------------------------------------------------------ topic -> files


def test_stems_are_unique_and_parts_known() -> None:
    stems = [t.stem for t in TOPICS]
    assert len(stems) == len(set(stems)), "two topics share a stem"
    assert {t.part for t in TOPICS} <= set(PART_NAMES)


@pytest.mark.parametrize("topic", TOPICS, ids=_ids(TOPICS))
def test_topic_has_its_page_and_tests(topic: Topic) -> None:
    assert (DOCS / topic.page).is_file(), f"{topic.slug}: no page docs/{topic.page}"
    tests = sorted(ROOT.glob(topic.tests))
    assert tests, f"{topic.slug}: no tests matching {topic.tests}"


@pytest.mark.parametrize("topic", TOPICS, ids=_ids(TOPICS))
def test_topic_modules_exist(topic: Topic) -> None:
    assert topic.modules or not topic.has_module
    for module in topic.modules:
        assert (PKG / module).exists(), f"{topic.slug}: module {module} is missing"


@pytest.mark.parametrize("topic", TOPICS, ids=_ids(TOPICS))
def test_topic_figures_are_the_ones_its_figure_module_registers(topic: Topic) -> None:
    load_all()
    path = PKG / "figures" / topic.part / f"{topic.stem}.py"
    module = f"transformer_atlas.figures.{topic.part}.{topic.stem}"
    registered = {name for name, fn in REGISTRY.items() if fn.__module__ == module}
    assert registered == set(topic.figures), (
        f"{topic.slug}: the manifest lists {sorted(topic.figures)}, "
        f"{path.relative_to(ROOT)} registers {sorted(registered)}"
    )


@pytest.mark.parametrize("topic", TOPICS, ids=_ids(TOPICS))
def test_topic_demo_and_benchmark_flags_match_the_files(topic: Topic) -> None:
    demo = PKG / "demos" / topic.part / f"{topic.stem}.py"
    bench = PKG / "benchmarks" / topic.part / f"{topic.stem}.py"
    assert demo.is_file() == topic.demo, f"{topic.slug}: demo flag {topic.demo}, file {demo}"
    assert bench.is_file() == topic.benchmark, (
        f"{topic.slug}: benchmark flag {topic.benchmark}, file {bench}"
    )


def test_demos_discovered_are_the_manifests() -> None:
    expected = {t.demo_name: t for t in TOPICS if t.demo}
    demos = discover()
    assert set(demos) == set(expected)
    for name, demo in demos.items():
        assert (demo.part, demo.stem) == (expected[name].part, expected[name].stem)


def test_benchmarks_discovered_are_the_manifests() -> None:
    expected = {
        t.stem: f"transformer_atlas.benchmarks.{t.part}.{t.stem}" for t in TOPICS if t.benchmark
    }
    assert benchmark_modules() == dict(sorted(expected.items()))


def test_every_registered_figure_belongs_to_a_topic() -> None:
    listed = {name for t in TOPICS for name in t.figures}
    assert set(load_all()) == listed


# ------------------------------------------------------------------ files -> topic


def _owner_of_package_file(rel: str) -> str | None:
    """What claims ``rel`` (a path relative to the package): a topic, COMMON or PACKAGE_FILES."""
    if rel in COMMON or rel in PACKAGE_FILES:
        return "machinery"
    parts = rel.split("/")
    if parts[0] in PART_NAMES and parts[-1] == "__init__.py" and len(parts) == 2:
        return "part"
    if parts[0] in TREES:
        if len(parts) == 3 and parts[1] in PART_NAMES:
            if parts[2] == "__init__.py" or parts[2].startswith("_"):
                return "tree"
            stem = parts[2].removesuffix(".py")
            if any(t.part == parts[1] and t.stem == stem for t in TOPICS):
                return f"topic {stem}"
        return None
    for t in TOPICS:
        for module in t.modules:
            if rel == module or (module.endswith("/") and rel.startswith(module)):
                return f"topic {t.stem}"
    return None


def test_every_package_file_belongs_to_a_topic_or_the_machinery() -> None:
    orphans = []
    for path in _py_files(PKG):
        rel = path.relative_to(PKG).as_posix()
        if _owner_of_package_file(rel) is None:
            orphans.append(rel)
    assert not orphans, (
        "files that belong to no topic (add them to a topic in manifest.py, to COMMON or "
        f"PACKAGE_FILES, or move them): {orphans}"
    )


def test_common_and_package_files_exist() -> None:
    for rel in (*COMMON, *PACKAGE_FILES):
        assert (PKG / rel).is_file(), rel


def test_every_test_file_belongs_to_a_topic_or_the_machinery() -> None:
    orphans = []
    for path in _py_files(TESTS):
        rel = path.relative_to(TESTS).as_posix()
        parts = rel.split("/")
        if len(parts) == 1:
            continue  # package-wide tests: CLI, figures registry, this file
        if parts[0] == "common":
            module = "common/" + parts[1].removeprefix("test_")
            if not any(
                module == m or module.startswith(m.removesuffix(".py") + "_") for m in COMMON
            ):
                orphans.append(rel)
            continue
        if not any(
            t.part == parts[0] and fnmatch.fnmatch(f"tests/package/{rel}", t.tests) for t in TOPICS
        ):
            orphans.append(rel)
    assert not orphans, f"test files named after no topic of their part: {orphans}"


def test_every_docs_page_is_a_topic_or_a_site_page() -> None:
    pages = {t.page for t in TOPICS} | set(SITE_PAGES)
    found = {
        p.relative_to(DOCS).as_posix()
        for p in [*DOCS.rglob("*.md"), *DOCS.rglob("*.py")]
        if not p.relative_to(DOCS).as_posix().startswith("_")
    }
    assert found == pages, (
        f"pages without a topic: {sorted(found - pages)}; "
        f"topics without a page: {sorted(pages - found)}"
    )


# ------------------------------------------------------------------ navigation and README


def _nav() -> list:
    class Loader(yaml.SafeLoader):
        pass

    Loader.add_multi_constructor("!", lambda loader, suffix, node: None)  # !ENV, !!python/name
    Loader.add_multi_constructor("tag:yaml.org,2002:python/", lambda loader, suffix, node: None)
    return yaml.load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"), Loader=Loader)["nav"]


def test_navigation_follows_the_manifest() -> None:
    sections = {}
    for entry in _nav():
        ((title, value),) = entry.items()
        if isinstance(value, list):
            sections[title] = [next(iter(item.items())) for item in value]
    for part in PARTS:
        assert part.title in sections, f"no navigation section {part.title!r}"
        listed = [(title, page) for title, page in sections[part.title] if page not in SITE_PAGES]
        expected = [(t.title, t.page) for t in TOPICS if t.part == part.name]
        assert listed == expected, f"navigation of {part.title!r} differs from the manifest"
    in_nav = {page for pages in sections.values() for _, page in pages}
    in_nav |= {value for entry in _nav() for value in entry.values() if isinstance(value, str)}
    assert {t.page for t in TOPICS} | set(SITE_PAGES) == in_nav


def _readme_section(name: str) -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(rf"<!-- {name}:start -->\n(.*?)\n<!-- {name}:end -->", text, re.S)
    assert match, f"README.md has no <!-- {name}:start --> ... <!-- {name}:end --> section"
    return match.group(1)


def test_readme_layout_is_generated_from_the_manifest() -> None:
    assert _readme_section("layout") == layout_markdown(), (
        "README's layout section is stale: paste the output of "
        "`python -m transformer_atlas.manifest` between the layout markers"
    )


def test_part_packages_import() -> None:
    for part in PART_NAMES:
        importlib.import_module(f"transformer_atlas.{part}")


def test_page_docstrings_name_their_page() -> None:
    """A topic module that names a page in its docstring names its own page."""
    for t in TOPICS:
        for module in t.modules:
            path = PKG / module
            if path.is_dir():
                path = path / "__init__.py"
            doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
            for page in re.findall(r"page ``([a-z-]+/[a-z-]+)``", doc):
                assert page == t.page.rsplit(".", 1)[0], f"{module} names page {page}"
