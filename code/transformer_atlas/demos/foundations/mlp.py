"""Demo ``mlp``: the spam-filter MLP: forward, backward by hand, one step.

The spam-filter MLP, forward, backward by hand, one step.

Run it with ``python -m transformer_atlas demo mlp``. Part 1 prints every
number of the worked email-spam example of the page
``foundations/mlp``. Part 2 checks the hand-written gradients with finite
differences. Part 3 trains an MLP on two rings.
"""

from __future__ import annotations

import numpy as np

from transformer_atlas.foundations.mlp import (
    accuracy,
    backward,
    bce_loss,
    circles_dataset,
    format_spam_example,
    forward,
    init_mlp,
    numerical_gradient,
    spam_example,
    train,
)

__all__ = ["main"]


def main() -> None:
    """Print the demo to standard output."""
    ex = spam_example()
    print("Part 1 - one email, 3 features -> 2 hidden -> 1 output")
    shapes = {k: list(v.shape) for k, v in ex.params.items()}
    print(f"shapes: x {list(ex.x.shape)}, {shapes}")
    print(format_spam_example(ex))
    print()
    print("Part 2 - gradient check with central finite differences")
    x, y = ex.x, ex.y
    num = numerical_gradient(
        lambda p: bce_loss(forward(p, x)["z2"], y), ex.params
    )
    hand = backward(ex.params, forward(ex.params, x), y)
    worst = max(float(np.max(np.abs(num[k] - hand[k]))) for k in hand)
    print(f"largest |numerical - backprop| = {worst:.1e}")
    print()
    print("Part 3 - train on two rings (x [200, 2], 8 tanh hidden units)")
    xc, yc = circles_dataset()
    params, losses = train(init_mlp(2, 8), xc, yc, 1.0, 2000, "tanh")
    print(f"loss: {losses[0]:.4f} -> {losses[-1]:.4f}")
    print(f"accuracy: {accuracy(params, xc, yc, 'tanh'):.2f}")
