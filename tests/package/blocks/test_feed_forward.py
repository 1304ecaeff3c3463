"""Feed-forward layers and activations against oracles we did not write.

* ``relu``, ``gelu``, ``gelu_tanh``, ``silu`` vs ``torch.nn.functional``
  (values and autograd gradients); the closed-form derivatives
  (``relu_grad`` ...) vs autograd of ``torch.nn.functional``.
* ``FeedForward`` vs ``nn.Sequential(nn.Linear, activation, nn.Linear)`` with
  copied (transposed) weights, outputs and gradients.
* ``SwiGLU`` vs the formula written with ``F.silu``, and vs a Hugging
  Face-style LLaMA MLP (``down_proj(act_fn(gate_proj(x)) * up_proj(x))``)
  built from ``nn.Linear`` layers with copied weights.
* Position-wise: permuting positions permutes outputs; one position alone
  gives the same row.
* ``swiglu_hidden_size`` vs the published LLaMA widths; the 8/3 parameter
  identity.
* The figure and the demo.
* "Page claims": every number ``docs/blocks/feed-forward.md`` states.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from transformer_atlas.blocks.activations import (
    ACTIVATIONS,
    DERIVATIVES,
    TORCH_ACTIVATIONS,
    gelu,
    gelu_grad,
    gelu_tanh,
    relu,
    relu_grad,
    silu,
    silu_grad,
)
from transformer_atlas.blocks.attention import MultiHeadAttention
from transformer_atlas.blocks.feed_forward import (
    FeedForward,
    SwiGLU,
    swiglu_hidden_size,
)
from transformer_atlas.figures.blocks.feed_forward import activation_curves

F64 = torch.float64
TOL = {"rtol": 1e-12, "atol": 1e-12}

#: our name -> (torch.nn.functional version, torch.nn module)
ORACLES = {
    "relu": (F.relu, nn.ReLU()),
    "gelu": (F.gelu, nn.GELU()),
    "gelu_tanh": (lambda x: F.gelu(x, approximate="tanh"), nn.GELU(approximate="tanh")),
    "silu": (F.silu, nn.SiLU()),
}


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _points(dtype: torch.dtype = F64) -> torch.Tensor:
    """Random points, a dense grid, exact zero and large magnitudes."""
    grid = torch.linspace(-8, 8, 1601, dtype=dtype)
    special = torch.tensor([0.0, -0.0, 1e-8, -1e-8, 30.0, -30.0, 1e4, -1e4], dtype=dtype)
    return torch.cat([grid, special, 3 * torch.randn(500, generator=_gen(0), dtype=dtype)])


# ============================================================ activations
@pytest.mark.parametrize("name", sorted(ORACLES))
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_activation_matches_torch(name: str, dtype: torch.dtype) -> None:
    x = _points(dtype)
    theirs = ORACLES[name][0](x)
    tol = TOL if dtype == F64 else {"rtol": 1e-6, "atol": 1e-6}
    torch.testing.assert_close(ACTIVATIONS[name](x), theirs, **tol)


@pytest.mark.parametrize("name", sorted(ORACLES))
def test_activation_autograd_matches_torch(name: str) -> None:
    x = _points().requires_grad_(True)
    (ours,) = torch.autograd.grad(ACTIVATIONS[name](x).sum(), x)
    (theirs,) = torch.autograd.grad(ORACLES[name][0](x).sum(), x)
    torch.testing.assert_close(ours, theirs, **TOL)


@pytest.mark.parametrize("name", sorted(ORACLES))
def test_closed_form_derivative_matches_autograd(name: str) -> None:
    x = _points().requires_grad_(True)
    (theirs,) = torch.autograd.grad(ORACLES[name][0](x).sum(), x)
    torch.testing.assert_close(DERIVATIVES[name](x.detach()), theirs, **TOL)


def test_relu_at_zero_and_special_values() -> None:
    x = torch.tensor([0.0, -0.0, float("nan"), float("-inf"), float("inf")], requires_grad=True)
    y = relu(x)
    torch.testing.assert_close(y, F.relu(x), equal_nan=True)
    (g,) = torch.autograd.grad(y.sum(), x)
    (g_torch,) = torch.autograd.grad(F.relu(x).sum(), x)
    torch.testing.assert_close(g, g_torch)
    assert float(relu_grad(torch.tensor(0.0))) == 0.0  # F.relu's choice at 0


@settings(max_examples=30, deadline=None)
@given(
    shape=st.lists(st.integers(1, 4), min_size=0, max_size=3),
    seed=st.integers(0, 10_000),
    scale=st.floats(0.1, 20.0),
)
def test_activations_any_shape(shape: list[int], seed: int, scale: float) -> None:
    x = scale * torch.randn(tuple(shape), generator=_gen(seed), dtype=F64)
    for name, (functional, module) in ORACLES.items():
        out = ACTIVATIONS[name](x)
        assert out.shape == x.shape
        torch.testing.assert_close(out, module(x), **TOL)


@pytest.mark.parametrize("fn", [*ACTIVATIONS.values(), *DERIVATIVES.values()])
def test_activations_reject_integer_tensors(fn) -> None:  # noqa: ANN001
    with pytest.raises(ValueError, match="floating-point torch.Tensor, got torch.int64"):
        fn(torch.tensor([1, 2]))
    with pytest.raises(ValueError, match="got list"):
        fn([1.0])


# ============================================================ FeedForward
def _torch_ffn(ffn: FeedForward, activation: nn.Module) -> nn.Sequential:
    """The same layer as nn.Sequential, weights copied (transposed)."""
    bias = ffn.b_1 is not None
    seq = nn.Sequential(
        nn.Linear(ffn.d_model, ffn.d_ff, bias=bias, dtype=F64),
        activation,
        nn.Linear(ffn.d_ff, ffn.d_model, bias=bias, dtype=F64),
    )
    with torch.no_grad():
        seq[0].weight.copy_(ffn.w_1.T)  # nn.Linear stores [d_out, d_in]
        seq[2].weight.copy_(ffn.w_2.T)
        if bias:
            seq[0].bias.copy_(ffn.b_1)
            seq[2].bias.copy_(ffn.b_2)
    return seq


@pytest.mark.parametrize("name", sorted(ORACLES))
@pytest.mark.parametrize("bias", [True, False])
def test_feed_forward_matches_nn_sequential(name: str, bias: bool) -> None:
    torch.manual_seed(0)
    ffn = FeedForward(8, 32, activation=name, bias=bias).to(F64)
    if bias:  # non-zero biases, so that copying them is tested
        with torch.no_grad():
            ffn.b_1.normal_()
            ffn.b_2.normal_()
    oracle = _torch_ffn(ffn, ORACLES[name][1])
    x = torch.randn(3, 7, 8, generator=_gen(1), dtype=F64)
    out = ffn(x)
    assert out.shape == (3, 7, 8)
    torch.testing.assert_close(out, oracle(x), **TOL)
    # gradients of every weight, transposed back
    grad_out = torch.randn(out.shape, generator=_gen(2), dtype=F64)
    (out * grad_out).sum().backward()
    (oracle(x) * grad_out).sum().backward()
    torch.testing.assert_close(ffn.w_1.grad, oracle[0].weight.grad.T, **TOL)
    torch.testing.assert_close(ffn.w_2.grad, oracle[2].weight.grad.T, **TOL)
    if bias:
        torch.testing.assert_close(ffn.b_1.grad, oracle[0].bias.grad, **TOL)


def test_feed_forward_equals_two_kernel_size_1_convolutions() -> None:
    """The 2017 paper's description: two convolutions with kernel size 1."""
    torch.manual_seed(0)
    ffn = FeedForward(8, 32, activation="relu").to(F64)
    with torch.no_grad():
        ffn.b_1.normal_()
        ffn.b_2.normal_()
    conv_1 = nn.Conv1d(8, 32, kernel_size=1, dtype=F64)
    conv_2 = nn.Conv1d(32, 8, kernel_size=1, dtype=F64)
    with torch.no_grad():
        conv_1.weight.copy_(ffn.w_1.T[:, :, None])  # [out, in, kernel]
        conv_1.bias.copy_(ffn.b_1)
        conv_2.weight.copy_(ffn.w_2.T[:, :, None])
        conv_2.bias.copy_(ffn.b_2)
    x = torch.randn(3, 7, 8, generator=_gen(0), dtype=F64)
    # Conv1d wants [batch, channels, seq]: channels are the features
    theirs = conv_2(F.relu(conv_1(x.transpose(1, 2)))).transpose(1, 2)
    torch.testing.assert_close(ffn(x), theirs, **TOL)


def test_without_activation_two_layers_collapse_to_one() -> None:
    """(x W_1 + b_1) W_2 + b_2 = x (W_1 W_2) + (b_1 W_2 + b_2)."""
    gen = _gen(5)
    x, w_1, b_1 = (
        torch.randn(4, 6, generator=gen, dtype=F64),
        torch.randn(6, 24, generator=gen, dtype=F64),
        torch.randn(24, generator=gen, dtype=F64),
    )
    w_2, b_2 = (
        torch.randn(24, 6, generator=gen, dtype=F64),
        torch.randn(6, generator=gen, dtype=F64),
    )
    torch.testing.assert_close((x @ w_1 + b_1) @ w_2 + b_2, x @ (w_1 @ w_2) + (b_1 @ w_2 + b_2))


def test_default_feed_forward_is_gelu_with_bias() -> None:
    ffn = FeedForward(4, 16)
    assert ffn.act is TORCH_ACTIVATIONS["gelu"]
    assert ffn.b_1 is not None and ffn.b_2 is not None
    assert tuple(ffn.w_1.shape) == (4, 16) and tuple(ffn.w_2.shape) == (16, 4)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_layers_fused_activations_equal_the_written_out_ones(name: str) -> None:
    """Layers call torch's fused kernels; each equals our formula, gradients too."""
    assert set(TORCH_ACTIVATIONS) == set(ACTIVATIONS)
    x = torch.linspace(-6, 6, 241, dtype=torch.float64, requires_grad=True)
    ours, fused = ACTIVATIONS[name](x), TORCH_ACTIVATIONS[name](x)
    torch.testing.assert_close(fused, ours, rtol=1e-12, atol=1e-12)
    (g_ours,) = torch.autograd.grad(ours.sum(), x)
    (g_fused,) = torch.autograd.grad(fused.sum(), x)
    torch.testing.assert_close(g_fused, g_ours, rtol=1e-10, atol=1e-10)


@settings(max_examples=25, deadline=None)
@given(seq=st.integers(1, 8), seed=st.integers(0, 10_000), layer=st.sampled_from(["ffn", "swiglu"]))
def test_position_wise_permutation_permutes_outputs(seq: int, seed: int, layer: str) -> None:
    """FFN(P X) = P FFN(X) for every permutation P of the positions."""
    torch.manual_seed(seed)
    module = FeedForward(6, 24) if layer == "ffn" else SwiGLU(6)
    module = module.to(F64)
    x = torch.randn(2, seq, 6, generator=_gen(seed), dtype=F64)
    perm = torch.randperm(seq, generator=_gen(seed + 1))
    torch.testing.assert_close(module(x[:, perm]), module(x)[:, perm], **TOL)


@pytest.mark.parametrize("layer", ["ffn", "swiglu"])
def test_each_position_is_transformed_alone(layer: str) -> None:
    torch.manual_seed(0)
    module = (FeedForward(6, 24) if layer == "ffn" else SwiGLU(6)).to(F64)
    x = torch.randn(2, 5, 6, generator=_gen(0), dtype=F64)
    out = module(x)
    for b in range(2):
        for t in range(5):
            torch.testing.assert_close(module(x[b, t]), out[b, t], **TOL)
    # changing one position changes that output row only
    x2 = x.clone()
    x2[1, 2] += 1.0
    changed = (module(x2) != out).any(-1)
    expected = torch.zeros(2, 5, dtype=torch.bool)
    expected[1, 2] = True
    assert torch.equal(changed, expected)


def test_feed_forward_rejects_bad_input() -> None:
    ffn = FeedForward(8, 32)
    with pytest.raises(
        ValueError, match=r"last dimension d_model=8 \[batch, seq, d_model\], got shape \(2, 5, 6\)"
    ):
        ffn(torch.randn(2, 5, 6))
    with pytest.raises(ValueError, match="floating-point tensor, got torch.int64"):
        ffn(torch.ones(2, 8, dtype=torch.long))
    with pytest.raises(ValueError, match=r"at least 1 dimensions"):
        ffn(torch.tensor(1.0))
    with pytest.raises(
        ValueError,
        match=r"activation must be one of \['gelu', 'gelu_tanh', 'relu', 'silu'\], got 'tanh'",
    ):
        FeedForward(8, 32, activation="tanh")
    with pytest.raises(ValueError, match="d_ff must be a positive int, got 0"):
        FeedForward(8, 0)
    with pytest.raises(ValueError, match="d_model must be a positive int, got 0"):
        SwiGLU(0)
    with pytest.raises(ValueError, match="d_ff must be a positive int, got -1"):
        SwiGLU(4, d_ff=-1)
    with pytest.raises(ValueError, match=r"last dimension d_model=4"):
        SwiGLU(4)(torch.randn(3, 5))


# ================================================================= SwiGLU
def test_swiglu_matches_formula_with_f_silu() -> None:
    torch.manual_seed(0)
    layer = SwiGLU(12, d_ff=20).to(F64)
    x = torch.randn(2, 3, 12, generator=_gen(0), dtype=F64)
    expected = (F.silu(x @ layer.w_gate) * (x @ layer.w_up)) @ layer.w_down
    torch.testing.assert_close(layer(x), expected, **TOL)
    assert layer.d_ff == 20 and sum(p.numel() for p in layer.parameters()) == 3 * 12 * 20


class _HFStyleLlamaMLP(nn.Module):
    """The semantics of Hugging Face's ``LlamaMLP``, written with nn.Linear."""

    def __init__(self, hidden_size: int, intermediate_size: int) -> None:
        super().__init__()
        self.gate_proj = nn.Linear(hidden_size, intermediate_size, bias=False)
        self.up_proj = nn.Linear(hidden_size, intermediate_size, bias=False)
        self.down_proj = nn.Linear(intermediate_size, hidden_size, bias=False)
        self.act_fn = nn.SiLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.down_proj(self.act_fn(self.gate_proj(x)) * self.up_proj(x))


def test_swiglu_matches_hf_style_llama_mlp() -> None:
    torch.manual_seed(0)
    hidden = 24
    ours = SwiGLU(hidden).to(F64)  # d_ff = 64 = swiglu_hidden_size(24)
    theirs = _HFStyleLlamaMLP(hidden, ours.d_ff).to(F64)
    with torch.no_grad():
        theirs.gate_proj.weight.copy_(ours.w_gate.T)
        theirs.up_proj.weight.copy_(ours.w_up.T)
        theirs.down_proj.weight.copy_(ours.w_down.T)
    x = torch.randn(2, 5, hidden, generator=_gen(3), dtype=F64)
    out = ours(x)
    torch.testing.assert_close(out, theirs(x), **TOL)
    grad_out = torch.randn(out.shape, generator=_gen(4), dtype=F64)
    (out * grad_out).sum().backward()
    (theirs(x) * grad_out).sum().backward()
    torch.testing.assert_close(ours.w_gate.grad, theirs.gate_proj.weight.grad.T, **TOL)
    torch.testing.assert_close(ours.w_up.grad, theirs.up_proj.weight.grad.T, **TOL)
    torch.testing.assert_close(ours.w_down.grad, theirs.down_proj.weight.grad.T, **TOL)


def _meta_llama_hidden_dim(dim: int, multiple_of: int, ffn_dim_multiplier: float | None) -> int:
    """Meta's reference code (llama/model.py, FeedForward.__init__), verbatim in float."""
    hidden_dim = 4 * dim
    hidden_dim = int(2 * hidden_dim / 3)
    if ffn_dim_multiplier is not None:
        hidden_dim = int(ffn_dim_multiplier * hidden_dim)
    return multiple_of * ((hidden_dim + multiple_of - 1) // multiple_of)


@settings(max_examples=60, deadline=None)
@given(
    d_model=st.integers(1, 20_000),
    multiple_of=st.sampled_from([1, 2, 8, 64, 256, 1024]),
    multiplier=st.sampled_from([None, 1.0, 1.3, 1.5]),
)
def test_swiglu_hidden_size_matches_meta_formula(
    d_model: int, multiple_of: int, multiplier
) -> None:  # noqa: ANN001
    ours = swiglu_hidden_size(d_model, multiple_of, multiplier)
    assert ours == _meta_llama_hidden_dim(d_model, multiple_of, multiplier)
    assert ours % multiple_of == 0


@pytest.mark.parametrize(
    ("d_model", "multiple_of", "multiplier", "intermediate_size"),
    [
        (4096, 256, None, 11008),  # LLaMA-7B (and Llama 2 7B)
        (5120, 256, None, 13824),  # LLaMA-13B
        (8192, 4096, 1.3, 28672),  # Llama 2 70B
        (4096, 1024, 1.3, 14336),  # Llama 3 8B
    ],
)
def test_swiglu_hidden_size_gives_published_llama_widths(
    d_model: int, multiple_of: int, multiplier: float | None, intermediate_size: int
) -> None:
    """The `intermediate_size` of the published Hugging Face configs."""
    assert swiglu_hidden_size(d_model, multiple_of, multiplier) == intermediate_size


@settings(max_examples=60, deadline=None)
@given(d_model=st.integers(1, 100_000))
def test_eight_thirds_parameter_identity(d_model: int) -> None:
    """3 d (8d/3) = 2 d (4d) exactly when 3 | d; otherwise short by d (8d mod 3)."""
    d_ff = swiglu_hidden_size(d_model)
    swiglu_params, ffn_params = 3 * d_model * d_ff, 2 * d_model * (4 * d_model)
    if d_model % 3 == 0:
        assert swiglu_params == ffn_params
    else:
        assert ffn_params - swiglu_params == d_model * (8 * d_model % 3)
        assert ffn_params - swiglu_params in (d_model, 2 * d_model)


# ============================================================== figure
def test_activation_figure_draws_the_functions_and_derivatives() -> None:
    fig = activation_curves(names=("gelu", "silu"), x_min=-2, x_max=2, n_points=41)
    left, right = fig.get_axes()

    def curves(ax):  # noqa: ANN001, ANN202 - the labelled lines, not the x/y axes
        return [ln for ln in ax.get_lines() if not ln.get_label().startswith("_")]

    assert len(curves(left)) == 2 and len(curves(right)) == 2
    x = torch.tensor(curves(left)[0].get_xdata(), dtype=F64)
    assert len(x) == 41 and float(x[0]) == -2.0
    np.testing.assert_allclose(curves(left)[1].get_ydata(), F.silu(x).numpy(), rtol=1e-12)
    xg = x.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(F.gelu(xg).sum(), xg)
    np.testing.assert_allclose(curves(right)[0].get_ydata(), grad.numpy(), rtol=1e-12, atol=1e-15)
    labels = [t.get_text() for t in left.get_legend().get_texts()]
    assert labels == ["GELU (exact)", "SiLU (swish)"]
    with pytest.raises(ValueError, match=r"got \('swish',\)"):
        activation_curves(names=("swish",))
    with pytest.raises(ValueError, match="x_min=1, x_max=0"):
        activation_curves(x_min=1, x_max=0)


# ================================================================ demo
def test_demo_feed_forward(capsys: pytest.CaptureFixture[str]) -> None:
    from transformer_atlas.cli import main

    assert main(["demo", "feed-forward"]) == 0
    out = capsys.readouterr().out
    for line in [
        "h = x @ W_1 + b_1   h [batch, seq, d_ff] = [2, 5, 48]",
        "y = a @ W_2 + b_2   y [batch, seq, d_model] = [2, 5, 12]",
        "y equals ffn(x): True",
        "position (1, 3) run alone gives the same row: True",
        "permutes the outputs: True",
        "SwiGLU(d_model=12): d_ff = swiglu_hidden_size(12) = 32",
        "gate = silu(x @ W_gate)   gate [batch, seq, d_ff] = [2, 5, 32]",
        "y equals swiglu(x): True",
        "FFN, d_ff = 4 d_model = 48, no biases: 2 * 12 * 48 = 1152",
        "SwiGLU, d_ff = 8/3 d_model = 32: 3 * 12 * 32 = 1152",
        "LLaMA-7B: swiglu_hidden_size(4096, multiple_of=256) = 11008",
    ]:
        assert line in out, f"missing line: {line!r}\n{out}"
    gelu_row = next(ln for ln in out.splitlines() if ln.startswith("gelu "))
    assert gelu_row.split()[1:] == [
        "-0.004",
        "-0.159",
        "-0.154",
        "0.000",
        "0.346",
        "0.841",
        "2.996",
    ]
    assert "nan" not in out.lower()


# ================================================================ page claims
# Each test backs a sentence of docs/blocks/feed-forward.md.


def _count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_claim_gpt2_ffn_is_two_thirds_of_a_block() -> None:
    """ "In GPT-2 small (d_model = 768, d_ff = 3072) one FFN has 4,722,432
    parameters and the attention layer 2,362,368: the FFN holds two thirds
    of the block's 7,087,872"."""
    with torch.device("meta"):
        ffn = FeedForward(768, 3072, activation="gelu_tanh")
        attn = MultiHeadAttention(768, 12)
        norms = [nn.LayerNorm(768), nn.LayerNorm(768)]
    assert _count(ffn) == 2 * 768 * 3072 + 3072 + 768 == 4_722_432
    assert _count(attn) == 2_362_368
    block = _count(ffn) + _count(attn) + sum(_count(n) for n in norms)
    assert block == 7_087_872
    assert round(_count(ffn) / block, 3) == 0.666


def test_claim_parameter_formulas() -> None:
    """ "FFN: 2 d_model d_ff + d_ff + d_model parameters; SwiGLU: 3 d_model d_ff"."""
    for d_model, d_ff in ((8, 32), (12, 20), (5, 7)):
        assert _count(FeedForward(d_model, d_ff)) == 2 * d_model * d_ff + d_ff + d_model
        assert _count(FeedForward(d_model, d_ff, bias=False)) == 2 * d_model * d_ff
        assert _count(SwiGLU(d_model, d_ff)) == 3 * d_model * d_ff


def test_claim_llama_7b_widths_and_counts() -> None:
    """ "LLaMA-7B: d_model = 4096, multiple_of = 256 gives d_ff = 11008 (8/3 x 4096
    = 10922.67, rounded up to a multiple of 256); its SwiGLU has
    3 x 4096 x 11008 = 135,266,304 parameters per layer, 1/128 (0.78%) more
    than a plain FFN's 2 x 4096 x 16384 = 134,217,728"."""
    assert swiglu_hidden_size(4096, multiple_of=256) == 11008
    assert round(8 / 3 * 4096, 2) == 10922.67 and 11008 == 43 * 256
    swiglu, plain = 3 * 4096 * 11008, 2 * 4096 * 4 * 4096
    assert (swiglu, plain) == (135_266_304, 134_217_728)
    assert swiglu / plain == 1 + 1 / 128
    with torch.device("meta"):
        assert _count(SwiGLU(4096, 11008)) == swiglu
        assert _count(FeedForward(4096, 16384, bias=False)) == plain


def test_claim_small_example_counts() -> None:
    """ "d_model = 12: SwiGLU's d_ff = 32 and both layers have 1152 weights";
    the page's example block prints torch.Size([2, 5, 12]) twice, 1152 1152
    and True (permuted positions give permuted outputs)."""
    assert swiglu_hidden_size(12) == 32
    torch.manual_seed(0)
    x = torch.randn(2, 5, 12)
    ffn = FeedForward(d_model=12, d_ff=48, activation="gelu", bias=False)
    swiglu = SwiGLU(d_model=12)
    assert ffn(x).shape == swiglu(x).shape == (2, 5, 12)
    assert _count(ffn) == _count(swiglu) == 1152
    perm = torch.tensor([4, 2, 0, 1, 3])
    assert torch.allclose(ffn(x[:, perm]), ffn(x)[:, perm], atol=1e-6)


def test_claim_gelu_minus_tanh_approximation() -> None:
    """ "the tanh approximation differs from the exact GELU by at most
    0.00047 (near x = ±2.7)"."""
    x = torch.linspace(-10, 10, 200_001, dtype=F64)
    diff = (gelu(x) - gelu_tanh(x)).abs()
    assert 0.000470 < float(diff.max()) < 0.000475
    assert abs(abs(float(x[diff.argmax()])) - 2.7) < 0.05


def test_claim_minima_of_gelu_and_silu() -> None:
    """ "GELU dips to -0.170 at x = -0.752, SiLU to -0.278 at x = -1.278"."""
    x = torch.linspace(-4, 0, 400_001, dtype=F64)
    for f, value, where in ((gelu, -0.170, -0.752), (silu, -0.278, -1.278)):
        y = f(x)
        assert round(float(y.min()), 3) == value
        assert round(float(x[y.argmin()]), 3) == where
    # SiLU's minimum value is 1 + x* (from s'(x*) = 0): a closed form to check
    i = int(silu(x).argmin())
    assert abs(float(silu(x)[i]) - (1 + float(x[i]))) < 1e-5


def test_claim_derivative_extremes() -> None:
    """ "GELU's slope peaks at 1.129 at x = sqrt(2) and bottoms out at -0.129
    at x = -sqrt(2); SiLU's peaks at 1.100 (x = 2.40)"."""
    root2 = torch.tensor([math.sqrt(2.0)], dtype=F64)
    assert round(float(gelu_grad(root2)), 3) == 1.129
    assert round(float(gelu_grad(-root2)), 3) == -0.129
    x = torch.linspace(-6, 6, 1_200_001, dtype=F64)
    g = gelu_grad(x)
    assert abs(float(x[g.argmax()]) - math.sqrt(2)) < 1e-4
    s = silu_grad(x)
    assert round(float(s.max()), 3) == 1.100 and round(float(x[s.argmax()]), 2) == 2.40


def test_claim_odd_part_is_half_x() -> None:
    """ "All four satisfy f(x) - f(-x) = x ... so f'(x) + f'(-x) = 1"."""
    x = _points()
    x = x[x.abs() < 50]
    for name, f in ACTIVATIONS.items():
        torch.testing.assert_close(f(x) - f(-x), x, rtol=1e-12, atol=1e-12)
        df = DERIVATIVES[name]
        nonzero = x[x != 0]  # ReLU's derivative jumps at 0
        torch.testing.assert_close(df(nonzero) + df(-nonzero), torch.ones_like(nonzero))


def test_claim_relu_gradient_is_zero_for_negative_inputs() -> None:
    """ "ReLU's derivative is exactly 0 for every negative input ...; GELU and
    SiLU pass a small gradient there"."""
    x = torch.linspace(-3, -0.1, 30, dtype=F64)
    assert bool((relu_grad(x) == 0).all())
    assert bool((gelu_grad(x) != 0).all()) and bool((silu_grad(x) != 0).all())


def test_claim_error_message() -> None:
    """The bad-input block prints "x must have last dimension d_model=12
    [batch, seq, d_model], got shape (2, 5, 10)"."""
    with pytest.raises(ValueError) as err:
        FeedForward(12, 48)(torch.randn(2, 5, 10))
    assert (
        str(err.value)
        == "x must have last dimension d_model=12 [batch, seq, d_model], got shape (2, 5, 10)"
    )
