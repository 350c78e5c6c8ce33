"""Counting what a training loop's DataLoaders draw per epoch."""

from __future__ import annotations

from typing import Any

import torch
from torch.utils.data import (
    BatchSampler,
    DataLoader,
    IterDataPipe,
    RandomSampler,
    SequentialSampler,
    SubsetRandomSampler,
)
from torch.utils.data.distributed import DistributedSampler

from .._torch import check_cpu_generator
from ..core import _draws
from ._random import ReplayableRandomSampler


def _sampler_of(loader: DataLoader[Any]) -> Any:
    batch_sampler = loader.batch_sampler
    if batch_sampler is None or isinstance(batch_sampler, BatchSampler):
        return loader.sampler if batch_sampler is None else batch_sampler.sampler
    return getattr(batch_sampler, "sampler", batch_sampler)


def _sampler_draws(sampler: Any, target: torch.Generator) -> int:
    if isinstance(sampler, ReplayableRandomSampler):  # counts itself, by its release's rules
        return sampler._own_draws() if sampler._jump_generator() is target else 0
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
        "with replay_sampler.measure_draws(one_epoch) instead"
    )


def draws_per_epoch(*loaders: DataLoader[Any],
                    generator: torch.Generator | None = None) -> int | tuple[int, int]:
    """Draws one epoch takes from ``generator`` (default: torch's global one)
    when the loop iterates each of ``loaders`` once, in that order.

    Counted as the sampler's timeline counts (NOTE [ Generator timelines ]):
    from the first draw of the first ``ReplayableRandomSampler`` on the
    generator in one epoch to the same draw in the next.  It includes every
    DataLoader iterator's base seed (2 draws from ``loader.generator``, the
    global one when ``None``) and the samplers' own draws.  A loader with
    persistent workers draws its base seed in the first epoch of a process
    only: before the replayable sampler's loader that is part of every
    process's first epoch and changes nothing, after it the first epoch
    counts 2 more -- then the result is ``(first_epoch, later_epochs)``.
    Without a replayable sampler on the generator, epochs are counted from
    one ``set_epoch`` to the next, and every persistent loader's base seed
    falls in the first epoch.

    Draws the loop makes itself (dropout on the CPU, augmentation in the
    main process) are not included: measure them with
    :func:`replay_sampler.measure_draws` and add them.
    """
    target = check_cpu_generator(generator)
    samplers = []
    for i, loader in enumerate(loaders):
        if not isinstance(loader, DataLoader):
            raise TypeError(f"loaders[{i}] must be a torch DataLoader, got {type(loader).__name__}")
        samplers.append(_sampler_of(loader))
    mark = next((i for i, s in enumerate(samplers)
                 if isinstance(s, ReplayableRandomSampler) and s._jump_generator() is target),
                len(loaders))
    if mark == len(loaders):
        mark = -1  # no replayable sampler: epochs run from set_epoch to set_epoch
    first = later = 0
    for i, (loader, sampler) in enumerate(zip(loaders, samplers)):
        loader_gen = loader.generator if loader.generator is not None else torch.default_generator
        seed = _draws.SEED_DRAWS if loader_gen is target else 0
        persistent = loader.persistent_workers and loader.num_workers > 0
        if not persistent:
            first += seed
            later += seed
        elif i > mark:
            first += seed  # drawn in a process's first epoch, after its mark
        if seed and isinstance(loader.dataset, IterDataPipe):
            # _share_dist_seed at every reset; a multi-worker iterator's
            # __init__ draws it and its first _reset again
            extra = _draws.SEED_DRAWS if loader.num_workers > 0 else 0
            first += _draws.SEED_DRAWS + (extra if not persistent or i > mark else 0)
            later += _draws.SEED_DRAWS + (0 if persistent else extra)
        own = _sampler_draws(sampler, target)
        first += own
        later += own
    return first if first == later else (first, later)
