"""The training command: repeatable, resumable, safe checkpoints, CLI.

Oracles: the run itself (the same seed must give the same losses; a run
interrupted and resumed must give exactly the losses of one that was
not), torch.optim.AdamW + clip_grad_norm_ against the guide's written-out
AdamW + clip_grad_norm inside the same loop, and ln(vocab_size) for the
loss of an untrained model.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from transformer_atlas.cli import main
from transformer_atlas.common.checkpoint import CheckpointError
from transformer_atlas.common.data import CharTokenizer, load_corpus
from transformer_atlas.families.decoder_only import GPT
from transformer_atlas.training.dynamics import warmup_cosine
from transformer_atlas.training.tiny_gpt import (
    CHECKPOINT_NAME,
    TrainConfig,
    fit,
    learning_rate,
    load_model,
    make_optimizer,
    train,
)

SMALL = dict(
    max_bytes=60_000,
    iters=24,
    warmup_iters=4,
    eval_interval=8,
    eval_iters=2,
    n_layers=2,
    d_model=32,
    n_heads=2,
    batch_size=8,
    block_size=32,
)


def _ids(max_bytes: int = 20_000) -> tuple[torch.Tensor, int]:
    text = load_corpus("stdlib", max_bytes=max_bytes)
    tok = CharTokenizer.from_text(text)
    return torch.tensor(tok.encode(text)), tok.vocab_size


def test_fit_in_two_pieces_equals_fit_in_one():
    """fit(start=0, stop=k) then fit(start=k) with the same optimizer and batch generator: the
    losses and weights of one uninterrupted fit (what train's resume relies on)."""
    ids, vocab = _ids()
    cfg = TrainConfig(**{**SMALL, "iters": 10, "warmup_iters": 2})
    torch.manual_seed(0)
    whole_model = GPT(cfg.model_config(vocab))
    whole = fit(whole_model, ids, cfg, progress=False)
    torch.manual_seed(0)
    model = GPT(cfg.model_config(vocab))
    opt = make_optimizer(model, cfg)
    gen = torch.Generator().manual_seed(cfg.seed)
    steps = []
    first = fit(
        model,
        ids,
        cfg,
        optimizer=opt,
        generator=gen,
        stop=4,
        progress=False,
        on_step=lambda step, loss: steps.append((step, loss)),
    )
    second = fit(model, ids, cfg, optimizer=opt, generator=gen, start=4, progress=False)
    assert first + second == whole and len(whole) == 10
    assert steps == [(i + 1, first[i]) for i in range(4)]
    for p, q in zip(model.parameters(), whole_model.parameters()):
        assert torch.equal(p, q)


def test_learning_rate_is_warmup_cosine():
    cfg = TrainConfig(iters=200, warmup_iters=20, max_lr=3e-3, min_lr=3e-4)
    for it in (0, 19, 20, 110, 200):
        assert learning_rate(it, cfg) == warmup_cosine(
            it, max_lr=3e-3, min_lr=3e-4, warmup_steps=20, total_steps=200
        )


def test_same_seed_same_run():
    cfg = TrainConfig(**SMALL)
    a = train(cfg, progress=False).history
    b = train(cfg, progress=False).history
    assert a == b
    c = train(TrainConfig(**{**SMALL, "seed": 7}), progress=False).history
    assert c != a


def test_interrupted_and_resumed_equals_uninterrupted(tmp_path: Path):
    """Checkpoints hold weights, AdamW moments and the RNGs: exact resume."""
    cfg = TrainConfig(**SMALL)
    straight = train(cfg, tmp_path / "a", progress=False)
    train(cfg, tmp_path / "b", stop_at=12, progress=False)
    resumed = train(cfg, tmp_path / "b", resume=True, progress=False)
    assert resumed.history == straight.history
    for (name, p), q in zip(
        straight.model.state_dict().items(), resumed.model.state_dict().values()
    ):
        assert torch.equal(p, q), name


def test_the_written_out_optimizer_trains_the_same(tmp_path: Path):
    torch_run = train(TrainConfig(**SMALL), progress=False).history
    atlas_run = train(TrainConfig(**SMALL, optimizer="atlas"), progress=False).history
    for a, b in zip(torch_run, atlas_run):
        assert a["train_loss"] == pytest.approx(b["train_loss"], abs=1e-3)
        assert a["val_loss"] == pytest.approx(b["val_loss"], abs=1e-3)


def test_loss_starts_at_ln_vocab_and_falls():
    result = train(
        TrainConfig(**{**SMALL, "iters": 60, "eval_interval": 60, "warmup_iters": 6}),
        progress=False,
    )
    first, last = result.history[0], result.history[-1]
    ln_v = math.log(result.tokenizer.vocab_size)
    assert abs(first["val_loss"] - ln_v) < 0.1
    assert last["val_loss"] < first["val_loss"] - 0.8
    assert result.ms_per_iter > 0 and result.tokens_per_second > 0


def test_resume_refuses_other_settings(tmp_path: Path):
    train(TrainConfig(**SMALL), tmp_path, stop_at=8, progress=False)
    with pytest.raises(ValueError, match="d_model: checkpoint 32, now 48"):
        train(TrainConfig(**{**SMALL, "d_model": 48}), tmp_path, resume=True, progress=False)
    with pytest.raises(ValueError, match="nothing to resume"):
        train(TrainConfig(**SMALL), tmp_path / "empty", resume=True, progress=False)


def test_tampered_and_truncated_checkpoints_are_refused(tmp_path: Path):
    train(TrainConfig(**SMALL), tmp_path, stop_at=8, progress=False)
    path = tmp_path / CHECKPOINT_NAME
    model, tokenizer, meta = load_model(tmp_path)
    assert meta["step"] == 8 and tokenizer.vocab_size > 50
    data = bytearray(path.read_bytes())
    data[-100] ^= 0x01  # one bit of one weight
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="(?i)digest|tamper|modified"):
        load_model(path)
    path.write_bytes(bytes(data[: len(data) // 2]))
    with pytest.raises(CheckpointError, match="(?i)truncated|short|size"):
        load_model(path)


def test_config_rejects_bad_settings():
    with pytest.raises(ValueError, match="warmup_iters must be in"):
        TrainConfig(iters=50)
    with pytest.raises(ValueError, match="optimizer must be"):
        TrainConfig(optimizer="sgd")
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        TrainConfig(batch_size=0)


def test_cli_trains_resumes_and_generates(tmp_path: Path, capsys):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("the cat sat on the mat. " * 400, encoding="utf-8")
    run = tmp_path / "run"
    args = [
        "train",
        "gpt",
        "--corpus",
        str(corpus),
        "--iters",
        "16",
        "--warmup-iters",
        "2",
        "--eval-interval",
        "8",
        "--eval-iters",
        "2",
        "--n-layers",
        "1",
        "--d-model",
        "16",
        "--n-heads",
        "2",
        "--block-size",
        "16",
        "--out-dir",
        str(run),
        "--no-progress",
    ]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "step      8: train loss" in out and "step     16" in out
    assert (run / CHECKPOINT_NAME).exists() and (run / "loss.svg").exists()
    assert main(args[:4] + ["--iters", "24"] + args[6:] + ["--resume"]) == 0
    assert "step     24" in capsys.readouterr().out
    assert (
        main(
            [
                "generate",
                "--checkpoint",
                str(run),
                "--prompt",
                "the ",
                "--max-new-tokens",
                "12",
                "--top-k",
                "5",
            ]
        )
        == 0
    )
    text = capsys.readouterr().out
    assert text.startswith("the ") and len(text.rstrip("\n")) == 16
    assert (
        main(
            [
                "generate",
                "--checkpoint",
                str(run),
                "--prompt",
                "the",
                "--max-new-tokens",
                "4",
                "--num-beams",
                "3",
            ]
        )
        == 0
    )
    assert len(capsys.readouterr().out.rstrip("\n")) == 7
    assert main(["generate", "--checkpoint", str(run), "--prompt", "QX"]) == 2
    assert "generate:" in capsys.readouterr().err
    assert main(["train", "gpt", "--iters", "5"]) == 2
    assert "warmup_iters must be in" in capsys.readouterr().err
