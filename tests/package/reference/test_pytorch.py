"""Tests of transformer_atlas.reference.pytorch and the reference/pytorch page.

Oracles we did not write: torch's own error messages (each gotcha on the
page is produced here, message for message), ``torch.nn.functional``'s
cross-entropy against ``-log softmax`` of the target, ``torch.optim``,
and the closed-form chance loss ``ln(vocab)``. The loop itself
(``training.tiny_gpt.fit``) is tested in ``tests/package/training/test_tiny_gpt.py``.
"""

from __future__ import annotations

import dataclasses
import math
import re

import pytest
import torch
import torch.nn.functional as F

from transformer_atlas.common.data import CharTokenizer, get_batch, load_corpus
from transformer_atlas.reference.pytorch import (
    PAGE_CONFIG,
    TinyTransformer,
    generate,
    train_tiny_transformer,
)
from transformer_atlas.training.tiny_gpt import TrainConfig, fit

LOSS_BOUND = 2.6  # the page: "below 2.6 nats"
SHORT = dataclasses.replace(PAGE_CONFIG, iters=5, warmup_iters=1, max_bytes=20_000, eval_iters=2)


@pytest.fixture(scope="module")
def page_run():
    """The page's run: PAGE_CONFIG (seed 0), the stdlib corpus, 90/10 split."""
    return train_tiny_transformer(progress=False)


# ------------------------------------------------------------ unit tests
def test_get_batch_targets_are_inputs_shifted() -> None:
    """The page: "position t of x is trained to predict position t of y" (y = x shifted)."""
    data = torch.arange(100)
    x, y = get_batch(data, 4, 8, torch.Generator().manual_seed(0))
    assert x.shape == y.shape == (4, 8)
    assert torch.equal(y[:, :-1], x[:, 1:])
    assert torch.equal(y, x + 1)  # data[i] = i


def test_model_shapes_and_causality() -> None:
    torch.manual_seed(0)
    model = TinyTransformer(96, block_size=8)
    ids = torch.randint(96, (2, 8))
    logits = model(ids)
    assert logits.shape == (2, 8, 96)
    changed = ids.clone()
    changed[:, 5] = (changed[:, 5] + 1) % 96
    # positions before 5 cannot see position 5
    assert torch.allclose(model(changed)[:, :5], logits[:, :5], atol=1e-6)
    assert not torch.allclose(model(changed)[:, 5:], logits[:, 5:])
    with pytest.raises(ValueError, match="seq <= 8"):
        model(torch.zeros(1, 9, dtype=torch.long))
    with pytest.raises(ValueError, match="got block_size=0, n_layers=1"):
        TinyTransformer(96, block_size=0)


def test_train_loss_matches_manual_cross_entropy() -> None:
    """F.cross_entropy over [N, vocab] is the mean of -log softmax[target]."""
    torch.manual_seed(0)
    logits = torch.randn(2, 5, 10)
    y = torch.randint(10, (2, 5))
    ours = -torch.log_softmax(logits, -1).gather(-1, y[..., None]).mean()
    theirs = F.cross_entropy(logits.reshape(-1, 10), y.reshape(-1))
    assert torch.allclose(ours, theirs)
    # the class axis at dim 1 is the other correct call
    assert torch.allclose(F.cross_entropy(logits.transpose(1, 2), y), theirs)


def test_train_is_deterministic_and_state_dict_roundtrips(tmp_path) -> None:
    cfg = TrainConfig(iters=3, warmup_iters=1, batch_size=4, block_size=8, seed=0)
    text = load_corpus("stdlib", max_bytes=5000)
    tok = CharTokenizer.from_text(text)
    data = torch.tensor(tok.encode(text))
    runs = []
    for _ in range(2):
        torch.manual_seed(0)
        model = TinyTransformer(tok.vocab_size, 8, d_model=16)
        runs.append(fit(model, data, cfg, progress=False))
    assert runs[0] == runs[1] and len(runs[0]) == 3
    path = tmp_path / "model.pt"
    torch.save(model.state_dict(), path)
    clone = TinyTransformer(tok.vocab_size, 8, d_model=16)
    clone.load_state_dict(torch.load(path, weights_only=True))
    ids = data[:8][None]
    assert torch.equal(clone(ids), model(ids))


def test_train_tiny_transformer_uses_the_config() -> None:
    run = train_tiny_transformer(SHORT, progress=False)
    assert len(run.losses) == 5 and math.isfinite(run.val_loss)
    assert run.model.block_size == SHORT.block_size
    assert len(run.train_ids) + len(run.val_ids) == 20_000
    assert len(run.val_ids) == 2_000  # the last 10%


def test_generate_length_and_validation() -> None:
    torch.manual_seed(0)
    tok = CharTokenizer.from_text("def f(x): return x")
    model = TinyTransformer(tok.vocab_size, block_size=4, d_model=8)
    prompt = torch.tensor(tok.encode("def"))
    out = generate(model, prompt, 10, generator=torch.Generator().manual_seed(0))
    assert out.shape == (13,) and tok.decode(out[:3]) == "def"
    assert model.training  # generate restores train mode
    with pytest.raises(ValueError, match="temperature > 0"):
        generate(model, prompt, 1, temperature=0.0)


# ----------------------------------------------------------- page claims
def test_page_chance_loss_is_ln_96() -> None:
    """reference/pytorch: "96 characters ... chance level ln 96 = 4.564"; the loss block prints
    tensor(4.5643) for equal logits."""
    assert f"{math.log(96):.3f}" == "4.564"
    logits = torch.zeros(4, 96)  # a uniform guess
    y = torch.tensor([3, 14, 15, 92])
    loss = F.cross_entropy(logits, y)
    assert math.isclose(loss.item(), math.log(96), rel_tol=1e-6)
    assert f"{loss.item():.4f}" == "4.5643"


def test_page_corpus_and_vocabulary() -> None:
    """reference/pytorch: "the first megabyte of the Python standard library's own source";
    "96 characters here (newline, space and the 94 printable ASCII characters)"; the data block
    prints "1000000 96" and two [2, 16] batches."""
    text = load_corpus("stdlib")
    tok = CharTokenizer.from_text(text)
    assert len(text.encode("utf-8")) == len(text) == 1_000_000
    assert tok.vocab_size == 96
    printable = {chr(c) for c in range(0x21, 0x7F)}
    assert len(printable) == 94 and set(tok.chars) == printable | {" ", "\n"}


def test_page_adamw_defaults() -> None:
    """reference/pytorch: "PyTorch's defaults are beta_1, beta_2 = 0.9, 0.999, epsilon = 1e-8 and
    lambda = 0.01; the guide's runs use nanoGPT's beta_2 = 0.99 and lambda = 0.1"."""
    opt = torch.optim.AdamW([torch.zeros(1, requires_grad=True)])
    group = opt.param_groups[0]
    assert group["betas"] == (0.9, 0.999)
    assert group["eps"] == 1e-8 and group["weight_decay"] == 0.01
    assert TrainConfig.betas == (0.9, 0.99) and TrainConfig.weight_decay == 0.1


def test_page_config() -> None:
    """reference/pytorch: the page's settings (PAGE_CONFIG, shown) and the defaults it keeps:
    "AdamW with beta = (0.9, 0.99), weight decay 0.1 on the matrices, gradients clipped to
    norm 1, and the standard library's first megabyte"."""
    c = PAGE_CONFIG
    assert (c.iters, c.batch_size, c.block_size) == (200, 32, 32)
    assert (c.n_layers, c.n_heads, c.d_model) == (1, 4, 48)
    assert (c.max_lr, c.min_lr, c.warmup_iters, c.seed) == (3e-3, 3e-4, 20, 0)
    assert c.betas == (0.9, 0.99) and c.weight_decay == 0.1 and c.grad_clip == 1.0
    assert (c.corpus, c.max_bytes) == ("stdlib", 1_000_000)


def test_page_one_hot_target_equals_ids() -> None:
    """reference/pytorch: "a one-hot float target gives the same loss as
    the ids"."""
    torch.manual_seed(0)
    logits = torch.randn(6, 10)
    y = torch.randint(10, (6,))
    one_hot = F.one_hot(y, 10).float()
    assert torch.allclose(F.cross_entropy(logits, one_hot), F.cross_entropy(logits, y))


def test_page_first_loss_near_chance(page_run) -> None:
    """reference/pytorch: "The first loss is within 0.05 of ln 96"."""
    assert page_run.tokenizer.vocab_size == 96
    assert abs(page_run.losses[0] - math.log(96)) < 0.05


def test_page_loss_falls_below_bound(page_run) -> None:
    """reference/pytorch: "after 200 steps the mean of the last 20
    training losses and the held-out loss are both below 2.6 nats"."""
    losses = page_run.losses
    assert len(losses) == 200
    assert sum(losses[-20:]) / 20 < LOSS_BOUND
    assert page_run.val_loss < LOSS_BOUND


def test_page_parameter_count(page_run) -> None:
    """reference/pytorch: "4 heads, 34,512 parameters" (and the Modules block prints 34512)."""
    torch.manual_seed(0)
    model = TinyTransformer(96, PAGE_CONFIG.block_size)
    assert sum(p.numel() for p in model.parameters()) == 34512
    assert sum(p.numel() for p in page_run.model.parameters()) == 34512


def test_page_zero_grad_accumulation_numbers() -> None:
    """reference/pytorch: the gradient of w*x at w=1, x=3 is 3, then 6
    without zero_grad, and 3 again after it."""
    w = torch.tensor(1.0, requires_grad=True)
    grads = []
    for _ in range(2):
        (w * 3.0).backward()
        grads.append(w.grad.item())
    w.grad = None
    (w * 3.0).backward()
    grads.append(w.grad.item())
    assert grads == [3.0, 6.0, 3.0]


def test_page_dropout_train_vs_eval() -> None:
    """reference/pytorch: dropout zeroes about p of the entries and scales
    the rest by 1/(1-p) in train mode; eval() makes it the identity."""
    torch.manual_seed(0)
    drop = torch.nn.Dropout(p=0.5)
    x = torch.ones(8)
    out = drop(x)
    assert set(out.tolist()) <= {0.0, 2.0}
    drop.eval()
    assert torch.equal(drop(x), x)


GOTCHAS = {
    "view": (
        "view size is not compatible with input tensor's size and stride "
        "(at least one dimension spans across two contiguous subspaces). "
        "Use .reshape(...) instead."
    ),
    "matmul": "mat1 and mat2 shapes cannot be multiplied (2x3 and 2x3)",
    "inplace": (
        "one of the variables needed for gradient computation has been "
        "modified by an inplace operation: [torch.FloatTensor [3]], which "
        "is output 0 of Exp, is at version 1; expected version 0 instead."
    ),
    "leaf": ("a leaf Variable that requires grad is being used in an in-place operation."),
    "ce_shape": "Expected target size [2, 10], got [2, 5]",
    "ce_dtype": "expected target dtype to be Long or Byte, but got Float",
}


def _gotcha(name: str) -> None:
    torch.manual_seed(0)
    if name == "view":
        x = torch.arange(6.0).reshape(2, 3)
        x.T.view(6)
    elif name == "matmul":
        torch.ones(2, 3) @ torch.ones(2, 3)
    elif name == "inplace":
        a = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
        b = a.exp()
        b += 1
        b.sum().backward()
    elif name == "leaf":
        w = torch.ones(3, requires_grad=True)
        w += 1
    elif name == "ce_shape":
        F.cross_entropy(torch.randn(2, 5, 10), torch.randint(10, (2, 5)))
    elif name == "ce_dtype":
        F.cross_entropy(torch.randn(10, 10), torch.randint(10, (10,)).float())


@pytest.mark.parametrize("name", sorted(GOTCHAS))
def test_page_gotcha_errors(name: str) -> None:
    """reference/pytorch: each gotcha block's "RuntimeError: ..." line."""
    with pytest.raises(RuntimeError, match=re.escape(GOTCHAS[name])):
        _gotcha(name)


def test_page_probabilities_as_input_is_silently_wrong() -> None:
    """reference/pytorch: passing probabilities where logits belong raises
    no error: the loss is 0.574 instead of 0.036."""
    logits = torch.tensor([[4.0, 0.0, 0.0]])
    y = torch.tensor([0])
    right = F.cross_entropy(logits, y)
    wrong = F.cross_entropy(logits.softmax(-1), y)
    assert f"{right.item():.3f}" == "0.036"
    assert f"{wrong.item():.3f}" == "0.574"


def test_demo_runs(capsys: pytest.CaptureFixture[str]) -> None:
    from transformer_atlas.demos.reference import pytorch as demo

    demo.main(SHORT)  # the page's run is above
    out = capsys.readouterr().out
    assert "x [batch, block_size] = [2, 16]" in out
    assert "held-out loss" in out and "sample" in out
    assert "loss at chance: ln(" in out and "parameters; logits" in out


def test_benchmark_runs_and_reports() -> None:
    """The benchmark behind the page's "a few seconds": keys and report, never the numbers."""
    from transformer_atlas import benchmarks

    bench = benchmarks.load("pytorch")
    results = bench.run(quick=True)
    for key in ("iters", "n_params", "runs", "seconds", "best_s", "step", "last_loss", "val_loss"):
        assert key in results
    assert results["iters"] == 10 and isinstance(results["best_s"], float)
    assert {"median_ms", "n"} <= set(results["step"])
    text = bench.report(results)
    assert "| whole run" in text and "ms |" in text


def test_page_named_parameters_and_head_split() -> None:
    """reference/pytorch: the first four named parameters printed, and the
    head split's shape, contiguity and round trip."""
    torch.manual_seed(0)
    model = TinyTransformer(vocab_size=96, block_size=32)
    first = [(n, tuple(p.shape)) for n, p in model.named_parameters()][:4]
    assert first == [
        ("pos", (32, 48)),
        ("embed.weight", (96, 48)),
        ("blocks.0.ln_1.gamma", (48,)),
        ("blocks.0.ln_1.beta", (48,)),
    ]
    h = torch.randn(2, 3, 8)
    heads = h.view(2, 3, 4, 2).transpose(1, 2)
    assert heads.shape == (2, 4, 3, 2) and not heads.is_contiguous()
    assert torch.equal(heads.transpose(1, 2).reshape(2, 3, 8), h)
    assert (heads @ heads.transpose(-2, -1)).shape == (2, 4, 3, 3)
