"""Command line: ``python -m transformer_atlas`` or ``transformer-atlas``.

``transformer-atlas`` is the script installed with the package.
Subcommands::

    demo NAME               run a demo (e.g. ``demo attention``)
    demo --list             list the demos with a one-line description
    demos                   the same as ``demo --list``
    figure NAME --out PATH  render a registered figure to PATH
                            (.svg, .png or .pdf)
    figure --list           list the registered figures
    bench bpe               time BPE training: a 1,024-token vocabulary
                            on ~1 MB of the standard library's source
                            (--vocab-size N, --max-bytes N)

Exit codes: 0 on success, 2 on a usage error (unknown demo or figure, missing
``--out``, unsupported file type, bad ``bench`` sizes), with a message on
standard error that lists the valid choices.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

__all__ = ["main", "build_parser"]

FIGURE_FORMATS = ("svg", "png", "pdf")


class _UsageError(Exception):
    """A usage error found after parsing; reported on stderr, exit code 2."""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of :func:`main`."""
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
        help="time a reference implementation (bpe: BPE training)",
    )
    bench.add_argument("what", choices=["bpe"], help="what to time")
    bench.add_argument(
        "--vocab-size",
        type=int,
        default=1024,
        help="vocabulary size to train (default: 1024, i.e. 768 merges)",
    )
    bench.add_argument(
        "--max-bytes",
        type=int,
        default=1_000_000,
        help="bytes of standard-library source to train on "
        "(default: 1000000)",
    )
    return parser


def _list_demos() -> str:
    from transformer_atlas.demos import DEMOS

    width = max(len(name) for name in DEMOS)
    return "\n".join(
        f"{name.ljust(width)}  {desc}"
        for name, (desc, _) in sorted(DEMOS.items())
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
    from transformer_atlas.demos import DEMOS

    if args.list:
        print(_list_demos())
        return 0
    if args.name is None:
        raise _UsageError(
            "demo: give a demo name; "
            f"available demos: {', '.join(sorted(DEMOS))}"
        )
    if args.name not in DEMOS:
        raise _UsageError(
            f"demo: unknown demo {args.name!r}; "
            f"available demos:\n{_list_demos()}"
        )
    DEMOS[args.name][1]()
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
    from transformer_atlas.tokenization.bench import bench_bpe, format_bench

    if args.vocab_size < 256 or args.max_bytes < 1:
        raise _UsageError(
            "bench: need --vocab-size >= 256 and --max-bytes >= 1, "
            f"got --vocab-size {args.vocab_size}, "
            f"--max-bytes {args.max_bytes}"
        )
    print(format_bench(bench_bpe(args.vocab_size, args.max_bytes)))
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the command line with ``argv``; return the exit code.

    ``argv`` defaults to ``sys.argv[1:]``.
    """
    parser = build_parser()
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
        parser.print_help()
        return 0
    except _UsageError as error:
        print(f"{parser.prog}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
