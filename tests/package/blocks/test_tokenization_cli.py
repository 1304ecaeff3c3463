"""The tokenization demo, its benchmark (``bench tokenization``) and the tokenization figures.

The benchmark's times are measured by ``make bench``, never asserted here: the tests check that
it runs on a small input and the format of its report.
"""

from __future__ import annotations

import io

import pytest

from transformer_atlas.benchmarks.blocks import tokenization as bench
from transformer_atlas.cli import main
from transformer_atlas.common.data import stdlib_corpus, stdlib_files
from transformer_atlas.figures import REGISTRY
from transformer_atlas.figures.blocks.tokenization import (
    compression_curve,
    compression_statistics,
    segment_lines,
    token_segments,
)


# ================================================================================ demo
def test_demo_tokenization_in_process(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "tokenization"]) == 0
    out = capsys.readouterr().out
    for line in (
        "start:  aaabdaaabac   (11 tokens)",
        "merge Z = aa  (counts aa:4, ab:2, ac:1, ...)  -> ZabdZabac   (9 tokens)",
        "merge Y = ab  (counts ab:2, Za:2, ac:1, ...)  -> ZYdZYac   (7 tokens)",
        "merge X = ZY  (counts ZY:2, ac:1, dZ:1, ...)  -> XdXac   (5 tokens)",
        "vocab_size = 1024 = 256 bytes + 767 merges + 1 special token",
        "text:    'The tokenizer returns a list of integers.'",
        "chunks:  The | ␣tokenizer | ␣returns | ␣a | ␣list | ␣of | ␣integers | .",
        "chunks:  Größe | ␣😀 | <|endoftext|>",
        "ids:     [71, 114, 195, 182, 195, 159, 101, 32, 240, 159, 152, 128, 1023]",
        "20 characters, 25 bytes -> 13 tokens; decode(encode(text)) == text: True",
        "Part 3 - WordPiece (BERT), 1024 pieces learned on the same corpus",
    ):
        assert line in out, f"missing line: {line!r}"
    assert out.count("decode(encode(text)) == text: True") == 3
    assert "first merges learned" in out and "pieces:  " in out


# =============================================================================== bench
def test_bench_on_a_small_input() -> None:
    results = bench.run(vocab_size=300, max_bytes=20_000, runs=2)
    assert 19_990 <= results["n_bytes"] <= 20_000
    assert results["vocab_size"] == 300 and results["n_merges"] == 44
    assert results["runs"] == 2 and len(results["seconds"]) == 2
    assert results["best_s"] == min(results["seconds"])
    assert isinstance(results["merges_per_s"], float)
    assert isinstance(results["hugging_face_best_s"], float)  # tokenizers: a test extra
    with pytest.raises(ValueError, match="vocab_size must be >= 256, got 100"):
        bench.run(vocab_size=100)


def test_bench_quick_is_small() -> None:
    results = bench.run(quick=True)
    assert results["vocab_size"] == 300 and results["runs"] == 1


def test_bench_report_format() -> None:
    results = {
        "n_bytes": 999_986,
        "vocab_size": 1024,
        "n_merges": 768,
        "python": "3.11.7",
        "runs": 3,
        "seconds": [1.0, 0.8, 0.9],
        "best_s": 0.8,
        "merges_per_s": 960.0,
        "hugging_face_best_s": 0.5,
    }
    assert bench.report(results).splitlines() == [
        "A 1,024-token byte-level BPE (768 merges) trained on 999,986 bytes of the Python 3.11.7 "
        "standard library's source; fastest of 3 runs.",
        "",
        "| trainer | seconds | merges per second |",
        "|---|---:|---:|",
        "| this guide's `train_bpe` (pure Python) | 0.80 | 960 |",
        "| Hugging Face `tokenizers` `BpeTrainer` (Rust), same text and vocabulary size | 0.50 "
        "| 1,536 |",
        "",
        "Ours takes 1.60 times as long as the Rust trainer.",
    ]
    results["hugging_face_best_s"] = None  # tokenizers not installed
    assert "Rust" not in bench.report(results)


def test_cli_bench_tokenization(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["bench", "tokenization", "--vocab-size", "300", "--max-bytes", "20000", "--runs", "1"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert out.startswith("Measured now: ")
    assert "A 300-token byte-level BPE (44 merges) trained on 20,000 bytes" in out
    assert "| this guide's `train_bpe` (pure Python) |" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["bench", "tokenization", "--vocab-size", "10"], "vocab_size must be >= 256, got 10"),
        (["bench", "tokenization", "--max-bytes", "0"], "max_bytes must be a positive int"),
        (["bench", "tokenization", "--runs", "x"], "invalid int value: 'x'"),
        (["bench", "bpe"], "invalid choice: 'bpe'"),
    ],
)
def test_cli_bench_usage_errors_exit_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_stdlib_corpus_is_deterministic() -> None:
    assert stdlib_files() == sorted(stdlib_files()) and len(stdlib_files()) > 50
    a, b = stdlib_corpus(5_000), stdlib_corpus(5_000)
    assert a == b and len(a.encode("utf-8")) <= 5_000
    assert stdlib_corpus(100, skip_bytes=50) == stdlib_corpus(150)[50:]
    with pytest.raises(ValueError, match="max_bytes=0"):
        stdlib_corpus(0)


# ============================================================================= figures
def _svg(fig) -> str:  # noqa: ANN001
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg")
    return buffer.getvalue()


def test_tokenization_figures_are_registered() -> None:
    assert REGISTRY["tokenization-compression"] is compression_curve
    assert REGISTRY["tokenization-segments"] is token_segments


def test_page_compression_rises_and_held_out_gains_less() -> None:
    """blocks/tokenization (caption): "Bytes per token rise with every merge" ... "Text from
    other files (orange) gains less than the training text (blue)"."""
    stats = compression_statistics()
    for name in ("train", "held_out"):
        values = stats[name]
        assert values[0] == 1.0 and values == sorted(values)
    assert stats["held_out"][-1] < stats["train"][-1]


def test_compression_curve_arguments() -> None:
    fig = compression_curve(vocab_sizes=(256, 300), train_bytes=5_000, held_out_bytes=3_000)
    ax = fig.get_axes()[0]
    assert list(ax.get_lines()[0].get_xdata()) == [256.0, 300.0]
    assert "training text (5 KB)" in [t.get_text() for t in ax.get_legend().get_texts()]
    _svg(fig)
    with pytest.raises(ValueError, match=r"vocab_sizes must be integers >= 256, got \(100,\)"):
        compression_statistics(vocab_sizes=(100,))
    with pytest.raises(ValueError, match="train_bytes must be >= 1000"):
        compression_statistics(train_bytes=10)


def test_page_segments_caption() -> None:
    """blocks/tokenization (caption): "With 256 tokens every byte is a token; with 1,024,
    frequent words such as ␣the, ␣def and self are single tokens, while a rarer one like
    ␣number is still cut into pieces"."""
    cuts = segment_lines()
    code, sentence = cuts[256]
    assert all(len(t) == 1 for t in code + sentence)
    code, sentence = cuts[1024]
    assert "␣the" in sentence and "␣def" in code and "self" in code
    assert "␣number" not in sentence
    lengths = [len(cuts[v][1]) for v in (256, 320, 512, 1024)]
    assert lengths == sorted(lengths, reverse=True)


def test_token_segments_arguments() -> None:
    fig = token_segments(lines=("ab ab ab",), vocab_sizes=(256, 260), train_bytes=5_000)
    ax = fig.get_axes()[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["V = 256", "V = 260"]
    assert "8 tokens" in [t.get_text() for t in ax.texts]
    _svg(fig)
    with pytest.raises(ValueError, match="vocab_sizes >= 256"):
        segment_lines(vocab_sizes=(10,))
