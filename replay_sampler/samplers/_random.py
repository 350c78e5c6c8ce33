"""ReplayableRandomSampler: torch's RandomSampler, plus jumps to any epoch.

NOTE [ Sampler lifecycle ]
==========================

A sampler is in one phase at a time; ``epoch`` is the epoch of that phase.

============  ==================================================  ==========================
phase         meaning                                             ``sampler.epoch``
============  ==================================================  ==========================
FRESH         constructed, nothing positioned or iterated yet     ``first_epoch``
POSITIONED    ``set_epoch(e)`` called, epoch ``e`` not begun       ``e``
ITERATING     an iteration of ``e`` has made its first draw       ``e``
EXHAUSTED     the iteration of ``e`` ran to its end (its trailing  ``e + 1``
              draws made): the next iteration is ``e + 1``
LOADED        ``load_state_dict``: the next iterator created       the saved epoch if it was
              continues the saved epoch from where it stopped     unfinished, else the next
============  ==================================================  ==========================

Transitions:

* ``set_epoch(e)``: a no-op for the epoch under way (ITERATING ``e``), for
  the epoch positioned (POSITIONED ``e``) and for the loaded epoch (LOADED
  ``e``: its continuation stays) -- as ``RandomSampler`` and
  ``DistributedSampler`` never react to a ``set_epoch`` for the epoch under
  way.  Otherwise -> POSITIONED ``e``, and the generator's timeline puts the
  generator at epoch ``e``'s start (NOTE [ Generator timelines ] in
  ``_timeline.py``: it moves only in a resumed process or for an epoch that
  is neither the current nor the next; ``set_epoch(e)`` after epoch ``e`` ran
  to its end replays it).  Dropping a loaded, unfinished epoch for another
  one moves the generator to that epoch's start too.  A ``set_epoch(e)``
  that arrives while another epoch is being iterated (Lightning with
  workers, resumed without ``ReplayCallback``) cannot change the indices
  already handed out: it warns and applies from the next iteration.
* The first draw of an iteration (``next()`` on the iterator; DataLoader
  workers pull it when the iterator is created) -> ITERATING.  Its epoch:
  the positioned one; the next one after FRESH (``first_epoch``) or
  EXHAUSTED; during ITERATING ``e`` a new iteration stays in ``e`` once
  ``set_epoch`` is in use (a peek at a batch), else it is ``e + 1`` (each
  iteration an epoch, as without ``set_epoch``).  It draws exactly what
  ``RandomSampler`` draws, from the same generators, in the same order
  (with replacement on the global generator, the epoch's private generator,
  which nothing else can draw from, makes 64 chunks' draws at once: the
  same values, and a state_dict saves the state 64 calls would have left).
* The iteration running to its end -> EXHAUSTED (an iteration cut short by
  ``break`` stays ITERATING: its epoch ends when the next one begins).
* ``load_state_dict(state)`` -> LOADED, after validating everything: the
  generator is put where the saved epoch began (so that a new DataLoader
  iterator draws the same base seed) or, for a finished epoch, where it
  ended.  The next ``iter()`` claims the continuation; its first draw puts
  the generator where it was when the state was saved, so the loop's own
  draws (dropout) continue as they were -- whatever a restoring iterator
  drew before the sampler's state was loaded (torchdata's
  ``StatefulDataLoader`` draws its base seed first) leaves no trace.  A state
  saved after the last index but before the end of the iteration continues
  as "nothing left" (the owed trailing draws made), then the next epoch; a
  state saved after the end continues as an empty iterator, then the next
  epoch -- which is how a restoring iterator that torchdata discards leaves
  no trace.  ``set_epoch`` to another epoch drops the continuation.

``samples_consumed`` (``state_dict``) counts the indices of the current
iteration the loop has used, from where the iteration began: the epoch's
start, or the saved position for a resumed epoch.  It may lag behind the
indices handed out (DataLoader workers prefetch), never exceed them.  A count
given is a position inside the epoch, also at its end: a state saved with it
at the last batch is "nothing left" even when the iterator had already run
out (a short last batch, workers), so a plain loop checkpointing at any step
resumes with ``sampler.epoch`` the epoch it was in.  ``state_dict()`` without
it after the iteration ran out records EXHAUSTED.  ``ReplayableDistributedSampler``
follows the same rule.
"""

from __future__ import annotations

import collections
import enum
import itertools
import operator
import typing
import warnings
import weakref
from collections import deque
from collections.abc import Iterator, Sequence, Sized
from dataclasses import dataclass, field, replace
from typing import Any

import torch
from torch.utils.data import RandomSampler

from .. import _torch
from ..core import _checks
from ..core._distance import draws_between
from ..core._errors import ForeignStateError, NotReachedError
from ..core._mt19937 import TorchCPUState
from ..core._profiles import TorchProfile
from ._epochs import REPLACEMENT_CHUNK, EpochDraws
from ._sampler_state import (
    AT_MARK,
    AT_SET,
    KEY_CHECKSUM,
    KEY_DATASET_SIZE,
    KEY_EPOCH,
    KEY_GENERATOR_STATE,
    KEY_PENDING,
    KEY_PHASE,
    KEY_POSITION,
    STATE_KIND,
    STATE_VERSION,
    Chunk,
    SavedPhase,
    SavedState,
)
from ._timeline import Reference, Timeline, timeline

__all__ = [
    "KEY_CHECKSUM", "KEY_DATASET_SIZE", "KEY_EPOCH", "KEY_GENERATOR_STATE", "KEY_PENDING",
    "KEY_PHASE", "KEY_POSITION", "STATE_KIND", "STATE_VERSION", "Phase",
    "ReplayableRandomSampler",
]

#: Drawn chunks remembered for a state_dict taken behind the sampler (workers
#: prefetch): permutations by their generator state, 5 KB each; replacement
#: chunks by their 32 values, so 2048 of them reach 65,536 samples back.
_KEEP_CHUNKS = 64
_KEEP_REPLACEMENT_CHUNKS = 2048
#: Replacement chunks drawn at once from an epoch's private generator: nothing
#: else draws from it and randint takes one draw (or two) per value in order, so
#: one call for 64 chunks gives the values and the state 64 calls would (a torch
#: call per 32 values is most of RandomSampler's cost at small n).
_BLOCK_CHUNKS = 64
#: How far a second sampler's first draw is looked for after the epoch's mark.
_OFFSET_LIMIT = 10**7


class Phase(enum.Enum):
    """The sampler's lifecycle (NOTE [ Sampler lifecycle ] above)."""

    FRESH = "fresh"
    POSITIONED = "positioned"
    ITERATING = "iterating"
    EXHAUSTED = "exhausted"
    LOADED = "loaded"


class _Progress:
    """Where a running iteration is: the current chunk's iterator over its
    unused values, the epoch position it started at, and its length."""

    __slots__ = ("__weakref__", "base", "it", "length")

    def __init__(self, base: int) -> None:
        self.base, self.length = base, 0
        self.it: Iterator[int] | None = None

    def count(self) -> int:
        """Epoch position reached: indices of the epoch handed out."""
        if self.it is None:
            return self.base + self.length
        return self.base + self.length - operator.length_hint(self.it)


@dataclass
class _Run:
    """One iteration of an epoch, as ``state_dict`` needs it."""

    epoch: int
    plan: EpochDraws
    start: int  # the epoch position where this iteration began
    seed: int | None
    at_mark: TorchCPUState  # the timeline generator at the epoch's first sampler draw
    at_set: TorchCPUState | None  # ... at this sampler's set_epoch before it, if any
    chunks_drawn: int = 0
    # the last chunks drawn, (index, the generator state before it) for a permutation,
    # (index, its values: a sequence, or the tensor randint gave) with replacement: plain
    # pairs, as cheap to keep as RandomSampler is to run; a state_dict turns the ones it
    # needs into Chunks
    recent: deque[tuple[int, TorchCPUState | Sequence[int] | torch.Tensor]] = field(
        default_factory=deque)
    progress: weakref.ref[_Progress] | None = None
    reached: int = 0  # the epoch position, once the iteration's frame is gone
    done: bool = False
    # with replacement on the global generator: the private per-epoch generator the
    # chunks come from (a state_dict saves its state, so a resume need not jump to it)
    live: torch.Generator | None = None
    # ... whose full chunks are drawn a block at a time: (the block's first chunk,
    # the private state before it, its number of chunks); ``live`` is past the block
    block: tuple[int, TorchCPUState, int] | None = None

    def position(self) -> int:
        progress = self.progress() if self.progress is not None else None
        return progress.count() if progress is not None else self.reached

    def live_state(self) -> TorchCPUState | None:
        """The private generator's state after the ``chunks_drawn`` chunks handed
        out (``None`` without one): redrawn from the block's start when the
        block is only partly handed out."""
        if self.live is None:
            return None
        if self.block is None:
            return _torch.read(self.live)
        first, before, length = self.block
        used = self.chunks_drawn - first
        if used >= length:
            return _torch.read(self.live)
        replay = _torch.generator_at(before)
        self.plan.drawer()(replay, used * self.plan.sizes().size)
        return _torch.read(replay)

    def kept(self, index: int) -> Chunk | None:
        """Chunk ``index``, if it is among the last ones drawn."""
        recent = self.recent
        if not recent:
            return None
        at = len(recent) - 1 - (recent[-1][0] - index)  # drawn in order, one after another
        if not 0 <= at < len(recent) or recent[at][0] != index:
            at = next((k for k, (i, _) in enumerate(recent) if i == index), -1)
            if at < 0:
                return None
        payload = recent[at][1]
        if isinstance(payload, TorchCPUState):
            return Chunk(index, state=payload)
        if isinstance(payload, torch.Tensor):
            return Chunk(index, values=tuple(payload.tolist()))
        return Chunk(index, values=tuple(payload))


ITERATOR_KIND = "replay_sampler.ReplayableRandomSampler.iterator"
ITERATOR_VERSION = 1


class _Control:
    """What an iteration's chunk source and its iterator share."""

    __slots__ = ("empty", "started")

    def __init__(self) -> None:
        self.empty = self.started = False


class _Iteration(itertools.chain[int]):
    """The iterator ``iter(sampler)`` returns: the epoch's indices, plus
    torchdata's ``Stateful`` protocol.

    A subclass of ``itertools.chain`` over the epoch's chunk iterators, so
    that ``next()`` on it stays in C: ``for i in sampler``, ``list``,
    ``islice`` and ``zip`` (torch's ``BatchSampler``) and a DataLoader with
    ``batch_size=None`` run at ``RandomSampler``'s speed (its iterator is a
    generator over a list).  Its ``state_dict`` says which epoch it iterates
    and whether it ran to its end; torchdata saves it beside the sampler's
    state and loads it into the iterator it creates right after loading the
    sampler's -- which tells that iterator to be empty when the saved epoch
    had ended (NOTE [ Sampler lifecycle ]: a restoring iterator torchdata
    discards leaves no trace).
    """

    _sampler: ReplayableRandomSampler
    _control: _Control

    def state_dict(self) -> dict[str, Any]:
        sampler = self._sampler
        finished = sampler._phase is Phase.EXHAUSTED
        return {"kind": ITERATOR_KIND, "version": ITERATOR_VERSION,
                "epoch": sampler._epoch, "finished": finished}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        sd = _checks.state_header(state_dict, ITERATOR_KIND, ITERATOR_VERSION,
                                  ("epoch", "finished"))
        epoch = _checks.integer(sd["epoch"], "state_dict['epoch']", 0)
        finished = _checks.boolean(sd["finished"], "state_dict['finished']")
        sampler, control = self._sampler, self._control
        if control.started:
            raise ValueError(
                "load_state_dict on an iterator that has already handed out indices: load the "
                "iterator's state right after creating it"
            )
        if finished:
            if sampler._phase is not Phase.EXHAUSTED or sampler._epoch != epoch:
                raise ForeignStateError(
                    f"the iterator state is of epoch {epoch}, which had ended; load the "
                    "sampler's state (of the same checkpoint) first"
                )
            control.empty = True  # the ended epoch's iterator: nothing left, nothing owed
        elif sampler._epoch != epoch:
            raise ForeignStateError(
                f"the iterator state is of epoch {epoch}; the sampler is at epoch "
                f"{sampler._epoch}: load the sampler's state (of the same checkpoint) first"
            )


def _payload(chunk: Chunk) -> tuple[int, TorchCPUState | Sequence[int]]:
    """A saved chunk as ``_Run.recent`` keeps it."""
    if chunk.values is not None:
        return chunk.index, chunk.values
    assert chunk.state is not None
    return chunk.index, chunk.state


def _private_replacement(plan: EpochDraws, chunks: torch.Generator) -> torch.Generator | None:
    """The generator of an epoch's ``randint`` chunks when it is private to the
    epoch (replacement on the global generator), else ``None``."""
    return chunks if plan.replacement and not plan.shared else None


def _reference_fields(ref: Reference | None) -> dict[str, Any]:
    """A timeline reference as a state's fields: one state, at its mark if known."""
    if ref is None:
        return {"reference_epoch": None, "reference_state": None, "reference_at": None}
    if ref.at_mark is not None:
        return {"reference_epoch": ref.epoch, "reference_state": ref.at_mark,
                "reference_at": AT_MARK}
    return {"reference_epoch": ref.epoch, "reference_state": ref.at_set, "reference_at": AT_SET}


class ReplayableRandomSampler(RandomSampler):
    r"""A drop-in for :class:`torch.utils.data.RandomSampler` that can jump to any epoch.

    A subclass of ``RandomSampler`` with its signature: iterating it gives the
    same indices as ``RandomSampler`` with the same arguments and leaves its
    generator (``generator``, or torch's global one when ``None``) in the
    byte-identical state, epoch after epoch -- alone or inside a ``DataLoader``
    with any worker setting.  Frameworks that detect shuffling with
    ``isinstance(sampler, RandomSampler)`` take the path they take for
    ``shuffle=True`` (the README lists what that means for each).

    On top of that:

    * ``set_epoch(e)`` puts the generator where an uninterrupted run had it at
      the start of epoch ``e`` (before that epoch's DataLoader iterator drew
      its base seed), in milliseconds whatever ``e``.  The generator's
      timeline (shared by every replayable sampler on the generator) moves it
      only in a resumed process, or for an epoch that is neither the one
      under way nor the next -- an uninterrupted run is never moved.  The
      rules, with the reference point and what counts as an epoch's start,
      are NOTE [ Generator timelines ] in ``replay_sampler/samplers/_timeline.py``;
      the phases are NOTE [ Sampler lifecycle ] in this module.
    * ``draws_per_epoch``: how many 32-bit draws the whole loop takes from the
      generator per epoch, counted from one epoch's first sampler draw to the
      next -- an int, or ``(first, later)`` when the first epoch a process
      runs draws differently after that point (a fresh loader's one-time
      draws).  It belongs to the generator's timeline: setting it on one
      sampler sets it for all on the generator.  Default: every sampler's own
      draws plus one DataLoader base seed (2) each -- 4 for one sampler on the
      global generator.  :func:`replay_sampler.draws_per_epoch` counts it from
      your loaders, :func:`replay_sampler.measure_draws` from a dry-run
      epoch; in an uninterrupted run that uses ``set_epoch`` the timeline
      measures the real count, exposes it as ``measured_draws_per_epoch`` and
      warns once, with the line to paste, if it differs.
    * ``indices(e)``: epoch ``e``'s order, touching no generator.
    * ``state_dict()`` / ``load_state_dict()`` (torchdata's ``Stateful``
      protocol): mid-epoch and end-of-epoch resume in a fresh process,
      versioned and checksummed.

    Differences from ``RandomSampler``, all on bad input: ``generator`` must be
    a CPU ``torch.Generator`` (refused at construction; ``RandomSampler`` fails
    at iteration), and the keyword-only arguments below are new.

    Args:
        data_source: a sized dataset.
        replacement: sample with replacement (as ``RandomSampler``).
        num_samples: samples per epoch, default ``len(data_source)``.
        generator: a CPU ``torch.Generator``; ``None`` uses the global one for
            a per-epoch seed, exactly as ``RandomSampler`` does.
        draws_per_epoch: see above.
        first_epoch: the number the loop gives its first epoch (the same for
            every sampler on one generator).
        torch_version: iterate as that torch release's ``RandomSampler`` did
            (e.g. ``"1.8"``: a seed, then the permutation from the global
            generator), so a run made with it can be continued; default the
            installed torch.
    """

    def __init__(
        self,
        data_source: Sized,
        replacement: bool = False,
        num_samples: int | None = None,
        generator: torch.Generator | None = None,
        *,
        draws_per_epoch: int | tuple[int, int] | None = None,
        first_epoch: int = 0,
        torch_version: str | None = None,
    ) -> None:
        # RandomSampler's own checks and attributes (its messages, word for word)
        super().__init__(data_source, replacement, num_samples, generator)
        if generator is not None:
            _torch.check_cpu_generator(generator)
        stride = None if draws_per_epoch is None else _checks.stride(draws_per_epoch)
        first = _checks.integer(first_epoch, "first_epoch", 0)
        self.profile = TorchProfile.of(torch_version)
        self._installed = TorchProfile.of(None)
        if (not self.replacement and self._num_samples is not None
                and not self.profile.sampler_trailing_randperm):
            raise ValueError(
                f"num_samples without replacement needs torch >= 1.11; {self.profile} "
                "(torch_version) refused it"
            )
        self.first_epoch = first
        self._draws_per_epoch_given = stride
        self._timeline: Timeline = timeline(generator)
        self._timeline.join(self)
        if stride is not None:
            self._timeline.agree(stride, self)
        self._phase = Phase.FRESH
        self._epoch = first
        self._run: _Run | None = None
        self._loaded: SavedState | None = None
        self._set_used = False
        self._at_set: tuple[int, TorchCPUState] | None = None  # (epoch, state at set_epoch)
        self._mark_offset: int | None = None  # draws from the epoch's mark to our first draw
        self._restore_at_resume: list[tuple[torch.Generator, TorchCPUState]] = []
        self._pending_jump = False  # a set_epoch that came while another epoch ran
        self._global_at_checkpoint: TorchCPUState | None = None  # integrations.torchdata

    # -- pickling and copying ---------------------------------------------------------------
    def __getstate__(self) -> dict[str, Any]:
        """Pickle and deepcopy without the timeline and the running iteration
        (it stays with its iterator); where the iteration had got to is kept."""
        state = self.__dict__.copy()
        state.pop("_timeline")
        run = self._run
        if run is not None:
            state["_run"] = replace(run, progress=None, reached=run.position(), live=None, block=None,
                                    recent=deque(run.recent, maxlen=run.recent.maxlen))
        state["_restore_at_resume"] = []
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._timeline = timeline(self.generator)
        self._timeline.join(self)

    def _snapshot(self) -> dict[str, Any]:
        """Everything a run may change, for ``samplers._timeline.preserved``."""
        state = dict(self.__dict__)
        run = self._run
        if run is not None:
            state["_run"] = replace(run, recent=deque(run.recent, maxlen=run.recent.maxlen))
            state["_run_reached"] = run.position()
            state["_run_live"] = None if run.live is None else _torch.read(run.live)
        state["_restore_at_resume"] = list(self._restore_at_resume)
        return state

    def _restore(self, state: dict[str, Any]) -> None:
        state = dict(state)
        reached = state.pop("_run_reached", None)
        live = state.pop("_run_live", None)
        self.__dict__.clear()
        self.__dict__.update(state)
        if self._run is not None and reached is not None:
            self._run.reached = reached
        if self._run is not None and self._run.live is not None and live is not None:
            _torch.write(self._run.live, live)

    # -- the generator ---------------------------------------------------------------------
    @property
    def generator(self) -> torch.Generator | None:
        """The generator the permutations come from (``None``: a per-epoch seed
        from torch's global one), as ``RandomSampler``'s attribute."""
        return self.__dict__.get("generator")

    @generator.setter
    def generator(self, value: torch.Generator | None) -> None:
        """Replacing it (accelerate's ``prepare()`` on several processes gives a
        sampler without one a new generator) moves the sampler to that
        generator's timeline -- allowed only while the sampler is FRESH: once
        it is positioned, iterated or loaded, its epoch and saved positions
        belong to the old generator and the assignment is refused, changing
        nothing."""
        if "_timeline" not in self.__dict__:  # RandomSampler.__init__ sets it first
            self.__dict__["generator"] = value
            return
        if value is self.generator:
            return
        if value is not None:
            _torch.check_cpu_generator(value)
        if self._phase is not Phase.FRESH:
            raise ValueError(
                f"generator: a sampler that is {self._phase.value} (epoch {self._epoch}) cannot "
                "move to another generator -- its position belongs to the one it has; give the "
                "generator at construction, or replace it before any set_epoch, iteration or "
                "load_state_dict (with accelerate: call set_epoch on the prepared loader)"
            )
        new = timeline(value)
        self._timeline.leave(self)
        self.__dict__["generator"] = value
        self._timeline = new
        new.join(self)
        if self._draws_per_epoch_given is not None:
            new.agree(self._draws_per_epoch_given, self)

    # -- the surface beyond RandomSampler's --------------------------------------------------
    @property
    def epoch(self) -> int:
        """The epoch under way or about to be iterated (NOTE [ Sampler lifecycle ]):
        the one given to ``set_epoch`` or being iterated; after an epoch ran to
        its end, the next one; after ``load_state_dict``, the saved epoch if it
        was unfinished, the next one if it was done."""
        if self._phase is Phase.EXHAUSTED:
            return self._epoch + 1
        return self._epoch

    @property
    def phase(self) -> Phase:
        return self._phase

    @property
    def draws_per_epoch(self) -> int | tuple[int, int] | None:
        """Draws per epoch of the generator's timeline, as given (``None``: the default)."""
        return self._timeline.draws_per_epoch

    @draws_per_epoch.setter
    def draws_per_epoch(self, value: int | tuple[int, int] | None) -> None:
        self._timeline.draws_per_epoch = value  # validated there; a bad value changes nothing
        self._draws_per_epoch_given = self._timeline.draws_per_epoch

    @property
    def measured_draws_per_epoch(self) -> dict[int, int]:
        """The draws each checked epoch took in this uninterrupted process
        (epochs 0, 1, 3, 7, ... after the reference), by epoch."""
        return dict(self._timeline.measured)

    def _jump_generator(self) -> torch.Generator:
        return torch.default_generator if self.generator is None else self.generator

    def _plan(self) -> EpochDraws:
        """What an epoch draws under the sampler's settings (remembered for the
        dataset size and settings it was made for: it is asked at every epoch,
        and the dataset may change size)."""
        key = (len(self.data_source), self.num_samples, self.replacement,
               self.generator is not None, self.profile, self._installed)
        cached = self.__dict__.get("_plan_cache")
        if cached is None or cached[0] != key:
            cached = self.__dict__["_plan_cache"] = (key, EpochDraws(*key))
        return cached[1]

    def _own_draws(self) -> int:
        """Draws one full epoch of this sampler takes from its timeline's generator."""
        return self._plan().own_draws()

    # -- set_epoch -------------------------------------------------------------------------
    def set_epoch(self, epoch: int) -> None:
        """Position the generator at the start of ``epoch`` (NOTE [ Sampler lifecycle ]).

        A no-op for the epoch under way, positioned or loaded.  Otherwise the
        generator's timeline moves it only when the run is not already there:
        in a resumed process, or for an epoch that is neither the current nor
        the next one (a few milliseconds whatever the epoch; a jump back, rare,
        about half a second).  Bad input raises and changes nothing.
        """
        e = self._timeline.check_epoch(epoch, self.first_epoch)
        phase, current = self._phase, self._epoch
        if e == current and phase in (Phase.ITERATING, Phase.POSITIONED, Phase.LOADED):
            return
        run = self._run
        if phase is Phase.ITERATING and run is not None and not run.done and e != current + 1:
            handed = run.position() - run.start
            if handed:
                warnings.warn(
                    f"set_epoch({e}) arrived while epoch {current} is being iterated, with "
                    f"{handed} indices handed out: they cannot be taken back, so this epoch "
                    f"keeps epoch {current}'s order and set_epoch({e}) applies from the next "
                    "iteration. Lightning does this in the first epoch of a resumed process "
                    "with num_workers > 0 (its iterator exists before set_epoch): add "
                    "replay_sampler.integrations.lightning.ReplayCallback(sampler) to the "
                    "Trainer's callbacks, or call sampler.set_epoch(start) before trainer.fit.",
                    RuntimeWarning, stacklevel=2,
                )
                self._phase, self._epoch, self._set_used = Phase.POSITIONED, e, True
                self._pending_jump = True
                return
        replays = phase is Phase.EXHAUSTED and e == current
        drops = (phase is Phase.LOADED and self._loaded is not None
                 and self._loaded.phase is SavedPhase.ITERATING)
        self._timeline._set_epoch(e, replays or drops or self._pending_jump, self)
        self._pending_jump = False
        self._loaded = None
        self._phase, self._epoch, self._set_used = Phase.POSITIONED, e, True
        seen = self._timeline.seen
        assert seen is not None  # set_epoch leaves it where the generator is
        self._at_set = (e, seen)

    # -- iteration -------------------------------------------------------------------------
    def __iter__(self) -> Iterator[int]:
        saved = None
        if self._phase is Phase.LOADED:  # this iterator continues the saved epoch
            saved, self._loaded = self._loaded, None
            self._phase = Phase.ITERATING
        control = _Control()
        iteration = typing.cast(_Iteration, _Iteration.from_iterable(self._iterate(saved, control)))
        iteration._sampler, iteration._control = self, control
        return iteration

    def _next_epoch(self) -> int:
        phase, current = self._phase, self._epoch
        if phase in (Phase.FRESH, Phase.POSITIONED):
            return current
        if phase is Phase.ITERATING and self._set_used:
            return current  # a second iteration within the epoch (a peek)
        return current + 1  # after EXHAUSTED, or each iteration an epoch

    def _iterate(self, saved: SavedState | None, control: _Control) -> Iterator[Iterator[int]]:
        """The epoch's chunks, as iterators over their unused values (run lazily:
        nothing is drawn before the first index is asked for)."""
        if control.empty:
            return
        control.started = True
        if saved is not None:
            run, chunks = self._resume(saved)
        else:
            run, chunks = self._begin()
        # Progress lives in this generator's frame; the sampler holds it weakly, so
        # an abandoned iteration frees its permutation as RandomSampler's does.
        progress = _Progress(run.start)
        run.progress = weakref.ref(progress)
        try:
            yield from chunks
            if self._run is run:
                run.done = True
                if self._phase is Phase.ITERATING:
                    self._phase = Phase.EXHAUSTED
        finally:
            run.reached = progress.count()

    def _begin(self) -> tuple[_Run, Iterator[Iterator[int]]]:
        """A new epoch: the mark, then what RandomSampler draws before its permutation."""
        epoch = self._next_epoch()
        plan = self._plan()
        tl, gen = self._timeline, self._jump_generator()
        if self._pending_jump:  # a set_epoch that came while another epoch ran
            tl._set_epoch(epoch, True, self)
            self._pending_jump = False
        took = tl.mark(epoch, by=self)
        at_mark = tl.seen
        assert at_mark is not None  # mark leaves it where the generator is
        last = tl.last_mark()
        if took:
            self._mark_offset = 0
        elif self._mark_offset is None and last is not None and last[0] == epoch:
            try:
                self._mark_offset = draws_between(last[1].mt, at_mark.mt, _OFFSET_LIMIT)
            except NotReachedError:
                pass
        at_set = self._at_set[1] if self._at_set and self._at_set[0] == epoch else None
        seed = plan.draw_seed(torch.default_generator) if plan.seeded else None
        chunk_gen = plan.chunk_generator(gen, seed)
        run = _Run(epoch, plan, 0, seed, at_mark, at_set,
                   recent=deque(maxlen=_KEEP_REPLACEMENT_CHUNKS if plan.replacement else _KEEP_CHUNKS),
                   live=_private_replacement(plan, chunk_gen))
        self._run, self._phase, self._epoch = run, Phase.ITERATING, epoch
        return run, self._draws(run, chunk_gen, first=0)

    def _resume(self, saved: SavedState) -> tuple[_Run, Iterator[Iterator[int]]]:
        """The rest of a saved epoch; the generator continues from its saved state."""
        plan, gen = self._plan(), self._jump_generator()
        _torch.write(gen, saved.generator_state)
        for other, state in self._restore_at_resume:
            _torch.write(other, state)
        self._restore_at_resume = []
        assert saved.sampler_start is not None
        run = _Run(saved.epoch, plan, saved.position, saved.epoch_seed, saved.sampler_start,
                   saved.epoch_start, chunks_drawn=saved.chunks_drawn,
                   recent=deque((_payload(c) for c in saved.pending),
                                maxlen=_KEEP_REPLACEMENT_CHUNKS if plan.replacement else _KEEP_CHUNKS))
        self._run, self._phase, self._epoch = run, Phase.ITERATING, saved.epoch
        kept = {chunk.index: chunk for chunk in saved.pending}
        if not plan.shared and saved.chunk_state is not None:
            # the private generator where it was, and the drawn chunks still holding samples
            private = _torch.generator_at(saved.chunk_state)
            run.live = private
            return run, self._draws(run, private, first=saved.chunks_drawn,
                                    position=saved.position, kept=kept)
        if not plan.shared:
            # the epoch's seed drives a private generator nothing else draws from;
            # the chunks used up before the saved position are jumped over
            used = plan.sizes().used_up(saved.position)
            private = plan.chunk_generator(gen, saved.epoch_seed)
            plan.skip_chunks(private, used)
            run.live = _private_replacement(plan, private)
            return run, self._draws(run, private, first=used, position=saved.position)
        return run, self._draws(run, gen, first=saved.chunks_drawn, position=saved.position,
                                kept=kept)

    def _draws(self, run: _Run, live: torch.Generator, *, first: int, position: int = 0,
               kept: dict[int, Chunk] | None = None) -> Iterator[Iterator[int]]:
        """The epoch's chunks from ``position`` on, as iterators over their unused
        values, each drawn only when the previous one is used up -- as
        RandomSampler draws its permutations -- keeping ``run.progress`` (the
        full chunks of an epoch's private generator a block at a time: nothing
        else sees it).
        Chunks below ``first`` were drawn before a checkpoint: the ``kept`` ones
        still hold samples (their values are redrawn from their saved states),
        the others were used up.  Runs lazily: ``run.progress`` is set by then."""
        assert run.progress is not None
        progress = run.progress()
        assert progress is not None
        plan = run.plan
        shared = plan.shared
        keep_values = plan.replacement and (shared or run.live is not None)
        keep_states = shared and not plan.replacement
        sizes = plan.sizes()
        count, step = len(sizes), sizes.size
        kept = kept or {}
        for index in sorted(i for i in kept if i < first):  # drawn before the checkpoint
            chunk = kept[index]
            if chunk.values is not None:
                values = list(chunk.values)
            else:
                assert chunk.state is not None
                values = plan.draw_chunk(_torch.generator_at(chunk.state), sizes[index])
            yield self._unused(progress, sizes.start(index), values, position)
        draw, remember = plan.drawer(), run.recent.append
        # the epoch's private generator: its full chunks drawn a block at once
        blocked = run.live is not None
        block: list[int] = []
        block_end = at = 0
        last, drawn = count - 1, run.chunks_drawn
        before: TorchCPUState | None = None
        if keep_values and not blocked and first >= drawn and first * step >= position:
            # randint chunks from a shared generator, drawn one by one as RandomSampler
            # does: at 32 values a chunk the bookkeeping is the cost, so the full chunks
            # of the usual case have a loop of their own (the general one below does the
            # same for them, and the rest).  It keeps randint's tensor of each chunk, not
            # the list handed out: the list goes at once, as in RandomSampler, and freeing
            # 2048 chunks later a tensor touches less cold memory than a list of 32 ints
            # (at n = 1.28M that was about 6% of the epoch)
            draw_tensor = plan.tensor_drawer()
            for index in range(first, last):
                tensor = draw_tensor(live, step)
                values = tensor.tolist()
                run.chunks_drawn = index + 1
                remember((index, tensor))  # cheaper to keep and free than the list
                progress.base, progress.length = index * step, step
                it = progress.it = iter(values)
                yield it
            first, drawn = max(first, last), run.chunks_drawn
        for index in range(first, count):
            if index < last:  # every chunk but the last is a full one
                size = step
                if blocked:
                    if index >= block_end:
                        block_end = min(index + _BLOCK_CHUNKS, last)
                        run.block = (index, _torch.read(live), block_end - index)
                        block, at = draw(live, step * (block_end - index)), 0
                    values = block[at:at + step]
                    at += step
                else:
                    progress.it = None  # let the used-up chunk go before the next is drawn
                    if keep_states:
                        before = _torch.read(live)
                    values = draw(live, step)
            else:  # RandomSampler re-reads num_samples for its trailing draw
                size = (self.num_samples % (REPLACEMENT_CHUNK if plan.replacement else plan.n)
                        if count > 1 else sizes[index])
                progress.it = None
                if keep_states:
                    before = _torch.read(live)
                values = draw(live, size)
            if index >= drawn:
                run.chunks_drawn = drawn = index + 1
            if keep_values:  # what a later state_dict needs to redo this chunk
                remember((index, values))
            elif before is not None:  # keep_states
                remember((index, before))
            start = index * step
            if start >= position:  # the usual case: the whole chunk
                progress.base, progress.length = start, size
                it = progress.it = iter(values)
                del values
                yield it
            elif start + size > position:
                yield self._unused(progress, start, values, position)
                del values
        progress.it = None

    @staticmethod
    def _unused(progress: _Progress, start: int, values: list[int], position: int) -> Iterator[int]:
        """An iterator over a chunk's values from ``position`` on, kept in ``progress``."""
        skip = max(0, position - start)
        progress.base, progress.length = start + skip, len(values) - skip
        it = progress.it = iter(values)
        if skip:  # step past the used samples without copying the rest
            collections.deque(itertools.islice(it, skip), maxlen=0)
        return it

    # -- pure query -----------------------------------------------------------------------
    def indices(self, epoch: int, *, draws_before: int | None = None) -> list[int]:
        """Epoch ``epoch``'s indices in the uninterrupted run, touching no generator.

        Computed from the generator timeline's reference.  ``draws_before``:
        the draws between ``set_epoch`` and this sampler's first draw, needed
        only while this process has seen no sampler draw yet (default: one
        DataLoader base seed, 2).  For a second sampler on a generator, its
        first draw's distance from the epoch's first one is measured when it
        first iterates; until then it is unknown and ``indices`` raises.
        """
        e = self._timeline.check_epoch(epoch, self.first_epoch)
        if draws_before is not None:
            draws_before = _checks.integer(draws_before, "draws_before", 0)
        plan = self._plan()
        offset = self._mark_offset
        if offset is None:
            if self._timeline.begun and self._timeline._samplers and len(self._timeline._samplers) > 1:
                raise ValueError(
                    "indices() of a second sampler on a generator needs the draws between the "
                    "epoch's first sampler draw and this sampler's: they are measured when this "
                    "sampler first iterates"
                )
            offset = 0
        at = self._timeline.place(e, draws_before=draws_before).advance(offset)
        gen = _torch.generator_at(at)
        seed = plan.draw_seed(gen) if plan.seeded else None
        chunk_gen = plan.chunk_generator(gen, seed)
        out: list[int] = []
        for size in plan.sizes():
            out.extend(plan.draw_chunk(chunk_gen, size))
        return out

    # -- Stateful ---------------------------------------------------------------------------
    def state_dict(self, samples_consumed: int | None = None) -> dict[str, Any]:
        """The sampler's state, for a resume in a fresh process (torchdata ``Stateful``).

        Small: counters, the epoch's seed or a few generator states, never a
        permutation; versioned, and checksummed so that a damaged state is
        refused on load.

        ``samples_consumed``: how many indices of the current iteration the
        training loop has used, counted from where the iteration began (the
        epoch's start, or the saved position for a resumed epoch).  Default:
        the indices handed out -- right with ``num_workers=0``.  With workers
        the DataLoader runs up to ``prefetch_factor * num_workers`` batches
        ahead of the loop: pass ``batches_done * batch_size`` (a short last
        batch at its size); more than the sampler handed out is refused.  The
        generator's current state is saved too: call this at the moment you
        checkpoint (torchdata's ``StatefulDataLoader`` with workers calls it
        when it dispatches indices: use
        ``replay_sampler.integrations.torchdata.StatefulDataLoader``).

        At an epoch's end: ``state_dict()`` after the iteration ran to its end
        records the epoch as ended (the next iteration is the next epoch); a
        count given is the loop's, inside the epoch, so at its last batch it
        records "nothing left of this epoch" -- the resumed ``sampler.epoch`` is
        that epoch, its iterator is empty, and the loop's end-of-epoch code
        runs before the next epoch, as after torchdata's resume of such a
        checkpoint.  Without a count, a state taken before the iterator ran out
        records the same.
        """
        run, phase = self._run, self._phase
        gen = self._jump_generator()
        tl = self._timeline
        ref = tl.reference
        base: dict[str, Any] = dict(
            dataset_size=len(self.data_source), num_samples=self.num_samples,
            replacement=self.replacement, explicit=self.generator is not None,
            first_epoch=self.first_epoch, torch_version=self.profile.name,
            generator_state=_torch.read(gen),
            **_reference_fields(ref),
            draws_before_sampler=tl.draws_before_sampler,
            draws_per_epoch=tl.draws_per_epoch,
        )
        if phase is Phase.LOADED and self._loaded is not None:
            if samples_consumed is not None and _checks.integer(samples_consumed,
                                                                "samples_consumed", 0):
                raise ValueError(
                    f"samples_consumed={samples_consumed} is more than the 0 indices the sampler "
                    "has handed out: nothing of the loaded epoch has been iterated yet"
                )
            return replace(self._loaded, **{k: v for k, v in base.items()
                                            if k.startswith(("reference", "draws_"))}).to_dict()
        if (phase in (Phase.ITERATING, Phase.EXHAUSTED) and run is not None
                and run.epoch == self._epoch):
            # an epoch that ran to its end may still be ahead of the loop (workers prefetch)
            handed = run.position() - run.start
            if samples_consumed is None:
                consumed = handed
            else:
                consumed = _checks.integer(samples_consumed, "samples_consumed", 0)
                if consumed > handed:
                    raise ValueError(
                        f"samples_consumed={consumed} is more than the {handed} indices the sampler "
                        f"has handed out in this iteration of epoch {run.epoch} (count from where "
                        f"the iteration began{', the saved position ' + str(run.start) if run.start else ''})"
                    )
            position = run.start + consumed
            if run.done and samples_consumed is None:  # ran to its end: as EXHAUSTED
                # (a count given is the loop's, inside the epoch: at the end it means
                # "nothing left of this epoch", so the loop's end-of-epoch code still runs)
                return SavedState(**base, epoch=run.epoch, phase=SavedPhase.EXHAUSTED,
                                  position=self.num_samples,
                                  chunks_drawn=len(run.plan.sizes())).to_dict()
            saved = SavedState(
                **base, epoch=run.epoch, phase=SavedPhase.ITERATING,
                position=position, chunks_drawn=run.chunks_drawn,
                epoch_seed=run.seed, sampler_start=run.at_mark, epoch_start=run.at_set,
                chunk_state=run.live_state(),
            )
            pending = self._kept(run, saved)
            if pending is None and saved.chunk_state is not None:
                saved = replace(saved, chunk_state=None)  # too far behind: a resume jumps
                pending = self._kept(run, saved)
            if pending is None:
                raise self._too_far_behind(run)
            return replace(saved, pending=pending).to_dict()
        if samples_consumed is not None:
            consumed = _checks.integer(samples_consumed, "samples_consumed", 0)
            if consumed:
                raise ValueError(
                    f"samples_consumed={consumed} is more than the 0 indices the sampler has "
                    f"handed out: no iteration is under way (the sampler is {phase.value})"
                )
        if phase is Phase.EXHAUSTED:  # nothing of the epoch is needed to go on
            return SavedState(**base, epoch=self._epoch, phase=SavedPhase.EXHAUSTED,
                              position=self.num_samples,
                              chunks_drawn=len(self._plan().sizes())).to_dict()
        at_set = self._at_set[1] if self._at_set and self._at_set[0] == self._epoch else None
        return SavedState(**base, epoch=self._epoch, phase=SavedPhase.POSITIONED, position=0,
                          chunks_drawn=0, epoch_start=at_set).to_dict()

    @staticmethod
    def _kept(run: _Run, saved: SavedState) -> tuple[Chunk, ...] | None:
        """The chunks a resume from ``saved`` needs, or ``None`` if the run no
        longer keeps one of them."""
        chunks = []
        for index in saved.pending_needed(run.plan):
            chunk = run.kept(index)
            if chunk is None:
                return None
            chunks.append(chunk)
        return tuple(chunks)

    @staticmethod
    def _too_far_behind(run: _Run) -> ValueError:
        kept = len(run.recent)
        what = f"{kept * REPLACEMENT_CHUNK:,} samples" if run.plan.replacement else "permutations"
        return ValueError(
            f"samples_consumed lags too far behind the sampler, which has handed out "
            f"{run.position() - run.start} indices of this iteration; it keeps the last "
            f"{kept} draw steps ({what}) for a state_dict taken behind it"
        )

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore a :meth:`state_dict` (also one of format versions 1 and 2).

        Everything is validated -- kind, version, this sampler's settings,
        the checksum -- before anything changes; a state of another sampler,
        dataset size, generator kind or release is refused with an error that
        says which.  See NOTE [ Sampler lifecycle ] for what the next
        iteration does; ``sampler.epoch`` tells the epoch a loop should
        continue with.
        """
        plan = self._plan()
        saved = SavedState.from_dict(state_dict, plan, first_epoch=self.first_epoch,
                                     torch_version=self.profile.name)
        # integrations.torchdata: the global generator when the *loop* checkpointed (torchdata
        # asks the sampler for its state at prefetch); the loaded epoch continues from it
        override, self._global_at_checkpoint = self._global_at_checkpoint, None
        restore: list[tuple[torch.Generator, TorchCPUState]] = []
        if override is not None and saved.phase is SavedPhase.ITERATING:
            if self.generator is not None:
                restore = [(torch.default_generator, override)]
            elif not plan.shared:
                saved = replace(saved, generator_state=override)
            else:
                warnings.warn(
                    "the global generator's state at the checkpoint cannot be used by a sampler "
                    f"iterating by {self.profile}'s rules (its permutations come from that "
                    "generator): the loaded epoch continues from the state the sampler saved",
                    RuntimeWarning, stacklevel=2,
                )
        if saved.draws_per_epoch is not None and self._timeline.draws_per_epoch is None:
            self._timeline.draws_per_epoch = saved.draws_per_epoch
        gen = self._jump_generator()
        tl = self._timeline
        if saved.reference_epoch is not None:
            at_mark = saved.reference_at == AT_MARK
            reference = Reference(saved.reference_epoch,
                                  None if at_mark else saved.reference_state,
                                  saved.reference_state if at_mark else None)
        else:
            reference = Reference(saved.epoch, saved.epoch_start, saved.sampler_start)
        if saved.phase is SavedPhase.POSITIONED:
            _torch.write(gen, saved.generator_state)
            tl.load(saved.epoch, reference, begun=False, by=self,
                draws_before_sampler=saved.draws_before_sampler)
            self._phase, self._epoch, self._loaded = Phase.POSITIONED, saved.epoch, None
            self._at_set = (saved.epoch, saved.generator_state)
            return
        self._run, self._at_set = None, None
        tl.load(saved.epoch, reference, begun=True, by=self,
                draws_before_sampler=saved.draws_before_sampler)
        if saved.phase is SavedPhase.EXHAUSTED:  # the next iteration is the next epoch
            _torch.write(gen, saved.generator_state)  # the epoch's end
            self._phase, self._epoch, self._loaded = Phase.EXHAUSTED, saved.epoch, None
            return
        if saved.epoch_start is not None:
            _torch.write(gen, saved.epoch_start)  # for the new iterator's base seed
        self._phase, self._epoch, self._loaded = Phase.LOADED, saved.epoch, saved
        self._restore_at_resume = restore
