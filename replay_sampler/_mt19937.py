"""The MT19937 state model, linear stepping and jump-ahead (numpy only).

A state is the 624-word key plus a position ``pos`` in ``[0, 624]``: the next
draw returns ``temper(key[pos])``; at ``pos == 624`` the next draw first
regenerates the whole key.  This is the model of torch's CPU generator
(``pos = 625 - left``), numpy's ``MT19937`` and Python's ``random`` alike.

Number the untempered words of the stream ``x_0, x_1, ...`` with the current
key holding ``x_0 .. x_623``.  Advancing by ``n`` draws moves to stream index
``q = pos + n``; for ``q > 624`` that is block ``b = (q - 1) // 624`` with
``pos = q - 624 * b`` in ``[1, 624]`` -- the lazy regeneration of torch and
numpy, byte for byte.  Block ``b`` is ``x_{624b} .. x_{624b+623}``.

Only the top bit of ``x_0`` enters the recurrence, so the 624 full words
``x_{k+1} .. x_{k+624}`` (a "full window") obey
``window_{k+1} = sum_i c_i window_{i+1}`` for ``c = x**k mod P``.  Block b is
window ``624b - 1`` shifted by one, which is what :func:`jump_blocks`
evaluates: a Horner scheme over 32 chunks of 624 coefficients, each chunk a
XOR of windows picked through an 8-bit table (the "method of four Russians";
Haramoto et al. 2008 call it the sliding window method).
"""

from __future__ import annotations

import ctypes
import operator
import threading
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import _gf2
from ._checks import count as _check_draws

N = 624

#: Below this many blocks, regenerating block by block in C beats the jump.
#: Measured by ``benchmarks/bench_advance.py`` (see the README's figures).
JUMP_MIN_BLOCKS = 512


def temper(y: np.ndarray) -> np.ndarray:
    """MT19937's output transform, elementwise on uint32."""
    y = np.asarray(y, dtype=np.uint32)
    y = y ^ (y >> np.uint32(11))
    y = y ^ ((y << np.uint32(7)) & np.uint32(0x9D2C5680))
    y = y ^ ((y << np.uint32(15)) & np.uint32(0xEFC60000))
    return y ^ (y >> np.uint32(18))


def untemper(y: np.ndarray) -> np.ndarray:
    """Inverse of :func:`temper`."""
    y = np.asarray(y, dtype=np.uint32)
    y = y ^ (y >> np.uint32(18))
    y = y ^ ((y << np.uint32(15)) & np.uint32(0xEFC60000))
    t = y.copy()
    for _ in range(4):
        t = y ^ ((t << np.uint32(7)) & np.uint32(0x9D2C5680))
    y = t
    t = y.copy()
    for _ in range(2):
        t = y ^ (t >> np.uint32(11))
    return t


class _Engine:
    """numpy's C MT19937 driven through its state struct.

    ``MT19937.ctypes.state_address`` points at ``struct {uint32 key[624];
    int pos;}``.  Writing it directly costs ~1 us instead of ~35 us for the
    ``state`` property.  The layout is checked against the ``state`` property
    once; if it ever differs, the slower public path is used.
    """

    def __init__(self) -> None:
        self.bitgen = np.random.MT19937(0)
        self.view: np.ndarray | None = None
        try:
            raw = (ctypes.c_uint32 * (N + 1)).from_address(self.bitgen.ctypes.state_address)
            view = np.ctypeslib.as_array(raw)
            probe = np.arange(1, N + 1, dtype=np.uint32) * np.uint32(2654435761)
            view[:N] = probe
            view[N] = 17
            st = self.bitgen.state["state"]
            if np.array_equal(st["key"], probe) and st["pos"] == 17:
                self.view = view
        except Exception:  # pragma: no cover - depends on numpy internals (see the fallback test)
            self.view = None

    def load(self, key: np.ndarray, pos: int) -> None:
        if self.view is not None:
            self.view[:N] = key
            self.view[N] = pos
        else:  # the public path (tested by forcing view = None)
            self.bitgen.state = {
                "bit_generator": "MT19937",
                "state": {"key": np.asarray(key, dtype=np.uint32), "pos": pos},
            }

    def dump(self) -> tuple[np.ndarray, int]:
        if self.view is not None:
            return self.view[:N].copy(), int(self.view[N])
        st = self.bitgen.state["state"]  # the public path
        return np.array(st["key"], dtype=np.uint32), int(st["pos"])

    def regenerate(self, key: np.ndarray, blocks: int = 1) -> np.ndarray:
        self.load(key, N)
        self.bitgen.random_raw(N * blocks, output=False)
        return self.dump()[0]

    def horner(self, partial: np.ndarray) -> np.ndarray:
        """``sum_g T**(624 g) partial[g]``, regenerating in place in the struct."""
        if self.view is None:  # the public path (tested by forcing view = None)
            acc = partial[-1].copy()
            for g in range(len(partial) - 2, -1, -1):
                acc = self.regenerate(acc) ^ partial[g]
            return acc
        view = self.view
        view[:N] = partial[-1]
        for g in range(len(partial) - 2, -1, -1):
            view[N] = N
            self.bitgen.random_raw(N, output=False)
            view[:N] ^= partial[g]
        return view[:N].copy()

    def raw(self, key: np.ndarray, pos: int, count: int) -> tuple[np.ndarray, np.ndarray, int]:
        self.load(key, pos)
        out = self.bitgen.random_raw(count).astype(np.uint32)
        new_key, new_pos = self.dump()
        return out, new_key, new_pos


_local = threading.local()


def _engine() -> _Engine:
    engine = getattr(_local, "engine", None)
    if engine is None:
        engine = _local.engine = _Engine()
    return engine


def regenerate(key: np.ndarray, blocks: int = 1) -> np.ndarray:
    """The key after ``blocks`` regenerations, stepping in C."""
    return _engine().regenerate(key, blocks)


def _evaluate(coefficients: int, key: np.ndarray) -> np.ndarray:
    """Full window ``sum_i c_i window_{i+1}`` of the stream whose block 0 is ``key``."""
    engine = _engine()
    block1 = engine.regenerate(key)
    block2 = engine.regenerate(block1)
    # x_1 .. x_1255: windows 1..624 plus the 7 words the 8-bit table reaches past them.
    z = np.concatenate([key[1:], block1, block2[:8]])
    length = 2 * N
    table = np.empty((256, length), dtype=np.uint32)
    table[0] = 0
    for b in range(8):
        np.bitwise_xor(table[: 1 << b], z[b : b + length], out=table[1 << b : 2 << b])
    windows = np.lib.stride_tricks.sliding_window_view(table.view(np.uint64), N // 2, axis=1)
    chunks = -(-_gf2.DEGREE // N)  # 32 chunks of 624 coefficients
    per_chunk = N // 8  # 78 bytes
    coeff_bytes = np.frombuffer(
        coefficients.to_bytes(chunks * per_chunk, "little"), dtype=np.uint8
    ).reshape(chunks, per_chunk)
    offsets = np.arange(per_chunk) * 4  # 8 words = 4 uint64
    partial = np.bitwise_xor.reduce(windows[coeff_bytes, offsets], axis=1).view(np.uint32)
    return engine.horner(partial)


def jump_blocks(key: np.ndarray, blocks: int) -> np.ndarray:
    """Block ``blocks`` of the stream whose block 0 is ``key`` (see module doc)."""
    if blocks == 0:
        return np.array(key, dtype=np.uint32)
    if blocks < JUMP_MIN_BLOCKS:
        return regenerate(key, blocks)
    return _evaluate(_gf2.x_power_mod_p(N * blocks - 1), key)


@dataclass(frozen=True, eq=False)
class MT19937State:
    """An MT19937 generator state: 624 untempered words and a position.

    Immutable; every method returns a new state.  ``pos`` counts the words of
    ``key`` already drawn (``0..624``); at 624 the next draw regenerates.
    Construct from a generator's own format with :meth:`from_torch`,
    :meth:`from_numpy`, :meth:`from_numpy_legacy` or
    :meth:`from_python_random`, or from a seed with :meth:`from_seed`.
    """

    key: np.ndarray = field(repr=False)
    pos: int

    def __post_init__(self) -> None:
        key = np.asarray(self.key)
        if key.shape != (N,):
            raise ValueError(f"key must hold {N} words, got shape {key.shape}")
        if key.dtype != np.uint32:
            if not np.issubdtype(key.dtype, np.integer):
                raise TypeError(f"key must be an integer array, got dtype {key.dtype}")
            if key.size and (key.min() < 0 or key.max() > 0xFFFFFFFF):
                raise ValueError("key words must be in [0, 2**32)")
        frozen = np.array(key, dtype=np.uint32)
        frozen.setflags(write=False)
        object.__setattr__(self, "key", frozen)
        if isinstance(self.pos, bool) or not hasattr(type(self.pos), "__index__"):
            raise TypeError(f"pos must be an integer, got {self.pos!r}")
        pos = operator.index(self.pos)
        if not 0 <= pos <= N:
            raise ValueError(f"pos must be in [0, {N}], got {pos}")
        object.__setattr__(self, "pos", pos)

    @classmethod
    def _trusted(cls, key: np.ndarray, pos: int) -> MT19937State:
        """Wrap a uint32[624] array the caller owns and will not touch again."""
        self = object.__new__(cls)
        key.setflags(write=False)
        object.__setattr__(self, "key", key)
        object.__setattr__(self, "pos", pos)
        return self

    # -- identity -----------------------------------------------------------
    def __eq__(self, other: object) -> bool:
        if not isinstance(other, MT19937State):
            return NotImplemented
        return self.pos == other.pos and np.array_equal(self.key, other.key)

    def __hash__(self) -> int:
        return hash((self.pos, self.key.tobytes()))

    def same_stream(self, other: MT19937State) -> bool:
        """True if both states give the same draws forever.

        That holds exactly when their next 624 untempered words agree: those
        words are the full recurrence window.  Weaker than ``==``: the low 31
        bits of ``key[0]`` never matter once ``pos >= 1``, and states at
        different block offsets (``pos 624`` versus the regenerated key at
        ``pos 0``, or a state and its advance by the period) describe one stream.
        """
        return bool(np.array_equal(self.raw_words(N), other.raw_words(N)))

    # -- constructors ---------------------------------------------------------
    @classmethod
    def from_seed(cls, seed: int) -> MT19937State:
        """The state torch's ``manual_seed(seed)`` and numpy's legacy
        ``RandomState(seed)`` set: ``init_genrand(seed & 0xffffffff)``."""
        if isinstance(seed, bool) or not hasattr(type(seed), "__index__"):
            raise TypeError(f"seed must be an integer, got {seed!r}")
        s = operator.index(seed) & 0xFFFFFFFF
        key = [0] * N
        key[0] = s
        for i in range(1, N):
            prev = key[i - 1]
            key[i] = (1812433253 * (prev ^ (prev >> 30)) + i) & 0xFFFFFFFF
        return cls(np.array(key, dtype=np.uint32), N)

    @classmethod
    def from_key_array(cls, key: Any) -> MT19937State:
        """The reference ``init_by_array(key)`` seeding: what Python's
        ``random.seed(int)`` and numpy's legacy array seeding use."""
        words = [operator.index(w) & 0xFFFFFFFF for w in key]
        if not words:
            raise ValueError("key must hold at least one 32-bit word")
        mt = MT19937State.from_seed(19650218).key.astype(np.uint64).tolist()
        i, j = 1, 0
        for _ in range(max(N, len(words))):
            prev = mt[i - 1]
            mt[i] = ((mt[i] ^ ((prev ^ (prev >> 30)) * 1664525)) + words[j] + j) & 0xFFFFFFFF
            i, j = i + 1, j + 1
            if i >= N:
                mt[0], i = mt[N - 1], 1
            if j >= len(words):
                j = 0
        for _ in range(N - 1):
            prev = mt[i - 1]
            mt[i] = ((mt[i] ^ ((prev ^ (prev >> 30)) * 1566083941)) - i) & 0xFFFFFFFF
            i += 1
            if i >= N:
                mt[0], i = mt[N - 1], 1
        mt[0] = 0x80000000
        return cls(np.array(mt, dtype=np.uint32), N)

    @classmethod
    def from_python_seed(cls, seed: int) -> MT19937State:
        """The state ``random.seed(seed)`` sets for an int seed (Python 3)."""
        if isinstance(seed, bool) or not hasattr(type(seed), "__index__"):
            raise TypeError(f"seed must be an integer, got {seed!r}")
        n = abs(operator.index(seed))
        words = [(n >> (32 * k)) & 0xFFFFFFFF for k in range(max(1, -(-n.bit_length() // 32)))]
        return cls.from_key_array(words)

    # -- stepping ---------------------------------------------------------------
    def advance(self, draws: int) -> MT19937State:
        """The state after ``draws`` 32-bit draws, as if they had been made.

        Time does not grow with ``draws``: up to ~3e5 draws it steps in C,
        beyond that it jumps (GF(2) polynomial jump-ahead, Haramoto et al.
        2008) in a few milliseconds for any 64-bit count.  Counts are taken
        modulo the period 2**19937 - 1.
        """
        n = _check_draws(draws)
        if n == 0:
            return self
        target = self.pos + n
        if target <= N:
            return MT19937State._trusted(self.key, target)
        blocks = (target - 1) // N
        return MT19937State._trusted(jump_blocks(self.key, blocks), target - N * blocks)

    def random_raw(self, count: int) -> tuple[np.ndarray, MT19937State]:
        """The next ``count`` tempered 32-bit outputs and the state after them."""
        n = _check_draws(count, "count")
        out, key, pos = _engine().raw(self.key, self.pos, n)
        return out, MT19937State._trusted(key, pos)

    def raw_words(self, count: int) -> np.ndarray:
        """The next ``count`` *untempered* words of the stream (no state change)."""
        return untemper(self.random_raw(count)[0])

    # -- formats ------------------------------------------------------------------
    @classmethod
    def from_torch(cls, state: Any) -> MT19937State:
        """From a torch CPU generator state (5056 bytes, e.g. ``torch.get_rng_state()``)."""
        from ._formats import TorchCPUState

        return TorchCPUState.parse(state).mt

    def to_torch(self, template: Any = None, *, seed: int | None = None) -> bytes:
        """As a 5056-byte torch CPU state.

        With ``template`` (a torch state) every field but the MT19937 key and
        position -- seed, normal-sample caches -- is copied from it byte for
        byte; without, the state is laid out as ``manual_seed(seed)`` does.
        """
        from ._formats import TorchCPUState

        if template is not None:
            if seed is not None:
                raise TypeError("give either template or seed, not both")
            return TorchCPUState.parse(template, "template").replace(self).raw
        if seed is None:
            raise TypeError("to_torch needs a template state or the seed to record")
        return TorchCPUState.fresh(seed, self).raw

    @classmethod
    def from_numpy(cls, state: Any) -> MT19937State:
        """From ``numpy.random.MT19937().state``."""
        from ._formats import from_numpy

        return from_numpy(state)

    def to_numpy(self) -> dict[str, Any]:
        """As ``numpy.random.MT19937().state``."""
        from ._formats import to_numpy

        return to_numpy(self)

    @classmethod
    def from_numpy_legacy(cls, state: Any) -> MT19937State:
        """From ``np.random.get_state()`` (the legacy 5-tuple, or the dict form)."""
        from ._formats import from_numpy_legacy

        return from_numpy_legacy(state)

    def to_numpy_legacy(self, template: Any = None) -> tuple[Any, ...]:
        """As ``np.random.get_state()``; the Gaussian cache comes from ``template``."""
        from ._formats import to_numpy_legacy

        return to_numpy_legacy(self, template)

    @classmethod
    def from_python_random(cls, state: Any) -> MT19937State:
        """From ``random.getstate()``."""
        from ._formats import from_python_random

        return from_python_random(state)

    def to_python_random(self, template: Any = None) -> tuple[Any, ...]:
        """As ``random.getstate()``; ``gauss_next`` comes from ``template``."""
        from ._formats import to_python_random

        return to_python_random(self, template)
