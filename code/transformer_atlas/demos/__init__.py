"""Runnable demos: ``python -m transformer_atlas demo NAME``.

List them with ``python -m transformer_atlas demos``. Each demo is a function
that prints a walk-through to standard output using the package's own
functions. :data:`DEMOS` maps a name to ``(one-line description, function)``;
a demo's module is imported only when the demo runs, so listing demos stays
fast.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

__all__ = ["DEMOS", "run_demo"]

DemoFunction = Callable[[], None]


def _lazy(module: str, function: str = "main") -> DemoFunction:
    """A function that imports a demo's module and calls its ``function``.

    The module is ``transformer_atlas.demos.<module>``.
    """

    def run() -> None:
        getattr(importlib.import_module(f"{__name__}.{module}"), function)()

    run.__name__ = f"{module}.{function}"
    run.__doc__ = f"Run transformer_atlas.demos.{module}.{function}()."
    return run


#: name -> (one-line description, function that prints the demo).
DEMOS: dict[str, tuple[str, DemoFunction]] = {
    "attention": (
        (
            "attention step by step on a toy sentence, "
            "then causal multi-head attention"
        ),
        _lazy("attention"),
    ),
    "tokenization": (
        "BPE by hand on aaabdaaabac, byte-level BPE on stdlib code, WordPiece",
        _lazy("tokenization"),
    ),
    "embeddings": (
        "token lookup, a trained embedding's neighbours, weight tying",
        _lazy("embeddings"),
    ),
    "positions": (
        "why attention needs positions; learned, sinusoidal, RoPE, ALiBi, T5",
        _lazy("positions"),
    ),
    "feed-forward": (
        "activations, FFN and SwiGLU shapes, the 8/3 parameter count",
        _lazy("feed_forward"),
    ),
    "normalization": (
        "LayerNorm and RMSNorm step by step; gradients, pre- vs post-norm",
        _lazy("normalization"),
    ),
    "linear-algebra": (
        "dot products, cosine similarity and matmul from loops",
        _lazy("linear_algebra"),
    ),
    "probability": (
        "softmax, entropy, cross-entropy, KL and perplexity",
        _lazy("probability"),
    ),
    "calculus": (
        "Jacobians by hand against autograd",
        _lazy("calculus"),
    ),
    "tensors": (
        "shapes, broadcasting, einsum and bmm from loops",
        _lazy("tensors"),
    ),
    "perceptron": (
        "the perceptron, and why XOR needs a hidden layer",
        _lazy("perceptron"),
    ),
    "mlp": (
        "the spam-filter MLP: forward, backward by hand, one step",
        _lazy("mlp"),
    ),
    "rnn": (
        "the 'cat sat here' RNN step by step, BPTT, LSTM and GRU",
        _lazy("rnn"),
    ),
    "char-lm": (
        "train a character-level language model in under a minute",
        _lazy("char_lm"),
    ),
    "decoder": (
        "a decoder block step by step: shapes, causality, cross-attention",
        _lazy("decoder"),
    ),
    "gpt": (
        "GPT-2 small vs LLaMA-2 7B: configs, parameters by part, forwards",
        _lazy("gpt"),
    ),
    "training": (
        "loss at init vs ln V, warm-up + cosine, AdamW, backward, bf16",
        _lazy("training"),
    ),
    "generation": (
        "the loop by hand with a filling KV cache; cached = uncached; bytes",
        _lazy("generation"),
    ),
    "sampling": (
        "temperature, top-k, top-p, penalty; 200,000 draws; greedy vs beam",
        _lazy("sampling"),
    ),
}


def run_demo(name: str) -> None:
    """Run the demo called ``name``.

    Raises ValueError, listing the available names, if there is none.
    """
    if name not in DEMOS:
        raise ValueError(
            f"unknown demo {name!r}; "
            f"available demos: {', '.join(sorted(DEMOS))}"
        )
    DEMOS[name][1]()
