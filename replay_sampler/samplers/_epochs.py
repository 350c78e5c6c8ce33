"""One epoch of ``RandomSampler``'s draws, under the rules of a torch release.

:class:`EpochDraws` knows, for a dataset size and the sampler's settings,
what one epoch of ``RandomSampler`` draws and from which generator -- the
seed of a private generator, the permutations (or ``randint`` chunks) in the
order and sizes torch makes them -- and makes those draws, emulating an older
release's kernel where today's computes differently.  It holds no state of
its own (what it computes once -- the layout, the draw counts, the drawer --
it remembers): a sampler keeps one for its dataset size and settings and
makes another when they change (the dataset may change size at runtime, as
``RandomSampler`` allows).
"""

from __future__ import annotations

import functools
import typing
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import torch

from .. import _torch
from ..core import _draws
from ..core._emulate import randint_one_draw, randperm_one_pass
from ..core._mt19937 import MT19937State
from ..core._profiles import TorchProfile

_T = TypeVar("_T")


def _remembered(method: Callable[[Any], _T]) -> Callable[[Any], _T]:
    """A method of no arguments of a frozen dataclass, computed once per instance."""
    key = f"_remembered_{method.__name__}"

    @functools.wraps(method)
    def once(self: Any) -> _T:
        found = self.__dict__.get(key, once)
        if found is once:
            found = self.__dict__[key] = method(self)
        return typing.cast(_T, found)

    return once


#: RandomSampler draws ``randint`` values in chunks of this size (with replacement).
REPLACEMENT_CHUNK = 32


@dataclass(frozen=True)
class EpochDraws:
    """What one epoch of ``RandomSampler(data_source of n, replacement,
    num_samples, generator)`` draws, as ``profile`` (the run's release) drew it
    on the ``installed`` torch."""

    n: int
    num_samples: int
    replacement: bool
    explicit: bool  # RandomSampler(generator=g): everything comes from g
    profile: TorchProfile
    installed: TorchProfile

    def __getstate__(self) -> dict[str, Any]:
        """Pickle the fields only: what is remembered is made again (the drawer
        is a closure)."""
        return {k: v for k, v in self.__dict__.items() if not k.startswith("_remembered_")}

    # -- the shape of an epoch ------------------------------------------------------
    @_remembered
    def sizes(self) -> Layout:
        """Sizes of the chunks the epoch draws, in order (a sequence: ``len``,
        ``sizes[i]``, and the arithmetic of :class:`Layout`, nothing listed).

        Without replacement: one ``randperm(n)`` per full pass, then the
        trailing ``randperm(n)[:num_samples % n]`` -- drawn even when the
        remainder is 0 (torch >= 1.11; before, one permutation, all used).
        With replacement: ``randint`` chunks of 32, then the remainder.
        """
        total = self.num_samples
        if self.replacement:
            full, rest = divmod(total, REPLACEMENT_CHUNK)
            return Layout(full, REPLACEMENT_CHUNK, rest)
        if not self.profile.sampler_trailing_randperm:
            return Layout(1, self.n, None)
        full, rest = divmod(total, self.n)
        return Layout(full, self.n, rest)

    def chunk_draws(self, size: int) -> int:
        """Draws one chunk of ``size`` values takes from its generator."""
        if self.replacement:
            return _draws.randint_draws(self.n, size, profile=self.profile) if size else 0
        return _draws.randperm_draws(self.n, self.profile)

    @_remembered
    def own_draws(self) -> int:
        """Draws one full epoch takes from the generator the sampler's timeline
        follows (``generator``, or the global one)."""
        return _draws.random_sampler_draws(
            self.n, self.num_samples, self.replacement,
            own_generator=self.explicit, profile=self.profile,
        )

    @property
    def shared(self) -> bool:
        """Do the chunks come from the timeline's generator, which the loop may
        draw from too?  Yes for an explicit generator and for torch <= 1.8's
        permutation on the global one; no for the private per-epoch generator
        of torch >= 1.9."""
        return self.explicit or self.profile.sampler_chunks_on_global(self.replacement)

    @property
    def seeded(self) -> bool:
        """Does the epoch begin with a seed drawn from the global generator?"""
        return not self.explicit and self.profile.sampler_draws_seed()

    # -- the draws --------------------------------------------------------------------
    def draw_seed(self, generator: torch.Generator) -> int:
        """The per-epoch seed ``RandomSampler(generator=None)`` draws (2 draws)."""
        return int(torch.empty((), dtype=torch.int64).random_(generator=generator).item())

    def chunk_generator(self, timeline_generator: torch.Generator, seed: int | None) -> torch.Generator:
        """The generator the chunks come from, given the epoch's seed."""
        if self.shared:
            return timeline_generator
        assert seed is not None  # a private generator exists only after a seed
        private = torch.Generator()
        private.manual_seed(seed)
        return private

    @property
    def _randint_emulated(self) -> bool:
        """Does the run's release draw one word per value where the installed
        torch draws two (a range from 2**28 below 2**32: torch < 2.7)?"""
        return self.profile.randint_wide_from > self.n >= self.installed.randint_wide_from

    @_remembered
    def drawer(self) -> Callable[[torch.Generator, int], list[int]]:
        """``draw(generator, size)``: one chunk's values, drawn from ``generator``
        as the run's release did -- the release's rules resolved once, for the
        per-chunk loop (a chunk with replacement is only 32 values)."""
        old, new, n = self.profile, self.installed, self.n
        if self.replacement:
            if self._randint_emulated:
                return lambda generator, size: _emulated(
                    generator, lambda s: randint_one_draw(s, n, size))
            randint, int64 = torch.randint, torch.int64
            return lambda generator, size: randint(high=n, size=(size,), dtype=int64,
                                                   generator=generator).tolist()
        if new.randperm_is_two_pass(n) and not old.randperm_is_two_pass(n):  # torch < 2.6
            return lambda generator, size: _emulated(
                generator, lambda s: randperm_one_pass(s, n))[:size]
        return lambda generator, size: torch.randperm(n, generator=generator)[:size].tolist()

    @_remembered
    def tensor_drawer(self) -> Callable[[torch.Generator, int], torch.Tensor]:
        """``draw(generator, size)``: one ``randint`` chunk's values as a tensor
        (with replacement only), drawn as :meth:`drawer` draws them.  A kept
        tensor is cheaper to hold and free than the list of its values, which
        the per-chunk loop makes and lets go at once (``tolist``), as
        RandomSampler does."""
        assert self.replacement
        n = self.n
        if self._randint_emulated:
            as_list = self.drawer()
            return lambda generator, size: torch.tensor(as_list(generator, size),
                                                        dtype=torch.int64)
        randint, int64 = torch.randint, torch.int64
        return lambda generator, size: randint(high=n, size=(size,), dtype=int64,
                                               generator=generator)

    def draw_chunk(self, generator: torch.Generator, size: int) -> list[int]:
        """One chunk's values, drawn from ``generator`` as the run's release did."""
        return self.drawer()(generator, size)

    def chunks_draws(self, count: int) -> int:
        """Draws of the epoch's first ``count`` chunks, from the generator they
        come from."""
        layout = self.sizes()
        full = min(count, layout.full)  # the chunks alike, priced once
        draws = self.chunk_draws(layout.size) * full if full else 0
        if count > layout.full and layout.last is not None:
            draws += self.chunk_draws(layout.last)
        return draws

    def timeline_draws(self, chunks: int) -> int:
        """Draws the epoch has taken from its timeline's generator once its first
        ``chunks`` chunks are drawn: the seed, and the chunks where shared
        (:meth:`own_draws` for all of them)."""
        seed = _draws.SEED_DRAWS if self.seeded else 0
        return seed + (self.chunks_draws(chunks) if self.shared else 0)

    def skip_chunks(self, generator: torch.Generator, count: int) -> None:
        """Move ``generator`` past the first ``count`` chunks' draws without
        drawing them (a jump, milliseconds)."""
        draws = self.chunks_draws(count)
        if draws:
            _torch.write(generator, _torch.read(generator).advance(draws))


@dataclass(frozen=True)
class Layout:
    """The chunks of an epoch: ``full`` chunks of ``size``, then a trailing one
    of ``last`` values (``None``: no trailing chunk; 0: one drawn, none used).
    Indexing gives a chunk's size; the rest is arithmetic, so that an epoch of
    10**7 samples drawn with replacement (312,500 chunks) costs nothing to
    describe."""

    full: int
    size: int
    last: int | None

    def __len__(self) -> int:
        return self.full + (self.last is not None)

    def __getitem__(self, index: int) -> int:
        if not 0 <= index < len(self):
            raise IndexError(f"chunk {index} of {len(self)}")
        return self.size if index < self.full else int(self.last or 0)

    def __iter__(self) -> Iterator[int]:
        return (self[i] for i in range(len(self)))

    def start(self, index: int) -> int:
        """The epoch position at which chunk ``index`` begins."""
        return index * self.size

    def end(self, index: int) -> int:
        return self.start(index) + self[index]

    def used_up(self, position: int) -> int:
        """How many chunks are used up at ``position``: the count of leading
        chunks that end at or before it, an empty trailing chunk not counted."""
        used = min(position // self.size, self.full)
        if used == self.full and self.last and self.end(self.full) <= position:
            used += 1
        return used

    def holding(self, position: int, drawn: int) -> list[int]:
        """The chunks among the first ``drawn`` that still hold samples at ``position``."""
        return [i for i in range(min(position // self.size, drawn), drawn)
                if self.end(i) > position]

    def draws(self, chunk_draws: Callable[[int], int], first: int = 0) -> int:
        """Draws of the chunks from ``first`` on, each priced by ``chunk_draws(size)``."""
        full = max(0, self.full - first)
        total = chunk_draws(self.size) * full if full else 0
        if self.last is not None and first <= self.full:
            total += chunk_draws(self.last)
        return total


def _emulated(generator: torch.Generator,
              draw: Callable[[MT19937State], tuple[list[int], MT19937State]]) -> list[int]:
    """Run an older release's algorithm on the generator's state, moving it on."""
    state = _torch.read(generator)
    values, after = draw(state.mt)
    _torch.write(generator, state.replace(after))
    return values
