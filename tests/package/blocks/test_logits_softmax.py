"""Softmax and log-softmax against oracles we did not write: torch.softmax, torch.log_softmax.

Plus properties that must hold for any input (hypothesis): shift invariance, a probability
simplex on every slice, and the ``T -> 0`` limit being one-hot on the arg-max.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays

from transformer_atlas.blocks.logits_softmax import (
    log_softmax,
    log_softmax_numpy,
    naive_softmax_numpy,
    softmax,
    softmax_numpy,
)
from transformer_atlas.figures.blocks.logits_softmax import (
    softmax_temperatures,
)

SHAPES_AND_AXES = [
    ((7,), -1),
    ((3, 5), -1),
    ((3, 5), 0),
    ((2, 3, 4), 1),
    ((2, 3, 4), -1),
    ((2, 1, 6), 0),
]
TEMPERATURES = [0.1, 0.5, 1.0, 3.0]


def _logits(shape: tuple[int, ...], seed: int = 0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return 4.0 * torch.randn(shape, generator=gen, dtype=torch.float64)


# ---------------------------------------------------------------- against torch
@pytest.mark.parametrize(("shape", "axis"), SHAPES_AND_AXES)
@pytest.mark.parametrize("temperature", TEMPERATURES)
def test_softmax_matches_torch(shape: tuple[int, ...], axis: int, temperature: float) -> None:
    z = _logits(shape)
    expected = torch.softmax(z / temperature, dim=axis)
    torch.testing.assert_close(
        softmax(z, dim=axis, temperature=temperature), expected, rtol=1e-12, atol=1e-14
    )
    np.testing.assert_allclose(
        softmax_numpy(z.numpy(), axis=axis, temperature=temperature),
        expected.numpy(),
        rtol=1e-12,
        atol=1e-14,
    )


@pytest.mark.parametrize(("shape", "axis"), SHAPES_AND_AXES)
@pytest.mark.parametrize("temperature", TEMPERATURES)
def test_log_softmax_matches_torch(shape: tuple[int, ...], axis: int, temperature: float) -> None:
    z = _logits(shape, seed=1)
    expected = torch.log_softmax(z / temperature, dim=axis)
    torch.testing.assert_close(
        log_softmax(z, dim=axis, temperature=temperature), expected, rtol=1e-12, atol=1e-12
    )
    np.testing.assert_allclose(
        log_softmax_numpy(z.numpy(), axis=axis, temperature=temperature),
        expected.numpy(),
        rtol=1e-12,
        atol=1e-12,
    )


def test_softmax_float32_matches_torch() -> None:
    z = _logits((4, 9)).float()
    torch.testing.assert_close(softmax(z), torch.softmax(z, dim=-1))
    torch.testing.assert_close(log_softmax(z), torch.log_softmax(z, dim=-1))


def test_softmax_gradient_matches_torch() -> None:
    """Detaching the max inside ``softmax`` must not change the gradient (shift invariance)."""
    z = _logits((3, 6)).requires_grad_()
    upstream = _logits((3, 6), seed=2)
    (ours,) = torch.autograd.grad((softmax(z, temperature=0.7) * upstream).sum(), z)
    (theirs,) = torch.autograd.grad((torch.softmax(z / 0.7, -1) * upstream).sum(), z)
    torch.testing.assert_close(ours, theirs, rtol=1e-10, atol=1e-12)
    (ours,) = torch.autograd.grad((log_softmax(z) * upstream).sum(), z)
    (theirs,) = torch.autograd.grad((torch.log_softmax(z, -1) * upstream).sum(), z)
    torch.testing.assert_close(ours, theirs, rtol=1e-10, atol=1e-12)


# ---------------------------------------------------------------- numerical stability
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_large_logits_are_finite(dtype: type) -> None:
    z = np.array([[1e4, 0.0, -1e4], [-1e4, -1e4, -1e4], [1e4, 1e4, 1e4]], dtype=dtype)
    p = softmax_numpy(z)
    assert np.isfinite(p).all()
    np.testing.assert_allclose(p, [[1, 0, 0], [1 / 3] * 3, [1 / 3] * 3], rtol=1e-6)
    assert np.isfinite(log_softmax_numpy(z)).all()
    zt = torch.from_numpy(z)
    assert torch.isfinite(softmax(zt)).all() and torch.isfinite(log_softmax(zt)).all()
    torch.testing.assert_close(softmax(zt), torch.softmax(zt, -1))
    torch.testing.assert_close(log_softmax(zt), torch.log_softmax(zt, -1))


def test_naive_softmax_overflows_to_nan() -> None:
    """The documented contrast: exp(1e4) = inf, and inf / inf = nan; exp(-1e4) underflows to 0."""
    with np.errstate(over="ignore", invalid="ignore"):
        big = naive_softmax_numpy(np.array([1e4, 0.0, -1e4]))
        small = naive_softmax_numpy(np.array([-1e4, -1e4]))
    assert np.isnan(big).any()
    assert np.isnan(small).all()  # 0 / 0
    # for moderate logits the naive formula is fine and agrees with the stable one
    z = np.array([1.0, 2.0, -0.5])
    np.testing.assert_allclose(naive_softmax_numpy(z), softmax_numpy(z), rtol=1e-14)


def test_log_softmax_finite_where_log_of_softmax_is_not() -> None:
    z = np.array([1e4, 0.0])
    with np.errstate(divide="ignore"):
        assert np.isneginf(np.log(softmax_numpy(z))[1])
    np.testing.assert_array_equal(log_softmax_numpy(z), [0.0, -1e4])


# ---------------------------------------------------------------- properties
finite = st.floats(min_value=-1e3, max_value=1e3, allow_nan=False, allow_infinity=False)
logit_arrays = arrays(
    np.float64, array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=6), elements=finite
)


@settings(max_examples=40, deadline=None)
@given(z=logit_arrays, shift=st.floats(min_value=-1e3, max_value=1e3), data=st.data())
def test_shift_invariance(z: np.ndarray, shift: float, data: st.DataObject) -> None:
    axis = data.draw(st.integers(min_value=-z.ndim, max_value=z.ndim - 1), label="axis")
    np.testing.assert_allclose(
        softmax_numpy(z + shift, axis=axis), softmax_numpy(z, axis=axis), atol=1e-9
    )
    zt = torch.from_numpy(z)
    torch.testing.assert_close(
        softmax(zt + shift, dim=axis), softmax(zt, dim=axis), rtol=0, atol=1e-9
    )


@settings(max_examples=40, deadline=None)
@given(z=logit_arrays, temperature=st.floats(min_value=0.01, max_value=100.0), data=st.data())
def test_slices_are_probability_distributions(
    z: np.ndarray, temperature: float, data: st.DataObject
) -> None:
    axis = data.draw(st.integers(min_value=-z.ndim, max_value=z.ndim - 1), label="axis")
    for p in (
        softmax_numpy(z, axis=axis, temperature=temperature),
        softmax(torch.from_numpy(z), dim=axis, temperature=temperature).numpy(),
    ):
        assert p.shape == z.shape
        assert np.isfinite(p).all()
        assert (p >= 0).all() and (p <= 1).all()
        np.testing.assert_allclose(p.sum(axis=axis), 1.0, rtol=1e-12)
    np.testing.assert_allclose(
        np.exp(log_softmax_numpy(z, axis=axis, temperature=temperature)),
        softmax_numpy(z, axis=axis, temperature=temperature),
        atol=1e-12,
    )


@settings(max_examples=40, deadline=None)
@given(z=arrays(np.float64, st.integers(2, 8), elements=st.floats(-10, 10), unique=True))
def test_low_temperature_tends_to_one_hot_argmax(z: np.ndarray) -> None:
    """Stated tolerance: with the top two logits a gap ``g`` apart, T = g / 50 puts at most
    ``(n - 1) e^-50 < 1e-20`` mass off the arg-max, so the result is one-hot to 1e-12."""
    top2 = np.sort(z)[-2:]
    gap = float(top2[1] - top2[0])
    if gap < 1e-6:  # numerically tied: the limit is not one-hot
        return
    one_hot = np.eye(z.size)[np.argmax(z)]
    np.testing.assert_allclose(softmax_numpy(z, temperature=gap / 50), one_hot, atol=1e-12)
    np.testing.assert_allclose(
        softmax(torch.from_numpy(z), temperature=gap / 50).numpy(), one_hot, atol=1e-12
    )
    # and the top probability does not decrease as T falls
    tops = [softmax_numpy(z, temperature=t).max() for t in (10.0, 1.0, 0.1, gap / 50)]
    assert all(a <= b + 1e-15 for a, b in zip(tops, tops[1:]))


def test_high_temperature_tends_to_uniform() -> None:
    z = np.array([3.0, -1.0, 0.5, 2.0])
    np.testing.assert_allclose(softmax_numpy(z, temperature=1e6), 0.25, atol=1e-6)


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize("temperature", [0.0, -1.0, float("nan"), float("inf")])
def test_bad_temperature_raises(temperature: float) -> None:
    z = np.array([1.0, 2.0])
    for fn in (softmax_numpy, log_softmax_numpy):
        with pytest.raises(ValueError, match=r"temperature must be a finite number > 0, got"):
            fn(z, temperature=temperature)
    for fn in (softmax, log_softmax):
        with pytest.raises(ValueError, match=r"temperature must be a finite number > 0, got"):
            fn(torch.from_numpy(z), temperature=temperature)


def test_logits_softmax_float32_overflow_point() -> None:
    """blocks/logits-softmax: "In 32-bit floats e^89 already overflows to inf"."""
    with np.errstate(over="ignore"):
        assert np.isinf(np.exp(np.float32(89.0)))
    assert np.isfinite(np.exp(np.float32(88.0)))


def test_logits_softmax_naive_example_prints_nan() -> None:
    """blocks/logits-softmax: the naive softmax of [1e4, 0, -1e4] in float32 is [nan, 0, 0]."""
    with np.errstate(over="ignore", invalid="ignore"):
        out = naive_softmax_numpy(np.array([1e4, 0.0, -1e4], dtype=np.float32))
    assert np.isnan(out[0]) and out[1] == 0.0 and out[2] == 0.0


def test_logits_softmax_stable_example() -> None:
    """blocks/logits-softmax: the stable versions print [1, 0, 0] and [0, -1e4, -2e4]."""
    z = np.array([1e4, 0.0, -1e4])
    np.testing.assert_array_equal(softmax_numpy(z), [1.0, 0.0, 0.0])
    np.testing.assert_array_equal(log_softmax_numpy(z), [0.0, -1e4, -2e4])


def test_logits_softmax_temperature_sharpens_and_flattens() -> None:
    """blocks/logits-softmax: below T=1 the top probability rises, above it falls."""
    logits = torch.tensor([2.0, 1.0, 0.1])
    top = [float(torch.softmax(logits / t, -1).max()) for t in (0.5, 1.0, 2.0)]
    assert top[0] > top[1] > top[2]


def test_softmax_temperatures_arguments() -> None:
    logits, temps = (3.0, 0.0, -3.0), (0.5, 5.0)
    fig = softmax_temperatures(logits=logits, temperatures=temps)
    ax = fig.get_axes()[0]
    heights = np.array([p.get_height() for p in ax.patches]).reshape(len(temps), len(logits))
    for row, t in zip(heights, temps):
        expected = np.exp(np.array(logits) / t) / np.exp(np.array(logits) / t).sum()
        np.testing.assert_allclose(row, expected, rtol=1e-12)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["T = 0.5", "T = 5"]
    with pytest.raises(ValueError, match="temperature must be a finite number > 0, got 0.0"):
        softmax_temperatures(temperatures=(1.0, 0.0))


# ======================================================= page claims: where large logits come from
def test_logits_softmax_float16_overflow_point() -> None:
    """blocks/logits-softmax: "in float16 (largest number 65,504) e^12 does" overflow; "in float16
    a logit of 12 is already too large for the formula as written"."""
    assert torch.finfo(torch.float16).max == 65504
    assert torch.isinf(torch.exp(torch.tensor(12.0, dtype=torch.float16)))
    assert torch.isfinite(torch.exp(torch.tensor(11.0, dtype=torch.float16)))
    naive = torch.exp(torch.tensor([12.0, 0.0], dtype=torch.float16))
    assert torch.isnan(naive / naive.sum())[0]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_logits_softmax_untrained_baby_gpt_logits_are_small(seed: int) -> None:
    """blocks/logits-softmax: "in an untrained copy of nanoGPT's 4-layer baby GPT their standard
    deviation is about 0.25 and none exceeds 2 in size"; its first loss is near ln V."""
    import math

    from transformer_atlas.families.decoder_only import GPT, baby_gpt_config

    torch.manual_seed(seed)
    model = GPT(baby_gpt_config(vocab_size=65)).eval()
    idx = torch.randint(0, 65, (4, 64))
    with torch.no_grad():
        logits = model(idx)  # [batch, seq, vocab]
    assert model.config.n_layers == 4
    assert round(float(logits.std()), 2) in (0.24, 0.25, 0.26)
    assert float(logits.abs().max()) < 2.0
    loss = torch.nn.functional.cross_entropy(logits[:, :-1].flatten(0, 1), idx[:, 1:].flatten())
    assert abs(float(loss) - math.log(65)) < 0.1
