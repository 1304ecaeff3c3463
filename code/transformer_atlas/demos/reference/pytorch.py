"""Demo ``pytorch``: train a character-level language model in seconds.

Train a character-level transformer, then sample it.

Run it with ``python -m transformer_atlas demo pytorch``. It loads the
training text (:func:`~transformer_atlas.common.data.load_corpus`: the
standard library's source), shows one batch with its shapes, trains
:class:`~transformer_atlas.reference.pytorch.TinyTransformer` with the
page's settings (:data:`~transformer_atlas.reference.pytorch.PAGE_CONFIG`)
through the guide's one loop
(:func:`~transformer_atlas.training.tiny_gpt.fit`) under a tqdm progress
bar, and prints a 200-character sample at temperature 0.8.
"""

from __future__ import annotations

import math

import torch

from transformer_atlas.common.data import get_batch
from transformer_atlas.reference.pytorch import (
    PAGE_CONFIG,
    TinyTransformer,
    generate,
    train_tiny_transformer,
)
from transformer_atlas.training.tiny_gpt import TrainConfig

__all__ = ["main"]


def main(cfg: TrainConfig = PAGE_CONFIG) -> None:
    """Print the demo to standard output (``cfg``: the page's run)."""
    print(
        f"training a {cfg.n_layers}-block TinyTransformer, d_model "
        f"{cfg.d_model}, {cfg.n_heads} heads: {cfg.iters} steps of "
        f"{cfg.batch_size} x {cfg.block_size} characters, AdamW, "
        f"lr {cfg.max_lr:g} after {cfg.warmup_iters} warm-up steps, "
        f"cosine decay to {cfg.min_lr:g}"
    )
    run = train_tiny_transformer(cfg)
    tok = run.tokenizer
    vocab = tok.vocab_size
    n = len(run.train_ids) + len(run.val_ids)
    print(f"text: {n} characters, vocabulary of {vocab}")
    print(
        f"train ids [n] = [{len(run.train_ids)}], "
        f"held-out ids [n] = [{len(run.val_ids)}]"
    )
    gen = torch.Generator().manual_seed(0)
    x, y = get_batch(run.train_ids, 2, 16, gen)
    print(
        f"one batch: x [batch, block_size] = {list(x.shape)}, "
        f"y = x shifted by one, {list(y.shape)}"
    )
    print(f"  x[0] = {tok.decode(x[0])!r}")
    print(f"  y[0] = {tok.decode(y[0])!r}")
    model: TinyTransformer = run.model
    n_params = sum(p.numel() for p in model.parameters())
    print(
        f"model: {n_params} parameters; logits [batch, block_size, vocab]"
        f" = {list(model(x).shape)}"
    )
    print(f"loss at chance: ln({vocab}) = {math.log(vocab):.3f}")
    print(
        f"first loss {run.losses[0]:.3f}, last loss {run.losses[-1]:.3f}, "
        f"held-out loss {run.val_loss:.3f}"
    )
    out = generate(model, run.val_ids[: cfg.block_size], 200, 0.8, gen)
    print(f"sample (prompt = first {cfg.block_size} held-out characters):")
    print(tok.decode(out))
