"""The epoch's chunk layout is arithmetic (nothing listed, so that resuming an
epoch of 10**7 samples with replacement costs no 312,500-entry lists); here it
is checked against the chunk list written out the way RandomSampler's loops
draw: ``num_samples // chunk`` full chunks, then the trailing one."""

from __future__ import annotations

import bisect
import itertools

from hypothesis import given
from hypothesis import strategies as st

from replay_sampler.core._profiles import TorchProfile
from replay_sampler.samplers._epochs import REPLACEMENT_CHUNK, EpochDraws


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
