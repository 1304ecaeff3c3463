"""The decoder block against oracles we did not write, and its page's claims.

* ``DecoderBlock(cross_attention=True)`` vs ``torch.nn.TransformerDecoderLayer
  (norm_first=True, batch_first=True, dropout=0)`` with copied (transposed)
  weights, GELU and ReLU, several shapes, the causal ``tgt_mask`` given as a
  float mask with ``tgt_is_causal=True`` and as a boolean mask: same output
  to 1e-5.
* The decoder-only block (``cross_attention=False``) vs
  ``torch.nn.TransformerEncoderLayer(norm_first=True)`` with a causal
  ``src_mask``: a decoder-only block *is* a pre-norm self-attention block
  with a causal mask.
* Causality (hypothesis over lengths and positions): changing the inputs at
  positions ``>= p`` leaves every output before ``p`` unchanged, for GPT-2,
  LLaMA (RoPE, GQA, RMSNorm, SwiGLU) and encoder-decoder parts; a prefix
  gives the prefix of the outputs.
* Cross-attention reads every memory position: changing any one memory row
  changes every output row.
* The figure's weights: those of ``CausalSelfAttention`` (its fused
  forward gives the same output), 0 above the diagonal, rows summing to 1.
* The demo, and "page claims": what ``docs/architecture/decoder.md`` states.
"""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from transformer_atlas.architecture.decoder import (
    CausalSelfAttention,
    DecoderBlock,
)
from transformer_atlas.blocks.attention import MultiHeadAttention, causal_mask
from transformer_atlas.common.threads import single_thread
from transformer_atlas.figures.architecture.decoder import (
    causal_attention_weights,
    decoder_causal_mask,
)

TOL = {"rtol": 1e-5, "atol": 1e-5}


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny matrices: one thread is faster, and the machine is shared."""
    with single_thread():
        yield


# ---------------------------------------------------------------- helpers
def _copy_mha(ours: nn.Module, theirs: nn.MultiheadAttention) -> None:
    """torch's ``in_proj_weight [3d, d]`` holds W_Q^T, W_K^T, W_V^T."""
    d = ours.d_model
    w_q, w_k, w_v = theirs.in_proj_weight.split(d, dim=0)
    b_q, b_k, b_v = theirs.in_proj_bias.split(d)
    pairs = [
        (ours.w_q, w_q.T),
        (ours.w_k, w_k.T),
        (ours.w_v, w_v.T),
        (ours.b_q, b_q),
        (ours.b_k, b_k),
        (ours.b_v, b_v),
        (ours.w_o, theirs.out_proj.weight.T),
        (ours.b_o, theirs.out_proj.bias),
    ]
    for mine, src in pairs:
        assert mine.shape == src.shape
        mine.copy_(src)


def _copy_norm(ours: nn.Module, theirs: nn.LayerNorm) -> None:
    ours.gamma.copy_(theirs.weight)
    ours.beta.copy_(theirs.bias)


def _copy_ffn(ours: nn.Module, layer: nn.Module) -> None:
    ours.w_1.copy_(layer.linear1.weight.T)
    ours.b_1.copy_(layer.linear1.bias)
    ours.w_2.copy_(layer.linear2.weight.T)
    ours.b_2.copy_(layer.linear2.bias)


@torch.no_grad()
def load_torch_decoder_layer(block: DecoderBlock, layer: nn.TransformerDecoderLayer) -> None:
    """norm1/self_attn -> norm_attn/attn, norm2/multihead_attn -> norm_cross/cross,
    norm3/linear1,2 -> norm_ffn/ffn."""
    _copy_mha(block.attn, layer.self_attn)
    _copy_mha(block.cross, layer.multihead_attn)
    _copy_ffn(block.ffn, layer)
    _copy_norm(block.norm_attn, layer.norm1)
    _copy_norm(block.norm_cross, layer.norm2)
    _copy_norm(block.norm_ffn, layer.norm3)


@torch.no_grad()
def load_torch_encoder_layer(block: DecoderBlock, layer: nn.TransformerEncoderLayer) -> None:
    _copy_mha(block.attn, layer.self_attn)
    _copy_ffn(block.ffn, layer)
    _copy_norm(block.norm_attn, layer.norm1)
    _copy_norm(block.norm_ffn, layer.norm2)


def _randomise(module: nn.Module, seed: int) -> None:
    """Random biases and norm parameters too (torch initialises them to 0/1)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=gen) * 0.3)


SHAPES = [  # batch, tgt_len, src_len, d_model, n_heads
    (1, 1, 1, 8, 2),
    (2, 5, 7, 16, 4),
    (3, 9, 4, 32, 8),
    (2, 16, 16, 24, 3),
]


# ---------------------------------------------------- torch decoder layer
@pytest.mark.parametrize("activation", ["gelu", "relu"])
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("mask_kind", ["float_is_causal", "bool"])
def test_matches_torch_transformer_decoder_layer(activation, shape, mask_kind) -> None:
    batch, tgt_len, src_len, d, heads = shape
    torch.manual_seed(sum(shape))
    layer = nn.TransformerDecoderLayer(
        d, heads, 4 * d, dropout=0.0, activation=activation, batch_first=True, norm_first=True
    ).eval()
    _randomise(layer, seed=sum(shape))
    block = DecoderBlock(d, heads, 4 * d, ffn=activation, norm="layer", cross_attention=True).eval()
    load_torch_decoder_layer(block, layer)
    x, memory = torch.randn(batch, tgt_len, d), torch.randn(batch, src_len, d)
    with torch.no_grad():
        if mask_kind == "float_is_causal":
            mask = nn.Transformer.generate_square_subsequent_mask(tgt_len)  # 0 / -inf
            theirs = layer(x, memory, tgt_mask=mask, tgt_is_causal=True)
        else:  # torch's boolean attn_mask: True = NOT allowed, the opposite of ours
            theirs = layer(x, memory, tgt_mask=~causal_mask(tgt_len))
        ours = block(x, memory)
    torch.testing.assert_close(ours, theirs, **TOL)


@pytest.mark.parametrize("activation", ["gelu", "relu"])
@pytest.mark.parametrize("shape", SHAPES)
def test_decoder_only_block_matches_causal_torch_encoder_layer(activation, shape) -> None:
    batch, seq, _, d, heads = shape
    torch.manual_seed(seq + d)
    layer = nn.TransformerEncoderLayer(
        d, heads, 4 * d, dropout=0.0, activation=activation, batch_first=True, norm_first=True
    ).eval()
    _randomise(layer, seed=seq + d)
    block = DecoderBlock(d, heads, 4 * d, ffn=activation, norm="layer").eval()
    load_torch_encoder_layer(block, layer)
    x = torch.randn(batch, seq, d)
    mask = nn.Transformer.generate_square_subsequent_mask(seq)
    with torch.no_grad():
        theirs = layer(x, src_mask=mask, is_causal=True)
        ours = block(x)
    torch.testing.assert_close(ours, theirs, **TOL)


def test_the_mask_formula_is_torchs_causal_mask() -> None:
    """decoder.md: M_ij = 0 if j <= i else -inf, as torch's generate_square_subsequent_mask."""
    n = 6
    m = torch.zeros(n, n).masked_fill(~causal_mask(n), float("-inf"))
    i, j = torch.meshgrid(torch.arange(n), torch.arange(n), indexing="ij")
    formula = torch.where(j <= i, 0.0, float("-inf"))
    assert torch.equal(m, formula)
    assert torch.equal(m, nn.Transformer.generate_square_subsequent_mask(n))


# --------------------------------------------------------------- causality
def _blocks(d: int) -> dict[str, DecoderBlock]:
    torch.manual_seed(d)
    return {
        "gpt2": DecoderBlock(d, 4, 4 * d, ffn="gelu_tanh"),
        "llama": DecoderBlock(
            d, 4, 3 * d, n_kv_heads=2, ffn="swiglu", norm="rms", bias=False, rope_base=10000.0
        ),
        "enc-dec": DecoderBlock(d, 4, 4 * d, ffn="relu", cross_attention=True),
    }


BLOCKS = _blocks(16)


@settings(max_examples=25, deadline=None)
@given(
    kind=st.sampled_from(sorted(BLOCKS)),
    seq=st.integers(2, 12),
    data=st.data(),
    seed=st.integers(0, 2**16),
)
def test_changing_future_tokens_leaves_earlier_outputs_unchanged(kind, seq, data, seed) -> None:
    """decoder.md: "a change at position p changes no output before p" (bit for bit)."""
    p = data.draw(st.integers(1, seq - 1), label="p")
    block = BLOCKS[kind].eval()
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(2, seq, 16, generator=gen)
    memory = torch.randn(2, 5, 16, generator=gen) if kind == "enc-dec" else None
    x2 = x.clone()
    x2[:, p:] += torch.randn(2, seq - p, 16, generator=gen)  # change the future
    with torch.no_grad():
        y, y2 = block(x, memory), block(x2, memory)
        prefix = block(x[:, :p], memory)
    assert torch.equal(y[:, :p], y2[:, :p])
    assert (y[:, p] - y2[:, p]).abs().max() > 1e-4
    torch.testing.assert_close(prefix, y[:, :p], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("j", range(5))
def test_cross_attention_reads_every_memory_position(j: int) -> None:
    """decoder.md: "change any one memory row and every output row changes"."""
    block = BLOCKS["enc-dec"].eval()
    gen = torch.Generator().manual_seed(j)
    x, memory = torch.randn(2, 6, 16, generator=gen), torch.randn(2, 5, 16, generator=gen)
    memory2 = memory.clone()
    memory2[:, j] += torch.randn(2, 16, generator=gen)
    with torch.no_grad():
        change = (block(x, memory2) - block(x, memory)).abs().amax(dim=(0, 2))
    assert (change > 1e-5).all()


def test_memory_must_match_the_block() -> None:
    with pytest.raises(ValueError, match="memory must be given exactly when"):
        BLOCKS["gpt2"](torch.randn(1, 3, 16), torch.randn(1, 2, 16))
    with pytest.raises(ValueError, match="memory must be given exactly when"):
        BLOCKS["enc-dec"](torch.randn(1, 3, 16))


# ------------------------------------------------------------------ figure
def test_figure_weights_are_those_of_causal_self_attention() -> None:
    """decoder.md caption: the weights are exactly 0 above the diagonal, rows sum to 1."""
    for seed in (0, 1):
        m, weights, fused, explicit = causal_attention_weights(seq_len=7, seed=seed)
        torch.testing.assert_close(fused, explicit, rtol=1e-5, atol=1e-6)
        future = torch.isinf(m)
        assert torch.equal(future, ~causal_mask(7))
        assert (weights[:, future] == 0).all()
        assert (weights[:, ~future] > 0).all()
        torch.testing.assert_close(weights.sum(-1), torch.ones(2, 7))
        assert weights[0, 0, 0] == 1.0  # the first query sees only itself


def test_figure_arguments() -> None:
    fig = decoder_causal_mask(tokens=["a", "b", "c"], head=1, n_heads=4, d_model=8)
    _, right = fig.get_axes()
    assert [t.get_text() for t in right.get_yticklabels()] == ["a", "b", "c"]
    assert "head 1" in right.get_title()
    with pytest.raises(ValueError, match="head must be in"):
        decoder_causal_mask(head=2, n_heads=2)


# -------------------------------------------------------------------- demo
def test_demo_prints_shapes_and_the_causal_property(capsys) -> None:
    from transformer_atlas.demos.architecture.decoder import main

    main()
    out = capsys.readouterr().out
    assert "x      [batch, seq, d_model]     = [2, 5, 16]" in out
    assert "cross-attention weights [batch, heads, seq, src_len] = [2, 4, 5, 7]" in out
    assert "the three steps equal block(x, memory): True" in out
    assert "0: 0.000  1: 0.000  2: 0.000  3: " in out
    assert "positions 0..2 are unchanged: True" in out
    assert "every output position changes: True" in out


# ------------------------------------------------------------- page claims
def _page_block() -> tuple[DecoderBlock, torch.Tensor, torch.Tensor]:
    """The example of decoder.md, "The block in code"."""
    torch.manual_seed(0)
    block = DecoderBlock(16, 4, 64, ffn="gelu", cross_attention=True)
    x = torch.randn(2, 5, 16)
    memory = torch.randn(2, 7, 16)
    return block, x, memory


def test_page_example_shapes_and_changes() -> None:
    """decoder.md: y is [2, 5, 16]; changing position 3 gives change 0 at positions 0, 1, 2
    and > 0 at 3 and 4; changing memory row 0 changes all five positions."""
    block, x, memory = _page_block()
    with torch.no_grad():
        y = block(x, memory)
        x2 = x.clone()
        x2[:, 3] = torch.randn(2, 16)
        change = (block(x2, memory) - y).abs().amax(dim=(0, 2))
        memory2 = memory.clone()
        memory2[:, 0] = torch.randn(2, 16)
        change_mem = (block(x, memory2) - y).abs().amax(dim=(0, 2))
    assert y.shape == (2, 5, 16)
    assert change[:3].tolist() == [0.0, 0.0, 0.0]
    assert (change[3:] > 0.01).all()
    assert (change_mem > 0.01).all()


def test_page_teacher_forcing_pairs() -> None:
    """decoder.md: "6 tokens give 5 (context, next token) pairs from one forward pass"."""
    tokens = ["The", "cat", "sat", "on", "the", "mat"]
    inputs, targets = tokens[:-1], tokens[1:]
    pairs = [(inputs[: t + 1], target) for t, target in enumerate(targets)]
    assert len(pairs) == 5
    assert pairs[0] == (["The"], "cat") and pairs[-1] == (tokens[:-1], "mat")


def test_page_cross_attention_parameter_cost() -> None:
    """decoder.md: cross-attention adds 4 d^2 + 4 d (projections) + 2 d (its LayerNorm)
    parameters: 1,120 for d_model = 16."""

    def n(m: nn.Module) -> int:
        return sum(p.numel() for p in m.parameters())

    d = 16
    with_cross = DecoderBlock(d, 4, 64, ffn="gelu", cross_attention=True)
    without = DecoderBlock(d, 4, 64, ffn="gelu")
    assert n(with_cross) - n(without) == 4 * d * d + 4 * d + 2 * d == 1120


def test_page_first_query_sees_only_itself() -> None:
    """decoder.md: "row 0 has one allowed key, so its weight on itself is 1"."""
    _, weights, _, _ = causal_attention_weights(seq_len=4, seed=3)
    assert torch.equal(weights[:, 0], torch.tensor([[1.0, 0, 0, 0]] * 2))


def test_page_fused_and_explicit_paths_agree() -> None:
    """decoder.md: "run through MultiHeadAttention.forward with is_causal=True,
    the same module gives the same output and returns the weights"."""
    torch.manual_seed(5)
    attn = CausalSelfAttention(32, 4)
    x = torch.randn(3, 10, 32)
    with torch.no_grad():
        fused = attn(x)
        explicit, weights = MultiHeadAttention.forward(attn, x, is_causal=True)
    torch.testing.assert_close(fused, explicit, rtol=1e-5, atol=1e-6)
    assert weights.shape == (3, 4, 10, 10)
