"""The ``replay-sampler`` command line (also ``python -m replay_sampler``)."""

from __future__ import annotations

import argparse
import pathlib
import runpy
import sys
from typing import Sequence


class CLIError(Exception):
    """A user error: printed without a traceback, exit status 2."""


def _repo_benchmarks() -> pathlib.Path:
    here = pathlib.Path(__file__).resolve().parent.parent / "benchmarks"
    if not (here / "bench_advance.py").is_file():
        raise CLIError(
            "the benchmarks live in the source checkout (benchmarks/); run this from a "
            "clone installed with 'pip install -e .'"
        )
    return here


def cmd_bench(args: argparse.Namespace) -> int:
    folder = _repo_benchmarks()
    sys.path.insert(0, str(folder))
    argv = ["--quick"] if args.quick else []
    saved = sys.argv
    sys.argv = [str(folder / "bench_advance.py"), *argv]
    try:
        runpy.run_path(str(folder / "bench_advance.py"), run_name="__main__")
    except SystemExit as exc:
        return int(exc.code or 0)
    finally:
        sys.argv = saved
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="replay-sampler",
        description="Resume PyTorch training at any epoch with the data order and random "
        "stream of an uninterrupted run.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    bench = sub.add_parser("bench", help="time advance() against stepping and numpy's jumped()")
    bench.add_argument("--quick", action="store_true", help="a small grid, under a minute")
    bench.set_defaults(func=cmd_bench)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except CLIError as exc:
        print(f"replay-sampler: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
