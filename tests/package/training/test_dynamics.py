"""Training dynamics against oracles we did not write.

* ``AdamW`` vs ``torch.optim.AdamW`` (``foreach=False`` and the default), step for step: random
  gradients in several param groups (one with weight decay 0), a small transformer trained on
  random tokens, with a torch LR scheduler, and across ``state_dict`` / ``load_state_dict`` in
  both directions; with weight decay 0 it is the Adam update of ``perceptron.adam_update``.
* ``weight_decay_groups`` vs nanoGPT's rule (``configure_optimizers``, transcribed).
* ``warmup_cosine`` vs torch's ``SequentialLR(LinearLR, CosineAnnealingLR, ConstantLR)`` and vs
  nanoGPT's ``get_lr`` (transcribed), every step of several settings.
* ``clip_grad_norm`` vs ``torch.nn.utils.clip_grad_norm_`` (hypothesis over shapes and scales).
* ``residual_std_by_depth`` vs the closed form "variances of independent additions add".
* ``autocast_report`` and the number formats vs ``torch.finfo``.
* Then every number ``docs/training/dynamics.md`` states ("page claims").
"""

from __future__ import annotations

import copy
import itertools
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from transformer_atlas.blocks.attention import scaled_dot_product_attention
from transformer_atlas.common.data import CharTokenizer, get_batch, load_corpus
from transformer_atlas.families.decoder_only import GPT, baby_gpt_config
from transformer_atlas.foundations.neural_networks import adam_update
from transformer_atlas.foundations.probability import cross_entropy, perplexity
from transformer_atlas.reference.pytorch import TinyTransformer
from transformer_atlas.training.attention_backward import attention_backward
from transformer_atlas.training.dynamics import (
    AdamW,
    autocast_report,
    clip_grad_norm,
    residual_std_by_depth,
    warmup_cosine,
    warmup_cosine_scheduler,
    weight_decay_groups,
)

TOL = {"rtol": 0.0, "atol": 1e-6}
BABY_GPT = {"max_lr": 1e-3, "min_lr": 1e-4, "warmup_steps": 100, "total_steps": 2000}


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny matrices: one thread is fastest and immune to other processes on the cores."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _tiny_model(seed: int = 0, vocab: int = 20) -> TinyTransformer:
    """A one-block transformer LM. Its key bias is frozen: softmax ignores a constant added to
    a row of scores, so that bias's true gradient is exactly 0 and autograd returns rounding noise
    (~1e-10), which Adam divides by its own size and turns into full-size steps. Noise is not
    comparable between two runs; every other parameter gets a real gradient."""
    torch.manual_seed(seed)
    model = TinyTransformer(vocab, block_size=8, d_model=16, n_heads=2, n_layers=1)
    model.blocks[0].attn.b_k.requires_grad_(False)
    return model


# ============================================================================= AdamW
def _groups(params: list[torch.Tensor]) -> list[dict]:
    """Three param groups: the default options, weight decay 0, and other lr and betas."""
    return [
        {"params": params[:2]},
        {"params": params[2:3], "weight_decay": 0.0},
        {"params": params[3:], "lr": 3e-2, "betas": (0.8, 0.95), "eps": 1e-6},
    ]


@pytest.mark.parametrize("foreach", [False, None])
def test_adamw_matches_torch_with_param_groups(foreach: bool | None) -> None:
    gen = _gen(0)
    shapes = [(5, 3), (3,), (4, 4), (2, 3, 2), (7,)]
    start = [torch.randn(*s, generator=gen) for s in shapes]
    ours = [p.clone().requires_grad_() for p in start]
    theirs = [p.clone().requires_grad_() for p in start]
    opt = AdamW(_groups(ours), lr=1e-2, weight_decay=0.1)
    ref = torch.optim.AdamW(_groups(theirs), lr=1e-2, weight_decay=0.1, foreach=foreach)
    for step in range(50):
        for i, (a, b) in enumerate(zip(ours, theirs)):
            if step % 7 == 3 and i == 1:  # now and then a parameter gets no gradient
                a.grad = b.grad = None
                continue
            g = torch.randn(a.shape, generator=gen) * 10.0 ** (i - 2)  # scales 1e-2 .. 1e2
            a.grad, b.grad = g.clone(), g.clone()
        opt.step()
        ref.step()
        for a, b in zip(ours, theirs):
            torch.testing.assert_close(a, b, **TOL)
    for a, b in zip(ours, theirs):  # the moments too, under torch's names
        sa, sb = opt.state[a], ref.state[b]
        assert int(sa["step"]) == int(sb["step"])
        for key in ("exp_avg", "exp_avg_sq"):  # float32 rounding, relative to the moment's size
            assert (sa[key] - sb[key]).abs().max() <= 1e-6 * sb[key].abs().max()


def _train_pair(
    steps: int, make_opt, make_ref, scheduler=None, seed: int = 0
) -> tuple[nn.Module, nn.Module, torch.optim.Optimizer, torch.optim.Optimizer]:
    """Train two copies of a small transformer, one with each optimizer, on the same batches."""
    model = _tiny_model(seed)
    twin = copy.deepcopy(model)
    opt, ref = make_opt(model), make_ref(twin)
    scheds = [scheduler(o) for o in (opt, ref)] if scheduler else []
    gen = _gen(seed + 1)
    for _ in range(steps):
        ids = torch.randint(0, 20, (4, 8), generator=gen)
        for m, o in ((model, opt), (twin, ref)):
            o.zero_grad()
            logits = m(ids[:, :-1])
            F.cross_entropy(logits.reshape(-1, 20), ids[:, 1:].reshape(-1)).backward()
            o.step()
        for s in scheds:
            s.step()
    return model, twin, opt, ref


def _assert_same_params(a: nn.Module, b: nn.Module, atol: float = 1e-6) -> None:
    for (name, p), q in zip(a.named_parameters(), b.parameters()):
        torch.testing.assert_close(p, q, rtol=0.0, atol=atol, msg=name)


@pytest.mark.parametrize("foreach", [False, None])
def test_adamw_trains_a_transformer_like_torch(foreach: bool | None) -> None:
    model, twin, _, _ = _train_pair(
        50,
        lambda m: AdamW(weight_decay_groups(m, 0.1), lr=3e-3, betas=(0.9, 0.95)),
        lambda m: torch.optim.AdamW(
            weight_decay_groups(m, 0.1), lr=3e-3, betas=(0.9, 0.95), foreach=foreach
        ),
    )
    _assert_same_params(model, twin)
    moved = [(p - q).abs().max() for p, q in zip(model.parameters(), _tiny_model(0).parameters())]
    assert max(moved) > 0.05  # it did train


def test_adamw_with_torch_scheduler_matches_torch() -> None:
    sched = {"min_lr": 1e-4, "warmup_steps": 5, "total_steps": 25}
    model, twin, opt, _ = _train_pair(
        30,
        lambda m: AdamW(m.parameters(), lr=1e-2),
        lambda m: torch.optim.AdamW(m.parameters(), lr=1e-2, foreach=False),
        scheduler=lambda o: warmup_cosine_scheduler(o, **sched),
    )
    _assert_same_params(model, twin)
    assert opt.param_groups[0]["lr"] == pytest.approx(1e-4)  # the scheduler drove our optimizer


@pytest.mark.parametrize("direction", ["ours-to-torch", "torch-to-ours"])
def test_adamw_state_dict_moves_between_ours_and_torch(direction: str) -> None:
    """Save after 20 steps, load into the other class, train 20 more: same as never switching."""
    kinds = {
        "ours": lambda m: AdamW(weight_decay_groups(m, 0.1), lr=5e-3),
        "torch": lambda m: torch.optim.AdamW(weight_decay_groups(m, 0.1), lr=5e-3, foreach=False),
    }
    first, second = direction.split("-to-")
    model, twin, opt, _ = _train_pair(20, kinds[first], kinds[first])
    moved = kinds[second](twin)
    moved.load_state_dict(copy.deepcopy(opt.state_dict()))
    gen = _gen(7)
    for _ in range(20):
        ids = torch.randint(0, 20, (4, 8), generator=gen)
        for m, o in ((model, opt), (twin, moved)):
            o.zero_grad()
            F.cross_entropy(m(ids[:, :-1]).reshape(-1, 20), ids[:, 1:].reshape(-1)).backward()
            o.step()
    _assert_same_params(model, twin)


def test_adamw_without_decay_is_the_adam_update_of_the_foundations_page() -> None:
    """foundations/neural-networks' NumPy ``adam_update`` is AdamW with weight_decay = 0."""
    gen = np.random.default_rng(0)
    theta0 = gen.normal(size=(3, 4))
    theta = torch.tensor(theta0, requires_grad=True)
    opt = AdamW([theta], lr=0.05, weight_decay=0.0)
    ref, m, v = theta0, np.zeros_like(theta0), np.zeros_like(theta0)
    for t in range(1, 21):
        g = gen.normal(size=(3, 4))
        theta.grad = torch.tensor(g)
        opt.step()
        ref, m, v = adam_update(ref, g, m, v, t, lr=0.05)
    np.testing.assert_allclose(theta.detach().numpy(), ref, rtol=1e-12, atol=1e-12)


def test_adamw_weight_decay_is_decoupled() -> None:
    """With a zero gradient, one step only shrinks theta by the factor (1 - lr * lambda)."""
    theta = torch.tensor([1.0, -2.0], requires_grad=True)
    theta.grad = torch.zeros(2)
    AdamW([theta], lr=0.1, weight_decay=0.5).step()
    torch.testing.assert_close(theta.detach(), torch.tensor([0.95, -1.9]))


def test_adamw_closure_returns_the_loss() -> None:
    theta = torch.tensor([3.0], requires_grad=True)
    opt = AdamW([theta], lr=0.1)

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = (theta**2).sum()
        loss.backward()
        return loss

    assert float(opt.step(closure).detach()) == 9.0
    assert float(theta.detach()) < 3.0


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"lr": -1.0}, "lr must lie in"),
        ({"betas": (1.0, 0.999)}, r"betas\[0\] must lie in"),
        ({"betas": (0.9, -0.1)}, r"betas\[1\] must lie in"),
        ({"eps": -1e-8}, "eps must lie in"),
        ({"weight_decay": -0.1}, "weight_decay must lie in"),
    ],
)
def test_adamw_rejects_bad_hyperparameters(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        AdamW([torch.zeros(1, requires_grad=True)], **kwargs)


# ============================================================================= weight-decay groups
def _nanogpt_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    """nanoGPT's ``GPT.configure_optimizers``, its grouping lines transcribed."""
    param_dict = {pn: p for pn, p in model.named_parameters()}
    param_dict = {pn: p for pn, p in param_dict.items() if p.requires_grad}
    decay_params = [p for n, p in param_dict.items() if p.dim() >= 2]
    nodecay_params = [p for n, p in param_dict.items() if p.dim() < 2]
    return [
        {"params": decay_params, "weight_decay": weight_decay},
        {"params": nodecay_params, "weight_decay": 0.0},
    ]


class _Mixed(nn.Module):
    """An embedding, a tied output layer, a LayerNorm, a biased Linear and a frozen matrix."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(10, 6)
        self.norm = nn.LayerNorm(6)
        self.proj = nn.Linear(6, 6)
        self.head = nn.Linear(6, 10, bias=False)
        self.head.weight = self.embed.weight  # tied
        self.frozen = nn.Parameter(torch.zeros(6, 6), requires_grad=False)


@pytest.mark.parametrize("make", [_Mixed, lambda: _tiny_model(0)])
def test_weight_decay_groups_follow_nanogpt(make) -> None:
    model = make()
    ours, theirs = weight_decay_groups(model, 0.1), _nanogpt_groups(model, 0.1)
    for a, b in zip(ours, theirs):
        assert a["weight_decay"] == b["weight_decay"]
        assert [id(p) for p in a["params"]] == [id(p) for p in b["params"]]
    trainable = [p for p in model.parameters() if p.requires_grad]
    assert sum(len(g["params"]) for g in ours) == len(trainable)  # a partition, tied weight once


def test_weight_decay_groups_decay_matrices_not_biases_or_gains() -> None:
    model = _Mixed()
    decay, no_decay = weight_decay_groups(model, 0.1)

    def ids(ps):
        return {id(p) for p in ps}

    assert ids(decay["params"]) == ids([model.embed.weight, model.proj.weight])
    assert ids(no_decay["params"]) == ids([model.norm.weight, model.norm.bias, model.proj.bias])
    with pytest.raises(ValueError, match="weight_decay must lie in"):
        weight_decay_groups(model, -1.0)


# ============================================================================= the schedule
def _nanogpt_get_lr(
    it: int, learning_rate: float, min_lr: float, warmup_iters: int, lr_decay_iters: int
) -> float:
    """nanoGPT's ``train.py`` ``get_lr``, transcribed."""
    if it < warmup_iters:
        return learning_rate * (it + 1) / (warmup_iters + 1)
    if it > lr_decay_iters:
        return min_lr
    decay_ratio = (it - warmup_iters) / (lr_decay_iters - warmup_iters)
    assert 0 <= decay_ratio <= 1
    coeff = 0.5 * (1.0 + math.cos(math.pi * decay_ratio))
    return min_lr + coeff * (learning_rate - min_lr)


SCHEDULES = [
    BABY_GPT,
    {"max_lr": 6e-4, "min_lr": 6e-5, "warmup_steps": 10, "total_steps": 60},
    {"max_lr": 1.0, "min_lr": 0.0, "warmup_steps": 3, "total_steps": 7},
    {"max_lr": 1e-3, "min_lr": 1e-4, "warmup_steps": 1, "total_steps": 20},
    {"max_lr": 2e-3, "min_lr": 2e-4, "warmup_steps": 0, "total_steps": 30},
    {"max_lr": 5e-4, "min_lr": 5e-4, "warmup_steps": 4, "total_steps": 9},
]


@pytest.mark.parametrize("s", SCHEDULES, ids=lambda s: "-".join(map(str, s.values())))
def test_warmup_cosine_equals_torch_schedulers_every_step(s: dict) -> None:
    param = nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([param], lr=s["max_lr"])
    scheduler = warmup_cosine_scheduler(
        optimizer, min_lr=s["min_lr"], warmup_steps=s["warmup_steps"], total_steps=s["total_steps"]
    )
    for step in range(s["total_steps"] + 50):
        ours = warmup_cosine(step, **s)
        torch_lr = optimizer.param_groups[0]["lr"]
        assert ours == pytest.approx(torch_lr, rel=1e-12, abs=1e-15 * s["max_lr"]), step
        nano = _nanogpt_get_lr(step, s["max_lr"], s["min_lr"], s["warmup_steps"], s["total_steps"])
        assert ours == pytest.approx(nano, rel=1e-15, abs=1e-18), step
        optimizer.step()
        scheduler.step()


def test_warmup_cosine_shape() -> None:
    lrs = [warmup_cosine(t, **BABY_GPT) for t in range(2101)]
    assert lrs[100] == 1e-3 and lrs[2000] == pytest.approx(1e-4, rel=1e-12)
    assert all(a < b for a, b in itertools.pairwise(lrs[:101]))  # rises during warm-up
    assert all(a >= b for a, b in itertools.pairwise(lrs[100:2001]))  # falls during decay
    assert set(lrs[2001:]) == {1e-4}  # then flat
    assert lrs[1050] == pytest.approx((1e-3 + 1e-4) / 2)  # half-way: the mid-point


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"max_lr": 1e-4, "min_lr": 1e-3}, "min_lr <= max_lr"),
        ({"warmup_steps": 10, "total_steps": 10}, "warmup_steps < total_steps"),
        ({"warmup_steps": -1}, "0 <= warmup_steps"),
    ],
)
def test_warmup_cosine_rejects_bad_settings(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        warmup_cosine(0, **{**BABY_GPT, **kwargs})
    with pytest.raises(ValueError, match="step counts from 0"):
        warmup_cosine(-1, **BABY_GPT)


def test_warmup_cosine_scheduler_needs_one_lr() -> None:
    a, b = nn.Parameter(torch.zeros(1)), nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.5}], lr=1.0)
    with pytest.raises(ValueError, match="share one lr"):
        warmup_cosine_scheduler(optimizer, min_lr=0.1, warmup_steps=2, total_steps=5)


# ============================================================================= clipping
def _grad_params(shapes: list[tuple[int, ...]], scale: float, seed: int) -> list[torch.Tensor]:
    gen = _gen(seed)
    params = []
    for shape in shapes:
        p = torch.zeros(shape, requires_grad=True)
        p.grad = torch.randn(shape, generator=gen) * scale
        params.append(p)
    return params


@settings(max_examples=40, deadline=None)
@given(
    shapes=st.lists(
        st.lists(st.integers(1, 5), min_size=1, max_size=3).map(tuple), min_size=1, max_size=4
    ),
    scale=st.sampled_from([1e-4, 0.1, 1.0, 10.0, 1e3]),
    max_norm=st.sampled_from([0.01, 0.5, 1.0, 5.0]),
    seed=st.integers(0, 1000),
)
def test_clip_grad_norm_matches_torch(shapes, scale, max_norm, seed) -> None:
    ours = _grad_params(shapes, scale, seed)
    theirs = _grad_params(shapes, scale, seed)
    total = clip_grad_norm(ours, max_norm)
    total_ref = torch.nn.utils.clip_grad_norm_(theirs, max_norm)
    torch.testing.assert_close(total, total_ref, rtol=1e-6, atol=0.0)
    for a, b in zip(ours, theirs):
        torch.testing.assert_close(a.grad, b.grad, rtol=1e-6, atol=1e-12)
    after = torch.cat([p.grad.flatten() for p in ours]).norm()
    assert after <= max_norm * (1 + 1e-5) or after == pytest.approx(float(total), rel=1e-6)


def test_clip_grad_norm_edge_cases() -> None:
    # a single tensor; parameters without a gradient are skipped
    p, q = torch.zeros(3, requires_grad=True), torch.zeros(2, requires_grad=True)
    p.grad = torch.tensor([3.0, 4.0, 0.0])
    assert float(clip_grad_norm([p, q], 1.0)) == 5.0
    torch.testing.assert_close(p.grad, torch.tensor([0.6, 0.8, 0.0]), rtol=1e-6, atol=0)
    assert float(clip_grad_norm(p, 10.0)) == pytest.approx(1.0, rel=1e-6)
    assert float(clip_grad_norm([q], 1.0)) == 0.0  # no gradients at all
    # a non-finite gradient: the same (NaN-filled) result as torch
    a, b = torch.zeros(2, requires_grad=True), torch.zeros(2, requires_grad=True)
    a.grad, b.grad = torch.tensor([1.0, float("inf")]), torch.tensor([1.0, float("inf")])
    assert torch.isinf(clip_grad_norm([a], 1.0))
    torch.nn.utils.clip_grad_norm_([b], 1.0)
    torch.testing.assert_close(a.grad, b.grad, equal_nan=True)
    with pytest.raises(ValueError, match="max_norm must be a finite number > 0"):
        clip_grad_norm([p], 0.0)


# ============================================================================= initialization
def test_residual_variance_grows_linearly_with_depth() -> None:
    """Each residual add contributes d * s^2 of variance: Var_N = Var_0 + 2 N d s^2."""
    d, s = 256, 0.02
    for n in (4, 16):
        stds = residual_std_by_depth(n, d_model=d, std=s, n_tokens=64)
        var = stds**2
        expected = var[0] + 2 * torch.arange(n + 1) * d * s**2
        torch.testing.assert_close(var, expected.float(), rtol=0.06, atol=0.0)


def test_scaled_init_makes_the_final_std_independent_of_depth() -> None:
    d, s = 256, 0.02
    finals = [
        float(residual_std_by_depth(n, d, s, scaled=True, n_tokens=64)[-1]) for n in (2, 8, 32)
    ]
    theory = math.sqrt(s**2 + d * s**2)
    assert finals == pytest.approx([theory] * 3, rel=0.05)


def test_residual_std_by_depth_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="must be positive"):
        residual_std_by_depth(0)
    with pytest.raises(ValueError, match="std must be a finite number > 0"):
        residual_std_by_depth(2, std=0.0)


# ============================================================================= mixed precision
def _baby_model_and_ids() -> tuple[nn.Module, torch.Tensor]:
    torch.manual_seed(0)
    model = TinyTransformer(65, block_size=32, d_model=64, n_heads=4, n_layers=2).eval()
    return model, torch.randint(0, 65, (4, 32), generator=_gen(1))


def test_autocast_report_bf16() -> None:
    model, ids = _baby_model_and_ids()
    report = autocast_report(model, ids)
    assert report.output_dtype == torch.bfloat16
    assert 1e-4 < report.rel_error < 3e-2  # bf16 keeps 8 significant bits: errors of ~1e-2
    assert "matmul" in report.low_ops  # matrix products ran in bf16
    assert "exp" in report.low_ops  # our softmax followed its bf16 input
    assert "add" in report.fp32_ops  # x @ W + b with an fp32 b: promoted to fp32
    assert not ({"view", "transpose"} & set(report.low_ops + report.fp32_ops))
    report32 = autocast_report(model, ids, dtype=torch.float16)
    assert report32.output_dtype == torch.float16 and "matmul" in report32.low_ops


def _exponent_and_mantissa_bits(dtype: torch.dtype) -> tuple[int, int]:
    """From torch.finfo alone: eps = 2^-mantissa, max ~ 2^(2^(e-1))."""
    info = torch.finfo(dtype)
    mantissa = round(-math.log2(info.eps))
    exponent = round(math.log2(math.log2(info.max) + 1)) + 1
    assert 1 + exponent + mantissa == info.bits
    return exponent, mantissa


# ============================================================================= page claims
def test_claim_chance_level_loss_is_ln_vocab() -> None:
    """training/dynamics: "its loss is ln V ...: ln 65 = 4.17 nats for 65 characters. GPT-2's
    initialization makes the logits small, so an untrained model starts there" (the page's
    example prints a loss close to 4.17 and a perplexity close to 65; checked for three seeds,
    within 0.06 and 4)."""
    assert math.log(65) == pytest.approx(4.174, abs=5e-4)
    uniform = torch.zeros(8, 65)
    targets = torch.randint(0, 65, (8,), generator=_gen(0))
    assert float(cross_entropy(uniform, targets)) == pytest.approx(math.log(65), rel=1e-6)
    assert float(perplexity(uniform, targets)) == pytest.approx(65.0, rel=1e-5)
    for seed in range(3):
        torch.manual_seed(seed)
        ids = torch.randint(0, 65, (8, 65))
        with torch.no_grad():
            logits = GPT(baby_gpt_config(vocab_size=65))(ids[:, :-1])
        assert abs(float(cross_entropy(logits, ids[:, 1:])) - math.log(65)) < 0.06
        assert abs(float(perplexity(logits, ids[:, 1:])) - 65) < 4


def test_claim_tied_embeddings_start_below_chance_on_text() -> None:
    """training/dynamics: "On real text the first loss can sit a little below ln V: with the output
    layer tied to the embedding, an untrained model slightly favours repeating the current token,
    which is right more often than chance in text with runs of spaces"."""
    text = load_corpus("stdlib")
    tok = CharTokenizer.from_text(text)
    data = torch.tensor(tok.encode(text))
    x, y = get_batch(data, 16, 64, _gen(0))
    v = tok.vocab_size
    assert float((x == y).float().mean()) > 5 / v  # repeats are far more common than chance
    losses = {}
    for tie in (True, False):
        torch.manual_seed(0)
        model = GPT(baby_gpt_config(v, tie_embeddings=tie))
        with torch.no_grad():
            logits = model(x)
        losses[tie] = float(cross_entropy(logits, y))
        if tie:  # the probability of "next = current" is above 1 / V
            p_same = logits.softmax(-1).gather(-1, x[..., None]).mean()
            assert float(p_same) > 2 / v
    assert losses[True] < math.log(v) < losses[False]


def test_claim_baby_gpt_schedule_values() -> None:
    """training/dynamics: the schedule table: step 0 -> 9.9e-6, step 99 -> 9.9e-4 (1e-3 *
    100/101), step 100 -> 1e-3, step 1050 -> 5.5e-4, step 2000 and later -> 1e-4."""

    def lr(t):
        return warmup_cosine(t, **BABY_GPT)

    assert lr(0) == pytest.approx(9.90e-6, rel=1e-3)
    assert lr(99) == pytest.approx(9.90e-4, rel=1e-3)
    assert lr(100) == 1e-3
    assert lr(1050) == pytest.approx(5.5e-4, rel=1e-12)
    assert lr(2000) == pytest.approx(1e-4) and lr(2500) == 1e-4


def test_claim_float_formats() -> None:
    """training/dynamics: the table of formats: FP16 has 5 exponent and 10 mantissa bits, max
    65504 (6.5e4), eps 9.8e-4; BF16 has 8 and 7, max 3.39e38, eps 7.8e-3; FP32 8 and 23, max
    3.40e38, eps 1.2e-7; BF16 has "8 significant bits" (7 stored + the implicit one)."""
    assert _exponent_and_mantissa_bits(torch.float16) == (5, 10)
    assert _exponent_and_mantissa_bits(torch.bfloat16) == (8, 7)
    assert 2 < (7 + 1) * math.log10(2) < 3  # "8 significant bits, two to three decimal digits"
    assert _exponent_and_mantissa_bits(torch.float32) == (8, 23)
    assert torch.finfo(torch.float16).max == 65504.0
    assert torch.finfo(torch.bfloat16).max == pytest.approx(3.39e38, rel=1e-3)
    assert torch.finfo(torch.float32).max == pytest.approx(3.40e38, rel=1e-3)
    assert torch.finfo(torch.float16).eps == pytest.approx(9.8e-4, rel=1e-2)
    assert torch.finfo(torch.bfloat16).eps == pytest.approx(7.8e-3, rel=1e-2)
    assert torch.finfo(torch.float32).eps == pytest.approx(1.2e-7, rel=1e-2)
    assert torch.finfo(torch.float16).tiny == pytest.approx(6.1e-5, rel=1e-2)
    assert torch.finfo(torch.bfloat16).tiny == torch.finfo(torch.float32).tiny
    assert torch.finfo(torch.float32).tiny == pytest.approx(1.2e-38, rel=1e-2)


def test_claim_fp16_overflow_and_underflow_and_loss_scaling() -> None:
    """training/dynamics: "a gradient below about 6e-8 becomes 0" in FP16 (1e-8 prints
    tensor(0., dtype=torch.float16)); scaled by 2^16 it survives and comes back as 9.9972e-09;
    70000 is inf in fp16 and 70144 in bf16."""
    assert torch.finfo(torch.float16).smallest_normal * 2.0**-10 == pytest.approx(6e-8, rel=0.01)
    g = torch.tensor(1e-8)
    assert str(g.half()) == "tensor(0., dtype=torch.float16)"
    assert str((g * 2.0**16).half().float() / 2.0**16) == "tensor(9.9972e-09)"
    assert str(torch.tensor(70000.0).half()) == "tensor(inf, dtype=torch.float16)"
    assert str(torch.tensor(70000.0).bfloat16()) == "tensor(70144., dtype=torch.bfloat16)"


def test_claim_master_weights() -> None:
    """training/dynamics: the master-weights block prints tensor(1., dtype=torch.bfloat16) and
    tensor(1.0001): in BF16 the update is lost; "a 16-bit format ... half the memory"."""
    assert torch.finfo(torch.bfloat16).bits * 2 == torch.finfo(torch.float32).bits
    w = torch.tensor(1.0, dtype=torch.bfloat16)
    assert str(w + 1e-4) == "tensor(1., dtype=torch.bfloat16)"
    assert str(torch.tensor(1.0) + 1e-4) == "tensor(1.0001)"


def test_claim_autocast_casts_by_operation() -> None:
    """training/dynamics: "on the CPU, autocast runs matrix products in bf16, runs cross-entropy in
    fp32, and leaves every other op in the dtype of its inputs"."""
    x, w = torch.randn(4, 8), torch.randn(8, 8)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert (x @ w).dtype == torch.bfloat16
        assert F.linear(x, w).dtype == torch.bfloat16
        assert (
            F.cross_entropy(x.bfloat16(), torch.zeros(4, dtype=torch.long)).dtype == torch.float32
        )
        assert torch.exp(x).dtype == torch.float32
        assert torch.exp(x.bfloat16()).dtype == torch.bfloat16


def test_claim_autocast_report_of_the_baby_gpt() -> None:
    """training/dynamics: "The logits come out in BF16 with a relative error below 1 %. The matrix
    products and attention ran in BF16 (and the GELU, which follows its input's type); the
    embedding lookups, the LayerNorms and the residual additions ran in FP32"."""
    torch.manual_seed(0)
    model = GPT(baby_gpt_config(vocab_size=65)).eval()
    report = autocast_report(model, torch.randint(0, 65, (8, 64), generator=_gen(0)))
    assert report.output_dtype == torch.bfloat16
    assert 1e-4 < report.rel_error < 0.01
    assert {"matmul", "scaled_dot_product_attention", "gelu"} <= set(report.low_ops)
    assert {"add", "embedding", "layer_norm"} <= set(report.fp32_ops)


def test_claim_bias_correction_fades() -> None:
    """training/dynamics: "after one step m_1 = (1 - beta1) g_1, a tenth of the gradient"; "for
    beta2 = 0.999 it matters for the first few thousand steps" (the correction factor
    1 / (1 - 0.999^t) is above 1.5 at t = 1000 and below 1.05 only after t = 3000)."""
    assert 1 - 0.9 == pytest.approx(0.1)
    assert 1 / (1 - 0.999**1000) > 1.5
    assert 1 / (1 - 0.999**2000) > 1.05 > 1 / (1 - 0.999**3100)


def test_claim_scheduler_block_on_the_page() -> None:
    """training/dynamics: the block comparing warmup_cosine with warmup_cosine_scheduler over 2100
    steps prints a largest difference "about 1e-17" (below 1e-16)."""
    sgd = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=1e-3)
    scheduler = warmup_cosine_scheduler(sgd, min_lr=1e-4, warmup_steps=100, total_steps=2000)
    largest = 0.0
    for step in range(2100):
        largest = max(largest, abs(warmup_cosine(step, **BABY_GPT) - sgd.param_groups[0]["lr"]))
        sgd.step()
        scheduler.step()
    assert 1e-18 < largest < 1e-16


def test_claim_clip_example() -> None:
    """training/dynamics: clipping [3, 4] and [12] to norm 1 prints tensor(13.),
    tensor([0.2308, 0.3077]) and tensor([0.9231])."""
    a, b = torch.zeros(2, requires_grad=True), torch.zeros(1, requires_grad=True)
    a.grad, b.grad = torch.tensor([3.0, 4.0]), torch.tensor([12.0])
    total = clip_grad_norm([a, b], max_norm=1.0)
    assert str(total) == "tensor(13.)"
    assert str(a.grad) == "tensor([0.2308, 0.3077])" and str(b.grad) == "tensor([0.9231])"


def test_claim_attention_backward_example() -> None:
    """training/dynamics: the float64 example prints three differences "of the order of 1e-16"."""
    torch.manual_seed(0)
    q, k, v, d_out = torch.randn(4, 2, 4, 6, 8, dtype=torch.float64)
    ours = attention_backward(q, k, v, d_out, is_causal=True)
    leaves = [t.clone().requires_grad_() for t in (q, k, v)]
    out, _ = scaled_dot_product_attention(*leaves, is_causal=True)
    auto = torch.autograd.grad(out, leaves, d_out)
    assert all(float((a - b).abs().max()) < 1e-14 for a, b in zip(ours, auto))


def test_claim_float_format_printout() -> None:
    """training/dynamics: the finfo loop prints these three lines."""
    lines = []
    for dtype in (torch.float16, torch.bfloat16, torch.float32):
        info = torch.finfo(dtype)
        lines.append(
            f"{dtype!s:15} max {info.max:9.3g}  smallest normal {info.tiny:9.3g}"
            f"  eps {info.eps:9.3g}"
        )
    assert lines == [
        "torch.float16   max  6.55e+04  smallest normal   6.1e-05  eps  0.000977",
        "torch.bfloat16  max  3.39e+38  smallest normal  1.18e-38  eps   0.00781",
        "torch.float32   max   3.4e+38  smallest normal  1.18e-38  eps  1.19e-07",
    ]


def test_claim_gpt2_init_numbers() -> None:
    """training/dynamics: the block prints "12 2.71 0.55" and "48 5.44 0.56"; with d_model = 768
    and std 0.02 one addition contributes d s^2 = 0.307; sqrt(24 * 0.307) = 2.7 after 12 blocks,
    5.4 after 48, "twice as much for four times the depth"; the scaled init ends at
    sqrt(0.307) = 0.55 for both."""
    assert 768 * 0.02**2 == pytest.approx(0.307, abs=5e-4)
    plain = residual_std_by_depth(48)
    printed = [
        (n, round(plain[n].item(), 2), round(residual_std_by_depth(n, scaled=True)[-1].item(), 2))
        for n in (12, 48)
    ]
    assert printed == [(12, 2.71, 0.55), (48, 5.44, 0.56)]
    assert float(plain[48] / plain[12]) == pytest.approx(2.0, rel=0.02)
    assert math.sqrt(0.02**2 + 2 * 12 * 0.3072) == pytest.approx(2.7, abs=0.05)
    assert math.sqrt(0.02**2 + 2 * 48 * 0.3072) == pytest.approx(5.4, abs=0.05)
    assert math.sqrt(0.02**2 + 0.3072) == pytest.approx(0.55, abs=0.01)


# ============================================================================= the demo
def test_demo_prints_every_part(capsys: pytest.CaptureFixture[str]) -> None:
    from transformer_atlas.demos.training.dynamics import main

    main()
    out = capsys.readouterr().out
    for part in range(1, 7):
        assert f"Part {part} - " in out
    assert "chance level ln V = ln 96 = 4.564" in out
    assert "step     0   lr 9.901e-06" in out and "step  1050   lr 5.500e-04" in out
    line = next(x for x in out.splitlines() if x.startswith("largest |theta_ours"))
    assert float(line.split(":")[1].split()[0]) < 1e-4  # our AdamW tracked torch's
    assert "dQ [2, 4, 6, 8]" in out and "dV [2, 4, 6, 8]" in out
    assert "12 blocks: std 0.02 -> 2.71;   std 0.02 / sqrt(2 * 12) -> 0.55" in out
    assert "output dtype torch.bfloat16" in out and "matmul" in out
