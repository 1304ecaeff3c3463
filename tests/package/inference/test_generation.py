"""Generation: the cache changes nothing but the work; HF agrees.

Oracles: running the model on the full prefix at every step (the
definition of auto-regressive generation), Hugging Face's
``GPT2LMHeadModel.generate`` (greedy, repetition penalty, beam search)
with the same weights.

Times are measured by the ``generation`` benchmark (``make bench``), never
here: the tests check that it runs and what its report and figures look
like, on tiny sizes or on made-up numbers.
"""

from __future__ import annotations

import io

import pytest
import torch
import transformers
from torch.utils.flop_counter import FlopCounterMode

from transformer_atlas.benchmarks import provenance, recorded
from transformer_atlas.benchmarks.inference import generation as bench
from transformer_atlas.benchmarks.inference.generation import (
    time_decode_steps,
)
from transformer_atlas.blocks.attention import scaled_dot_product_attention
from transformer_atlas.common.threads import torch_threads
from transformer_atlas.families.decoder_only import (
    GPT,
    count_parameters,
    gpt2_config,
    llama_config,
)
from transformer_atlas.families.hf_interop import (
    gpt2_config_from_hf,
    load_hf_gpt2,
)
from transformer_atlas.figures.inference.generation import (
    generation_batch_scaling,
    generation_time_per_token,
)
from transformer_atlas.figures.inference.kv_cache import kv_cache_speedup
from transformer_atlas.inference.generation import (
    decode_flops,
    decode_intensity,
    generate,
    generate_beam,
    matmul_weights,
)
from transformer_atlas.inference.kv_cache import kv_cache_bytes

transformers.logging.set_verbosity_error()


def small_model(family: str, seed: int = 0) -> GPT:
    torch.manual_seed(seed)
    make = gpt2_config if family == "gpt2" else llama_config
    kv = {"n_kv_heads": 2} if family == "llama" else {}
    return GPT(make(vocab_size=60, max_seq_len=48, n_layers=2, n_heads=4, d_model=32, **kv)).eval()


@pytest.mark.parametrize("family", ["gpt2", "llama"])
def test_cached_and_uncached_generation_are_identical(family):
    """Same tokens, and the same logits at every step (1e-5)."""
    model = small_model(family)
    prompt = torch.randint(0, 60, (2, 5))
    kwargs = dict(temperature=0.9, top_k=20, top_p=0.95, repetition_penalty=1.2)
    a, la = generate(
        model, prompt, 30, use_cache=True, generator=torch.Generator().manual_seed(3), **kwargs
    )
    b, lb = generate(
        model, prompt, 30, use_cache=False, generator=torch.Generator().manual_seed(3), **kwargs
    )
    assert torch.equal(a, b)
    assert la.shape == (2, 30, 60)
    torch.testing.assert_close(la, lb, atol=1e-5, rtol=0)


@pytest.mark.parametrize("family", ["gpt2", "llama"])
def test_greedy_equals_running_the_full_prefix_each_step(family):
    model = small_model(family, seed=1)
    tokens = torch.randint(0, 60, (1, 4))
    ours, _ = generate(model, tokens, 20, greedy=True)
    with torch.no_grad():
        for _ in range(20):  # the definition, with no cleverness at all
            next_token = model(tokens)[:, -1].argmax(-1, keepdim=True)
            tokens = torch.cat([tokens, next_token], dim=1)
    assert torch.equal(ours, tokens)


def hf_and_ours(seed: int = 0):
    torch.manual_seed(seed)
    config = transformers.GPT2Config(
        n_layer=2,
        n_embd=32,
        n_head=4,
        vocab_size=50,
        n_positions=64,
        bos_token_id=0,
        eos_token_id=0,
        pad_token_id=0,
        initializer_range=0.3,
    )
    hf = transformers.GPT2LMHeadModel(config).eval()
    ours = load_hf_gpt2(GPT(gpt2_config_from_hf(config)), hf).eval()
    return hf, ours


@pytest.mark.parametrize("penalty", [1.0, 1.5])
def test_greedy_tokens_equal_hugging_face_generate(penalty):
    hf, ours = hf_and_ours()
    prompt = torch.tensor([[5, 17, 3, 42]])
    theirs = hf.generate(
        prompt, do_sample=False, max_new_tokens=25, repetition_penalty=penalty, min_new_tokens=25
    )
    mine, _ = generate(ours, prompt, 25, greedy=True, repetition_penalty=penalty)
    assert torch.equal(mine, theirs)


@pytest.mark.parametrize("num_beams", [2, 4])
def test_beam_search_equals_hugging_face(num_beams):
    hf, ours = hf_and_ours(seed=1)
    prompt = torch.tensor([7, 8, 9])
    theirs = hf.generate(
        prompt[None],
        do_sample=False,
        num_beams=num_beams,
        max_new_tokens=8,
        min_new_tokens=8,
        early_stopping="never",
        length_penalty=1.0,
    )
    mine = generate_beam(ours, prompt, 8, num_beams)
    assert torch.equal(mine, theirs[0])


def test_one_beam_is_greedy():
    model = small_model("gpt2", seed=4)
    prompt = torch.randint(0, 60, (1, 3))
    greedy, _ = generate(model, prompt, 12, greedy=True)
    assert torch.equal(generate_beam(model, prompt[0], 12, 1), greedy[0])


def test_streaming_sees_every_token_in_order():
    model = small_model("llama")
    seen: list[int] = []
    tokens, _ = generate(
        model, torch.tensor([[1, 2]]), 9, greedy=True, on_token=lambda t: seen.append(int(t))
    )
    assert seen == tokens[0, 2:].tolist()


def test_uncached_generation_crops_to_the_context():
    """Past the context, the uncached loop keeps the last max_seq_len."""
    model = small_model("gpt2")
    tokens, _ = generate(model, torch.randint(0, 60, (1, 40)), 20, greedy=True, use_cache=False)
    assert tokens.shape == (1, 60)


def test_bad_arguments_raise_value_errors():
    model = small_model("gpt2")
    with pytest.raises(ValueError, match="must fit the model's context"):
        generate(model, torch.zeros(1, 40, dtype=torch.long), 20)
    with pytest.raises(ValueError, match=r"idx must be \[batch, seq\]"):
        generate(model, torch.zeros(5, dtype=torch.long), 2)
    with pytest.raises(ValueError, match="max_new_tokens must be >= 1"):
        generate(model, torch.zeros(1, 2, dtype=torch.long), 0)


# NVIDIA H100 SXM data sheet: 3.35 TB/s HBM3, 989 TFLOP/s dense BF16.
H100_BYTES_PER_S = 3.35e12


H100_FLOP_PER_S = 989e12


KV_BENCH = gpt2_config(n_layers=6, d_model=512, n_heads=8)


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """One intra-op thread: on a shared 2-core machine, tiny ops with two
    threads wait for each other; timings and runtime become erratic."""
    with torch_threads(1):
        yield


def counted_flops(model: GPT, idx: torch.Tensor, cache=None) -> int:
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(idx, cache)
    return counter.get_total_flops()


def tiny(make=gpt2_config, **overrides) -> GPT:
    torch.manual_seed(0)
    sizes = {"vocab_size": 97, "max_seq_len": 40, "n_layers": 2, "n_heads": 4, "d_model": 32}
    sizes.update(overrides)
    return GPT(make(**sizes)).eval()


# ============================================================ the oracles
@pytest.mark.parametrize(
    ("make", "overrides"),
    [
        (gpt2_config, {}),
        (gpt2_config, {"tie_embeddings": False, "bias": False}),
        (llama_config, {"n_kv_heads": 2}),  # SwiGLU, GQA, RoPE
        (llama_config, {"n_kv_heads": 1, "n_layers": 3}),  # MQA
    ],
)
def test_matmul_flops_of_a_decode_step_equal_flop_counter(make, overrides):
    """2 * matmul_weights = the matmul FLOPs PyTorch counts in one step."""
    model = tiny(make, **overrides)
    cache = model.new_cache(1)
    model(torch.randint(0, 97, (1, 7)), cache)  # prefill, not counted
    counted = counted_flops(model, torch.tensor([[5]]), cache)
    # the fused attention kernel is not counted on CPU: matmuls only
    assert counted == 2 * matmul_weights(model.config)
    attention = decode_flops(model.config, 8) - 2 * matmul_weights(model.config)
    assert attention == 4 * model.config.n_layers * 8 * 32


@pytest.mark.parametrize(("heads", "d_head", "n_keys"), [(4, 8, 1), (12, 64, 1024)])
def test_attention_flops_equal_flop_counter(heads, d_head, n_keys):
    """q K^T and A V cost 2 * n_keys * d_model FLOPs each per layer."""
    q = torch.randn(1, heads, 1, d_head)
    k = torch.randn(1, heads, n_keys, d_head)
    v = torch.randn(1, heads, n_keys, d_head)
    with FlopCounterMode(display=False) as counter:
        scaled_dot_product_attention(q, k, v)  # the guide's, not fused
    d_model = heads * d_head
    config = gpt2_config(n_layers=1, n_heads=heads, d_model=d_model)
    per_layer = decode_flops(config, n_keys) - 2 * matmul_weights(config)
    assert counter.get_total_flops() == per_layer == 4 * n_keys * d_model


def test_batch_multiplies_the_flops():
    c = gpt2_config()
    assert decode_flops(c, 100, batch=16) == 16 * decode_flops(c, 100)


def test_prefill_flops_are_prompt_length_times_a_step():
    """Prefill runs every weight over each of the n prompt tokens."""
    model = tiny()
    one = counted_flops(model, torch.tensor([[3]]))
    assert counted_flops(model, torch.randint(0, 97, (1, 12))) == 12 * one


def test_intensity_is_flops_over_bytes():
    c = llama_config(n_kv_heads=8)
    flops = decode_flops(c, 500, batch=3)
    bytes_read = 2 * matmul_weights(c) + kv_cache_bytes(32, 3, 8, 500, 128, torch.bfloat16)
    assert decode_intensity(c, 500, 3, torch.bfloat16) == pytest.approx(
        flops / bytes_read, rel=1e-12
    )


def test_counting_functions_reject_bad_sizes():
    with pytest.raises(ValueError, match="n_keys must be a positive int"):
        decode_flops(gpt2_config(), 0)
    with pytest.raises(ValueError, match="batch must be a positive int"):
        decode_intensity(gpt2_config(), 1, batch=-1)
    with pytest.raises(ValueError, match="steps must be a positive int"):
        time_decode_steps(tiny(), 1, steps=0)


def test_torch_threads_restores_the_setting():
    before = torch.get_num_threads()
    with torch_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before


# ============================================ the benchmark and its figures
RESULT_KEYS = {"threads", "dtype", "per_token", "batch_scaling", "prefill"}


def made_up_results(n: int = 40) -> dict:
    """Results shaped like the benchmark's, with invented times (ms)."""
    lengths = list(range(2, n + 2))
    return {
        "threads": 1,
        "dtype": "float32",
        "per_token": {
            "model": dict(bench.PER_TOKEN_MODEL),
            "prompt_len": 1,
            "lengths": lengths,
            "cached_ms": [2.0 + 0.002 * t for t in lengths],
            "uncached_ms": [2.0 + 0.04 * t for t in lengths],
        },
        "batch_scaling": {
            "model": dict(bench.BATCH_MODEL),
            "prefix_len": 32,
            "steps": 8,
            "batches": [1, 2, 4, 8, 16],
            "step_ms": [5.0, 5.5, 6.0, 7.5, 10.0],
        },
        "prefill": {
            "model": dict(bench.BATCH_MODEL),
            "prompt_len": 128,
            "prefill_ms": 30.0,
            "decode_step_ms": 5.0,
        },
    }


def test_benchmark_quick_run_has_the_documented_shape():
    """run(quick=True) returns every measurement the figures and the report
    use (the times themselves are not checked)."""
    results = bench.run(quick=True)
    assert set(results) == RESULT_KEYS
    pt = results["per_token"]
    assert pt["lengths"] == [2, 3, 4, 5]
    for key in ("cached_ms", "uncached_ms"):
        assert len(pt[key]) == 4
        assert all(isinstance(t, float) for t in pt[key])
    bs = results["batch_scaling"]
    assert bs["batches"] == [1, 2] and len(bs["step_ms"]) == 2
    assert set(results["prefill"]) == {"model", "prompt_len", "prefill_ms", "decode_step_ms"}
    assert results["threads"] == 1
    assert bench.report(results).count("\n|---") == 2  # two tables


def test_benchmark_rejects_bad_sizes():
    with pytest.raises(ValueError, match="new_tokens must be a positive"):
        bench.run(quick=True, new_tokens=0)
    with pytest.raises(ValueError, match="max_batch must be a positive"):
        bench.run(quick=True, max_batch=0)


def test_report_format():
    """The report: a per-token table (first and last 10 steps, mean of the
    whole generation), one row per batch size, and the prefill sentence."""
    text = bench.report(made_up_results())
    lines = text.splitlines()
    assert lines[0].startswith(
        "Time per new token: greedy generation of 40 tokens from a 1-token "
        "prompt, batch 1, 4 layers, d_model 256, 4 heads, vocabulary 8,192"
    )
    assert "| with the KV cache | 2.01 | 2.07 | 2.04 |" in lines
    assert "| without (whole prefix each step) | 2.26 | 3.46 | 2.86 |" in lines
    assert "| 1 | 5.00 | 200 | 1.00 |" in lines
    assert "| 16 | 10.00 | 1,600 | 2.00 |" in lines
    assert lines[-1] == (
        "Prefill: a 128-token prompt took 30.00 ms in one pass, as long as "
        "6.0 decode steps at batch 1 (5.00 ms each), on the same model."
    )


def _svg(fig) -> str:
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg")
    return buffer.getvalue()


@pytest.mark.parametrize(
    "draw",
    [generation_time_per_token, generation_batch_scaling, kv_cache_speedup],
)
def test_figures_draw_a_given_measurement(draw):
    """A reader's own measurement (results, not a record) is drawn as it
    is, and the title says it did not come from make bench."""
    results = made_up_results()
    fig = draw(results)
    title = fig.get_suptitle() or fig.get_axes()[0].get_title()
    assert "not make bench" in title
    ax = fig.get_axes()[0]
    xs = [list(line.get_xdata()) for line in ax.get_lines()]
    expected = (
        results["per_token"]["lengths"]
        if draw is not generation_batch_scaling
        else results["batch_scaling"]["batches"]
    )
    assert [float(x) for x in expected] in [[float(v) for v in x] for x in xs]
    assert "</svg>" in _svg(fig)


def test_time_per_token_figure_draws_the_given_times():
    results = made_up_results()
    ax = generation_time_per_token(results).get_axes()[0]
    dots = [line for line in ax.get_lines() if line.get_linestyle() == "None"]
    assert len(dots) == 2
    for line, key in zip(dots, ("uncached_ms", "cached_ms")):
        assert list(line.get_ydata()) == pytest.approx(results["per_token"][key])


@pytest.mark.parametrize(
    "draw",
    [generation_time_per_token, generation_batch_scaling, kv_cache_speedup],
)
def test_figures_draw_the_recorded_measurement(draw):
    """By default the figures draw what make bench recorded and name the
    run: its date, commit and machine."""
    record = recorded("generation")
    assert set(record["results"]) == RESULT_KEYS
    fig = draw()
    title = fig.get_suptitle() or fig.get_axes()[0].get_title()
    assert f"commit {record['commit']}" in title
    assert record["machine"] in title and record["when"] in title


def test_bad_measurement_is_refused():
    with pytest.raises(ValueError, match="record of the generation"):
        generation_time_per_token({"cached": []})


def test_recorded_report_names_its_run():
    record = recorded("generation")
    assert provenance(record).startswith("*Measured by `make bench` on ")
    assert bench.report(record["results"])


# ==================================================== page claims: numbers
def test_page_example_generate_shapes_and_equality():
    """generation: the example prints torch.Size([1, 12]),
    torch.Size([1, 8, 100]), True, True."""
    torch.manual_seed(0)
    model = GPT(
        gpt2_config(
            vocab_size=100, max_seq_len=64, n_layers=2, n_heads=4, d_model=64, tie_embeddings=False
        )
    )
    prompt = torch.tensor([[11, 12, 13, 14]])
    tokens, logits = generate(model, prompt, 8, greedy=True)
    assert tokens.shape == (1, 12) and logits.shape == (1, 8, 100)
    again, logits_again = generate(model, prompt, 8, greedy=True, use_cache=False)
    assert torch.equal(tokens, again)
    assert float((logits - logits_again).abs().max()) < 1e-5
    assert len(set(tokens[0, 4:].tolist())) > 1  # not one repeated token


@pytest.mark.parametrize(
    ("config", "params", "weights", "mflops"),
    [
        (KV_BENCH, 45_171_200, 44_605_952, 89.2),
        (gpt2_config(), 124_439_808, 123_532_032, 247.1),
    ],
)
def test_flops_per_token_table(config, params, weights, mflops):
    """generation: "kv_bench_model: 45,171,200 parameters, 44,605,952 in
    matrices, 89.2 MFLOPs per token" and "GPT-2 small: 124,439,808
    parameters, 123,532,032 in matrices, 247.1 MFLOPs per token"; 2 x the
    parameters is within 1.3% of the FLOPs."""
    assert count_parameters(config) == params
    assert matmul_weights(config) == weights
    assert round(decode_flops(config, 1) / 1e6, 1) == mflops
    assert abs(2 * params / (2 * weights) - 1) < 0.013


def test_flops_table_as_printed(capsys):
    """generation: the table the example block prints, line by line."""
    print(f"{'':15s}{'parameters':>13s}{'in matrices':>14s}{'MFLOPs/token':>14s}")
    for name, config in [("kv_bench_model", KV_BENCH), ("GPT-2 small", gpt2_config())]:
        print(
            f"{name:15s}{count_parameters(config):>13,}"
            f"{matmul_weights(config):>14,}"
            f"{decode_flops(config, n_keys=1) / 1e6:>14.1f}"
        )
    assert capsys.readouterr().out.splitlines() == [
        "                  parameters   in matrices  MFLOPs/token",
        "kv_bench_model    45,171,200    44,605,952          89.2",
        "GPT-2 small      124,439,808   123,532,032         247.1",
    ]


def test_attention_share_at_1024_positions():
    """generation: "at 1,024 positions attention adds 37.7 MFLOPs, about
    15% more" (GPT-2 small)."""
    c = gpt2_config()
    extra = decode_flops(c, 1024) - 2 * matmul_weights(c)
    assert round(extra / 1e6, 1) == 37.7
    assert round(100 * extra / (2 * matmul_weights(c))) == 15


def test_batch_one_intensity_is_half_a_flop_per_byte_at_any_length():
    """generation: "batch-1 decoding does 0.5 FLOP per byte in float32 (1 in
    16-bit) at any context length"."""
    for config in (gpt2_config(), KV_BENCH, llama_config()):
        for n_keys in (1, 100, 1024):
            assert decode_intensity(config, n_keys) == pytest.approx(0.5)
            assert decode_intensity(config, n_keys, dtype=torch.float16) == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("batch", "n_keys", "shown"),
    [(1, 1, "0.50"), (1, 1024, "0.50"), (16, 1, "7.98"), (16, 1024, "2.68"), (64, 1024, "3.42")],
)
def test_gpt2_intensity_table(batch, n_keys, shown):
    """generation: the table of GPT-2 small's float32 intensity."""
    assert f"{decode_intensity(gpt2_config(), n_keys, batch):.2f}" == shown


def test_gpt2_intensity_cap_at_1024_positions():
    """generation: "however large the batch, it stays below 3.8 here"."""
    c = gpt2_config()
    limit = decode_flops(c, 1024) / kv_cache_bytes(12, 1, 12, 1024, 64)
    assert round(limit, 2) == 3.77
    assert decode_intensity(c, 1024, batch=100_000) < limit < 3.8


def test_h100_ridge_and_llama_lower_bound():
    """generation: "989 TFLOP/s ... 3.35 TB/s ... about 295 FLOPs per byte";
    "6.61 billion weights in matrices, 13.2 GB"; "at least 3.9 ms per
    token, at most about 254 tokens per second"; "13.2 GFLOPs, which the
    same GPU computes in about 13 microseconds"; "busy about 1/295 of the
    time"."""
    ridge = H100_FLOP_PER_S / H100_BYTES_PER_S
    assert round(ridge) == 295
    c = llama_config()
    weights = matmul_weights(c)
    assert round(weights / 1e9, 2) == 6.61
    weight_bytes = 2 * weights
    assert round(weight_bytes / 1e9, 1) == 13.2
    seconds = weight_bytes / H100_BYTES_PER_S
    assert round(1e3 * seconds, 1) == 3.9
    assert round(1 / seconds) == 254
    flops = decode_flops(c, 1)
    assert round(flops / 1e9, 1) == 13.2
    assert round(1e6 * flops / H100_FLOP_PER_S) == 13
    # intensity 1 FLOP/byte at 16 bits: busy 1/ridge of the time
    assert decode_intensity(c, 1, dtype=torch.bfloat16) == pytest.approx(1)


def test_h100_batch_limit_of_a_16_bit_decode_step():
    """generation: "the weights alone would keep a 16-bit decode step
    memory-bound up to a batch of about 295" (intensity ~ batch)."""
    c = llama_config()
    for batch in (1, 16, 295):
        weights_only = 2 * matmul_weights(c) * batch / (2 * matmul_weights(c))
        assert weights_only == batch
        assert decode_intensity(c, 1, batch, torch.bfloat16) == (pytest.approx(batch, rel=0.02))


def test_prefill_intensity_is_prompt_length_over_two():
    """generation: "a prompt of n tokens does n / 2 FLOPs per byte of
    float32 weights"; "16-bit prompts of about 300 tokens reach the
    H100's 295"."""
    c = gpt2_config()
    for n in (1, 128, 1024):
        weights_only = n * 2 * matmul_weights(c) / (4 * matmul_weights(c))
        assert weights_only == n / 2
    assert round(H100_FLOP_PER_S / H100_BYTES_PER_S) <= 300


def test_cached_keys_are_small_next_to_the_weights():
    """generation (figure caption): "reading the t cached keys and values
    is small next to reading the weights (about 5% of their bytes at 128
    positions)" (4 layers, d_model 256, vocabulary 8,192)."""
    c = gpt2_config(n_layers=4, d_model=256, n_heads=4, vocab_size=8192)
    cache = kv_cache_bytes(4, 1, 4, 128, 64)
    assert round(100 * cache / (4 * matmul_weights(c))) == 5


def test_batch_scaling_model_weights():
    """generation: "16.0 million weights in matrices, 64 MB in float32"."""
    c = gpt2_config(n_layers=4, d_model=256, n_heads=4)
    assert round(matmul_weights(c) / 1e6, 1) == 16.0
    assert round(4 * matmul_weights(c) / 1e6) == 64
