"""PyTorch reference: tensors, modules, the training loop, a char-level LM.

The last part is an end-to-end character-level language model: a one-block
pre-LN transformer built from the package's own pieces
(:class:`~transformer_atlas.blocks.attention.MultiHeadAttention`,
:class:`~transformer_atlas.blocks.feed_forward.FeedForward`,
:class:`~transformer_atlas.blocks.normalization.LayerNorm`,
:class:`~transformer_atlas.blocks.embeddings.TokenEmbedding`), trained with AdamW
on the source code of a few standard-library modules (or any text file),
then sampled one character at a time.

Run it from the command line with a text file of your own::

    python -m transformer_atlas.reference.pytorch --text my.txt --steps 500

The guide's page ``reference/pytorch`` shows this module;
``tests/package/reference/test_pytorch.py`` trains it with the page's settings and
checks the loss bound the page states, and produces every error message
the page's "gotchas" section shows.
"""

from __future__ import annotations

# --8<-- [start:imports]
import argparse
import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from transformer_atlas.blocks.attention import MultiHeadAttention
from transformer_atlas.blocks.embeddings import (
    CHAR_VOCAB,
    TokenEmbedding,
    stdlib_text,
)
from transformer_atlas.blocks.feed_forward import FeedForward
from transformer_atlas.blocks.normalization import LayerNorm
from transformer_atlas.common.threads import single_thread

# --8<-- [end:imports]

__all__ = [
    "CHAR_VOCAB",
    "encode",
    "decode",
    "get_batch",
    "Block",
    "TinyTransformer",
    "TrainConfig",
    "train",
    "evaluate",
    "generate",
    "main",
]


# --8<-- [start:data]
def encode(text: str, vocab: str = CHAR_VOCAB) -> torch.Tensor:
    """``text`` -> ids ``[len(text)]`` (int64); unknown characters dropped.

    ``vocab[i]`` is the character with id ``i``.
    """
    index = {c: i for i, c in enumerate(vocab)}
    return torch.tensor([index[c] for c in text if c in index])


def decode(ids: torch.Tensor, vocab: str = CHAR_VOCAB) -> str:
    """Ids ``[n]`` -> the string of their characters."""
    return "".join(vocab[i] for i in ids.tolist())


def get_batch(
    data: torch.Tensor,
    batch_size: int,
    context: int,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Random windows of ``data [n]``: inputs and next-character targets.

    Returns ``x [batch, context]`` and ``y [batch, context]`` with
    ``y[b, t] = x[b, t + 1]``: at every position the target is the next
    character, so one window gives ``context`` training examples.
    """
    if data.ndim != 1 or len(data) <= context:
        raise ValueError(
            f"data must be [n] with n > context={context}, "
            f"got shape {tuple(data.shape)}"
        )
    starts = torch.randint(
        len(data) - context, (batch_size,), generator=generator
    )
    offsets = torch.arange(context + 1)  # [context + 1]
    windows = data[starts[:, None] + offsets]  # [batch, context + 1]
    return windows[:, :-1], windows[:, 1:]
# --8<-- [end:data]


# --8<-- [start:model]
class Block(nn.Module):
    """Pre-LN block: ``x + attn(LN(x))``, then ``x + FFN(LN(x))``.

    ``x [batch, seq, d_model]`` -> ``[batch, seq, d_model]``; attention is
    causal, so position ``t`` sees positions ``0..t`` only.
    """

    def __init__(self, d_model: int, n_heads: int) -> None:
        super().__init__()
        self.ln_1 = LayerNorm(d_model)
        self.attn = MultiHeadAttention(d_model, n_heads)
        self.ln_2 = LayerNorm(d_model)
        self.ff = FeedForward(d_model, 4 * d_model)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln_1(x), is_causal=True)[0]
        return x + self.ff(self.ln_2(x))


class TinyTransformer(nn.Module):
    """A character-level GPT: ids ``[batch, seq]`` -> logits ``[.., vocab]``.

    Token embedding ``E [vocab, d_model]`` plus a learned position
    embedding ``P [context, d_model]``, ``n_layers`` blocks, a final
    LayerNorm, and logits ``h E^T`` (weights tied to the embedding).
    """

    def __init__(
        self,
        vocab_size: int,
        context: int,
        d_model: int = 48,
        n_heads: int = 4,
        n_layers: int = 1,
    ) -> None:
        super().__init__()
        if context <= 0 or n_layers <= 0:
            raise ValueError(
                "context and n_layers must be positive, "
                f"got context={context}, n_layers={n_layers}"
            )
        self.context = context
        self.embed = TokenEmbedding(vocab_size, d_model)
        self.pos = nn.Parameter(torch.randn(context, d_model) * 0.02)
        self.blocks = nn.ModuleList(
            Block(d_model, n_heads) for _ in range(n_layers)
        )
        self.ln_f = LayerNorm(d_model)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        """``ids [batch, seq]``, ``seq <= context`` -> ``[b, seq, vocab]``."""
        if ids.ndim != 2 or ids.shape[1] > self.context:
            raise ValueError(
                f"ids must be [batch, seq] with seq <= {self.context}, "
                f"got shape {tuple(ids.shape)}"
            )
        x = self.embed(ids) + self.pos[: ids.shape[1]]  # [b, seq, d]
        for block in self.blocks:
            x = block(x)
        return self.ln_f(x) @ self.embed.weight.T  # [b, seq, vocab]
# --8<-- [end:model]


# --8<-- [start:train]
@dataclass(frozen=True)
class TrainConfig:
    """Everything that decides a training run (the page's settings)."""

    steps: int = 200
    batch_size: int = 32
    context: int = 32
    lr: float = 3e-3
    weight_decay: float = 0.01
    clip: float = 1.0
    print_every: int = 50
    seed: int = 0


def train(
    model: nn.Module,
    data: torch.Tensor,
    config: TrainConfig = TrainConfig(),
    progress: bool = True,
) -> list[float]:
    """Train ``model`` on ids ``data [n]`` with AdamW; return the losses.

    One loss (mean cross-entropy over ``batch * context`` next-character
    predictions, in nats) per step. Runs on one CPU thread: for matrices
    this small that is as fast as several, and the same on every machine.
    """
    with single_thread():
        return _train(model, data, config, progress)


def _train(
    model: nn.Module,
    data: torch.Tensor,
    config: TrainConfig,
    progress: bool,
) -> list[float]:
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=config.lr, weight_decay=config.weight_decay
    )
    gen = torch.Generator().manual_seed(config.seed)
    history: list[float] = []
    model.train()  # dropout etc. on (this model has none)
    bar = tqdm(range(config.steps), disable=not progress, unit="step")
    for step in bar:
        x, y = get_batch(data, config.batch_size, config.context, gen)
        logits = model(x)  # [batch, context, vocab]
        loss = F.cross_entropy(  # wants [N, vocab] and [N]
            logits.reshape(-1, logits.shape[-1]), y.reshape(-1)
        )
        optimizer.zero_grad(set_to_none=True)  # else grads accumulate
        loss.backward()  # fills p.grad for every parameter p
        nn.utils.clip_grad_norm_(model.parameters(), config.clip)
        optimizer.step()  # p <- p - lr * AdamW update
        history.append(loss.item())
        last = step == config.steps - 1
        if config.print_every and (step % config.print_every == 0 or last):
            bar.write(f"step {step:4d}  loss {loss.item():.3f}")
    return history


@torch.no_grad()
def evaluate(
    model: nn.Module,
    data: torch.Tensor,
    config: TrainConfig = TrainConfig(),
    batches: int = 10,
) -> float:
    """Mean loss on ``batches`` random batches of ``data``, in eval mode."""
    model.eval()
    gen = torch.Generator().manual_seed(config.seed + 1)
    total = 0.0
    for _ in range(batches):
        x, y = get_batch(data, config.batch_size, config.context, gen)
        logits = model(x)
        total += F.cross_entropy(
            logits.reshape(-1, logits.shape[-1]), y.reshape(-1)
        ).item()
    model.train()
    return total / batches
# --8<-- [end:train]


# --8<-- [start:generate]
@torch.no_grad()
def generate(
    model: TinyTransformer,
    prompt: torch.Tensor,
    n_new: int,
    temperature: float = 1.0,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Extend ids ``prompt [n]`` by ``n_new`` samples; return ``[n + n_new]``.

    Each step feeds the last ``context`` ids, takes the logits of the last
    position, divides them by ``temperature`` and samples from the softmax.
    """
    if prompt.ndim != 1 or len(prompt) == 0 or not temperature > 0:
        raise ValueError(
            "prompt must be non-empty ids [n] and temperature > 0, "
            f"got shape {tuple(prompt.shape)}, temperature={temperature}"
        )
    model.eval()
    ids = prompt[None, :]  # [1, n]
    with single_thread():  # tiny matrices: one thread is fastest
        for _ in range(n_new):
            logits = model(ids[:, -model.context:])[:, -1]  # [1, vocab]
            probs = torch.softmax(logits / temperature, dim=-1)
            nxt = torch.multinomial(probs, 1, generator=generator)
            ids = torch.cat([ids, nxt], dim=1)  # [1, n + 1]
    model.train()
    return ids[0]
# --8<-- [end:generate]


def main(argv: list[str] | None = None) -> None:
    """Train on ``--text FILE`` (default: standard-library source); sample."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--text", help="a UTF-8 text file to train on")
    parser.add_argument("--steps", type=int, default=TrainConfig.steps)
    parser.add_argument("--seed", type=int, default=TrainConfig.seed)
    args = parser.parse_args(argv)
    if args.text:
        with open(args.text, encoding="utf-8") as f:
            text = f.read()
        vocab = "".join(sorted(set(text)))
    else:
        text, vocab = stdlib_text(), CHAR_VOCAB
    data = encode(text, vocab)
    config = TrainConfig(steps=args.steps, seed=args.seed)
    torch.manual_seed(config.seed)
    model = TinyTransformer(len(vocab), config.context)
    print(f"{len(data)} characters, vocabulary of {len(vocab)}; "
          f"loss at chance ln({len(vocab)}) = {math.log(len(vocab)):.3f}")
    train(model, data, config)
    gen = torch.Generator().manual_seed(config.seed)
    out = generate(model, data[: config.context], 200, 0.8, gen)
    print(decode(out, vocab))


if __name__ == "__main__":
    main()
