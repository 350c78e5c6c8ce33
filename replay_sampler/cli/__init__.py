"""The ``replay-sampler`` command line (also ``python -m replay_sampler``).

Commands: ``demo`` (the main job), ``reconstruct``, ``explain``, ``bench``.
Bad arguments print one line and exit with status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import sys
from collections.abc import Sequence
from typing import Any

from .._version import __version__
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


class _Parser(argparse.ArgumentParser):
    """argparse, with its errors on one line (no usage block) and exit status 2."""

    def error(self, message: str) -> Any:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _count_type(minimum: int) -> Any:
    """An argparse ``type``: an integer >= ``minimum`` (underscores allowed)."""
    expected = "a non-negative integer" if minimum == 0 else f"an integer >= {minimum}"

    def convert(text: str) -> int:
        try:
            value = int(text.replace("_", ""))
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {value}")
        return value

    convert.__name__ = expected  # what argparse names in its own messages
    return convert


def _portion(text: str) -> float:
    """An argparse ``type``: a number strictly between 0 and 1."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number between 0 and 1, got {text!r}") from None
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"expected a number strictly between 0 and 1, got {text}")
    return value


def _torch_version(text: str) -> str:
    """An argparse ``type``: a torch release this library has a profile for."""
    try:
        TorchProfile.of(text)
    except (ValueError, TypeError) as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def _int(text: str, what: str, minimum: int = 0) -> int:
    try:
        value = int(text.replace("_", ""))
    except ValueError:
        raise CLIError(f"{what} must be an integer, got {text!r}") from None
    if value < minimum:
        raise CLIError(f"{what} must be >= {minimum}, got {value}")
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
            kwargs["num_samples"] = _int(value, f"--loader {label} samples", 1)
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
            raise CLIError(
                f"--preset writeup --dataset-size {args.dataset_size} --train-portion "
                f"{args.train_portion}: {exc}"
            ) from None
        prologue.append(split)
    elif args.dataset_size is not None or args.train_portion is not None:
        raise CLIError("--dataset-size and --train-portion go with --preset writeup")
    prologue += [_split(text) for text in args.split]
    prologue += [Draws(_int(text, "--prologue-draws"), "prologue draws") for text in args.prologue_draws]
    loaders += [_loader(text) for text in args.loader]
    seeded = tuple(x for x in args.seeded.split(",") if x)
    try:
        Run(seed=args.seed, seeded=seeded)
    except (ValueError, TypeError) as exc:
        raise CLIError(f"--seed {args.seed} --seeded {args.seeded}: {exc}") from None
    try:
        run = Run(
            seed=args.seed, seeded=seeded, prologue=tuple(prologue), loaders=tuple(loaders),
            epoch_draws=args.epoch_draws, numpy_epoch_draws=args.numpy_epoch_draws,
            random_epoch_draws=args.random_epoch_draws, torch_version=args.torch_version,
            first_epoch=args.first_epoch,
            cuda_prologue_offsets=_offsets(args.cuda_prologue_offsets, "--cuda-prologue-offsets"),
            cuda_epoch_offsets=_offsets(args.cuda_epoch_offsets, "--cuda-epoch-offsets"),
        )
    except (ValueError, TypeError) as exc:
        raise CLIError(str(exc)) from None
    try:
        run.check_epoch(args.epoch)
    except (ValueError, TypeError) as exc:
        raise CLIError(f"--epoch {args.epoch}: {exc} (--first-epoch)") from None
    return run


def cmd_explain(args: argparse.Namespace) -> int:
    run = _run_from_args(args)
    print(run.explain(args.epoch))
    return 0


def cmd_reconstruct(args: argparse.Namespace) -> int:
    from ..runs._states import LIMITS, check, reconstruct

    run = _run_from_args(args)
    if args.output is not None:
        _check_output(args.output)
    saved = _load_checkpoint(args.check) if args.check is not None else None
    states = reconstruct(run, args.epoch)
    print(run.explain(args.epoch))
    if saved is not None:
        layout, found = saved
        try:
            findings = check(run, args.epoch, found)
        except (ValueError, TypeError) as exc:
            raise CLIError(f"--check {args.check}: {exc}") from None
        print(f"\n{args.check}: {layout}")
        if not findings:
            print(f"{args.check}: holds no RNG state to check against")
        for finding in findings:
            print(("agrees   " if finding.agrees else "CONTRADICTS ") + finding.message)
        if any(not f.agrees for f in findings):
            print("the description contradicts the checkpoint; nothing written")
            return 1
    if args.output is not None:
        try:
            states.save(args.output)
        except OSError as exc:
            raise CLIError(f"--output {args.output}: cannot write it ({exc.strerror or exc})") from None
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


def _check_output(path: str) -> None:
    """Refuse an --output that cannot be written, before anything is computed."""
    target = pathlib.Path(path)
    folder = target.parent
    if target.is_dir():
        raise CLIError(f"--output {path} is a folder; expected the name of a file to write")
    if not folder.is_dir():
        raise CLIError(f"--output {path}: the folder {folder} does not exist; create it first")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise CLIError(f"--output {path}: the folder {folder} is not writable")
    if target.exists() and not target.is_file():
        raise CLIError(f"--output {path} exists and is not a regular file")


def _load_checkpoint(path: str) -> tuple[str, dict[str, Any]]:
    """``--check``'s file: its layout and the generator states it holds."""
    from ..core._errors import CorruptStateError, ForeignStateError
    from ..runs._states import saved_states

    p = pathlib.Path(path)
    if p.is_dir():
        raise CLIError(f"--check {path} is a folder; expected a checkpoint file")
    if not p.is_file():
        raise CLIError(f"--check: no such file: {path}")
    if not os.access(p, os.R_OK):
        raise CLIError(f"--check {path}: the file is not readable (permission denied)")
    try:
        return saved_states(path, "--check")
    except (CorruptStateError, ForeignStateError) as exc:
        raise CLIError(f"--check: {exc}") from None
    except (ValueError, TypeError) as exc:
        raise CLIError(f"--check {path}: {exc}") from None
    except OSError as exc:
        raise CLIError(f"--check {path}: cannot read it ({exc.strerror or exc})") from None


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
    count, positive = _count_type(0), _count_type(1)
    parser.add_argument("--seed", type=int, required=True, help="the seed the run set")
    parser.add_argument("--epoch", type=count, required=True, metavar="E",
                        help="the epoch to start at (numbered from --first-epoch)")
    parser.add_argument("--seeded", default="torch,numpy,random",
                        help="generators seeded with it (default: torch,numpy,random)")
    parser.add_argument("--preset", choices=["writeup"], help="the original write-up's loop")
    parser.add_argument("--dataset-size", type=positive, metavar="N",
                        help="with --preset writeup: the items random_split divided")
    parser.add_argument("--train-portion", type=_portion, metavar="P",
                        help="with --preset writeup: the train fraction, between 0 and 1")
    parser.add_argument("--split", action="append", default=[], metavar="SIZE:LENGTHS",
                        help="a random_split in the prologue, e.g. 1806:0.8,0.2 (repeatable)")
    parser.add_argument("--prologue-draws", action="append", default=[], metavar="N",
                        help="other global torch draws before the loop, e.g. model init (repeatable)")
    parser.add_argument("--loader", action="append", default=[], metavar="NAME=SIZE[,OPTS]",
                        help="a DataLoader iterated every epoch, in order (repeatable)")
    parser.add_argument("--epoch-draws", type=count, default=0, metavar="N",
                        help="other global torch draws per epoch (dropout on the CPU...)")
    parser.add_argument("--numpy-epoch-draws", type=count, default=0, metavar="N",
                        help="32-bit words numpy's global generator draws per epoch "
                        "(np.random.random: 2 per value)")
    parser.add_argument("--random-epoch-draws", type=count, default=0, metavar="N",
                        help="32-bit words Python's random module draws per epoch "
                        "(random.random: 2 per value)")
    parser.add_argument("--torch-version", type=_torch_version, metavar="X.Y",
                        help="torch release that made the run, e.g. 1.8 (default: installed)")
    parser.add_argument("--first-epoch", type=count, default=0, metavar="E",
                        help="number of the loop's first epoch (default 0)")
    parser.add_argument("--cuda-prologue-offsets", metavar="N[,N...]",
                        help="Philox offset units the prologue advanced each CUDA device by "
                        "(device order; measure_cuda_offsets)")
    parser.add_argument("--cuda-epoch-offsets", metavar="N[,N...]",
                        help="Philox offset units one epoch advanced each CUDA device by "
                        "(GPU dropout, augmentation; measure_cuda_offsets)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="replay-sampler",
        description="Resume PyTorch training at any epoch with the data order and random "
        "stream of an uninterrupted run.",
    )
    parser.add_argument("--version", action="version", version=f"replay-sampler {__version__}",
                        help="print the version and exit")
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
    rec.add_argument("--output", "-o", metavar="FILE",
                     help="file to write (torch.save format, written atomically; its folder must exist)")
    rec.add_argument("--check", metavar="CHECKPOINT",
                     help="a checkpoint that saved RNG states at --epoch: the write-up's keys, "
                     "Hugging Face's rng_state.pth, a Lightning .ckpt, or a reconstruct "
                     "--output file; check the description against it")
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
