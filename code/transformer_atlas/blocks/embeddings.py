"""Token embeddings, similarity as geometry, and the tied output projection.

A token embedding is a lookup table ``E [vocab_size, d_model]``: token id
``i`` becomes row ``i`` of ``E``, which is the same as the one-hot row
vector of ``i`` times ``E``. At the other end of a language model, the
output projection turns a hidden state ``h [batch, seq, d_model]`` into
logits ``[batch, seq, vocab_size]``; with weight tying it reuses ``E``:
``logits = h @ E^T``.

The last part trains a small next-character model with tied embeddings on
the source code of a few standard-library modules, so that the page can
show what a trained embedding looks like: digits end up near digits,
vowels near vowels.

The guide's page ``blocks/embeddings`` shows this module;
``tests/package/blocks/test_embeddings.py`` checks it against
``torch.nn.Embedding``, ``torch.nn.functional`` and autograd.
"""

from __future__ import annotations

# --8<-- [start:imports]
import importlib.util
import math
import string
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from transformer_atlas.common.validation import check_min_rank, shape_of

# --8<-- [end:imports]

__all__ = [
    "check_token_ids",
    "one_hot",
    "TokenEmbedding",
    "cosine_similarity",
    "nearest_neighbours",
    "OutputProjection",
    "CHAR_VOCAB",
    "STDLIB_MODULES",
    "stdlib_text",
    "CharLM",
    "CharLMResult",
    "train_char_lm",
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
    if torch.is_floating_point(ids) or torch.is_complex(ids) or (
        ids.dtype == torch.bool
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
        if vocab_size <= 0 or d_model <= 0:
            raise ValueError(
                "vocab_size and d_model must be positive, "
                f"got vocab_size={vocab_size}, d_model={d_model}"
            )
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
# --8<-- [start:char_data]
#: The 96 characters the model knows, grouped: whitespace, digits,
#: lowercase, uppercase, punctuation. A character's id is its index here.
CHAR_VOCAB = (
    "\n "
    + string.digits
    + string.ascii_lowercase
    + string.ascii_uppercase
    + string.punctuation
)

#: Standard-library modules whose source code is the training text.
STDLIB_MODULES = (
    "calendar",
    "colorsys",
    "fractions",
    "ipaddress",
    "json.decoder",
    "json.encoder",
    "statistics",
    "string",
    "textwrap",
)


def stdlib_text(modules: Sequence[str] = STDLIB_MODULES) -> str:
    """The source code of ``modules``, keeping only CHAR_VOCAB characters."""
    keep = set(CHAR_VOCAB)
    parts = []
    for name in modules:
        spec = importlib.util.find_spec(name)
        if spec is None or not spec.origin or not spec.origin.endswith(".py"):
            raise ValueError(f"no Python source for module {name!r}")
        with open(spec.origin, encoding="utf-8") as f:
            parts.append("".join(c for c in f.read() if c in keep))
    return "".join(parts)
# --8<-- [end:char_data]


# --8<-- [start:char_model]
class CharLM(nn.Module):
    """Predict a character from the ``context`` characters before it.

    ``ids [batch, context]`` -> logits ``[batch, vocab]``: embed each
    character with E, concatenate, one tanh hidden layer, project back to
    ``d_model`` and score every character against the same E (tied).
    """

    def __init__(
        self, vocab_size: int, d_model: int, context: int, hidden: int
    ) -> None:
        super().__init__()
        n_in = context * d_model
        self.embed = TokenEmbedding(vocab_size, d_model, init_std=0.1)
        self.w_1 = nn.Parameter(torch.randn(n_in, hidden) / math.sqrt(n_in))
        self.b_1 = nn.Parameter(torch.zeros(hidden))
        self.w_2 = nn.Parameter(
            torch.randn(hidden, d_model) / math.sqrt(hidden)
        )
        self.b_out = nn.Parameter(torch.zeros(vocab_size))

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        x = self.embed(ids).flatten(-2)  # [batch, context * d_model]
        h = torch.tanh(x @ self.w_1 + self.b_1) @ self.w_2  # [batch, d]
        return h @ self.embed.weight.T + self.b_out  # tied: h E^T + b
# --8<-- [end:char_model]


# --8<-- [start:char_training]
@dataclass
class CharLMResult:
    """What :func:`train_char_lm` returns.

    Attributes:
        model: the trained :class:`CharLM`.
        vocab: the characters; ``vocab[i]`` has id ``i``.
        initial_embedding: ``E [vocab, d_model]`` before training.
        losses: the training loss (cross-entropy, nats) of every step.
        n_chars: length of the training text.
    """

    model: CharLM
    vocab: str
    initial_embedding: torch.Tensor
    losses: list[float]
    n_chars: int

    @property
    def embedding(self) -> torch.Tensor:
        """The trained ``E [vocab, d_model]`` (detached)."""
        return self.model.embed.weight.detach()

    def ids(self, chars: str) -> torch.Tensor:
        """The ids ``[len(chars)]`` of ``chars``."""
        return torch.tensor([self.vocab.index(c) for c in chars])


def train_char_lm(
    text: str | None = None,
    d_model: int = 16,
    context: int = 4,
    hidden: int = 128,
    steps: int = 300,
    batch_size: int = 512,
    lr: float = 0.02,
    seed: int = 0,
) -> CharLMResult:
    """Train :class:`CharLM` on ``text`` (default :func:`stdlib_text`).

    Adam, written out, on random batches of ``context + 1`` characters.
    Runs single-threaded, so the result is the same on every machine
    with the same library versions.
    """
    text = stdlib_text() if text is None else text
    if len(text) <= context:
        raise ValueError(
            f"text must be longer than context={context} characters, "
            f"got {len(text)}"
        )
    index = {c: i for i, c in enumerate(CHAR_VOCAB)}
    data = torch.tensor([index[c] for c in text])  # [n_chars]
    windows = data.unfold(0, context + 1, 1)  # [n, context + 1]
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        torch.manual_seed(seed)
        model = CharLM(len(CHAR_VOCAB), d_model, context, hidden)
        start = model.embed.weight.detach().clone()
        params = list(model.parameters())  # E appears once: tied
        m = [torch.zeros_like(p) for p in params]
        v = [torch.zeros_like(p) for p in params]
        gen = torch.Generator().manual_seed(seed)
        losses = []
        for t in range(1, steps + 1):
            rows = torch.randint(len(windows), (batch_size,), generator=gen)
            batch = windows[rows]
            logits = model(batch[:, :-1])  # [batch, vocab]
            loss = F.cross_entropy(logits, batch[:, -1])
            grads = torch.autograd.grad(loss, params)
            with torch.no_grad():
                for p, g, m_p, v_p in zip(params, grads, m, v):
                    m_p.mul_(0.9).add_(g, alpha=0.1)
                    v_p.mul_(0.999).addcmul_(g, g, value=0.001)
                    step = m_p / (1 - 0.9**t)
                    scale = (v_p / (1 - 0.999**t)).sqrt_().add_(1e-8)
                    p.sub_(lr * step / scale)
            losses.append(float(loss.detach()))
    finally:
        torch.set_num_threads(threads)
    return CharLMResult(model, CHAR_VOCAB, start, losses, len(text))
# --8<-- [end:char_training]
