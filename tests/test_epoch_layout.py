"""The epoch's chunk layout is arithmetic (nothing listed, so that resuming an
epoch of 10**7 samples with replacement costs no 312,500-entry lists); here it
is checked against the chunk list written out the way RandomSampler's loops
draw: ``num_samples // chunk`` full chunks, then the trailing one."""

from __future__ import annotations

import bisect
import collections
import itertools

import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.utils.data import RandomSampler

from replay_sampler._torch import read
from replay_sampler.core._distance import draws_between
from replay_sampler.core._profiles import TorchProfile
from replay_sampler.samplers._epochs import REPLACEMENT_CHUNK, EpochDraws
from tests.strategies import examples


def _listed(n: int, num_samples: int, replacement: bool) -> list[int]:
    chunk = REPLACEMENT_CHUNK if replacement else n
    return [chunk] * (num_samples // chunk) + [num_samples % chunk]


@given(n=st.integers(1, 200), num_samples=st.integers(1, 700), replacement=st.booleans(),
       position=st.integers(0, 700), drawn=st.integers(0, 30))
def test_layout_matches_the_chunks_random_sampler_draws(n, num_samples, replacement,
                                                         position, drawn):
    if not replacement:
        num_samples = max(num_samples, 1)
    profile = TorchProfile.of(None)
    plan = EpochDraws(n, num_samples, replacement, False, profile, profile)
    layout, listed = plan.sizes(), _listed(n, num_samples, replacement)
    assert list(layout) == listed and len(layout) == len(listed)
    starts = [0, *itertools.accumulate(listed)][:-1]
    assert [layout.start(i) for i in range(len(listed))] == starts
    position = min(position, num_samples)
    used = bisect.bisect_right(list(itertools.accumulate(listed)), position)
    if used and not listed[used - 1]:
        used -= 1
    assert layout.used_up(position) == used
    drawn = min(drawn, len(listed))
    assert layout.holding(position, drawn) == [
        i for i in range(drawn) if starts[i] + listed[i] > position]
    for first in range(len(listed) + 1):
        assert layout.draws(plan.chunk_draws, first) == sum(
            plan.chunk_draws(size) for size in listed[first:])


@given(n=st.integers(1, 3000), num_samples=st.integers(1, 4000), replacement=st.booleans(),
       explicit=st.booleans(), handed=st.integers(1, 4000), seed=st.integers(0, 2**32))
@settings(max_examples=examples(60))
def test_the_draws_counted_for_the_chunks_drawn_are_what_random_sampler_took(
        n, num_samples, replacement, explicit, handed, seed):
    """timeline_draws(k) -- the self-check's floor -- is what a real RandomSampler had taken
    from the generator its timeline follows once it had drawn its first k chunks (measured
    between the generator's states), and own_draws() once it ran to its end."""
    profile = TorchProfile.of(None)
    plan = EpochDraws(n, num_samples, replacement, explicit, profile, profile)
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed) if explicit else torch.default_generator
    begin = read(gen).mt
    it = iter(RandomSampler(range(n), replacement, num_samples, generator=gen if explicit else None))
    handed = min(handed, num_samples)
    collections.deque(itertools.islice(it, handed), maxlen=0)
    drawn = plan.sizes().used_up(handed - 1) + 1  # the chunk holding the last index handed
    assert draws_between(begin, read(gen).mt, 10**7) == plan.timeline_draws(drawn)
    collections.deque(it, maxlen=0)
    assert draws_between(begin, read(gen).mt, 10**7) == plan.own_draws() \
        == plan.timeline_draws(len(plan.sizes()))
