"""The torch adapter: CPU generators in, MT19937 states out, and back."""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import torch

from . import _distance
from ._checks import count as _check_draws
from ._formats import TorchCPUState
from ._mt19937 import MT19937State


def check_cpu_generator(generator: Any, name: str = "generator") -> torch.Generator:
    """Return ``generator`` (``None`` meaning torch's global one) or raise."""
    if generator is None:
        return torch.default_generator
    if not isinstance(generator, torch.Generator):
        raise TypeError(f"{name} must be a torch.Generator, got {type(generator).__name__}")
    if generator.device.type != "cpu":
        raise ValueError(
            f"{name} is a {generator.device.type} generator; only CPU generators "
            "(MT19937) can be replayed -- accelerator generators are Philox counters "
            "whose state is (seed, offset), set with manual_seed/set_offset"
        )
    return generator


def _parse(generator: torch.Generator) -> TorchCPUState:
    return TorchCPUState.parse(generator.get_state().numpy(), "generator state")


def _store(generator: torch.Generator, state: TorchCPUState) -> None:
    generator.set_state(torch.frombuffer(bytearray(state.raw), dtype=torch.uint8))


def generator_state(generator: torch.Generator) -> MT19937State:
    return _parse(generator).mt


def set_generator_state(generator: torch.Generator, mt: MT19937State) -> None:
    """Replace the key and position only; seed and normal caches stay as they are."""
    _store(generator, _parse(generator).replace(mt))


def advance(generator: torch.Generator | None, draws: int) -> torch.Generator:
    """Move a CPU ``torch.Generator`` forward by ``draws`` 32-bit draws, in place.

    Afterwards the generator is byte for byte where it would be had it drawn
    ``draws`` words itself (``randperm(draws + 1)`` draws ``draws``, for
    example); the seed and the normal-sample caches are left as they were.
    ``generator=None`` means torch's global generator.  Time does not grow
    with ``draws`` (a few milliseconds for any 64-bit count).  Returns the
    generator.  On bad input nothing is changed.
    """
    gen = check_cpu_generator(generator)
    n = _check_draws(draws)
    if n:
        current = _parse(gen)
        _store(gen, current.replace(current.mt.advance(n)))
    return gen


def as_state(value: Any, name: str) -> MT19937State:
    """Coerce any supported generator or state to an :class:`MT19937State`."""
    if isinstance(value, MT19937State):
        return value
    if isinstance(value, torch.Generator):
        return generator_state(check_cpu_generator(value, name))
    if isinstance(value, torch.Tensor):
        return TorchCPUState.parse(value.detach().cpu().contiguous(), name).mt
    if isinstance(value, (bytes, bytearray, memoryview)):
        return TorchCPUState.parse(value, name).mt
    if isinstance(value, np.random.Generator):
        value = value.bit_generator
    if isinstance(value, np.random.MT19937):
        return MT19937State.from_numpy(value.state)
    if isinstance(value, np.random.RandomState):
        return MT19937State.from_numpy_legacy(value.get_state())
    if isinstance(value, random.Random):
        return MT19937State.from_python_random(value.getstate())
    if isinstance(value, dict):
        return MT19937State.from_numpy(value)
    if isinstance(value, tuple) and value and value[0] == "MT19937":
        return MT19937State.from_numpy_legacy(value)
    if isinstance(value, tuple) and value and value[0] == 3:
        return MT19937State.from_python_random(value)
    raise TypeError(
        f"{name} must be a CPU torch.Generator, a torch state tensor or bytes, a numpy "
        "MT19937/RandomState/Generator or its state, a random.Random or its state, or "
        f"an MT19937State; got {type(value).__name__}"
    )


def draws_between(a: Any, b: Any, limit: int) -> int:
    """How many 32-bit draws lead from state ``a`` to state ``b`` (at most ``limit``).

    ``a`` and ``b`` may be generators or states in any supported format
    (torch CPU, numpy MT19937, Python ``random``).  Raises
    :class:`~replay_sampler.NotReachedError` if ``b`` is not within ``limit``
    draws after ``a``.  Costs about 5 ns per draw searched.
    """
    return _distance.draws_between(as_state(a, "a"), as_state(b, "b"), limit)
