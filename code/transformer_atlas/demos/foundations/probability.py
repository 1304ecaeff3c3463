"""Demo ``probability``: softmax, entropy, cross-entropy, KL and perplexity.

Entropy, cross-entropy, KL and perplexity.

Run it with ``python -m transformer_atlas demo probability``. It follows
the page ``foundations/probability``: a softmax of three logits, the
entropy of a uniform and a peaked distribution, the cross-entropy loss of
a batch of logits ``[batch, seq, vocab]``, KL divergence both ways,
perplexity of a uniform model, and the mutual information of a 2 x 2
table.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from transformer_atlas.foundations.probability import (
    cross_entropy,
    entropy,
    kl_divergence,
    mutual_information,
    perplexity,
    softmax,
)

__all__ = ["main"]


def _shape(x: object) -> str:
    shape = x.shape  # type: ignore[attr-defined]
    return "[" + ", ".join(str(int(s)) for s in shape) + "]"


def _fmt(x: torch.Tensor) -> str:
    return "[" + ", ".join(f"{float(v):.4f}" for v in x.flatten()) + "]"


def main() -> None:
    """Print the demo."""
    print("1. Logits -> probabilities (softmax over the last axis)")
    logits = torch.tensor([2.0, 1.0, 0.1])
    probs = softmax(logits)
    print(f"   logits {_fmt(logits)} -> p {_fmt(probs)}")
    print(f"   sum of p = {float(probs.sum()):.4f}")

    print("\n2. Entropy H(p) = -sum p log p")
    dists = torch.tensor([[0.25, 0.25, 0.25, 0.25], [0.97, 0.01, 0.01, 0.01]])
    bits = entropy(dists, base=2)
    print(f"   uniform over 4: {float(bits[0]):.4f} bits")
    print(f"   peaked (0.97):  {float(bits[1]):.4f} bits")

    print("\n3. Cross-entropy loss from logits")
    torch.manual_seed(0)
    batch, seq, vocab = 2, 3, 5
    z = torch.randn(batch, seq, vocab)
    y = torch.randint(0, vocab, (batch, seq))
    per_token = cross_entropy(z, y, reduction="none")
    print(f"   logits {_shape(z)}, targets {_shape(y)}")
    print(f"   loss per position {_shape(per_token)}: {_fmt(per_token)}")
    print(f"   mean loss: {float(cross_entropy(z, y)):.4f} nats")

    print("\n4. KL divergence is not symmetric")
    p, q = torch.tensor([0.5, 0.5]), torch.tensor([0.9, 0.1])
    print(f"   KL(p || q) = {float(kl_divergence(p, q)):.4f} nats")
    print(f"   KL(q || p) = {float(kl_divergence(q, p)):.4f} nats")
    print(f"   KL(p || p) = {float(kl_divergence(p, p)):.4f}")

    print("\n5. Perplexity of a uniform model equals the vocabulary size")
    v = 1000
    flat = torch.zeros(batch, seq, v, dtype=torch.float64)
    y = torch.randint(0, v, (batch, seq))
    print(
        f"   V = {v}: loss {float(cross_entropy(flat, y)):.4f}"
        f" = log V = {math.log(v):.4f}"
    )
    print(f"   perplexity = {float(perplexity(flat, y)):.4f}")

    print("\n6. Mutual information of a joint table")
    for table in ([[0.4, 0.1], [0.1, 0.4]], [[0.25, 0.25], [0.25, 0.25]]):
        mi = mutual_information(np.array(table))
        print(f"   I(X; Y) of {table} = {mi:.4f} nats")
