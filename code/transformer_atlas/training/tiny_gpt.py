"""Train a small GPT on a text file: the loop behind ``train gpt``.

``python -m transformer_atlas train gpt`` trains nanoGPT's "baby GPT"
(4 layers, 4 heads, 128 wide, a 64-character context) at the character
level on the Python standard library's own source, which needs no
download.

:func:`fit` is the guide's one training loop; every model that learns from
text here (this GPT, the PyTorch reference page's ``TinyTransformer``, the
embeddings page's model) is trained by it. One iteration::

    lr      = warmup_cosine(it)            # warm-up, then cosine decay
    x, y    = get_batch(train)             # [batch, block], y = x shifted
    loss    = cross_entropy(model(x), y)   # mean over batch * block tokens
    loss.backward()
    clip_grad_norm(params, 1.0)            # global norm <= 1
    AdamW step

:func:`train` wraps it: every ``eval_interval`` iterations it estimates
the train and validation loss on fixed batches and saves a checkpoint
(safetensors: weights, AdamW's moments, the random generators and the
history, so ``--resume`` continues exactly where it stopped). A run is
repeatable: the same seed gives the same losses on the same machine.
"""

from __future__ import annotations

# --8<-- [start:imports]
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from transformer_atlas.common.checkpoint import (
    load_checkpoint,
    save_checkpoint,
)
from transformer_atlas.common.data import (
    CharTokenizer,
    get_batch,
    load_corpus,
    split_train_val,
)
from transformer_atlas.common.timing import Laps
from transformer_atlas.families.decoder_only import (
    GPT,
    GPTConfig,
    baby_gpt_config,
)
from transformer_atlas.training.dynamics import (
    AdamW,
    clip_grad_norm,
    warmup_cosine,
    weight_decay_groups,
)

# --8<-- [end:imports]

__all__ = [
    "TrainConfig",
    "TrainResult",
    "learning_rate",
    "make_optimizer",
    "fit",
    "train",
    "estimate_loss",
    "load_model",
    "CHECKPOINT_NAME",
    "OPTIMIZERS",
    "TRAIN_CONFIG_HELP",
]

CHECKPOINT_NAME = "ckpt.safetensors"
#: "torch": fused torch.optim.AdamW (fast); "atlas": the guide's AdamW and
#: clip_grad_norm from training/dynamics, written out.
OPTIMIZERS = ("torch", "atlas")


# --8<-- [start:config]
@dataclass(frozen=True)
class TrainConfig:
    """A training run (defaults: nanoGPT's baby GPT for CPUs)."""

    corpus: str = "stdlib"  # "stdlib", "shakespeare" or a text file
    max_bytes: int = 1_000_000
    iters: int = 2000
    batch_size: int = 12
    block_size: int = 64
    n_layers: int = 4
    n_heads: int = 4
    d_model: int = 128
    dropout: float = 0.0
    max_lr: float = 1e-3
    min_lr: float = 1e-4
    warmup_iters: int = 100
    weight_decay: float = 0.1
    betas: tuple[float, float] = (0.9, 0.99)
    grad_clip: float = 1.0
    eval_interval: int = 250
    eval_iters: int = 20
    seed: int = 1337
    optimizer: str = "torch"  # one of OPTIMIZERS

    def __post_init__(self) -> None:
        for name in (
            "iters",
            "batch_size",
            "block_size",
            "eval_interval",
            "eval_iters",
            "max_bytes",
        ):
            if getattr(self, name) < 1:
                raise ValueError(
                    f"{name} must be >= 1, got {getattr(self, name)}"
                )
        if not 0 <= self.warmup_iters < self.iters:
            raise ValueError(
                f"warmup_iters must be in [0, iters={self.iters}), got "
                f"{self.warmup_iters}: lower it for a short run"
            )
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(
                f"optimizer must be one of {OPTIMIZERS}, "
                f"got {self.optimizer!r}"
            )

    def model_config(self, vocab_size: int) -> GPTConfig:
        """The :class:`GPTConfig` this run trains."""
        return baby_gpt_config(
            vocab_size,
            max_seq_len=self.block_size,
            n_layers=self.n_layers,
            n_heads=self.n_heads,
            d_model=self.d_model,
            dropout=self.dropout,
        )


# --8<-- [end:config]


#: What each :class:`TrainConfig` field means: the help text of the
#: matching ``train gpt`` option (the command line is built from the
#: fields, so every field is an option).
TRAIN_CONFIG_HELP = {
    "corpus": "stdlib (the standard library's source, no download), "
    "shakespeare (downloaded once, checksummed) or a text file",
    "max_bytes": "bytes of the corpus to use",
    "iters": "training iterations",
    "batch_size": "sequences per batch",
    "block_size": "context length in characters",
    "n_layers": "decoder blocks",
    "n_heads": "attention heads",
    "d_model": "width of the residual stream",
    "dropout": "dropout probability",
    "max_lr": "peak learning rate (after warm-up)",
    "min_lr": "final learning rate (end of the cosine decay)",
    "warmup_iters": "linear warm-up iterations",
    "weight_decay": "AdamW's decoupled weight decay (matrices only)",
    "betas": "AdamW's beta1 and beta2",
    "grad_clip": "clip the global gradient norm to this",
    "eval_interval": "evaluate and checkpoint every N iterations",
    "eval_iters": "batches per loss estimate",
    "seed": "random seed: same seed, same run",
    "optimizer": "torch: fused torch.optim.AdamW (fast); atlas: the "
    "guide's AdamW and clip_grad_norm, written out",
}


@dataclass
class TrainResult:
    """What :func:`train` returns."""

    model: GPT
    tokenizer: CharTokenizer
    history: list[dict[str, float]] = field(default_factory=list)
    ms_per_iter: float = math.nan  # median wall time of one iteration
    checkpoint: Path | None = None
    config: TrainConfig = field(default_factory=TrainConfig)

    @property
    def tokens_per_second(self) -> float:
        """Training tokens per second at the median iteration time."""
        cfg = self.config
        return cfg.batch_size * cfg.block_size / (self.ms_per_iter / 1e3)


# --8<-- [start:estimate_loss]
@torch.no_grad()
def estimate_loss(
    model: nn.Module,
    data: torch.Tensor,
    batch_size: int,
    block_size: int,
    eval_iters: int,
    seed: int,
) -> float:
    """Mean cross-entropy over ``eval_iters`` batches drawn with ``seed``.

    The same seed draws the same batches every time, so two estimates
    differ only because the model changed.
    """
    was_training = model.training
    model.eval()
    generator = torch.Generator().manual_seed(seed)
    losses = []
    for _ in range(eval_iters):
        x, y = get_batch(data, batch_size, block_size, generator)
        logits = model(x)  # [batch, block, vocab]
        losses.append(F.cross_entropy(logits.flatten(0, 1), y.flatten()))
    model.train(was_training)
    return torch.stack(losses).mean().item()


# --8<-- [end:estimate_loss]


# --8<-- [start:schedule]
def learning_rate(it: int, cfg: TrainConfig) -> float:
    """The learning rate of iteration ``it``: warm-up, then cosine decay.

    :func:`~transformer_atlas.training.dynamics.warmup_cosine` from
    ``cfg.max_lr`` (after ``cfg.warmup_iters``) down to ``cfg.min_lr``
    (at ``cfg.iters``).
    """
    return warmup_cosine(
        it,
        max_lr=cfg.max_lr,
        min_lr=cfg.min_lr,
        warmup_steps=cfg.warmup_iters,
        total_steps=cfg.iters,
    )


def make_optimizer(
    model: nn.Module, cfg: TrainConfig
) -> torch.optim.Optimizer:
    """AdamW with weight decay on the matrices only (nanoGPT's groups)."""
    groups = weight_decay_groups(model, cfg.weight_decay)
    if cfg.optimizer == "atlas":
        return AdamW(groups, lr=cfg.max_lr, betas=cfg.betas)
    return torch.optim.AdamW(
        groups, lr=cfg.max_lr, betas=cfg.betas, fused=True
    )


# --8<-- [end:schedule]


# --8<-- [start:fit]
def fit(
    model: nn.Module,
    train_ids: torch.Tensor,
    cfg: TrainConfig,
    *,
    optimizer: torch.optim.Optimizer | None = None,
    generator: torch.Generator | None = None,
    start: int = 0,
    stop: int | None = None,
    on_step: Callable[[int, float], None] | None = None,
    progress: bool = True,
) -> list[float]:
    """Train ``model`` on token ids ``train_ids [n]``; return the losses.

    ``model`` maps ids ``[batch, block]`` to logits ``[batch, block,
    vocab]``. Iterations ``start`` to ``stop`` (default ``cfg.iters``) of
    ``cfg``'s schedule; one loss (mean cross-entropy in nats over
    ``batch * block`` next-token predictions) per iteration.
    ``optimizer`` and ``generator`` (the batches) default to new ones from
    ``cfg``; pass them to continue a run. ``on_step(it + 1, loss)`` runs
    after each step.
    """
    opt = make_optimizer(model, cfg) if optimizer is None else optimizer
    if generator is None:
        generator = torch.Generator().manual_seed(cfg.seed)
    clip = (
        clip_grad_norm
        if cfg.optimizer == "atlas"
        else (torch.nn.utils.clip_grad_norm_)
    )
    stop = cfg.iters if stop is None else stop
    losses: list[float] = []
    bar = tqdm(
        range(start, stop),
        initial=start,
        total=cfg.iters,
        disable=not progress,
        desc="train",
        unit="it",
    )
    model.train()  # dropout on (if the model has any)
    for it in bar:
        for group in opt.param_groups:
            group["lr"] = learning_rate(it, cfg)
        x, y = get_batch(
            train_ids, cfg.batch_size, cfg.block_size, generator
        )  # [batch, block]: y is x shifted by 1
        logits = model(x)  # [batch, block, vocab]
        loss = F.cross_entropy(logits.flatten(0, 1), y.flatten())
        opt.zero_grad(set_to_none=True)  # else gradients accumulate
        loss.backward()  # p.grad for every parameter p
        clip(model.parameters(), cfg.grad_clip)  # global norm <= grad_clip
        opt.step()  # AdamW update at this iteration's learning rate
        losses.append(loss.item())
        bar.set_postfix(loss=f"{losses[-1]:.3f}", refresh=False)
        if on_step is not None:
            on_step(it + 1, losses[-1])
    return losses


# --8<-- [end:fit]


def _state_tensors(
    model: GPT, opt: torch.optim.Optimizer, generator: torch.Generator
) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Everything a resumed run needs, as tensors plus JSON."""
    tensors = {f"model.{k}": v for k, v in model.state_dict().items()}
    state = opt.state_dict()
    scalars: dict[str, Any] = {}
    for index, entry in state["state"].items():
        for key, value in entry.items():
            if isinstance(value, torch.Tensor):
                tensors[f"optim.{index}.{key}"] = value
            else:
                scalars[f"{index}.{key}"] = value
    tensors["rng.batches"] = generator.get_state()
    tensors["rng.torch"] = torch.get_rng_state()
    meta = {"param_groups": state["param_groups"], "scalars": scalars}
    return tensors, meta


def _restore(
    tensors: dict[str, torch.Tensor],
    meta: dict[str, Any],
    model: GPT,
    opt: torch.optim.Optimizer,
    generator: torch.Generator,
) -> None:
    prefix = "model."
    model.load_state_dict(
        {
            k[len(prefix) :]: v
            for k, v in tensors.items()
            if k.startswith(prefix)
        }
    )
    state: dict[int, dict[str, Any]] = {}
    for key, value in tensors.items():
        if key.startswith("optim."):
            _, index, name = key.split(".", 2)
            state.setdefault(int(index), {})[name] = value
    for key, value in meta["optimizer"]["scalars"].items():
        index, name = key.split(".", 1)
        state.setdefault(int(index), {})[name] = value
    opt.load_state_dict(
        {"state": state, "param_groups": meta["optimizer"]["param_groups"]}
    )
    generator.set_state(tensors["rng.batches"])
    torch.set_rng_state(tensors["rng.torch"])


def _check_resumable(saved: dict[str, Any], cfg: TrainConfig) -> None:
    """Refuse to resume a run with a different model or data."""
    fixed = (
        "corpus",
        "max_bytes",
        "block_size",
        "n_layers",
        "n_heads",
        "d_model",
        "seed",
        "optimizer",
    )
    changed = [
        f"{name}: checkpoint {saved[name]!r}, now {getattr(cfg, name)!r}"
        for name in fixed
        if saved.get(name) != getattr(cfg, name)
    ]
    if changed:
        raise ValueError(
            "cannot resume: the checkpoint was trained with other "
            "settings (" + "; ".join(changed) + "). Start a new run in "
            "another --out-dir, or pass the checkpoint's settings."
        )


# --8<-- [start:train]
def train(
    cfg: TrainConfig,
    out_dir: str | Path | None = None,
    *,
    resume: bool = False,
    stop_at: int | None = None,
    progress: bool = True,
    on_eval: Callable[[dict[str, float]], None] | None = None,
) -> TrainResult:
    """Train a GPT on ``cfg.corpus``; checkpoint into ``out_dir``.

    ``resume=True`` continues from ``out_dir``'s checkpoint up to
    ``cfg.iters``; ``stop_at`` stops after that many iterations, as an
    interruption would (the schedule still spans ``cfg.iters``).
    ``on_eval`` receives each history row
    ``{"step", "lr", "train_loss", "val_loss"}``.
    """
    text = load_corpus(cfg.corpus, max_bytes=cfg.max_bytes)
    tokenizer = CharTokenizer.from_text(text)
    ids = torch.tensor(tokenizer.encode(text), dtype=torch.long)
    train_ids, val_ids = split_train_val(ids)
    torch.manual_seed(cfg.seed)  # the initial weights
    model = GPT(cfg.model_config(tokenizer.vocab_size))
    opt = make_optimizer(model, cfg)
    generator = torch.Generator().manual_seed(cfg.seed)  # batches
    path = None if out_dir is None else Path(out_dir) / CHECKPOINT_NAME
    history: list[dict[str, float]] = []
    start = 0
    if resume:
        if path is None or not path.exists():
            raise ValueError(f"nothing to resume: no checkpoint at {path}")
        tensors, meta = load_checkpoint(path)
        _check_resumable(meta["train_config"], cfg)
        _restore(tensors, meta, model, opt, generator)
        start, history = meta["step"], meta["history"]

    def evaluate(step: int) -> None:
        row = {"step": step, "lr": learning_rate(step, cfg)}  # next step's
        for name, data in (("train_loss", train_ids), ("val_loss", val_ids)):
            row[name] = estimate_loss(
                model,
                data,
                cfg.batch_size,
                cfg.block_size,
                cfg.eval_iters,
                cfg.seed + 1,
            )
        history.append(row)
        if on_eval is not None:
            on_eval(row)

    def checkpoint(step: int) -> None:
        if path is not None:
            _save(path, model, opt, generator, cfg, tokenizer, history, step)

    if start == 0:
        evaluate(0)  # the loss before training: about ln(vocab_size)
    end = cfg.iters if stop_at is None else min(stop_at, cfg.iters)
    times: list[float] = []  # seconds per iteration, evaluations excluded
    laps = Laps()

    def after_step(step: int, loss: float) -> None:
        times.append(laps.lap())
        if step % cfg.eval_interval == 0 or step == cfg.iters:
            evaluate(step)
            checkpoint(step)
        elif step == end:  # stopped early: save, so it can resume
            checkpoint(step)
        laps.lap()  # restart the stopwatch after the evaluation

    fit(
        model,
        train_ids,
        cfg,
        optimizer=opt,
        generator=generator,
        start=start,
        stop=end,
        on_step=after_step,
        progress=progress,
    )
    ms = 1e3 * sorted(times)[len(times) // 2] if times else math.nan
    return TrainResult(model, tokenizer, history, ms, path, cfg)


# --8<-- [end:train]


def _save(
    path: Path,
    model: GPT,
    opt: torch.optim.Optimizer,
    generator: torch.Generator,
    cfg: TrainConfig,
    tokenizer: CharTokenizer,
    history: list[dict[str, float]],
    step: int,
) -> None:
    tensors, optimizer_meta = _state_tensors(model, opt, generator)
    save_checkpoint(
        path,
        tensors,
        {
            "step": step,
            "history": history,
            "train_config": asdict(cfg),
            "model_config": asdict(model.config),
            "tokenizer": tokenizer.to_json(),
            "optimizer": optimizer_meta,
        },
    )


def load_model(path: str | Path) -> tuple[GPT, CharTokenizer, dict]:
    """The model, tokenizer and metadata saved by :func:`train`.

    ``path`` is a checkpoint file or the run's directory. Never unpickles:
    see :mod:`transformer_atlas.common.checkpoint`.
    """
    path = Path(path)
    if path.is_dir():
        path = path / CHECKPOINT_NAME
    tensors, meta = load_checkpoint(path)
    known = {f.name for f in fields(GPTConfig)}
    config = GPTConfig(
        **{k: v for k, v in meta["model_config"].items() if k in known}
    )
    model = GPT(config)
    prefix = "model."
    model.load_state_dict(
        {
            k[len(prefix) :]: v
            for k, v in tensors.items()
            if k.startswith(prefix)
        }
    )
    model.eval()
    return model, CharTokenizer.from_json(meta["tokenizer"]), meta
