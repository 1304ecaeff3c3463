"""Token embeddings, similarity as geometry, and the tied output projection.

A token embedding is a lookup table ``E [vocab_size, d_model]``: token id
``i`` becomes row ``i`` of ``E``, which is the same as the one-hot row
vector of ``i`` times ``E``. At the other end of a language model, the
output projection turns a hidden state ``h [batch, seq, d_model]`` into
logits ``[batch, seq, vocab_size]``; with weight tying it reuses ``E``:
``logits = h @ E^T``.

The last part trains a small next-character model with tied embeddings
(:class:`CharLM`) on the standard library's source code
(:func:`transformer_atlas.common.data.load_corpus`), with the guide's one
training loop (:func:`transformer_atlas.training.tiny_gpt.fit`), so that
the page can show what a trained embedding looks like: digits end up near
digits, vowels near vowels. :func:`pca_2d` projects the trained table to
two dimensions for the page's picture.

The guide's page ``blocks/embeddings`` shows this module;
``tests/package/blocks/test_embeddings.py`` checks it against
``torch.nn.Embedding``, ``torch.nn.functional`` and autograd.
"""

from __future__ import annotations

# --8<-- [start:imports]
import functools
import math
import string
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from transformer_atlas.common.data import (
    CharTokenizer,
    load_corpus,
    split_train_val,
)
from transformer_atlas.common.threads import single_thread
from transformer_atlas.common.validation import (
    check_min_rank,
    check_positive_int,
    shape_of,
)

# --8<-- [end:imports]

__all__ = [
    "check_token_ids",
    "one_hot",
    "TokenEmbedding",
    "cosine_similarity",
    "nearest_neighbours",
    "OutputProjection",
    "CharLM",
    "CHAR_LM_SETTINGS",
    "CharLMResult",
    "train_char_lm",
    "trained_char_lm",
    "CHAR_KINDS",
    "pca_2d",
]


# --8<-- [start:checks]
def check_token_ids(ids: torch.Tensor, vocab_size: int) -> None:
    """Raise unless ``ids`` is an integer tensor with values in range.

    Valid ids are ``0 <= id < vocab_size``.
    """
    if not isinstance(ids, torch.Tensor):
        raise ValueError(
            f"token ids must be a torch.Tensor, got {type(ids).__name__}"
        )
    if (
        torch.is_floating_point(ids)
        or torch.is_complex(ids)
        or (ids.dtype == torch.bool)
    ):
        raise ValueError(
            "token ids must be an integer tensor (e.g. torch.long), "
            f"got dtype {ids.dtype}"
        )
    if ids.numel() and (int(ids.min()) < 0 or int(ids.max()) >= vocab_size):
        raise ValueError(
            f"token ids must lie in [0, vocab_size={vocab_size}), "
            f"got min {int(ids.min())} and max {int(ids.max())}"
        )


# --8<-- [end:checks]


# --8<-- [start:token_embedding]
def one_hot(ids: torch.Tensor, vocab_size: int) -> torch.Tensor:
    """``ids [batch, seq]`` -> float one-hot rows ``[batch, seq, vocab]``."""
    check_token_ids(ids, vocab_size)
    vocab = torch.arange(vocab_size, device=ids.device)
    return (ids[..., None] == vocab).float()


class TokenEmbedding(nn.Module):
    """A learned lookup table ``E [vocab_size, d_model]`` (GPT-2's WTE).

    Args:
        vocab_size: number of token ids.
        d_model: width of one token vector.
        init_std: standard deviation of the normal initialisation
            (0.02 in GPT-2).
    """

    def __init__(
        self, vocab_size: int, d_model: int, init_std: float = 0.02
    ) -> None:
        super().__init__()
        check_positive_int(vocab_size=vocab_size, d_model=d_model)
        self.vocab_size, self.d_model = vocab_size, d_model
        self.weight = nn.Parameter(torch.empty(vocab_size, d_model))
        nn.init.normal_(self.weight, mean=0.0, std=init_std)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        """``ids [batch, seq]`` -> ``[batch, seq, d_model]``: rows of E."""
        check_token_ids(ids, self.vocab_size)
        # rows of E: = self.weight[ids] = one_hot(ids) @ self.weight
        return F.embedding(ids, self.weight)


# --8<-- [end:token_embedding]


# --8<-- [start:similarity]
def cosine_similarity(
    a: torch.Tensor, b: torch.Tensor, eps: float = 1e-8
) -> torch.Tensor:
    """``a . b / (|a| |b|)`` over the last axis.

    ``a [..., d]`` and ``b [..., d]`` broadcast against each other; the
    result has their broadcast shape without the last axis. Norms below
    ``eps`` are raised to ``eps`` (as in ``F.cosine_similarity``).
    """
    check_min_rank("a", a, 1, "[..., d]")
    check_min_rank("b", b, 1, "[..., d]")
    if a.shape[-1] != b.shape[-1]:
        raise ValueError(
            "a and b must share their last dimension d, "
            f"got a {shape_of(a)} and b {shape_of(b)}"
        )
    dot = (a * b).sum(-1)
    norm_a = a.norm(dim=-1).clamp_min(eps)
    norm_b = b.norm(dim=-1).clamp_min(eps)
    return dot / (norm_a * norm_b)


def nearest_neighbours(
    table: torch.Tensor, ids: torch.Tensor, k: int = 3
) -> tuple[torch.Tensor, torch.Tensor]:
    """The ``k`` rows of ``table`` most cosine-similar to each query row.

    ``table [vocab, d]`` (an embedding matrix), ``ids [n]`` (the query
    rows). A row is never its own neighbour. Returns
    ``(neighbour ids [n, k], similarities [n, k])``, most similar first.
    """
    check_min_rank("table", table, 2, "[vocab, d]")
    check_token_ids(ids, table.shape[0])
    if not 1 <= k < table.shape[0]:
        raise ValueError(
            f"k must lie in [1, vocab - 1 = {table.shape[0] - 1}], got {k}"
        )
    sims = cosine_similarity(table[ids][:, None, :], table[None, :, :])
    sims[torch.arange(len(ids)), ids] = -math.inf  # exclude the row itself
    best = sims.topk(k, dim=-1)
    return best.indices, best.values


# --8<-- [end:similarity]


# --8<-- [start:output_projection]
class OutputProjection(nn.Module):
    """Hidden states ``[batch, seq, d_model]`` -> logits ``[..., vocab]``.

    Untied: ``logits = h @ W_out`` with its own ``W_out [d_model, vocab]``.
    Tied (``tie_to=embedding``): ``logits = h @ E^T``, where ``E`` is the
    embedding's ``weight [vocab, d_model]``: one matrix, used at both ends.
    """

    def __init__(
        self,
        d_model: int,
        vocab_size: int,
        tie_to: TokenEmbedding | None = None,
    ) -> None:
        super().__init__()
        self.d_model, self.vocab_size = d_model, vocab_size
        self.tie_to = tie_to
        if tie_to is None:
            self.w_out = nn.Parameter(torch.empty(d_model, vocab_size))
            nn.init.normal_(self.w_out, mean=0.0, std=0.02)
        elif tuple(tie_to.weight.shape) != (vocab_size, d_model):
            raise ValueError(
                "tie_to must embed vocab_size tokens in d_model dimensions "
                f"[{vocab_size}, {d_model}], "
                f"got weight {shape_of(tie_to.weight)}"
            )

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        """``h [batch, seq, d_model]`` -> ``[batch, seq, vocab_size]``."""
        check_min_rank("h", h, 1, "[..., d_model]")
        if h.shape[-1] != self.d_model:
            raise ValueError(
                f"h must have last dimension d_model={self.d_model}, "
                f"got shape {shape_of(h)}"
            )
        if self.tie_to is None:
            return h @ self.w_out
        return h @ self.tie_to.weight.T  # [d_model, vocab]


# --8<-- [end:output_projection]


# --------------------------------------------- a small trained embedding
# --8<-- [start:char_model]
class CharLM(nn.Module):
    """Predict every next character from the ``window`` characters up to it.

    ``ids [batch, seq]`` -> logits ``[batch, seq, vocab]``. At position
    ``t``: embed characters ``t - window + 1 .. t`` with E (zero vectors
    before the start of the sequence), concatenate them, one tanh hidden
    layer, project back to ``d_model`` and score every character against
    the same E (tied). The neural language model of Bengio et al. (2003),
    with tied embeddings.
    """

    def __init__(
        self,
        vocab_size: int,
        d_model: int = 16,
        window: int = 4,
        hidden: int = 128,
    ) -> None:
        super().__init__()
        check_positive_int(window=window, hidden=hidden)
        n_in = window * d_model
        self.window = window
        self.embed = TokenEmbedding(vocab_size, d_model, init_std=0.1)
        self.w_1 = nn.Parameter(torch.randn(n_in, hidden) / math.sqrt(n_in))
        self.b_1 = nn.Parameter(torch.zeros(hidden))
        self.w_2 = nn.Parameter(
            torch.randn(hidden, d_model) / math.sqrt(hidden)
        )
        self.b_out = nn.Parameter(torch.zeros(vocab_size))

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        x = self.embed(ids)  # [batch, seq, d_model]
        x = F.pad(x, (0, 0, self.window - 1, 0))  # zero rows in front
        x = x.unfold(1, self.window, 1)  # [batch, seq, d_model, window]
        x = x.transpose(-1, -2).flatten(-2)  # [batch, seq, window * d]
        h = torch.tanh(x @ self.w_1 + self.b_1) @ self.w_2  # [b, seq, d]
        return h @ self.embed.weight.T + self.b_out  # tied: h E^T + b


# --8<-- [end:char_model]


# --8<-- [start:char_training]
#: The page's run, as fields of the GPT track's TrainConfig: 600 steps of
#: 16 windows of 32 characters, warm-up then cosine decay from 0.02.
CHAR_LM_SETTINGS: dict[str, Any] = {
    "iters": 600,
    "batch_size": 16,
    "block_size": 32,
    "d_model": 16,
    "max_lr": 0.02,
    "min_lr": 0.002,
    "warmup_iters": 20,
    "seed": 0,
}


@dataclass
class CharLMResult:
    """What :func:`train_char_lm` returns.

    Attributes:
        model: the trained :class:`CharLM`.
        tokenizer: the corpus's characters; ``tokenizer.chars[i]`` has
            id ``i``.
        initial_embedding: ``E [vocab, d_model]`` before training.
        losses: the training loss (cross-entropy, nats) of every step.
        n_chars: length of the corpus.
    """

    model: CharLM
    tokenizer: CharTokenizer
    initial_embedding: torch.Tensor
    losses: list[float]
    n_chars: int

    @property
    def embedding(self) -> torch.Tensor:
        """The trained ``E [vocab, d_model]`` (detached)."""
        return self.model.embed.weight.detach()

    def ids(self, chars: str) -> torch.Tensor:
        """The ids ``[len(chars)]`` of ``chars``."""
        return torch.tensor(self.tokenizer.encode(chars))


def train_char_lm(**settings: Any) -> CharLMResult:
    """Train :class:`CharLM` with the guide's one loop, ``fit``.

    ``settings`` are fields of ``training.tiny_gpt.TrainConfig`` that
    replace those of :data:`CHAR_LM_SETTINGS` (``seed=1``, ``iters=300``,
    ``corpus="my.txt"``). The corpus is split 90/10 as everywhere; the
    model trains on the first 90%. Single-threaded, so the result is the
    same on every machine with the same library versions.
    """
    # imported here: tiny_gpt's GPT is built from this module's classes
    from transformer_atlas.training.tiny_gpt import TrainConfig, fit

    cfg = TrainConfig(**{**CHAR_LM_SETTINGS, **settings})
    text = load_corpus(cfg.corpus, max_bytes=cfg.max_bytes)
    tokenizer = CharTokenizer.from_text(text)
    train_ids, _ = split_train_val(torch.tensor(tokenizer.encode(text)))
    with single_thread():
        torch.manual_seed(cfg.seed)  # the initial weights
        model = CharLM(tokenizer.vocab_size, cfg.d_model)
        start = model.embed.weight.detach().clone()
        losses = fit(model, train_ids, cfg, progress=False)
    return CharLMResult(model, tokenizer, start, losses, len(text))


@functools.lru_cache(maxsize=4)
def trained_char_lm(seed: int = 0, iters: int = 600) -> CharLMResult:
    """:func:`train_char_lm` with the page's settings, cached.

    The figures and the tests share one run per ``(seed, iters)``; do
    not modify the model it returns.
    """
    return train_char_lm(seed=seed, iters=iters)


# --8<-- [end:char_training]


# --8<-- [start:pca]
#: Kinds of character: the standard library's source (printable ASCII,
#: space and newline) has each of its characters in exactly one kind.
CHAR_KINDS: dict[str, str] = {
    "digit": string.digits,
    "vowel": "aeiou",
    "other lowercase": "".join(
        c for c in string.ascii_lowercase if c not in "aeiou"
    ),
    "uppercase": string.ascii_uppercase,
    "bracket": "()[]{}",
    "other punctuation / space": "".join(
        c for c in string.punctuation if c not in "()[]{}"
    )
    + " \n",
}


def pca_2d(x: np.ndarray) -> np.ndarray:
    """Project the rows of ``x [n, d]`` on its top two principal axes.

    Centre the rows, take the SVD ``X = U S V^T``; the coordinates are
    ``X V[:, :2]`` (``[n, 2]``), the first column the direction of largest
    variance. Signs are fixed so that each axis's largest loading is
    positive.
    """
    x = np.asarray(x, dtype=float)
    if x.ndim != 2 or x.shape[0] < 2 or x.shape[1] < 2:
        raise ValueError(
            f"x must be [n, d] with n >= 2 and d >= 2, got shape {x.shape}"
        )
    centred = x - x.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    axes = vt[:2]  # [2, d]
    signs = np.sign(axes[np.arange(2), np.abs(axes).argmax(axis=1)])
    return centred @ (axes * signs[:, None]).T


# --8<-- [end:pca]
