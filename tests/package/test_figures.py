"""Every registered figure renders, and the attention figures take their documented arguments."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest
from matplotlib.figure import Figure

from transformer_atlas.figures import REGISTRY, figure, load_all
from transformer_atlas.figures.blocks.attention import (
    attention_heatmap,
    causal_and_padding_masks,
    dot_product_statistics,
    dot_product_variance,
)
from transformer_atlas.figures.blocks.logits_softmax import (
    softmax_temperatures,
)

ATTENTION_FIGURES = {
    "attention-heatmap",
    "attention-dot-product-variance",
    "logits-softmax-temperatures",
    "attention-causal-mask",
}


def _svg(fig: Figure) -> str:
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg")
    return buffer.getvalue()


def _check_labelled(fig: Figure) -> None:
    """At least one axes; every axes that draws data has a title and both axis labels."""
    axes = [ax for ax in fig.get_axes() if ax.get_label() != "<colorbar>"]
    assert axes, "figure has no axes"
    for ax in axes:
        assert ax.get_title(), f"axes without title in {fig}"
        assert ax.get_xlabel() and ax.get_ylabel(), f"axes {ax.get_title()!r} lacks an axis label"
    assert fig.get_facecolor()[:3] == (1.0, 1.0, 1.0)


def test_attention_figures_are_registered() -> None:
    assert ATTENTION_FIGURES <= set(load_all())


@pytest.mark.parametrize("name", sorted(load_all()))
def test_every_registered_figure_renders_to_svg(name: str) -> None:
    fig = REGISTRY[name]()
    assert isinstance(fig, Figure)
    svg = _svg(fig)
    assert svg.lstrip().startswith("<?xml") and "</svg>" in svg
    _check_labelled(fig)


def test_registering_a_name_twice_is_refused() -> None:
    with pytest.raises(ValueError, match="registered twice"):
        figure("attention-heatmap")(lambda: Figure())


def test_attention_heatmap_arguments() -> None:
    weights = np.array([[1.0, 0.0, 0.0], [0.5, 0.5, 0.0], [0.2, 0.3, 0.5]])
    fig = attention_heatmap(tokens=["a", "b", "c"], weights=weights, annotate=False, title="mine")
    ax = fig.get_axes()[0]
    assert ax.get_title() == "mine"
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "b", "c"]
    np.testing.assert_array_equal(ax.get_images()[0].get_array(), weights)
    default = attention_heatmap().get_axes()[0]
    labels = [t.get_text() for t in default.get_xticklabels()]
    assert labels == "the cat sat on the mat because it was tired".split()
    assert len(default.texts) == 100  # annotated cells
    with pytest.raises(ValueError, match=r"got 2 tokens"):
        attention_heatmap(tokens=["a", "b"], weights=weights)


def test_dot_product_variance_arguments_and_numbers() -> None:
    stats = dot_product_statistics(d_ks=(8, 128), n_samples=8000, seed=1)
    np.testing.assert_allclose(stats["var_raw"] / stats["d_k"], 1.0, atol=0.1)
    np.testing.assert_allclose(stats["var_scaled"], 1.0, atol=0.1)
    assert stats["max_weight_raw"][1] > stats["max_weight_raw"][0]  # saturation grows with d_k
    assert abs(stats["max_weight_scaled"][1] - stats["max_weight_scaled"][0]) < 0.05
    fig = dot_product_variance(d_ks=(2, 32), n_samples=500, n_keys=8)
    left = fig.get_axes()[0]
    np.testing.assert_array_equal(left.get_lines()[0].get_xdata(), [2, 32])
    _svg(fig)
    with pytest.raises(ValueError, match=r"d_ks must be positive integers, got \(0, 4\)"):
        dot_product_variance(d_ks=(0, 4))


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


def test_causal_mask_figure_arguments() -> None:
    fig = causal_and_padding_masks(seq_len=5, length=2)
    causal_ax, padding_ax = fig.get_axes()
    np.testing.assert_array_equal(causal_ax.get_images()[0].get_array(), np.tril(np.ones((5, 5))))
    padding = np.asarray(padding_ax.get_images()[0].get_array())
    assert padding[:, :2].all() and not padding[:, 2:].any()
    with pytest.raises(ValueError, match=r"seq_len=3, length=4"):
        causal_and_padding_masks(seq_len=3, length=4)
    assert math.isclose(fig.get_figwidth(), 6.0)
