"""Demo ``calculus``: Jacobians by hand against autograd.

Jacobians derived by hand, checked against autograd.

Run it with ``python -m transformer_atlas demo calculus``. It walks the
chain rule on ``y = (3x + 1)^2``, then prints the hand-derived Jacobians of
a linear layer, of softmax and of layer norm next to
``torch.autograd.functional.jacobian``, and ends with the gradient of
``cross_entropy(x W + b)`` assembled one local Jacobian at a time.
"""

from __future__ import annotations

import torch
from torch.autograd.functional import jacobian

from transformer_atlas.blocks.logits_softmax import softmax
from transformer_atlas.blocks.normalization import layer_norm
from transformer_atlas.foundations.calculus import (
    chain_rule_example,
    layer_norm_jacobian,
    linear_jacobian_w,
    linear_jacobian_x,
    scalar_chain,
    softmax_jacobian,
)

__all__ = ["main"]

F64 = torch.float64


def _shape(t: torch.Tensor) -> str:
    return "[" + ", ".join(str(int(s)) for s in t.shape) + "]"


def _same(ours: torch.Tensor, theirs: torch.Tensor) -> str:
    err = float((ours - theirs).abs().max())
    return f"max |ours - autograd| = {err:.1e}"


def main() -> None:
    """Print the demo to standard output."""
    print("1. The chain rule on y = (3x + 1)^2 at x = 1")
    s = scalar_chain(1.0)
    print(f"   forward:  u = 3x + 1 = {s['u']:g},  y = u^2 = {s['y']:g}")
    print(
        f"   backward: dy/du = 2u = {s['dy_du']:g},  du/dx = 3,  "
        f"dy/dx = {s['dy_du']:g} * {s['du_dx']:g} = {s['dy_dx']:g}"
    )
    print()
    torch.manual_seed(0)
    x = torch.randn(3, dtype=F64)
    w = torch.randn(3, 2, dtype=F64)
    b = torch.randn(2, dtype=F64)
    print(
        "2. Linear layer y = x W + b, x [d_in] = [3], W [d_in, d_out] = [3, 2]"
    )
    j_x = linear_jacobian_x(w)
    print(
        f"   dy/dx = W^T, shape [d_out, d_in] = {_shape(j_x)}; "
        + _same(j_x, jacobian(lambda x_: x_ @ w + b, x))
    )
    j_w = linear_jacobian_w(x, 2)
    print(
        f"   dy/dW, shape [d_out, d_in, d_out] = {_shape(j_w)}; "
        + _same(j_w, jacobian(lambda w_: x @ w_ + b, w))
    )
    print()
    z = torch.tensor([2.0, 1.0, 0.1], dtype=F64)
    print(f"3. Softmax of z = {z.tolist()}: J = diag(p) - p^T p")
    j_s = softmax_jacobian(z)
    print(j_s)
    print(
        f"   symmetric: {torch.allclose(j_s, j_s.T)}; row sums: "
        f"{j_s.sum(dim=1).tolist()}"
    )
    print("   " + _same(j_s, jacobian(softmax, z)))
    print()
    row = torch.tensor([1.0, 2.0, 3.0, 6.0], dtype=F64)
    print(f"4. Layer norm of x = {row.tolist()} (eps = 1e-5)")
    j_ln = layer_norm_jacobian(row)
    print(f"   J {_shape(j_ln)}; " + _same(j_ln, jacobian(layer_norm, row)))
    print()
    print("5. L = cross_entropy(x W + b, target=1), backward by hand")
    x2 = torch.tensor([1.0, 2.0], dtype=F64)
    w2 = torch.tensor([[1.0, 0.0, -1.0], [0.5, 1.0, 0.0]], dtype=F64)
    steps = chain_rule_example(x2, w2, torch.zeros(3, dtype=F64), 1)
    print(f"   z = x W + b        = {steps.z}")
    print(f"   p = softmax(z)     = {steps.p}")
    print(f"   L = -log p[1]      = {float(steps.loss):.4f}")
    print(f"   dL/dz = p - onehot = {steps.grad_z}")
    print(f"   dL/dx = dL/dz W^T  = {steps.grad_x}")
    params = [t.clone().requires_grad_(True) for t in (x2, w2)]
    loss = torch.nn.functional.cross_entropy(
        (params[0] @ params[1])[None], torch.tensor([1])
    )
    loss.backward()
    ok = torch.allclose(params[0].grad, steps.grad_x) and torch.allclose(
        params[1].grad, steps.grad_w
    )
    print(f"   matches autograd (dL/dx and dL/dW): {ok}")
