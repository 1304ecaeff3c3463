"""Demo ``embeddings``: token lookup, a trained embedding's neighbours, weight
tying.

Lookup, similarity, the tied output projection.

Run it with ``python -m transformer_atlas demo embeddings``. Part 1 embeds
three token ids with a
:class:`~transformer_atlas.blocks.embeddings.TokenEmbedding` and shows
that the lookup equals one-hot rows times the table. Part 2 trains the
small next-character model of
:func:`~transformer_atlas.blocks.embeddings.train_char_lm` (with the
guide's one training loop) and prints nearest neighbours by cosine
similarity. Part 3 projects hidden states back to logits with the same
table (weight tying), counts the parameters saved, and shows the gradient
reaching every row of the table.
"""

from __future__ import annotations

import string

import torch
import torch.nn.functional as F
from torch import nn

from transformer_atlas.blocks.embeddings import (
    OutputProjection,
    TokenEmbedding,
    nearest_neighbours,
    one_hot,
    train_char_lm,
)

__all__ = ["main"]


def _shape(x: torch.Tensor) -> str:
    return "[" + ", ".join(str(int(s)) for s in x.shape) + "]"


def _n_params(*modules: nn.Module) -> int:
    return sum(p.numel() for p in nn.ModuleList(modules).parameters())


def main() -> None:
    """Print the demo to standard output."""
    torch.manual_seed(0)
    vocab_size, d_model = 10, 4
    print("Part 1 - a token embedding is a lookup table")
    emb = TokenEmbedding(vocab_size, d_model)
    E = emb.weight.detach()
    ids = torch.tensor([[3, 1, 3]])
    print(f"E [vocab_size, d_model] = {_shape(E)}   (random initial rows)")
    print(f"ids = {ids.tolist()}   ids [batch, seq] = {_shape(ids)}")
    x = emb(ids).detach()
    print(f"x = E[ids]   x [batch, seq, d_model] = {_shape(x)}")
    hot = one_hot(ids, vocab_size)
    print(f"one_hot(ids) [batch, seq, vocab_size] = {_shape(hot)}")
    print(f"one_hot(ids) @ E == E[ids]: {torch.equal(hot @ E, x)}")
    print(
        "token 3 at positions 0 and 2 gets the same vector: "
        f"{torch.equal(x[0, 0], x[0, 2])}"
    )
    print()

    print("Part 2 - similarity as geometry, in a trained embedding")
    print("training a next-character model with tied embeddings")
    print("on the standard library's source code...")
    result = train_char_lm()
    final = sum(result.losses[-20:]) / 20
    print(
        f"{result.n_chars} characters, {len(result.losses)} steps, loss "
        f"{result.losses[0]:.2f} -> {final:.2f} nats/char "
        "(mean of the last 20 steps)"
    )
    print(f"E [vocab_size, d_model] = {_shape(result.embedding)}")
    shown = "05ae)+"
    nearest, sims = nearest_neighbours(
        result.embedding, result.ids(shown), k=3
    )
    for c, row, sim in zip(shown, nearest.tolist(), sims.tolist()):
        cells = ", ".join(
            f"{result.tokenizer.chars[j]!r} {s:.2f}" for j, s in zip(row, sim)
        )
        print(f"nearest to {c!r} by cosine similarity: {cells}")
    digits, _ = nearest_neighbours(
        result.embedding, result.ids(string.digits), k=1
    )
    chars = result.tokenizer.chars
    all_digits = all(chars[j] in string.digits for j in digits[:, 0])
    print(f"every digit's nearest neighbour is a digit: {all_digits}")
    print()

    print("Part 3 - the output projection and weight tying")
    h = torch.randn(1, 3, d_model)
    head = OutputProjection(d_model, vocab_size, tie_to=emb)
    logits = head(h)
    print(f"h [batch, seq, d_model] = {_shape(h)}")
    print(
        "logits = h @ E^T   "
        f"logits [batch, seq, vocab_size] = {_shape(logits)}"
    )
    untied = (
        TokenEmbedding(vocab_size, d_model),
        OutputProjection(d_model, vocab_size),
    )
    print(f"parameters, untied: {_n_params(*untied)}")
    print(f"parameters, tied:   {_n_params(emb, head)}")
    print(
        f"GPT-2 small saves 50257 * 768 = {50257 * 768:,} parameters by tying"
    )
    loss = F.cross_entropy(head(emb(ids))[0], torch.tensor([1, 3, 5]))
    loss.backward()
    rows = int((emb.weight.grad.abs().sum(-1) > 0).sum())
    print(
        f"rows of E with a gradient: {rows} of {vocab_size} "
        "(input end: tokens 1 and 3; output end: every token)"
    )
