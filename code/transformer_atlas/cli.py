"""Command line: ``python -m transformer_atlas`` or ``transformer-atlas``.

``transformer-atlas`` is the script installed with the package.
Subcommands::

    demo NAME               run a demo (e.g. ``demo attention``)
    demo --list             list the demos with a one-line description
    demos                   the same as ``demo --list``
    figure NAME --out PATH  render a registered figure to PATH
                            (.svg, .png or .pdf)
    figure --list           list the registered figures
    bench NAME              run the benchmark of page NAME (``bench
                            kv-cache``, ``bench tokenization``, ``bench
                            tiny-gpt``, ``bench generation``) and print its
                            report; its sizes are options (bench NAME -h),
                            ``--quick`` runs tiny sizes
    train gpt               train a GPT (default: on the standard
                            library's source; --corpus, --iters, --resume,
                            --out-dir; see train gpt -h)
    generate                stream text from a checkpoint (--prompt,
                            --temperature, --top-k, --top-p, --num-beams)

Exit codes: 0 on success, 2 on a usage error (unknown demo or figure, missing
``--out``, unsupported file type, unknown benchmark, bad ``bench`` sizes),
with a message on standard error that lists the valid choices.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

__all__ = ["main", "build_parser"]

FIGURE_FORMATS = ("svg", "png", "pdf")


class _UsageError(Exception):
    """A usage error found after parsing; reported on stderr, exit code 2."""


def _corpus_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--corpus",
        default="stdlib",
        help="stdlib (the standard library's source, no download), "
        "shakespeare (downloaded once, checksummed) or a text file "
        "(default: stdlib)",
    )
    parser.add_argument(
        "--max-bytes",
        type=int,
        default=1_000_000,
        help="bytes of the corpus to use (default: 1000000)",
    )


def _train_config_arguments(parser: argparse.ArgumentParser) -> None:
    """One ``--option`` per field of ``TrainConfig``, default None (unset).

    The type comes from the field's default (``--betas`` takes two
    numbers), the help from ``TRAIN_CONFIG_HELP``.
    """
    from dataclasses import fields

    from transformer_atlas.training.tiny_gpt import (
        OPTIMIZERS,
        TRAIN_CONFIG_HELP,
        TrainConfig,
    )

    for f in fields(TrainConfig):
        kwargs: dict = {
            "help": f"{TRAIN_CONFIG_HELP[f.name]} (default: {f.default})",
            "dest": f.name,
        }
        if isinstance(f.default, tuple):
            kwargs.update(nargs=len(f.default), type=type(f.default[0]))
        elif f.name == "optimizer":
            kwargs["choices"] = OPTIMIZERS
        else:
            kwargs["type"] = type(f.default)
        parser.add_argument("--" + f.name.replace("_", "-"), **kwargs)


def _bench_arguments(bench: argparse.ArgumentParser) -> None:
    """One sub-command per benchmark, named by its page's slug.

    Its options are ``--quick`` and one ``--option`` per keyword-only
    argument of the module's ``run``, typed by its default.
    """
    import inspect

    from transformer_atlas import benchmarks

    benches = bench.add_subparsers(dest="what", metavar="NAME", required=True)
    for stem in benchmarks.benchmark_modules():
        module = benchmarks.load(stem)
        doc = (module.__doc__ or stem).strip()
        b = benches.add_parser(
            stem.replace("_", "-"),
            help=doc.splitlines()[0],
            description=doc.split("\n\n")[0],
        )
        b.add_argument(
            "--quick",
            action="store_true",
            help="tiny sizes that run in seconds (to check it works)",
        )
        for p in inspect.signature(module.run).parameters.values():
            if p.kind is not p.KEYWORD_ONLY:
                continue
            kind = type(p.default)
            kwargs: dict = {
                "dest": p.name,
                "default": p.default,
                "help": f"default: {p.default}",
            }
            if kind is bool:
                kwargs["action"] = argparse.BooleanOptionalAction
            else:
                kwargs["type"] = kind
            b.add_argument("--" + p.name.replace("_", "-"), **kwargs)


def build_parser(
    train_options: bool = True, bench_options: bool = True
) -> argparse.ArgumentParser:
    """The argument parser of :func:`main`.

    ``train_options=False`` leaves out ``train gpt``'s options, which come
    from ``TrainConfig`` and so import torch, and ``bench_options=False``
    the benchmarks' sub-commands, which import their modules: other
    commands start faster.
    """
    parser = argparse.ArgumentParser(
        prog="transformer-atlas",
        description=(
            "Transformer Atlas: run the guide's demos and render its figures."
        ),
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    demo = sub.add_parser("demo", help="run a demo, or list them with --list")
    demo.add_argument("name", nargs="?", help="the demo to run (see --list)")
    demo.add_argument(
        "--list", action="store_true", help="list the demos and exit"
    )

    sub.add_parser("demos", help="list the demos with a one-line description")

    fig = sub.add_parser(
        "figure", help="render a figure of the guide, or list them with --list"
    )
    fig.add_argument(
        "name", nargs="?", help="the figure to render (see --list)"
    )
    fig.add_argument(
        "--out",
        type=Path,
        help="output file; format from its extension: "
        + ", ".join(f".{f}" for f in FIGURE_FORMATS),
    )
    fig.add_argument(
        "--list", action="store_true", help="list the figures and exit"
    )

    bench = sub.add_parser(
        "bench",
        help="run a benchmark and print its report (see bench -h)",
        description="Run one of the benchmarks `make bench` records, by "
        "the slug of the page that shows it, and print its report (nothing "
        "is saved).",
    )
    if bench_options:
        _bench_arguments(bench)
    else:
        bench.add_argument("what", metavar="NAME")

    tr = sub.add_parser(
        "train",
        help="train a model (train gpt -h)",
        description="Train a GPT. Every option is a field of "
        "transformer_atlas.training.tiny_gpt.TrainConfig; unset options "
        "take its defaults: nanoGPT's baby GPT (4 layers, 4 heads, d_model "
        "128, context 64, batch 12, 2000 iterations, lr 1e-3 -> 1e-4, "
        "seed 1337).",
    )
    tr.add_argument("model", choices=["gpt"], help="what to train")
    tr.add_argument(
        "--out-dir",
        type=Path,
        default=Path("runs/gpt"),
        help="checkpoint and loss curve go here (default: runs/gpt)",
    )
    tr.add_argument(
        "--resume",
        action="store_true",
        help="continue from the checkpoint in --out-dir",
    )
    if train_options:
        _train_config_arguments(tr)
    tr.add_argument(
        "--no-progress", action="store_true", help="no progress bar"
    )

    gen = sub.add_parser(
        "generate", help="stream text from a trained checkpoint"
    )
    gen.add_argument(
        "--checkpoint",
        type=Path,
        default=Path("runs/gpt"),
        help="checkpoint file or run directory (default: runs/gpt)",
    )
    gen.add_argument(
        "--prompt", default="\n", help="text to continue (default: newline)"
    )
    gen.add_argument(
        "--max-new-tokens", type=int, default=300, help="default: 300"
    )
    gen.add_argument("--greedy", action="store_true", help="argmax decoding")
    gen.add_argument("--temperature", type=float, default=0.8)
    gen.add_argument("--top-k", type=int, default=None)
    gen.add_argument("--top-p", type=float, default=None)
    gen.add_argument("--repetition-penalty", type=float, default=1.0)
    gen.add_argument(
        "--num-beams",
        type=int,
        default=1,
        help="beam search with this many beams (no streaming)",
    )
    gen.add_argument("--seed", type=int, default=0)
    gen.add_argument(
        "--no-cache", action="store_true", help="recompute the prefix"
    )
    return parser


def _list_demos() -> str:
    from transformer_atlas.demos import discover

    demos = discover()
    width = max(len(name) for name in demos)
    return "\n".join(
        f"{name.ljust(width)}  {demo.summary}" for name, demo in demos.items()
    )


def _figures() -> dict:
    from transformer_atlas.figures import load_all

    return load_all()


def _list_figures() -> str:
    figures = _figures()
    width = max(len(name) for name in figures)
    lines = []
    for name, fn in sorted(figures.items()):
        doc = (fn.__doc__ or "").strip()
        summary = doc.splitlines()[0] if fn.__doc__ else ""
        lines.append(f"{name.ljust(width)}  {summary}")
    return "\n".join(lines)


def _run_demo(args: argparse.Namespace) -> int:
    from transformer_atlas.demos import UnknownDemoError, discover, run_demo

    if args.list:
        print(_list_demos())
        return 0
    if args.name is None:
        raise _UsageError(
            f"demo: give a demo name; available demos: {', '.join(discover())}"
        )
    try:
        run_demo(args.name)
    except UnknownDemoError:
        raise _UsageError(
            f"demo: unknown demo {args.name!r}; "
            f"available demos:\n{_list_demos()}"
        ) from None
    return 0


def _render_figure(args: argparse.Namespace) -> int:
    if args.list:
        print(_list_figures())
        return 0
    figures = _figures()
    names = ", ".join(sorted(figures))
    if args.name is None:
        raise _UsageError(
            f"figure: give a figure name; available figures: {names}"
        )
    if args.name not in figures:
        raise _UsageError(
            f"figure: unknown figure {args.name!r}; available figures: {names}"
        )
    if args.out is None:
        raise _UsageError(
            f"figure: --out PATH is required, e.g. --out {args.name}.svg"
        )
    fmt = args.out.suffix.lower().lstrip(".")
    if fmt not in FIGURE_FORMATS:
        suffixes = ", ".join("." + f for f in FIGURE_FORMATS)
        raise _UsageError(
            f"figure: --out must end in one of {suffixes}, "
            f"got {str(args.out)!r}"
        )
    import matplotlib

    matplotlib.use("Agg")
    fig = figures[args.name]()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, format=fmt, facecolor="white")
    print(f"wrote {args.out}")
    return 0


def _bench(args: argparse.Namespace) -> int:
    import inspect

    from transformer_atlas import benchmarks

    module = benchmarks.load(args.what)
    sizes = {
        name: getattr(args, name)
        for name, p in inspect.signature(module.run).parameters.items()
        if p.kind is p.KEYWORD_ONLY
    }
    try:
        results = module.run(quick=args.quick, **sizes)
    except ValueError as error:  # a size run() refuses
        raise _UsageError(f"bench {args.what}: {error}") from error
    print(f"Measured now{' (--quick)' * args.quick}: {benchmarks.machine()}")
    print()
    print(module.report(results).rstrip())
    return 0


def _train(args: argparse.Namespace) -> int:
    from dataclasses import fields

    from transformer_atlas.training.tiny_gpt import TrainConfig, train

    names = {f.name for f in fields(TrainConfig)}
    given = {
        k: tuple(v) if isinstance(v, list) else v
        for k, v in vars(args).items()
        if k in names and v is not None
    }
    try:
        cfg = TrainConfig(**given)
    except ValueError as error:
        raise _UsageError(f"train: {error}") from error
    print(
        f"training a GPT on {cfg.corpus} ({cfg.max_bytes:,} bytes): "
        f"{cfg.n_layers} layers, {cfg.n_heads} heads, d_model "
        f"{cfg.d_model}, context {cfg.block_size}; {cfg.iters} iterations, "
        f"seed {cfg.seed}; checkpoints in {args.out_dir}"
    )

    def report(row: dict[str, float]) -> None:
        print(
            f"step {row['step']:>6}: train loss {row['train_loss']:.4f}, "
            f"val loss {row['val_loss']:.4f}, lr {row['lr']:.2e}",
            flush=True,
        )

    result = train(
        cfg,
        args.out_dir,
        resume=args.resume,
        progress=not args.no_progress,
        on_eval=report,
    )
    from transformer_atlas.figures.training.tiny_gpt import loss_curve

    figure_path = args.out_dir / "loss.svg"
    loss_curve(result.history).savefig(figure_path, facecolor="white")
    print(
        f"median {result.ms_per_iter:.1f} ms/iteration "
        f"({result.tokens_per_second:,.0f} tokens/s); "
        f"checkpoint {result.checkpoint}; loss curve {figure_path}"
    )
    print(
        "sample it: python -m transformer_atlas generate "
        f"--checkpoint {args.out_dir}"
    )
    return 0


def _generate(args: argparse.Namespace) -> int:
    import torch

    from transformer_atlas.inference.generation import generate, generate_beam
    from transformer_atlas.training.tiny_gpt import load_model

    model, tokenizer, _ = load_model(args.checkpoint)
    try:
        prompt = torch.tensor([tokenizer.encode(args.prompt)])
    except ValueError as error:
        raise _UsageError(f"generate: {error}") from error
    room = model.config.max_seq_len - prompt.shape[1]
    new = args.max_new_tokens
    if args.num_beams > 1:
        best = generate_beam(model, prompt[0], new, args.num_beams)
        print(tokenizer.decode(best.tolist()))
        return 0
    use_cache = not args.no_cache and new <= room
    sys.stdout.write(args.prompt)

    def stream(token: torch.Tensor) -> None:
        sys.stdout.write(tokenizer.decode(token.tolist()))
        sys.stdout.flush()

    generate(
        model,
        prompt,
        new,
        greedy=args.greedy,
        temperature=args.temperature,
        top_k=args.top_k,
        top_p=args.top_p,
        repetition_penalty=args.repetition_penalty,
        use_cache=use_cache,
        generator=torch.Generator().manual_seed(args.seed),
        on_token=stream,
    )
    sys.stdout.write("\n")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the command line with ``argv``; return the exit code.

    ``argv`` defaults to ``sys.argv[1:]``.
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(
        train_options=argv[:1] == ["train"],
        bench_options=argv[:1] == ["bench"],
    )
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # --help (0) or an argparse usage error (2)
        return int(exit_.code or 0)
    try:
        if args.command == "demo":
            return _run_demo(args)
        if args.command == "demos":
            print(_list_demos())
            return 0
        if args.command == "figure":
            return _render_figure(args)
        if args.command == "bench":
            return _bench(args)
        if args.command == "train":
            return _train(args)
        if args.command == "generate":
            return _generate(args)
        parser.print_help()
        return 0
    except _UsageError as error:
        print(f"{parser.prog}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
