"""Position-wise feed-forward layers: the classic two-layer FFN and SwiGLU.

``FFN(x) = act(x W_1 + b_1) W_2 + b_2`` with ``W_1 [d_model, d_ff]`` and
``W_2 [d_ff, d_model]``; the same two matrices are applied to every position.
``SwiGLU(x) = (silu(x W_gate) * (x W_up)) W_down`` (LLaMA), usually with
``d_ff = 8/3 d_model`` so that its three matrices hold as many parameters as
the classic FFN's two with ``d_ff = 4 d_model``.

Both layers take ``x [..., d_model]`` (usually ``[batch, seq, d_model]``):
every leading axis is a position, and each position is transformed alone.

The guide's page ``blocks/feed-forward`` shows these classes;
``tests/package/blocks/test_feed_forward.py`` checks them against ``torch.nn``
layers with copied weights.
"""

from __future__ import annotations

# --8<-- [start:imports]
import torch
import torch.nn.functional as F
from torch import nn

from transformer_atlas.blocks.activations import TORCH_ACTIVATIONS
from transformer_atlas.common.validation import (
    check_min_rank,
    check_positive_int,
    shape_of,
)

# --8<-- [end:imports]

__all__ = ["FeedForward", "SwiGLU", "swiglu_hidden_size"]


# --8<-- [start:checks]
def _check_sizes(d_model: int, d_ff: int) -> None:
    """Raise unless both widths are positive."""
    check_positive_int(d_model=d_model, d_ff=d_ff)


def _check_input(x: torch.Tensor, d_model: int) -> None:
    """Raise unless ``x`` is a float tensor ``[..., d_model]``."""
    check_min_rank("x", x, 1, "[..., d_model]")
    if x.shape[-1] != d_model:
        raise ValueError(
            f"x must have last dimension d_model={d_model} "
            f"[batch, seq, d_model], got shape {shape_of(x)}"
        )
    if not torch.is_floating_point(x):
        raise ValueError(f"x must be a floating-point tensor, got {x.dtype}")


# --8<-- [end:checks]


# --8<-- [start:feed_forward]
class FeedForward(nn.Module):
    """``act(x W_1 + b_1) W_2 + b_2``, applied to every position alike.

    Args:
        d_model: width of the residual stream.
        d_ff: hidden width (4 * d_model in GPT-2 and the 2017 paper).
        activation: ``"relu"``, ``"gelu"``, ``"gelu_tanh"`` or ``"silu"``.
        bias: learn ``b_1`` and ``b_2``.
    """

    def __init__(
        self,
        d_model: int,
        d_ff: int,
        activation: str = "gelu",
        bias: bool = True,
    ) -> None:
        super().__init__()
        _check_sizes(d_model, d_ff)
        if activation not in TORCH_ACTIVATIONS:
            raise ValueError(
                f"activation must be one of {sorted(TORCH_ACTIVATIONS)}, "
                f"got {activation!r}"
            )
        self.d_model, self.d_ff = d_model, d_ff
        self.act = TORCH_ACTIVATIONS[activation]  # torch's fused kernel
        self.w_1 = nn.Parameter(torch.empty(d_model, d_ff))
        self.w_2 = nn.Parameter(torch.empty(d_ff, d_model))
        self.b_1 = nn.Parameter(torch.zeros(d_ff)) if bias else None
        self.b_2 = nn.Parameter(torch.zeros(d_model)) if bias else None
        nn.init.xavier_uniform_(self.w_1)
        nn.init.xavier_uniform_(self.w_2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x [batch, seq, d_model]`` -> ``[batch, seq, d_model]``."""
        _check_input(x, self.d_model)
        h = x @ self.w_1  # [batch, seq, d_ff]
        if self.b_1 is not None:
            h = h + self.b_1
        y = self.act(h) @ self.w_2  # [batch, seq, d_model]
        return y if self.b_2 is None else y + self.b_2


# --8<-- [end:feed_forward]


# --8<-- [start:swiglu]
def swiglu_hidden_size(
    d_model: int,
    multiple_of: int = 1,
    ffn_dim_multiplier: float | None = None,
) -> int:
    """LLaMA's SwiGLU width: ``8/3 * d_model``, rounded as Meta's code does.

    ``int(2/3 * 4 * d_model)``, times ``ffn_dim_multiplier`` if given, then
    rounded up to a multiple of ``multiple_of``. Three ``[d_model, d_ff]``
    matrices with this ``d_ff`` hold about as many parameters as two with
    ``d_ff = 4 * d_model``.
    """
    check_positive_int(d_model=d_model, multiple_of=multiple_of)
    hidden = 8 * d_model // 3  # int(2 * (4 * d_model) / 3)
    if ffn_dim_multiplier is not None:
        hidden = int(ffn_dim_multiplier * hidden)
    return multiple_of * -(-hidden // multiple_of)  # round up


class SwiGLU(nn.Module):
    """``(silu(x W_gate) * (x W_up)) W_down``, no biases (LLaMA).

    Args:
        d_model: width of the residual stream.
        d_ff: hidden width; default :func:`swiglu_hidden_size`.
    """

    def __init__(self, d_model: int, d_ff: int | None = None) -> None:
        super().__init__()
        if d_ff is None:
            d_ff = swiglu_hidden_size(d_model)
        _check_sizes(d_model, d_ff)
        self.d_model, self.d_ff = d_model, d_ff
        self.w_gate = nn.Parameter(torch.empty(d_model, d_ff))
        self.w_up = nn.Parameter(torch.empty(d_model, d_ff))
        self.w_down = nn.Parameter(torch.empty(d_ff, d_model))
        for w in (self.w_gate, self.w_up, self.w_down):
            nn.init.xavier_uniform_(w)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x [batch, seq, d_model]`` -> ``[batch, seq, d_model]``."""
        _check_input(x, self.d_model)
        gate = F.silu(x @ self.w_gate)  # [batch, seq, d_ff]
        up = x @ self.w_up  # [batch, seq, d_ff]
        return (gate * up) @ self.w_down  # [batch, seq, d_model]


# --8<-- [end:swiglu]
