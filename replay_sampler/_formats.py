"""Generator state formats (numpy only: torch states are handled as bytes).

* torch's CPU generator, ``torch.get_rng_state()`` / ``Generator.get_state()``:
  5056 bytes, little-endian ``CPUGeneratorImplState``::

      uint64 seed; int32 left; int32 seeded; uint64 next; uint64 state[624];
      double normal_x, normal_y, normal_rho; int32 normal_is_valid; (pad 4)
      float next_float_normal_sample; bool valid; (pad 3)

  with ``pos = 625 - left``.  Everything but ``left``, ``next`` and
  ``state`` is carried over byte for byte when a state is moved.
* numpy's ``MT19937().state`` dict and ``np.random.get_state()`` tuple.
* Python's ``random.getstate()``: ``(3, (key..., pos), gauss_next)``.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._mt19937 import MT19937State, N

TORCH_STATE_SIZE = 5056
TORCH_LEGACY_STATE_SIZE = 5048
_STATE_OFFSET = 24
_HEADER = np.dtype(
    [("seed", "<u8"), ("left", "<i4"), ("seeded", "<i4"), ("next", "<u8"), ("state", "<u8", (N,))]
)


def _as_bytes(value: Any, name: str) -> bytes:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    try:
        array = np.asarray(value)
    except Exception as exc:  # pragma: no cover - exotic objects
        raise TypeError(f"{name} must be bytes or a uint8 tensor/array, got {type(value).__name__}") from exc
    if array.dtype != np.uint8:
        raise TypeError(
            f"{name} must be bytes or a uint8 tensor/array (torch.ByteTensor), "
            f"got dtype {array.dtype} from a {type(value).__name__}"
        )
    return array.tobytes()


@dataclass(frozen=True)
class TorchCPUState:
    """A torch CPU generator state, parsed and validated."""

    raw: bytes

    @classmethod
    def parse(cls, value: Any, name: str = "state") -> TorchCPUState:
        data = _as_bytes(value, name)
        size = len(data)
        if size == TORCH_LEGACY_STATE_SIZE:
            raise ValueError(
                f"{name} is a {size}-byte state, the format of torch 1.0/1.1, which current "
                f"torch.set_rng_state refuses; expected the {TORCH_STATE_SIZE}-byte CPU "
                "generator state of torch >= 1.2"
            )
        if size == 16:
            raise ValueError(
                f"{name} is 16 bytes, the size of a CUDA (Philox: seed, offset) generator "
                f"state; only the {TORCH_STATE_SIZE}-byte CPU MT19937 state can be replayed"
            )
        if size != TORCH_STATE_SIZE:
            raise ValueError(
                f"{name} must be a {TORCH_STATE_SIZE}-byte torch CPU generator state "
                f"(torch.get_rng_state()), got {size} bytes"
            )
        left = int.from_bytes(data[8:12], "little", signed=True)
        seeded = int.from_bytes(data[12:16], "little", signed=True)
        nxt = int.from_bytes(data[16:24], "little")
        if seeded != 1:
            raise ValueError(f"{name}: field 'seeded' must be 1, got {seeded}")
        if not 1 <= left <= N:
            raise ValueError(f"{name}: field 'left' must be in [1, {N}], got {left}")
        if nxt > N:
            raise ValueError(f"{name}: field 'next' must be in [0, {N}], got {nxt}")
        words = np.frombuffer(data, dtype="<u8", count=N, offset=_STATE_OFFSET)
        if int(words.max()) > 0xFFFFFFFF:
            bad = int(np.flatnonzero(words > 0xFFFFFFFF)[0])
            raise ValueError(
                f"{name}: state word {bad} is {int(words[bad])}, above 2**32 - 1; "
                "not a torch MT19937 state"
            )
        return cls(data)

    @classmethod
    def fresh(cls, seed: int, mt: MT19937State) -> TorchCPUState:
        """``manual_seed(seed)``'s layout (seed recorded, empty normal caches)
        holding ``mt``: byte for byte what torch has after seeding and then
        drawing up to ``mt`` (``mt`` need not come from ``seed``)."""
        seeded = MT19937State.from_seed(seed)
        head = np.zeros(1, dtype=_HEADER)
        head["seed"] = operator.index(seed) & 0xFFFFFFFFFFFFFFFF
        head["seeded"] = 1
        head["left"] = 1
        head["state"] = seeded.key.astype(np.uint64)
        base = cls(head.tobytes() + bytes(TORCH_STATE_SIZE - _HEADER.itemsize))
        return base.replace(mt)

    @property
    def seed(self) -> int:
        return int.from_bytes(self.raw[:8], "little")

    @property
    def mt(self) -> MT19937State:
        words = np.frombuffer(self.raw, dtype="<u8", count=N, offset=_STATE_OFFSET)
        left = int.from_bytes(self.raw[8:12], "little", signed=True)
        return MT19937State._trusted(words.astype(np.uint32), N + 1 - left)

    def replace(self, mt: MT19937State) -> TorchCPUState:
        """The same state with the MT19937 part replaced by ``mt``."""
        if mt.pos == 0:
            raise ValueError(
                "an MT19937 state at pos 0 has no torch equivalent (torch keeps "
                "1 <= left <= 624, i.e. pos >= 1); advance it by at least one draw first"
            )
        if mt == self.mt:
            return self  # unchanged: keep every byte, `next` included
        left = (N + 1 - mt.pos).to_bytes(4, "little", signed=True)
        nxt = mt.pos.to_bytes(8, "little")  # torch's own drawing leaves next == pos
        words = mt.key.astype("<u8").tobytes()
        end = _STATE_OFFSET + 8 * N
        return TorchCPUState(self.raw[:8] + left + self.raw[12:16] + nxt + words + self.raw[end:])


def from_numpy(state: Any) -> MT19937State:
    """From ``numpy.random.MT19937().state`` (also ``get_state(legacy=False)``)."""
    if not isinstance(state, dict):
        raise TypeError(f"state must be a dict like MT19937().state, got {type(state).__name__}")
    kind = state.get("bit_generator")
    if kind != "MT19937":
        raise ValueError(f"state['bit_generator'] must be 'MT19937', got {kind!r}")
    inner = state.get("state")
    if not isinstance(inner, dict) or "key" not in inner or "pos" not in inner:
        raise ValueError("state['state'] must be a dict with 'key' and 'pos'")
    return MT19937State(np.asarray(inner["key"]), inner["pos"])


def to_numpy(mt: MT19937State) -> dict[str, Any]:
    return {"bit_generator": "MT19937", "state": {"key": mt.key.copy(), "pos": mt.pos}}


def from_numpy_legacy(state: Any) -> MT19937State:
    """From ``np.random.get_state()``: ``('MT19937', key, pos, has_gauss, cached_gaussian)``."""
    if isinstance(state, dict):
        return from_numpy(state)
    if not isinstance(state, tuple) or len(state) != 5 or state[0] != "MT19937":
        raise ValueError(
            "state must be the 5-tuple ('MT19937', key, pos, has_gauss, cached_gaussian) "
            f"of np.random.get_state(), got {type(state).__name__} {str(state)[:60]}"
        )
    return MT19937State(np.asarray(state[1]), state[2])


def to_numpy_legacy(mt: MT19937State, template: Any = None) -> tuple[Any, ...]:
    has_gauss, cached = 0, 0.0
    if template is not None:
        from_numpy_legacy(template)
        has_gauss, cached = template[3], template[4]
    return ("MT19937", mt.key.copy(), mt.pos, has_gauss, cached)


def from_python_random(state: Any) -> MT19937State:
    """From ``random.getstate()``: ``(3, (624 words..., pos), gauss_next)``."""
    if not isinstance(state, tuple) or len(state) != 3:
        raise ValueError(
            f"state must be the 3-tuple of random.getstate(), got {type(state).__name__}"
        )
    version, internal, _ = state
    if version != 3:
        raise ValueError(f"random state version must be 3, got {version!r}")
    if not isinstance(internal, tuple) or len(internal) != N + 1:
        raise ValueError(f"random state must hold {N + 1} integers, got {len(internal)}")
    return MT19937State(np.array(internal[:N], dtype=np.int64), internal[N])


def to_python_random(mt: MT19937State, template: Any = None) -> tuple[Any, ...]:
    gauss_next = None
    if template is not None:
        from_python_random(template)
        gauss_next = template[2]
    return (3, tuple(int(v) for v in mt.key) + (mt.pos,), gauss_next)
