"""How many draws separate two MT19937 states (numpy only)."""

from __future__ import annotations

import numpy as np

from ._checks import count as _check_draws
from ._errors import NotReachedError
from ._mt19937 import MT19937State

#: Draws generated per scan step: small first, so short distances are cheap,
#: then up to ~4 MB of outputs at a time.
_FIRST_CHUNK, _CHUNK = 1 << 10, 1 << 20
#: Outputs of ``b`` a candidate must match: a full recurrence window.  Tempering
#: is a bijection, so 624 equal outputs are 624 equal words, which determine
#: every later one -- the two states are one stream (``MT19937State.same_stream``)
#: with no jump or untempering to confirm it.
_SIGNATURE = 624


def draws_between(a: MT19937State, b: MT19937State, limit: int) -> int:
    """The number of draws ``d <= limit`` with ``a.advance(d)`` equal to ``b``.

    "Equal" means the two states give the same draws forever
    (:meth:`MT19937State.same_stream`).  Raises :class:`NotReachedError` when
    no such ``d`` exists.  The search scans ``a``'s output stream in C,
    about 5 ns per draw of ``limit`` -- it is the inverse of a jump, for which
    no shortcut is known, so keep ``limit`` to what a loop can plausibly draw.
    """
    if not isinstance(a, MT19937State) or not isinstance(b, MT19937State):
        raise TypeError(
            f"a and b must be MT19937State, got {type(a).__name__} and {type(b).__name__}"
        )
    limit = _check_draws(limit, "limit")
    signature, _ = b.random_raw(_SIGNATURE)
    state = a
    tail = np.empty(0, dtype=np.uint32)  # last outputs of the previous chunk
    produced = 0  # outputs of a generated so far
    chunk = _FIRST_CHUNK
    while produced - len(tail) <= limit:
        fresh, state = state.random_raw(min(chunk, limit + _SIGNATURE - produced))
        chunk = min(2 * chunk, _CHUNK)
        outputs = np.concatenate([tail, fresh])
        first = produced - len(tail)  # draws from a to outputs[0]
        produced += len(fresh)
        for hit in np.flatnonzero(outputs[: len(outputs) - _SIGNATURE + 1] == signature[0]):
            d = first + int(hit)
            if d <= limit and np.array_equal(outputs[hit : hit + _SIGNATURE], signature):
                return d
        tail = outputs[len(outputs) - _SIGNATURE + 1 :]
        if len(fresh) == 0:
            break
    raise NotReachedError(f"state b is not reached within {limit} draws of state a")
