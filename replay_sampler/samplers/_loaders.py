"""Counting what a training loop's DataLoaders draw per epoch."""

from __future__ import annotations

from typing import Any

import torch
from torch.utils.data import (
    BatchSampler,
    DataLoader,
    RandomSampler,
    SequentialSampler,
    SubsetRandomSampler,
)
from torch.utils.data.distributed import DistributedSampler

from .._torch import check_cpu_generator
from ..core import _draws
from ._random import ReplayableRandomSampler


def _sampler_draws(sampler: Any, target: torch.Generator) -> int:
    if isinstance(sampler, ReplayableRandomSampler):  # counts itself, by its release's rules
        own = sampler._jump_generator() is target
        return sampler._own_draws(len(sampler.data_source)) if own else 0
    if isinstance(sampler, RandomSampler):
        gen = sampler.generator
        n = len(sampler.data_source)
        if gen is None:
            return _draws.SEED_DRAWS if target is torch.default_generator else 0
        if gen is not target:
            return 0
        return _draws.random_sampler_draws(n, sampler.num_samples, sampler.replacement,
                                           own_generator=True)
    if isinstance(sampler, SubsetRandomSampler):
        gen = sampler.generator if sampler.generator is not None else torch.default_generator
        return _draws.randperm_draws(len(sampler.indices)) if gen is target else 0
    if isinstance(sampler, (SequentialSampler, DistributedSampler)):
        return 0  # DistributedSampler shuffles with a private generator
    if type(sampler).__name__ == "_InfiniteConstantSampler":
        return 0  # iterable-style dataset
    raise TypeError(
        f"cannot count the draws of a {type(sampler).__name__}; measure the loop's draws "
        "with replay_sampler.draws_between(state_before_epoch, state_after_epoch, limit)"
    )


def draws_per_epoch(*loaders: DataLoader, generator: torch.Generator | None = None) -> int | tuple[int, int]:
    """Draws one epoch takes from ``generator`` (default: torch's global one)
    when the loop iterates each of ``loaders`` once.

    Counts every DataLoader iterator's base seed (2 draws from
    ``loader.generator``, the global one when ``None``; with persistent
    workers only in the first epoch) and the samplers' own draws.  Returns an
    int, or ``(first_epoch, later_epochs)`` when persistent workers make the
    first epoch differ -- either can be passed as ``draws_per_epoch``.  Draws
    the loop makes itself (dropout on the CPU, augmentation in the main
    process) are not included: measure them with
    :func:`replay_sampler.draws_between` and add them.
    """
    target = check_cpu_generator(generator)
    first = later = 0
    for i, loader in enumerate(loaders):
        if not isinstance(loader, DataLoader):
            raise TypeError(f"loaders[{i}] must be a torch DataLoader, got {type(loader).__name__}")
        loader_gen = loader.generator if loader.generator is not None else torch.default_generator
        seed = _draws.SEED_DRAWS if loader_gen is target else 0
        persistent = loader.persistent_workers and loader.num_workers > 0
        first += seed
        later += 0 if persistent else seed
        batch_sampler = loader.batch_sampler
        if batch_sampler is None or isinstance(batch_sampler, BatchSampler):
            sampler = loader.sampler if batch_sampler is None else batch_sampler.sampler
        else:
            sampler = getattr(batch_sampler, "sampler", batch_sampler)
        own = _sampler_draws(sampler, target)
        first += own
        later += own
    return first if first == later else (first, later)
