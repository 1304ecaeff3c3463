"""Figures for the decoder-only models page.

* ``decoder-only-parameter-breakdown``: where the parameters of GPT-2 small
  and LLaMA-2 7B live (token embeddings, positions, attention,
  feed-forward, norms, output head), as shares of each model's total,
  from :func:`~transformer_atlas.families.decoder_only.parameter_breakdown`.
"""

from __future__ import annotations

from collections.abc import Sequence

from matplotlib.figure import Figure

from transformer_atlas.families.decoder_only import (
    PARTS,
    GPTConfig,
    gpt2_config,
    llama_config,
    parameter_breakdown,
)
from transformer_atlas.figures import figure
from transformer_atlas.figures._style import (
    BLUE,
    GREEN,
    INK,
    MUTED,
    ORANGE,
    new_figure,
    style_axes,
)

__all__ = ["DEFAULT_MODELS", "parameter_breakdown_figure"]

#: (label, config) pairs drawn by default.
DEFAULT_MODELS: tuple[tuple[str, GPTConfig], ...] = (
    ("GPT-2 small", gpt2_config()),
    ("LLaMA-2 7B", llama_config()),
)

COLORS = {
    "token embeddings": BLUE,
    "positions": "#8fb3de",
    "attention": ORANGE,
    "feed-forward": GREEN,
    "norms": INK,
    "output head": "#7b5ea7",
}


def _millions(n: int) -> str:
    return f"{n / 1e9:.2f}B" if n >= 1e9 else f"{n / 1e6:.1f}M"


@figure("decoder-only-parameter-breakdown")
def parameter_breakdown_figure(
    models: Sequence[tuple[str, GPTConfig]] = DEFAULT_MODELS,
    min_label: float = 4.0,
) -> Figure:
    """Stacked 100 % bars: each model's parameters by part.

    Args:
        models: ``(label, GPTConfig)`` pairs, one bar each.
        min_label: write a part's percentage inside its segment only when
            it is at least this many percent (small parts are listed in the
            legend only).
    """
    models = list(models)
    if not models:
        raise ValueError("models must name at least one (label, config)")
    fig = new_figure((8.0, 1.2 + 0.75 * len(models)))
    ax = fig.add_subplot()
    labelled: set[str] = set()
    for row, (label, config) in enumerate(models):
        parts = parameter_breakdown(config)
        total = sum(parts.values())
        left = 0.0
        for part in PARTS:
            share = 100.0 * parts[part] / total
            if share == 0.0:
                continue
            ax.barh(
                row,
                share,
                left=left,
                height=0.6,
                color=COLORS[part],
                label=None if part in labelled else part,
            )
            labelled.add(part)
            if share >= min_label:
                ax.text(
                    left + share / 2,
                    row,
                    f"{share:.0f}%",
                    ha="center",
                    va="center",
                    fontsize=8,
                    color="white",
                )
            left += share
        ax.text(
            101.0,
            row,
            _millions(total),
            ha="left",
            va="center",
            fontsize=8,
            color=INK,
        )
    ax.set_yticks(range(len(models)), [m[0] for m in models])
    ax.invert_yaxis()
    ax.set_xlim(0.0, 112.0)
    ax.set_xticks([0, 25, 50, 75, 100])
    ax.set_xlabel("share of all parameters (%); total at the right")
    ax.set_ylabel("model")
    ax.set_title("Where the parameters live")
    ax.legend(
        ncols=3,
        fontsize=7,
        frameon=False,
        labelcolor=INK,
        loc="upper center",
        bbox_to_anchor=(0.5, -0.3),
    )
    for spine in ("top", "right"):
        ax.spines[spine].set_color("white")
    style_axes(ax)
    ax.spines["left"].set_color(MUTED)
    return fig
