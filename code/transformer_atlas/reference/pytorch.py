"""PyTorch reference: tensors, modules, the training loop, a char-level LM.

The last part is an end-to-end character-level language model: a one-block
pre-LN transformer, :class:`TinyTransformer`, written in one file from the
package's own pieces
(:class:`~transformer_atlas.blocks.attention.MultiHeadAttention`,
:class:`~transformer_atlas.blocks.feed_forward.FeedForward`,
:class:`~transformer_atlas.blocks.normalization.LayerNorm`,
:class:`~transformer_atlas.blocks.embeddings.TokenEmbedding`). Its data are
the guide's shared ones (:mod:`transformer_atlas.common.data`: the standard
library's source, :class:`~transformer_atlas.common.data.CharTokenizer`,
:func:`~transformer_atlas.common.data.get_batch`) and it is trained by the
guide's one loop, :func:`transformer_atlas.training.tiny_gpt.fit`, with the
GPT track's :class:`~transformer_atlas.training.tiny_gpt.TrainConfig`
(:data:`PAGE_CONFIG`); then it is sampled one character at a time.

``python -m transformer_atlas demo pytorch`` runs the page's example;
``python -m transformer_atlas train gpt --corpus FILE`` trains a bigger
model on a text file of your own.

The guide's page ``reference/pytorch`` shows this module;
``tests/package/reference/test_pytorch.py`` trains it with the page's
settings and checks the loss bounds the page states, and produces every
error message the page's "gotchas" section shows.
"""

from __future__ import annotations

# --8<-- [start:imports]
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from transformer_atlas.blocks.attention import MultiHeadAttention
from transformer_atlas.blocks.embeddings import TokenEmbedding
from transformer_atlas.blocks.feed_forward import FeedForward
from transformer_atlas.blocks.normalization import LayerNorm
from transformer_atlas.common.data import (
    CharTokenizer,
    load_corpus,
    split_train_val,
)
from transformer_atlas.common.threads import single_thread
from transformer_atlas.training.tiny_gpt import TrainConfig, estimate_loss, fit

# --8<-- [end:imports]

__all__ = [
    "Block",
    "TinyTransformer",
    "PAGE_CONFIG",
    "TinyRun",
    "train_tiny_transformer",
    "generate",
]


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
    embedding ``P [block_size, d_model]``, ``n_layers`` blocks, a final
    LayerNorm, and logits ``h E^T`` (weights tied to the embedding).
    """

    def __init__(
        self,
        vocab_size: int,
        block_size: int,
        d_model: int = 48,
        n_heads: int = 4,
        n_layers: int = 1,
    ) -> None:
        super().__init__()
        if block_size <= 0 or n_layers <= 0:
            raise ValueError(
                "block_size and n_layers must be positive, "
                f"got block_size={block_size}, n_layers={n_layers}"
            )
        self.block_size = block_size
        self.embed = TokenEmbedding(vocab_size, d_model)
        self.pos = nn.Parameter(torch.randn(block_size, d_model) * 0.02)
        self.blocks = nn.ModuleList(
            Block(d_model, n_heads) for _ in range(n_layers)
        )
        self.ln_f = LayerNorm(d_model)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        """``ids [batch, seq]`` (``seq <= block_size``) -> logits.

        The logits are ``[batch, seq, vocab]``.
        """
        if ids.ndim != 2 or ids.shape[1] > self.block_size:
            raise ValueError(
                f"ids must be [batch, seq] with seq <= {self.block_size}, "
                f"got shape {tuple(ids.shape)}"
            )
        x = self.embed(ids) + self.pos[: ids.shape[1]]  # [b, seq, d]
        for block in self.blocks:
            x = block(x)
        return self.ln_f(x) @ self.embed.weight.T  # [b, seq, vocab]


# --8<-- [end:model]


# --8<-- [start:config]
#: The page's run: the GPT track's TrainConfig, at the size of one block.
PAGE_CONFIG = TrainConfig(
    iters=200,  # optimizer steps
    batch_size=32,  # windows per batch
    block_size=32,  # characters per window (the context)
    n_layers=1,
    n_heads=4,
    d_model=48,
    max_lr=3e-3,  # after 20 warm-up steps ...
    min_lr=3e-4,  # ... cosine decay to this at step 200
    warmup_iters=20,
    eval_iters=10,  # batches for the held-out loss
    seed=0,
)
# --8<-- [end:config]


# --8<-- [start:run]
@dataclass
class TinyRun:
    """What :func:`train_tiny_transformer` returns.

    Attributes:
        model: the trained :class:`TinyTransformer`.
        tokenizer: the corpus's :class:`CharTokenizer`.
        losses: the training loss (nats per character) of every step.
        val_loss: the held-out loss after training.
        train_ids: the first 90% of the corpus, ``[n_train]``.
        val_ids: the held-out last 10%, ``[n_val]``.
    """

    model: TinyTransformer
    tokenizer: CharTokenizer
    losses: list[float]
    val_loss: float
    train_ids: torch.Tensor
    val_ids: torch.Tensor


def train_tiny_transformer(
    cfg: TrainConfig = PAGE_CONFIG,
    progress: bool = True,
    on_step: Callable[[int, float], None] | None = None,
) -> TinyRun:
    """The page's run: corpus, tokenizer, model, :func:`fit`, held-out loss.

    Runs on one CPU thread: for matrices this small that is as fast as
    several, and the same on every machine. ``on_step`` is passed to
    :func:`fit`.
    """
    text = load_corpus(cfg.corpus, max_bytes=cfg.max_bytes)
    tokenizer = CharTokenizer.from_text(text)
    ids = torch.tensor(tokenizer.encode(text))  # [n]
    train_ids, val_ids = split_train_val(ids)  # 90% / 10%
    with single_thread():
        torch.manual_seed(cfg.seed)  # the initial weights
        model = TinyTransformer(
            tokenizer.vocab_size,
            cfg.block_size,
            cfg.d_model,
            cfg.n_heads,
            cfg.n_layers,
        )
        losses = fit(model, train_ids, cfg, progress=progress, on_step=on_step)
        val_loss = estimate_loss(
            model,
            val_ids,
            cfg.batch_size,
            cfg.block_size,
            cfg.eval_iters,
            cfg.seed + 1,
        )
    return TinyRun(model, tokenizer, losses, val_loss, train_ids, val_ids)


# --8<-- [end:run]


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

    Each step feeds the last ``block_size`` ids, takes the logits of the
    last position, divides them by ``temperature`` and samples from the
    softmax.
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
            logits = model(ids[:, -model.block_size :])[:, -1]  # [1, vocab]
            probs = torch.softmax(logits / temperature, dim=-1)
            nxt = torch.multinomial(probs, 1, generator=generator)
            ids = torch.cat([ids, nxt], dim=1)  # [1, n + 1]
    model.train()
    return ids[0]


# --8<-- [end:generate]
