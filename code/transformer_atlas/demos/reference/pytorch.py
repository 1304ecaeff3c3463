"""Demo ``pytorch``: train a character-level language model in under a minute.

Train a character-level transformer, then sample it.

Run it with ``python -m transformer_atlas demo pytorch``. It loads the
training text (:func:`~transformer_atlas.blocks.embeddings.stdlib_text`), shows
one batch with its shapes, trains
:class:`~transformer_atlas.reference.pytorch.TinyTransformer` with the page's
settings (:class:`~transformer_atlas.reference.pytorch.TrainConfig`) under a tqdm
progress bar, and prints a 200-character sample at temperature 0.8.
"""

from __future__ import annotations

import math

import torch

from transformer_atlas.reference.pytorch import (
    CHAR_VOCAB,
    TinyTransformer,
    TrainConfig,
    decode,
    encode,
    evaluate,
    generate,
    get_batch,
    train,
)
from transformer_atlas.blocks.embeddings import stdlib_text

__all__ = ["main"]


def main() -> None:
    """Print the demo to standard output."""
    config = TrainConfig()
    data = encode(stdlib_text())
    split = int(0.9 * len(data))
    train_data, val_data = data[:split], data[split:]
    vocab = len(CHAR_VOCAB)
    print(f"text: {len(data)} characters, vocabulary of {vocab}")
    print(f"train ids [n] = [{len(train_data)}], "
          f"held-out ids [n] = [{len(val_data)}]")
    gen = torch.Generator().manual_seed(0)
    x, y = get_batch(train_data, 2, 16, gen)
    print(f"one batch: x [batch, context] = {list(x.shape)}, "
          f"y = x shifted by one, {list(y.shape)}")
    print(f"  x[0] = {decode(x[0])!r}")
    print(f"  y[0] = {decode(y[0])!r}")
    torch.manual_seed(config.seed)
    model = TinyTransformer(vocab, config.context)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"model: {n_params} parameters; logits [batch, context, vocab] "
          f"= {list(model(x).shape)}")
    print(f"loss at chance: ln({vocab}) = {math.log(vocab):.3f}")
    print(f"training {config.steps} steps of {config.batch_size} x "
          f"{config.context} characters with AdamW(lr={config.lr})")
    history = train(model, train_data, config)
    print(f"first loss {history[0]:.3f}, last loss {history[-1]:.3f}, "
          f"held-out loss {evaluate(model, val_data, config):.3f}")
    out = generate(model, val_data[: config.context], 200, 0.8, gen)
    print("sample (prompt = first 32 held-out characters):")
    print(decode(out))
