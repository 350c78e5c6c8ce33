"""The seeds DataLoader workers get, reconstructed for any epoch.

torch (``torch/utils/data/_utils/worker.py``, ``_worker_loop``) seeds worker
``w`` of an iterator whose ``_base_seed`` is ``b`` with::

    random.seed(b + w); torch.manual_seed(b + w); np.random.seed(_generate_state(b, w))

where ``b`` is ``torch.empty((), dtype=torch.int64).random_(generator=loader.generator)``
drawn when the iterator is created (2 draws: ``random64() % 2**63``) and
``_generate_state`` hashes ``[w, b & 0xffffffff, b >> 32, 0]`` the way
``numpy.random.SeedSequence`` does.  So a worker's random streams are fixed
by the generator's state when the iterator is created.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader

from .._torch import as_state, check_cpu_generator
from ..core import _draws
from ..core._checks import boolean, draws_to_epoch, integer
from ..core._checks import count as _check_draws
from ..core._checks import stride as _check_stride
from ..core._mt19937 import MT19937State
from ..core._profiles import TorchProfile

_MASK32 = 0xFFFFFFFF


def _index(value: Any, name: str) -> int:
    return integer(value, name, 0)


@dataclass(frozen=True)
class WorkerSeeds:
    """The seeds DataLoader worker ``worker_id`` got from base seed ``base_seed``.

    ``torch_version``: the release whose worker loop seeded it (default the
    installed one); before torch 1.9 workers did not seed numpy, so
    :attr:`numpy_seed` and :meth:`numpy_state` are ``None`` there.
    """

    worker_id: int
    base_seed: int
    torch_version: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "worker_id", _index(self.worker_id, "worker_id"))
        base = _index(self.base_seed, "base_seed")
        object.__setattr__(self, "base_seed", base)
        if base >= 2**63:
            raise ValueError(f"base_seed must be below 2**63 (a non-negative int64), got {base}")
        TorchProfile.of(self.torch_version)  # validates

    @property
    def profile(self) -> TorchProfile:
        return TorchProfile.of(self.torch_version)

    @property
    def seed(self) -> int:
        """``base_seed + worker_id``: what the worker passed to
        ``torch.manual_seed`` and ``random.seed``, and
        ``torch.utils.data.get_worker_info().seed``."""
        return self.base_seed + self.worker_id

    @property
    def numpy_seed(self) -> tuple[int, int, int, int] | None:
        """The four 32-bit words the worker passed to ``np.random.seed``
        (torch's ``_generate_state``: ``SeedSequence`` hashing of
        ``[worker_id, base_seed & 0xffffffff, base_seed >> 32, 0]``); ``None``
        before torch 1.9, whose workers left numpy as the parent had it."""
        if not self.profile.worker_numpy_seeded:
            return None
        entropy = [self.worker_id, self.base_seed & _MASK32, self.base_seed >> 32, 0]
        words = np.random.SeedSequence(entropy).generate_state(4, dtype=np.uint32)
        return tuple(int(w) for w in words)  # type: ignore[return-value]

    def torch_state(self) -> MT19937State:
        """The worker's torch generator right after seeding (as :class:`MT19937State`)."""
        return MT19937State.from_seed(self.seed)

    def python_state(self) -> MT19937State:
        """The worker's ``random`` module right after seeding."""
        return MT19937State.from_python_seed(self.seed)

    def numpy_state(self) -> MT19937State | None:
        """The worker's legacy ``np.random`` right after seeding (``None``
        before torch 1.9: not seeded by the worker)."""
        words = self.numpy_seed
        return None if words is None else MT19937State.from_key_array(words)

    def seed_globals_like_worker(self) -> None:
        """Seed *this process's* global ``random``, torch and ``np.random``
        generators exactly as the worker seeded its own -- to replay, in the
        main process, what the worker's ``__getitem__`` calls drew."""
        random.seed(self.seed)
        torch.manual_seed(self.seed)
        words = self.numpy_seed
        if words is not None:  # before torch 1.9 the worker left numpy alone
            np.random.seed(list(words))


def worker_seeds(base_seed: int, num_workers: int, *,
                 torch_version: str | None = None) -> list[WorkerSeeds]:
    """The seeds of each of ``num_workers`` workers of an iterator with
    ``base_seed``, as the worker loop of ``torch_version`` (default: the
    installed torch) seeded them."""
    base = _index(base_seed, "base_seed")
    count = _index(num_workers, "num_workers")
    WorkerSeeds(0, base, torch_version)  # validates base_seed and torch_version, workers or not
    return [WorkerSeeds(w, base, torch_version) for w in range(count)]


def _base_seed_at(state: MT19937State) -> int:
    words, _ = state.random_raw(_draws.SEED_DRAWS)
    return ((int(words[0]) << 32) | int(words[1])) % 2**63


def loader_base_seed(source: Any = None, *, draws: int = 0) -> int:
    """The ``_base_seed`` the next DataLoader iterator draws, without drawing it.

    ``source``: a ``DataLoader`` (its ``generator``, the global one when
    ``None``), a CPU ``torch.Generator``, ``None`` for torch's global
    generator, or a saved state in any format :func:`replay_sampler.draws_between`
    accepts (a ``torch.get_rng_state()`` tensor, bytes, an
    :class:`MT19937State`, ...).  ``draws``: skip that many draws first
    (what the loop draws between now and ``iter(loader)``).  Nothing is moved.

    After ``ReplayableRandomSampler.set_epoch(e)`` this is the base seed the
    uninterrupted run's iterator drew in epoch ``e`` (the sampler puts the
    generator *before* the base seed, so a fresh iterator draws it again).

    A DataLoader with ``persistent_workers=True`` that has started its
    workers draws no base seed for later epochs: refused with a ``ValueError``.
    """
    skip = _check_draws(draws, "draws")
    if isinstance(source, DataLoader):
        running = getattr(source, "_iterator", None) is not None
        if source.persistent_workers and source.num_workers > 0 and running:
            raise ValueError(
                "source is a DataLoader with persistent_workers=True whose workers are already "
                "running: its next epoch draws no base seed and its workers carry their random "
                "state over from the epoch they were started in, which cannot be reconstructed "
                "from the generator"
            )
        source = source.generator
    if source is None or isinstance(source, torch.Generator):
        state = as_state(check_cpu_generator(source, "source"), "source")
    else:
        state = as_state(source, "source")
    return _base_seed_at(state.advance(skip))


def epoch_base_seed(
    state: Any,
    epoch: int,
    draws_per_epoch: int | tuple[int, int],
    *,
    first_epoch: int = 0,
    draws_before: int = 0,
    persistent_workers: bool = False,
) -> int:
    """The base seed an uninterrupted run's DataLoader iterator drew in ``epoch``.

    ``state``: the loader generator's state at the start of ``first_epoch``
    (e.g. ``torch.get_rng_state()`` where the training loop begins -- the
    reference point of ``ReplayableRandomSampler``), in any format
    :func:`loader_base_seed` accepts; a generator object is read, not moved.
    ``draws_per_epoch``: what the loop takes from that generator per epoch,
    an int or ``(first_epoch, later_epochs)`` as for the sampler
    (:func:`replay_sampler.draws_per_epoch` counts it from the loaders).
    ``draws_before``: draws within the epoch before the iterator is created.

    With ``persistent_workers=True`` the base seed is drawn in ``first_epoch``
    only and the workers keep their random state across epochs, so a later
    epoch's worker streams depend on everything they drew before: refused
    for ``epoch > first_epoch`` with a ``ValueError``.
    """
    first = _index(first_epoch, "first_epoch")
    e = _index(epoch, "epoch")
    if e < first:
        raise ValueError(f"epoch must be >= first_epoch={first}, got {e}")
    stride = _check_stride(draws_per_epoch)
    before = _index(draws_before, "draws_before")
    boolean(persistent_workers, "persistent_workers")
    if persistent_workers and e > first:
        raise ValueError(
            f"persistent_workers=True: the workers were seeded once, in epoch {first}, and "
            f"carried their random state into epoch {e}; that state depends on everything "
            "they drew since and cannot be reconstructed -- use persistent_workers=False "
            "for augmentations that replay exactly"
        )
    reference = as_state(state, "state")
    return _base_seed_at(reference.advance(draws_to_epoch(stride, e - first) + before))
