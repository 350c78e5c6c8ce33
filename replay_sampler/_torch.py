"""The torch adapter: the one place that converts between torch objects and core states.

torch generators and uint8 state tensors go in, :class:`~replay_sampler.core.TorchCPUState`
and :class:`~replay_sampler.core.MT19937State` come out, and back; likewise
each CUDA device's default generator and :class:`~replay_sampler.core.TorchCUDAState`.
Every other module above the core calls these instead of ``get_state()`` /
``set_state()`` / ``torch.frombuffer`` itself.
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import torch

from .core import _distance
from .core._checks import count as _check_draws
from .core._cuda import TorchCUDAState
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


# -- CUDA generators <-> states ----------------------------------------------------------
# NOTE [ CUDA generators are seeded at initialisation ]
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
# torch.manual_seed(s) before CUDA is initialised only queues
# torch.cuda.manual_seed_all(s) (torch/cuda/__init__.py, _lazy_call with
# seed_all=True); so does torch.cuda.set_rng_state(...), into another queue.
# At initialisation (_lazy_init) the queued seeding runs *after* the other
# queued calls, so a state set through torch.cuda.set_rng_state_all before
# initialisation is overwritten by (s, 0).  Every function here therefore
# initialises CUDA first (torch.cuda.init(), which runs the queued seeding)
# and then reads or sets torch.cuda.default_generators[i] directly.
def cuda_device_count() -> int:
    """Devices ``torch.cuda.get_rng_state_all()`` covers; 0 without CUDA."""
    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def _cuda_generators() -> tuple[torch.Generator, ...]:
    torch.cuda.init()  # see NOTE [ CUDA generators are seeded at initialisation ]
    return tuple(torch.cuda.default_generators)


def read_cuda_all() -> tuple[TorchCUDAState, ...]:
    """Every CUDA device's default generator state, in device order."""
    return tuple(
        TorchCUDAState.parse(gen.get_state().numpy(), f"cuda:{i} state")
        for i, gen in enumerate(_cuda_generators())
    )


def write_cuda_all(states: tuple[TorchCUDAState, ...]) -> None:
    """Set every CUDA device's default generator; ``states`` must hold one per
    device (checked before anything is set)."""
    generators = _cuda_generators()
    if len(states) != len(generators):
        raise RuntimeError(
            f"{len(states)} CUDA states given for {len(generators)} CUDA devices; nothing was set"
        )
    tensors = [cuda_tensor(state) for state in states]
    for gen, value in zip(generators, tensors):
        gen.set_state(value)


def cuda_tensor(state: TorchCUDAState, legacy: bool = False) -> torch.Tensor:
    """A CUDA state as the uint8 tensor ``torch.cuda.get_rng_state()`` returns
    (``legacy``: torch 1.2-2.0's 816-byte layout)."""
    raw = state.legacy_raw if legacy else state.raw
    return torch.frombuffer(bytearray(raw), dtype=torch.uint8)


def parse_cuda(value: Any, name: str, layout: str = "current") -> TorchCUDAState:
    """A saved CUDA state -- a uint8 tensor on any device, bytes, a uint8 array
    -- validated; ``layout``: ``"current"`` (16 bytes), ``"legacy"`` (816) or
    ``"any"``.  The error names ``name``."""
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().contiguous().numpy()
    if layout == "legacy":
        return TorchCUDAState.parse_legacy(value, name)
    if layout == "any":
        return TorchCUDAState.parse_saved(value, name)
    return TorchCUDAState.parse(value, name)
