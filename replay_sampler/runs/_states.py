"""Old runs: reconstructed states as files and generators, checks, measuring.

The description of a run and its draw plan are torch-free and live in the
core (:class:`~replay_sampler.core.Run`, :func:`~replay_sampler.core.states_at`);
this module adds what needs torch: :class:`States` (apply to the live
generators, save and load files with the write-up's keys), :func:`check`
against a checkpoint that saved some state, :func:`measure_draws` and
:func:`describe_loader`.
"""

from __future__ import annotations

import pathlib
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch.utils.data import BatchSampler, DataLoader, RandomSampler, SequentialSampler

from .. import _torch
from .._version import __version__
from ..core import _distance
from ..core._checks import integer
from ..core._errors import NotReachedError
from ..core._formats import TORCH_LEGACY_STATE_SIZE
from ..core._mt19937 import MT19937State, TorchCPUState
from ..core._plan import Loader, Run, states_at
from ..core._profiles import TorchProfile
from ..samplers._timeline import preserved

FILE_KIND = "replay_sampler.reconstruction"
FILE_VERSION = 1

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


@dataclass(frozen=True)
class States:
    """The generators' states at the start of an epoch (``None``: not seeded).

    ``torch`` is a 5056-byte CPU state (the layout of torch >= 1.2; files for
    a torch 1.0/1.1 run hold that release's 5048-byte layout), ``numpy`` an
    ``np.random.get_state()`` tuple, ``random`` a ``random.getstate()`` tuple.
    """

    epoch: int
    torch: bytes | None
    numpy: tuple[Any, ...] | None
    random: tuple[Any, ...] | None
    description: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "epoch", integer(self.epoch, "epoch", 0))
        if self.torch is not None:
            TorchCPUState(self.torch)  # validates
        if self.numpy is not None:
            MT19937State.from_numpy_legacy(self.numpy)
        if self.random is not None:
            MT19937State.from_python_random(self.random)
        if not isinstance(self.description, dict):
            raise TypeError(f"description must be a dict, got {type(self.description).__name__}")

    def apply(self) -> None:
        """Set torch's, numpy's and Python's global generators to these states."""
        if self.torch is not None:
            _torch.write(torch.default_generator, TorchCPUState(self.torch))
        if self.numpy is not None:
            np.random.set_state(self.numpy)
        if self.random is not None:
            random.setstate(self.random)

    def _profile(self) -> TorchProfile | None:
        version = self.description.get("torch_version")
        return TorchProfile.of(version) if version is not None else None

    def to_dict(self) -> dict[str, Any]:
        """The checkpoint keys of the original write-up, readable with
        ``torch.load(..., weights_only=True)``; the torch state in the layout of
        the release that made the run."""
        torch_state = None
        if self.torch is not None:
            state = TorchCPUState(self.torch)
            profile = self._profile()
            legacy = profile is not None and profile.state_size == TORCH_LEGACY_STATE_SIZE
            torch_state = _torch.tensor(state.legacy_raw if legacy else state.raw)
        return {
            "torch_rng_state": torch_state,
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
        description = meta.get("description") or {}
        raw = data.get("torch_rng_state")
        torch_state = None
        if raw is not None:
            key = f"{name}['torch_rng_state']"
            version = description.get("torch_version") if isinstance(description, dict) else None
            legacy = version is not None and (
                TorchProfile.of(version).state_size == TORCH_LEGACY_STATE_SIZE
            )
            if legacy:
                if isinstance(raw, torch.Tensor):
                    raw = raw.detach().cpu().contiguous().numpy()
                torch_state = TorchCPUState.parse_legacy(raw, key).raw
            else:
                torch_state = _torch.parse(raw, key).raw
        np_state, py_state = data.get("numpy_rng_state"), data.get("python_rng_state")
        epoch: Any = meta.get("epoch")  # validated by the constructor
        try:
            return cls(epoch, torch_state, np_state, py_state, description)
        except (TypeError, ValueError) as exc:
            raise type(exc)(f"{name}: {exc}") from None

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
    """The states of ``run``'s generators at the start of ``epoch``
    (:func:`replay_sampler.core.states_at`), milliseconds whatever the epoch."""
    torch_state, numpy_state, random_state = states_at(run, epoch)
    return States(run.check_epoch(epoch), torch_state, numpy_state, random_state, run.to_dict())


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
        ("torch", "torch_rng_state", ours.torch),
        ("numpy", "numpy_rng_state", ours.numpy),
        ("random", "python_rng_state", ours.random),
    )
    k = max(1, epoch - run.first_epoch)
    for name, key, mine in pairs:
        if saved.get(key) is None or mine is None:
            continue
        theirs, recon = _torch.as_state(saved[key], key), _torch.as_state(mine, key)
        if recon.same_stream(theirs):
            findings.append(Finding(name, True, f"{name}: the saved state is the reconstructed one"))
            continue
        message = f"{name}: the saved state differs from the reconstruction"
        for a, b, word in ((recon, theirs, "after"), (theirs, recon, "before")):
            try:
                d = _distance.draws_between(a, b, limit)
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
    (default: torch's global one).

    Afterwards everything is as it was before: torch's global generator, the
    generator measured, and every ``ReplayableRandomSampler`` with its
    generator's timeline -- so ``fn`` may run a real epoch over the live
    loaders (``measure_draws(lambda: train_one_epoch(model_copy, loader))``)
    and the run goes on as if it had not.  What ``fn`` changes elsewhere stays
    changed: the model and optimizer it trains (use copies), and a DataLoader
    with persistent workers, which keeps the workers it started (its next
    epoch then draws no base seed: measure over a fresh loader).

    For a prologue step such as building a model on the CPU::

        Draws(measure_draws(lambda: MyModel()), "model init")
    """
    gen = _torch.check_cpu_generator(generator)
    limit = integer(limit, "limit", 0)
    if not callable(fn):
        raise TypeError(f"fn must be callable, got {type(fn).__name__}")
    with preserved():
        before = _torch.read(gen)
        fn()
        after = _torch.read(gen)
    # the generator itself is restored by preserved() only if a timeline follows it
    _torch.write(gen, before)
    return _distance.draws_between(before.mt, after.mt, limit)


def describe_loader(loader: DataLoader[Any], label: str = "loader") -> Loader:
    """Describe a live ``DataLoader`` as a :class:`~replay_sampler.Loader` (its
    sampler must be sequential or random)."""
    from ..samplers._random import ReplayableRandomSampler

    if not isinstance(loader, DataLoader):
        raise TypeError(f"loader must be a torch DataLoader, got {type(loader).__name__}")
    batch = loader.batch_sampler
    sampler = batch.sampler if isinstance(batch, BatchSampler) else loader.sampler

    def kind(gen: Any) -> str:
        return "global" if gen is None or gen is torch.default_generator else "own"

    size = len(loader.dataset)  # type: ignore[arg-type]
    common: dict[str, Any] = {
        "loader_generator": kind(loader.generator),
        "persistent_workers": bool(loader.persistent_workers and loader.num_workers),
        "label": label,
    }
    if isinstance(sampler, (RandomSampler, ReplayableRandomSampler)):
        return Loader(size, shuffle=True, replacement=sampler.replacement,
                      num_samples=sampler._num_samples,
                      sampler_generator=kind(sampler.generator), **common)
    if isinstance(sampler, SequentialSampler):
        return Loader(size, **common)
    raise TypeError(
        f"cannot describe a DataLoader with a {type(sampler).__name__}; describe its "
        "draws with Draws(count) instead"
    )
