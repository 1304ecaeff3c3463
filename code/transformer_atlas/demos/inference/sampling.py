"""Demo ``sampling``: temperature, top-k, top-p, penalty; 200,000 draws; greedy
vs beam.

Every decoding strategy on one distribution.

Run it with ``python -m transformer_atlas demo sampling``. It follows the
page ``inference/sampling``: the hand-set distribution of the word after
"The cat sat on the", then temperature, top-k, top-p, the repetition
penalty, 200,000 draws against the distribution they come from, and greedy
decoding against beam search on a tiny bigram model.
"""

from __future__ import annotations

import torch

from transformer_atlas.inference.sampling import (
    apply_repetition_penalty,
    beam_search,
    filtered_probs,
    sample_next_token,
)
from transformer_atlas.inference.sampling_examples import (
    EXAMPLE_PROMPT,
    EXAMPLE_WORDS,
    TOY_WORDS,
    bigram_model,
    example_logits,
    toy_bigram_table,
)

__all__ = ["main"]


def _shape(x: torch.Tensor) -> str:
    return "[" + ", ".join(str(int(s)) for s in x.shape) + "]"


def _kept(probs: torch.Tensor) -> str:
    """``word p`` for every word with probability > 0 (row 0), 6 a line."""
    row = probs.reshape(-1, probs.shape[-1])[0]
    cells = [
        f"{w} {float(p):.3f}" for w, p in zip(EXAMPLE_WORDS, row) if p > 0
    ]
    lines = [", ".join(cells[i : i + 6]) for i in range(0, len(cells), 6)]
    return "\n   ".join(lines)


def main() -> None:
    """Print the demo."""
    logits = example_logits()[None, :]  # [batch=1, vocab=12]
    print(f'1. The model\'s distribution of the word after "{EXAMPLE_PROMPT}"')
    print(f"   logits {_shape(logits)} (batch, vocab)")
    raw = filtered_probs(logits)
    print(f"   softmax:\n   {_kept(raw)}")

    print("\n2. Temperature divides the logits")
    for t in (0.7, 1.5):
        p = filtered_probs(logits, temperature=t)
        print(f"   T = {t}: P(mat) = {float(p[0, 0]):.3f}")

    print("\n3. Top-k keeps the k most probable words (k = 3)")
    print(f"   {_kept(filtered_probs(logits, top_k=3))}")

    print("\n4. Top-p keeps the fewest words with mass >= p (p = 0.9)")
    nucleus = filtered_probs(logits, top_p=0.9)
    mass = float(raw[nucleus > 0].sum())
    print(f"   {int((nucleus > 0).sum())} words, raw mass {mass:.3f}")
    print(f"   {_kept(nucleus)}")

    print("\n5. Repetition penalty 1.2 after seeing 'dog' and 'mat'")
    seen = torch.tensor([[EXAMPLE_WORDS.index(w) for w in ("dog", "mat")]])
    print(f"   previous_tokens {_shape(seen)} (batch, seq)")
    penalised = apply_repetition_penalty(logits, seen, 1.2)
    for w in ("mat", "dog"):
        i = EXAMPLE_WORDS.index(w)
        before, after = float(logits[0, i]), float(penalised[0, i])
        print(f"   {w}: logit {before:+.2f} -> {after:+.2f}")
    p_after = filtered_probs(penalised)[0, 0]
    print(f"   P(mat) {float(raw[0, 0]):.3f} -> {float(p_after):.3f}")

    print("\n6. Sampling: 200,000 draws with top-p = 0.9, T = 0.7")
    n = 200_000
    gen = torch.Generator().manual_seed(0)
    draws = sample_next_token(
        logits.expand(n, -1), temperature=0.7, top_p=0.9, generator=gen
    )
    print(f"   draws {_shape(draws)} int64")
    freq = torch.bincount(draws, minlength=len(EXAMPLE_WORDS)) / n
    target = filtered_probs(logits, temperature=0.7, top_p=0.9)[0]
    dev = float((freq - target).abs().max())
    print(f"   largest |frequency - probability| = {dev:.4f}")
    best = int(sample_next_token(logits, greedy=True))
    print(f"   greedy (argmax): {EXAMPLE_WORDS[best]}")

    print("\n7. Greedy decoding vs beam search on a bigram model")
    table = toy_bigram_table()  # [8, 8]
    model = bigram_model(table)
    prompt = torch.tensor([TOY_WORDS.index("the")])
    for beams in (1, 2):
        tokens, score = beam_search(
            model, prompt, beams, 2, length_penalty=0.0
        )
        words = " ".join(TOY_WORDS[int(i)] for i in tokens)
        prob = float(torch.tensor(score).exp())
        print(f"   {beams} beam(s): '{words}'  P = {prob:.3f}")
