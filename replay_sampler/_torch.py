"""The torch adapter: the one place that converts between torch objects and core states.

torch generators and uint8 state tensors go in, :class:`~replay_sampler.core.TorchCPUState`
and :class:`~replay_sampler.core.MT19937State` come out, and back.  Every
other module above the core calls these instead of ``get_state()`` /
``set_state()`` / ``torch.frombuffer`` itself.
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import torch

from .core import _distance
from .core._checks import count as _check_draws
from .core._mt19937 import MT19937State, TorchCPUState


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


# -- generators <-> states ---------------------------------------------------------
def read(generator: torch.Generator) -> TorchCPUState:
    """A CPU generator's current state (trusted: torch wrote it)."""
    return TorchCPUState._trusted(generator.get_state().numpy().tobytes())


def write(generator: torch.Generator, state: TorchCPUState) -> None:
    """Set a CPU generator to ``state``."""
    generator.set_state(tensor(state))


def generator_at(state: TorchCPUState) -> torch.Generator:
    """A new private CPU generator in ``state``."""
    generator = torch.Generator()
    write(generator, state)
    return generator


def generator_state(generator: torch.Generator) -> MT19937State:
    return read(generator).mt


def set_generator_state(generator: torch.Generator, mt: MT19937State) -> None:
    """Replace the key and position only; seed and normal caches stay as they are."""
    write(generator, read(generator).replace(mt))


# -- tensors <-> states ------------------------------------------------------------------
def tensor(state: TorchCPUState | bytes) -> torch.Tensor:
    """A state as the uint8 tensor torch's ``get_state()`` returns (a copy)."""
    raw = state.raw if isinstance(state, TorchCPUState) else state
    return torch.frombuffer(bytearray(raw), dtype=torch.uint8)


def parse(value: Any, name: str) -> TorchCPUState:
    """A saved torch CPU state -- a uint8 tensor on any device, bytes, a uint8
    array -- validated; the error names ``name``."""
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().contiguous().numpy()
    return TorchCPUState.parse(value, name)


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
        write(gen, read(gen).advance(n))
    return gen


def as_state(value: Any, name: str) -> MT19937State:
    """Coerce any supported generator or state to an :class:`MT19937State`."""
    if isinstance(value, MT19937State):
        return value
    if isinstance(value, TorchCPUState):
        return value.mt
    if isinstance(value, torch.Generator):
        return generator_state(check_cpu_generator(value, name))
    if isinstance(value, (torch.Tensor, bytes, bytearray, memoryview)):
        return parse(value, name).mt
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
