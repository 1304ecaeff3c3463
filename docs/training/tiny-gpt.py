# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Notebook: train a tiny GPT
#
# This notebook trains a GPT from scratch on your CPU in well under two minutes, then samples
# from it. Everything it calls is the guide's own code: the model of
# [decoder-only models](../../families/decoder-only/), the guide's one training loop `fit`
# (written out on the [PyTorch reference](../../reference/pytorch/#the-loop) page) with the
# AdamW, schedule and clipping of [training dynamics](../../training/dynamics/), the decoding of
# [sampling](../../inference/sampling/) and the [KV cache](../../inference/kv-cache/). The site
# build runs it, so the outputs below are real.
#
# The corpus is the Python standard library's own source: every Python installation has it, so
# nothing is downloaded. The model reads and writes **characters**, so its vocabulary is the
# ~100 distinct characters of that text.
#
# The same run from a shell, with a progress bar, checkpoints and a loss-curve figure:
#
# ```
# python -m transformer_atlas train gpt --iters 2000
# python -m transformer_atlas generate --prompt "def " --max-new-tokens 300
# ```

# %%
# %matplotlib inline
# %config InlineBackend.figure_formats = ["svg"]
import math
import time

import torch

from transformer_atlas.common.data import CharTokenizer, load_corpus
from transformer_atlas.families.decoder_only import count_parameters
from transformer_atlas.figures.training.tiny_gpt import loss_curve
from transformer_atlas.inference.generation import generate
from transformer_atlas.training.tiny_gpt import TrainConfig, train

torch.manual_seed(0)

# %% [markdown]
# ## 1. The data
#
# One megabyte of standard-library source, and a tokenizer with one id per distinct character.

# %%
text = load_corpus("stdlib", max_bytes=1_000_000)
tokenizer = CharTokenizer.from_text(text)
print(f"{len(text):,} characters, vocabulary of {tokenizer.vocab_size}")
print(repr(text[:200]))
print(tokenizer.encode("def f(x):"))

# %% [markdown]
# ## 2. The model
#
# nanoGPT's "baby GPT" for CPUs: 4 decoder blocks, 4 heads, 128-wide residual stream, a context
# of 64 characters. An untrained model guesses uniformly, so its loss starts near
# $\ln V$ nats per character.

# %%
cfg = TrainConfig(iters=800, eval_interval=100, eval_iters=10, warmup_iters=80)
model_config = cfg.model_config(tokenizer.vocab_size)
print(model_config)
print(f"{count_parameters(model_config):,} parameters")
print(
    f"ln V = ln {tokenizer.vocab_size} = {math.log(tokenizer.vocab_size):.3f}"
)

# %% [markdown]
# ## 3. Train
#
# 800 iterations of batch 12 × 64 characters: AdamW, linear warm-up then cosine decay,
# gradients clipped to norm 1. `train` runs `fit`, the loop every model of the guide is trained
# with, and estimates the loss every 100 steps on fixed batches of the training text and of the
# held-out last 10%.

# %%
start = time.perf_counter()


def report(row: dict) -> None:
    print(
        f"step {row['step']:>4}: train {row['train_loss']:.3f}, "
        f"val {row['val_loss']:.3f}"
    )


result = train(cfg, progress=False, on_eval=report)
seconds = time.perf_counter() - start
print(
    f"{seconds:.0f} s; median {result.ms_per_iter:.0f} ms per iteration, "
    f"{result.tokens_per_second:,.0f} tokens/s"
)

# %%
loss_curve(result.history, tokenizer.vocab_size)

# %% [markdown]
# The validation loss follows the training loss: with a megabyte of text and 0.8 M parameters
# the model is far from memorising anything in 800 steps. The full run (`--iters 2000`) keeps
# going down; its numbers are in the README's benchmark table.
#
# ## 4. Sample
#
# Generation feeds the model its own output, one character at a time. Lower temperatures and
# top-k make the text more conservative; greedy decoding tends to repeat itself.

# %%
model = result.model.eval()
prompt = torch.tensor([tokenizer.encode("def ")])
for label, kwargs in [
    ("temperature 0.8, top-k 20", dict(temperature=0.8, top_k=20)),
    ("greedy", dict(greedy=True)),
]:
    seed = torch.Generator().manual_seed(1)
    tokens, _ = generate(model, prompt, 60, generator=seed, **kwargs)
    print(f"--- {label}\n{tokenizer.decode(tokens[0].tolist())}\n")

# %% [markdown]
# ## 5. The KV cache changes the work, not the answer
#
# With the cache each step runs the model on one new token; without it, on the whole prefix.
# The tokens are the same; the time is not (here the context is only 64 characters, so the gap is
# small — see [KV caching](../../inference/kv-cache/) for a bigger model).

# %%
timings = {}
for use_cache in (True, False):
    tick = time.perf_counter()
    tokens, logits = generate(
        model, prompt, 60, greedy=True, use_cache=use_cache
    )
    timings[use_cache] = (time.perf_counter() - tick, tokens, logits)
(t_cached, tok_cached, log_cached) = timings[True]
(t_full, tok_full, log_full) = timings[False]
print("same tokens:", torch.equal(tok_cached, tok_full))
print(f"largest logit difference: {(log_cached - log_full).abs().max():.1e}")
print(
    f"with cache {1e3 * t_cached / 60:.2f} ms/token, "
    f"without {1e3 * t_full / 60:.2f} ms/token"
)

# %% [markdown]
# ## Next
#
# - Train longer, or on your own text: `python -m transformer_atlas train gpt --corpus my.txt`.
# - [Sampling](../../inference/sampling/): what temperature, top-k and top-p do to the
#   distribution.
# - [Training dynamics](../../training/dynamics/): AdamW, the schedule and clipping used above.
