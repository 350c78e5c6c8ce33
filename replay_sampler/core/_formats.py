"""Generator state layouts, read into and written from ``(key, pos)`` (numpy only).

* torch's CPU generator, ``torch.get_rng_state()`` / ``Generator.get_state()``:
  5056 bytes, little-endian ``CPUGeneratorImplState``::

      uint64 seed; int32 left; int32 seeded; uint64 next; uint64 state[624];
      double normal_x, normal_y, normal_rho; int32 normal_is_valid; (pad 4)
      float next_float_normal_sample; bool valid; (pad 3)

  with ``pos = 625 - left``.  Everything but ``left``, ``next`` and
  ``state`` is carried over byte for byte when a state is moved.  torch 1.0
  and 1.1 (``THGeneratorState``) had the same fields without the float
  normal cache: 5048 bytes, the first 5048 of the layout above.
* numpy's ``MT19937().state`` dict and ``np.random.get_state()`` tuple
  (or its ``legacy=False`` dict).
* Python's ``random.getstate()``: ``(3, (key..., pos), gauss_next)``.
* a CUDA device's generator, ``torch.cuda.get_rng_state(i)``: 16 bytes,
  ``uint64 seed; int64 offset`` (``CUDAGeneratorImpl::get_state``, a memcpy
  of both on the little-endian hosts CUDA runs on).  torch 1.2 to 2.0 put 800
  bytes of ``0xFF`` in front, where MTGP32 states had been (816 bytes, removed
  by pytorch#98787 for 2.1; today's ``set_state`` refuses them).

Functions here validate the layout and return or take a key (any integer
array, validated by ``MT19937State``) and a position, or a CUDA state's
``(seed, offset)``; they know nothing of the state types built on them.
"""

from __future__ import annotations

import operator
from typing import Any

import numpy as np

from ._engine import N, init_genrand
from ._errors import CorruptStateError, ForeignStateError

TORCH_STATE_SIZE = 5056
#: torch 1.0 and 1.1's layout: no float normal cache.
TORCH_LEGACY_STATE_SIZE = 5048
#: A CUDA (Philox) generator's state: uint64 seed, int64 offset.
CUDA_STATE_SIZE = 16
#: torch 1.2 - 2.0's CUDA state: 800 bytes of 0xFF, then seed and offset.
CUDA_LEGACY_STATE_SIZE = 816
_CUDA_LEGACY_PAD = CUDA_LEGACY_STATE_SIZE - CUDA_STATE_SIZE
#: torch rounds every Philox offset increment up to a multiple of this (1.8+).
CUDA_OFFSET_STEP = 4
_STATE_OFFSET = 24
_HEADER = np.dtype(
    [("seed", "<u8"), ("left", "<i4"), ("seeded", "<i4"), ("next", "<u8"), ("state", "<u8", (N,))]
)

Key = np.ndarray
KeyPos = tuple[np.ndarray, int]


# -- torch ------------------------------------------------------------------------
def as_bytes(value: Any, name: str) -> bytes:
    """``value`` -- bytes, or a uint8 array or tensor's ``.numpy()`` -- as bytes."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    try:
        array = np.asarray(value)
    except Exception as exc:  # pragma: no cover - exotic objects
        raise TypeError(
            f"{name} must be bytes or a uint8 tensor/array, got {type(value).__name__}"
        ) from exc
    if array.dtype != np.uint8:
        raise TypeError(
            f"{name} must be bytes or a uint8 tensor/array (torch.ByteTensor), "
            f"got dtype {array.dtype} from a {type(value).__name__}"
        )
    return array.tobytes()


def check_torch(data: bytes, name: str) -> bytes:
    """``data`` if it is a valid 5056-byte torch CPU state; else a
    :class:`ForeignStateError` (another size: another format) or a
    :class:`CorruptStateError` (impossible fields) naming what is at fault."""
    size = len(data)
    if size == TORCH_LEGACY_STATE_SIZE:
        raise ForeignStateError(
            f"{name} is a {size}-byte state, the format of torch 1.0/1.1, which current "
            f"torch.set_rng_state refuses; expected the {TORCH_STATE_SIZE}-byte CPU "
            "generator state of torch >= 1.2"
        )
    if size == CUDA_STATE_SIZE:
        raise ForeignStateError(
            f"{name} is 16 bytes, the size of a CUDA (Philox: seed, offset) generator "
            f"state; only the {TORCH_STATE_SIZE}-byte CPU MT19937 state can be replayed"
        )
    if size == CUDA_LEGACY_STATE_SIZE:
        raise ForeignStateError(
            f"{name} is {size} bytes, the size of a torch 1.2-2.0 CUDA (Philox) generator "
            f"state; expected the {TORCH_STATE_SIZE}-byte CPU MT19937 state"
        )
    if size != TORCH_STATE_SIZE:
        raise ForeignStateError(
            f"{name} must be a {TORCH_STATE_SIZE}-byte torch CPU generator state "
            f"(torch.get_rng_state()), got {size} bytes"
        )
    left = int.from_bytes(data[8:12], "little", signed=True)
    seeded = int.from_bytes(data[12:16], "little", signed=True)
    nxt = int.from_bytes(data[16:24], "little")
    if seeded != 1:
        raise CorruptStateError(f"{name}: field 'seeded' must be 1, got {seeded}")
    if not 1 <= left <= N:
        raise CorruptStateError(f"{name}: field 'left' must be in [1, {N}], got {left}")
    if nxt > N:
        raise CorruptStateError(f"{name}: field 'next' must be in [0, {N}], got {nxt}")
    words = np.frombuffer(data, dtype="<u8", count=N, offset=_STATE_OFFSET)
    if int(words.max()) > 0xFFFFFFFF:
        bad = int(np.flatnonzero(words > 0xFFFFFFFF)[0])
        raise CorruptStateError(
            f"{name}: state word {bad} is {int(words[bad])}, above 2**32 - 1; "
            "not a torch MT19937 state"
        )
    return data


def torch_from_legacy(data: bytes, name: str) -> bytes:
    """A torch 1.0/1.1 5048-byte state in today's 5056-byte layout (an empty
    float normal cache appended), validated."""
    if len(data) != TORCH_LEGACY_STATE_SIZE:
        raise ForeignStateError(
            f"{name} must be a {TORCH_LEGACY_STATE_SIZE}-byte torch 1.0/1.1 state, "
            f"got {len(data)} bytes"
        )
    return check_torch(data + bytes(TORCH_STATE_SIZE - TORCH_LEGACY_STATE_SIZE), name)


def torch_to_legacy(data: bytes) -> bytes:
    """A 5056-byte state in torch 1.0/1.1's layout (its float cache dropped)."""
    return data[:TORCH_LEGACY_STATE_SIZE]


def torch_seed(data: bytes) -> int:
    return int.from_bytes(data[:8], "little")


def torch_key_pos(data: bytes) -> KeyPos:
    """The key (a new uint32 array) and position of a checked torch state."""
    words = np.frombuffer(data, dtype="<u8", count=N, offset=_STATE_OFFSET)
    left = int.from_bytes(data[8:12], "little", signed=True)
    return words.astype(np.uint32), N + 1 - left


def torch_replace(data: bytes, key: Key, pos: int) -> bytes:
    """``data`` with its MT19937 key and position replaced; every other field kept.

    ``next`` is set to ``pos``, as torch's own drawing leaves it.  ``pos`` 0
    has no torch equivalent (torch keeps ``1 <= left <= 624``).
    """
    if pos == 0:
        raise ValueError(
            "an MT19937 state at pos 0 has no torch equivalent (torch keeps "
            "1 <= left <= 624, i.e. pos >= 1); advance it by at least one draw first"
        )
    left = (N + 1 - pos).to_bytes(4, "little", signed=True)
    nxt = pos.to_bytes(8, "little")
    words = np.asarray(key, dtype="<u8").tobytes()
    end = _STATE_OFFSET + 8 * N
    return data[:8] + left + data[12:16] + nxt + words + data[end:]


def torch_fresh(seed: int) -> bytes:
    """The 5056 bytes ``manual_seed(seed)`` leaves: the seed recorded, the key
    from its low 32 bits, ``left = 1``, empty normal caches."""
    head = np.zeros(1, dtype=_HEADER)
    head["seed"] = operator.index(seed) & 0xFFFFFFFFFFFFFFFF
    head["seeded"] = 1
    head["left"] = 1
    head["state"] = init_genrand(operator.index(seed) & 0xFFFFFFFF).astype(np.uint64)
    return head.tobytes() + bytes(TORCH_STATE_SIZE - _HEADER.itemsize)


# -- CUDA -----------------------------------------------------------------------------
def check_cuda(data: bytes, name: str) -> tuple[int, int]:
    """``(seed, offset)`` of a valid 16-byte CUDA state; else a
    :class:`ForeignStateError` (another size: another format) or a
    :class:`CorruptStateError` (an offset torch never writes)."""
    size = len(data)
    if size in (TORCH_STATE_SIZE, TORCH_LEGACY_STATE_SIZE):
        raise ForeignStateError(
            f"{name} is {size} bytes, the size of a torch CPU (MT19937) generator state; "
            f"expected the {CUDA_STATE_SIZE}-byte CUDA (Philox) state of "
            "torch.cuda.get_rng_state()"
        )
    if size == CUDA_LEGACY_STATE_SIZE:
        raise ForeignStateError(
            f"{name} is an {size}-byte CUDA state, the layout of torch 1.2-2.0 (800 bytes "
            "of padding, then seed and offset), which torch >= 2.1 refuses to set; read it "
            "with TorchCUDAState.parse_legacy"
        )
    if size == CUDA_STATE_SIZE - 8:
        raise ForeignStateError(
            f"{name} is 8 bytes, a CUDA seed without its offset (set_state takes it as "
            f"offset 0, get_state never writes it); expected the {CUDA_STATE_SIZE}-byte "
            "CUDA state of torch.cuda.get_rng_state()"
        )
    if size != CUDA_STATE_SIZE:
        raise ForeignStateError(
            f"{name} must be a {CUDA_STATE_SIZE}-byte CUDA generator state "
            f"(torch.cuda.get_rng_state()), got {size} bytes"
        )
    seed = int.from_bytes(data[:8], "little")
    offset = int.from_bytes(data[8:], "little", signed=True)
    if offset < 0 or offset % CUDA_OFFSET_STEP:
        raise CorruptStateError(
            f"{name}: field 'offset' must be a non-negative multiple of {CUDA_OFFSET_STEP}, "
            f"got {offset}"
        )
    return seed, offset


def check_cuda_legacy(data: bytes, name: str) -> tuple[int, int]:
    """``(seed, offset)`` of a valid torch 1.2-2.0 816-byte CUDA state."""
    if len(data) != CUDA_LEGACY_STATE_SIZE:
        raise ForeignStateError(
            f"{name} must be an {CUDA_LEGACY_STATE_SIZE}-byte torch 1.2-2.0 CUDA state, "
            f"got {len(data)} bytes"
        )
    pad = data[:_CUDA_LEGACY_PAD]
    if pad != b"\xff" * _CUDA_LEGACY_PAD:
        bad = next(i for i, b in enumerate(pad) if b != 0xFF)
        raise CorruptStateError(
            f"{name}: byte {bad} is {pad[bad]}; the first {_CUDA_LEGACY_PAD} bytes of a "
            "torch 1.2-2.0 CUDA state are 0xFF padding"
        )
    return check_cuda(data[_CUDA_LEGACY_PAD:], name)


def cuda_bytes(seed: int, offset: int) -> bytes:
    """The 16 bytes ``get_state`` writes for ``(seed, offset)``."""
    return seed.to_bytes(8, "little") + offset.to_bytes(8, "little", signed=True)


def cuda_legacy_bytes(seed: int, offset: int) -> bytes:
    """The 816 bytes torch 1.2-2.0's ``get_state`` wrote for ``(seed, offset)``."""
    return b"\xff" * _CUDA_LEGACY_PAD + cuda_bytes(seed, offset)


# -- numpy --------------------------------------------------------------------------
def numpy_key_pos(state: Any, name: str = "state") -> KeyPos:
    """From ``numpy.random.MT19937().state`` (also ``get_state(legacy=False)``)."""
    if not isinstance(state, dict):
        raise TypeError(
            f"{name} must be a dict like MT19937().state, got {type(state).__name__}"
        )
    kind = state.get("bit_generator")
    if kind != "MT19937":
        raise ValueError(f"{name}['bit_generator'] must be 'MT19937', got {kind!r}")
    inner = state.get("state")
    if not isinstance(inner, dict) or "key" not in inner or "pos" not in inner:
        raise ValueError(f"{name}['state'] must be a dict with 'key' and 'pos'")
    return np.asarray(inner["key"]), inner["pos"]


def numpy_dict(key: Key, pos: int) -> dict[str, Any]:
    return {"bit_generator": "MT19937", "state": {"key": key.copy(), "pos": pos}}


def numpy_legacy_key_pos(state: Any, name: str = "state") -> KeyPos:
    """From ``np.random.get_state()``: the 5-tuple
    ``('MT19937', key, pos, has_gauss, cached_gaussian)``, or the dict form."""
    if isinstance(state, dict):
        return numpy_key_pos(state, name)
    if not isinstance(state, tuple) or len(state) != 5 or state[0] != "MT19937":
        raise ValueError(
            f"{name} must be the 5-tuple ('MT19937', key, pos, has_gauss, cached_gaussian) "
            f"of np.random.get_state(), got {type(state).__name__} {str(state)[:60]}"
        )
    return np.asarray(state[1]), state[2]


def numpy_gauss(template: Any, name: str = "template") -> tuple[int, float]:
    """``(has_gauss, cached_gaussian)`` of a legacy numpy state, either form."""
    numpy_legacy_key_pos(template, name)  # validates
    if isinstance(template, dict):
        return int(template.get("has_gauss", 0)), float(template.get("gauss", 0.0))
    return int(template[3]), float(template[4])


def numpy_legacy_tuple(key: Key, pos: int, gauss: tuple[int, float] = (0, 0.0)) -> tuple[Any, ...]:
    return ("MT19937", key.copy(), pos, gauss[0], gauss[1])


# -- Python's random -----------------------------------------------------------------
def python_key_pos(state: Any, name: str = "state") -> KeyPos:
    """From ``random.getstate()``: ``(3, (624 words..., pos), gauss_next)``."""
    if not isinstance(state, tuple) or len(state) != 3:
        raise ValueError(
            f"{name} must be the 3-tuple of random.getstate(), got {type(state).__name__}"
        )
    version, internal, _ = state
    if version != 3:
        raise ValueError(f"{name}: random state version must be 3, got {version!r}")
    if not isinstance(internal, tuple) or len(internal) != N + 1:
        size = len(internal) if isinstance(internal, tuple) else type(internal).__name__
        raise ValueError(f"{name}: random state must hold {N + 1} integers, got {size}")
    return np.array(internal[:N], dtype=np.int64), internal[N]


def python_gauss(template: Any, name: str = "template") -> float | None:
    python_key_pos(template, name)  # validates
    gauss_next: float | None = template[2]
    return gauss_next


def python_tuple(key: Key, pos: int, gauss_next: float | None = None) -> tuple[Any, ...]:
    return (3, (*(int(v) for v in key), pos), gauss_next)
