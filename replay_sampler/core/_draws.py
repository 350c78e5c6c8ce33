"""How many 32-bit draws torch's operations take from a CPU generator (numpy only).

Each count is pinned by a test against the installed torch.  Behaviour that
changed between torch releases is keyed by a
:class:`~replay_sampler.core.TorchProfile` (``profile=``: a profile, a
version string, or ``None`` for the installed torch).
"""

from __future__ import annotations

import math
import operator
from typing import Any

from ._checks import count as _count
from ._checks import is_integer
from ._profiles import RANDPERM_LARGE_N, TorchProfile

__all__ = [
    "RANDOM64_DRAWS", "RANDPERM_LARGE_N", "SEED_DRAWS", "int64_random_draws", "rand_draws",
    "randint_draws", "random_sampler_draws", "random_split_draws", "randperm_draws",
]

#: Draws of ``random64()`` (two 32-bit draws, the first is the high half).
RANDOM64_DRAWS = 2
#: Draws of ``torch.empty((), dtype=torch.int64).random_()`` -- a seed for
#: RandomSampler's private generator, or a DataLoader iterator's ``_base_seed``.
SEED_DRAWS = 2

_WIDE_DTYPES = {"int64", "long", "float64", "double", "float32", "float", "float16",
                "half", "bfloat16", "uint64"}
_DOUBLE_DTYPES = {"float64", "double"}


def _numel(size: Any) -> int:
    if is_integer(size):
        return _count(size, "size")
    try:
        dims = [_count(d, "size") for d in size]
    except TypeError:
        raise TypeError(f"size must be an integer or a sequence of integers, got {size!r}") from None
    return math.prod(dims)


def _dtype_name(dtype: Any) -> str:
    return str(dtype).removeprefix("torch.")


def randperm_draws(n: int, profile: Any = None) -> int:
    """Draws of ``torch.randperm(n)`` on a CPU generator.

    ``n - 1`` (Fisher-Yates, ``z = draw % (n - i)``), none for ``n <= 1``;
    from torch 2.6 on, ``2 * n`` once ``n >= 2**32 // 20`` (inside-out
    shuffle with ``random64() % (i + 1)``).
    """
    n = _count(n, "n")
    prof = TorchProfile.of(profile)
    if n <= 1:
        return 0
    if prof.randperm_is_two_pass(n):
        return RANDOM64_DRAWS * n
    return n - 1


def randint_draws(high: int, size: Any = 1, *, low: int = 0, dtype: Any = "int64",
                  profile: Any = None) -> int:
    """Draws of ``torch.randint(low, high, size, dtype=dtype)`` on a CPU generator.

    One per element while ``high - low`` is below the wide threshold, two
    (``random64``) from it on: ``2**28`` for every dtype from torch 2.7, before
    that ``2**32`` for 64-bit and floating dtypes only.  Size 0 draws nothing.
    """
    span = operator.index(high) - operator.index(low)
    if span <= 0:
        raise ValueError(f"high must be greater than low, got low={low}, high={high}")
    count = _numel(size)
    prof = TorchProfile.of(profile)
    wide = span >= prof.randint_wide_from
    if not prof.randint_wide_any_dtype and _dtype_name(dtype) not in _WIDE_DTYPES:
        wide = False
    return count * (RANDOM64_DRAWS if wide else 1)


def rand_draws(size: Any = 1, *, dtype: Any = "float32") -> int:
    """Draws of ``torch.rand(size, dtype=dtype)``: one per element, two for float64."""
    count = _numel(size)
    return count * (RANDOM64_DRAWS if _dtype_name(dtype) in _DOUBLE_DTYPES else 1)


def int64_random_draws() -> int:
    """Draws of ``torch.empty((), dtype=torch.int64).random_()``: one ``random64``."""
    return SEED_DRAWS


def random_sampler_draws(n: int, num_samples: int | None = None, replacement: bool = False, *,
                         own_generator: bool = False, profile: Any = None) -> int:
    """Draws one full epoch of ``RandomSampler`` takes from the generator it draws from.

    With ``own_generator`` (``RandomSampler(generator=g)``): its permutations
    (one per full pass plus the trailing one from torch 1.11 on) or its
    ``randint`` draws, all from ``g``.  Without (``generator=None``), from the
    global generator, by the release's rules: the permutation itself (<= 1.6),
    a seed and then, by a bug, the permutation (1.7-1.8), or a seed only.
    """
    n = _count(n, "n")
    total = n if num_samples is None else _count(num_samples, "num_samples")
    prof = TorchProfile.of(profile)
    if n == 0:  # torch would fail to draw; nothing is drawn
        body = 0
    elif replacement:
        body = randint_draws(n, total, profile=prof) if total else 0
    else:
        passes = total // n + 1 if prof.sampler_trailing_randperm else 1
        body = passes * randperm_draws(n, prof)
    if own_generator:
        return body
    seed = SEED_DRAWS if prof.sampler_draws_seed() else 0
    return seed + (body if prof.sampler_chunks_on_global(replacement) else 0)


def random_split_draws(total: int, profile: Any = None) -> int:
    """Draws of ``random_split`` on a dataset of ``total`` items: one ``randperm``."""
    return randperm_draws(total, profile)
