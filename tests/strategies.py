"""Hypothesis strategies shared by the tests."""

import numpy as np
from hypothesis import strategies as st

from replay_sampler.core import MT19937State

#: Seeds as users pass them to manual_seed: any 64-bit value.
seeds = st.integers(min_value=0, max_value=2**64 - 1)

#: Positions inside a block, with the edges weighted in.
positions = st.one_of(st.sampled_from([0, 1, 2, 623, 624]), st.integers(0, 624))

#: Draw counts around the block and polynomial boundaries, and beyond.
special_counts = st.sampled_from(
    [0, 1, 2, 623, 624, 625, 1247, 1248, 19937, 19938, 10**6, 10**8 + 7]
)
small_counts = st.integers(min_value=0, max_value=200_000)
counts = st.one_of(special_counts, small_counts, st.integers(0, 3 * 10**6))
big_counts = st.one_of(st.integers(0, 2**64 - 1), st.integers(0, 2**128))


@st.composite
def mt_states(draw, pos=positions):
    """Arbitrary MT19937 states: random keys at any position."""
    words = draw(st.binary(min_size=624 * 4, max_size=624 * 4))
    key = np.frombuffer(words, dtype="<u4").copy()
    return MT19937State(key, draw(pos))


@st.composite
def seeded_states(draw):
    """States as manual_seed leaves them, advanced to a random position."""
    state = MT19937State.from_seed(draw(seeds))
    return state.advance(draw(st.integers(0, 5000)))


def examples(n: int) -> int:
    """``n`` examples, scaled by REPLAY_TEST_SCALE for a more thorough run."""
    import os

    return max(1, int(n * float(os.environ.get("REPLAY_TEST_SCALE", "1"))))
