"""MT19937 on key arrays: the output transform, stepping in C, jump-ahead (numpy only).

A key is the 624-word untempered state of MT19937 (``uint32[624]``).  Number
the untempered words of the stream ``x_0, x_1, ...`` with the current key
holding ``x_0 .. x_623``; block ``b`` is ``x_{624b} .. x_{624b+623}``, the key
after ``b`` regenerations.  Stepping regenerates block by block through
numpy's C implementation, driven through its state struct (:class:`_Engine`);
jumping computes block ``b`` directly (:func:`jump_blocks`): see
``docs/jump-ahead.md`` §6 for the derivation (and §1-§5 for ``_gf2``).

Only the top bit of ``x_0`` enters the recurrence, so the 624 full words
``x_{k+1} .. x_{k+624}`` (a "full window") obey
``window_{k+1} = sum_i c_i window_{i+1}`` for ``c = x**k mod P``.  Block b is
window ``624b - 1`` shifted by one, which is what :func:`jump_blocks`
evaluates: a Horner scheme over 32 chunks of 624 coefficients, each chunk a
XOR of windows picked through an 8-bit table (the "method of four Russians";
Haramoto et al. 2008 call it the sliding window method).

This module knows nothing of positions or formats: ``_mt19937.MT19937State``
is the value type built on it.
"""

from __future__ import annotations

import ctypes
import threading

import numpy as np

from . import _gf2

N = 624

#: Below this many blocks, regenerating block by block in C beats the jump.
#: Measured by ``benchmarks/bench_advance.py`` (see the README's figures):
#: the first block count of its grid where the jump won (docs/jump-ahead.md §6).
JUMP_MIN_BLOCKS = 512


def temper(y: np.ndarray) -> np.ndarray:
    """MT19937's output transform, elementwise on uint32."""
    y = np.asarray(y, dtype=np.uint32)
    y = y ^ (y >> np.uint32(11))
    y = y ^ ((y << np.uint32(7)) & np.uint32(0x9D2C5680))
    y = y ^ ((y << np.uint32(15)) & np.uint32(0xEFC60000))
    out: np.ndarray = y ^ (y >> np.uint32(18))
    return out


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
    out: np.ndarray = t
    return out


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
            out: np.ndarray = acc
            return out
        view = self.view
        view[:N] = partial[-1]
        for g in range(len(partial) - 2, -1, -1):
            view[N] = N
            self.bitgen.random_raw(N, output=False)
            view[:N] ^= partial[g]
        words: np.ndarray = view[:N].copy()
        return words

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


def random_raw(key: np.ndarray, pos: int, count: int) -> tuple[np.ndarray, np.ndarray, int]:
    """The next ``count`` tempered outputs from ``(key, pos)``, and the key and
    position after them."""
    return _engine().raw(key, pos, count)


def init_genrand(seed: int) -> np.ndarray:
    """The reference ``init_genrand(seed)`` key, ``seed`` a 32-bit word: what
    torch's ``manual_seed`` and numpy's ``RandomState(seed)`` set."""
    key = [0] * N
    key[0] = seed
    for i in range(1, N):
        prev = key[i - 1]
        key[i] = (1812433253 * (prev ^ (prev >> 30)) + i) & 0xFFFFFFFF
    return np.array(key, dtype=np.uint32)


def init_by_array(words: list[int]) -> np.ndarray:
    """The reference ``init_by_array(words)`` key (32-bit words, at least one):
    what Python's ``random.seed(int)`` and numpy's legacy array seeding set."""
    mt = init_genrand(19650218).astype(np.uint64).tolist()
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
    return np.array(mt, dtype=np.uint32)


def _evaluate(coefficients: int, key: np.ndarray) -> np.ndarray:
    """Full window ``sum_i c_i window_{i+1}`` of the stream whose block 0 is ``key``.

    docs/jump-ahead.md §6: ``window_n = x_n .. x_{n+623}``; with ``c = x**k mod P``
    this is ``window_{k+1}``, evaluated by Horner over 32 chunks of 624
    coefficients (``window_{n+624}`` is one regeneration of ``window_n``).
    """
    engine = _engine()
    block1 = engine.regenerate(key)
    block2 = engine.regenerate(block1)
    # docs/jump-ahead.md §6: z = x_1 .. x_1255.  Table rows are 2N = 1248 words
    # taken at offsets 0..7, hence 2N + 7 words; windows 1..624 need only
    # x_1 .. x_1247 (columns < 8*77 + 624 = 1240), the rest just pads the rows.
    z = np.concatenate([key[1:], block1, block2[:8]])
    length = 2 * N
    table = np.empty((256, length), dtype=np.uint32)
    # row v = XOR of z[t : t + length] over the set bits t of v (four Russians, 8 bits)
    table[0] = 0
    for b in range(8):
        np.bitwise_xor(table[: 1 << b], z[b : b + length], out=table[1 << b : 2 << b])
    # docs/jump-ahead.md §6: uint64 column u is uint32 columns (2u, 2u + 1).  Every
    # window read starts at a multiple of 8 words (an even word, so a whole
    # uint64) and 624 is even, so a window is N // 2 = 312 whole uint64s.
    windows = np.lib.stride_tricks.sliding_window_view(table.view(np.uint64), N // 2, axis=1)
    chunks = -(-_gf2.DEGREE // N)  # 32 chunks of 624 coefficients
    per_chunk = N // 8  # 78 bytes
    coeff_bytes = np.frombuffer(
        coefficients.to_bytes(chunks * per_chunk, "little"), dtype=np.uint8
    ).reshape(chunks, per_chunk)
    # byte q of a chunk holds c_{624g+8q .. 624g+8q+7}: its window starts at word 8q
    offsets = np.arange(per_chunk) * 4  # 8 words = 4 uint64
    partial = np.bitwise_xor.reduce(windows[coeff_bytes, offsets], axis=1).view(np.uint32)
    return engine.horner(partial)


def jump_blocks(key: np.ndarray, blocks: int) -> np.ndarray:
    """Block ``blocks`` of the stream whose block 0 is ``key`` (see module doc)."""
    if blocks == 0:
        return np.array(key, dtype=np.uint32)
    if blocks < JUMP_MIN_BLOCKS:
        return regenerate(key, blocks)
    # docs/jump-ahead.md §6: block b is window_{624b}, i.e. c = x**(624b - 1): all 32
    # bits of its first word are in the state at time 624b - 1, not at 624b.
    return _evaluate(_gf2.x_power_mod_p(N * blocks - 1), key)


