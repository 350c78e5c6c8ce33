"""The MT19937 state value types: :class:`MT19937State` and :class:`TorchCPUState`.

A state is the 624-word key plus a position ``pos`` in ``[0, 624]``: the next
draw returns ``temper(key[pos])``; at ``pos == 624`` the next draw first
regenerates the whole key.  This is the model of torch's CPU generator
(``pos = 625 - left``), numpy's ``MT19937`` and Python's ``random`` alike.

Advancing by ``n`` draws moves to stream index ``q = pos + n``; for
``q > 624`` that is block ``b = (q - 1) // 624`` with ``pos = q - 624 * b``
in ``[1, 624]`` -- the lazy regeneration of torch and numpy, byte for byte.
The blocks come from :mod:`._engine`; the formats from :mod:`._formats`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import _engine, _formats
from ._checks import count as _check_draws
from ._checks import integer as _integer
from ._engine import N, temper, untemper

__all__ = ["MT19937State", "TorchCPUState", "temper", "untemper"]


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
        pos = _integer(self.pos, "pos")
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
        return self == other or bool(np.array_equal(self.raw_words(N), other.raw_words(N)))

    # -- constructors ---------------------------------------------------------
    @classmethod
    def from_seed(cls, seed: int) -> MT19937State:
        """The state torch's ``manual_seed(seed)`` and numpy's legacy
        ``RandomState(seed)`` set: ``init_genrand(seed & 0xffffffff)``."""
        s = _integer(seed, "seed") & 0xFFFFFFFF
        return cls._trusted(_engine.init_genrand(s), N)

    @classmethod
    def from_key_array(cls, key: Any) -> MT19937State:
        """The reference ``init_by_array(key)`` seeding: what Python's
        ``random.seed(int)`` and numpy's legacy array seeding use."""
        words = [_integer(w, f"key[{i}]") & 0xFFFFFFFF for i, w in enumerate(key)]
        if not words:
            raise ValueError("key must hold at least one 32-bit word")
        return cls._trusted(_engine.init_by_array(words), N)

    @classmethod
    def from_python_seed(cls, seed: int) -> MT19937State:
        """The state ``random.seed(seed)`` sets for an int seed (Python 3)."""
        n = abs(_integer(seed, "seed"))
        words = [(n >> (32 * k)) & 0xFFFFFFFF for k in range(max(1, -(-n.bit_length() // 32)))]
        return cls._trusted(_engine.init_by_array(words), N)

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
        return MT19937State._trusted(
            _engine.jump_blocks(self.key, blocks), target - N * blocks
        )

    def random_raw(self, count: int) -> tuple[np.ndarray, MT19937State]:
        """The next ``count`` tempered 32-bit outputs and the state after them."""
        n = _check_draws(count, "count")
        out, key, pos = _engine.random_raw(self.key, self.pos, n)
        return out, MT19937State._trusted(key, pos)

    def raw_words(self, count: int) -> np.ndarray:
        """The next ``count`` *untempered* words of the stream (no state change)."""
        return untemper(self.random_raw(count)[0])

    # -- formats ------------------------------------------------------------------
    @classmethod
    def from_torch(cls, state: Any) -> MT19937State:
        """From a torch CPU generator state (5056 bytes, e.g. ``torch.get_rng_state()``)."""
        return TorchCPUState.parse(state).mt

    def to_torch(self, template: Any = None, *, seed: int | None = None) -> bytes:
        """As a 5056-byte torch CPU state.

        With ``template`` (a torch state) every field but the MT19937 key and
        position -- seed, normal-sample caches -- is copied from it byte for
        byte; without, the state is laid out as ``manual_seed(seed)`` does.
        """
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
        return cls(*_formats.numpy_key_pos(state))

    def to_numpy(self) -> dict[str, Any]:
        """As ``numpy.random.MT19937().state``."""
        return _formats.numpy_dict(self.key, self.pos)

    @classmethod
    def from_numpy_legacy(cls, state: Any) -> MT19937State:
        """From ``np.random.get_state()`` (the legacy 5-tuple, or the dict form)."""
        return cls(*_formats.numpy_legacy_key_pos(state))

    def to_numpy_legacy(self, template: Any = None) -> tuple[Any, ...]:
        """As ``np.random.get_state()``; the Gaussian cache comes from ``template``
        (either form of a legacy numpy state), else it is empty."""
        gauss = (0, 0.0) if template is None else _formats.numpy_gauss(template)
        return _formats.numpy_legacy_tuple(self.key, self.pos, gauss)

    @classmethod
    def from_python_random(cls, state: Any) -> MT19937State:
        """From ``random.getstate()``."""
        return cls(*_formats.python_key_pos(state))

    def to_python_random(self, template: Any = None) -> tuple[Any, ...]:
        """As ``random.getstate()``; ``gauss_next`` comes from ``template``."""
        gauss_next = None if template is None else _formats.python_gauss(template)
        return _formats.python_tuple(self.key, self.pos, gauss_next)


@dataclass(frozen=True)
class TorchCPUState:
    """A torch CPU generator state: its 5056 bytes, validated.

    ``TorchCPUState(raw)`` checks ``raw`` as :meth:`parse` does (size, the
    ``seeded``/``left``/``next`` fields, 32-bit words); :meth:`parse` also
    takes a uint8 array or tensor.  Every field but the MT19937 key and
    position is kept byte for byte by :meth:`replace`.
    """

    raw: bytes

    def __post_init__(self) -> None:
        if not isinstance(self.raw, bytes):
            raise TypeError(
                f"raw must be bytes (use TorchCPUState.parse for tensors and arrays), "
                f"got {type(self.raw).__name__}"
            )
        _formats.check_torch(self.raw, "raw")

    @classmethod
    def _trusted(cls, raw: bytes) -> TorchCPUState:
        """Wrap bytes known to be a valid state (a torch generator's own)."""
        self = object.__new__(cls)
        object.__setattr__(self, "raw", raw)
        return self

    @classmethod
    def parse(cls, value: Any, name: str = "state") -> TorchCPUState:
        """Validate ``value`` (bytes, a uint8 array or tensor's ``.numpy()``);
        the error names ``name`` and the field at fault."""
        data = _formats.as_bytes(value, name)
        return cls._trusted(_formats.check_torch(data, name))

    @classmethod
    def parse_legacy(cls, value: Any, name: str = "state") -> TorchCPUState:
        """A torch 1.0/1.1 5048-byte state, in today's layout (empty float cache)."""
        return cls._trusted(_formats.torch_from_legacy(_formats.as_bytes(value, name), name))

    @classmethod
    def fresh(cls, seed: int, mt: MT19937State) -> TorchCPUState:
        """``manual_seed(seed)``'s layout (seed recorded, empty normal caches)
        holding ``mt``: byte for byte what torch has after seeding and then
        drawing up to ``mt`` (``mt`` need not come from ``seed``)."""
        return cls._trusted(_formats.torch_fresh(_integer(seed, "seed"))).replace(mt)

    @property
    def seed(self) -> int:
        return _formats.torch_seed(self.raw)

    @property
    def mt(self) -> MT19937State:
        key, pos = _formats.torch_key_pos(self.raw)
        return MT19937State._trusted(key, pos)

    @property
    def legacy_raw(self) -> bytes:
        """The 5048 bytes torch 1.0/1.1's ``get_rng_state()`` returned for it."""
        return _formats.torch_to_legacy(self.raw)

    def replace(self, mt: MT19937State) -> TorchCPUState:
        """The same state with the MT19937 part replaced by ``mt``."""
        if mt == self.mt:
            return self  # unchanged: keep every byte, `next` included
        return TorchCPUState._trusted(_formats.torch_replace(self.raw, mt.key, mt.pos))

    def advance(self, draws: int) -> TorchCPUState:
        """The state after ``draws`` draws, every other field kept."""
        return self.replace(self.mt.advance(draws))
