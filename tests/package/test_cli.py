"""The command line: ``python -m transformer_atlas`` and ``transformer_atlas.cli.main``."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from transformer_atlas.cli import main
from transformer_atlas.demos import UnknownDemoError, discover, run_demo

REPO = Path(__file__).resolve().parents[2]

EXPECTED_DEMO_LINES = [
    "tokens: the cat sat on the mat because it was tired",
    "X [seq, d_model] = [10, 8]",
    "Q = X @ W_Q   Q [seq, d_k] = [10, 4]",
    "K = X @ W_K   K [seq, d_k] = [10, 4]",
    "V = X @ W_V   V [seq, d_v] = [10, 4]",
    "scores = Q @ K^T   scores [q_len, k_len] = [10, 10]",
    "scaled = scores / sqrt(d_k) = scores / sqrt(4) = scores / 2.00",
    "weights = softmax(scaled, axis=-1)   weights [q_len, k_len] = [10, 10]",
    "every row sums to 1: True",
    "output = weights @ V   output [seq, d_v] = [10, 4]",
    '"it" attends most to "cat"',
    "x [batch, seq, d_model] = [1, 10, 8], n_heads = 2",
    "mask = causal_mask(10)   mask [q_len, k_len] = [10, 10]",
    "Q [batch, n_heads, seq, d_head] = [1, 2, 10, 4]",
    "weights [batch, n_heads, q_len, k_len] = [1, 2, 10, 10]",
    "output [batch, seq, d_model] = [1, 10, 8]",
    "weights above the diagonal (the future) are all 0: True",
]


def _check_demo_output(out: str) -> None:
    for line in EXPECTED_DEMO_LINES:
        assert line in out, f"missing line: {line!r}"
    assert "nan" not in out.lower()
    table_rows = [ln for ln in out.splitlines() if ln.startswith("it ")]
    assert table_rows, "no table row labelled with the token 'it'"


def test_help_exits_zero(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "demo" in out and "figure" in out and "demos" in out


def test_no_command_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 0
    assert "usage:" in capsys.readouterr().out


def test_demo_attention_in_process(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "attention"]) == 0
    _check_demo_output(capsys.readouterr().out)


def test_demo_attention_as_subprocess() -> None:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "transformer_atlas", "demo", "attention"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    _check_demo_output(result.stdout)


@pytest.mark.parametrize("argv", [["demos"], ["demo", "--list"]])
def test_demo_list(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    for name, demo in discover().items():
        description = demo.summary
        # one line per demo: its name, padding to a common column, its description
        assert any(
            re.fullmatch(rf"{re.escape(name)} {{2,}}{re.escape(description)}", line)
            for line in lines
        ), f"no line for demo {name!r} in:\n{out}"


def test_unknown_demo_exits_2_and_lists_names(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "no-such-demo"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "unknown demo 'no-such-demo'" in captured.err and "attention" in captured.err
    assert main(["demo"]) == 2
    assert "attention" in capsys.readouterr().err
    with pytest.raises(UnknownDemoError, match="available demos: .*attention"):
        run_demo("no-such-demo")
    assert issubclass(UnknownDemoError, ValueError)


def test_unknown_option_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--bogus"]) == 2
    assert "unrecognized arguments" in capsys.readouterr().err


@pytest.mark.parametrize("suffix", ["svg", "png"])
def test_figure_writes_file(
    tmp_path: Path, suffix: str, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "sub" / f"tmp.{suffix}"
    assert main(["figure", "attention-heatmap", "--out", str(out)]) == 0
    data = out.read_bytes()
    if suffix == "svg":
        assert b"<svg" in data[:1000] and data.rstrip().endswith(b"</svg>")
    else:
        assert data.startswith(b"\x89PNG\r\n\x1a\n")
    assert str(out) in capsys.readouterr().out


def test_figure_list(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["figure", "--list"]) == 0
    out = capsys.readouterr().out
    for name in (
        "attention-heatmap",
        "attention-dot-product-variance",
        "logits-softmax-temperatures",
        "attention-causal-mask",
    ):
        assert name in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["figure", "no-such-figure", "--out", "x.svg"], "unknown figure 'no-such-figure'"),
        (["figure"], "give a figure name"),
        (["figure", "attention-heatmap"], "--out PATH is required"),
        (
            ["figure", "attention-heatmap", "--out", "x.txt"],
            "--out must end in one of .svg, .png, .pdf",
        ),
    ],
)
def test_figure_usage_errors_exit_2(
    argv: list[str],
    message: str,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err
    if "unknown" in message or "give" in message:
        assert "attention-heatmap" in err
    assert not list(tmp_path.iterdir())  # nothing written
