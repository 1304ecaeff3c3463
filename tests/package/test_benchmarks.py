"""The benchmark machinery: discovery, records, the snippets pages include, the ``bench`` command.

Each benchmark's own results and report are tested with its topic (``run(quick=True)``); here:
every benchmark module keeps the API, every one has a record and the page snippet made from it,
and no test reads a clock.
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from transformer_atlas import benchmarks
from transformer_atlas.cli import main
from transformer_atlas.common.timing import Laps, ms_summary, rolling_median, time_call
from transformer_atlas.manifest import topic

ROOT = Path(__file__).resolve().parents[2]
SNIPPETS = ROOT / "docs" / "_snippets" / "bench"
STEMS = list(benchmarks.benchmark_modules())


@pytest.mark.parametrize("stem", STEMS)
def test_benchmark_module_keeps_the_api(stem: str) -> None:
    """run(quick=False, *, size=default, ...) and report(results); sizes are int, float, str or
    bool so that `bench <slug>` can offer them as options."""
    module = benchmarks.load(stem)
    params = list(inspect.signature(module.run).parameters.values())
    assert params[0].name == "quick" and params[0].default is False
    for p in params[1:]:
        assert p.kind is p.KEYWORD_ONLY, f"{stem}.run: {p.name} must be keyword-only"
        assert type(p.default) in (int, float, str, bool), f"{stem}.run: {p.name}'s default"
    assert list(inspect.signature(module.report).parameters) == ["results"]
    assert module.__doc__ and module.__doc__.strip().splitlines()[0]


@pytest.mark.parametrize("stem", STEMS)
def test_every_benchmark_has_a_record_and_its_page_shows_it(stem: str) -> None:
    """The record make bench saved, and docs/_snippets/bench/<stem>.md made from it exactly (run
    `make bench`, or `python site_tools/bench.py --only <stem>`, to refresh both)."""
    record = benchmarks.recorded(stem)
    assert set(record) == {"stem", "when", "commit", "machine", "results"}
    assert record["stem"] == stem
    snippet = (SNIPPETS / f"{stem}.md").read_text(encoding="utf-8")
    assert snippet == benchmarks.snippet(record)
    page = (ROOT / "docs" / topic(stem).page).read_text(encoding="utf-8")
    if not topic(stem).notebook:  # notebooks are not run through the snippets extension
        assert f'--8<-- "bench/{stem}.md"' in page


def test_save_recorded_and_snippet(tmp_path: Path) -> None:
    results = {
        "vocab_size": 300,
        "n_merges": 44,
        "n_bytes": 20_000,
        "python": "3.11.7",
        "runs": 1,
        "seconds": [0.5],
        "best_s": 0.5,
        "merges_per_s": 88.0,
        "hugging_face_best_s": None,
    }
    record = benchmarks.save("tokenization", results, directory=tmp_path)
    assert benchmarks.recorded("tokenization", directory=tmp_path) == record
    assert record["machine"] == benchmarks.machine()
    text = benchmarks.snippet(record)
    first, blank, *report = text.splitlines()
    assert first == (
        f"*Measured by `make bench` on {record['when']} at commit "
        f"`{record['commit']}`: {record['machine']}.*"
    )
    assert blank == ""
    assert "\n".join(report) == benchmarks.load("tokenization").report(results).strip()
    with pytest.raises(ValueError, match="no recorded benchmark 'nope'"):
        benchmarks.recorded("nope", directory=tmp_path)


def test_names_are_stems_or_slugs() -> None:
    assert benchmarks.stem_of("kv-cache") == benchmarks.stem_of("kv_cache") == "kv_cache"
    with pytest.raises(ValueError, match="no benchmark 'gpt'; benchmarks: generation, kv-cache"):
        benchmarks.load("gpt")
    assert "_nanogpt" not in STEMS  # a helper module, not a benchmark


def test_cli_bench_runs_a_benchmark_by_slug(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "kv-cache", "--quick"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Measured now (--quick): ")
    assert "| this guide's `GPT` (`kv_bench_model`) |" in out


def test_cli_bench_help_lists_every_benchmark(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "--help"]) == 0
    out = capsys.readouterr().out
    for stem in STEMS:
        assert stem.replace("_", "-") in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["bench"], "the following arguments are required: NAME"),
        (["bench", "gpt"], "invalid choice: 'gpt'"),
        (["bench", "tiny-gpt", "--iters", "3"], "bench tiny-gpt: iters must be >= 10, got 3"),
        (["bench", "kv-cache", "--new-tokens", "0"], "new_tokens must be a positive int"),
        (["bench", "generation", "--threads", "two"], "invalid int value: 'two'"),
    ],
)
def test_cli_bench_usage_errors_exit_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    assert message in capsys.readouterr().err


# ---------------------------------------------------------------- timing helpers (no durations)


def test_ms_summary() -> None:
    # steady mean: the mean of the rolling medians (window 3 here) 2, 2, 2, 6
    assert ms_summary([0.003, 0.001, 0.002, 0.010]) == {
        "median_ms": 2.5,
        "mean_ms": 4.0,
        "steady_mean_ms": 3.0,
        "min_ms": 1.0,
        "n": 4,
    }
    spike = ms_summary([0.001] * 20 + [1.0] + [0.001] * 20)  # one step slowed down
    assert spike["steady_mean_ms"] == spike["median_ms"] == 1.0 < spike["mean_ms"]
    with pytest.raises(ValueError, match="at least one time"):
        ms_summary([])


def test_rolling_median_ignores_a_spike() -> None:
    assert list(rolling_median([1, 1, 9, 1, 1], 3)) == [1, 1, 1, 1, 1]
    with pytest.raises(ValueError, match="positive odd"):
        rolling_median([1.0], 2)


def test_time_call_returns_the_result_and_laps_count() -> None:
    result, seconds = time_call(sorted, [3, 1, 2])
    assert result == [1, 2, 3] and isinstance(seconds, float)
    assert isinstance(Laps().lap(), float)


def test_no_test_reads_a_clock() -> None:
    """Speed is measured by make bench, never asserted: no test file reads a clock."""
    # the names are built from halves, so that this file matches neither itself nor a grep
    halves = [
        ("perf", "_counter"),
        ("process", "_time"),
        (r"time\.ti", r"me\("),
        ("time", "it"),
        (r"time\.mono", "tonic"),
    ]
    names = ["".join(pair) for pair in halves]
    clock = re.compile("|".join(names))
    offenders = [
        str(path.relative_to(ROOT))
        for path in sorted((ROOT / "tests").rglob("*.py"))
        if clock.search(path.read_text(encoding="utf-8"))
    ]
    assert not offenders, f"tests that read a clock: {offenders}"
