"""Where a decoder-only model's parameters live, part by part.

:func:`~transformer_atlas.gpt.count_parameters` gives one number;
:func:`parameter_breakdown` splits the same count into the parts a reader
cares about (token embeddings, positions, attention, feed-forward, norms,
output head), and :func:`count_by_part` measures the same split on a real
module by the names of its parameters. The tests check that the parts sum
to :func:`~transformer_atlas.gpt.count_parameters` and that both agree
with Hugging Face models built on the ``meta`` device.

The guide's page ``families/decoder-only`` shows this code.
"""

from __future__ import annotations

# --8<-- [start:imports]
from torch import nn

from transformer_atlas.gpt import GPTConfig

# --8<-- [end:imports]

__all__ = ["PARTS", "block_breakdown", "count_by_part", "parameter_breakdown"]


# --8<-- [start:breakdown]
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
# --8<-- [end:breakdown]


# --8<-- [start:by_part]
def count_by_part(model: nn.Module) -> dict[str, int]:
    """Count a :class:`~transformer_atlas.gpt.GPT`'s parameters by part.

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
