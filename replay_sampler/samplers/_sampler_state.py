"""The typed, versioned state of a ``ReplayableRandomSampler`` (torchdata's ``Stateful``).

:class:`SavedState` is what ``state_dict()`` returns, as a value: it is
built, serialized to a plain dict of ints, strings, lists and uint8 tensors
(``torch.load(..., weights_only=True)`` reads it), and read back with every
field validated -- kind, version, the sampler's settings, types, ranges and a
checksum over all of it -- before a sampler changes anything.  Format version
1 (replay_sampler 0.1) still loads; it carried no checksum.  Version 2 lacked
``chunk_generator_state`` (below) and still loads: its epochs with
replacement resume by a jump over the private generator instead.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass, field, replace
from typing import Any

import torch

from .. import _torch
from ..core._checks import integer, state_header, stride
from ..core._digest import digest, verify
from ..core._errors import CorruptStateError, ForeignStateError
from ..core._mt19937 import TorchCPUState
from ._epochs import EpochDraws

#: Version of the ``state_dict`` layout; bumped on any incompatible change.
STATE_VERSION = 3
#: The versions ``from_dict`` reads.
READ_VERSIONS = (1, 2, 3)
STATE_KIND = "replay_sampler.ReplayableRandomSampler"

# state_dict keys, as constants (torchdata's Stateful convention).
KEY_KIND = "kind"
KEY_VERSION = "version"
KEY_DATASET_SIZE = "dataset_size"
KEY_NUM_SAMPLES = "num_samples"
KEY_REPLACEMENT = "replacement"
KEY_GENERATOR = "generator"
KEY_FIRST_EPOCH = "first_epoch"
KEY_TORCH_VERSION = "torch_version"
KEY_EPOCH = "epoch"
KEY_PHASE = "phase"
KEY_POSITION = "position"
KEY_CHUNKS_DRAWN = "chunks_drawn"
KEY_PENDING = "pending_chunks"
KEY_EPOCH_SEED = "epoch_seed"
KEY_SAMPLER_START = "sampler_start_state"
KEY_EPOCH_START = "epoch_start_state"
KEY_GENERATOR_STATE = "generator_state"
#: Version 3: the private per-epoch generator's state after ``chunks_drawn``
#: chunks (with replacement on the global generator), so that a resume draws
#: on from it instead of jumping to it; ``None`` where the state has none.
KEY_CHUNK_GENERATOR = "chunk_generator_state"
KEY_REFERENCE_EPOCH = "reference_epoch"
KEY_REFERENCE_STATE = "reference_state"
KEY_REFERENCE_AT = "reference_at"
KEY_PRE_DRAWS = "draws_before_sampler"
KEY_DRAWS_PER_EPOCH = "draws_per_epoch"
KEY_CHECKSUM = "checksum"

GLOBAL, EXPLICIT = "global", "explicit"
_STATES = (KEY_SAMPLER_START, KEY_EPOCH_START, KEY_GENERATOR_STATE, KEY_REFERENCE_STATE)
#: Where the reference state was taken: at the epoch's set_epoch, or its first sampler draw.
AT_SET, AT_MARK = "set_epoch", "sampler_start"


class SavedPhase(enum.Enum):
    """Where the sampler stood when it was saved (NOTE [ Sampler lifecycle ])."""

    #: Not yet iterating epoch ``epoch`` (a set_epoch, or nothing, had happened).
    POSITIONED = "positioned"
    #: Iterating epoch ``epoch``; ``position`` of its samples are consumed.
    ITERATING = "iterating"
    #: Epoch ``epoch`` was iterated to its end; the next iteration is ``epoch + 1``.
    EXHAUSTED = "exhausted"


@dataclass(frozen=True)
class Chunk:
    """A drawn chunk still holding unconsumed samples: by the generator state
    before it (a permutation, 5 KB) or by its values (``randint``, 32 ints)."""

    index: int
    state: TorchCPUState | None = None
    values: tuple[int, ...] | None = None


@dataclass(frozen=True)
class SavedState:
    """A ``ReplayableRandomSampler``'s state, validated."""

    dataset_size: int
    num_samples: int
    replacement: bool
    explicit: bool
    first_epoch: int
    torch_version: str
    epoch: int
    phase: SavedPhase
    position: int
    chunks_drawn: int
    generator_state: TorchCPUState
    pending: tuple[Chunk, ...] = ()
    epoch_seed: int | None = None
    sampler_start: TorchCPUState | None = None
    epoch_start: TorchCPUState | None = None
    reference_epoch: int | None = None
    reference_state: TorchCPUState | None = None
    reference_at: str | None = None  # AT_SET or AT_MARK
    draws_before_sampler: int | None = None  # measured from set_epoch to the sampler's draw
    draws_per_epoch: int | tuple[int, int] | None = None
    chunk_state: TorchCPUState | None = None  # KEY_CHUNK_GENERATOR
    version: int = field(default=STATE_VERSION, compare=False)

    # -- to and from a dict ------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            KEY_KIND: STATE_KIND,
            KEY_VERSION: STATE_VERSION,
            KEY_DATASET_SIZE: self.dataset_size,
            KEY_NUM_SAMPLES: self.num_samples,
            KEY_REPLACEMENT: self.replacement,
            KEY_GENERATOR: EXPLICIT if self.explicit else GLOBAL,
            KEY_FIRST_EPOCH: self.first_epoch,
            KEY_TORCH_VERSION: self.torch_version,
            KEY_EPOCH: self.epoch,
            KEY_PHASE: self.phase.value,
            KEY_POSITION: self.position,
            KEY_CHUNKS_DRAWN: self.chunks_drawn,
            KEY_PENDING: [_chunk_dict(c) for c in self.pending],
            KEY_EPOCH_SEED: self.epoch_seed,
            KEY_SAMPLER_START: _tensor(self.sampler_start),
            KEY_EPOCH_START: _tensor(self.epoch_start),
            KEY_GENERATOR_STATE: _torch.tensor(self.generator_state),
            KEY_REFERENCE_EPOCH: self.reference_epoch,
            KEY_REFERENCE_STATE: _tensor(self.reference_state),
            KEY_REFERENCE_AT: self.reference_at,
            KEY_PRE_DRAWS: self.draws_before_sampler,
            KEY_DRAWS_PER_EPOCH: (list(self.draws_per_epoch)
                                  if isinstance(self.draws_per_epoch, tuple)
                                  else self.draws_per_epoch),
            KEY_CHUNK_GENERATOR: _tensor(self.chunk_state),
        }
        out[KEY_CHECKSUM] = _checksum(out)
        return out

    @classmethod
    def from_dict(cls, state_dict: Any, plan: EpochDraws, *, first_epoch: int,
                  torch_version: str) -> SavedState:
        """Read and validate ``state_dict`` for a sampler with ``plan`` (its
        dataset size, settings and release), ``first_epoch`` and release."""
        is_dict = isinstance(state_dict, dict)
        version = state_dict.get(KEY_VERSION) if is_dict else None
        if version == 1:
            return _from_v1(state_dict, plan, first_epoch=first_epoch, torch_version=torch_version)
        if is_dict and state_dict.get(KEY_KIND) == STATE_KIND and version not in READ_VERSIONS:
            raise ForeignStateError(
                f"state_dict has format version {version!r}; this replay_sampler reads versions "
                f"{READ_VERSIONS[0]} to {READ_VERSIONS[-1]}"
            )
        required = (KEY_DATASET_SIZE, KEY_NUM_SAMPLES, KEY_REPLACEMENT, KEY_GENERATOR,
                    KEY_FIRST_EPOCH, KEY_TORCH_VERSION, KEY_EPOCH, KEY_PHASE, KEY_POSITION,
                    KEY_CHUNKS_DRAWN, KEY_PENDING, KEY_EPOCH_SEED, *_STATES,
                    KEY_REFERENCE_EPOCH, KEY_REFERENCE_AT, KEY_PRE_DRAWS, KEY_DRAWS_PER_EPOCH,
                    KEY_CHECKSUM)
        if version == 2:
            sd = state_header(state_dict, STATE_KIND, 2, required)
        else:
            sd = state_header(state_dict, STATE_KIND, STATE_VERSION,
                              (*required, KEY_CHUNK_GENERATOR))
        _same_settings(sd, plan, first_epoch, torch_version)
        phase = _phase(sd[KEY_PHASE])
        states = {key: _state(sd[key], key) for key in _STATES}
        generator_state = states[KEY_GENERATOR_STATE]
        if generator_state is None:
            raise CorruptStateError(f"state_dict['{KEY_GENERATOR_STATE}'] must be a generator state")
        at = sd[KEY_REFERENCE_AT]
        if at not in (None, AT_SET, AT_MARK):
            raise CorruptStateError(
                f"state_dict['{KEY_REFERENCE_AT}'] must be {AT_SET!r}, {AT_MARK!r} or None; got {at!r}"
            )
        saved = cls(
            dataset_size=plan.n,
            num_samples=plan.num_samples,
            replacement=plan.replacement,
            explicit=plan.explicit,
            first_epoch=first_epoch,
            torch_version=torch_version,
            epoch=_int(sd, KEY_EPOCH, first_epoch),
            phase=phase,
            position=_int(sd, KEY_POSITION),
            chunks_drawn=_int(sd, KEY_CHUNKS_DRAWN),
            generator_state=generator_state,
            epoch_seed=None if sd[KEY_EPOCH_SEED] is None else _int(sd, KEY_EPOCH_SEED),
            sampler_start=states[KEY_SAMPLER_START],
            epoch_start=states[KEY_EPOCH_START],
            reference_epoch=(None if sd[KEY_REFERENCE_EPOCH] is None
                             else _int(sd, KEY_REFERENCE_EPOCH, first_epoch)),
            reference_state=states[KEY_REFERENCE_STATE],
            reference_at=at,
            draws_before_sampler=None if sd[KEY_PRE_DRAWS] is None else _int(sd, KEY_PRE_DRAWS),
            draws_per_epoch=(None if sd[KEY_DRAWS_PER_EPOCH] is None
                             else stride(sd[KEY_DRAWS_PER_EPOCH],
                                         f"state_dict['{KEY_DRAWS_PER_EPOCH}']")),
            chunk_state=_state(sd.get(KEY_CHUNK_GENERATOR), KEY_CHUNK_GENERATOR),
            version=2 if version == 2 else STATE_VERSION,
        )
        saved.check(plan)
        saved = replace(saved, pending=_pending(sd[KEY_PENDING], saved, plan))
        # last: a value in range but changed since the save (a flipped bit) is caught here
        verify(_checksum_parts(sd), sd[KEY_CHECKSUM], f"state_dict['{KEY_CHECKSUM}']")
        return saved

    # -- consistency ------------------------------------------------------------------
    def check(self, plan: EpochDraws) -> None:
        """Counters that agree with each other and with the epoch's shape."""
        sizes = plan.sizes()
        if self.position > self.num_samples:
            raise CorruptStateError(
                f"state_dict['{KEY_POSITION}']={self.position} exceeds num_samples={self.num_samples}"
            )
        if self.chunks_drawn > len(sizes):
            raise CorruptStateError(
                f"state_dict['{KEY_CHUNKS_DRAWN}']={self.chunks_drawn} exceeds the {len(sizes)} "
                "draw steps of an epoch"
            )
        began = self.phase is SavedPhase.ITERATING
        if began and self.sampler_start is None:
            raise CorruptStateError(
                f"state_dict['{KEY_SAMPLER_START}'] must be a generator state for an epoch "
                "under way"
            )
        if began and plan.seeded and not plan.shared and self.epoch_seed is None:
            raise CorruptStateError(
                f"state_dict['{KEY_EPOCH_SEED}'] must be an integer for an epoch under way"
            )
        if self.phase is SavedPhase.EXHAUSTED and self.position != self.num_samples:
            raise CorruptStateError(
                f"state_dict['{KEY_POSITION}']={self.position} must be num_samples="
                f"{self.num_samples} for an exhausted epoch"
            )
        if self.chunk_state is not None and not (began and plan.replacement
                                                 and not plan.shared):
            raise CorruptStateError(
                f"state_dict['{KEY_CHUNK_GENERATOR}'] must be None but for an epoch under way "
                "with replacement on the global generator"
            )
        if (self.reference_epoch is None) != (self.reference_state is None) or (
                (self.reference_state is None) != (self.reference_at is None)):
            raise CorruptStateError(
                f"state_dict['{KEY_REFERENCE_EPOCH}'], ['{KEY_REFERENCE_STATE}'] and "
                f"['{KEY_REFERENCE_AT}'] must be given together"
            )

    def pending_needed(self, plan: EpochDraws) -> list[int]:
        """The drawn chunks that still hold samples at ``position``."""
        if self.phase is not SavedPhase.ITERATING or not (plan.shared
                                                          or self.chunk_state is not None):
            return []
        return plan.sizes().holding(self.position, self.chunks_drawn)


def _tensor(state: TorchCPUState | None) -> torch.Tensor | None:
    return None if state is None else _torch.tensor(state)


def _chunk_dict(chunk: Chunk) -> dict[str, Any]:
    if chunk.values is not None:
        return {"index": chunk.index, "values": torch.tensor(chunk.values, dtype=torch.int64)}
    assert chunk.state is not None
    return {"index": chunk.index, "state": _torch.tensor(chunk.state)}


def _bytes_of(value: Any) -> bytes | None:
    if value is None:
        return None
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().contiguous().numpy().tobytes()
    return repr(value).encode()


def _checksum_parts(sd: dict[str, Any]) -> list[bytes | None]:
    """Everything in a v2 or v3 state dict but the checksum, in a fixed order
    (a v2 dict has no ``chunk_generator_state``: its parts are those v2 wrote)."""
    plain = {k: v for k, v in sd.items()
             if k not in (KEY_CHECKSUM, KEY_PENDING, KEY_CHUNK_GENERATOR, *_STATES)}
    plain = {k: (v.tolist() if isinstance(v, torch.Tensor) else v) for k, v in plain.items()}
    parts: list[bytes | None] = [json.dumps(plain, sort_keys=True, default=repr).encode()]
    parts += [_bytes_of(sd.get(k)) for k in _STATES]
    if KEY_CHUNK_GENERATOR in sd:
        parts.append(_bytes_of(sd[KEY_CHUNK_GENERATOR]))
    pending = sd.get(KEY_PENDING)
    for item in pending if isinstance(pending, (list, tuple)) else [pending]:
        if isinstance(item, dict):
            parts += [repr(item.get("index")).encode(), _bytes_of(item.get("state")),
                      _bytes_of(item.get("values"))]
        else:
            parts.append(repr(item).encode())
    return parts


def _checksum(sd: dict[str, Any]) -> str:
    return digest(_checksum_parts(sd))


def _int(sd: dict[str, Any], key: str, minimum: int = 0) -> int:
    return integer(sd[key], f"state_dict['{key}']", minimum)


def _state(value: Any, key: str) -> TorchCPUState | None:
    return None if value is None else _torch.parse(value, f"state_dict['{key}']")


def _phase(value: Any) -> SavedPhase:
    try:
        return SavedPhase(value)
    except ValueError:
        choices = ", ".join(repr(p.value) for p in SavedPhase)
        raise CorruptStateError(
            f"state_dict['{KEY_PHASE}'] must be one of {choices}; got {value!r}"
        ) from None


def _same_settings(sd: dict[str, Any], plan: EpochDraws, first_epoch: int,
                   torch_version: str) -> None:
    if sd[KEY_DATASET_SIZE] != plan.n:
        raise ForeignStateError(
            f"state_dict is for a dataset of {sd[KEY_DATASET_SIZE]} samples; this "
            f"sampler's data_source has {plan.n}"
        )
    for key, mine in ((KEY_NUM_SAMPLES, plan.num_samples), (KEY_REPLACEMENT, plan.replacement),
                      (KEY_FIRST_EPOCH, first_epoch), (KEY_TORCH_VERSION, torch_version)):
        if sd[key] != mine:
            raise ForeignStateError(f"state_dict has {key}={sd[key]!r}; this sampler has {mine!r}")
    here = EXPLICIT if plan.explicit else GLOBAL
    if sd[KEY_GENERATOR] != here:
        raise ForeignStateError(
            f"state_dict was saved with the {sd[KEY_GENERATOR]} generator; this sampler "
            f"uses the {here} one"
        )


def _pending(items: Any, saved: SavedState, plan: EpochDraws) -> tuple[Chunk, ...]:
    """The saved chunks, checked against the counters and the epoch's shape."""
    name = f"state_dict['{KEY_PENDING}']"
    if not isinstance(items, (list, tuple)):
        raise CorruptStateError(f"{name} must be a list, got {type(items).__name__}")
    needed = saved.pending_needed(plan)
    sizes, n = plan.sizes(), plan.n
    out: dict[int, Chunk] = {}
    for item in items:
        index = item.get("index") if isinstance(item, dict) else None
        if index not in needed:
            raise CorruptStateError(f"{name} holds chunk {index!r}; expected chunks {needed}")
        assert isinstance(item, dict) and isinstance(index, int)
        if "values" in item:
            values = tuple(int(v) for v in torch.as_tensor(item["values"]).tolist())
            if len(values) != sizes[index] or any(not 0 <= v < n for v in values):
                raise CorruptStateError(
                    f"{name}: chunk {index} must hold {sizes[index]} indices below {n}"
                )
            out[index] = Chunk(index, values=values)
        else:
            out[index] = Chunk(index, state=_torch.parse(item.get("state"),
                                                         f"{name}[{index}]['state']"))
    if sorted(out) != needed:
        raise CorruptStateError(f"{name} must hold chunks {needed}, got {sorted(out)}")
    return tuple(out[i] for i in needed)


# -- format version 1 (replay_sampler 0.1) ---------------------------------------------
def _from_v1(state_dict: dict[str, Any], plan: EpochDraws, *, first_epoch: int,
             torch_version: str) -> SavedState:
    """A version-1 state as a version-2 one.  Version 1 had no checksum and no
    phase: an epoch whose samples were all consumed resumed at the next epoch,
    so it becomes an exhausted one whose owed trailing draws are made."""
    required = (KEY_DATASET_SIZE, KEY_NUM_SAMPLES, KEY_REPLACEMENT, KEY_GENERATOR,
                KEY_FIRST_EPOCH, "epoch", "samples_consumed", KEY_CHUNKS_DRAWN, KEY_PENDING,
                KEY_EPOCH_SEED, KEY_SAMPLER_START, KEY_EPOCH_START, KEY_GENERATOR_STATE,
                "anchor_state", "anchor_epoch", KEY_DRAWS_PER_EPOCH, KEY_TORCH_VERSION)
    sd = state_header(state_dict, STATE_KIND, 1, required)
    _same_settings(sd, plan, first_epoch, torch_version)
    states = {key: _state(sd[key], key) for key in
              (KEY_SAMPLER_START, KEY_EPOCH_START, KEY_GENERATOR_STATE, "anchor_state")}
    generator_state = states[KEY_GENERATOR_STATE]
    if generator_state is None:
        raise CorruptStateError(f"state_dict['{KEY_GENERATOR_STATE}'] must be a generator state")
    position = _int(sd, "samples_consumed")
    began = states[KEY_SAMPLER_START] is not None
    chunks_drawn = _int(sd, KEY_CHUNKS_DRAWN)
    if began and position >= plan.num_samples:  # the next epoch follows on
        phase = SavedPhase.EXHAUSTED
        if plan.shared:  # the trailing chunks v1 drew when the next epoch began
            owed = plan.sizes().draws(plan.chunk_draws, first=chunks_drawn)
            generator_state = generator_state.advance(owed)
        chunks_drawn = len(plan.sizes())
    else:
        phase = SavedPhase.ITERATING if began else SavedPhase.POSITIONED
    anchor = states["anchor_state"]
    saved = SavedState(
        dataset_size=plan.n, num_samples=plan.num_samples, replacement=plan.replacement,
        explicit=plan.explicit, first_epoch=first_epoch, torch_version=torch_version,
        epoch=_int(sd, "epoch", first_epoch), phase=phase, position=position,
        chunks_drawn=chunks_drawn, generator_state=generator_state,
        epoch_seed=None if sd[KEY_EPOCH_SEED] is None else _int(sd, KEY_EPOCH_SEED),
        sampler_start=states[KEY_SAMPLER_START], epoch_start=states[KEY_EPOCH_START],
        reference_epoch=None if anchor is None else _int(sd, "anchor_epoch", first_epoch),
        reference_state=anchor,
        reference_at=None if anchor is None else AT_SET,
        draws_per_epoch=(None if sd[KEY_DRAWS_PER_EPOCH] is None
                         else stride(sd[KEY_DRAWS_PER_EPOCH],
                                     f"state_dict['{KEY_DRAWS_PER_EPOCH}']")),
        version=1,
    )
    if phase is SavedPhase.ITERATING:
        saved = replace(saved, pending=_pending(sd[KEY_PENDING], saved, plan))
    saved.check(plan)
    return saved
