"""Demo ``neural-networks``: the perceptron, and why XOR needs a hidden layer.

A perceptron learns a line; XOR needs more.

Run it with ``python -m transformer_atlas demo neural-networks``. Part 1 trains
a perceptron on a linearly separable set and prints its mistakes per
epoch. Part 2 trains the same rule on XOR, where it never converges.
Part 3 trains a 2-layer net (4 tanh hidden units) on XOR by gradient
descent and prints its predictions.
"""

from __future__ import annotations

import numpy as np

from transformer_atlas.foundations.mlp import forward
from transformer_atlas.foundations.neural_networks import (
    separable_dataset,
    train_perceptron,
    train_xor,
    xor_accuracy,
    xor_dataset,
)

__all__ = ["main"]


def main() -> None:
    """Print the demo to standard output."""
    x, y = separable_dataset()
    print("Part 1 - perceptron on a linearly separable set")
    print(f"x [n, d] = [{x.shape[0]}, {x.shape[1]}]   y [n] = [{len(y)}]")
    model = train_perceptron(x, y)
    print(f"mistakes per epoch: {model.mistakes}")
    print(
        f"converged: {model.converged} after {model.epochs} epochs; "
        f"w = {np.round(model.w, 3)}, b = {model.b:.3f}"
    )
    print()
    xx, yy = xor_dataset()
    print("Part 2 - the same rule on XOR (no line separates it)")
    bad = train_perceptron(xx, yy, max_epochs=20)
    print(f"mistakes per epoch: {bad.mistakes}")
    print(f"converged: {bad.converged} after {bad.epochs} epochs")
    print()
    print("Part 3 - 2-layer net: x [4, 2] -> h [4, 4] (tanh) -> p [4, 1]")
    params, losses = train_xor()
    p = forward(params, xx, "tanh")["p"][:, 0]
    print(f"loss: {losses[0]:.4f} at step 0, {losses[-1]:.4f} at the end")
    for xi, yi, pi in zip(xx, yy, p):
        print(f"  x = {xi}  y = {int(yi)}  p = {pi:.3f}")
    print(f"accuracy on the 4 points: {xor_accuracy(params):.2f}")
