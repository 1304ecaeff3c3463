"""The page inference/kv-cache: what is cached, its bytes, its speed-up.

Oracles:

* the bytes PyTorch actually reserves for the cache's tensors
  (``untyped_storage().nbytes()``) and the sizes the meta device computes,
  against the formula ``kv_cache_bytes``;
* ``torch.utils.flop_counter.FlopCounterMode`` for the work a generation
  does with and without the cache;
* running the model on a longer sequence, for "cached keys and values
  never change" (what makes the cache valid).

The speed-up itself is measured by the ``kv_cache`` benchmark (``make
bench``), never here: the tests check that it runs and the format of its
report, on tiny sizes or made-up numbers.

Cached and uncached generation giving identical tokens and logits is
``test_generation.py::test_cached_and_uncached_generation_are_identical``;
the cache reproducing the full forward pass is
``test_gpt.py::test_cache_reproduces_the_full_forward``.

Every test in the "page claims" sections quotes the sentence it backs.
"""

from __future__ import annotations

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from transformer_atlas.benchmarks.inference import kv_cache as bench
from transformer_atlas.common.threads import torch_threads
from transformer_atlas.demos.inference import generation as demo
from transformer_atlas.families.decoder_only import (
    GPT,
    count_parameters,
    gpt2_config,
    llama_config,
)
from transformer_atlas.inference.generation import generate, matmul_weights
from transformer_atlas.inference.kv_cache import KVCache, kv_cache_bytes

GiB, MiB, KiB = 2**30, 2**20, 2**10
KV_BENCH = gpt2_config(n_layers=6, d_model=512, n_heads=8)
LLAMA2_70B = llama_config(n_layers=80, d_model=8192, n_heads=64, n_kv_heads=8, d_ff=28672)


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """One intra-op thread: steadier and faster on a shared 2-core box."""
    with torch_threads(1):
        yield


def cache_args(config, max_len: int, batch: int = 1):
    return (config.n_layers, batch, config.kv_heads, max_len, config.d_head)


# ============================================================ the oracles
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16, torch.float64])
@pytest.mark.parametrize("shape", [(1, 1, 1, 1, 1), (2, 3, 4, 5, 8), (4, 2, 1, 33, 16)])
def test_formula_equals_the_storage_pytorch_allocates(dtype, shape):
    """The formula equals the bytes of the tensors' storage, for real."""
    cache = KVCache(*shape, dtype=dtype)
    storage = cache.k.untyped_storage().nbytes() + cache.v.untyped_storage().nbytes()
    assert storage == cache.nbytes == kv_cache_bytes(*shape, dtype=dtype)


def test_cached_keys_and_values_never_change():
    """K and V of positions 0..9 are the same whether 10 or 16 tokens were
    run: later tokens do not change them (causality), so storing them is
    exact."""
    for make, kv in ((gpt2_config, {}), (llama_config, {"n_kv_heads": 2})):
        torch.manual_seed(0)
        model = GPT(
            make(vocab_size=64, max_seq_len=32, n_layers=2, n_heads=4, d_model=32, **kv)
        ).eval()
        ids = torch.randint(0, 64, (2, 16))
        short, long = model.new_cache(2), model.new_cache(2)
        with torch.no_grad():
            model(ids[:, :10], short)
            model(ids, long)
        torch.testing.assert_close(short.k[:, :, :, :10], long.k[:, :, :, :10])
        torch.testing.assert_close(short.v[:, :, :, :10], long.v[:, :, :, :10])


def test_cache_holds_keys_and_values_only():
    """page: "The cache holds K and V; no Q"."""
    cache = KVCache(2, 1, 2, 8, 4)
    tensors = {n for n, v in vars(cache).items() if torch.is_tensor(v)}
    assert tensors == {"k", "v"}


@pytest.mark.parametrize(("prompt_len", "new"), [(1, 12), (5, 9)])
def test_flops_with_and_without_the_cache(prompt_len, new):
    """Uncached generation runs the blocks over every prefix again:
    sum_t t block passes; cached, one per token. Counted by PyTorch."""
    torch.manual_seed(0)
    model = GPT(
        gpt2_config(vocab_size=64, max_seq_len=32, n_layers=2, n_heads=4, d_model=32)
    ).eval()
    prompt = torch.randint(0, 64, (1, prompt_len))
    counted = {}
    for use_cache in (True, False):
        with FlopCounterMode(display=False) as counter:
            generate(model, prompt, new, greedy=True, use_cache=use_cache)
        counted[use_cache] = counter.get_total_flops()
    c = model.config
    head = 2 * c.d_model * c.vocab_size  # last position only, each step
    blocks = 2 * (matmul_weights(c) - c.d_model * c.vocab_size)
    lengths = range(prompt_len, prompt_len + new)  # what each pass sees
    assert counted[False] == blocks * sum(lengths) + head * new
    assert counted[True] == blocks * (prompt_len + new - 1) + head * new


# ======================================================== the benchmark
def test_benchmark_quick_run_and_report():
    """run(quick=True) times both ways for ours (and Hugging Face's when
    transformers is installed); the report is a Markdown table."""
    results = bench.run(quick=True)
    assert set(results) == {
        "model",
        "new_tokens",
        "prompt_len",
        "batch",
        "dtype",
        "threads",
        "ours",
        "hugging_face",
    }
    assert results["new_tokens"] == 4 and results["model"]["n_layers"] == 1
    for side in ("ours", "hugging_face"):  # transformers is a test extra
        r = results[side]
        assert set(r) >= {"cached", "uncached", "speedup"}
        assert isinstance(r["speedup"], float)
        assert isinstance(r["cached"]["mean_ms"], float)
    assert results["ours"]["cached"]["n"] == 4
    text = bench.report(results)
    assert text.count("\n| ") == 3  # header and two rows
    assert results["ours"]["speedup"] == round(
        results["ours"]["uncached"]["steady_mean_ms"] / results["ours"]["cached"]["steady_mean_ms"],
        3,
    )
    with pytest.raises(ValueError, match="new_tokens must be a positive"):
        bench.run(quick=True, new_tokens=0)


def test_benchmark_report_format():
    """kv-cache: the report names the model and the run ("256 new tokens
    after a 1-token prompt, batch 1, float32") and gives ms per token both
    ways (steady means) and the speed-up, ours and Hugging Face's."""
    ms = {"cached": {"steady_mean_ms": 10.0}, "uncached": {"steady_mean_ms": 40.0}, "speedup": 4.0}
    results = {
        "model": {
            "n_layers": 6,
            "d_model": 512,
            "n_heads": 8,
            "vocab_size": 50257,
            "max_seq_len": 1024,
        },
        "new_tokens": 256,
        "prompt_len": 1,
        "batch": 1,
        "dtype": "float32",
        "threads": 2,
        "ours": ms,
        "hugging_face": ms,
    }
    lines = bench.report(results).splitlines()
    assert lines[-1].startswith("Milliseconds per new token: the mean over the whole generation")
    lines = lines[:-2]
    assert lines[0] == (
        "Greedy generation of 256 new tokens after a 1-token prompt, batch "
        "1, float32, 2 torch threads; model: 6 layers, d_model 512, 8 heads,"
        " vocabulary 50,257 (random weights)."
    )
    assert lines[-2] == ("| this guide's `GPT` (`kv_bench_model`) | 10.00 | 40.00 | 4.00x |")
    assert lines[-1].startswith("| Hugging Face `GPT2LMHeadModel.generate`")
    assert lines[-1].endswith("| 10.00 | 40.00 | 4.00x |")
    results["hugging_face"] = None  # transformers not installed
    assert "Hugging Face" not in bench.report(results)


def test_time_generation_steps_rejects_bad_sizes():
    model = bench.kv_bench_model(**bench.QUICK_SIZES)
    with pytest.raises(ValueError, match="new_tokens must be a positive"):
        bench.time_generation_steps(model, 0, use_cache=True)


# ==================================================== page claims: numbers
@pytest.mark.parametrize(
    ("config", "max_len", "dtype", "total", "shown", "per_token_kib"),
    [
        (gpt2_config(), 1024, torch.float32, 75_497_472, 72 * MiB, 72),
        (gpt2_config(), 1024, torch.float16, 37_748_736, 36 * MiB, 36),
        (llama_config(), 4096, torch.float16, 2_147_483_648, 2 * GiB, 512),
        (llama_config(n_kv_heads=8), 4096, torch.float16, 536_870_912, 512 * MiB, 128),
        (LLAMA2_70B, 4096, torch.float16, 1_342_177_280, 1.25 * GiB, 320),
        (
            llama_config(n_layers=80, d_model=8192, n_heads=64, d_ff=28672),
            4096,
            torch.float16,
            10_737_418_240,
            10 * GiB,
            2560,
        ),
        (KV_BENCH, 1024, torch.float32, 25_165_824, 24 * MiB, 24),
    ],
)
def test_memory_table(config, max_len, dtype, total, shown, per_token_kib):
    """kv-cache: every row of the memory table (bytes, MiB/GiB, per token),
    and "the formula equals the bytes the cache allocates"."""
    args = cache_args(config, max_len)
    assert kv_cache_bytes(*args, dtype=dtype) == total == shown
    assert total / max_len == per_token_kib * KiB
    # the meta device allocates nothing but computes the same sizes
    assert KVCache(*args, dtype=dtype, device="meta").nbytes == total


def test_model_configs_in_the_table():
    """kv-cache: the shapes named in the table: GPT-2 small 12 layers x 12
    heads x 64; LLaMA-2 7B 32 x 32 x 128; LLaMA-2 70B 80 layers, 64 query
    heads, 8 K/V heads of 128 (68,976,648,192 parameters, "70B")."""
    assert cache_args(gpt2_config(), 1)[::2] == (12, 12, 64)
    assert cache_args(llama_config(), 1)[::2] == (32, 32, 128)
    assert cache_args(LLAMA2_70B, 1)[::2] == (80, 8, 128)
    assert LLAMA2_70B.n_heads == 64
    assert count_parameters(LLAMA2_70B) == 68_976_648_192


def test_gqa_divides_the_cache_by_the_group_size():
    """kv-cache: "8 K/V heads instead of 32 divide it by 4"; 70B: "by 8"."""
    full = kv_cache_bytes(*cache_args(llama_config(), 4096))
    gqa = kv_cache_bytes(*cache_args(llama_config(n_kv_heads=8), 4096))
    assert full == 4 * gqa
    mha_70b = kv_cache_bytes(80, 1, 64, 4096, 128)
    assert mha_70b == 8 * kv_cache_bytes(*cache_args(LLAMA2_70B, 4096))


def test_cache_outgrows_the_weights():
    """kv-cache: "LLaMA-2 7B's weights take 13.5 GB (12.6 GiB) in 16 bits;
    its cache for 8 sequences of 4,096 tokens takes 16 GiB, more than the
    weights"."""
    weights = 2 * count_parameters(llama_config())
    assert round(weights / 1e9, 1) == 13.5
    assert round(weights / GiB, 1) == 12.6
    cache = kv_cache_bytes(*cache_args(llama_config(), 4096, batch=8), dtype=torch.float16)
    assert cache == 16 * GiB > weights


def test_flops_saved_by_the_cache_in_the_benchmark():
    """kv-cache: "the 256-token generation the benchmark times does 55 times
    fewer FLOPs in matrix products with the cache"."""
    c = KV_BENCH
    head = c.d_model * c.vocab_size  # the last position only, every step
    blocks = matmul_weights(c) - head
    uncached = blocks * sum(range(2, 258)) + head * 256  # prefixes 2..257
    cached = (blocks + head) * 256  # one token per step
    assert round(uncached / cached) == 55


def test_page_example_prefill_then_decode():
    """kv-cache: the prefill-and-decode example prints (2, 1, 4, 32, 16),
    5, 8 and True."""
    torch.manual_seed(0)
    model = GPT(gpt2_config(vocab_size=100, max_seq_len=32, n_layers=2, n_heads=4, d_model=64))
    ids = torch.randint(0, 100, (1, 8))
    cache = model.new_cache(batch=1)
    assert tuple(cache.k.shape) == (2, 1, 4, 32, 16)
    with torch.no_grad():
        model(ids[:, :5], cache)
        assert cache.length == 5
        for t in range(5, 8):
            step = model(ids[:, t : t + 1], cache)
        everything = model(ids)
    assert cache.length == 8 and step.shape == (1, 1, 100)
    assert torch.allclose(step[0, -1], everything[0, -1], atol=1e-5)


def test_page_example_meta_rows(capsys):
    """kv-cache: the meta-device example's three printed lines."""
    rows = [
        ("GPT-2 small", gpt2_config(), 1024, torch.float32),
        ("LLaMA-2 7B", llama_config(), 4096, torch.float16),
        ("LLaMA-2 7B, 8 K/V heads", llama_config(n_kv_heads=8), 4096, torch.bfloat16),
    ]
    for name, c, max_len, dtype in rows:
        args = (c.n_layers, 1, c.kv_heads, max_len, c.d_head)
        formula = kv_cache_bytes(*args, dtype=dtype)
        allocated = KVCache(*args, dtype=dtype, device="meta").nbytes
        print(f"{name}: {formula:,} bytes; allocated equal: {allocated == formula}")
    assert capsys.readouterr().out.splitlines() == [
        "GPT-2 small: 75,497,472 bytes; allocated equal: True",
        "LLaMA-2 7B: 2,147,483,648 bytes; allocated equal: True",
        "LLaMA-2 7B, 8 K/V heads: 536,870,912 bytes; allocated equal: True",
    ]


def test_work_formula_sum():
    """kv-cache: sum_{t=1}^{n} t = n (n + 1) / 2 token-passes."""
    for n in (1, 7, 128):
        assert sum(range(1, n + 1)) == n * (n + 1) // 2


# ======================================================== the demo
def test_demo_prints_key_lines(capsys: pytest.CaptureFixture[str]) -> None:
    demo.main()
    out = capsys.readouterr().out
    assert "cache.k and cache.v [2, 1, 4, 16, 8] each" in out
    assert "cache.length = 4, filled keys [2, 1, 4, 4, 8]" in out
    assert "fed [1, 1] -> logits [1, 1, 50]; cache.length = 9" in out
    assert "same tokens as the loop by hand: True" in out
    assert "same tokens both ways: True" in out
    assert "(below 1e-5: True)" in out
    assert ("kv_cache_bytes(2, 1, 4, 16, 8) = 8,192; cache.nbytes = 8,192") in out
    assert (
        "LLaMA-2 7B, 4,096 tokens, float16: 2,147,483,648 bytes = 2,048 MiB "
        "(KVCache on 'meta': 2,147,483,648)"
    ) in out
    assert "GPT-2 small: 123,532,032 weights in matrices" in out
    assert "0.50 FLOP per byte read" in out
    tokens = [line for line in out.splitlines() if "tokens [1, 10]" in line]
    assert len(tokens) == 1
    assert len(set(tokens[0].split(":")[1].split(","))) > 5  # varied


def test_claim_output_projection_is_more_than_half_of_the_bytes_read():
    """'More than half of the bytes a cached step reads are the output
    projection (50,257 x 512 weights, run once per token ...)'."""
    from transformer_atlas.benchmarks.inference.kv_cache import kv_bench_model

    with torch.device("meta"):
        model = kv_bench_model()
    head = 50_257 * 512
    assert model.tok.weight.numel() == head  # tied: W_out = E^T
    weights = matmul_weights(model.config)
    assert 0.5 < head / weights < 0.6
