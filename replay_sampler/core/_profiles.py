"""The per-release rules of torch's drawing: :class:`TorchProfile` (numpy only).

Every behaviour that changed between torch releases and that a count of
draws, a sampler or a reconstruction depends on is a property or method of
:class:`TorchProfile` -- nowhere else does code compare release numbers.
The default profile is the installed torch's, read from the package
metadata without importing torch.
"""

from __future__ import annotations

import enum
import functools
import importlib.metadata
import re
from dataclasses import dataclass
from typing import Any

from ._checks import integer as _integer

#: ``randperm(n)`` takes the two-pass path (2 draws per element) from this n on
#: (``n < 2**32 // 20`` is the condition for the one-draw path), torch >= 2.6.
RANDPERM_LARGE_N = (1 << 32) // 20

#: The oldest release a profile describes.
OLDEST = (1, 0)


class SamplerGlobalDraws(enum.Enum):
    """What one epoch of ``RandomSampler(generator=None)`` draws from torch's
    global generator, by release."""

    #: torch 1.0-1.6: the permutation itself (``randperm(n)``), or the
    #: ``randint`` values with replacement.
    PERMUTATION = "randperm"
    #: torch 1.7-1.8: a seed for a private generator, and then, by a bug,
    #: the permutation from the global generator anyway (with replacement,
    #: the private generator is used as intended).
    SEED_THEN_PERMUTATION = "seed+randperm"
    #: torch 1.9 on: a seed only; the permutation comes from a private
    #: generator seeded with it.
    SEED = "seed"


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
            major, minor = (_integer(v, "torch_version", 0) for v in version[:2])
        elif isinstance(version, str):
            match = re.match(r"^\s*(\d+)\.(\d+)", version)
            if not match:
                raise ValueError(
                    f"torch_version must look like '2.13' or '1.8.1', got {version!r}"
                )
            major, minor = int(match.group(1)), int(match.group(2))
        else:
            raise TypeError(f"torch_version must be a string like '2.13', got {version!r}")
        if (major, minor) < OLDEST:
            raise ValueError(
                f"torch_version must be {OLDEST[0]}.{OLDEST[1]} or later, got {major}.{minor}"
            )
        return cls((major, minor))

    def __str__(self) -> str:
        return f"torch {self.version[0]}.{self.version[1]}"

    @property
    def name(self) -> str:
        """``"major.minor"``, as state dicts and descriptions record it."""
        return f"{self.version[0]}.{self.version[1]}"

    # -- kernels --------------------------------------------------------------------
    @property
    def randperm_two_pass(self) -> bool:
        """``randperm(n)`` switches to 2 draws per element for large n (2.6+)."""
        return self.version >= (2, 6)

    def randperm_is_two_pass(self, n: int) -> bool:
        """Does ``randperm(n)`` take the two-pass path (``random64`` per element)?"""
        return self.randperm_two_pass and n >= RANDPERM_LARGE_N

    @property
    def randint_wide_from(self) -> int:
        """Range from which ``randint`` draws 64 bits per element."""
        return 1 << 28 if self.version >= (2, 7) else 1 << 32

    @property
    def randint_wide_any_dtype(self) -> bool:
        """From 2.7 on the wide path is taken for every dtype; before, only for
        64-bit and floating dtypes (the others cannot hold such a range)."""
        return self.version >= (2, 7)

    # -- RandomSampler ---------------------------------------------------------------
    @property
    def sampler_global_draws(self) -> SamplerGlobalDraws:
        """What one ``RandomSampler(generator=None)`` epoch draws globally."""
        if self.version < (1, 7):
            return SamplerGlobalDraws.PERMUTATION
        if self.version < (1, 9):
            return SamplerGlobalDraws.SEED_THEN_PERMUTATION
        return SamplerGlobalDraws.SEED

    def sampler_draws_seed(self) -> bool:
        """Does ``RandomSampler(generator=None)`` draw a seed (2 draws) per epoch?"""
        return self.sampler_global_draws is not SamplerGlobalDraws.PERMUTATION

    def sampler_chunks_on_global(self, replacement: bool) -> bool:
        """Does ``RandomSampler(generator=None)`` draw its permutations (or
        ``randint`` values) from the global generator itself?"""
        mode = self.sampler_global_draws
        if mode is SamplerGlobalDraws.PERMUTATION:
            return True
        return mode is SamplerGlobalDraws.SEED_THEN_PERMUTATION and not replacement

    @property
    def sampler_trailing_randperm(self) -> bool:
        """``num_samples`` without replacement, and epochs that end with
        ``randperm(n)[:num_samples % n]`` even at remainder 0 (1.11+)."""
        return self.version >= (1, 11)

    # -- random_split, DataLoader, workers -------------------------------------------------
    @property
    def split_accepts_fractions(self) -> bool:
        """``random_split`` takes fractions summing to 1 (1.13+)."""
        return self.version >= (1, 13)

    @property
    def loader_generator(self) -> bool:
        """``DataLoader(generator=)`` exists and seeds ``_base_seed`` (1.6+)."""
        return self.version >= (1, 6)

    @property
    def worker_numpy_seeded(self) -> bool:
        """Workers seed numpy's legacy global generator from the base seed (1.9+)."""
        return self.version >= (1, 9)

    # -- state layout ---------------------------------------------------------------
    @property
    def state_size(self) -> int:
        """Bytes of ``torch.get_rng_state()``: 5048 before 1.2 (no float normal
        cache), 5056 since."""
        return 5048 if self.version < (1, 2) else 5056

    # -- CUDA generators -----------------------------------------------------------
    @property
    def cuda_offsets_aligned(self) -> bool:
        """Every CUDA Philox offset increment is rounded up to a multiple of 4
        (1.8+, pytorch#50169), so a seeded device's offset always is one; the
        reconstruction of CUDA states models these releases only."""
        return self.version >= (1, 8)

    @property
    def cuda_state_size(self) -> int:
        """Bytes of ``torch.cuda.get_rng_state()`` in the releases CUDA
        reconstruction models: 816 before 2.1 (800 bytes of 0xFF where MTGP32
        states had been, then seed and offset), 16 since (pytorch#98787)."""
        return 816 if self.version < (2, 1) else 16
