"""Demo ``generation``: the loop by hand with a filling KV cache; cached =
uncached; bytes.

The auto-regressive loop, with and without a cache.

Run it with ``python -m transformer_atlas demo generation``. It follows the
pages ``inference/generation`` and ``inference/kv-cache`` on a small GPT
with random weights (only shapes and equalities mean anything): the loop
written out by hand with a
:class:`~transformer_atlas.inference.kv_cache.KVCache`, printing the cache as
it fills; then
:func:`~transformer_atlas.inference.generation.generate` with and without the
cache, which must give the same tokens and logits; then the cache's memory
formula against the bytes it allocates, and what one token costs.
"""

from __future__ import annotations

import torch

from transformer_atlas.families.decoder_only import (
    GPT,
    gpt2_config,
    llama_config,
)
from transformer_atlas.inference.generation import (
    decode_flops,
    decode_intensity,
    generate,
    matmul_weights,
)
from transformer_atlas.inference.kv_cache import KVCache, kv_cache_bytes

__all__ = ["demo_model", "main"]


def _shape(x: torch.Tensor) -> str:
    return "[" + ", ".join(str(int(s)) for s in x.shape) + "]"


def demo_model(seed: int = 1) -> GPT:
    """GPT-2 parts: 2 layers, 4 heads, d_model 32, vocabulary 50, context 16.

    Random weights, and an output projection of its own (untied): with
    tied embeddings and GPT-2's small initial weights, a random model's
    favourite next token is the token it just read, so greedy decoding
    would print one token over and over.
    """
    torch.manual_seed(seed)
    config = gpt2_config(
        vocab_size=50,
        max_seq_len=16,
        n_layers=2,
        n_heads=4,
        d_model=32,
        tie_embeddings=False,
    )
    return GPT(config).eval()


@torch.no_grad()
def main() -> None:
    """Print the demo."""
    model = demo_model()
    c = model.config
    prompt = torch.tensor([[7, 3, 19, 3]])  # [batch=1, seq=4]
    new_tokens = 6

    print("1. The loop by hand, greedy, with a KV cache")
    print(
        f"   model: {c.n_layers} layers, {c.n_heads} heads, d_model "
        f"{c.d_model}, vocabulary {c.vocab_size}, context {c.max_seq_len} "
        "(random weights)"
    )
    cache = model.new_cache(batch=1)
    print(
        f"   cache.k and cache.v {_shape(cache.k)} each "
        "(n_layers, batch, n_kv_heads, max_len, d_head)"
    )
    print(f"   prompt {_shape(prompt)}: {prompt[0].tolist()}")
    logits = model(prompt, cache, last_only=True)  # [1, 1, vocab]
    print(
        f"   prefill: model(prompt {_shape(prompt)}) -> logits "
        f"{_shape(logits)}; cache.length = {cache.length}, "
        f"filled keys {_shape(cache.k[:, :, :, : cache.length])}"
    )
    tokens = prompt
    for step in range(1, new_tokens + 1):
        next_token = logits[:, -1].argmax(dim=-1, keepdim=True)  # [1, 1]
        tokens = torch.cat([tokens, next_token], dim=1)
        if step == new_tokens:
            print(f"   step {step}: chose {int(next_token)}; done")
            break
        logits = model(next_token, cache)  # the new token only
        print(
            f"   step {step}: chose {int(next_token)}, fed "
            f"{_shape(next_token)} -> logits {_shape(logits)}; "
            f"cache.length = {cache.length}"
        )
    print(f"   tokens {_shape(tokens)}: {tokens[0].tolist()}")

    print("\n2. generate() with and without the cache")
    cached, cached_logits = generate(model, prompt, new_tokens, greedy=True)
    full, full_logits = generate(
        model, prompt, new_tokens, greedy=True, use_cache=False
    )
    diff = float((cached_logits - full_logits).abs().max())
    print(f"   with the cache:    {cached[0].tolist()}")
    print(f"   without the cache: {full[0].tolist()}")
    print(f"   same tokens as the loop by hand: {torch.equal(cached, tokens)}")
    print(f"   same tokens both ways: {torch.equal(cached, full)}")
    print(
        f"   logits {_shape(cached_logits)}; largest difference "
        f"{diff:.1e} (below 1e-5: {diff < 1e-5})"
    )

    print("\n3. Memory: 2 * n_layers * batch * n_kv_heads * max_len * d_head")
    print("   * bytes per number (K and V of every layer and position)")
    mine = (c.n_layers, 1, c.kv_heads, c.max_seq_len, c.d_head)
    print(
        f"   this cache: kv_cache_bytes{mine} = {kv_cache_bytes(*mine):,}"
        f"; cache.nbytes = {cache.nbytes:,}"
    )
    for name, config, max_len, dtype in (
        ("GPT-2 small", gpt2_config(), 1024, torch.float32),
        ("LLaMA-2 7B", llama_config(), 4096, torch.float16),
        (
            "LLaMA-2 7B, 8 K/V heads",
            llama_config(n_kv_heads=8),
            4096,
            torch.float16,
        ),
    ):
        args = (config.n_layers, 1, config.kv_heads, max_len, config.d_head)
        formula = kv_cache_bytes(*args, dtype=dtype)
        # the meta device allocates no memory but knows the sizes
        allocated = KVCache(*args, dtype=dtype, device="meta").nbytes
        print(
            f"   {name}, {max_len:,} tokens, {str(dtype)[6:]}: "
            f"{formula:,} bytes = {formula / 2**20:,.0f} MiB "
            f"(KVCache on 'meta': {allocated:,})"
        )

    print("\n4. What one new token costs (batch 1)")
    for name, config in (
        ("this model", c),
        ("GPT-2 small", gpt2_config()),
    ):
        weights = matmul_weights(config)
        flops = decode_flops(config, n_keys=1)
        intensity = decode_intensity(config, n_keys=1)
        print(
            f"   {name}: {weights:,} weights in matrices -> {flops:,} "
            f"FLOPs; in float32 {intensity:.2f} FLOP per byte read"
        )
    print("   Time it: python -m transformer_atlas bench kv-cache")
