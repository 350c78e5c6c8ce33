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
import warnings
from dataclasses import dataclass
from typing import Any

from ._checks import integer as _integer

#: ``randperm(n)`` takes the two-pass path (2 draws per element) from this n on
#: (``n < 2**32 // 20`` is the condition for the one-draw path), torch >= 2.6.
RANDPERM_LARGE_N = (1 << 32) // 20

#: The oldest release a profile describes.
OLDEST = (1, 0)
#: The newest release whose rules are known (recorded); later 2.x releases
#: are taken to follow its rules, with a warning.
NEWEST = (2, 14)
#: Releases whose rules were recorded from the real release
#: (``tests/reference/vectors``); the others are modelled from source only.
RECORDED = ((1, 13), (2, 0), (2, 5), (2, 6), (2, 7), (2, 13), (2, 14))


def _known() -> str:
    recorded = ", ".join(f"{a}.{b}" for a, b in RECORDED)
    return (f"profiles describe torch {OLDEST[0]}.{OLDEST[1]} to {NEWEST[0]}.{NEWEST[1]} "
            f"(recorded from the real release: {recorded})")


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


@functools.cache
def _warn_newer(version: tuple[int, int]) -> None:
    """Warn once per release newer than every known profile."""
    warnings.warn(
        f"torch {version[0]}.{version[1]} is newer than every release whose draws are known; "
        f"it is taken to draw as torch {NEWEST[0]}.{NEWEST[1]} does ({_known()}). Check a "
        "reconstruction against a saved state (check()) before trusting it",
        stacklevel=4,
    )


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
                    f"torch_version must look like '2.13' or '1.8.1', got {version!r}; {_known()}"
                )
            major, minor = int(match.group(1)), int(match.group(2))
        else:
            raise TypeError(f"torch_version must be a string like '2.13', got {version!r}")
        if (major, minor) < OLDEST:
            raise ValueError(
                f"torch_version must be {OLDEST[0]}.{OLDEST[1]} or later, got {major}.{minor}; "
                f"{_known()}"
            )
        if major > NEWEST[0]:
            raise ValueError(
                f"torch_version {major}.{minor} is a major release no profile describes; "
                f"{_known()}"
            )
        if (major, minor) > NEWEST:
            _warn_newer((major, minor))
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
        """Range (``to - from`` after the float dtypes' rounding of the bounds)
        from which ``randint``/``random_(from, to)`` draw 64 bits per element."""
        return 1 << 28 if self.version >= (2, 7) else 1 << 32

    @property
    def randint_wide_any_dtype(self) -> bool:
        """From 2.7 on the wide path is taken for every dtype; before, only for
        int64, float64, float32 and bfloat16 (not int32 even at a range of
        2**32, not float16)."""
        return self.version >= (2, 7)

    @property
    def recorded(self) -> bool:
        """Were this release's rules recorded from the real release
        (``tests/reference/vectors``), or are they modelled from source only?"""
        return self.version in RECORDED

    @property
    def empty_draws_nothing(self) -> bool:
        """Every distribution op returns before drawing on an empty tensor
        (``CHECK_EMPTY_AND_RETURN``, pytorch#103507, 2.1+); before, the MKL
        ``bernoulli_``/``exponential_`` kernels still drew their seed."""
        return self.version >= (2, 1)

    def bernoulli_scalar_per_call(self, mkl: bool = True, intel_cpu: bool = True) -> bool:
        """Does CPU ``bernoulli_(p: float)`` (and dropout) draw one 32-bit seed
        per call (an MKL VSL stream) rather than two draws per element?

        Only up to 2.6, only in MKL builds (``torch.backends.mkl.is_available()``),
        and up to 1.13 only on an Intel CPU (the kernel checked the vendor);
        2.0-2.6 binaries have no vendor check.  From 2.7 public builds compile
        the MKL path out (pytorch#146174).  Neither the build nor the CPU is
        part of a run's description: callers take them as arguments.
        """
        if self.version >= (2, 7) or not mkl:
            return False
        return intel_cpu or self.version >= (2, 0)

    @property
    def bernoulli_half_cpu(self) -> bool:
        """Does CPU ``bernoulli_`` accept float16 tensors?  Refused on 2.0.1
        (the MKL kernel's dispatch lacked Half; after drawing its seed),
        accepted on 2.5.1; releases between are taken as 2.5 (not pinned)."""
        return self.version >= (2, 5)

    def exponential_per_call(self, mkl: bool = True) -> bool:
        """Does CPU ``exponential_`` (and ``multinomial`` without replacement)
        draw one seed per call (MKL VSL, 2.0-2.6 MKL builds) rather than two
        draws per element?"""
        return mkl and (2, 0) <= self.version < (2, 7)

    @property
    def multinomial_k1_fast_path(self) -> bool:
        """``multinomial(probs, 1, replacement=True)`` takes the exponential
        fast path (2.0+); on 1.13 the replacement kernel."""
        return self.version >= (2, 0)

    @property
    def normal_half_blocks(self) -> bool:
        """Contiguous bfloat16/float16 ``normal_`` with ``n >= 16`` draws
        ``16 * ceil(n / 16)`` (2.13, 2.14 recorded) rather than
        ``n + 16 * [n % 16 != 0]`` (<= 2.7).  The change lies between 2.7 and
        2.13 and is not pinned; 2.8-2.12 are taken as 2.13."""
        return self.version >= (2, 8)

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
