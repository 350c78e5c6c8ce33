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
    "RANDOM64_DRAWS", "RANDPERM_LARGE_N", "SEED_DRAWS", "bernoulli_draws", "dropout_draws",
    "int64_random_draws", "rand_draws", "randint_bounds", "randint_draws", "random_draws",
    "random_sampler_draws", "random_split_draws", "randperm_draws",
]

#: Draws of ``random64()`` (two 32-bit draws, the first is the high half).
RANDOM64_DRAWS = 2
#: Draws of ``torch.empty((), dtype=torch.int64).random_()`` -- a seed for
#: RandomSampler's private generator, or a DataLoader iterator's ``_base_seed``.
SEED_DRAWS = 2

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


#: Significand bits (``std::numeric_limits<T>::digits``) and largest finite
#: value of torch's floating dtypes, for ``randint``'s rounding of its bounds.
_FLOAT_DIGITS = {"float32": (24, (2 - 2**-23) * 2**127), "float64": (53, 1.7976931348623157e308),
                 "bfloat16": (8, (2 - 2**-7) * 2**127), "float16": (11, 65504.0)}
#: Bounds of the integer dtypes (and bool) ``randint`` may fill.
_INT_BOUNDS = {"int8": (-2**7, 2**7 - 1), "int16": (-2**15, 2**15 - 1),
               "int32": (-2**31, 2**31 - 1), "int64": (-2**63, 2**63 - 1), "uint8": (0, 255),
               "bool": (0, 1), "uint16": (0, 2**16 - 1), "uint32": (0, 2**32 - 1),
               "uint64": (0, 2**64 - 1)}
_ALIASES = {"long": "int64", "int": "int32", "short": "int16", "float": "float32",
            "double": "float64", "half": "float16"}
#: dtypes for which torch <= 2.6 took the 64-bit draw at a range >= 2**32.
_WIDE_BEFORE_2_7 = {"int64", "float64", "float32", "bfloat16"}


def _dtype(dtype: Any) -> str:
    name = _dtype_name(dtype)
    name = _ALIASES.get(name, name)
    if name not in _FLOAT_DIGITS and name not in _INT_BOUNDS:
        raise ValueError(
            f"dtype must be one of torch's real dtypes ({', '.join(sorted({**_FLOAT_DIGITS, **_INT_BOUNDS}))}), "
            f"got {dtype!r}"
        )
    return name


def _as_float(x: int, digits: int) -> int:
    """``(int64)(T)x``: ``x`` rounded to ``digits`` significant bits, to nearest even."""
    mag = abs(x)
    shift = mag.bit_length() - digits
    if shift <= 0:
        return x
    q, r = divmod(mag, 1 << shift)
    half = 1 << (shift - 1)
    if r > half or (r == half and q & 1):
        q += 1
    return (q << shift) * (1 if x >= 0 else -1)


def randint_bounds(low: int, high: int, dtype: Any = "int64") -> tuple[int, int]:
    """``(from, to)`` as torch's ``random_from_to`` uses them for ``dtype``:
    for floating dtypes ``to`` is moved down (``update_to``) and ``from`` up
    (``update_from``) to values the dtype holds, so that no value rounds onto
    ``to``; e.g. float32 ``high=2**32`` becomes ``2**32 - 256``.

    Raises ``ValueError`` where torch refuses the bounds (``to - 1`` or
    ``from`` outside the dtype); torch draws nothing then.
    """
    lo, hi, name = operator.index(low), operator.index(high), _dtype(dtype)
    if hi <= lo:
        raise ValueError(f"high must be greater than low, got low={lo}, high={hi}")
    if name in _FLOAT_DIGITS:
        digits, largest = _FLOAT_DIGITS[name]
        to_minus_1 = _as_float(hi - 1, digits)
        if to_minus_1 >= hi and abs(to_minus_1) <= largest:
            n = abs(hi - 1).bit_length() - 1
            hi = to_minus_1 - (1 << (n - digits + 1))
        from_plus_1 = _as_float(lo + 1, digits)
        if from_plus_1 < lo and abs(from_plus_1) <= largest:
            n = abs(lo + 1).bit_length() - 1
            lo = from_plus_1 + (1 << (n - digits + 1))
        if lo >= hi:
            raise ValueError(
                f"randint(low={low}, high={high}, dtype={name}): low rounded to the dtype "
                f"({lo}) is not below high rounded to it ({hi})"
            )
        bounds = (-largest, largest)
    else:
        bounds = _INT_BOUNDS[name]
    for what, value in (("low", lo), ("high - 1", hi - 1)):
        if not bounds[0] <= value <= bounds[1]:
            raise ValueError(
                f"randint(low={low}, high={high}, dtype={name}): {what} = {value} is out of "
                f"bounds for {name}; torch refuses the call (and draws nothing)"
            )
    return lo, hi


def randint_draws(high: int, size: Any = 1, *, low: int = 0, dtype: Any = "int64",
                  profile: Any = None) -> int:
    """Draws of ``torch.randint(low, high, size, dtype=dtype)`` (or
    ``random_(low, high)``) on a CPU generator.

    One per element while the range -- ``high - low`` after the floating
    dtypes' rounding of the bounds (:func:`randint_bounds`) -- is below the
    wide threshold, two (``random64``) from it on: ``2**28`` for every dtype
    from torch 2.7, before that ``2**32`` for int64, float64, float32 and
    bfloat16 only.  Size 0 draws nothing.  Bounds torch refuses raise
    ``ValueError``.
    """
    count = _numel(size)
    prof = TorchProfile.of(profile)
    name = _dtype(dtype)
    lo, hi = randint_bounds(low, high, name)
    wide = hi - lo >= prof.randint_wide_from
    if not prof.randint_wide_any_dtype and name not in _WIDE_BEFORE_2_7:
        wide = False
    return count * (RANDOM64_DRAWS if wide else 1)


def random_draws(size: Any = 1, *, dtype: Any = "int64") -> int:
    """Draws of ``torch.empty(size, dtype=dtype).random_()`` (no bounds): two
    (``random64``) per int64 or float64 element, one for every other dtype;
    every release."""
    name = _dtype(dtype)
    return _numel(size) * (RANDOM64_DRAWS if name in ("int64", "float64") else 1)


_HALF = "float16"


def bernoulli_draws(size: Any = 1, *, dtype: Any = "float32", p_dtype: Any = None,
                    profile: Any = None, mkl: bool = True, intel_cpu: bool = True) -> int:
    """Draws of CPU ``t.bernoulli_(p)`` on a tensor of ``size`` and ``dtype``.

    ``p_dtype=None``: ``p`` is a Python float (also ``torch.bernoulli(t, p=float)``
    and dropout's noise).  Up to torch 2.6, in MKL builds, one draw per call,
    whatever the size, dtype or p (a seed for an MKL VSL stream); from 2.7 on,
    and in builds without MKL, two per element (``bernoulli_distribution<double>``).
    Size 0: nothing from 2.1 on, still the seed before.

    ``p_dtype`` a dtype: ``p`` is a tensor (0-dim too) of that dtype, also
    ``torch.bernoulli(p)``: per element of ``t``, one draw when ``p`` is
    float32/bfloat16/float16, two when float64, every release.

    ``mkl`` (``torch.backends.mkl.is_available()`` in the run's build) and
    ``intel_cpu`` (the run's CPU vendor; only torch <= 1.13 checked it) are
    not part of a run's description, so they are arguments here; the default
    is the standard Linux x86-64 wheel on an Intel CPU, as recorded.  Raises
    ``ValueError`` for float16 before torch 2.5, which refused it (after
    drawing the seed on the scalar path).
    """
    count = _numel(size)
    name = _dtype(dtype)
    prof = TorchProfile.of(profile)
    if p_dtype is not None:
        p_name = _dtype(p_dtype)
        if p_name not in _FLOAT_DIGITS:
            raise ValueError(f"p_dtype must be a floating dtype, got {p_dtype!r}")
        if name == _HALF and not prof.bernoulli_half_cpu:
            raise ValueError(f"bernoulli_ on a float16 CPU tensor is refused by {prof}")
        return count * (RANDOM64_DRAWS if p_name == "float64" else 1)
    if prof.bernoulli_scalar_per_call(mkl, intel_cpu):
        if name == _HALF and not prof.bernoulli_half_cpu:
            raise ValueError(
                f"bernoulli_(float) on a float16 CPU tensor is refused by {prof}, after the "
                "call drew its seed (1 draw)"
            )
        return 0 if count == 0 and prof.empty_draws_nothing else 1
    return RANDOM64_DRAWS * count


_DROPOUT_KINDS = ("dropout", "alpha_dropout", "feature_dropout", "feature_alpha_dropout")


def dropout_draws(shape: Any, p: float = 0.5, *, training: bool = True, kind: str = "dropout",
                  dtype: Any = "float32", profile: Any = None, mkl: bool = True,
                  intel_cpu: bool = True) -> int:
    """Draws of CPU dropout on an input of ``shape``: the noise tensor's
    ``bernoulli_(1 - p)`` (:func:`bernoulli_draws`, same ``mkl``/``intel_cpu``).

    ``kind``: ``"dropout"`` (``F.dropout``, ``nn.Dropout``) and
    ``"alpha_dropout"`` noise the whole input; ``"feature_dropout"``
    (``dropout1d/2d/3d``) and ``"feature_alpha_dropout"`` one value per
    ``(N, C)``.  Nothing is drawn for ``p`` 0 or 1, ``training=False`` or an
    empty input, in every release.
    """
    if kind not in _DROPOUT_KINDS:
        raise ValueError(f"kind must be one of {_DROPOUT_KINDS}, got {kind!r}")
    if is_integer(shape):
        shape = (shape,)
    dims = [_count(d, "shape") for d in shape]
    if not 0 <= p <= 1:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got p={p}")
    if not training or p in (0, 1) or math.prod(dims) == 0:
        return 0
    numel = math.prod(dims[:2]) if kind.startswith("feature") else math.prod(dims)
    return bernoulli_draws(numel, dtype=dtype, profile=profile, mkl=mkl, intel_cpu=intel_cpu)


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
