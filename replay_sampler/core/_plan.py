"""The torch-free description of a run and its draw plan (numpy only).

A :class:`Run` describes what a training run drew: how it was seeded, the
prologue before the loop (:class:`Split`, :class:`Draws`), and what each
epoch draws (its :class:`Loader` s, plus any other draws of the loop), under
the rules of the torch release that made it (:class:`TorchProfile`).
:func:`states_at` turns that into the generators' states at the start of an
epoch -- one jump per generator -- and :func:`cuda_states_at` into every
CUDA device's state, from the offsets the run's random kernels advanced
(measured).  ``replay_sampler.reconstruct`` wraps both with torch I/O.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ._checks import counts, draws_to_epoch, integer, is_integer, one_of
from ._cuda import CUDA_OFFSET_STEP, TorchCUDAState
from ._draws import SEED_DRAWS, random_sampler_draws, randperm_draws
from ._mt19937 import MT19937State, TorchCPUState
from ._profiles import SamplerGlobalDraws, TorchProfile

GENERATORS = ("torch", "numpy", "random")


def split_lengths(total: int, lengths: Sequence[int | float]) -> list[int | float]:
    """The integer lengths ``random_split`` uses, with its warnings and errors.

    Fractions summing to 1 (and, as in torch, integer lengths summing to 1)
    become ``floor(total * fraction)``, the remainder handed out one by one,
    round robin from the first split.  This is torch's rule, written out for
    descriptions of runs; ``replayable_random_split`` calls torch's own.
    """
    if math.isclose(sum(lengths), 1) and sum(lengths) <= 1:
        subset_lengths: list[int] = []
        for i, frac in enumerate(lengths):
            if frac < 0 or frac > 1:
                raise ValueError(f"Fraction at index {i} is not between 0 and 1")
            subset_lengths.append(math.floor(total * frac))
        remainder = total - sum(subset_lengths)
        for i in range(remainder):
            subset_lengths[i % len(subset_lengths)] += 1
        lengths = subset_lengths
        for i, length in enumerate(lengths):
            if length == 0:
                warnings.warn(
                    f"Length of split at index {i} is 0. This might result in an empty dataset.",
                    stacklevel=3,
                )
    if sum(lengths) != total:
        raise ValueError("Sum of input lengths does not equal the length of the input dataset!")
    return list(lengths)  # as given: torch's randperm refuses non-integer lengths itself


def _count(value: Any, name: str) -> int:
    return integer(value, name, 0)


_WHERE = ("global", "own")


def _which(value: Any, name: str) -> str:
    return str(one_of(value, name, _WHERE))


@dataclass(frozen=True)
class Split:
    """A ``random_split`` of ``size`` items: one ``randperm(size)``.

    ``lengths`` (optional: the draws depend on ``size`` only) are checked as
    ``random_split`` checks them -- fractions summing to 1, or non-negative
    integers summing to ``size`` -- so a split no torch accepts is refused.
    """

    size: int
    lengths: tuple[int | float, ...] = ()
    generator: str = "global"
    label: str = "random_split"

    def __post_init__(self) -> None:
        size = _count(self.size, "Split.size")
        object.__setattr__(self, "size", size)
        lengths = tuple(self.lengths)
        object.__setattr__(self, "lengths", lengths)
        _which(self.generator, "Split.generator")
        if lengths:
            self.integer_lengths()  # validates

    @property
    def fractional(self) -> bool:
        """Are the lengths fractions (which ``random_split`` takes from 1.13 on)?"""
        return bool(self.lengths) and not all(is_integer(x) for x in self.lengths)

    def integer_lengths(self) -> list[int]:
        """The subsets' sizes, as ``random_split`` computes them."""
        lengths = self.lengths
        for i, x in enumerate(lengths):
            if not (is_integer(x) or isinstance(x, float)):
                raise TypeError(
                    f"Split.lengths[{i}] must be an integer or a fraction, got {x!r} "
                    f"(type {type(x).__name__})"
                )
        if any(is_integer(x) and x < 0 for x in lengths):
            raise ValueError(f"Split.lengths must not be negative, got {list(lengths)}")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # an empty subset is legal, if odd
            try:
                out = split_lengths(self.size, lengths)
            except ValueError as exc:
                raise ValueError(f"Split.lengths {list(lengths)} for {self.size} items: {exc}") from None
        if not all(is_integer(x) or float(x).is_integer() for x in out):
            raise ValueError(
                f"Split.lengths {list(lengths)} for {self.size} items: lengths must be "
                "fractions summing to 1 or integers summing to the dataset size"
            )
        return [int(x) for x in out]

    def draws(self, profile: TorchProfile) -> int:
        return randperm_draws(self.size, profile) if self.generator == "global" else 0

    def describe(self, profile: TorchProfile) -> str:
        where = "global" if self.generator == "global" else "its own generator"
        return f"{self.label}: randperm({self.size}) on {where}"


@dataclass(frozen=True)
class Draws:
    """A known number of draws from torch's global generator (a model built on
    the CPU, say -- measure it with ``replay_sampler.measure_draws``)."""

    count: int
    label: str = "other draws"
    #: ``(op, calls, draws)`` per random op that made up ``count``, shown by
    #: :meth:`Run.explain` (``replay_sampler.DrawRecord.as_draws`` fills it).
    ops: tuple[tuple[str, int, int], ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "count", _count(self.count, "Draws.count"))
        ops = tuple((str(op), _count(calls, "Draws.ops calls"), _count(n, "Draws.ops draws"))
                    for op, calls, n in self.ops)
        object.__setattr__(self, "ops", ops)

    def draws(self, profile: TorchProfile) -> int:
        return self.count

    def describe(self, profile: TorchProfile) -> str:
        return f"{self.label}: {self.count} draws"


@dataclass(frozen=True)
class Loader:
    """A DataLoader the loop iterates once per epoch.

    ``sampler_generator``/``loader_generator``: ``"global"`` when the
    sampler's / DataLoader's ``generator`` was ``None`` (torch's global
    generator), ``"own"`` when it was a separate ``torch.Generator``, whose
    draws do not touch the global stream.
    """

    size: int
    shuffle: bool = False
    replacement: bool = False
    num_samples: int | None = None
    sampler_generator: str = "global"
    loader_generator: str = "global"
    persistent_workers: bool = False
    label: str = "loader"
    datapipe: bool = False
    workers: int = 0
    generator_seed: int | None = None
    bare: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "size", _count(self.size, "Loader.size"))
        object.__setattr__(self, "workers", _count(self.workers, "Loader.workers"))
        if self.generator_seed is not None:
            object.__setattr__(self, "generator_seed", integer(self.generator_seed, "Loader.generator_seed"))
            if "own" not in (self.sampler_generator, self.loader_generator):
                raise ValueError(
                    "Loader.generator_seed describes the loader's own torch.Generator; give "
                    "sampler_generator='own' and/or loader_generator='own' with it"
                )
        if self.bare and (self.datapipe or self.persistent_workers or self.workers):
            raise ValueError("Loader.bare: a sampler iterated without a DataLoader has no "
                             "datapipe and no workers")
        if self.datapipe and self.shuffle and self.sampler_generator != "global":
            raise ValueError("Loader.datapipe: an IterDataPipe loader has no sampler generator; "
                             "leave sampler_generator at 'global'")
        if self.datapipe and self.persistent_workers and not self.workers:
            raise ValueError("Loader.persistent_workers with datapipe=True needs workers >= 1 "
                             "(the number of worker processes)")
        if self.num_samples is not None:
            object.__setattr__(self, "num_samples", _count(self.num_samples, "Loader.num_samples"))
        _which(self.sampler_generator, "Loader.sampler_generator")
        _which(self.loader_generator, "Loader.loader_generator")
        if self.replacement and not self.shuffle:
            raise ValueError("Loader.replacement needs shuffle=True")
        if self.shuffle:  # RandomSampler refuses both when it is made
            total = self.size if self.num_samples is None else self.num_samples
            if total == 0:
                raise ValueError(
                    f"{self.label}: num_samples should be a positive integer value, but got "
                    f"num_samples={total} (a shuffled DataLoader needs a non-empty dataset)"
                )
            if self.size == 0:
                raise ValueError(f"{self.label}: a shuffled DataLoader needs Loader.size >= 1, got 0")

    def seed_draws(self, first: bool) -> int:
        """Global draws of one epoch's iterator seeds: the base seed, and for an
        ``IterDataPipe`` the shared seed (:meth:`shared_seed_draws`)."""
        if self.loader_generator != "global" or self.bare:
            return 0
        base = 0 if self.persistent_workers and not first else SEED_DRAWS
        return base + self.shared_seed_draws(first)

    def shared_seed_draws(self, first: bool) -> int:
        """An ``IterDataPipe`` loader's ``_share_dist_seed`` draws (2 each) from
        ``loader.generator``: one per iterator reset; a multi-worker
        iterator draws it in ``__init__`` and again in its first ``_reset``;
        persistent workers create the iterator in the first epoch only."""
        if not self.datapipe:
            return 0
        if self.workers and (first or not self.persistent_workers):
            return 2 * SEED_DRAWS
        return SEED_DRAWS

    def own_draws(self, profile: TorchProfile, first: bool) -> int:
        """Draws of one epoch from the loader's own generator (the one
        ``generator_seed`` seeded): the sampler's, when it draws from it, and
        the iterator seeds, when ``loader_generator='own'``."""
        total = 0
        if self.shuffle and self.sampler_generator == "own":
            n = self.size
            num = self.num_samples if self.num_samples is not None else n
            total += random_sampler_draws(n, num, self.replacement, own_generator=True, profile=profile)
        if self.loader_generator == "own" and not self.bare:
            base = 0 if self.persistent_workers and not first else SEED_DRAWS
            total += base + (self.shared_seed_draws(first) if self.datapipe else 0)
        return total

    def sampler_draws(self, profile: TorchProfile) -> int:
        """Global draws of one epoch of this loader's sampler."""
        if not self.shuffle or self.sampler_generator != "global":
            return 0
        n, total = self.size, self.num_samples if self.num_samples is not None else self.size
        if not self.replacement and total != n and not profile.sampler_trailing_randperm:
            raise ValueError(
                f"{self.label}: num_samples without replacement needs torch >= 1.11, "
                f"not {profile}"
            )
        return random_sampler_draws(n, total, self.replacement, profile=profile)

    def describe(self, profile: TorchProfile, first: bool) -> list[tuple[str, int]]:
        rows = []
        seed = self.seed_draws(first)
        if self.loader_generator == "global":
            note = " (persistent workers: first epoch only)" if self.persistent_workers else ""
            shared = self.shared_seed_draws(first)
            rows.append((f"{self.label}: DataLoader base seed{note}", seed - shared))
            if self.datapipe:
                rows.append((f"{self.label}: IterDataPipe shared seed (_share_dist_seed)", shared))
        if self.shuffle and self.sampler_generator == "global":
            mode = profile.sampler_global_draws
            what = {
                SamplerGlobalDraws.PERMUTATION: "randperm on the global generator",
                SamplerGlobalDraws.SEED_THEN_PERMUTATION: "seed + randperm on global (1.7-1.8 bug)",
                SamplerGlobalDraws.SEED: "a seed for its private generator",
            }[mode]
            if self.replacement:
                what = ("randint on global" if mode is SamplerGlobalDraws.PERMUTATION
                        else "a seed for its private generator")
            rows.append((f"{self.label}: RandomSampler, {what}", self.sampler_draws(profile)))
        return rows


@dataclass(frozen=True)
class Run:
    """What a training run drew, enough to put its generators anywhere.

    Args:
        seed: the seed the script set.
        seeded: which generators were seeded with it (a typical
            ``seed_everything`` seeds all three: torch's global generator via
            ``manual_seed``, numpy's legacy global ``np.random.seed`` and
            Python's ``random.seed``).
        prologue: what ran between seeding and the loop, in order
            (:class:`Split`, :class:`Draws`).
        loaders: the DataLoaders each epoch iterates, in order (:class:`Loader`).
        epoch_draws: other draws each epoch takes from torch's global
            generator (dropout on the CPU, augmentation in the main process).
        numpy_epoch_draws, random_epoch_draws: 32-bit draws each epoch takes
            from numpy's and Python's global generators in the main process.
        torch_version: the torch release that made the run; default the
            installed one.
        first_epoch: the number the loop gave its first epoch.
        cuda_prologue_offsets, cuda_epoch_offsets: one value per CUDA
            device, in ``torch.cuda.get_rng_state_all()`` order: how far the
            prologue and one epoch advanced that device's Philox offset
            (measure them with ``replay_sampler.measure_cuda_offsets`` on the
            hardware that made the run).  Both empty (the default): the run is
            described without CUDA.  Given one alone, the other is 0 for every
            device.  The CUDA generators are seeded by ``torch.manual_seed``,
            so they need ``"torch"`` in ``seeded``.
    """

    seed: int
    seeded: tuple[str, ...] = GENERATORS
    prologue: tuple[Split | Draws, ...] = ()
    loaders: tuple[Loader, ...] = ()
    epoch_draws: int = 0
    numpy_epoch_draws: int = 0
    random_epoch_draws: int = 0
    torch_version: str | None = None
    first_epoch: int = 0
    cuda_prologue_offsets: tuple[int, ...] = ()
    cuda_epoch_offsets: tuple[int, ...] = ()
    profile: TorchProfile = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "seed", integer(self.seed, "seed"))
        object.__setattr__(self, "seeded", tuple(self.seeded))
        unknown = set(self.seeded) - set(GENERATORS)
        if unknown:
            raise ValueError(f"seeded may name {GENERATORS}, got {sorted(unknown)}")
        if "numpy" in self.seeded and not 0 <= self.seed < 2**32:
            raise ValueError(f"np.random.seed takes a seed in [0, 2**32), got {self.seed}")
        object.__setattr__(self, "prologue", tuple(self.prologue))
        for i, step in enumerate(self.prologue):
            if not isinstance(step, (Split, Draws)):
                raise TypeError(f"prologue[{i}] must be a Split or Draws, got {type(step).__name__}")
        object.__setattr__(self, "loaders", tuple(self.loaders))
        for i, loader in enumerate(self.loaders):
            if not isinstance(loader, Loader):
                raise TypeError(f"loaders[{i}] must be a Loader, got {type(loader).__name__}")
        for name in ("epoch_draws", "numpy_epoch_draws", "random_epoch_draws", "first_epoch"):
            object.__setattr__(self, name, _count(getattr(self, name), name))
        object.__setattr__(self, "profile", TorchProfile.of(self.torch_version))
        for loader in self.loaders:
            loader.sampler_draws(self.profile)  # raises for what this release could not do
            if loader.loader_generator == "own" and not self.profile.loader_generator:
                raise ValueError(
                    f"{loader.label}: DataLoader(generator=...) exists from torch 1.6 on, not in "
                    f"{self.profile}; describe the loader with loader_generator='global'"
                )
        for step in self.prologue:
            if isinstance(step, Split) and step.fractional and not self.profile.split_accepts_fractions:
                raise ValueError(
                    f"random_split takes fractions from torch 1.13 on, not {self.profile}; "
                    "give the integer lengths the run passed"
                )
        self._check_cuda()

    def _check_cuda(self) -> None:
        """Validate and complete the per-device CUDA offsets."""
        prologue = counts(self.cuda_prologue_offsets, "cuda_prologue_offsets", CUDA_OFFSET_STEP)
        epoch = counts(self.cuda_epoch_offsets, "cuda_epoch_offsets", CUDA_OFFSET_STEP)
        if prologue and epoch and len(prologue) != len(epoch):
            raise ValueError(
                "cuda_prologue_offsets and cuda_epoch_offsets give one value per CUDA device; "
                f"got {len(prologue)} and {len(epoch)} values"
            )
        devices = len(prologue or epoch)
        if devices:
            given = "cuda_epoch_offsets" if epoch else "cuda_prologue_offsets"
            if "torch" not in self.seeded:
                raise ValueError(
                    f"{given} given for a run whose CUDA generators were not seeded: "
                    "torch.manual_seed seeds them, and seeded="
                    f"{self.seeded!r} leaves out 'torch' (unseeded CUDA generators start at "
                    "a random seed, which nothing reconstructs); add 'torch' to seeded or "
                    "drop the CUDA offsets"
                )
            if not self.profile.cuda_offsets_aligned:
                raise ValueError(
                    f"{given}: CUDA states are reconstructed for runs of torch 1.8 and later "
                    f"(every offset increment a multiple of 4), not {self.profile}"
                )
        object.__setattr__(self, "cuda_prologue_offsets", prologue or (0,) * devices)
        object.__setattr__(self, "cuda_epoch_offsets", epoch or (0,) * devices)

    @property
    def cuda_devices(self) -> int:
        """How many CUDA devices the description covers (0: no CUDA)."""
        return len(self.cuda_epoch_offsets)

    def cuda_offsets_before(self, epoch: int) -> tuple[int, ...]:
        """Each CUDA device's Philox offset at the start of ``epoch``:
        ``prologue + (epoch - first_epoch) * per_epoch``."""
        k = self.check_epoch(epoch) - self.first_epoch
        return tuple(p + k * q for p, q in zip(self.cuda_prologue_offsets, self.cuda_epoch_offsets))

    # -- the draw plan ------------------------------------------------------------
    def prologue_draws(self) -> int:
        return sum(step.draws(self.profile) for step in self.prologue)

    def epoch_torch_draws(self, epoch: int) -> int:
        first = epoch == self.first_epoch
        return self.epoch_draws + sum(
            loader.seed_draws(first) + loader.sampler_draws(self.profile) for loader in self.loaders
        )

    def torch_draws_before(self, epoch: int) -> int:
        """Global torch draws from the seed to the start of ``epoch``."""
        e = self.check_epoch(epoch)
        per_epoch = (self.epoch_torch_draws(self.first_epoch), self.epoch_torch_draws(self.first_epoch + 1))
        return self.prologue_draws() + draws_to_epoch(per_epoch, e - self.first_epoch)

    def check_epoch(self, epoch: Any) -> int:
        """``epoch`` as an int, if it is one of this run's (``>= first_epoch``)."""
        e = _count(epoch, "epoch")
        if e < self.first_epoch:
            raise ValueError(f"epoch must be >= first_epoch={self.first_epoch}, got {e}")
        return e

    def explain(self, epoch: int) -> str:
        """The draw plan up to the start of ``epoch``, step by step."""
        e = self.check_epoch(epoch)
        p = self.profile
        width = 56

        def row(what: str, n: int) -> str:
            return f"  {what:<{width}} {n:>12,}"

        lines = [
            f"Run seeded with {self.seed} ({', '.join(self.seeded) or 'nothing'}), drawing by "
            f"the rules of {p}.",
            "",
            f"{'prologue (once, between seeding and the loop)':<{width + 2}} {'torch draws':>12}",
        ]
        for step in self.prologue:
            lines.append(row(step.describe(p), step.draws(p)))
            if isinstance(step, Draws):
                lines += [row(f"  {op} ({calls}x)", n) for op, calls, n in step.ops]
        if not self.prologue:
            lines.append("  (nothing)")
        if not any(isinstance(step, Draws) for step in self.prologue):
            lines.append("  (no other draws given: a model built on the CPU here draws too --")
            lines.append("   measure it with replay_sampler.measure_draws and add it)")
        persistent = any(loader.persistent_workers for loader in self.loaders)
        blocks = (("first epoch", True), ("every later epoch", False)) if persistent else (("every epoch", True),)
        for title, first in blocks:
            lines += ["", title]
            for loader in self.loaders:
                lines += [row(what, n) for what, n in loader.describe(p, first)]
            if self.epoch_draws:
                lines.append(row("other draws of the loop (given)", self.epoch_draws))
            lines.append(row("total", self.epoch_torch_draws(self.first_epoch if first else self.first_epoch + 1)))
        k = e - self.first_epoch
        lines += ["", f"start of epoch {e} ({k} epochs done): {self.torch_draws_before(e):,} "
                  f"torch draws after manual_seed({self.seed})"]
        if "numpy" in self.seeded:
            lines.append(f"  numpy: {self.numpy_epoch_draws * k:,} draws after np.random.seed({self.seed})")
        if "random" in self.seeded:
            lines.append(f"  random: {self.random_epoch_draws * k:,} draws after random.seed({self.seed})")
        lines += self._explain_cuda(e)
        return "\n".join(lines)

    def _explain_cuda(self, epoch: int) -> list[str]:
        """The CUDA part of :meth:`explain`: per device, the offsets given and
        where each stands at the start of ``epoch``."""
        if not self.cuda_devices:
            return []
        width = 40
        lines = ["", f"{'CUDA generators (Philox offset units)':<{width + 2}} {'prologue':>14} "
                 f"{'per epoch':>14} {f'at epoch {epoch}':>18}"]
        rows = zip(self.cuda_prologue_offsets, self.cuda_epoch_offsets, self.cuda_offsets_before(epoch))
        for i, (p, q, at) in enumerate(rows):
            lines.append(f"  {f'cuda:{i}':<{width}} {p:>14,} {q:>14,} {at:>18,}")
        lines.append(f"  (each device at seed {TorchCUDAState.fresh(self.seed).seed} from "
                     f"manual_seed({self.seed}); offsets measured on the run's GPU model)")
        return lines

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able description (recorded with every reconstruction)."""
        def step(s: Split | Draws) -> dict[str, Any]:
            d = dataclasses.asdict(s)
            d["type"] = type(s).__name__
            return d

        return {
            "seed": self.seed,
            "seeded": list(self.seeded),
            "prologue": [step(s) for s in self.prologue],
            "loaders": [dataclasses.asdict(loader) for loader in self.loaders],
            "epoch_draws": self.epoch_draws,
            "numpy_epoch_draws": self.numpy_epoch_draws,
            "random_epoch_draws": self.random_epoch_draws,
            "torch_version": self.profile.name,
            "first_epoch": self.first_epoch,
            "cuda_prologue_offsets": list(self.cuda_prologue_offsets),
            "cuda_epoch_offsets": list(self.cuda_epoch_offsets),
        }




def states_at(run: Run, epoch: int) -> tuple[bytes | None, tuple[Any, ...] | None,
                                            tuple[Any, ...] | None]:
    """The torch (5056 bytes), numpy (``np.random.get_state()``) and Python
    ``random`` states of ``run``'s generators at the start of ``epoch``;
    ``None`` for a generator the run did not seed.

    torch's is laid out as ``manual_seed(seed)`` leaves it and moved by the
    draws of the prologue and of every earlier epoch; numpy's and Python's
    likewise.  Milliseconds, whatever the epoch.
    """
    if not isinstance(run, Run):
        raise TypeError(f"run must be a Run, got {type(run).__name__}")
    e = run.check_epoch(epoch)
    k = e - run.first_epoch
    torch_state = numpy_state = random_state = None
    if "torch" in run.seeded:
        advanced = MT19937State.from_seed(run.seed).advance(run.torch_draws_before(e))
        torch_state = TorchCPUState.fresh(run.seed, advanced).raw
    if "numpy" in run.seeded:
        mt = MT19937State.from_seed(run.seed).advance(k * run.numpy_epoch_draws)
        numpy_state = ("MT19937", [int(v) for v in mt.key], mt.pos, 0, 0.0)
    if "random" in run.seeded:
        random_state = MT19937State.from_python_seed(run.seed).advance(
            k * run.random_epoch_draws
        ).to_python_random()
    return torch_state, numpy_state, random_state


def generator_states_at(run: Run, epoch: int) -> dict[str, bytes]:
    """The state (5056 bytes) at the start of ``epoch`` of every loader's own
    generator the run describes (``Loader.generator_seed``), by loader label:
    ``torch.Generator().manual_seed(generator_seed)`` moved by each earlier
    epoch's draws of that loader (:meth:`Loader.own_draws`).  Each such
    generator is taken to be that loader's alone."""
    if not isinstance(run, Run):
        raise TypeError(f"run must be a Run, got {type(run).__name__}")
    e = run.check_epoch(epoch)
    k = e - run.first_epoch
    out: dict[str, bytes] = {}
    for loader in run.loaders:
        if loader.generator_seed is None:
            continue
        if loader.label in out:
            raise ValueError(f"two loaders with generator_seed share the label {loader.label!r}; "
                             "label them apart")
        per = (loader.own_draws(run.profile, True), loader.own_draws(run.profile, False))
        draws = draws_to_epoch(per if per[0] != per[1] else per[0], k)
        mt = MT19937State.from_seed(loader.generator_seed).advance(draws)
        out[loader.label] = TorchCPUState.fresh(loader.generator_seed, mt).raw
    return out


def cuda_states_at(run: Run, epoch: int) -> tuple[TorchCUDAState, ...]:
    """Every described CUDA device's generator state at the start of ``epoch``
    (empty for a run described without CUDA): ``manual_seed``'s seed and the
    offset ``prologue + (epoch - first_epoch) * per_epoch``, in
    ``torch.cuda.get_rng_state_all()`` order."""
    if not isinstance(run, Run):
        raise TypeError(f"run must be a Run, got {type(run).__name__}")
    fresh = TorchCUDAState.fresh(run.seed)
    return tuple(fresh.advance(offset) for offset in run.cuda_offsets_before(epoch))
