"""LayerNorm, RMSNorm and pre-/post-norm residual blocks against oracles we did not write.

* ``layer_norm`` / ``LayerNorm`` vs ``torch.nn.LayerNorm`` and ``F.layer_norm``, ``rms_norm`` /
  ``RMSNorm`` vs ``torch.nn.RMSNorm``: copied weights, several shapes and eps values, outputs and
  gradients (autograd) of the input and the parameters; the NumPy twins vs the torch versions.
* ``layer_norm_jacobian`` vs ``torch.autograd.functional.jacobian``.
* Properties (hypothesis): LayerNorm rows have mean 0 and variance var / (var + eps); LayerNorm is
  invariant to shifting and to positive scaling of a row, RMSNorm to scaling only.
* ``PreNormBlock`` / ``PostNormBlock`` vs ``torch.nn.TransformerEncoderLayer`` with
  ``norm_first=True`` / ``False`` and copied (transposed) weights, with and without masks, outputs
  and gradients; ``TransformerStack`` vs ``torch.nn.TransformerEncoder``.
* The residual connection's Jacobian is I + f'(x) (autograd).
* Page claims: every number and property ``docs/blocks/normalization.md`` states.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from matplotlib.figure import Figure
from scipy.stats import spearmanr
from torch import nn

from transformer_atlas.blocks.feed_forward import FeedForward
from transformer_atlas.blocks.normalization import (
    LayerNorm,
    RMSNorm,
    layer_norm,
    layer_norm_jacobian,
    layer_norm_numpy,
    rms_norm,
    rms_norm_numpy,
)
from transformer_atlas.blocks.residual import (
    PostNormBlock,
    PreNormBlock,
    TransformerStack,
    gradient_norms_at_init,
    load_torch_encoder_layer,
    make_norm,
    residual_stream_norms,
)
from transformer_atlas.common.threads import single_thread
from transformer_atlas.demos import run_demo
from transformer_atlas.figures import load_all
from transformer_atlas.figures.blocks.normalization import (
    gradient_norms,
    stream_norms,
)

F64 = torch.float64
TOL = {"rtol": 1e-10, "atol": 1e-12}
SHAPES = [(8,), (3, 8), (2, 5, 8), (2, 3, 4, 16)]
EPSILONS = [1e-5, 1e-3, 0.5]


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny matrices: one thread is faster, and immune to oversubscribed cores."""
    with single_thread():
        yield


def _randn(*shape: int, seed: int = 0, scale: float = 1.0, shift: float = 0.0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return scale * torch.randn(*shape, generator=gen, dtype=F64) + shift


def _backward_and_grads(out: torch.Tensor, upstream: torch.Tensor, *tensors) -> list[torch.Tensor]:
    """Gradients of sum(out * upstream) with respect to ``tensors``."""
    return list(torch.autograd.grad((out * upstream).sum(), tensors))


# ================================================================================= LayerNorm
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("eps", EPSILONS)
def test_layer_norm_matches_torch_with_gradients(shape: tuple[int, ...], eps: float) -> None:
    d = shape[-1]
    theirs = nn.LayerNorm(d, eps=eps, dtype=F64)
    with torch.no_grad():  # random affine part, so that gamma and beta matter
        theirs.weight.copy_(_randn(d, seed=1, scale=0.5, shift=1.0))
        theirs.bias.copy_(_randn(d, seed=2))
    ours = LayerNorm(d, eps=eps).to(F64)
    with torch.no_grad():
        ours.gamma.copy_(theirs.weight)
        ours.beta.copy_(theirs.bias)

    x = _randn(*shape, seed=3, scale=2.0, shift=0.7).requires_grad_(True)
    x_theirs = x.detach().clone().requires_grad_(True)
    out, out_theirs = ours(x), theirs(x_theirs)
    torch.testing.assert_close(out, out_theirs, **TOL)

    upstream = _randn(*shape, seed=4)
    ours_grads = _backward_and_grads(out, upstream, x, ours.gamma, ours.beta)
    theirs_grads = _backward_and_grads(out_theirs, upstream, x_theirs, theirs.weight, theirs.bias)
    for a, b in zip(ours_grads, theirs_grads):
        torch.testing.assert_close(a, b, **TOL)


def test_layer_norm_without_bias_matches_torch() -> None:
    theirs = nn.LayerNorm(8, bias=False, dtype=F64)
    ours = LayerNorm(8, bias=False).to(F64)
    assert ours.beta is None and sum(p.numel() for p in ours.parameters()) == 8
    with torch.no_grad():
        theirs.weight.copy_(_randn(8, seed=5))
        ours.gamma.copy_(theirs.weight)
    x = _randn(2, 3, 8, seed=6)
    torch.testing.assert_close(ours(x), theirs(x), **TOL)


@pytest.mark.parametrize("eps", [1e-5, 0.1])
def test_layer_norm_function_matches_functional(eps: float) -> None:
    x = _randn(4, 6, 10, seed=7, scale=3.0)
    gamma, beta = _randn(10, seed=8), _randn(10, seed=9)
    torch.testing.assert_close(layer_norm(x, eps=eps), F.layer_norm(x, (10,), eps=eps), **TOL)
    torch.testing.assert_close(
        layer_norm(x, gamma, beta, eps), F.layer_norm(x, (10,), gamma, beta, eps), **TOL
    )


def test_layer_norm_float32_module_matches_torch() -> None:
    torch.manual_seed(0)
    theirs, ours = nn.LayerNorm(32), LayerNorm(32)
    with torch.no_grad():
        theirs.weight.normal_()
        theirs.bias.normal_()
        ours.gamma.copy_(theirs.weight)
        ours.beta.copy_(theirs.bias)
    x = 5.0 * torch.randn(4, 7, 32) + 3.0
    torch.testing.assert_close(ours(x), theirs(x), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("shape", SHAPES)
def test_layer_norm_numpy_matches_torch(shape: tuple[int, ...]) -> None:
    x = _randn(*shape, seed=10, scale=2.0)
    gamma, beta = _randn(shape[-1], seed=11), _randn(shape[-1], seed=12)
    np.testing.assert_allclose(
        layer_norm_numpy(x.numpy(), gamma.numpy(), beta.numpy(), 1e-3),
        layer_norm(x, gamma, beta, 1e-3).numpy(),
        rtol=1e-12,
        atol=1e-12,
    )


# =================================================================================== RMSNorm
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("eps", EPSILONS)
def test_rms_norm_matches_torch_with_gradients(shape: tuple[int, ...], eps: float) -> None:
    d = shape[-1]
    theirs = nn.RMSNorm(d, eps=eps, dtype=F64)
    with torch.no_grad():
        theirs.weight.copy_(_randn(d, seed=13, scale=0.5, shift=1.0))
    ours = RMSNorm(d, eps=eps).to(F64)
    with torch.no_grad():
        ours.gamma.copy_(theirs.weight)

    x = _randn(*shape, seed=14, scale=2.0, shift=0.5).requires_grad_(True)
    x_theirs = x.detach().clone().requires_grad_(True)
    out, out_theirs = ours(x), theirs(x_theirs)
    torch.testing.assert_close(out, out_theirs, **TOL)

    upstream = _randn(*shape, seed=15)
    ours_grads = _backward_and_grads(out, upstream, x, ours.gamma)
    theirs_grads = _backward_and_grads(out_theirs, upstream, x_theirs, theirs.weight)
    for a, b in zip(ours_grads, theirs_grads):
        torch.testing.assert_close(a, b, **TOL)


@pytest.mark.parametrize("dtype", [torch.float32, F64])
def test_rms_norm_torch_default_eps_is_machine_epsilon(dtype: torch.dtype) -> None:
    """torch.nn.RMSNorm(eps=None) uses torch.finfo(dtype).eps; ours takes it explicitly."""
    x = torch.randn(3, 5, 16, dtype=dtype) * 1e-3  # small rows, so that eps matters
    theirs = nn.RMSNorm(16, dtype=dtype)
    assert theirs.eps is None
    ours = rms_norm(x, eps=torch.finfo(dtype).eps)
    tol = {"rtol": 1e-5, "atol": 1e-6} if dtype == torch.float32 else TOL
    torch.testing.assert_close(ours, theirs(x), **tol)


@pytest.mark.parametrize("shape", SHAPES)
def test_rms_norm_numpy_matches_torch(shape: tuple[int, ...]) -> None:
    x = _randn(*shape, seed=16, scale=2.0)
    gamma = _randn(shape[-1], seed=17)
    np.testing.assert_allclose(
        rms_norm_numpy(x.numpy(), gamma.numpy(), 1e-4),
        rms_norm(x, gamma, 1e-4).numpy(),
        rtol=1e-12,
        atol=1e-12,
    )


# ================================================================================== Jacobian
@pytest.mark.parametrize("eps", [0.0, 1e-5, 0.3])
def test_layer_norm_jacobian_matches_autograd(eps: float) -> None:
    x = _randn(7, seed=18, scale=1.5, shift=2.0)
    theirs = torch.autograd.functional.jacobian(lambda r: layer_norm(r, eps=eps), x)
    # autograd's [out, in] is the transpose of our row-vector [in, out]; the matrix is symmetric
    torch.testing.assert_close(layer_norm_jacobian(x, eps), theirs.T, **TOL)
    torch.testing.assert_close(layer_norm_jacobian(x, eps), theirs, **TOL)


# ================================================================================ properties
ROWS = arrays(
    np.float64,
    st.tuples(st.integers(1, 4), st.integers(2, 12)),
    elements=st.floats(-100.0, 100.0, allow_nan=False, width=64),
)


def _spread(x: np.ndarray) -> bool:
    """Rows whose variance is not tiny, so that normalising them is well conditioned."""
    return bool((x.var(-1) > 1e-2).all())


@settings(max_examples=60, deadline=None)
@given(x=ROWS, eps=st.sampled_from([0.0, 1e-5, 1e-2]))
def test_layer_norm_rows_have_mean_zero_and_variance_var_over_var_plus_eps(x, eps) -> None:
    if not _spread(x):
        return
    x_hat = layer_norm_numpy(x, eps=eps)
    var = x.var(-1)
    np.testing.assert_allclose(x_hat.mean(-1), 0.0, atol=1e-9)
    np.testing.assert_allclose(x_hat.var(-1), var / (var + eps), rtol=1e-9)


@settings(max_examples=60, deadline=None)
@given(
    x=ROWS,
    scale=st.floats(1e-2, 1e3),
    shift=st.floats(-1e3, 1e3),
)
def test_layer_norm_is_invariant_to_shift_and_positive_scale(x, scale, shift) -> None:
    if not _spread(x):
        return
    np.testing.assert_allclose(
        layer_norm_numpy(scale * x + shift, eps=0.0), layer_norm_numpy(x, eps=0.0), atol=1e-7
    )
    # a negative scale flips the sign of the normalised row
    np.testing.assert_allclose(
        layer_norm_numpy(-scale * x, eps=0.0), -layer_norm_numpy(x, eps=0.0), atol=1e-7
    )


@settings(max_examples=60, deadline=None)
@given(x=ROWS, scale=st.floats(1e-2, 1e3))
def test_rms_norm_has_unit_rms_and_is_scale_invariant(x, scale) -> None:
    if not (np.sqrt((x**2).mean(-1)) > 1e-1).all():
        return
    y = rms_norm_numpy(x, eps=0.0)
    np.testing.assert_allclose(np.sqrt((y**2).mean(-1)), 1.0, rtol=1e-9)
    np.testing.assert_allclose(rms_norm_numpy(scale * x, eps=0.0), y, atol=1e-7)


def test_rms_norm_is_not_shift_invariant_and_layer_norm_is_rms_norm_of_the_centred_row() -> None:
    x = _randn(5, 16, seed=19, scale=2.0, shift=1.0)
    gamma = _randn(16, seed=20)
    assert not torch.allclose(rms_norm(x + 3.0, eps=0.0), rms_norm(x, eps=0.0), atol=1e-3)
    centred = x - x.mean(-1, keepdim=True)
    torch.testing.assert_close(
        layer_norm(x, gamma, eps=1e-5), rms_norm(centred, gamma, eps=1e-5), **TOL
    )


def test_each_token_is_normalised_on_its_own() -> None:
    """Unlike BatchNorm, a row's output does not depend on the other rows of the batch."""
    x = _randn(4, 6, 8, seed=21)
    other = x.clone()
    other[1:] = _randn(3, 6, 8, seed=22)  # change every other sequence
    other[0, 1:] *= 50.0  # and the other tokens of the same sequence
    for norm in (layer_norm, rms_norm):
        torch.testing.assert_close(norm(other)[0, 0], norm(x)[0, 0], **TOL)


def test_jacobian_properties() -> None:
    """The gradient leaving a LayerNorm has no component along 1 or x_hat; it is divided by
    sigma."""
    x = _randn(10, seed=23, scale=3.0, shift=-1.0)
    jac = layer_norm_jacobian(x, eps=0.0)
    x_hat = layer_norm(x, eps=0.0)
    torch.testing.assert_close(jac @ torch.ones(10, dtype=F64), torch.zeros(10, dtype=F64), **TOL)
    torch.testing.assert_close(jac @ x_hat, torch.zeros(10, dtype=F64), **TOL)
    # "A row ten times larger passes back a gradient ten times smaller"
    torch.testing.assert_close(layer_norm_jacobian(10.0 * x, eps=0.0), jac / 10.0, **TOL)


# ================================================================================ validation
def test_bad_input_raises_value_error_naming_shapes() -> None:
    x = torch.randn(2, 3, 8)
    with pytest.raises(
        ValueError,
        match=r"gamma must have shape \[d_model\] = \(8,\) to match x \(2, 3, 8\), "
        r"got gamma shape \(4,\)",
    ):
        layer_norm(x, torch.ones(4))
    with pytest.raises(ValueError, match=r"beta must have shape"):
        layer_norm_numpy(x.numpy(), None, np.zeros(3))
    with pytest.raises(
        ValueError, match=r"x must have at least 1 dimensions \[\.\.\., d_model\], got shape \(\)"
    ):
        rms_norm(torch.tensor(1.0))
    with pytest.raises(ValueError, match=r"eps must be a finite number >= 0, got -1e-05"):
        rms_norm_numpy(x.numpy(), eps=-1e-5)
    with pytest.raises(ValueError, match=r"eps must be a finite number >= 0, got nan"):
        LayerNorm(8, eps=float("nan"))
    with pytest.raises(ValueError, match=r"d_model must be a positive int, got 0"):
        RMSNorm(0)
    with pytest.raises(ValueError, match=r"gamma must have shape \[d_model\] = \(8,\)"):
        LayerNorm(4)(x)
    with pytest.raises(ValueError, match=r"x must be one row \[d_model\], got shape \(2, 3, 8\)"):
        layer_norm_jacobian(x)
    with pytest.raises(ValueError, match=r"norm must be 'layer' or 'rms', got 'batch'"):
        make_norm("batch", 8, 1e-5)
    block = PreNormBlock(8, 2, 16)
    with pytest.raises(
        ValueError, match=r"x must have 3 dimensions \[batch, seq, d_model\], got shape \(3, 8\)"
    ):
        block(torch.randn(3, 8))
    with pytest.raises(
        ValueError, match=r"x must have last dimension d_model=8, got shape \(1, 3, 6\)"
    ):
        PostNormBlock(8, 2, 16)(torch.randn(1, 3, 6))
    with pytest.raises(ValueError, match=r"n_layers must be >= 1, got 0"):
        TransformerStack(0, 8, 2, 16)
    with pytest.raises(ValueError, match=r"need n_layers >= 2"):
        gradient_norms(n_layers=1)
    wide = nn.TransformerEncoderLayer(8, 2, 32, batch_first=True)
    with pytest.raises(ValueError, match=r"a parameter of shape \(8, 16\) would get \(8, 32\)"):
        load_torch_encoder_layer(block, wide)


# ===================================================================== blocks vs PyTorch's own
def _torch_layer(d_model: int, n_heads: int, d_ff: int, norm_first: bool, seed: int) -> nn.Module:
    torch.manual_seed(seed)
    layer = nn.TransformerEncoderLayer(
        d_model,
        n_heads,
        d_ff,
        dropout=0.0,
        activation="gelu",
        batch_first=True,
        norm_first=norm_first,
        dtype=F64,
    )
    with torch.no_grad():  # every parameter random, LayerNorm gains and biases included
        for p in layer.parameters():
            p.copy_(0.3 * torch.randn_like(p))
        layer.norm1.weight.add_(1.0)
        layer.norm2.weight.add_(1.0)
    return layer


def _block_pair(
    norm_first: bool, seed: int = 0, d_model: int = 16, n_heads: int = 4, d_ff: int = 40
):
    theirs = _torch_layer(d_model, n_heads, d_ff, norm_first, seed)
    block = PreNormBlock if norm_first else PostNormBlock
    ours = block(d_model, n_heads, d_ff, activation="gelu").to(F64)
    load_torch_encoder_layer(ours, theirs)
    return ours, theirs


@pytest.mark.parametrize("norm_first", [True, False])
@pytest.mark.parametrize("masking", ["none", "causal", "padding"])
def test_block_matches_torch_encoder_layer(norm_first: bool, masking: str) -> None:
    ours, theirs = _block_pair(norm_first)
    x = _randn(3, 6, 16, seed=24, scale=1.5).requires_grad_(True)
    x_theirs = x.detach().clone().requires_grad_(True)
    if masking == "none":
        out = ours(x)
        out_theirs = theirs(x_theirs)
    elif masking == "causal":
        out = ours(x, is_causal=True)
        float_mask = nn.Transformer.generate_square_subsequent_mask(6, dtype=F64)
        out_theirs = theirs(x_theirs, src_mask=float_mask, is_causal=True)
    else:
        lengths = torch.tensor([6, 4, 2])
        keep = torch.arange(6)[None, :] < lengths[:, None]  # [batch, k_len], True = real token
        out = ours(x, mask=keep[:, None, None, :])  # ours: True = may attend
        out_theirs = theirs(x_theirs, src_key_padding_mask=~keep)  # torch: True = padding
    torch.testing.assert_close(out, out_theirs, **TOL)
    upstream = _randn(3, 6, 16, seed=25)
    (grad,) = _backward_and_grads(out, upstream, x)
    (grad_theirs,) = _backward_and_grads(out_theirs, upstream, x_theirs)
    torch.testing.assert_close(grad, grad_theirs, **TOL)


@pytest.mark.parametrize("norm_first", [True, False])
def test_block_parameter_gradients_match_torch(norm_first: bool) -> None:
    ours, theirs = _block_pair(norm_first, seed=1)
    x = _randn(2, 5, 16, seed=26)
    upstream = _randn(2, 5, 16, seed=27)
    (ours(x) * upstream).sum().backward()
    (theirs(x) * upstream).sum().backward()
    torch.testing.assert_close(ours.ffn.w_1.grad, theirs.linear1.weight.grad.T, **TOL)
    torch.testing.assert_close(ours.attn.w_o.grad, theirs.self_attn.out_proj.weight.grad.T, **TOL)
    torch.testing.assert_close(
        ours.attn.w_q.grad, theirs.self_attn.in_proj_weight.grad[:16].T, **TOL
    )
    torch.testing.assert_close(ours.norm_1.gamma.grad, theirs.norm1.weight.grad, **TOL)
    torch.testing.assert_close(ours.norm_2.beta.grad, theirs.norm2.bias.grad, **TOL)


def test_rms_pre_norm_block_matches_torch_layer_with_rms_norms() -> None:
    """norm="rms" (LLaMA-style placement of RMSNorm) vs torch's layer with its norms swapped."""
    theirs = _torch_layer(16, 4, 40, True, seed=2)
    theirs.norm1 = nn.RMSNorm(16, eps=1e-6, dtype=F64)
    theirs.norm2 = nn.RMSNorm(16, eps=1e-6, dtype=F64)
    with torch.no_grad():
        theirs.norm1.weight.copy_(_randn(16, seed=28, shift=1.0))
        theirs.norm2.weight.copy_(_randn(16, seed=29, shift=1.0))
    ours = PreNormBlock(16, 4, 40, norm="rms", eps=1e-6).to(F64)
    assert isinstance(ours.norm_1, RMSNorm)
    load_torch_encoder_layer(ours, theirs)
    x = _randn(2, 5, 16, seed=30)
    torch.testing.assert_close(ours(x), theirs(x), **TOL)


@pytest.mark.parametrize("norm_first", [True, False])
def test_stack_matches_torch_transformer_encoder(norm_first: bool) -> None:
    n_layers, d = 3, 16
    layers = [_torch_layer(d, 4, 40, norm_first, seed=10 + i) for i in range(n_layers)]
    final = nn.LayerNorm(d, dtype=F64) if norm_first else None
    if final is not None:
        with torch.no_grad():
            final.weight.copy_(_randn(d, seed=31, shift=1.0))
            final.bias.copy_(_randn(d, seed=32))
    theirs = nn.TransformerEncoder(layers[0], n_layers, norm=final, enable_nested_tensor=False)
    for mine, source in zip(theirs.layers, layers):
        mine.load_state_dict(source.state_dict())
    ours = TransformerStack(n_layers, d, 4, 40, norm_first=norm_first).to(F64)
    assert (ours.final_norm is None) == (not norm_first)
    for block, layer in zip(ours.layers, theirs.layers):
        load_torch_encoder_layer(block, layer)
    if final is not None:
        with torch.no_grad():
            ours.final_norm.gamma.copy_(final.weight)
            ours.final_norm.beta.copy_(final.bias)
    x = _randn(2, 7, d, seed=33)
    mask = nn.Transformer.generate_square_subsequent_mask(7, dtype=F64)
    torch.testing.assert_close(ours(x, is_causal=True), theirs(x, mask=mask, is_causal=True), **TOL)


def test_residual_jacobian_is_identity_plus_sublayer_jacobian() -> None:
    """d(x + f(x))/dx = I + f'(x): the identity path of every residual connection."""
    torch.manual_seed(0)
    ffn = FeedForward(8, 32).to(F64)
    x = _randn(1, 1, 8, seed=34)

    def f(v):
        return ffn(v.view(1, 1, 8)).view(8)

    jac_f = torch.autograd.functional.jacobian(f, x.view(8))
    jac_res = torch.autograd.functional.jacobian(lambda v: v + f(v), x.view(8))
    torch.testing.assert_close(jac_res, torch.eye(8, dtype=F64) + jac_f, **TOL)


def test_pre_norm_stream_is_the_input_plus_every_blocks_contribution() -> None:
    """x_N = x_0 + sum over blocks of what each block adds."""
    torch.manual_seed(0)
    stack = TransformerStack(4, 16, 4, 32).to(F64)
    x0 = _randn(2, 5, 16, seed=35)
    x, total = x0, torch.zeros_like(x0)
    for block in stack.layers:
        new = block(x)
        total = total + (new - x)
        x = new
    torch.testing.assert_close(x, x0 + total, **TOL)
    torch.testing.assert_close(stack(x0), stack.final_norm(x0 + total), **TOL)


# =============================================================== measurement, figures, demo
@functools.lru_cache(maxsize=None)
def _grad_norms(seed: int) -> dict[str, np.ndarray]:
    with single_thread():
        return {k: v.numpy() for k, v in gradient_norms_at_init(seed=seed).items()}


def test_measurement_uses_identical_weights_for_both_stacks() -> None:
    """The page: "A pre-norm and a post-norm stack get the same random weights"."""
    stacks = []
    for norm_first in (True, False):
        torch.manual_seed(0)
        stacks.append(TransformerStack(24, 64, 4, 256, norm_first=norm_first))
    pre, post = stacks
    for a, b in zip(pre.layers.parameters(), post.layers.parameters()):
        assert torch.equal(a, b)


def test_gradient_norms_match_a_direct_recomputation() -> None:
    """The measurement equals a plain autograd computation over named parameters."""
    norms = gradient_norms_at_init(n_layers=3, d_model=16, n_heads=2, seq=5, batch=2, seed=3)
    gen = torch.Generator().manual_seed(3)
    x = torch.randn(2, 5, 16, generator=gen)
    target = torch.randn(2, 5, 16, generator=gen)
    torch.manual_seed(3)
    stack = TransformerStack(3, 16, 2, 64, norm_first=False)
    F.mse_loss(stack(x), target).backward()
    for i, block in enumerate(stack.layers):
        squares = sum(float((p.grad**2).sum()) for p in block.parameters())
        assert math.isclose(float(norms["post"][i]), math.sqrt(squares), rel_tol=1e-5)


def test_figures_are_registered_and_draw_the_measurement() -> None:
    assert {"normalization-gradient-norms", "normalization-stream-norms"} <= set(load_all())
    fig = gradient_norms(n_layers=6, d_model=16, n_heads=2, seed=1)
    assert isinstance(fig, Figure)
    ax = fig.get_axes()[0]
    assert ax.get_yscale() == "log"
    with single_thread():
        norms = gradient_norms_at_init(6, 16, 2, seed=1)
    pre_line, post_line = ax.get_lines()
    np.testing.assert_array_equal(pre_line.get_xdata(), np.arange(1, 7))
    np.testing.assert_allclose(pre_line.get_ydata(), norms["pre"].numpy())
    np.testing.assert_allclose(post_line.get_ydata(), norms["post"].numpy())
    fig = stream_norms(n_layers=5, d_model=16, n_heads=2)
    assert len(fig.get_axes()[0].get_lines()[0].get_xdata()) == 6


def test_demo_normalization_in_process(capsys: pytest.CaptureFixture[str]) -> None:
    run_demo("normalization")
    out = capsys.readouterr().out
    for line in [
        "x [seq, d_model] = [4, 4]: one token per row",
        "mu = mean over the features   mu [seq, 1] = [4, 1]",
        "var = mean((x - mu)^2), divided by d_model = 4 (biased)   var [seq, 1] = [4, 1]",
        "x_hat = (x - mu) / sqrt(var + eps), eps = 1e-05   x_hat [seq, d_model] = [4, 4]",
        "row means of x_hat:      0.000  0.000  0.000  0.000",
        "row variances of x_hat:  1.000  1.000  1.000  1.000",
        "equals layer_norm_numpy(x, gamma, beta): True",
        "LayerNorm: row 2 (scaled) vs row 0: same; row 3 (shifted) vs row 0: same",
        "root mean square of each row: 1.000 1.000 1.000 1.000",
        "RMSNorm: row 2 (scaled) vs row 0: same; row 3 (shifted) vs row 0: different",
        "first block / last block: pre-norm 3.71, post-norm 1.69",
    ]:
        assert line in out, f"missing line: {line!r}"
    assert sum(ln.startswith("block ") for ln in out.splitlines()) == 24
    assert "nan" not in out.lower()


# =============================================================================== page claims
def test_claim_layer_norm_parameter_counts() -> None:
    """blocks/normalization: "LayerNorm learns 2 d_model numbers per layer, RMSNorm d_model"."""
    assert sum(p.numel() for p in LayerNorm(64).parameters()) == 2 * 64
    assert sum(p.numel() for p in RMSNorm(64).parameters()) == 64


def test_claim_torch_rms_norm_default_eps() -> None:
    """blocks/normalization: "torch.nn.RMSNorm defaults to eps=None, which means
    torch.finfo(x.dtype).eps, 2^-23 or about 1.19e-7 in float32"."""
    assert nn.RMSNorm(8).eps is None
    assert torch.finfo(torch.float32).eps == 2.0**-23
    assert f"{2.0**-23:.2e}" == "1.19e-07"


def test_claim_torch_var_is_unbiased_by_default() -> None:
    """blocks/normalization: "torch.var divides by d - 1 unless told otherwise (unbiased=False),
    and NumPy's var divides by d"; LayerNorm divides by d."""
    x = torch.tensor([1.0, 2.0, 3.0, 6.0])
    assert math.isclose(float(x.var()), 14.0 / 3.0, rel_tol=1e-6)
    assert math.isclose(float(x.var(unbiased=False)), 14.0 / 4.0, rel_tol=1e-6)
    assert math.isclose(float(np.var(x.numpy())), 14.0 / 4.0, rel_tol=1e-6)  # NumPy divides by d
    expected = (x - 3.0) / math.sqrt(3.5 + 1e-5)
    torch.testing.assert_close(F.layer_norm(x, (4,)), expected)


def test_claim_skip_connection_example() -> None:
    """blocks/normalization: 24 layers f(x) = x W_l, each shrinking vectors by about half: without
    skips the gradient reaching x_0 is about 6e-8 of the one leaving x_24, with skips about 14."""
    torch.manual_seed(0)
    d, n = 64, 24
    ws = [0.5 * torch.randn(d, d) / d**0.5 for _ in range(n)]
    x0 = torch.randn(1, d, requires_grad=True)
    plain, skip = x0, x0
    for w in ws:
        plain = plain @ w
        skip = skip + skip @ w
    g = torch.randn(1, d)
    (g_plain,) = torch.autograd.grad(plain, x0, g)
    (g_skip,) = torch.autograd.grad(skip, x0, g)
    plain_ratio = float(g_plain.norm() / g.norm())
    skip_ratio = float(g_skip.norm() / g.norm())
    assert 5.5e-8 < plain_ratio < 7.5e-8
    assert 12.0 < skip_ratio < 15.5
    # each W_l shrinks a random vector to about half its length
    v = torch.randn(1000, d)
    ratios = [float((v @ w).norm(dim=-1).mean() / v.norm(dim=-1).mean()) for w in ws]
    assert 0.45 < float(np.mean(ratios)) < 0.55


def test_claim_pre_norm_gradients_fall_from_input_to_output() -> None:
    """blocks/normalization: "Pre-norm: the gradient norm falls steadily from the first block to
    the last; the first block's is 3.7 times the last's. Over seeds 0 to 7 the ratio lies between
    3.2 and 5.1, and the rank correlation between depth and gradient norm is below -0.99"."""
    pre = _grad_norms(0)["pre"]
    assert 3.65 < pre[0] / pre[-1] < 3.75
    for seed in range(8):
        pre = _grad_norms(seed)["pre"]
        assert 3.1 < pre[0] / pre[-1] < 5.2
        assert spearmanr(np.arange(24), pre).statistic < -0.99


def test_claim_post_norm_gradients_have_no_consistent_direction() -> None:
    """blocks/normalization: "Post-norm: no steady trend. The ratio of first to last block is 1.7
    for seed 0 and lies between 0.4 and 1.7 over seeds 0 to 7, so in some seeds the input end gets
    the larger gradient and in others the output end; the last block's gradient is above the
    median of the other blocks in every seed"."""
    post = _grad_norms(0)["post"]
    assert 1.65 < post[0] / post[-1] < 1.75
    ratios = []
    for seed in range(8):
        post = _grad_norms(seed)["post"]
        ratios.append(post[0] / post[-1])
        assert post[-1] > np.median(post[:-1])
    assert 0.4 <= min(ratios) < 1.0 < max(ratios) <= 1.75


def test_claim_no_gradient_vanishes_at_initialization() -> None:
    """blocks/normalization: "In neither stack does any block's gradient vanish: over seeds 0 to 7
    the largest and the smallest block gradient of one stack are never more than a factor of 5.1
    apart"."""
    for seed in range(8):
        for norms in _grad_norms(seed).values():
            assert norms.max() / norms.min() < 5.1
            assert norms.min() > 0.04


def test_claim_stream_norms() -> None:
    """blocks/normalization: "the post-norm stream has norm sqrt(d_model) = 8 after every block;
    the pre-norm stream grows at every block, from 8 at the input to about 38 after 24 blocks"."""
    with single_thread():
        norms = residual_stream_norms()
    pre, post = norms["pre"].numpy(), norms["post"].numpy()
    np.testing.assert_allclose(post[1:], 8.0, rtol=1e-5)
    assert 7.5 < pre[0] < 8.5
    assert (np.diff(pre) > 0).all()
    assert 37.0 < pre[-1] < 39.0


def test_claim_small_matrix_example() -> None:
    """blocks/normalization: the three-row example prints ln[0] = [-1.0690, -0.5345, 0.0000,
    1.6036], variances [1, 1, 1], "True True" for LayerNorm and "True False" for RMSNorm."""
    x = torch.tensor([[1.0, 2.0, 3.0, 6.0], [10.0, 20.0, 30.0, 60.0], [4.0, 5.0, 6.0, 9.0]])
    ln, rms = layer_norm(x), rms_norm(x)
    assert str(ln[0]) == "tensor([-1.0690, -0.5345,  0.0000,  1.6036])"
    assert str(ln.var(-1, unbiased=False)) == "tensor([1.0000, 1.0000, 1.0000])"
    assert torch.allclose(ln[1], ln[0], atol=1e-4) and torch.allclose(ln[2], ln[0], atol=1e-4)
    assert torch.allclose(rms[1], rms[0], atol=1e-4)
    assert not torch.allclose(rms[2], rms[0], atol=1e-4)


def test_claim_modules_agree_with_torch_in_float32() -> None:
    """blocks/normalization: "With the same weights they agree with PyTorch's own layers"."""
    x = torch.tensor([[1.0, 2.0, 3.0, 6.0], [10.0, 20.0, 30.0, 60.0], [4.0, 5.0, 6.0, 9.0]])
    torch.manual_seed(0)
    ours, theirs = LayerNorm(4), nn.LayerNorm(4)
    with torch.no_grad():
        theirs.weight.normal_()
        theirs.bias.normal_()
        ours.gamma.copy_(theirs.weight)
        ours.beta.copy_(theirs.bias)
    assert torch.allclose(ours(x), theirs(x), atol=1e-5)
    assert torch.allclose(RMSNorm(4, eps=1e-6)(x), nn.RMSNorm(4, eps=1e-6)(x), atol=1e-5)


def test_claim_torch_layer_norm_default_eps() -> None:
    """blocks/normalization: "PyTorch's default is eps = 1e-5" (LayerNorm), ours is the same."""
    assert nn.LayerNorm(8).eps == 1e-5 == LayerNorm(8).eps
    assert RMSNorm(8).eps == 1e-6


def test_claim_stack_example_and_torch_check() -> None:
    """blocks/normalization: both stacks map [2, 5, 16] to [2, 5, 16]; the copied
    TransformerEncoderLayer agrees for norm_first True and False ("True True", "False True")."""
    torch.manual_seed(0)
    x = torch.randn(2, 5, 16)
    pre = TransformerStack(n_layers=4, d_model=16, n_heads=4, d_ff=64)
    post = TransformerStack(4, 16, 4, 64, norm_first=False)
    assert pre(x, is_causal=True).shape == post(x).shape == (2, 5, 16)
    for norm_first, block in ((True, PreNormBlock), (False, PostNormBlock)):
        torch.manual_seed(1)
        theirs = nn.TransformerEncoderLayer(
            16, 4, 64, dropout=0.0, activation="gelu", batch_first=True, norm_first=norm_first
        )
        ours = block(16, 4, 64)
        load_torch_encoder_layer(ours, theirs)
        assert torch.allclose(ours(x), theirs(x), atol=1e-5)


def test_claim_weights_are_xavier_uniform() -> None:
    """blocks/normalization: the measured stacks use "Xavier-uniform, this package's default"."""
    torch.manual_seed(0)
    block = PreNormBlock(64, 4, 256)
    weights = (
        block.attn.w_q,
        block.attn.w_k,
        block.attn.w_v,
        block.attn.w_o,
        block.ffn.w_1,
        block.ffn.w_2,
    )
    for w in (w.detach() for w in weights):
        fan_in, fan_out = w.shape
        bound = math.sqrt(6.0 / (fan_in + fan_out))
        assert float(w.abs().max()) <= bound
        assert (
            abs(float(w.var()) - bound**2 / 3.0) < 0.1 * bound**2 / 3.0
        )  # uniform(-b, b) variance
    assert torch.equal(block.norm_1.gamma, torch.ones(64)) and torch.equal(
        block.norm_1.beta, torch.zeros(64)
    )


def test_claim_printed_gradient_ratios() -> None:
    """blocks/normalization: "first / last block: pre-norm 3.71, post-norm 1.69"."""
    norms = _grad_norms(0)
    pre, post = norms["pre"], norms["post"]
    assert f"{pre[0] / pre[-1]:.2f}" == "3.71" and f"{post[0] / post[-1]:.2f}" == "1.69"


def test_claim_late_blocks_change_the_pre_norm_stream_less() -> None:
    """blocks/normalization: "the first block's update x_1 - x_0 has 0.60 of the norm of its input
    x_0, the last block's 0.23 of its input's"."""
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(8, 16, 64, generator=gen)
    torch.manual_seed(0)
    stack = TransformerStack(24, 64, 4, 256)
    fractions = []
    with torch.no_grad():
        for block in stack.layers:
            y = block(x)
            fractions.append(float(((y - x).norm(dim=-1) / x.norm(dim=-1)).mean()))
            x = y
    assert f"{fractions[0]:.2f}" == "0.60" and f"{fractions[-1]:.2f}" == "0.23"
    assert fractions[-1] < fractions[len(fractions) // 2] < fractions[0]
