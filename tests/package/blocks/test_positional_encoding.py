"""Positional information against oracles we did not write.

* Permutation equivariance of ``MultiHeadAttention`` without positions (hypothesis), and its
  loss once positions are added or a causal mask is used.
* Learned absolute positions vs ``torch.nn.Embedding`` on position ids.
* The sinusoidal table vs the paper's formula written element by element, and vs The Annotated
  Transformer's formulation; the shift property PE(p + k) = PE(p) M_k for every p.
* RoPE (rotate_half pairing) vs a Meta-LLaMA-style complex-number implementation
  (``torch.view_as_complex`` / ``torch.polar``) with the feature permutation between the pairings;
  scores depend on m - n only.
* LLaMA-3.1's RoPE frequency scaling vs Hugging Face's ``ROPE_INIT_FUNCTIONS["llama3"]`` and its
  ``LlamaRotaryEmbedding`` + ``apply_rotary_pos_emb``.
* ALiBi slopes vs the authors' ``get_slopes`` (transcribed from the ALiBi repository) and the
  paper's closed form; the bias through our attention vs ``F.scaled_dot_product_attention`` with a
  float mask; equal weights with the authors' row-constant bias m * j.
* T5's buckets vs an independent scalar transcription of the formula and known offsets; the bias
  depends on j - i only; through attention vs torch's SDPA with a float mask.
* The extrapolation table, the page's numbers ("page claims"), the figures and the demo.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from matplotlib.figure import Figure

from transformer_atlas.blocks.attention import (
    MultiHeadAttention,
    causal_mask,
    scaled_dot_product_attention,
)
from transformer_atlas.blocks.positional_encoding import (
    LearnedPositionalEmbedding,
    T5RelativePositionBias,
    alibi_bias,
    alibi_slopes,
    apply_rope,
    llama3_rope_frequencies,
    relative_position_bucket,
    relative_positions,
    rope_frequencies,
    rotate_half,
    sinusoidal_encoding,
    sinusoidal_encoding_numpy,
    sinusoidal_shift_matrix,
)

F64 = torch.float64
TOL = {"rtol": 1e-10, "atol": 1e-12}
SETTINGS = settings(max_examples=25, deadline=None)


def _randn(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=F64)


def _mha(d_model: int = 16, n_heads: int = 4, seed: int = 0) -> MultiHeadAttention:
    torch.manual_seed(seed)
    mha = MultiHeadAttention(d_model=d_model, n_heads=n_heads).double()
    with torch.no_grad():  # non-zero biases, so nothing is trivially symmetric
        for b in (mha.b_q, mha.b_k, mha.b_v, mha.b_o):
            b.normal_()
    return mha


# ================================================================ permutation equivariance
@SETTINGS
@given(perm=st.permutations(list(range(7))), seed=st.integers(0, 1000))
def test_self_attention_without_positions_is_permutation_equivariant(
    perm: list[int], seed: int
) -> None:
    mha = _mha(seed=seed)
    x = _randn(2, 7, 16, seed=seed)
    p = torch.tensor(perm)
    with torch.no_grad():
        out, weights = mha(x)
        out_p, weights_p = mha(x[:, p])
    torch.testing.assert_close(out_p, out[:, p], **TOL)
    torch.testing.assert_close(weights_p, weights[:, :, p][:, :, :, p], **TOL)


@SETTINGS
@given(perm=st.permutations(list(range(7))), seed=st.integers(0, 1000))
def test_adding_positions_breaks_permutation_equivariance(perm: list[int], seed: int) -> None:
    if perm == sorted(perm):
        return  # the identity permutes nothing
    mha = _mha(seed=seed)
    x = _randn(1, 7, 16, seed=seed)
    p = torch.tensor(perm)
    learned = LearnedPositionalEmbedding(7, 16).double()
    for add in (lambda t: t + sinusoidal_encoding(7, 16, dtype=F64), learned):
        with torch.no_grad():
            gap = (mha(add(x[:, p]))[0] - mha(add(x))[0][:, p]).abs().max()
        assert float(gap) > 1e-3


def test_causal_mask_alone_breaks_permutation_equivariance() -> None:
    mha = _mha()
    x = _randn(1, 6, 16)
    p = torch.tensor([3, 0, 5, 1, 4, 2])
    with torch.no_grad():
        gap = (mha(x[:, p], is_causal=True)[0] - mha(x, is_causal=True)[0][:, p]).abs().max()
    assert float(gap) > 1e-3


# ================================================================ learned absolute
def test_learned_matches_nn_embedding_on_position_ids() -> None:
    torch.manual_seed(0)
    wpe = LearnedPositionalEmbedding(max_len=12, d_model=6).double()
    oracle = torch.nn.Embedding(12, 6).double()
    with torch.no_grad():
        oracle.weight.copy_(wpe.weight)  # same layout [max_len, d_model], no transpose
    x = _randn(3, 5, 6)
    for start in (0, 4, 7):
        ids = torch.arange(start, start + 5)
        torch.testing.assert_close(wpe(x, start=start), x + oracle(ids), **TOL)


def test_learned_gradient_reaches_only_the_rows_used() -> None:
    wpe = LearnedPositionalEmbedding(max_len=10, d_model=4)
    wpe(torch.randn(2, 3, 4), start=2).sum().backward()
    used = wpe.weight.grad.abs().sum(-1) != 0
    assert used.tolist() == [i in (2, 3, 4) for i in range(10)]
    torch.testing.assert_close(wpe.weight.grad[2], torch.full((4,), 2.0))  # batch of 2


def test_learned_rejects_positions_past_max_len() -> None:
    """Extrapolation table: learned absolute - positions >= max_len raise ValueError."""
    wpe = LearnedPositionalEmbedding(max_len=8, d_model=4)
    wpe(torch.zeros(1, 8, 4))  # exactly max_len positions: fine
    with pytest.raises(ValueError, match=r"positions 0\.\.8 do not fit .* max_len=8"):
        wpe(torch.zeros(1, 9, 4))
    with pytest.raises(ValueError, match=r"positions 6\.\.8"):
        wpe(torch.zeros(1, 3, 4), start=6)
    with pytest.raises(ValueError, match=r"d_model=4\], got shape \(1, 3, 5\)"):
        wpe(torch.zeros(1, 3, 5))
    with pytest.raises(ValueError, match=r"3 dimensions \[batch, seq, d_model\]"):
        wpe(torch.zeros(3, 4))
    with pytest.raises(ValueError, match="max_len must be a positive int"):
        LearnedPositionalEmbedding(0, 4)


# ================================================================ sinusoidal
def _pe_elementwise(seq_len: int, d_model: int, base: float = 10000.0) -> np.ndarray:
    """The paper's formula, one element at a time."""
    pe = np.zeros((seq_len, d_model))
    for p in range(seq_len):
        for i in range(d_model // 2):
            pe[p, 2 * i] = math.sin(p / base ** (2 * i / d_model))
            pe[p, 2 * i + 1] = math.cos(p / base ** (2 * i / d_model))
    return pe


def _pe_annotated_transformer(seq_len: int, d_model: int) -> torch.Tensor:
    """The Annotated Transformer's PositionalEncoding buffer (exp/log form), in float64."""
    pe = torch.zeros(seq_len, d_model, dtype=F64)
    position = torch.arange(0, seq_len, dtype=F64).unsqueeze(1)
    div_term = torch.exp(torch.arange(0, d_model, 2, dtype=F64) * -(math.log(10000.0) / d_model))
    pe[:, 0::2] = torch.sin(position * div_term)
    pe[:, 1::2] = torch.cos(position * div_term)
    return pe


@pytest.mark.parametrize(("seq_len", "d_model"), [(1, 2), (17, 8), (60, 32), (9, 6)])
def test_sinusoidal_matches_the_formula_elementwise(seq_len: int, d_model: int) -> None:
    expected = _pe_elementwise(seq_len, d_model)
    np.testing.assert_allclose(sinusoidal_encoding_numpy(seq_len, d_model), expected, atol=1e-12)
    ours = sinusoidal_encoding(seq_len, d_model, dtype=F64)
    np.testing.assert_allclose(ours.numpy(), expected, atol=1e-12)
    torch.testing.assert_close(ours, _pe_annotated_transformer(seq_len, d_model), **TOL)
    assert sinusoidal_encoding(seq_len, d_model).dtype == torch.float32


def test_sinusoidal_start_offsets_the_positions() -> None:
    full = sinusoidal_encoding_numpy(40, 8)
    np.testing.assert_allclose(sinusoidal_encoding_numpy(10, 8, start=30), full[30:], atol=1e-12)
    np.testing.assert_allclose(
        sinusoidal_encoding(10, 8, start=30, dtype=F64).numpy(), full[30:], atol=1e-12
    )


def test_sinusoidal_concatenated_layout_is_a_column_permutation() -> None:
    """Page: tensor2tensor's sines-then-cosines layout holds the same numbers, columns permuted."""
    d = 16
    pe = sinusoidal_encoding_numpy(30, d)
    p = np.arange(30)[:, None]
    w = 10000.0 ** (-2 * np.arange(d // 2) / d)
    concatenated = np.concatenate([np.sin(p * w), np.cos(p * w)], axis=1)
    perm = np.concatenate([np.arange(0, d, 2), np.arange(1, d, 2)])
    np.testing.assert_allclose(pe[:, perm], concatenated, atol=1e-12)


@pytest.mark.parametrize("k", [0, 1, 5, 37, -4])
def test_sinusoidal_shift_is_a_fixed_rotation_for_every_p(k: int) -> None:
    d = 16
    m_k = sinusoidal_shift_matrix(k, d)
    # an independent check of the shape of M_k: block-diagonal 2x2 rotations
    mask = torch.block_diag(*[torch.ones(2, 2, dtype=F64)] * (d // 2))
    assert torch.equal(m_k * (1 - mask), torch.zeros(d, d, dtype=F64))
    torch.testing.assert_close(m_k @ m_k.T, torch.eye(d, dtype=F64), **TOL)
    assert abs(float(torch.linalg.det(m_k)) - 1.0) < 1e-10
    # PE(p + k) = PE(p) M_k for p far apart, including far past any training length
    lo = max(0, -k)
    for start in (lo, 1000, 50_000):
        pe = sinusoidal_encoding(200, d, start=start, dtype=F64)
        torch.testing.assert_close(
            pe[lo : 200 - max(k, 0)] @ m_k, pe[lo + k : 200 - max(k, 0) + k], rtol=0, atol=1e-9
        )


def test_sinusoidal_shift_map_fitted_from_data_is_m_k() -> None:
    """The linear map fitted by least squares on p in [0, 100) is M_k and works at p = 10^4."""
    d, k = 8, 3
    pe = sinusoidal_encoding(104, d, dtype=F64)
    fitted = torch.linalg.lstsq(pe[:100], pe[3:103]).solution
    torch.testing.assert_close(fitted, sinusoidal_shift_matrix(k, d), rtol=0, atol=1e-8)
    far = sinusoidal_encoding(10, d, start=10_000, dtype=F64)
    torch.testing.assert_close(far[:-3] @ fitted, far[3:], rtol=0, atol=1e-7)


@SETTINGS
@given(p=st.integers(0, 5000), q=st.integers(0, 5000), k=st.integers(1, 300))
def test_sinusoidal_dot_product_depends_on_k_only(p: int, q: int, k: int) -> None:
    """Page: PE(p) . PE(p + k) = sum_i cos(k w_i), whatever p."""
    d = 32
    w = 10000.0 ** (-2 * np.arange(d // 2) / d)
    for start in (p, q):
        pe = sinusoidal_encoding_numpy(k + 1, d, start=start)
        assert abs(pe[0] @ pe[k] - np.cos(k * w).sum()) < 1e-9


def test_sinusoidal_positions_do_not_make_scores_relative() -> None:
    """Page: with PE added to x, shifting both positions by the same amount changes the score."""
    gen = torch.Generator().manual_seed(0)
    d = 16
    w_q, w_k = torch.randn(2, d, d, generator=gen, dtype=F64)
    x_a, x_b = torch.randn(2, d, generator=gen, dtype=F64)
    pe = sinusoidal_encoding(200, d, dtype=F64)

    def score(m: int, n: int) -> float:
        return float(((x_a + pe[m]) @ w_q) @ ((x_b + pe[n]) @ w_k))

    assert abs(score(5, 2) - score(105, 102)) > 1e-2


def test_sinusoidal_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="d_model must be even, got 7"):
        sinusoidal_encoding(4, 7)
    with pytest.raises(ValueError, match="seq_len must be a positive int, got 0"):
        sinusoidal_encoding_numpy(0, 8)
    with pytest.raises(ValueError, match="base must be a finite number > 0"):
        sinusoidal_encoding(4, 8, base=-1.0)


# ================================================================ RoPE
def _meta_rope(x_interleaved: torch.Tensor, positions: torch.Tensor, base: float) -> torch.Tensor:
    """Meta LLaMA's reference RoPE (precompute_freqs_cis + apply_rotary_emb), float64.

    Pairs neighbouring features (2i, 2i + 1) as one complex number. Input and output
    ``[batch, heads, seq, head_dim]`` (Meta's code uses [batch, seq, heads, head_dim]; the
    broadcast below is the same along seq)."""
    dim = x_interleaved.shape[-1]
    freqs = 1.0 / (base ** (torch.arange(0, dim, 2, dtype=F64)[: dim // 2] / dim))
    freqs = torch.outer(positions.to(F64), freqs)
    freqs_cis = torch.polar(torch.ones_like(freqs), freqs)  # [seq, dim / 2], complex128
    x_c = torch.view_as_complex(
        x_interleaved.reshape(*x_interleaved.shape[:-1], -1, 2).contiguous()
    )
    return torch.view_as_real(x_c * freqs_cis).flatten(-2)


def _half_to_interleaved(head_dim: int) -> torch.Tensor:
    """Index: interleaved feature 2i is half-split feature i, 2i + 1 is i + head_dim / 2."""
    half = head_dim // 2
    return torch.stack([torch.arange(half), torch.arange(half) + half], dim=-1).flatten()


@pytest.mark.parametrize(
    ("head_dim", "base", "start"), [(8, 10000.0, 0), (64, 10000.0, 37), (32, 500000.0, 4000)]
)
def test_rope_matches_meta_complex_implementation(head_dim: int, base: float, start: int) -> None:
    x = _randn(2, 3, 11, head_dim)
    positions = torch.arange(start, start + 11)
    ours = apply_rope(x, positions, base=base)
    perm = _half_to_interleaved(head_dim)
    theirs = _meta_rope(x[..., perm], positions, base)  # interleaved layout
    unpermuted = torch.empty_like(theirs)
    unpermuted[..., perm] = theirs
    torch.testing.assert_close(ours, unpermuted, rtol=1e-9, atol=1e-9)


def test_rope_pairings_disagree_without_the_permutation() -> None:
    """Page: using the other convention's rotation without the permutation scrambles positions."""
    x = _randn(1, 1, 6, 16)
    positions = torch.arange(6)
    assert float((apply_rope(x, positions) - _meta_rope(x, positions, 10000.0)).abs().max()) > 0.1


def test_rope_scores_equal_meta_scores_after_permuting_q_and_k() -> None:
    """The same permutation of q's and k's features leaves every dot product unchanged."""
    q, k = _randn(1, 2, 9, 16, seed=1), _randn(1, 2, 9, 16, seed=2)
    pos = torch.arange(9)
    perm = _half_to_interleaved(16)
    ours = apply_rope(q, pos) @ apply_rope(k, pos).transpose(-2, -1)
    theirs = _meta_rope(q[..., perm], pos, 1e4) @ _meta_rope(k[..., perm], pos, 1e4).transpose(
        -2, -1
    )
    torch.testing.assert_close(ours, theirs, rtol=1e-9, atol=1e-9)


def test_rope_is_the_written_pair_rotation() -> None:
    """x'_i = x_i cos - x_{i+d/2} sin, x'_{i+d/2} = x_{i+d/2} cos + x_i sin, element by element."""
    d, p = 6, 7
    x = _randn(1, 1, 1, d)
    out = apply_rope(x, torch.tensor([p]))[0, 0, 0]
    x = x[0, 0, 0]
    for i in range(d // 2):
        a = p * 10000.0 ** (-2 * i / d)
        assert abs(out[i] - (x[i] * math.cos(a) - x[i + d // 2] * math.sin(a))) < 1e-12
        assert abs(out[i + d // 2] - (x[i + d // 2] * math.cos(a) + x[i] * math.sin(a))) < 1e-12


def test_rope_rotate_half_frequencies_and_basic_properties() -> None:
    x = torch.arange(1.0, 7.0)
    assert rotate_half(x).tolist() == [-4.0, -5.0, -6.0, 1.0, 2.0, 3.0]
    theta = rope_frequencies(128)
    assert theta.shape == (64,) and float(theta[0]) == 1.0
    assert abs(float(theta[-1]) - 10000.0 ** (-126 / 128)) < 1e-15
    q = _randn(2, 3, 10, 16)
    rotated = apply_rope(q)
    torch.testing.assert_close(rotated.norm(dim=-1), q.norm(dim=-1), **TOL)  # a rotation
    torch.testing.assert_close(rotated[:, :, 0], q[:, :, 0], **TOL)  # position 0: identity
    assert apply_rope(q.float()).dtype == torch.float32


@SETTINGS
@given(
    m=st.integers(0, 4000),
    n=st.integers(0, 4000),
    shift=st.integers(-4000, 4000),
    seed=st.integers(0, 100),
)
def test_rope_scores_depend_only_on_m_minus_n(m: int, n: int, shift: int, seed: int) -> None:
    q, k = _randn(1, 1, 1, 32, seed=seed), _randn(1, 1, 1, 32, seed=seed + 1)

    def score(a: int, b: int) -> float:
        qa = apply_rope(q, torch.tensor([a]))
        kb = apply_rope(k, torch.tensor([b]))
        return float((qa * kb).sum())

    assert abs(score(m, n) - score(m + shift, n + shift)) < 1e-9


def test_rope_attention_is_invariant_to_shifting_the_whole_sequence() -> None:
    q, k, v = _randn(2, 2, 6, 8), _randn(2, 2, 6, 8, seed=1), _randn(2, 2, 6, 8, seed=2)
    pos = torch.arange(6)
    a, _ = scaled_dot_product_attention(apply_rope(q, pos), apply_rope(k, pos), v, is_causal=True)
    b, _ = scaled_dot_product_attention(
        apply_rope(q, pos + 999), apply_rope(k, pos + 999), v, is_causal=True
    )
    torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-9)


def test_rope_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="head_dim must be even, got 7"):
        apply_rope(torch.randn(1, 2, 5, 7))
    with pytest.raises(ValueError, match=r"4 dimensions \[batch, heads, seq, head_dim\]"):
        apply_rope(torch.randn(5, 8))
    with pytest.raises(ValueError, match=r"positions must be \[seq=5\], got shape \(4,\)"):
        apply_rope(torch.randn(1, 1, 5, 8), torch.arange(4))


# ================================================================ RoPE: LLaMA-3.1 frequency scaling
LLAMA3_CASES = [  # head_dim, base, factor, low_freq_factor, high_freq_factor, original_max_len
    (128, 500000.0, 8.0, 1.0, 4.0, 8192),  # LLaMA-3.1 itself
    (16, 10000.0, 8.0, 1.0, 4.0, 64),  # tiny: all three regimes in 8 pairs
    (32, 10000.0, 4.0, 2.0, 8.0, 256),
    (64, 500000.0, 32.0, 1.0, 4.0, 8192),  # LLaMA-3.2's factor
]


def _hf_llama3_config(head_dim, base, factor, low, high, original):
    import transformers

    return transformers.LlamaConfig(
        hidden_size=2 * head_dim,
        num_attention_heads=2,
        num_hidden_layers=1,
        intermediate_size=8,
        vocab_size=8,
        max_position_embeddings=4 * original,
        rope_parameters={
            "rope_type": "llama3",
            "rope_theta": base,
            "factor": factor,
            "low_freq_factor": low,
            "high_freq_factor": high,
            "original_max_position_embeddings": original,
        },
    )


@pytest.mark.parametrize("case", LLAMA3_CASES)
def test_llama3_frequencies_equal_hugging_face(case) -> None:
    """Ours (float64) vs transformers' ROPE_INIT_FUNCTIONS["llama3"] (float32)."""
    from transformers.modeling_rope_utils import ROPE_INIT_FUNCTIONS

    head_dim, base, factor, low, high, original = case
    theirs, attention_factor = ROPE_INIT_FUNCTIONS["llama3"](_hf_llama3_config(*case))
    ours = llama3_rope_frequencies(head_dim, base, factor, low, high, original)
    assert attention_factor == 1.0  # llama3 scales no scores, only frequencies
    torch.testing.assert_close(ours, theirs.to(F64), rtol=1e-6, atol=0)


def test_llama3_frequencies_keep_fast_pairs_and_slow_down_slow_ones() -> None:
    """The three regimes of the docstring, on the tiny case where all occur."""
    theta = rope_frequencies(16)
    scaled = llama3_rope_frequencies(
        16, 10000.0, factor=8.0, low_freq_factor=1.0, high_freq_factor=4.0, original_max_len=64
    )
    wavelength = 2 * math.pi / theta
    fast, slow = wavelength < 64 / 4, wavelength > 64 / 1
    between = ~fast & ~slow
    assert fast.any() and slow.any() and between.any()
    torch.testing.assert_close(scaled[fast], theta[fast], **TOL)
    torch.testing.assert_close(scaled[slow], theta[slow] / 8, **TOL)
    assert bool(((scaled[between] < theta[between]) & (scaled[between] > theta[between] / 8)).all())
    # factor 1 changes nothing: plain RoPE
    torch.testing.assert_close(llama3_rope_frequencies(16, 10000.0, factor=1.0), theta, **TOL)


def test_llama3_rope_equals_hugging_face_rotary_embedding() -> None:
    """apply_rope(..., scaling=...) vs LlamaRotaryEmbedding + apply_rotary_pos_emb."""
    from transformers.models.llama.modeling_llama import (
        LlamaRotaryEmbedding,
        apply_rotary_pos_emb,
    )

    case = (16, 10000.0, 8.0, 1.0, 4.0, 64)
    q, k = _randn(2, 3, 200, 16, seed=1).float(), _randn(2, 3, 200, 16, seed=2).float()
    positions = torch.arange(200)
    cos, sin = LlamaRotaryEmbedding(_hf_llama3_config(*case))(q, positions[None])
    q_hf, k_hf = apply_rotary_pos_emb(q, k, cos, sin)
    scaling = {
        "factor": 8.0,
        "low_freq_factor": 1.0,
        "high_freq_factor": 4.0,
        "original_max_len": 64,
    }
    torch.testing.assert_close(apply_rope(q, positions, 10000.0, scaling), q_hf, rtol=0, atol=2e-5)
    torch.testing.assert_close(apply_rope(k, positions, 10000.0, scaling), k_hf, rtol=0, atol=2e-5)
    assert float((apply_rope(q, positions, 10000.0) - q_hf).abs().max()) > 0.1  # it matters


def test_llama3_frequencies_reject_bad_input() -> None:
    with pytest.raises(ValueError, match="high_freq_factor must exceed low_freq_factor"):
        llama3_rope_frequencies(16, high_freq_factor=1.0, low_freq_factor=1.0)
    with pytest.raises(ValueError, match="factor must be a finite number > 0, got 0"):
        llama3_rope_frequencies(16, factor=0)
    with pytest.raises(ValueError, match="original_max_len must be a positive int"):
        llama3_rope_frequencies(16, original_max_len=0)
    with pytest.raises(ValueError, match="head_dim must be even"):
        llama3_rope_frequencies(15)


# ================================================================ ALiBi
def _official_get_slopes(n: int) -> list[float]:
    """ofirpress/attention_with_linear_biases, fairseq/models/transformer.py (transcribed)."""

    def get_slopes_power_of_2(n):
        start = 2 ** (-(2 ** -(math.log2(n) - 3)))
        ratio = start
        return [start * ratio**i for i in range(n)]

    if math.log2(n).is_integer():
        return get_slopes_power_of_2(n)
    closest_power_of_2 = 2 ** math.floor(math.log2(n))
    return (
        get_slopes_power_of_2(closest_power_of_2)
        + _official_get_slopes(2 * closest_power_of_2)[0::2][: n - closest_power_of_2]
    )


@pytest.mark.parametrize("n_heads", range(1, 65))
def test_alibi_slopes_match_the_authors_get_slopes(n_heads: int) -> None:
    np.testing.assert_allclose(
        alibi_slopes(n_heads).numpy(), _official_get_slopes(n_heads), rtol=1e-14
    )


@pytest.mark.parametrize("n_heads", [1, 2, 4, 8, 16, 32])
def test_alibi_slopes_closed_form_powers_of_two(n_heads: int) -> None:
    """Paper: m_h = 2^(-8h/H), h = 1..H."""
    closed = [2.0 ** (-8.0 * h / n_heads) for h in range(1, n_heads + 1)]
    np.testing.assert_allclose(alibi_slopes(n_heads).numpy(), closed, rtol=1e-14)


def test_alibi_slopes_written_out() -> None:
    """Page: 8 heads get 1/2 .. 1/256; 12 heads those eight, then 2^-1/2, 2^-3/2, 2^-5/2, 2^-7/2."""
    eight = [1 / 2, 1 / 4, 1 / 8, 1 / 16, 1 / 32, 1 / 64, 1 / 128, 1 / 256]
    assert alibi_slopes(8).tolist() == eight
    twelve = eight + [2**-0.5, 2**-1.5, 2**-2.5, 2**-3.5]
    np.testing.assert_allclose(alibi_slopes(12).numpy(), twelve, rtol=1e-14)
    # 6 heads: 4 of the power of 2 below (2^-2h), then every other one of 8 heads' (2^-h)
    np.testing.assert_allclose(alibi_slopes(6).numpy(), [2**-2, 2**-4, 2**-6, 2**-8, 2**-1, 2**-3])
    assert alibi_slopes(2).tolist() == [1 / 16, 1 / 256]  # the page's example: head 0 slope 1/16


def test_alibi_bias_is_slope_times_j_minus_i() -> None:
    bias = alibi_bias(4, 3, 6, dtype=F64)
    assert bias.shape == (4, 3, 6)
    slopes = alibi_slopes(4)
    for h in range(4):
        for i in range(3):
            for j in range(6):
                pos_i = i + 6 - 3  # queries after 3 cached keys
                assert float(bias[h, i, j]) == float(slopes[h]) * (j - pos_i)
    assert alibi_bias(2, 4).dtype == torch.float32


def test_alibi_through_attention_matches_torch_with_float_mask() -> None:
    q, k, v = _randn(2, 8, 5, 4), _randn(2, 8, 7, 4, seed=1), _randn(2, 8, 7, 3, seed=2)
    bias = alibi_bias(8, 5, 7, dtype=F64)
    ours, _ = scaled_dot_product_attention(q, k, v, is_causal=True, bias=bias)
    float_mask = bias.masked_fill(~causal_mask(5, 7), float("-inf"))
    torch.testing.assert_close(
        ours, F.scaled_dot_product_attention(q, k, v, attn_mask=float_mask), **TOL
    )


def test_alibi_row_constant_form_of_the_authors_gives_the_same_weights() -> None:
    """Page: the authors add m_h * j (same for every row); softmax makes it equal to m_h (j - i)."""
    q, k, v = _randn(1, 4, 9, 8), _randn(1, 4, 9, 8, seed=1), _randn(1, 4, 9, 8, seed=2)
    ours = scaled_dot_product_attention(q, k, v, is_causal=True, bias=alibi_bias(4, 9, dtype=F64))
    authors_bias = alibi_slopes(4)[:, None, None] * torch.arange(9, dtype=F64)[None, None, :]
    theirs = scaled_dot_product_attention(q, k, v, is_causal=True, bias=authors_bias)
    torch.testing.assert_close(ours[1], theirs[1], **TOL)
    torch.testing.assert_close(ours[0], theirs[0], **TOL)


def test_alibi_bias_stays_linear_past_training_length() -> None:
    """Extrapolation table: ALiBi keeps penalising linearly, -m_h d at distance d, no bound."""
    train_len = 64
    bias = alibi_bias(8, 4 * train_len, dtype=F64)
    last_row = bias[:, -1]  # the last query: distances 4L - 1 .. 0
    d = torch.arange(4 * train_len - 1, -1, -1, dtype=F64)
    torch.testing.assert_close(last_row, -alibi_slopes(8)[:, None] * d, **TOL)
    steps = last_row.diff(dim=-1)  # a constant step m_h per position, before and after L
    torch.testing.assert_close(steps, alibi_slopes(8)[:, None].expand_as(steps), **TOL)


def test_alibi_and_relative_positions_reject_bad_input() -> None:
    with pytest.raises(ValueError, match="n_heads must be a positive int, got 0"):
        alibi_slopes(0)
    with pytest.raises(ValueError, match="need q_len <= k_len, got q_len=5, k_len=3"):
        alibi_bias(2, 5, 3)
    assert relative_positions(2, 4).tolist() == [[-2, -1, 0, 1], [-3, -2, -1, 0]]


# ================================================================ T5 relative position bias
def _t5_bucket_scalar(
    relative_position: int, bidirectional: bool, num_buckets: int, max_distance: int
) -> int:
    """T5's _relative_position_bucket, transcribed for one Python int (float64 logs)."""
    n = -relative_position
    ret = 0
    if bidirectional:
        num_buckets //= 2
        if n < 0:
            ret += num_buckets
        n = abs(n)
    else:
        n = max(n, 0)
    max_exact = num_buckets // 2
    if n < max_exact:
        return ret + n
    val = max_exact + int(
        math.log(n / max_exact) / math.log(max_distance / max_exact) * (num_buckets - max_exact)
    )
    return ret + min(val, num_buckets - 1)


@pytest.mark.parametrize(("num_buckets", "max_distance"), [(32, 128), (16, 64), (64, 256)])
@pytest.mark.parametrize("bidirectional", [True, False])
def test_t5_buckets_match_the_formula(
    num_buckets: int, max_distance: int, bidirectional: bool
) -> None:
    offsets = torch.arange(-3000, 3001)
    ours = relative_position_bucket(offsets, bidirectional, num_buckets, max_distance)
    expected = [
        _t5_bucket_scalar(int(o), bidirectional, num_buckets, max_distance) for o in offsets
    ]
    assert ours.tolist() == expected
    assert ours.dtype == torch.int64 and int(ours.min()) == 0
    assert int(ours.max()) == num_buckets - 1


T5_TABLE = {  # offset j - i: (bidirectional bucket, causal bucket), the page's table
    0: (0, 0),
    -1: (1, 1),
    -7: (7, 7),
    -8: (8, 8),
    -12: (9, 12),
    -16: (10, 16),
    -32: (12, 21),
    -64: (14, 26),
    -91: (15, 29),
    -113: (15, 31),
    -128: (15, 31),
    -1000: (15, 31),
    1: (17, 0),
    8: (24, 0),
}


def test_t5_bucket_table_on_the_page() -> None:
    """Page: the table of buckets for offsets 0, -1, ..., +8 (32 buckets, max_distance 128)."""
    offsets = torch.tensor(list(T5_TABLE))
    bidir = relative_position_bucket(offsets).tolist()
    causal = relative_position_bucket(offsets, bidirectional=False).tolist()
    assert list(zip(bidir, causal)) == list(T5_TABLE.values())


def test_t5_bias_depends_only_on_j_minus_i() -> None:
    torch.manual_seed(0)
    for bidirectional in (True, False):
        module = T5RelativePositionBias(n_heads=3, bidirectional=bidirectional).double()
        bias = module(6, 9)
        assert bias.shape == (3, 6, 9)
        rel = relative_positions(6, 9)
        for i in range(6):
            for j in range(9):
                bucket = _t5_bucket_scalar(int(rel[i, j]), bidirectional, 32, 128)
                torch.testing.assert_close(bias[:, i, j], module.weight[bucket], **TOL)
        torch.testing.assert_close(bias[:, 1:, 1:], bias[:, :-1, :-1], **TOL)  # Toeplitz


def test_t5_bias_through_attention_matches_torch_with_float_mask_and_gets_gradients() -> None:
    torch.manual_seed(0)
    module = T5RelativePositionBias(n_heads=4).double()
    q, k, v = _randn(2, 4, 5, 8), _randn(2, 4, 5, 8, seed=1), _randn(2, 4, 5, 6, seed=2)
    bias = module(5)
    ours, _ = scaled_dot_product_attention(q, k, v, bias=bias)
    torch.testing.assert_close(ours, F.scaled_dot_product_attention(q, k, v, attn_mask=bias), **TOL)
    ours.sum().backward()
    used = module.weight.grad.abs().sum(-1) != 0
    expected = set(relative_position_bucket(relative_positions(5)).flatten().tolist())
    assert set(used.nonzero().flatten().tolist()) == expected


def test_t5_clamps_to_last_bucket() -> None:
    """Extrapolation table: every distance >= max_distance shares the last bucket (one constant
    bias). Page: bidirectional, the last bucket starts at distance 91; causal, at 113."""
    far = -torch.arange(128, 4 * 512 + 1)
    assert set(relative_position_bucket(far).tolist()) == {15}
    assert set(relative_position_bucket(-far).tolist()) == {31}  # the future side
    assert set(relative_position_bucket(far, bidirectional=False).tolist()) == {31}
    past = relative_position_bucket(-torch.arange(0, 300))
    assert int((past == 15).nonzero()[0]) == 91
    causal = relative_position_bucket(-torch.arange(0, 300), bidirectional=False)
    assert int((causal == 31).nonzero()[0]) == 113
    torch.manual_seed(0)
    module = T5RelativePositionBias(n_heads=2, bidirectional=False)
    bias = module(1, 4 * 512)[:, 0]  # one query at the end, keys at distances 2047 .. 0
    far_bias = bias[:, : 4 * 512 - 128]  # distances >= 128
    torch.testing.assert_close(far_bias, module.weight[31][:, None].expand_as(far_bias))


def test_t5_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="num_buckets must be even, got 31"):
        T5RelativePositionBias(2, num_buckets=31)
    with pytest.raises(ValueError, match="max_distance must exceed the 8 exact buckets"):
        relative_position_bucket(torch.arange(3), num_buckets=32, max_distance=8)
    with pytest.raises(ValueError, match="relative_position must hold integers"):
        relative_position_bucket(torch.tensor([1.5]))


# ================================================================ extrapolation and page claims
def test_sinusoidal_is_defined_past_training_length_with_constant_norm() -> None:
    """Extrapolation table: sinusoidal - defined at every position, same norm sqrt(d_model / 2),
    but the slow pairs reach angles never seen within the training length."""
    d, train_len = 64, 512
    pe = sinusoidal_encoding(4 * train_len, d, dtype=F64)
    assert bool(pe.isfinite().all())
    torch.testing.assert_close(
        pe.norm(dim=-1), torch.full((4 * train_len,), math.sqrt(d / 2), dtype=F64), **TOL
    )
    w = 10000.0 ** (-2 * torch.arange(d // 2, dtype=F64) / d)
    slow = train_len * w < 2 * math.pi  # pairs that never complete a turn in training
    assert 0 < int(slow.sum()) < d // 2
    # the slowest pair: its (sin, cos) point at every p in [L, 4L) is off its training arc
    seen = pe[:train_len, -2:]
    for p in (train_len, 2 * train_len, 4 * train_len - 1):
        gap = float((seen - pe[p, -2:]).norm(dim=-1).min())
        assert gap > 0.5 * (p - train_len + 1) * float(w[-1])


def _unseen(distance: int, theta: float, train_len: int) -> bool:
    """Is the angle distance * theta (mod 2 pi) outside [0, (train_len - 1) theta]?"""
    return (distance * theta) % (2 * math.pi) > (train_len - 1) * theta + 1e-12


def test_rope_slow_pairs_meet_unseen_angles() -> None:
    """Extrapolation table and page: with head_dim 128, base 10000 and L = 2048, 23 of the 64
    pairs never complete a turn in training; distances past 2048 show them new angles until the
    pair wraps around, and for 14 of them every distance from 2048 to 8192 is new."""
    theta = rope_frequencies(128)
    train_len = 2048
    slow = train_len * theta < 2 * math.pi
    assert int(slow.sum()) == 23 and theta.numel() == 64
    for t in theta[slow].tolist():
        wrap = math.ceil(2 * math.pi / t)  # the first distance at which the pair wraps around
        assert all(_unseen(d, t, train_len) for d in range(train_len, wrap, 7))
    slowest = [t for t in theta.tolist() if 4 * train_len * t < 2 * math.pi]
    assert len(slowest) == 14
    for t in slowest:
        assert all(_unseen(d, t, train_len) for d in range(train_len, 4 * train_len + 1))
    # and RoPE itself is defined there: the score still depends only on the distance
    q, k = _randn(1, 1, 1, 128), _randn(1, 1, 1, 128, seed=1)
    s1 = (apply_rope(q, torch.tensor([8000])) * apply_rope(k, torch.tensor([0]))).sum()
    s2 = (apply_rope(q, torch.tensor([9000])) * apply_rope(k, torch.tensor([1000]))).sum()
    assert bool(s1.isfinite()) and abs(float(s1 - s2)) < 1e-8


def test_position_interpolation_keeps_angles_in_the_training_range() -> None:
    """Page: dividing positions by s = 4 runs 4 x 2048 tokens with angles as for p < 2048."""
    theta = rope_frequencies(128)
    positions = torch.arange(4 * 2048, dtype=F64) / 4
    max_angle = positions.max() * theta
    assert bool((max_angle < 2048 * theta).all())
    x = _randn(1, 1, 4 * 2048, 8)
    squeezed = apply_rope(x, torch.arange(4 * 2048) / 4)
    torch.testing.assert_close(
        squeezed[:, :, ::4], apply_rope(x[:, :, ::4], torch.arange(2048)), rtol=1e-9, atol=1e-9
    )


def test_page_sinusoidal_wavelengths() -> None:
    """Page: wavelengths from 2 pi to about 2 pi * 10000 (60611 positions for d_model = 512)."""
    d = 512
    w = 10000.0 ** (-2 * np.arange(d // 2) / d)
    wavelengths = 2 * np.pi / w
    assert wavelengths[0] == 2 * np.pi and bool(np.all(np.diff(wavelengths) > 0))
    assert round(wavelengths[-1]) == 60611
    ratios = wavelengths[1:] / wavelengths[:-1]
    np.testing.assert_allclose(ratios, ratios[0])  # geometric


def test_page_gpt2_table_size() -> None:
    """Page: GPT-2 small's table is (1024, 768): 786432 parameters."""
    wpe = LearnedPositionalEmbedding(max_len=1024, d_model=768)
    assert tuple(wpe.weight.shape) == (1024, 768) and wpe.weight.numel() == 786432
    assert abs(float(wpe.weight.detach().std()) - 0.02) < 1e-3  # nanoGPT's and HF GPT-2's init


def test_page_permutation_example() -> None:
    """Page: the permutation example prints True, then False."""
    torch.manual_seed(0)
    mha = MultiHeadAttention(d_model=16, n_heads=4)
    x = torch.randn(1, 6, 16)
    perm = torch.tensor([3, 0, 5, 1, 4, 2])
    with torch.no_grad():
        assert torch.allclose(mha(x[:, perm])[0], mha(x)[0][:, perm], atol=1e-5)
        pe = sinusoidal_encoding(6, 16)
        assert not torch.allclose(mha(x[:, perm] + pe)[0], mha(x + pe)[0][:, perm], atol=1e-5)


def test_page_rope_score_example_in_float32() -> None:
    """Page: in float32, score(3, 1) and score(103, 101) agree to 1e-5."""
    for seed in range(20):
        gen = torch.Generator().manual_seed(seed)
        q, k = torch.randn(2, 1, 1, 1, 8, generator=gen)
        s1 = (apply_rope(q, torch.tensor([3])) * apply_rope(k, torch.tensor([1]))).sum()
        s2 = (apply_rope(q, torch.tensor([103])) * apply_rope(k, torch.tensor([101]))).sum()
        assert abs(float(s1 - s2)) < 1e-5


# ================================================================ figures and demo
def _svg_ok(fig: Figure) -> None:
    import io

    buffer = io.StringIO()
    fig.savefig(buffer, format="svg")
    assert "</svg>" in buffer.getvalue()


def test_positional_figures_are_registered_and_take_their_arguments() -> None:
    from transformer_atlas.figures import load_all
    from transformer_atlas.figures.blocks.positional_encoding import (
        positional_extrapolation,
        positional_schemes,
        rope_score_by_distance,
    )

    assert {"positional-encoding-schemes", "positional-encoding-extrapolation"} <= set(load_all())
    fig = positional_schemes(seq_len=12, d_model=8, n_heads=4, head=3)
    axes = [ax for ax in fig.get_axes() if ax.get_label() != "<colorbar>"]
    assert len(axes) == 6
    rope = axes[2].get_images()[0].get_array()
    assert rope.shape == (12, 12)
    np.testing.assert_allclose(rope[1:, 1:], rope[:-1, :-1], atol=1e-9)  # constant diagonals
    assert "m = 0.0039" in axes[3].get_title()  # head 3 of 4: slope 2^-8
    _svg_ok(fig)
    default = [ax for ax in positional_schemes().get_axes() if ax.get_label() != "<colorbar>"]
    assert "m = 0.125" in default[3].get_title()  # caption: head 2 of 8, slope 1/8
    rope = default[2].get_images()[0].get_array()
    np.testing.assert_allclose(rope[1:, 1:], rope[:-1, :-1], atol=1e-9)
    with pytest.raises(ValueError, match=r"head must lie in \[0, n_heads=4\), got head=4"):
        positional_schemes(n_heads=4, head=4)

    fig = positional_extrapolation(train_len=64, factor=2, n_heads=4)
    axes = fig.get_axes()
    assert axes[1].get_xlim() == (0.0, 128.0)
    assert len(axes[2].get_lines()) == 4 + 1  # four heads and the training-length line
    _svg_ok(fig)
    with pytest.raises(ValueError, match="need train_len >= 2"):
        positional_extrapolation(train_len=1)
    # the plotted similarity is PE(p) . PE(p + d) / (d / 2) for sinusoids of the same width
    pe = sinusoidal_encoding_numpy(400, 16)
    d = np.arange(0, 300, 7)
    np.testing.assert_allclose(rope_score_by_distance(d, 16), pe[50] @ pe[50 + d].T / 8, atol=1e-12)
    # ... and RoPE's score for q = k = (1, ..., 1) divided by head_dim, through apply_rope
    ones = torch.ones(1, 1, 1, 16, dtype=F64)
    q_0 = apply_rope(ones, torch.tensor([0]))
    k_d = apply_rope(ones.expand(1, 1, len(d), 16), torch.from_numpy(d))
    np.testing.assert_allclose(
        rope_score_by_distance(d, 16), (k_d @ q_0[0, 0, 0]).numpy()[0, 0] / 16, atol=1e-12
    )


def test_demo_positions_prints_each_scheme(capsys: pytest.CaptureFixture[str]) -> None:
    from transformer_atlas.demos import run_demo

    run_demo("positional-encoding")
    out = capsys.readouterr().out
    for line in [
        "x [batch, seq, d_model] = [1, 6, 16], permutation = [3, 0, 5, 1, 4, 2]",
        "(equivariant: True)",
        "(equivariant: False)",
        "weight [max_len, d_model] = [8, 4]",
        "9 positions with max_len=8: ValueError: positions 0..8 do not fit",
        "PE [seq, d_model] = [50, 8]",
        "PE[0] = [0.000, 1.000, 0.000, 1.000, 0.000, 1.000, 0.000, 1.000]",
        "M_3 [d_model, d_model] = [8, 8]",
        "q, k [batch, heads, seq, head_dim] = [1, 2, 6, 8] -> apply_rope -> [1, 2, 6, 8]",
        "norms unchanged (a rotation): True",
        "slopes for H = 8: 0.5, 0.25, 0.125, 0.0625, 0.03125, 0.01562, 0.007812, 0.003906",
        "alibi_bias(8, 4) [heads, q_len, k_len] = [8, 4, 4]",
        "head 0 (m = 1/2), query 3: [-1.50, -1.00, -0.50, 0.00]",
        "bidirectional: [0, 1, 8, 10, 14, 15, 15, 17, 24]",
        "causal:        [0, 1, 8, 16, 26, 31, 31, 0, 0]",
        "weight [num_buckets, n_heads] = [32, 4]",
        "bias constant along diagonals (depends on j - i only): True",
        "weights [1, 4, 3, 5], output [1, 4, 3, 8]",
    ]:
        assert line in out, f"missing line: {line!r}"
    assert "nan" not in out.lower()
    # the RoPE line prints the same score twice
    rope_line = next(ln for ln in out.splitlines() if ln.startswith("score(q at 5"))
    scores = [part.split("= ")[1].split(",")[0].split(" ")[0] for part in rope_line.split(", s")]
    assert scores[0] == scores[1]
    # M_3 reproduces the shift to rounding error
    shift_line = next(ln for ln in out.splitlines() if ln.startswith("M_3"))
    assert float(shift_line.rsplit(": ", 1)[1]) < 1e-12
