"""Which files make each page: the guide's topics, part by part.

A topic is one page of the guide. Its files share the page's *stem* and
sit under its *part*, in every tree of the repository::

    docs/<part>/<slug>.md (or .py)       the page (slug: stem with hyphens)
    code/transformer_atlas/<part>/<stem>.py      the reference code
    code/transformer_atlas/figures/<part>/<stem>.py   its figures
    code/transformer_atlas/demos/<part>/<stem>.py     its demo
    code/transformer_atlas/benchmarks/<part>/<stem>.py  what make bench times
    tests/package/<part>/test_<stem>.py (+ test_<stem>_*.py)  its tests,
                                                page claims included

:data:`TOPICS` lists every topic in the order of the site's navigation,
with the modules it is made of (a topic may have more than one, listed
here) and the names of its figures. ``tests/package/test_manifest.py``
checks the manifest against the files in both directions: every file of
those trees belongs to a topic, and every topic has its page, tests and
the modules, figures and demo listed. The README's layout section and the
site's navigation are checked against it too.

``python -m transformer_atlas.manifest`` prints the layout table.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "PARTS",
    "Part",
    "Topic",
    "TOPICS",
    "SITE_PAGES",
    "COMMON",
    "PACKAGE_FILES",
    "topic",
    "layout_markdown",
]

PACKAGE_DIR = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Part:
    """A part of the guide: a folder of ``docs/`` and of the package."""

    name: str  # "blocks": the folder in docs/, code, figures, demos, tests
    title: str  # "Building blocks": the navigation section
    number: str  # "1": the curriculum's part number ("R" for reference)


PARTS: tuple[Part, ...] = (
    Part("foundations", "Foundations", "0"),
    Part("blocks", "Building blocks", "1"),
    Part("architecture", "The architecture", "2"),
    Part("families", "The family tree", "3"),
    Part("training", "Training", "4"),
    Part("inference", "Inference", "5"),
    Part("reference", "Reference", "R"),
)
_PART_NAMES = tuple(p.name for p in PARTS)


@dataclass(frozen=True)
class Topic:
    """One page of the guide and the files that make it."""

    part: str  # a Part's name
    stem: str  # "positional_encoding"
    title: str  # the page's title in the navigation
    number: str  # the curriculum's number ("1.3")
    notebook: bool = False  # the page is a jupytext notebook (.py)
    extra_modules: tuple[str, ...] = ()  # more modules, relative to part/
    has_module: bool = True  # False for pages with no code of their own
    figures: tuple[str, ...] = ()  # registered figure names
    demo: bool = False  # demos/<part>/<stem>.py exists
    benchmark: bool = False  # benchmarks/<part>/<stem>.py exists

    def __post_init__(self) -> None:
        if self.part not in _PART_NAMES:
            raise ValueError(
                f"topic {self.stem!r}: part must be one of {_PART_NAMES}, "
                f"got {self.part!r}"
            )
        slug = self.slug
        for name in self.figures:
            if not name.startswith(slug + "-"):
                raise ValueError(
                    f"topic {self.stem!r}: figure names start with the "
                    f"page's slug {slug + '-'!r}, got {name!r}"
                )

    @property
    def slug(self) -> str:
        """The page's file name without suffix: the stem with hyphens."""
        return self.stem.replace("_", "-")

    @property
    def page(self) -> str:
        """The page, relative to ``docs/``."""
        return f"{self.part}/{self.slug}.{'py' if self.notebook else 'md'}"

    @property
    def url(self) -> str:
        """The page's address relative to the site's root."""
        return f"{self.part}/{self.slug}/"

    @property
    def modules(self) -> tuple[str, ...]:
        """The topic's modules, relative to the package directory.

        ``<part>/<stem>.py`` (or the package ``<part>/<stem>/``) first,
        then the extra modules.
        """
        own: tuple[str, ...] = ()
        if self.has_module:
            package = PACKAGE_DIR / self.part / self.stem
            own = (
                f"{self.part}/{self.stem}/"
                if package.is_dir()
                else f"{self.part}/{self.stem}.py",
            )
        return own + tuple(f"{self.part}/{m}" for m in self.extra_modules)

    @property
    def figure_module(self) -> str | None:
        """``figures/<part>/<stem>.py`` if the topic has figures."""
        return f"figures/{self.part}/{self.stem}.py" if self.figures else None

    @property
    def demo_module(self) -> str | None:
        """``demos/<part>/<stem>.py`` if the topic has a demo."""
        return f"demos/{self.part}/{self.stem}.py" if self.demo else None

    @property
    def benchmark_module(self) -> str | None:
        """``benchmarks/<part>/<stem>.py`` if ``make bench`` measures it."""
        return (
            f"benchmarks/{self.part}/{self.stem}.py"
            if self.benchmark
            else None
        )

    @property
    def demo_name(self) -> str | None:
        """``python -m transformer_atlas demo <name>``, if there is one."""
        return self.slug if self.demo else None

    @property
    def tests(self) -> str:
        """The glob of its tests, relative to the repository's root."""
        return f"tests/package/{self.part}/test_{self.stem}*.py"


def _t(part: str, stem: str, title: str, number: str, **kw: object) -> Topic:
    return Topic(part, stem, title, number, **kw)  # type: ignore[arg-type]


#: Every topic, in the order of the site's navigation.
TOPICS: tuple[Topic, ...] = (
    # Part 0: foundations
    _t(
        "foundations",
        "landscape",
        "The LLM landscape",
        "0.1",
        has_module=False,
        figures=("landscape-transformer-overview",),
    ),
    _t(
        "foundations",
        "linear_algebra",
        "Linear algebra",
        "0.2",
        figures=("linear-algebra-projection",),
        demo=True,
    ),
    _t(
        "foundations",
        "probability",
        "Probability and information",
        "0.3",
        figures=("probability-entropy",),
        demo=True,
    ),
    _t(
        "foundations",
        "calculus",
        "Calculus and Jacobians",
        "0.4",
        figures=("calculus-chain-rule",),
        demo=True,
    ),
    _t(
        "foundations",
        "tensors",
        "Notebook: tensors in practice",
        "0.5",
        notebook=True,
        figures=("tensors-broadcasting",),
        demo=True,
    ),
    _t(
        "foundations",
        "neural_networks",
        "Neural networks",
        "0.6",
        figures=("neural-networks-perceptron", "neural-networks-xor"),
        demo=True,
    ),
    _t(
        "foundations",
        "mlp",
        "The MLP step by step",
        "0.7",
        figures=("mlp-circles",),
        demo=True,
    ),
    _t(
        "foundations",
        "rnn",
        "The RNN step by step",
        "0.8",
        figures=("rnn-gradient-norms", "rnn-unrolled"),
        demo=True,
    ),
    # Part 1: building blocks
    _t(
        "blocks",
        "tokenization",
        "Tokenization",
        "1.1",
        figures=("tokenization-compression", "tokenization-segments"),
        demo=True,
        benchmark=True,
    ),
    _t(
        "blocks",
        "embeddings",
        "Embeddings",
        "1.2",
        figures=("embeddings-pca", "embeddings-similarity"),
        demo=True,
    ),
    _t(
        "blocks",
        "logits_softmax",
        "Logits and softmax",
        "1.7",
        figures=("logits-softmax-temperatures",),
    ),
    _t(
        "blocks",
        "attention",
        "Attention",
        "1.4",
        figures=(
            "attention-causal-mask",
            "attention-dot-product-variance",
            "attention-heatmap",
        ),
        demo=True,
    ),
    _t(
        "blocks",
        "attention_walkthrough",
        "Notebook: attention step by step",
        "1.4",
        notebook=True,
    ),
    _t(
        "blocks",
        "positional_encoding",
        "Positional encoding",
        "1.3",
        figures=(
            "positional-encoding-extrapolation",
            "positional-encoding-schemes",
        ),
        demo=True,
    ),
    _t(
        "blocks",
        "feed_forward",
        "Feed-forward and activations",
        "1.5",
        extra_modules=("activations.py",),
        figures=("feed-forward-activations",),
        demo=True,
    ),
    _t(
        "blocks",
        "normalization",
        "Normalization and residuals",
        "1.6",
        extra_modules=("residual.py",),
        figures=("normalization-gradient-norms", "normalization-stream-norms"),
        demo=True,
    ),
    # Part 2: the architecture
    _t(
        "architecture",
        "decoder",
        "The decoder block",
        "2.2",
        figures=("decoder-causal-mask",),
        demo=True,
    ),
    # Part 3: the family tree
    _t(
        "families",
        "decoder_only",
        "Decoder-only models: GPT and LLaMA",
        "3.2",
        extra_modules=("hf_interop.py",),
        figures=("decoder-only-parameter-breakdown",),
        demo=True,
    ),
    # Part 4: training
    _t(
        "training",
        "dynamics",
        "Training dynamics",
        "4.1",
        extra_modules=("attention_backward.py",),
        figures=(
            "dynamics-init-depth",
            "dynamics-loss-curves",
            "dynamics-lr-schedule",
        ),
        demo=True,
    ),
    _t(
        "training",
        "tiny_gpt",
        "Notebook: train a tiny GPT",
        "4.1",
        notebook=True,
        benchmark=True,
    ),
    # Part 5: inference
    _t(
        "inference",
        "generation",
        "Generation and its bottleneck",
        "5.1",
        figures=("generation-batch-scaling", "generation-time-per-token"),
        demo=True,
        benchmark=True,
    ),
    _t(
        "inference",
        "kv_cache",
        "KV caching",
        "5.2",
        figures=("kv-cache-speedup",),
        benchmark=True,
    ),
    _t(
        "inference",
        "sampling",
        "Sampling",
        "5.3",
        extra_modules=("sampling_examples.py",),
        figures=("sampling-filters", "sampling-nucleus-adapts"),
        demo=True,
    ),
    # Reference
    _t("reference", "math", "Math quick reference", "R.2", has_module=False),
    _t(
        "reference",
        "pytorch",
        "PyTorch reference",
        "0.9",
        figures=("pytorch-loss",),
        demo=True,
        benchmark=True,
    ),
)

#: Pages of the site that are not topics: the home page, the conventions
#: (read once, used everywhere) and the glossary (generated from
#: ``docs/_data/glossary.yml``).
SITE_PAGES: tuple[str, ...] = (
    "index.md",
    "conventions.md",
    "reference/glossary.md",
)

#: Shared machinery, used by every part; relative to the package directory.
COMMON: dict[str, str] = {
    "common/validation.py": "input checks that raise a ValueError naming "
    "what was expected and what came",
    "common/threads.py": "how many CPU threads torch uses, for a block",
    "common/data.py": "corpora, the character tokenizer, train/val split "
    "and batches",
    "common/download.py": "cached, checksummed, atomic downloads",
    "common/checkpoint.py": "safetensors checkpoints that never unpickle",
    "common/timing.py": "robust summaries of measured times",
}

#: The package's own machinery: registries, the command line, this file.
PACKAGE_FILES: dict[str, str] = {
    "__init__.py": "the package",
    "__main__.py": "python -m transformer_atlas",
    "common/__init__.py": "the shared machinery",
    "cli.py": "the command line: demo, figure, bench, train, generate",
    "manifest.py": "this map of topics to files",
    "figures/__init__.py": "the figure registry (@figure)",
    "figures/_style.py": "the look every figure shares",
    "demos/__init__.py": "demo discovery and run_demo",
    "benchmarks/__init__.py": "the benchmarks make bench runs",
}


def topic(stem_or_slug: str) -> Topic:
    """The topic with this stem (``kv_cache``) or slug (``kv-cache``)."""
    stem = stem_or_slug.replace("-", "_")
    for t in TOPICS:
        if t.stem == stem:
            return t
    raise ValueError(
        f"no topic {stem_or_slug!r}; topics: "
        + ", ".join(t.slug for t in TOPICS)
    )


def layout_markdown() -> str:
    """The README's layout table: every topic and the files that make it."""
    rows = [
        "| part | page | code (`code/transformer_atlas/`) | figures | demo |",
        "|---|---|---|---|---|",
    ]
    for part in PARTS:
        for t in (t for t in TOPICS if t.part == part.name):
            code = ", ".join(f"`{m}`" for m in t.modules) or "none"
            figures = str(len(t.figures)) if t.figures else ""
            demo = f"`{t.demo_name}`" if t.demo else ""
            rows.append(
                f"| {part.number} {part.title} | `docs/{t.page}` | {code} | "
                f"{figures} | {demo} |"
            )
    return "\n".join(rows)


if __name__ == "__main__":
    print(layout_markdown())
