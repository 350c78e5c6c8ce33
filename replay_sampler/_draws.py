"""How many 32-bit draws torch's operations take from a CPU generator (numpy only).

Each count is pinned by a test against the installed torch.  Behaviour that
changed between torch releases is keyed by a :class:`TorchProfile`; the
default profile is the installed torch's, read from the package metadata
without importing torch.
"""

from __future__ import annotations

import functools
import importlib.metadata
import math
import operator
import re
from dataclasses import dataclass
from typing import Any

from ._checks import count as _count

#: ``randperm(n)`` takes the two-pass path (2 draws per element) from this n on
#: (``n < 2**32 // 20`` is the condition for the one-draw path), torch >= 2.6.
RANDPERM_LARGE_N = (1 << 32) // 20
#: Draws of ``random64()`` (two 32-bit draws, the first is the high half).
RANDOM64_DRAWS = 2
#: Draws of ``torch.empty((), dtype=torch.int64).random_()`` -- a seed for
#: RandomSampler's private generator, or a DataLoader iterator's ``_base_seed``.
SEED_DRAWS = 2

_WIDE_DTYPES = {"int64", "long", "float64", "double", "float32", "float", "float16",
                "half", "bfloat16", "uint64"}
_DOUBLE_DTYPES = {"float64", "double"}


def _numel(size: Any) -> int:
    if hasattr(type(size), "__index__") and not isinstance(size, bool):
        return _count(size, "size")
    try:
        dims = [_count(d, "size") for d in size]
    except TypeError:
        raise TypeError(f"size must be an integer or a sequence of integers, got {size!r}") from None
    return math.prod(dims)


def _dtype_name(dtype: Any) -> str:
    return str(dtype).removeprefix("torch.")


@functools.cache
def _installed_torch() -> str:
    try:
        return importlib.metadata.version("torch")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover
        raise ValueError("torch is not installed; pass torch_version explicitly") from None


@dataclass(frozen=True, order=True)
class TorchProfile:
    """The rules a given torch release follows when it draws.

    ``version`` is ``(major, minor)``.  Build one with :meth:`of`.
    """

    version: tuple[int, int]

    @classmethod
    def of(cls, version: Any = None) -> TorchProfile:
        """Profile for ``version``: ``"1.8.1"``, ``(2, 5)``, a profile, or ``None``
        for the installed torch."""
        if isinstance(version, TorchProfile):
            return version
        if version is None:
            version = _installed_torch()
        if isinstance(version, tuple) and len(version) >= 2:
            major, minor = (_count(v, "torch_version") for v in version[:2])
        elif isinstance(version, str):
            match = re.match(r"^\s*(\d+)\.(\d+)", version)
            if not match:
                raise ValueError(f"torch_version must look like '2.13' or '1.8.1', got {version!r}")
            major, minor = int(match.group(1)), int(match.group(2))
        else:
            raise TypeError(f"torch_version must be a string like '2.13', got {version!r}")
        if (major, minor) < (1, 0):
            raise ValueError(f"torch_version must be 1.0 or later, got {major}.{minor}")
        return cls((major, minor))

    def __str__(self) -> str:
        return f"torch {self.version[0]}.{self.version[1]}"

    # -- per-release rules ----------------------------------------------------
    @property
    def randperm_two_pass(self) -> bool:
        """``randperm(n)`` switches to 2 draws per element for large n (2.6+)."""
        return self.version >= (2, 6)

    @property
    def randint_wide_from(self) -> int:
        """Range from which ``randint`` draws 64 bits per element."""
        return 1 << 28 if self.version >= (2, 7) else 1 << 32

    @property
    def sampler_global_draws(self) -> str:
        """What one ``RandomSampler(generator=None)`` epoch draws globally.

        ``"randperm"`` (1.0-1.6), ``"seed+randperm"`` (1.7-1.8, a bug drew the
        permutation from the global generator too), ``"seed"`` (1.9+).
        """
        if self.version < (1, 7):
            return "randperm"
        if self.version < (1, 9):
            return "seed+randperm"
        return "seed"

    @property
    def sampler_trailing_randperm(self) -> bool:
        """Epochs end with ``randperm(n)[:num_samples % n]`` even at remainder 0 (1.11+)."""
        return self.version >= (1, 11)

    @property
    def split_accepts_fractions(self) -> bool:
        return self.version >= (1, 13)

    @property
    def loader_generator(self) -> bool:
        """``DataLoader(generator=)`` exists and seeds ``_base_seed`` (1.6+)."""
        return self.version >= (1, 6)

    @property
    def worker_numpy_seeded(self) -> bool:
        """Workers seed numpy from the base seed (1.9+)."""
        return self.version >= (1, 9)

    @property
    def state_size(self) -> int:
        return 5048 if self.version < (1, 2) else 5056


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
    if prof.randperm_two_pass and n >= RANDPERM_LARGE_N:
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
    if prof.version < (2, 7) and _dtype_name(dtype) not in _WIDE_DTYPES:
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
    mode = prof.sampler_global_draws
    if mode == "randperm":
        return body
    if mode == "seed+randperm" and not replacement:
        return SEED_DRAWS + body
    return SEED_DRAWS


def random_split_draws(total: int, profile: Any = None) -> int:
    """Draws of ``random_split`` on a dataset of ``total`` items: one ``randperm``."""
    return randperm_draws(total, profile)
