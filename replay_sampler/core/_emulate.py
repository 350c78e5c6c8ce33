"""Older torch releases' sampling algorithms, where current torch computes differently.

numpy only.  Used when a run made with an older torch must be replayed on a
newer one: ``randperm(n)`` for ``n >= 2**32 // 20`` before torch 2.6, and
``randint`` over a range in ``[2**28, 2**32)`` before torch 2.7.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ._mt19937 import MT19937State


def randperm_one_pass(
    state: MT19937State, n: int, progress: Callable[[int, int], None] | None = None
) -> tuple[list[int], MT19937State]:
    """torch's one-pass ``randperm(n)``: Fisher-Yates, ``z = draw % (n - i)``,
    swapping positions ``i`` and ``i + z`` -- ``n - 1`` draws.

    Current torch still uses it below ``2**32 // 20``; for larger ``n`` this
    is the only way to get what torch < 2.6 gave.  The swaps are sequential,
    so this runs a Python loop: about a minute per 10**8 elements.
    """
    if n <= 1:
        return list(range(n)), state
    draws, after = state.random_raw(n - 1)
    offsets = (draws.astype(np.uint64) % np.arange(n, 1, -1, dtype=np.uint64)).tolist()
    perm = list(range(n))
    step = max(1, (n - 1) // 100)
    for i, z in enumerate(offsets):
        j = i + z
        perm[i], perm[j] = perm[j], perm[i]
        if progress is not None and i % step == 0:
            progress(i, n - 1)
    return perm, after


def randint_one_draw(state: MT19937State, high: int, count: int, low: int = 0) -> tuple[list[int], MT19937State]:
    """``randint(low, high, (count,))`` drawing one 32-bit word per element
    (``draw % range + low``): what torch < 2.7 did for ranges below 2**32."""
    span = high - low
    if not 0 < span <= 1 << 32:
        raise ValueError(f"high - low must be in [1, 2**32], got {span}")
    draws, after = state.random_raw(count)
    return ((draws.astype(np.uint64) % np.uint64(span)).astype(np.int64) + low).tolist(), after
