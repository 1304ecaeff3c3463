"""Measurements of the package and of the site (``make bench``; not a test).

Measures
  (a) every benchmark of the package (``transformer_atlas.benchmarks``, discovered): ``run()``,
      the record saved in ``code/transformer_atlas/benchmarks/results/<stem>.json`` (with the
      machine and commit) and the snippet its page includes written to
      ``docs/_snippets/bench/<stem>.md`` (the provenance line and ``report()``);
  (b) a clean strict build (``rm -rf site .cache``; ``mkdocs build --strict``) and a warm rebuild,
      unless ``--skip-build``;
  (c) the wall time of the whole test command (``make test``), unless ``--skip-test-command``;
  (d) the weight of typical pages: every byte one cold page load fetches (HTML, CSS, JS, fonts,
      images, the search index), in headless Chromium (``site_tools/browser.py``, shared with the
      browser tests), unless ``--skip-page-weight``.

Prints what it measured and writes ``artifacts/bench.md`` and ``artifacts/bench.json``; build and
test logs go to ``artifacts/bench-*.log``. ``--readme`` also writes the README's "Measurements"
section from this one run, every table with its provenance (every benchmark must run: not with
``--only``; a skipped site part leaves its table out). Exits 1 if a build or the test command
failed, 2 on a usage error.

    .venv/bin/python site_tools/bench.py                       # everything (make bench)
    .venv/bin/python site_tools/bench.py --only kv_cache       # one benchmark, nothing else
    .venv/bin/python site_tools/bench.py --skip-site           # the package's benchmarks only
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # site_tools/ is not an installed package

ARTIFACTS = ROOT / "artifacts"
SNIPPETS = ROOT / "docs" / "_snippets" / "bench"
README = ROOT / "README.md"
TYPICAL_PAGES = ["", "blocks/attention/"]  # the home page and a chapter with math, figures, mermaid
KINDS = ["html", "css", "js", "font", "img", "svg", "json", "other"]
README_START, README_END = "<!-- bench:start -->", "<!-- bench:end -->"


def _mkdocs() -> str:
    local = Path(sys.executable).parent / "mkdocs"
    return str(local) if local.exists() else (shutil.which("mkdocs") or "mkdocs")


def _env() -> dict:
    return {
        **os.environ,
        "NO_MKDOCS_2_WARNING": "1",
        "HF_HUB_OFFLINE": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
    }


def _site_dir() -> Path:
    return Path(os.environ.get("ATLAS_SITE_DIR") or ROOT / "site").resolve()


# --------------------------------------------------------------------------------------------
# (a) the package's benchmarks
# --------------------------------------------------------------------------------------------


def write_snippet(record: dict, directory: Path = SNIPPETS) -> Path:
    """Write the Markdown a page includes (``--8<-- "bench/<stem>.md"``) for ``record``."""
    from transformer_atlas.benchmarks import snippet

    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{record['stem']}.md"
    path.write_text(snippet(record), encoding="utf-8")
    return path


def bench_package(stems: list[str]) -> dict[str, dict]:
    """Run, save and write the snippet of each benchmark in ``stems``; return the records."""
    from transformer_atlas import benchmarks
    from transformer_atlas.common.timing import time_call

    records = {}
    for stem in stems:
        module = benchmarks.load(stem)
        print(f"== (a) benchmark {stem} ({module.__name__})", flush=True)
        results, seconds = time_call(module.run)
        record = benchmarks.save(stem, results)
        path = write_snippet(record)
        print(
            f"  {seconds:.0f} s; wrote "
            f"{(benchmarks.RESULTS_DIR / f'{stem}.json').relative_to(ROOT)} and "
            f"{path.relative_to(ROOT)}",
            flush=True,
        )
        print("  " + module.report(results).strip().replace("\n", "\n  "), flush=True)
        records[stem] = record
    return records


# --------------------------------------------------------------------------------------------
# (b), (c), (d) the site
# --------------------------------------------------------------------------------------------


def timed(cmd: list[str], log: Path) -> tuple[float, int]:
    """Run ``cmd`` in the repository root; output to ``log``; return (seconds, exit code)."""
    from transformer_atlas.common.timing import time_call

    print(f"$ {' '.join(cmd)}  (log: {log.relative_to(ROOT)})", flush=True)
    with log.open("w", encoding="utf-8") as out:
        done, seconds = time_call(
            subprocess.run,
            cmd,
            cwd=ROOT,
            env=_env(),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    rc = done.returncode
    print(f"  -> {seconds:.1f} s, exit {rc}", flush=True)
    return seconds, rc


def bench_build() -> dict:
    print("== (b) strict build: clean, then warm", flush=True)
    shutil.rmtree(ROOT / "site", ignore_errors=True)
    shutil.rmtree(ROOT / ".cache", ignore_errors=True)
    cold, cold_rc = timed([_mkdocs(), "build", "--strict"], ARTIFACTS / "bench-build-clean.log")
    warm, warm_rc = timed([_mkdocs(), "build", "--strict"], ARTIFACTS / "bench-build-warm.log")
    return {
        "clean_s": round(cold, 2),
        "clean_rc": cold_rc,
        "warm_s": round(warm, 2),
        "warm_rc": warm_rc,
    }


def bench_test_command() -> dict:
    print("== (c) the whole test command", flush=True)
    seconds, rc = timed(["make", "test"], ARTIFACTS / "bench-make-test.log")
    return {"command": "make test", "wall_s": round(seconds, 1), "rc": rc}


def bench_page_weight(pages: list[str]) -> dict:
    print("== (d) page weight (headless Chromium, cold cache)", flush=True)
    from site_tools.browser import (
        browser_unavailable_reason,
        launch_chromium,
        measure_page_weight,
        start_server,
    )

    reason = browser_unavailable_reason()
    if reason:
        print(f"  skipped: {reason}")
        return {"skipped": reason}
    site = _site_dir()
    if not (site / "index.html").is_file():
        reason = f"{site}/index.html is missing: build the site first (`make site`)"
        print(f"  skipped: {reason}")
        return {"skipped": reason}
    from playwright.sync_api import sync_playwright

    server = start_server(site)
    results = {}
    try:
        with sync_playwright() as pw:
            browser = launch_chromium(pw)
            try:
                for page in pages:
                    weight = measure_page_weight(browser, server.url(page))
                    weight["url"] = "/" + page
                    results[page or "index"] = weight
                    print(
                        f"  /{page}: {weight['requests']} requests, "
                        f"{weight['total_bytes'] / 1024:.0f} KiB "
                        f"(~{weight['total_gzip_bytes'] / 1024:.0f} KiB gzipped)",
                        flush=True,
                    )
                    for problem in weight["problems"]:
                        print(f"    ! {problem}")
            finally:
                browser.close()
    finally:
        server.stop()
    return results


# --------------------------------------------------------------------------------------------
# The report
# --------------------------------------------------------------------------------------------


def kib(n: int | None) -> str:
    return "" if not n else f"{n / 1024:,.0f}"


def site_markdown(report: dict) -> list[str]:
    """The site's tables (build, test command, page weight) of one run."""
    lines: list[str] = []
    build = report.get("build")
    if build:
        lines += [
            "| Build | Seconds | Exit |",
            "|---|---:|---:|",
            f"| clean `mkdocs build --strict` (no site/, no .cache/) | {build['clean_s']} "
            f"| {build['clean_rc']} |",
            f"| warm rebuild | {build['warm_s']} | {build['warm_rc']} |",
            "",
        ]
    test = report.get("test_command")
    if test:
        lines += [
            "| Test command | Seconds | Exit |",
            "|---|---:|---:|",
            f"| `{test['command']}` | {test['wall_s']} | {test['rc']} |",
            "",
        ]
    weight = report.get("page_weight") or {}
    if "skipped" in weight:
        lines += [f"Page weight: skipped ({weight['skipped']}).", ""]
    elif weight:
        kinds = [k for k in KINDS if any(k in w["by_type"] for w in weight.values())]
        lines += [
            "Page weight in KiB as served (one cold load until the network is idle; "
            "the gzip column estimates what GitHub Pages sends):",
            "",
            "| Page | Requests | " + " | ".join(kinds) + " | Total | Total gzip |",
            "|---|---:|" + "---:|" * (len(kinds) + 2),
        ]
        for w in weight.values():
            cells = [kib(w["by_type"].get(k, {}).get("bytes")) for k in kinds]
            lines.append(
                f"| `{w['url']}` | {w['requests']} | "
                + " | ".join(cells)
                + f" | {kib(w['total_bytes'])} | {kib(w['total_gzip_bytes'])} |"
            )
        problems = [f"- `{w['url']}`: {p}" for w in weight.values() for p in w["problems"]]
        if problems:
            lines += ["", "Problems seen while measuring:", *problems]
        lines.append("")
    return lines


def markdown(report: dict, records: dict[str, dict]) -> str:
    """Everything one run measured: the site's tables, then each benchmark with its provenance."""
    from transformer_atlas import benchmarks
    from transformer_atlas.manifest import topic

    lines = []
    site = site_markdown(report)
    if site:
        lines += [
            f"### The site (`make bench` on {report['when'][:10]} at commit "
            f"`{report['commit']}`: {report['machine']})",
            "",
            *site,
        ]
    for stem, record in records.items():
        t = topic(stem)
        lines += [
            f"### {t.title} (`python -m transformer_atlas bench {t.slug}`; topic `docs/{t.page}`)",
            "",
            benchmarks.snippet(record).strip(),
            "",
        ]
    return "\n".join(lines).rstrip() + "\n"


def update_readme(body: str, readme: Path = README) -> None:
    """Replace what stands between the bench markers in the README with ``body``."""
    text = readme.read_text(encoding="utf-8")
    if README_START not in text or README_END not in text:
        raise SystemExit(f"{readme} has no {README_START} ... {README_END} markers")
    head, rest = text.split(README_START, 1)
    tail = rest.split(README_END, 1)[1]
    text = f"{head}{README_START}\n{body.strip()}\n{README_END}{tail}"
    readme.write_text(text, encoding="utf-8")
    print(f"Updated the measurements in {readme}")


# --------------------------------------------------------------------------------------------
# The command
# --------------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--only",
        action="append",
        metavar="STEM",
        help="run only this benchmark of the package (its stem or page slug, "
        "e.g. kv_cache; repeatable) and none of the site's measurements",
    )
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    parser.add_argument(
        "--skip-build",
        action="store_true",
        help="do not time the builds; weigh the pages of the existing site/",
    )
    parser.add_argument(
        "--skip-test-command",
        action="store_true",
        help="do not time `make test` (the slowest part)",
    )
    parser.add_argument(
        "--skip-page-weight", action="store_true", help="do not weigh pages in Chromium"
    )
    parser.add_argument(
        "--skip-site",
        action="store_true",
        help="the package's benchmarks only: no build, test command or page weight",
    )
    parser.add_argument(
        "--page",
        action="append",
        dest="pages",
        metavar="URL_PATH",
        help="a page to weigh, e.g. blocks/attention/ (repeatable; default: "
        + ", ".join(p or "index" for p in TYPICAL_PAGES)
        + ")",
    )
    parser.add_argument(
        "--readme",
        action="store_true",
        help="also write README.md's measurements (between the "
        f"{README_START} and {README_END} markers) from this run; "
        "not with --only",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from transformer_atlas import benchmarks

    if args.list:
        for stem, module in benchmarks.benchmark_modules().items():
            print(f"{stem:14s} {module}")
        return 0
    try:
        stems = (
            [benchmarks.stem_of(s) for s in args.only]
            if args.only
            else list(benchmarks.benchmark_modules())
        )
    except ValueError as error:
        parser.error(str(error))
    if args.only or args.skip_site:
        args.skip_build = args.skip_test_command = args.skip_page_weight = True
    if args.readme and args.only:
        parser.error(
            "--readme writes the README's measurements from one run of every benchmark: drop --only"
        )
    ARTIFACTS.mkdir(exist_ok=True)

    try:
        commit = (
            subprocess.run(
                ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, text=True, capture_output=True
            ).stdout.strip()
            or "unknown"
        )
    except OSError:
        commit = "unknown"
    report: dict = {
        "when": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "commit": commit,
        "machine": benchmarks.machine(),
    }
    failed = False
    records = bench_package(stems)
    report["benchmarks"] = records
    if not args.skip_build:
        report["build"] = bench_build()
        failed |= bool(report["build"]["clean_rc"] or report["build"]["warm_rc"])
    if not args.skip_page_weight:
        pages = [p.strip("/") for p in (args.pages or TYPICAL_PAGES)]
        pages = [p if not p or p.endswith(".html") else p + "/" for p in pages]
        report["page_weight"] = bench_page_weight(pages)
    if not args.skip_test_command:
        report["test_command"] = bench_test_command()
        failed |= bool(report["test_command"]["rc"])

    text = markdown(report, records)
    (ARTIFACTS / "bench.md").write_text(
        f"# Transformer Atlas bench ({report['when']})\n\n{text}", encoding="utf-8"
    )
    (ARTIFACTS / "bench.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print()
    print(text)
    print(f"Wrote {ARTIFACTS / 'bench.md'} and {ARTIFACTS / 'bench.json'}")
    if args.readme:
        update_readme(text)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
