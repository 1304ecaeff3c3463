"""Demo ``normalization``: LayerNorm and RMSNorm step by step; gradients, pre-
vs post-norm.

LayerNorm and RMSNorm step by step, then gradients.

Run it with ``python -m transformer_atlas demo normalization``. Part 1
normalises a small hand-made matrix with
:func:`~transformer_atlas.blocks.normalization.layer_norm_numpy` and
:func:`~transformer_atlas.blocks.normalization.rms_norm_numpy`, printing every
intermediate (mean, variance, normalised rows) with its shape. Part 2
prints, block by block, the gradient norms that the page's figure draws
(:func:`~transformer_atlas.blocks.residual.gradient_norms_at_init`): a pre-norm
and a post-norm stack with the same untrained weights.
"""

from __future__ import annotations

import numpy as np

from transformer_atlas.blocks.normalization import (
    layer_norm_numpy,
    rms_norm_numpy,
)
from transformer_atlas.blocks.residual import gradient_norms_at_init
from transformer_atlas.common.threads import single_thread
from transformer_atlas.demos.blocks.attention import format_table

__all__ = ["main", "EXAMPLE"]

#: Four token rows of width 4. Row 2 is 10 * row 0 (a scaled copy), row 3
#: is row 0 + 3 (a shifted copy).
EXAMPLE = np.array(
    [
        [1.0, 2.0, 3.0, 6.0],
        [-2.0, 0.0, 1.0, 5.0],
        [10.0, 20.0, 30.0, 60.0],
        [4.0, 5.0, 6.0, 9.0],
    ]
)
ROWS = ["row 0", "row 1", "row 2 = 10 * row 0", "row 3 = row 0 + 3"]


def _shape(a: object) -> str:
    shape = a.shape  # type: ignore[attr-defined]
    return "[" + ", ".join(str(int(s)) for s in shape) + "]"


def _vec(v: np.ndarray) -> str:
    return "[" + ", ".join(f"{a:g}" for a in v) + "]"


def _same(a: np.ndarray, b: np.ndarray) -> str:
    return "same" if np.allclose(a, b, atol=1e-4) else "different"


def main() -> None:
    """Print the demo to standard output."""
    x, eps = EXAMPLE, 1e-5
    d = x.shape[-1]
    cols = [f"f{j}" for j in range(d)]
    print("Part 1 - LayerNorm and RMSNorm on a small matrix (NumPy)")
    print(f"x [seq, d_model] = {_shape(x)}: one token per row")
    print(format_table(x, ROWS, cols))
    print()
    mu = x.mean(axis=-1, keepdims=True)
    var = ((x - mu) ** 2).mean(axis=-1, keepdims=True)
    print(f"mu = mean over the features   mu [seq, 1] = {_shape(mu)}")
    print(format_table(mu, ROWS, ["mu"]))
    print(
        f"var = mean((x - mu)^2), divided by d_model = {d} (biased)   "
        f"var [seq, 1] = {_shape(var)}"
    )
    print(format_table(var, ROWS, ["var"]))
    x_hat = (x - mu) / np.sqrt(var + eps)
    print(
        f"x_hat = (x - mu) / sqrt(var + eps), eps = {eps:g}   "
        f"x_hat [seq, d_model] = {_shape(x_hat)}"
    )
    print(format_table(x_hat, ROWS, cols, digits=3))
    print(
        "row means of x_hat:     "
        # round, then + 0.0 turns -0.0 into 0.0
        + " ".join(f"{m:6.3f}" for m in np.round(x_hat.mean(-1), 3) + 0.0)
    )
    print(
        "row variances of x_hat: "
        + " ".join(f"{v:6.3f}" for v in x_hat.var(-1))
    )
    gamma = np.array([1.0, 2.0, 0.5, 1.0])
    beta = np.array([0.0, 0.0, 1.0, -1.0])
    ln = layer_norm_numpy(x, gamma, beta, eps)
    print(
        f"LayerNorm(x) = gamma * x_hat + beta, gamma = {_vec(gamma)}, "
        f"beta = {_vec(beta)}"
    )
    print(format_table(ln, ROWS, cols, digits=3))
    print(
        "equals layer_norm_numpy(x, gamma, beta): "
        f"{bool(np.allclose(ln, gamma * x_hat + beta))}"
    )
    print(
        f"LayerNorm: row 2 (scaled) vs row 0: {_same(ln[2], ln[0])}; "
        f"row 3 (shifted) vs row 0: {_same(ln[3], ln[0])}"
    )
    print()
    ms = (x**2).mean(axis=-1, keepdims=True)
    rms = rms_norm_numpy(x, eps=eps)
    print(
        f"RMSNorm: ms = mean(x^2)   ms [seq, 1] = {_shape(ms)}; "
        "no mean is subtracted"
    )
    print(format_table(ms, ROWS, ["ms"]))
    print(f"x / sqrt(ms + eps)   [seq, d_model] = {_shape(rms)}")
    print(format_table(rms, ROWS, cols, digits=3))
    print(
        "root mean square of each row: "
        + " ".join(f"{r:.3f}" for r in np.sqrt((rms**2).mean(-1)))
    )
    print(
        f"RMSNorm: row 2 (scaled) vs row 0: {_same(rms[2], rms[0])}; "
        f"row 3 (shifted) vs row 0: {_same(rms[3], rms[0])}"
    )
    print()
    _gradient_part()


def _gradient_part(n_layers: int = 24, d_model: int = 64) -> None:
    print(
        "Part 2 - gradient norm of each block's parameters at "
        "initialization (PyTorch, untrained weights)"
    )
    print(
        f"{n_layers} blocks, d_model = {d_model}, input and target "
        "x [batch, seq, d_model] = [8, 16, 64], loss = mean squared error"
    )
    with single_thread():
        norms = gradient_norms_at_init(n_layers, d_model)
    pre, post = norms["pre"].numpy(), norms["post"].numpy()
    rows = [f"block {i + 1}" for i in range(n_layers)]
    print(
        format_table(
            np.stack([pre, post], axis=1),
            rows,
            ["pre-norm", "post-norm"],
            digits=4,
        )
    )
    print(
        "first block / last block: "
        f"pre-norm {pre[0] / pre[-1]:.2f}, post-norm {post[0] / post[-1]:.2f}"
    )
    print(
        "largest / smallest block: "
        f"pre-norm {pre.max() / pre.min():.2f}, "
        f"post-norm {post.max() / post.min():.2f}"
    )
