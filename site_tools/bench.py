"""Benchmarks for the site and its checks (``make bench``; not a test).

Measures
  (a) a clean strict build (``rm -rf site .cache``; ``mkdocs build --strict``) and a warm rebuild;
  (b) the wall time of the whole test command (``make test``), unless ``--skip-test-command``;
  (c) the weight of typical pages: every byte one cold page load fetches (HTML, CSS, JS, fonts,
      images, the search index), measured in headless Chromium by the same helper the browser
      tests use (``tests/site/test_browser.py:measure_page_weight``).

Prints a Markdown table and writes ``artifacts/bench.md`` and ``artifacts/bench.json``; build and
test logs go to ``artifacts/bench-*.log``. Exits non-zero if a build or the test command failed.

    .venv/bin/python site_tools/bench.py [--skip-test-command] [--skip-build] [--page URL_PATH ...]
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "artifacts"
TYPICAL_PAGES = ["", "blocks/attention/"]  # the home page and a chapter with math, figures, mermaid
KINDS = ["html", "css", "js", "font", "img", "svg", "json", "other"]


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _mkdocs() -> str:
    local = Path(sys.executable).parent / "mkdocs"
    return str(local) if local.exists() else (shutil.which("mkdocs") or "mkdocs")


def _env() -> dict:
    return {**os.environ, "NO_MKDOCS_2_WARNING": "1", "HF_HUB_OFFLINE": "1",
            "PYTHONDONTWRITEBYTECODE": "1"}


def timed(cmd: list[str], log: Path) -> tuple[float, int]:
    """Run ``cmd`` in the repository root; output to ``log``; return (seconds, exit code)."""
    print(f"$ {' '.join(cmd)}  (log: {log.relative_to(ROOT)})", flush=True)
    start = time.perf_counter()
    with log.open("w", encoding="utf-8") as out:
        rc = subprocess.run(cmd, cwd=ROOT, env=_env(), stdout=out, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL).returncode
    seconds = time.perf_counter() - start
    print(f"  -> {seconds:.1f} s, exit {rc}", flush=True)
    return seconds, rc


def bench_build() -> dict:
    print("== (a) strict build: clean, then warm", flush=True)
    shutil.rmtree(ROOT / "site", ignore_errors=True)
    shutil.rmtree(ROOT / ".cache", ignore_errors=True)
    cold, cold_rc = timed([_mkdocs(), "build", "--strict"], ARTIFACTS / "bench-build-clean.log")
    warm, warm_rc = timed([_mkdocs(), "build", "--strict"], ARTIFACTS / "bench-build-warm.log")
    return {"clean_s": round(cold, 2), "clean_rc": cold_rc, "warm_s": round(warm, 2),
            "warm_rc": warm_rc}


def bench_test_command() -> dict:
    print("== (b) the whole test command", flush=True)
    seconds, rc = timed(["make", "test"], ARTIFACTS / "bench-make-test.log")
    return {"command": "make test", "wall_s": round(seconds, 1), "rc": rc}


def bench_page_weight(pages: list[str]) -> dict:
    print("== (c) page weight (headless Chromium, cold cache)", flush=True)
    conftest = _load("atlas_site_conftest", ROOT / "tests" / "site" / "conftest.py")
    reason = conftest.browser_unavailable_reason()
    if reason:
        print(f"  skipped: {reason}")
        return {"skipped": reason}
    if not (conftest.SITE_DIR / "index.html").is_file():
        print(f"  skipped: {conftest.NOT_BUILT}")
        return {"skipped": conftest.NOT_BUILT}
    browser_tests = _load("atlas_site_browser", ROOT / "tests" / "site" / "test_browser.py")
    from playwright.sync_api import sync_playwright

    server = conftest.start_server(conftest.SITE_DIR)
    results = {}
    try:
        with sync_playwright() as pw:
            browser = conftest.launch_chromium(pw)
            try:
                for page in pages:
                    weight = browser_tests.measure_page_weight(browser, server.url(page))
                    weight["url"] = "/" + page
                    results[page or "index"] = weight
                    print(f"  /{page}: {weight['requests']} requests, "
                          f"{weight['total_bytes'] / 1024:.0f} KiB "
                          f"(~{weight['total_gzip_bytes'] / 1024:.0f} KiB gzipped)", flush=True)
                    for problem in weight["problems"]:
                        print(f"    ! {problem}")
            finally:
                browser.close()
    finally:
        server.stop()
    return results


def bench_bpe_training(runs: int = 3) -> dict:
    """Train a 1,024-token byte-level BPE on 1 MB of the standard library's source ``runs`` times
    (``python -m transformer_atlas bench bpe``); keep the fastest run."""
    from transformer_atlas.benchmarks.blocks.tokenization import bench_bpe

    print("== (d) BPE training: 1,024-token vocabulary on 1 MB of stdlib source", flush=True)
    results = [bench_bpe(vocab_size=1024, max_bytes=1_000_000) for _ in range(runs)]
    best = min(results, key=lambda r: r.seconds)
    print(f"  {best.n_merges} merges on {best.n_bytes:,} bytes: best of {runs} "
          f"{best.seconds:.2f} s ({best.merges_per_second:,.0f} merges/s)", flush=True)
    return {"n_bytes": best.n_bytes, "n_merges": best.n_merges, "vocab_size": best.vocab_size,
            "seconds": round(best.seconds, 3), "merges_per_second": round(best.merges_per_second),
            "runs": runs, "python": best.python}


SHARED_SHAKESPEARE = ROOT.parent / "shared" / "data" / "tinyshakespeare.txt"


def bench_gpt_training(iters: int = 2000) -> dict:
    """nanoGPT's baby GPT for ``iters`` iterations (``bench train --iters``) on the standard
    library's source and, when the project's copy of Tiny Shakespeare is beside the checkout,
    on it too (nanoGPT's reference corpus; the project itself never needs it)."""
    from transformer_atlas.benchmarks.training.tiny_gpt import bench_train
    from transformer_atlas.common.data import SHAKESPEARE_BYTES

    corpora = [("stdlib", 1_000_000)]
    if SHARED_SHAKESPEARE.exists():
        corpora.append((str(SHARED_SHAKESPEARE), SHAKESPEARE_BYTES))
    rows = []
    for corpus, max_bytes in corpora:
        print(f"== (e) baby GPT, {iters} iterations on {Path(corpus).name}", flush=True)
        cfg, r = bench_train(iters, corpus, max_bytes, progress=False)
        print(f"  {r['ms_per_iter']:.1f} ms/iteration, {r['tokens_per_s']:,.0f} tokens/s, "
              f"val loss {r['val_loss']:.4f}", flush=True)
        rows.append({"corpus": Path(corpus).name, "bytes": max_bytes, "iters": iters,
                     **{k: round(v, 4) for k, v in r.items()}})
    return {"rows": rows}


def bench_kv(new_tokens: int = 256) -> dict:
    """``python -m transformer_atlas bench kv-cache``: ms/token with and without the cache."""
    import statistics

    from transformer_atlas.benchmarks.inference.kv_cache import bench_kv_cache

    print(f"== (f) KV cache, {new_tokens} new tokens, 6 layers x 512", flush=True)
    b = bench_kv_cache(new_tokens)
    out = {"new_tokens": new_tokens,
           "cached_ms": round(1e3 * statistics.fmean(b.cached), 2),
           "uncached_ms": round(1e3 * statistics.fmean(b.uncached), 2),
           "speedup": round(b.speedup, 2)}
    print(f"  {out}", flush=True)
    return out


def kib(n: int | None) -> str:
    return "" if not n else f"{n / 1024:,.0f}"


def markdown(report: dict) -> str:
    lines = [f"# Transformer Atlas bench ({report['when']})", "",
             f"Machine: {report['machine']}. Commit: `{report['commit']}`.", ""]
    if report.get("older_commit"):
        lines += [f"The GPT rows were measured at `{report['commit']}`; the other numbers "
                  f"come from the last full `make bench`, at `{report['older_commit']}`.", ""]
    build = report.get("build")
    if build:
        lines += ["| Build | Seconds | Exit |", "|---|---:|---:|",
                  f"| clean `mkdocs build --strict` (no site/, no .cache/) | {build['clean_s']} "
                  f"| {build['clean_rc']} |",
                  f"| warm rebuild | {build['warm_s']} | {build['warm_rc']} |", ""]
    test = report.get("test_command")
    if test:
        lines += ["| Test command | Seconds | Exit |", "|---|---:|---:|",
                  f"| `{test['command']}` | {test['wall_s']} | {test['rc']} |", ""]
    bpe = report.get("bpe")
    if bpe:
        lines += ["| BPE training (`python -m transformer_atlas bench bpe`) | Seconds | Merges/s |",
                  "|---|---:|---:|",
                  f"| {bpe['n_merges']} merges (vocabulary {bpe['vocab_size']:,}) on "
                  f"{bpe['n_bytes']:,} bytes of the Python {bpe['python']} standard library, "
                  f"best of {bpe['runs']} | {bpe['seconds']} | {bpe['merges_per_second']:,} |",
                  "", "For comparison, on the same machine, minbpe's naive trainer took 363 s "
                  "for a 1,024-token vocabulary on 1.1 MB.", ""]
    gpt = report.get("gpt_training")
    if gpt:
        from transformer_atlas.benchmarks.training.tiny_gpt import NANOGPT_MS_PER_ITER, NANOGPT_VAL_LOSS

        lines += ["| Baby GPT training (`python -m transformer_atlas bench train --iters 2000`) "
                  "| ms/iteration | Tokens/s | Val loss |", "|---|---:|---:|---:|"]
        for r in gpt["rows"]:
            lines.append(f"| {r['iters']} iterations on {r['corpus']} ({r['bytes']:,} bytes), "
                         f"{r['seconds']:.0f} s | {r['ms_per_iter']:.1f} | "
                         f"{r['tokens_per_s']:,.0f} | {r['val_loss']:.4f} |")
        lines += [f"| nanoGPT, same configuration on Tiny Shakespeare, same kind of machine "
                  f"(quoted) | {NANOGPT_MS_PER_ITER:.0f} | {12 * 64 / NANOGPT_MS_PER_ITER * 1e3:,.0f} "
                  f"| {NANOGPT_VAL_LOSS} |", ""]
    kv = report.get("kv_cache")
    if kv:
        lines += ["| KV cache (`python -m transformer_atlas bench kv-cache`) | ms/token | "
                  "Speed-up |", "|---|---:|---:|",
                  f"| 6 layers, d_model 512, {kv['new_tokens']} new tokens, with the cache | "
                  f"{kv['cached_ms']} | {kv['speedup']}x |",
                  f"| the same without the cache (whole prefix each step) | "
                  f"{kv['uncached_ms']} | 1x |", ""]
    weight = report.get("page_weight") or {}
    if "skipped" in weight:
        lines += [f"Page weight: skipped ({weight['skipped']}).", ""]
    elif weight:
        kinds = [k for k in KINDS if any(k in w["by_type"] for w in weight.values())]
        lines += ["Page weight in KiB as served (one cold load until the network is idle; "
                  "the gzip column estimates what GitHub Pages sends):", "",
                  "| Page | Requests | " + " | ".join(kinds) + " | Total | Total gzip |",
                  "|---|---:|" + "---:|" * (len(kinds) + 2)]
        for name, w in weight.items():
            cells = [kib(w["by_type"].get(k, {}).get("bytes")) for k in kinds]
            lines.append(f"| `{w['url']}` | {w['requests']} | " + " | ".join(cells)
                         + f" | {kib(w['total_bytes'])} | {kib(w['total_gzip_bytes'])} |")
        problems = [f"- `{w['url']}`: {p}" for w in weight.values() for p in w["problems"]]
        if problems:
            lines += ["", "Problems seen while measuring:", *problems]
        lines.append("")
    return "\n".join(lines)


def update_readme(text: str, readme: Path = ROOT / "README.md") -> None:
    """Replace what stands between the bench markers in the README with ``text``'s tables."""
    start, end = "<!-- bench:start -->", "<!-- bench:end -->"
    body = readme.read_text(encoding="utf-8")
    if start not in body or end not in body:
        raise SystemExit(f"{readme} has no {start} ... {end} markers")
    tables = text.split("\n", 2)[2].strip()  # drop the "# ... bench" title line
    head, rest = body.split(start, 1)
    body = head + start + "\n" + tables + "\n" + end + rest.split(end, 1)[1]
    readme.write_text(body, encoding="utf-8")
    print(f"Updated the measurements in {readme}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--skip-test-command", action="store_true",
                        help="do not time `make test` (the slowest part)")
    parser.add_argument("--skip-build", action="store_true",
                        help="do not time the builds; measure the pages of the existing site/")
    parser.add_argument("--page", action="append", dest="pages", metavar="URL_PATH",
                        help="a page to weigh, e.g. blocks/attention/ (repeatable; default: "
                             + ", ".join(p or "index" for p in TYPICAL_PAGES) + ")")
    parser.add_argument("--readme", action="store_true",
                        help="also write the tables into README.md between the "
                             "<!-- bench:start --> and <!-- bench:end --> markers")
    parser.add_argument("--only-gpt", action="store_true",
                        help="measure only the GPT track (training speed, KV cache); keep the "
                             "other numbers of the last artifacts/bench.json")
    args = parser.parse_args(argv)
    ARTIFACTS.mkdir(exist_ok=True)

    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, text=True,
                                capture_output=True).stdout.strip() or "unknown"
    except OSError:
        commit = "unknown"
    report: dict = {
        "when": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "commit": commit,
        "machine": f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs, "
                   f"Python {platform.python_version()}",
    }
    failed = False
    if args.only_gpt:
        previous = ARTIFACTS / "bench.json"
        if previous.exists():
            old = json.loads(previous.read_text(encoding="utf-8"))
            report.update({k: v for k, v in old.items() if k not in report})
            report["older_commit"] = old.get("older_commit", old.get("commit"))
        report["gpt_training"] = bench_gpt_training()
        report["kv_cache"] = bench_kv()
        args.skip_build = args.skip_test_command = True
    elif not args.skip_build:
        report["build"] = bench_build()
        failed |= bool(report["build"]["clean_rc"] or report["build"]["warm_rc"])
    if not args.only_gpt:
        pages = [p.strip("/") for p in (args.pages or TYPICAL_PAGES)]
        pages = [p if not p or p.endswith(".html") else p + "/" for p in pages]
        report["page_weight"] = bench_page_weight(pages)
        report["bpe"] = bench_bpe_training()
        report["gpt_training"] = bench_gpt_training()
        report["kv_cache"] = bench_kv()
    if not args.skip_test_command:
        report["test_command"] = bench_test_command()
        failed |= bool(report["test_command"]["rc"])

    text = markdown(report)
    (ARTIFACTS / "bench.md").write_text(text, encoding="utf-8")
    (ARTIFACTS / "bench.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print()
    print(text)
    print(f"Wrote {ARTIFACTS / 'bench.md'} and {ARTIFACTS / 'bench.json'}")
    if args.readme:
        update_readme(text)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
