"""Reconstruct an old run's RNG states at the start of any epoch, without replaying it.

A :class:`Run` describes what the run drew: how it was seeded, the prologue
before the loop (``random_split``, a model initialised on the CPU), and what
each epoch draws (its DataLoaders, plus any other draws of the loop), under
the rules of the torch release that made it (:class:`~replay_sampler.core.TorchProfile`).
:func:`reconstruct` turns that into the torch, numpy and Python ``random``
states at the start of epoch E -- one jump per generator, milliseconds.

What cannot be reconstructed is said plainly in :data:`LIMITS`.
"""

from __future__ import annotations

import dataclasses
import pathlib
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from . import __version__
from ._checks import draws_to_epoch, integer
from ._distance import NotReachedError
from ._draws import SEED_DRAWS, TorchProfile, random_sampler_draws, randperm_draws
from ._formats import TorchCPUState
from ._mt19937 import MT19937State
from ._torch import check_cpu_generator, draws_between

FILE_KIND = "replay_sampler.reconstruction"
FILE_VERSION = 1
GENERATORS = ("torch", "numpy", "random")

#: What no description can bring back; printed with every reconstruction.
LIMITS = (
    "CUDA generators are Philox counters whose offset grows with every random kernel "
    "launched on the GPU; it is not determined by the CPU-side description, so GPU "
    "randomness (dropout on the GPU, say) cannot be reconstructed.",
    "Draws whose count depends on the data or on timing (variable-length batches feeding "
    "CPU dropout, early exits, retries) break the fixed per-epoch count; measure an epoch "
    "with draws_between and check a saved state if one exists.",
    "torch's cached second normal sample (randn of small tensors) is not modelled; the "
    "reconstructed torch state has empty normal caches, as manual_seed leaves them.",
)


def _count(value: Any, name: str) -> int:
    return integer(value, name, 0)


def _which(value: Any, name: str) -> str:
    if value not in ("global", "own"):
        raise ValueError(f"{name} must be 'global' or 'own', got {value!r}")
    return value


@dataclass(frozen=True)
class Split:
    """A ``random_split`` of ``size`` items: one ``randperm(size)``."""

    size: int
    lengths: tuple[float, ...] = ()
    generator: str = "global"
    label: str = "random_split"

    def __post_init__(self) -> None:
        object.__setattr__(self, "size", _count(self.size, "Split.size"))
        object.__setattr__(self, "lengths", tuple(self.lengths))
        _which(self.generator, "Split.generator")

    def draws(self, profile: TorchProfile) -> int:
        return randperm_draws(self.size, profile) if self.generator == "global" else 0

    def describe(self, profile: TorchProfile) -> str:
        where = "global" if self.generator == "global" else "its own generator"
        return f"{self.label}: randperm({self.size}) on {where}"


@dataclass(frozen=True)
class Draws:
    """A known number of draws from torch's global generator (a model built on
    the CPU, say -- measure it with :func:`measure_draws`)."""

    count: int
    label: str = "other draws"

    def __post_init__(self) -> None:
        object.__setattr__(self, "count", _count(self.count, "Draws.count"))

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

    def __post_init__(self) -> None:
        object.__setattr__(self, "size", _count(self.size, "Loader.size"))
        if self.num_samples is not None:
            object.__setattr__(self, "num_samples", _count(self.num_samples, "Loader.num_samples"))
        _which(self.sampler_generator, "Loader.sampler_generator")
        _which(self.loader_generator, "Loader.loader_generator")
        if self.replacement and not self.shuffle:
            raise ValueError("Loader.replacement needs shuffle=True")

    @classmethod
    def from_dataloader(cls, loader: torch.utils.data.DataLoader, label: str = "loader") -> Loader:
        """Describe a live ``DataLoader`` (its sampler must be sequential or random)."""
        from torch.utils.data import BatchSampler, RandomSampler, SequentialSampler

        from ._sampler import ReplayableRandomSampler

        batch = loader.batch_sampler
        sampler = batch.sampler if isinstance(batch, BatchSampler) else loader.sampler

        def kind(gen: Any) -> str:
            return "global" if gen is None or gen is torch.default_generator else "own"

        common = {
            "size": len(loader.dataset),  # type: ignore[arg-type]
            "loader_generator": kind(loader.generator),
            "persistent_workers": bool(loader.persistent_workers and loader.num_workers),
            "label": label,
        }
        if isinstance(sampler, (RandomSampler, ReplayableRandomSampler)):
            num = sampler._num_samples
            return cls(shuffle=True, replacement=sampler.replacement, num_samples=num,
                       sampler_generator=kind(sampler.generator), **common)
        if isinstance(sampler, SequentialSampler):
            return cls(**common)
        raise TypeError(
            f"cannot describe a DataLoader with a {type(sampler).__name__}; describe its "
            "draws with Draws(count) instead"
        )

    def seed_draws(self, first: bool) -> int:
        if self.loader_generator != "global" or (self.persistent_workers and not first):
            return 0
        return SEED_DRAWS

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
            rows.append((f"{self.label}: DataLoader base seed{note}", seed))
        if self.shuffle and self.sampler_generator == "global":
            mode = profile.sampler_global_draws
            what = {
                "randperm": "randperm on the global generator",
                "seed+randperm": "seed + randperm on global (1.7-1.8 bug)",
                "seed": "a seed for its private generator",
            }[mode]
            if self.replacement:
                what = "randint on global" if mode == "randperm" else "a seed for its private generator"
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
    profile: TorchProfile = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if isinstance(self.seed, bool) or not hasattr(type(self.seed), "__index__"):
            raise TypeError(f"seed must be an integer, got {self.seed!r}")
        object.__setattr__(self, "seed", int(self.seed))
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
        for step in self.prologue:
            fractional = any(not float(x).is_integer() for x in getattr(step, "lengths", ()))
            if fractional and not self.profile.split_accepts_fractions:
                raise ValueError(
                    f"random_split takes fractions from torch 1.13 on, not {self.profile}; "
                    "give the integer lengths the run passed"
                )

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
        e = self._epoch(epoch)
        per_epoch = (self.epoch_torch_draws(self.first_epoch), self.epoch_torch_draws(self.first_epoch + 1))
        return self.prologue_draws() + draws_to_epoch(per_epoch, e - self.first_epoch)

    def _epoch(self, epoch: Any) -> int:
        e = _count(epoch, "epoch")
        if e < self.first_epoch:
            raise ValueError(f"epoch must be >= first_epoch={self.first_epoch}, got {e}")
        return e

    def explain(self, epoch: int) -> str:
        """The draw plan up to the start of ``epoch``, step by step."""
        e = self._epoch(epoch)
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
        lines += [row(step.describe(p), step.draws(p)) for step in self.prologue] or ["  (nothing)"]
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
        return "\n".join(lines)

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
            "torch_version": f"{self.profile.version[0]}.{self.profile.version[1]}",
            "first_epoch": self.first_epoch,
        }


@dataclass(frozen=True)
class States:
    """The generators' states at the start of an epoch (``None``: not seeded)."""

    epoch: int
    torch: bytes | None
    numpy: tuple[Any, ...] | None
    random: tuple[Any, ...] | None
    description: dict[str, Any] = field(default_factory=dict)

    def apply(self) -> None:
        """Set torch's, numpy's and Python's global generators to these states."""
        if self.torch is not None:
            torch.set_rng_state(torch.frombuffer(bytearray(self.torch), dtype=torch.uint8))
        if self.numpy is not None:
            np.random.set_state(self.numpy)
        if self.random is not None:
            random.setstate(self.random)

    def to_dict(self) -> dict[str, Any]:
        """The checkpoint keys of the original write-up, readable with
        ``torch.load(..., weights_only=True)``."""
        out: dict[str, Any] = {
            "torch_rng_state": None if self.torch is None
            else torch.frombuffer(bytearray(self.torch), dtype=torch.uint8),
            "numpy_rng_state": self.numpy,
            "python_rng_state": self.random,
            "replay_sampler": {
                "kind": FILE_KIND,
                "version": FILE_VERSION,
                "library": __version__,
                "epoch": self.epoch,
                "description": self.description,
            },
        }
        return out

    def save(self, path: str | pathlib.Path) -> None:
        torch.save(self.to_dict(), path)

    @classmethod
    def from_dict(cls, data: Any, name: str = "file") -> States:
        """Validate and read what :meth:`to_dict` wrote."""
        if not isinstance(data, dict):
            raise ValueError(f"{name} does not hold a dict but a {type(data).__name__}")
        meta = data.get("replay_sampler")
        if not isinstance(meta, dict) or meta.get("kind") != FILE_KIND:
            raise ValueError(f"{name} was not written by replay_sampler reconstruct")
        if meta.get("version") != FILE_VERSION:
            raise ValueError(
                f"{name} has format version {meta.get('version')!r}; this replay_sampler "
                f"reads version {FILE_VERSION}"
            )
        raw = data.get("torch_rng_state")
        torch_state = None
        if raw is not None:
            if isinstance(raw, torch.Tensor):
                raw = raw.contiguous()
            torch_state = TorchCPUState.parse(raw, f"{name}['torch_rng_state']").raw
        np_state, py_state = data.get("numpy_rng_state"), data.get("python_rng_state")
        if np_state is not None:
            MT19937State.from_numpy_legacy(np_state)
        if py_state is not None:
            MT19937State.from_python_random(py_state)
        return cls(_count(meta.get("epoch"), f"{name} epoch"), torch_state, np_state, py_state,
                   meta.get("description") or {})

    @classmethod
    def load(cls, path: str | pathlib.Path) -> States:
        try:
            data = torch.load(path, weights_only=True)
        except FileNotFoundError:
            raise
        except Exception as exc:
            raise ValueError(f"{path} is not a torch file replay_sampler can read: {exc}") from exc
        return cls.from_dict(data, str(path))


def reconstruct(run: Run, epoch: int) -> States:
    """The states of ``run``'s generators at the start of ``epoch``.

    torch's is laid out as ``manual_seed(seed)`` leaves it and moved by the
    draws of the prologue and of every earlier epoch; numpy's and Python's
    likewise.  Milliseconds, whatever the epoch.
    """
    if not isinstance(run, Run):
        raise TypeError(f"run must be a Run, got {type(run).__name__}")
    e = run._epoch(epoch)
    k = e - run.first_epoch
    torch_state = numpy_state = random_state = None
    if "torch" in run.seeded:
        advanced = MT19937State.from_seed(run.seed).advance(run.torch_draws_before(e))
        torch_state = TorchCPUState.fresh(run.seed, advanced).raw
    if "numpy" in run.seeded:
        numpy_state = MT19937State.from_seed(run.seed).advance(k * run.numpy_epoch_draws)
        numpy_state = ("MT19937", [int(v) for v in numpy_state.key], numpy_state.pos, 0, 0.0)
    if "random" in run.seeded:
        random_state = MT19937State.from_python_seed(run.seed).advance(k * run.random_epoch_draws)
        random_state = random_state.to_python_random()
    return States(e, torch_state, numpy_state, random_state, run.to_dict())


@dataclass(frozen=True)
class Finding:
    generator: str
    agrees: bool
    message: str


def check(run: Run, epoch: int, saved: dict[str, Any], limit: int = 10**7) -> list[Finding]:
    """Compare a reconstruction with states a checkpoint did save.

    ``saved`` may hold any of ``torch_rng_state``, ``numpy_rng_state``,
    ``python_rng_state`` (the states at the start of ``epoch``).  For each
    that disagrees, the finding says how many draws separate the two (within
    ``limit``) -- the usual sign of a per-epoch count that is off.
    """
    ours = reconstruct(run, epoch)
    findings = []
    pairs = (
        ("torch", "torch_rng_state", ours.torch, MT19937State.from_torch),
        ("numpy", "numpy_rng_state", ours.numpy, MT19937State.from_numpy_legacy),
        ("random", "python_rng_state", ours.random, MT19937State.from_python_random),
    )
    k = max(1, epoch - run.first_epoch)
    for name, key, mine, parse in pairs:
        if saved.get(key) is None or mine is None:
            continue
        value = saved[key]
        if isinstance(value, torch.Tensor):
            value = value.contiguous()
        theirs, recon = parse(value), parse(mine)
        if recon.same_stream(theirs):
            findings.append(Finding(name, True, f"{name}: the saved state is the reconstructed one"))
            continue
        message = f"{name}: the saved state differs from the reconstruction"
        for a, b, word in ((recon, theirs, "after"), (theirs, recon, "before")):
            try:
                d = draws_between(a, b, limit)
            except NotReachedError:
                continue
            message += (f"; it lies {d:,} draws {word} it -- {d / k:,.1f} per epoch over "
                        f"{epoch - run.first_epoch} epochs, so the description misses draws"
                        if word == "after" else
                        f"; it lies {d:,} draws {word} it, so the description counts too many")
            break
        else:
            message += f" and is not within {limit:,} draws of it either way (another seed?)"
        findings.append(Finding(name, False, message))
    return findings


def measure_draws(fn: Callable[[], Any], generator: torch.Generator | None = None,
                  limit: int = 10**9) -> int:
    """Run ``fn()`` and return how many draws it took from ``generator``
    (default: torch's global one), leaving the generator as it was before.

    For a prologue step such as building a model on the CPU::

        Draws(measure_draws(lambda: MyModel()), "model init")
    """
    gen = check_cpu_generator(generator)
    before = gen.get_state()
    try:
        fn()
        after = gen.get_state()
    finally:
        gen.set_state(before)
    return draws_between(before, after, limit)
