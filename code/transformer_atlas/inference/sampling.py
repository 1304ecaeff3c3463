"""Decoding: turning next-token logits into a choice of token.

A language model gives, for the last position, a distribution over the
vocabulary; a decoding strategy chooses from it. Every function here works
on logits ``[..., vocab]`` (the last axis is the vocabulary) and follows
the rules of Hugging Face ``transformers``:

* :func:`apply_temperature` ``z / T`` (``TemperatureLogitsWarper``);
* :func:`top_k_filter` keeps the ``k`` largest logits; a logit tied with
  the ``k``-th largest is kept too (``TopKLogitsWarper``);
* :func:`top_p_filter` keeps the smallest set of most probable tokens
  whose probability mass is ``>= p``, the nucleus (``TopPLogitsWarper``);
* :func:`apply_repetition_penalty` the CTRL rule: a logit of a token
  already seen is divided by the penalty if positive, multiplied by it if
  negative (``RepetitionPenaltyLogitsProcessor``);
* :func:`filtered_probs` and :func:`sample_next_token`: temperature, then
  top-k, then top-p, then a draw from the softmax (or the argmax);
* :func:`beam_search` keeps the ``num_beams`` best partial sequences by
  summed log-probability and returns the best finished one, scored like
  ``model.generate(num_beams=..., early_stopping="never")``.

Filtered-out logits become ``-inf``, so their probability is exactly 0.
The guide's page ``inference/sampling`` shows this module;
``tests/package/inference/test_sampling.py`` checks it against the Hugging Face
processors, against ``GPT2LMHeadModel.generate`` for beam search, by
brute force over all subsets and all sequences, and with chi-square tests
on 200,000 draws.
"""

from __future__ import annotations

# --8<-- [start:imports]
from collections.abc import Callable

import torch

from transformer_atlas.blocks.logits_softmax import log_softmax, softmax
from transformer_atlas.common.validation import (
    check_min_rank,
    check_positive_float,
    check_rank,
    shape_of,
)

# --8<-- [end:imports]

__all__ = [
    "NextLogits",
    "apply_temperature",
    "top_k_filter",
    "top_p_filter",
    "apply_repetition_penalty",
    "filtered_probs",
    "sample_next_token",
    "beam_search",
]


# --8<-- [start:checks]
# next_logits(tokens [beams, cur_len]) -> logits [beams, vocab]
NextLogits = Callable[[torch.Tensor], torch.Tensor]


def _check_logits(logits: torch.Tensor) -> None:
    """Raise unless ``logits`` is a floating tensor ``[..., vocab]``."""
    check_min_rank("logits", logits, 1, "[..., vocab]")
    if logits.shape[-1] < 1 or not logits.is_floating_point():
        raise ValueError(
            "logits must be a floating tensor [..., vocab] with vocab >= 1, "
            f"got shape {shape_of(logits)} and dtype {logits.dtype}"
        )


# --8<-- [end:checks]


# --8<-- [start:temperature]
def apply_temperature(
    logits: torch.Tensor, temperature: float
) -> torch.Tensor:
    """``logits / T``: ``T < 1`` sharpens, ``T > 1`` flattens.

    Args:
        logits: ``[..., vocab]``.
        temperature: ``T > 0``. (``T -> 0`` tends to the argmax: use
            greedy decoding for that.)

    Returns:
        ``[..., vocab]``, the scaled logits.
    """
    _check_logits(logits)
    check_positive_float("temperature", temperature)
    return logits / temperature


# --8<-- [end:temperature]


# --8<-- [start:top_k]
def top_k_filter(logits: torch.Tensor, k: int) -> torch.Tensor:
    """Keep the ``k`` largest logits of each row, set the rest to ``-inf``.

    A logit equal to the ``k``-th largest is kept too, so a tie at the
    boundary keeps more than ``k`` tokens (the rule of Hugging Face's
    ``TopKLogitsWarper``). ``k >= vocab`` keeps everything.

    Args:
        logits: ``[..., vocab]``.
        k: number of tokens to keep, ``k >= 1``.

    Returns:
        ``[..., vocab]``, filtered logits.
    """
    _check_logits(logits)
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"k must be an integer >= 1, got {k!r}")
    k = min(k, logits.shape[-1])
    kth_largest = torch.topk(logits, k, dim=-1).values[..., -1:]
    return logits.masked_fill(logits < kth_largest, float("-inf"))


# --8<-- [end:top_k]


# --8<-- [start:top_p]
def top_p_filter(logits: torch.Tensor, p: float) -> torch.Tensor:
    """Keep the nucleus: the fewest most-probable tokens with mass ``>= p``.

    Sort the probabilities in decreasing order; token ``i`` (in that order)
    is kept iff the mass of the tokens ranked above it is ``< p``. The top
    token is always kept; ``p = 1`` keeps everything. Equal probabilities
    at the boundary are ranked by position (a stable sort), so the set is
    then one of several smallest sets.

    Args:
        logits: ``[..., vocab]``.
        p: the probability mass to cover, ``0 < p <= 1``.

    Returns:
        ``[..., vocab]``, filtered logits.
    """
    _check_logits(logits)
    if not 0.0 < p <= 1.0:
        raise ValueError(f"p must be in (0, 1], got {p!r}")
    if p == 1.0:
        return logits.clone()
    sorted_logits, order = torch.sort(
        logits, dim=-1, descending=True, stable=True
    )
    probs = softmax(sorted_logits, dim=-1)
    mass_above = probs.cumsum(dim=-1) - probs  # mass ranked above token i
    remove_sorted = mass_above >= p
    remove = remove_sorted.scatter(-1, order, remove_sorted)
    return logits.masked_fill(remove, float("-inf"))


# --8<-- [end:top_p]


# --8<-- [start:repetition_penalty]
def apply_repetition_penalty(
    logits: torch.Tensor,
    previous_tokens: torch.Tensor,
    penalty: float,
) -> torch.Tensor:
    """Make tokens already seen less likely (CTRL, Keskar et al. 2019).

    For every token id in ``previous_tokens[b]``, its logit in row ``b``
    becomes ``z / penalty`` if ``z > 0`` and ``z * penalty`` otherwise, so
    with ``penalty > 1`` it always moves down. A token is penalised once,
    however often it occurred. ``penalty = 1`` changes nothing; ``< 1``
    rewards repetition.

    Args:
        logits: ``[batch, vocab]``, next-token logits.
        previous_tokens: ``[batch, seq]`` int64, the ids seen so far
            (prompt and generated tokens).
        penalty: ``> 0``.

    Returns:
        ``[batch, vocab]``, penalised logits.
    """
    check_rank("logits", logits, 2, "[batch, vocab]")
    check_rank("previous_tokens", previous_tokens, 2, "[batch, seq]")
    check_positive_float("penalty", penalty)
    vocab = logits.shape[-1]
    if previous_tokens.shape[0] != logits.shape[0] or (
        previous_tokens.dtype != torch.int64
    ):
        raise ValueError(
            "previous_tokens must be int64 [batch, seq] with the batch of "
            f"logits {shape_of(logits)}, got {shape_of(previous_tokens)} "
            f"of dtype {previous_tokens.dtype}"
        )
    if previous_tokens.numel() and not (
        0 <= int(previous_tokens.min()) and int(previous_tokens.max()) < vocab
    ):
        raise ValueError(
            f"previous_tokens must be ids in [0, {vocab}), got values in "
            f"[{int(previous_tokens.min())}, {int(previous_tokens.max())}]"
        )
    seen = torch.zeros_like(logits, dtype=torch.bool)
    seen.scatter_(-1, previous_tokens, True)  # [batch, vocab]
    penalised = torch.where(logits > 0, logits / penalty, logits * penalty)
    return torch.where(seen, penalised, logits)


# --8<-- [end:repetition_penalty]


# --8<-- [start:sample]
def filtered_probs(
    logits: torch.Tensor,
    *,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
) -> torch.Tensor:
    """The distribution sampling draws from: temperature, top-k, top-p.

    Args:
        logits: ``[..., vocab]``.
        temperature: ``T > 0``.
        top_k: keep the ``k`` largest (``None``: no top-k).
        top_p: keep the nucleus of mass ``p`` (``None``: no top-p).

    Returns:
        ``[..., vocab]`` probabilities; filtered tokens get exactly 0.
    """
    z = apply_temperature(logits, temperature)
    if top_k is not None:
        z = top_k_filter(z, top_k)
    if top_p is not None:
        z = top_p_filter(z, top_p)
    return softmax(z, dim=-1)


def sample_next_token(
    logits: torch.Tensor,
    *,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    greedy: bool = False,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Choose one next token per row.

    ``greedy=True`` returns the argmax (the first one on a tie); it ignores
    ``temperature``, ``top_k`` and ``top_p``, none of which moves the
    argmax. Otherwise one token is drawn from :func:`filtered_probs`.

    Args:
        logits: ``[batch, vocab]``, the logits of the last position.
        temperature, top_k, top_p: see :func:`filtered_probs`.
        greedy: take the most probable token instead of sampling.
        generator: a seeded ``torch.Generator`` for reproducible draws.

    Returns:
        ``[batch]`` int64 token ids.
    """
    check_rank("logits", logits, 2, "[batch, vocab]")
    if greedy:
        return logits.argmax(dim=-1)
    probs = filtered_probs(
        logits, temperature=temperature, top_k=top_k, top_p=top_p
    )
    return torch.multinomial(probs, 1, generator=generator).squeeze(-1)


# --8<-- [end:sample]


# --8<-- [start:beam_search]
@torch.no_grad()
def beam_search(
    next_logits: NextLogits,
    prompt: torch.Tensor,
    num_beams: int,
    max_new_tokens: int,
    eos_token_id: int | None = None,
    length_penalty: float = 1.0,
) -> tuple[torch.Tensor, float]:
    """The most probable continuation that ``num_beams`` beams can find.

    A hypothesis ``y`` of ``L`` new tokens scores
    ``sum_t log p(y_t | prompt, y_<t) / L ** length_penalty``. Each step
    extends every beam by every token and keeps the ``num_beams`` best
    sums. A candidate ending in ``eos_token_id`` is finished (if it ranks
    among the ``num_beams`` best of the step); after ``max_new_tokens``
    the surviving beams are finished too. The best finished hypothesis
    wins. This is Hugging Face's ``generate(num_beams=..., do_sample=False,
    early_stopping="never")`` for ``num_beams >= 2``; ``num_beams=1``
    without ``eos`` is greedy decoding.

    Args:
        next_logits: maps tokens ``[beams, cur_len]`` to the logits of the
            last position ``[beams, vocab]``, e.g.
            ``lambda t: model(t)[:, -1]``.
        prompt: ``[seq]`` int64 token ids.
        num_beams: number of hypotheses kept per step, ``>= 1``.
        max_new_tokens: number of tokens to generate at most, ``>= 1``.
        eos_token_id: the end-of-sequence id, or ``None``.
        length_penalty: exponent ``alpha`` of the length ``L``.

    Returns:
        ``(tokens [seq + L], score)``: prompt plus the best continuation
        (its ``eos`` included), and its length-normalised score.
    """
    check_rank("prompt", prompt, 1, "[seq]")
    if num_beams < 1 or max_new_tokens < 1:
        raise ValueError(
            "num_beams and max_new_tokens must be >= 1, "
            f"got {num_beams} and {max_new_tokens}"
        )
    beams = prompt[None, :]  # [beams, cur_len], one beam to start
    sums = torch.zeros(1, device=prompt.device)  # summed log-probs
    finished: list[tuple[float, torch.Tensor]] = []  # (score, tokens)
    for length in range(1, max_new_tokens + 1):
        logp = log_softmax(next_logits(beams), dim=-1)  # [beams, vocab]
        vocab = logp.shape[-1]
        total = (sums[:, None] + logp).flatten()  # [beams * vocab]
        top = torch.topk(total, min(2 * num_beams, total.numel()))
        keep, kept_sums = [], []
        for rank, (s, i) in enumerate(zip(top.values, top.indices)):
            beam, token = divmod(int(i), vocab)
            tokens = torch.cat([beams[beam], prompt.new_tensor([token])])
            if token == eos_token_id:
                if rank < num_beams:
                    score = float(s) / length**length_penalty
                    finished.append((score, tokens))
            elif len(keep) < num_beams:
                keep.append(tokens)
                kept_sums.append(s)
        if not keep:
            break
        beams, sums = torch.stack(keep), torch.stack(kept_sums)
    else:  # max_new_tokens reached: the surviving beams are finished
        for s, tokens in zip(sums, beams):
            score = float(s) / max_new_tokens**length_penalty
            finished.append((score, tokens))
    best_score, best_tokens = max(finished, key=lambda f: f[0])
    return best_tokens, best_score


# --8<-- [end:beam_search]
