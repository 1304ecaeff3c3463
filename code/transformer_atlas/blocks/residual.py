"""Residual connections: pre-norm and post-norm transformer blocks.

Every block keeps a running sum, the residual stream ``x [batch, seq,
d_model]``, and adds each sub-layer's output to it:

* pre-norm (GPT-2 and later): ``x <- x + Attn(LN(x))``,
  ``x <- x + FFN(LN(x))``, and one final ``LN`` after the last block;
* post-norm (the 2017 paper): ``x <- LN(x + Attn(x))``,
  ``x <- LN(x + FFN(x))``.

The blocks are built from :class:`~transformer_atlas.blocks.attention.\
MultiHeadAttention` and
:class:`~transformer_atlas.blocks.feed_forward.FeedForward`.
:func:`gradient_norms_at_init` measures what the page's figure draws.

The guide's page ``blocks/normalization`` shows this code;
``tests/package/blocks/test_normalization.py`` checks the blocks against
``torch.nn.TransformerEncoderLayer`` (``norm_first=True`` and ``False``) and
the stack against ``torch.nn.TransformerEncoder``.
"""

from __future__ import annotations

# --8<-- [start:imports]
import torch
from torch import nn

from transformer_atlas.blocks.attention import MultiHeadAttention
from transformer_atlas.blocks.feed_forward import FeedForward
from transformer_atlas.blocks.normalization import LayerNorm, RMSNorm
from transformer_atlas.common.validation import check_rank, shape_of

# --8<-- [end:imports]

__all__ = [
    "make_norm",
    "PreNormBlock",
    "PostNormBlock",
    "TransformerStack",
    "load_torch_encoder_layer",
    "gradient_norms_at_init",
    "residual_stream_norms",
]


# --8<-- [start:parts]
def make_norm(
    norm: str, d_model: int, eps: float, bias: bool = True
) -> nn.Module:
    """``"layer"`` -> :class:`LayerNorm`, ``"rms"`` -> :class:`RMSNorm`.

    ``bias`` is LayerNorm's ``beta`` (RMSNorm has none).
    """
    if norm == "layer":
        return LayerNorm(d_model, eps=eps, bias=bias)
    if norm == "rms":
        return RMSNorm(d_model, eps=eps)
    raise ValueError(f"norm must be 'layer' or 'rms', got {norm!r}")


class _Block(nn.Module):
    """The parts every block has: two norms, attention, a feed-forward.

    Args:
        d_model: width of the residual stream.
        n_heads: attention heads (must divide ``d_model``).
        d_ff: hidden width of the feed-forward layer.
        activation: the feed-forward's activation (``"gelu"``, ...).
        norm: ``"layer"`` (LayerNorm) or ``"rms"`` (RMSNorm).
        eps: the norms' epsilon.
    """

    def __init__(
        self,
        d_model: int,
        n_heads: int,
        d_ff: int,
        activation: str = "gelu",
        norm: str = "layer",
        eps: float = 1e-5,
    ) -> None:
        super().__init__()
        self.d_model = d_model
        self.norm_1 = make_norm(norm, d_model, eps)
        self.attn = MultiHeadAttention(d_model, n_heads)
        self.norm_2 = make_norm(norm, d_model, eps)
        self.ffn = FeedForward(d_model, d_ff, activation)

    def _check(self, x: torch.Tensor) -> None:
        check_rank("x", x, 3, "[batch, seq, d_model]")
        if x.shape[-1] != self.d_model:
            raise ValueError(
                f"x must have last dimension d_model={self.d_model}, "
                f"got shape {shape_of(x)}"
            )


# --8<-- [end:parts]


# --8<-- [start:blocks]
class PreNormBlock(_Block):
    """``x + Attn(LN_1(x))``, then ``x + FFN(LN_2(x))`` (GPT-2 onwards).

    The arguments are those of ``_Block``.
    """

    def forward(
        self,
        x: torch.Tensor,
        mask: torch.Tensor | None = None,
        is_causal: bool = False,
    ) -> torch.Tensor:
        """``x [batch, seq, d_model]`` -> ``[batch, seq, d_model]``.

        ``mask``: boolean, True = may attend (see ``attention``).
        """
        self._check(x)
        h, _ = self.attn(self.norm_1(x), mask=mask, is_causal=is_causal)
        x = x + h  # the residual stream: add, never replace
        x = x + self.ffn(self.norm_2(x))
        return x


class PostNormBlock(_Block):
    """``LN_1(x + Attn(x))``, then ``LN_2(x + FFN(x))`` (the 2017 paper).

    The same arguments and parameters as :class:`PreNormBlock`.
    """

    def forward(
        self,
        x: torch.Tensor,
        mask: torch.Tensor | None = None,
        is_causal: bool = False,
    ) -> torch.Tensor:
        """``x [batch, seq, d_model]`` -> ``[batch, seq, d_model]``."""
        self._check(x)
        h, _ = self.attn(x, mask=mask, is_causal=is_causal)
        x = self.norm_1(x + h)  # normalise the sum: the stream itself
        x = self.norm_2(x + self.ffn(x))
        return x


# --8<-- [end:blocks]


# --8<-- [start:stack]
class TransformerStack(nn.Module):
    """``n_layers`` blocks; a pre-norm stack ends with one more norm.

    Args:
        n_layers: number of blocks ``N``.
        d_model, n_heads, d_ff, activation, norm, eps: as in the blocks.
        norm_first: ``True`` for :class:`PreNormBlock` (plus the final
            norm), ``False`` for :class:`PostNormBlock` (whose every block
            already ends with a norm).
    """

    def __init__(
        self,
        n_layers: int,
        d_model: int,
        n_heads: int,
        d_ff: int,
        norm_first: bool = True,
        activation: str = "gelu",
        norm: str = "layer",
        eps: float = 1e-5,
    ) -> None:
        super().__init__()
        if n_layers < 1:
            raise ValueError(f"n_layers must be >= 1, got {n_layers}")
        block = PreNormBlock if norm_first else PostNormBlock
        self.norm_first = norm_first
        self.layers = nn.ModuleList(
            block(d_model, n_heads, d_ff, activation, norm, eps)
            for _ in range(n_layers)
        )
        self.final_norm = make_norm(norm, d_model, eps) if norm_first else None

    def forward(
        self,
        x: torch.Tensor,
        mask: torch.Tensor | None = None,
        is_causal: bool = False,
    ) -> torch.Tensor:
        """``x [batch, seq, d_model]`` -> ``[batch, seq, d_model]``."""
        for layer in self.layers:
            x = layer(x, mask=mask, is_causal=is_causal)
        return x if self.final_norm is None else self.final_norm(x)


# --8<-- [end:stack]


# --8<-- [start:load_torch]
def load_torch_encoder_layer(
    block: PreNormBlock | PostNormBlock,
    layer: nn.TransformerEncoderLayer,
) -> None:
    """Copy a ``torch.nn.TransformerEncoderLayer``'s weights into ``block``.

    PyTorch stores every weight matrix as ``[d_out, d_in]`` and computes
    ``x @ weight.T``; this package stores ``W [d_in, d_out]`` and computes
    ``x @ W``, so each matrix is transposed. ``in_proj_weight
    [3 d_model, d_model]`` holds ``W_Q``, ``W_K``, ``W_V`` as row blocks.
    """
    attn, ffn, d = block.attn, block.ffn, block.d_model
    w_q, w_k, w_v = layer.self_attn.in_proj_weight.split(d, dim=0)
    b_q, b_k, b_v = layer.self_attn.in_proj_bias.split(d)
    out_proj = layer.self_attn.out_proj
    pairs = [
        (attn.w_q, w_q.T),
        (attn.w_k, w_k.T),
        (attn.w_v, w_v.T),
        (attn.b_q, b_q),
        (attn.b_k, b_k),
        (attn.b_v, b_v),
        (attn.w_o, out_proj.weight.T),
        (attn.b_o, out_proj.bias),
        (ffn.w_1, layer.linear1.weight.T),
        (ffn.b_1, layer.linear1.bias),
        (ffn.w_2, layer.linear2.weight.T),
        (ffn.b_2, layer.linear2.bias),
        (block.norm_1.gamma, layer.norm1.weight),
        (block.norm_2.gamma, layer.norm2.weight),
    ]
    if isinstance(block.norm_1, LayerNorm):  # RMSNorm has no beta
        pairs += [
            (block.norm_1.beta, layer.norm1.bias),
            (block.norm_2.beta, layer.norm2.bias),
        ]
    with torch.no_grad():
        for mine, theirs in pairs:
            if mine.shape != theirs.shape:
                raise ValueError(
                    "the layer does not fit the block: a parameter of "
                    f"shape {shape_of(mine)} would get {shape_of(theirs)}"
                )
            mine.copy_(theirs)


# --8<-- [end:load_torch]


# --8<-- [start:measure]
def twin_stacks(
    n_layers: int, d_model: int, n_heads: int, seed: int
) -> list[tuple[str, TransformerStack]]:
    """A pre-norm and a post-norm stack with the same random weights.

    Each is built right after ``torch.manual_seed(seed)`` (same parameter
    order), ``d_ff = 4 * d_model``. Returns ``[("pre", ...), ("post", ...)]``.
    """
    stacks = []
    for name, norm_first in (("pre", True), ("post", False)):
        torch.manual_seed(seed)
        stacks.append(
            (
                name,
                TransformerStack(
                    n_layers,
                    d_model,
                    n_heads,
                    4 * d_model,
                    norm_first=norm_first,
                ),
            )
        )
    return stacks


def gradient_norms_at_init(
    n_layers: int = 24,
    d_model: int = 64,
    n_heads: int = 4,
    seq: int = 16,
    batch: int = 8,
    seed: int = 0,
) -> dict[str, torch.Tensor]:
    """Gradient norm of each block's parameters in a freshly built stack.

    A pre-norm and a post-norm stack get the same random weights (same
    seed, same parameter order), the same input ``x [batch, seq, d_model]``
    of standard normal entries and the same loss, the mean squared error
    against a random target. (The mean of the output is no use as a loss:
    a final LayerNorm makes it exactly 0.)

    Returns:
        ``{"pre": [n_layers], "post": [n_layers]}``: entry ``l`` is the L2
        norm of the gradient of all parameters of block ``l`` (0 = next to
        the input).
    """
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, seq, d_model, generator=gen)
    target = torch.randn(batch, seq, d_model, generator=gen)
    norms = {}
    for name, stack in twin_stacks(n_layers, d_model, n_heads, seed):
        loss = ((stack(x) - target) ** 2).mean()
        loss.backward()
        norms[name] = torch.stack(
            [
                torch.cat(
                    [p.grad.flatten() for p in block.parameters()]
                ).norm()
                for block in stack.layers
            ]
        )
    return norms


# --8<-- [end:measure]


def residual_stream_norms(
    n_layers: int = 24,
    d_model: int = 64,
    n_heads: int = 4,
    seq: int = 16,
    batch: int = 8,
    seed: int = 0,
) -> dict[str, torch.Tensor]:
    """Mean L2 norm of a token vector of the residual stream, by depth.

    The same stacks and input as :func:`gradient_norms_at_init`.

    Returns:
        ``{"pre": [n_layers + 1], "post": [n_layers + 1]}``: entry ``l`` is
        the mean over tokens of ``||x_l||`` (entry 0 is the input; the
        pre-norm values are before the final norm).
    """
    gen = torch.Generator().manual_seed(seed)
    x0 = torch.randn(batch, seq, d_model, generator=gen)
    norms = {}
    for name, stack in twin_stacks(n_layers, d_model, n_heads, seed):
        x, out = x0, [x0.norm(dim=-1).mean()]
        with torch.no_grad():
            for layer in stack.layers:
                x = layer(x)
                out.append(x.norm(dim=-1).mean())
        norms[name] = torch.stack(out)
    return norms
