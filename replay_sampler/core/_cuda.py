"""The CUDA generator state value type :class:`TorchCUDAState` (no numpy, no torch).

Each CUDA device has a default generator: a Philox4x32-10 counter generator
whose whole state is a ``uint64`` seed and an ``int64`` offset
(``CUDAGeneratorImpl::get_state`` in ``aten/src/ATen/cuda/CUDAGeneratorImpl.cpp``;
the layout is in :mod:`._formats`).  What torch does with it, from that file,
``torch/cuda/random.py`` and ``torch/random.py``:

* ``torch.manual_seed(s)`` calls ``torch.cuda.manual_seed_all(s)``, which sets
  every device to ``(s mod 2**64, 0)`` -- at once if CUDA is initialised,
  otherwise queued and run when it is (the devices' generators are created,
  seeded at random, and then given the queued seed at initialisation).
* Every random kernel reserves ``increment`` offset units for each of its
  threads and advances the device's offset by that, rounded up to a multiple
  of 4 (``CUDAGeneratorState::increase``).  The increment depends on the
  element count and the launch grid, which depends on the device's SM count
  (``calc_execution_policy``): fixed for the same code, shapes, dtypes, GPU
  model and build.
* ``set_state`` takes these 16 bytes (or 8: a seed, offset 0) and refuses an
  offset that is not a multiple of 4.

So a device's state at the start of epoch ``E`` of a loop with a fixed amount
of GPU random work is ``(seed, prologue + E * per_epoch)``: arithmetic on the
offset, no jump.  :class:`TorchCUDAState` holds such a state, validated.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import _formats
from ._checks import integer as _integer
from ._checks import multiple as _multiple
from ._formats import CUDA_OFFSET_STEP

__all__ = ["CUDA_OFFSET_STEP", "TorchCUDAState"]

_SEED_LIMIT = 1 << 64
_OFFSET_LIMIT = 1 << 63  # torch stores the offset as an int64


@dataclass(frozen=True)
class TorchCUDAState:
    """A CUDA device generator's state: ``seed`` and Philox ``offset``.

    Immutable and validated: ``seed`` in ``[0, 2**64)``, ``offset`` a
    non-negative multiple of 4 below ``2**63``.  Build one from the bytes of
    ``torch.cuda.get_rng_state()`` with :meth:`parse` (:meth:`parse_legacy`
    for torch 1.2-2.0's 816 bytes), or from a seed with :meth:`fresh`;
    :attr:`raw` gives the bytes ``set_state`` takes.
    """

    seed: int
    offset: int = 0

    def __post_init__(self) -> None:
        seed = _integer(self.seed, "seed", 0)
        if seed >= _SEED_LIMIT:
            raise ValueError(f"seed must be in [0, 2**64), got {seed}")
        offset = _multiple(self.offset, "offset", CUDA_OFFSET_STEP)
        if offset >= _OFFSET_LIMIT:
            raise ValueError(f"offset must be below 2**63 (torch keeps it in an int64), got {offset}")
        object.__setattr__(self, "seed", seed)
        object.__setattr__(self, "offset", offset)

    # -- constructors -----------------------------------------------------------
    @classmethod
    def fresh(cls, seed: int) -> TorchCUDAState:
        """What ``torch.manual_seed(seed)`` leaves on every CUDA device: the
        seed as a ``uint64`` (negative seeds wrap, as torch's do), offset 0."""
        return cls(_integer(seed, "seed") % _SEED_LIMIT, 0)

    @classmethod
    def parse(cls, value: Any, name: str = "state") -> TorchCUDAState:
        """Validate ``value`` (bytes, a uint8 array or a tensor's ``.numpy()``) as
        the 16 bytes of ``torch.cuda.get_rng_state()``; the error names ``name``."""
        return cls(*_formats.check_cuda(_formats.as_bytes(value, name), name))

    @classmethod
    def parse_legacy(cls, value: Any, name: str = "state") -> TorchCUDAState:
        """A torch 1.2-2.0 816-byte CUDA state (0xFF padding, seed, offset)."""
        return cls(*_formats.check_cuda_legacy(_formats.as_bytes(value, name), name))

    @classmethod
    def parse_saved(cls, value: Any, name: str = "state") -> TorchCUDAState:
        """Either layout, as checkpoints of any release since 1.2 hold them."""
        data = _formats.as_bytes(value, name)
        if len(data) == _formats.CUDA_LEGACY_STATE_SIZE:
            return cls(*_formats.check_cuda_legacy(data, name))
        return cls(*_formats.check_cuda(data, name))

    # -- layouts ------------------------------------------------------------------
    @property
    def raw(self) -> bytes:
        """The 16 bytes ``get_state`` returns and ``set_state`` takes."""
        return _formats.cuda_bytes(self.seed, self.offset)

    @property
    def legacy_raw(self) -> bytes:
        """The 816 bytes torch 1.2-2.0's ``get_state`` returned for it."""
        return _formats.cuda_legacy_bytes(self.seed, self.offset)

    # -- stepping -------------------------------------------------------------------
    def advance(self, units: int) -> TorchCUDAState:
        """The state after random kernels advanced the offset by ``units``
        (a non-negative multiple of 4), the seed kept."""
        n = _multiple(units, "units", CUDA_OFFSET_STEP)
        if self.offset + n >= _OFFSET_LIMIT:
            raise ValueError(
                f"advancing offset {self.offset} by {n} units passes 2**63, where torch's "
                "int64 offset ends"
            )
        return TorchCUDAState(self.seed, self.offset + n)
