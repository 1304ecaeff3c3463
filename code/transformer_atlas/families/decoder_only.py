"""Decoder-only language models: GPT-2 and LLaMA from the guide's blocks.

A decoder-only model is a stack of
:class:`~transformer_atlas.architecture.decoder.\
DecoderBlock` between a token embedding and an output projection::

    h_0 = E[idx] (+ P[0 .. seq-1])        # [batch, seq, d_model]
    h_l = Block_l(h_{l-1})                # l = 1 .. n_layers
    logits = N_f(h_L) @ W_out             # [batch, seq, vocab_size]

Row ``t`` of the logits scores the token that follows position ``t``. The
two families differ only in the parts:

============== ======================== ==================================
part           GPT-2                    LLaMA
============== ======================== ==================================
positions      learned table ``P``      RoPE inside attention
norm           LayerNorm (with bias)    RMSNorm
feed-forward   GELU (tanh), 4 d_model   SwiGLU, about 8/3 d_model
attention      MHA with biases          GQA, no biases
output         tied: ``W_out = E^T``    its own ``W_out``
============== ======================== ==================================

:class:`GPTConfig` names every choice; :func:`gpt2_config`,
:func:`llama_config` and :func:`baby_gpt_config` fill them in.
"""

from __future__ import annotations

# --8<-- [start:imports]
import math
from dataclasses import dataclass, replace

import torch
from torch import nn

from transformer_atlas.architecture.decoder import DecoderBlock
from transformer_atlas.blocks.embeddings import (
    OutputProjection,
    TokenEmbedding,
)
from transformer_atlas.blocks.feed_forward import swiglu_hidden_size
from transformer_atlas.blocks.positional_encoding import (
    LearnedPositionalEmbedding,
)
from transformer_atlas.blocks.residual import make_norm
from transformer_atlas.common.validation import check_positive_int
from transformer_atlas.inference.kv_cache import KVCache

# --8<-- [end:imports]

__all__ = [
    "GPTConfig",
    "GPT",
    "gpt2_config",
    "llama_config",
    "baby_gpt_config",
    "count_parameters",
    "PARTS",
    "block_breakdown",
    "parameter_breakdown",
    "count_by_part",
]


# --8<-- [start:config]
@dataclass(frozen=True)
class GPTConfig:
    """Every choice of a decoder-only model (defaults: GPT-2 small).

    ``n_kv_heads=None`` means ``n_heads`` (MHA); ``d_ff=None`` means
    ``4 * d_model`` for a GELU FFN and LLaMA's 8/3 rule for SwiGLU (see
    the properties :attr:`kv_heads` and :attr:`ffn_width`).
    ``rope_scaling``: LLaMA-3.1's RoPE frequency scaling, the keyword
    arguments of ``llama3_rope_frequencies`` (``blocks/positional_encoding``);
    ``None``: plain RoPE.
    """

    vocab_size: int = 50257
    max_seq_len: int = 1024  # the context window ("block size")
    n_layers: int = 12
    n_heads: int = 12
    d_model: int = 768
    n_kv_heads: int | None = None
    d_ff: int | None = None
    norm: str = "layer"  # "layer" | "rms"
    positions: str = "learned"  # "learned" | "rope"
    ffn: str = "gelu_tanh"  # "gelu_tanh" | "gelu" | "relu" | "swiglu"
    bias: bool = True
    tie_embeddings: bool = True
    norm_eps: float = 1e-5
    rope_base: float = 10000.0
    rope_scaling: dict[str, float] | None = None  # LLaMA-3.1
    dropout: float = 0.0

    def __post_init__(self) -> None:
        check_positive_int(
            **{
                n: getattr(self, n)
                for n in ("vocab_size", "max_seq_len", "n_layers", "n_heads")
            }
        )
        if self.d_model <= 0 or self.d_model % self.n_heads:
            raise ValueError(
                "d_model must be a positive multiple of n_heads, got "
                f"d_model={self.d_model}, n_heads={self.n_heads}"
            )
        if self.positions not in ("learned", "rope"):
            raise ValueError(
                "positions must be 'learned' or 'rope', "
                f"got {self.positions!r}"
            )
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")

    @property
    def kv_heads(self) -> int:
        """Key/value heads: ``n_kv_heads``, or ``n_heads`` if None."""
        return self.n_heads if self.n_kv_heads is None else self.n_kv_heads

    @property
    def ffn_width(self) -> int:
        """The FFN's hidden width: ``d_ff``, or the family's default."""
        if self.d_ff is not None:
            return self.d_ff
        if self.ffn == "swiglu":
            return swiglu_hidden_size(self.d_model)
        return 4 * self.d_model

    @property
    def d_head(self) -> int:
        """Width of one attention head, ``d_model / n_heads``."""
        return self.d_model // self.n_heads


def gpt2_config(**overrides: object) -> GPTConfig:
    """GPT-2 small (124M): 12 layers, 12 heads, 768 wide, 1,024 context."""
    return replace(GPTConfig(), **overrides)


def llama_config(**overrides: object) -> GPTConfig:
    """LLaMA-2 7B: 32 layers, 4,096 wide, RoPE, RMSNorm, SwiGLU.

    Pass ``n_kv_heads`` below ``n_heads`` for grouped-query attention
    (LLaMA-2 70B and LLaMA-3 use 8 K/V heads).
    """
    llama = GPTConfig(
        vocab_size=32000,
        max_seq_len=4096,
        n_layers=32,
        n_heads=32,
        d_model=4096,
        d_ff=11008,
        norm="rms",
        positions="rope",
        ffn="swiglu",
        bias=False,
        tie_embeddings=False,
        norm_eps=1e-5,
    )
    if "d_model" in overrides and "d_ff" not in overrides:
        overrides["d_ff"] = None  # recompute 8/3 d_model for the new width
    return replace(llama, **overrides)


def baby_gpt_config(vocab_size: int, **overrides: object) -> GPTConfig:
    """nanoGPT's "baby GPT" for CPUs: 4 layers, 4 heads, 128 wide, 64 long.

    GPT-2 parts as nanoGPT builds them: no biases (its ``bias=False``)
    and the exact GELU (its ``nn.GELU()``).
    """
    baby = GPTConfig(
        vocab_size=vocab_size,
        max_seq_len=64,
        n_layers=4,
        n_heads=4,
        d_model=128,
        bias=False,
        ffn="gelu",
    )
    return replace(baby, **overrides)


# --8<-- [end:config]


# --8<-- [start:count]
#: The parts, in the order the page's table and figure list them.
PARTS = (
    "token embeddings",
    "positions",
    "attention",
    "feed-forward",
    "norms",
    "output head",
)


def block_breakdown(c: GPTConfig) -> dict[str, int]:
    """Parameters of ONE decoder block: attention, feed-forward, norms."""
    d, f = c.d_model, c.ffn_width
    d_kv = c.kv_heads * c.d_head  # width of K and V (GQA: < d)
    attention = 2 * d * d + 2 * d * d_kv  # W_Q, W_O; W_K, W_V
    if c.bias:
        attention += 2 * d + 2 * d_kv
    if c.ffn == "swiglu":
        ffn = 3 * d * f  # W_gate, W_up, W_down; no biases
    else:
        ffn = 2 * d * f + ((f + d) if c.bias else 0)  # W_1, W_2 (+ b)
    norm = 2 * d if (c.norm == "layer" and c.bias) else d  # gain (+bias)
    return {"attention": attention, "feed-forward": ffn, "norms": 2 * norm}


def parameter_breakdown(c: GPTConfig) -> dict[str, int]:
    """Parameters of ``GPT(c)`` by part; the values sum to the total."""
    block = block_breakdown(c)
    d = c.d_model
    final_norm = block["norms"] // 2  # one more norm after the last block
    return {
        "token embeddings": c.vocab_size * d,  # E [vocab, d]
        "positions": c.max_seq_len * d if c.positions == "learned" else 0,
        "attention": c.n_layers * block["attention"],
        "feed-forward": c.n_layers * block["feed-forward"],
        "norms": c.n_layers * block["norms"] + final_norm,
        "output head": 0 if c.tie_embeddings else d * c.vocab_size,
    }


def count_parameters(c: GPTConfig) -> int:
    """The number of parameters of ``GPT(c)``, in closed form.

    The sum of :func:`parameter_breakdown`: per block two norms,
    attention (``W_Q, W_O: d x d``; ``W_K, W_V: d x d_kv`` with
    ``d_kv = n_kv_heads * d_head``) and the FFN (two ``d x d_ff``
    matrices, three for SwiGLU), plus biases; then the embeddings, the
    final norm and an untied head.
    """
    return sum(parameter_breakdown(c).values())


# --8<-- [end:count]


# --8<-- [start:model]
class GPT(nn.Module):
    """A decoder-only language model: ``idx [batch, seq]`` -> logits."""

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        c = self.config = config
        self.tok = TokenEmbedding(c.vocab_size, c.d_model)
        self.pos = (
            LearnedPositionalEmbedding(c.max_seq_len, c.d_model)
            if c.positions == "learned"
            else None
        )
        self.drop = nn.Dropout(c.dropout) if c.dropout else nn.Identity()
        self.blocks = nn.ModuleList(
            DecoderBlock(
                c.d_model,
                c.n_heads,
                c.ffn_width,
                n_kv_heads=c.kv_heads,
                ffn=c.ffn,
                norm=c.norm,
                eps=c.norm_eps,
                bias=c.bias,
                rope_base=c.rope_base if c.positions == "rope" else None,
                dropout=c.dropout,
                rope_scaling=c.rope_scaling,
            )
            for _ in range(c.n_layers)
        )
        self.norm_f = make_norm(c.norm, c.d_model, c.norm_eps, c.bias)
        self.head = OutputProjection(
            c.d_model, c.vocab_size, self.tok if c.tie_embeddings else None
        )
        self.reset_parameters()

    def forward(
        self,
        idx: torch.Tensor,
        cache: KVCache | None = None,
        last_only: bool = False,
    ) -> torch.Tensor:
        """Logits ``[batch, seq, vocab_size]`` for token ids ``idx``.

        ``cache``: positions already processed (see :meth:`new_cache`);
        ``idx [batch, seq]`` then holds only the new tokens.
        ``last_only``: project only the last position (``seq`` becomes 1),
        which is all that generation needs.
        """
        start = 0 if cache is None else cache.length
        if start + idx.shape[-1] > self.config.max_seq_len:
            raise ValueError(
                f"the model's context holds max_seq_len="
                f"{self.config.max_seq_len} tokens, got {start} cached + "
                f"{idx.shape[-1]} new"
            )
        x = self.tok(idx)  # [batch, seq, d_model]
        if self.pos is not None:
            x = self.pos(x, start)
        x = self.drop(x)
        for layer, block in enumerate(self.blocks):
            x = block(x, cache=cache, layer=layer)
        if cache is not None:
            cache.advance(idx.shape[-1])
        if last_only:
            x = x[:, -1:]
        return self.head(self.norm_f(x))  # [batch, seq, vocab_size]

    def new_cache(self, batch: int, max_len: int | None = None) -> KVCache:
        """An empty :class:`KVCache` for this model (default: full context)."""
        c = self.config
        return KVCache(
            c.n_layers,
            batch,
            c.kv_heads,
            c.max_seq_len if max_len is None else max_len,
            c.d_head,
            dtype=self.tok.weight.dtype,
            device=self.tok.weight.device,
        )

    # --8<-- [end:model]

    # --8<-- [start:init]
    def reset_parameters(self) -> None:
        """GPT-2's initialisation.

        Matrices and embeddings ~ N(0, 0.02^2); the two matrices that write
        into the residual stream (``W_O`` and the FFN's output) use
        ``0.02 / sqrt(2 n_layers)``, so the stream's variance does not grow
        with depth; biases 0, norm gains 1.
        """
        residual_std = 0.02 / math.sqrt(2 * self.config.n_layers)
        for name, p in self.named_parameters():
            leaf = name.rsplit(".", 1)[-1]
            if leaf == "gamma":  # norm gains
                nn.init.ones_(p)
            elif p.dim() < 2:  # biases
                nn.init.zeros_(p)
            elif leaf in ("w_o", "w_2", "w_down"):  # write to the stream
                nn.init.normal_(p, std=residual_std)
            else:
                nn.init.normal_(p, std=0.02)

    # --8<-- [end:init]


# --8<-- [start:by_part]
def count_by_part(model: nn.Module) -> dict[str, int]:
    """Count a :class:`~transformer_atlas.families.decoder_only.GPT`'s
    parameters by part.

    Reads the parameter names (``tok``, ``pos``, ``blocks.<i>.attn``,
    ``blocks.<i>.ffn``, ``...norm...``, ``head``); works on the ``meta``
    device, where no memory is allocated. A tied head shares ``tok``'s
    weight, which ``named_parameters`` lists once, so it counts 0.
    """
    parts = dict.fromkeys(PARTS, 0)
    for name, p in model.named_parameters():
        first = name.split(".")[0]
        inner = name.split(".")[2] if first == "blocks" else ""
        if first == "tok":
            part = "token embeddings"
        elif first == "pos":
            part = "positions"
        elif first == "head":
            part = "output head"
        elif inner == "attn":
            part = "attention"
        elif inner == "ffn":
            part = "feed-forward"
        elif "norm" in (inner or first):
            part = "norms"
        else:
            raise ValueError(
                f"a parameter of no known part: {name!r} "
                "(expected tok, pos, blocks.<i>.attn/ffn/norm_*, norm_f, "
                "head)"
            )
        parts[part] += p.numel()
    return parts


# --8<-- [end:by_part]
