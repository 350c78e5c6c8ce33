"""The ``replay-sampler`` command line (also ``python -m replay_sampler``).

Commands: ``demo`` (the main job), ``reconstruct``, ``explain``, ``bench``.
Bad arguments print one line and exit with status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import pathlib
import sys
from collections.abc import Sequence
from typing import Any

from ..core import CUDA_OFFSET_STEP, Draws, Loader, Run, Split, TorchProfile
from ..core._checks import multiple

DESCRIPTION_HELP = """\
A run is described by its seed, its prologue and what each epoch draws:

  --seed 1 --split 1806:0.8,0.2 --prologue-draws 1234 \\
  --loader train=1445,shuffle --loader test=361 --epoch-draws 184960

or, for the original write-up's loop (seed_everything, random_split of the
dataset into [p, 1 - p], a shuffled train loader and a plain test loader):

  --preset writeup --seed 1 --dataset-size 1806 --train-portion 0.8

Loader options, comma-separated after SIZE: shuffle, replacement, samples=K,
persistent (persistent workers), own-sampler-generator (RandomSampler got its
own generator), own-loader-generator (DataLoader(generator=...)).

GPU randomness (dropout, augmentation on CUDA): the Philox offset units the
prologue and one epoch advanced each device's generator, comma-separated in
device order, as replay_sampler.measure_cuda_offsets measured them on the
run's GPU model:

  --cuda-prologue-offsets P0,P1 --cuda-epoch-offsets N0,N1
"""


class CLIError(Exception):
    """A user error: printed without a traceback, exit status 2."""


def _int(text: str, what: str) -> int:
    try:
        value = int(text.replace("_", ""))
    except ValueError:
        raise CLIError(f"{what} must be an integer, got {text!r}") from None
    if value < 0:
        raise CLIError(f"{what} must be >= 0, got {value}")
    return value


def _fractions(text: str, what: str) -> tuple[float, ...]:
    try:
        values = tuple(float(x) if "." in x else int(x) for x in text.split(","))
    except ValueError:
        raise CLIError(f"{what} must be comma-separated numbers, got {text!r}") from None
    if not values:
        raise CLIError(f"{what} is empty")
    return values


def _split(text: str):

    size, sep, lengths = text.partition(":")
    if not sep:
        raise CLIError(f"--split must look like SIZE:LENGTHS, e.g. 1806:0.8,0.2, got {text!r}")
    try:
        return Split(_int(size, "--split size"), _fractions(lengths, "--split lengths"))
    except (ValueError, TypeError) as exc:
        raise CLIError(f"--split {text}: {exc}") from None


def _loader(text: str):

    label, sep, rest = text.partition("=")
    if not sep or not label:
        raise CLIError(f"--loader must look like NAME=SIZE[,options], e.g. train=1445,shuffle; got {text!r}")
    size, *options = rest.split(",")
    kwargs: dict[str, Any] = {"label": label, "size": _int(size, f"--loader {label} size")}
    for option in options:
        key, _, value = option.partition("=")
        if key == "shuffle":
            kwargs["shuffle"] = True
        elif key == "replacement":
            kwargs["replacement"] = kwargs["shuffle"] = True
        elif key == "samples":
            kwargs["num_samples"] = _int(value, f"--loader {label} samples")
        elif key == "persistent":
            kwargs["persistent_workers"] = True
        elif key == "own-sampler-generator":
            kwargs["sampler_generator"] = "own"
        elif key == "own-loader-generator":
            kwargs["loader_generator"] = "own"
        else:
            raise CLIError(
                f"--loader {label}: unknown option {option!r} (shuffle, replacement, samples=K, "
                "persistent, own-sampler-generator, own-loader-generator)"
            )
    try:
        return Loader(**kwargs)
    except (ValueError, TypeError) as exc:
        raise CLIError(f"--loader {text}: {exc}") from None


def _offsets(text: str | None, what: str) -> tuple[int, ...]:
    """Per-device offsets: comma-separated non-negative integers (None: none)."""
    if text is None:
        return ()
    values = [_int(part, f"{what} value") for part in text.split(",")]
    try:
        return tuple(multiple(v, f"{what} value {i}", CUDA_OFFSET_STEP) for i, v in enumerate(values))
    except ValueError as exc:
        raise CLIError(str(exc)) from None


def _run_from_args(args: argparse.Namespace):

    prologue: list[Any] = []
    loaders: list[Any] = []
    if args.preset == "writeup":
        if args.dataset_size is None or args.train_portion is None:
            raise CLIError("--preset writeup needs --dataset-size and --train-portion")
        if not 0 < args.train_portion < 1:
            raise CLIError(f"--train-portion must be between 0 and 1, got {args.train_portion}")
        fractions = (args.train_portion, 1 - args.train_portion)
        try:
            if TorchProfile.of(args.torch_version).split_accepts_fractions:
                split = Split(args.dataset_size, fractions)
            else:  # before 1.13 random_split took lengths only: int(p * N) and the rest
                train = int(args.train_portion * args.dataset_size)
                split = Split(args.dataset_size, (train, args.dataset_size - train))
            train, test = split.integer_lengths()
            loaders += [Loader(train, shuffle=True, label="train"), Loader(test, label="test")]
        except (ValueError, TypeError) as exc:
            raise CLIError(f"--preset writeup: {exc}") from None
        prologue.append(split)
    elif args.dataset_size is not None or args.train_portion is not None:
        raise CLIError("--dataset-size and --train-portion go with --preset writeup")
    prologue += [_split(text) for text in args.split]
    prologue += [Draws(_int(text, "--prologue-draws"), "prologue draws") for text in args.prologue_draws]
    loaders += [_loader(text) for text in args.loader]
    seeded = tuple(x for x in args.seeded.split(",") if x)
    try:
        run = Run(
            seed=args.seed, seeded=seeded, prologue=tuple(prologue), loaders=tuple(loaders),
            epoch_draws=args.epoch_draws, numpy_epoch_draws=args.numpy_epoch_draws,
            random_epoch_draws=args.random_epoch_draws, torch_version=args.torch_version,
            first_epoch=args.first_epoch,
            cuda_prologue_offsets=_offsets(args.cuda_prologue_offsets, "--cuda-prologue-offsets"),
            cuda_epoch_offsets=_offsets(args.cuda_epoch_offsets, "--cuda-epoch-offsets"),
        )
        run.check_epoch(args.epoch)
    except (ValueError, TypeError) as exc:
        raise CLIError(str(exc)) from None
    return run


def cmd_explain(args: argparse.Namespace) -> int:
    run = _run_from_args(args)
    print(run.explain(args.epoch))
    return 0


def cmd_reconstruct(args: argparse.Namespace) -> int:
    from ..runs._states import LIMITS, check, reconstruct

    run = _run_from_args(args)
    states = reconstruct(run, args.epoch)
    print(run.explain(args.epoch))
    if args.check is not None:
        saved = _load_checkpoint(args.check)
        try:
            findings = check(run, args.epoch, saved)
        except (ValueError, TypeError) as exc:
            raise CLIError(f"--check {args.check}: {exc}") from None
        print()
        if not findings:
            print(f"{args.check}: holds no RNG state to check against")
        for finding in findings:
            print(("agrees   " if finding.agrees else "CONTRADICTS ") + finding.message)
        if any(not f.agrees for f in findings):
            print("the description contradicts the checkpoint; nothing written")
            return 1
    if args.output is not None:
        states.save(args.output)
        print(f"\nwrote the states at the start of epoch {args.epoch} to {args.output} "
              "(keys torch_rng_state, numpy_rng_state, python_rng_state; torch.load(..., "
              "weights_only=True) reads it; replay_sampler.States.load(path).apply() restores)")
        if states.cuda is not None:
            print(f"  and cuda_rng_state_all: {len(states.cuda)} CUDA device states "
                  "(torch.cuda.set_rng_state_all takes them; apply() needs as many devices)")
    print("\nnot reconstructed:")
    for limit in LIMITS:
        print(f"  - {limit}")
    return 0


def _load_checkpoint(path: str) -> Any:
    import torch

    if not pathlib.Path(path).is_file():
        raise CLIError(f"--check: no such file: {path}")
    try:
        data = torch.load(path, weights_only=True)
    except Exception as exc:
        raise CLIError(f"--check: {path} is not a checkpoint torch can read safely ({exc})") from None
    if not isinstance(data, dict):
        raise CLIError(f"--check: {path} holds a {type(data).__name__}, not a checkpoint dict")
    return data


def cmd_demo(args: argparse.Namespace) -> int:
    from ._demo import main as demo

    return demo()


def _repo_benchmarks() -> pathlib.Path:
    here = pathlib.Path(__file__).resolve().parent.parent / "benchmarks"
    if not (here / "run_all.py").is_file():
        raise CLIError(
            "the benchmarks live in the source checkout (benchmarks/); run this from a "
            "clone installed with 'pip install -e .'"
        )
    return here


def cmd_bench(args: argparse.Namespace) -> int:
    import importlib.util

    folder = _repo_benchmarks()
    sys.path.insert(0, str(folder))
    spec = importlib.util.spec_from_file_location("replay_sampler_benchmarks", folder / "run_all.py")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return int(module.main(["--quick"] if args.quick else []) or 0)


def _description_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seed", type=int, required=True, help="the seed the run set")
    parser.add_argument("--epoch", type=int, required=True, help="the epoch to start at (from --first-epoch)")
    parser.add_argument("--seeded", default="torch,numpy,random",
                        help="generators seeded with it (default: torch,numpy,random)")
    parser.add_argument("--preset", choices=["writeup"], help="the original write-up's loop")
    parser.add_argument("--dataset-size", type=int, help="with --preset writeup")
    parser.add_argument("--train-portion", type=float, help="with --preset writeup")
    parser.add_argument("--split", action="append", default=[], metavar="SIZE:LENGTHS",
                        help="a random_split in the prologue, e.g. 1806:0.8,0.2 (repeatable)")
    parser.add_argument("--prologue-draws", action="append", default=[], metavar="N",
                        help="other global torch draws before the loop, e.g. model init (repeatable)")
    parser.add_argument("--loader", action="append", default=[], metavar="NAME=SIZE[,OPTS]",
                        help="a DataLoader iterated every epoch, in order (repeatable)")
    parser.add_argument("--epoch-draws", type=int, default=0, metavar="N",
                        help="other global torch draws per epoch (dropout on the CPU...)")
    parser.add_argument("--numpy-epoch-draws", type=int, default=0, metavar="N")
    parser.add_argument("--random-epoch-draws", type=int, default=0, metavar="N")
    parser.add_argument("--torch-version", help="torch release that made the run (default: installed)")
    parser.add_argument("--first-epoch", type=int, default=0, help="number of the loop's first epoch")
    parser.add_argument("--cuda-prologue-offsets", metavar="N[,N...]",
                        help="Philox offset units the prologue advanced each CUDA device by "
                        "(device order; measure_cuda_offsets)")
    parser.add_argument("--cuda-epoch-offsets", metavar="N[,N...]",
                        help="Philox offset units one epoch advanced each CUDA device by "
                        "(GPU dropout, augmentation; measure_cuda_offsets)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="replay-sampler",
        description="Resume PyTorch training at any epoch with the data order and random "
        "stream of an uninterrupted run.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    demo = sub.add_parser(
        "demo", help="train, resume mid-run in a fresh process, compare losses bit for bit",
        description="Train a small model with CPU dropout, save checkpoints without RNG state, "
        "resume at the tenth epoch in a fresh process with set_epoch and with the original "
        "write-up's model of the draws, and compare the losses. Exit 1 if ours differs.",
    )
    demo.set_defaults(func=cmd_demo)

    formatter = argparse.RawDescriptionHelpFormatter
    rec = sub.add_parser("reconstruct", help="write an old run's RNG states at an epoch to a file",
                         description="Compute, without replaying, the torch/numpy/random states "
                         "a described run had at the start of --epoch.\n\n" + DESCRIPTION_HELP,
                         formatter_class=formatter)
    _description_arguments(rec)
    rec.add_argument("--output", "-o", help="file to write (torch.save format)")
    rec.add_argument("--check", metavar="CHECKPOINT",
                     help="a checkpoint that saved some RNG state at --epoch: check the description")
    rec.set_defaults(func=cmd_reconstruct)

    exp = sub.add_parser("explain", help="print the draw plan of a described loop",
                         description="Print what a described run draws, step by step, and where "
                         "the generator stands at the start of --epoch.\n\n" + DESCRIPTION_HELP,
                         formatter_class=formatter)
    _description_arguments(exp)
    exp.set_defaults(func=cmd_explain)

    bench = sub.add_parser("bench", help="time the library against every way of resuming",
                           description="Run the benchmarks in benchmarks/ (source checkout).")
    bench.add_argument("--quick", action="store_true", help="a small grid, under a minute")
    bench.set_defaults(func=cmd_bench)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except CLIError as exc:
        parser.exit(2, f"replay-sampler: error: {exc}\n")
    except KeyboardInterrupt:
        parser.exit(130, "interrupted\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
