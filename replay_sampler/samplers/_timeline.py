"""One epoch timeline per generator, shared by every sampler that draws from it.

NOTE [ Generator timelines ]
============================

A resumed process must put a generator where an uninterrupted run had it.
Where that is belongs to the *generator*, not to a sampler: two shuffled
loaders on the global generator resume with one jump, not two.  So each CPU
generator (torch's global one, or a ``torch.Generator`` given to samplers)
has one :class:`Timeline`, made on first use and shared by every
``ReplayableRandomSampler`` on it (and usable without one:
``replay_sampler.timeline(generator)``).

Epoch marks.  The timeline measures epochs at *marks*: the generator's state
at the first sampler draw of each epoch (the first ``ReplayableRandomSampler``
of the timeline that starts iterating in the epoch), or, on a timeline no
sampler iterates, at the first ``set_epoch`` of each epoch.  A sampler start
is the same point of every epoch however a framework orders its calls:
Lightning creates the train iterator (drawing its base seed, and with workers
the sampler's seed) *before* ``set_epoch`` in the first epoch of a process and
after it later, but the sampler always draws after the base seed.
``draws_per_epoch`` is the number of draws from one mark to the next -- an
int, or ``(first, later)`` when the first epoch a process runs draws
differently after its mark (a fresh loader's one-time draws: the base seed of
a persistent-workers loader iterated after this one).

The reference.  The timeline's reference is the first event it sees in the
process -- a ``set_epoch(e)`` or a sampler start -- taken to be the same
point of the run's first epoch ``first_epoch`` in an uninterrupted run: a
resumed script runs the same prologue and the same code up to its first
epoch.  Comparing a process's first epoch with the run's first epoch (not
with epoch ``e`` of a long-running process) is what makes a framework's
first-epoch ordering harmless.

When the generator moves (and only then):

(a) the first event names an epoch ``e != first_epoch`` -- a resumed
    process: the generator jumps by ``draws_per_epoch`` x (e - first_epoch)
    (``(first, later)``: first + (e - first_epoch - 1) x later);
(b) ``set_epoch(e)`` names an epoch that is neither the one under way (or
    positioned) nor the next one: it jumps to epoch ``e``'s place computed
    from the reference -- and at that epoch's first sampler draw the mark is
    checked and, if the draws between ``set_epoch`` and the sampler differed
    from what was assumed, put exactly in place;
(c) ``load_state_dict`` of a sampler: the saved generator states;
(d) in a resumed process whose ``draws_per_epoch`` is ``(first, later)``,
    the start of its second epoch moves by ``later - first``: the one-time
    draws the uninterrupted run made only in its first epoch.

Everything else only observes: an uninterrupted process that iterates epoch
after epoch is never moved, however unevenly it draws, and ``set_epoch`` for
the epoch under way or the next one is a no-op for the generator.  In an
uninterrupted process that uses ``set_epoch`` (or was given
``draws_per_epoch``), the timeline measures the draws between marks at the
epochs 1, 2, 4, 8, ... after its reference and warns once, with the line to
paste, when they differ from ``draws_per_epoch``; the counts it measured are
in ``measured_draws_per_epoch``.
"""

from __future__ import annotations

import contextlib
import enum
import warnings
import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch

from .. import _torch
from ..core import _draws, _gf2
from ..core._checks import draws_to_epoch, integer, stride
from ..core._distance import draws_between
from ..core._errors import NotReachedError
from ..core._mt19937 import MT19937State, TorchCPUState
from ..core._profiles import TorchProfile

if TYPE_CHECKING:
    from ._random import ReplayableRandomSampler

Stride = int | tuple[int, int]

#: How far a stride check scans for the real per-epoch count (~5 ns a draw).
_SCAN_MIN = 10**7
#: How far the draws between set_epoch and the sampler's first draw are looked for.
_PRE_LIMIT = 10**5
#: The self-check scans this many draws either side of the assumed count.
_CHECK_WINDOW = 2**12


class How(enum.Enum):
    """How the epoch the timeline is at was reached."""

    FIRST = "the first event of the process"
    NATURAL = "the loop moved on to the next epoch"
    JUMP = "set_epoch named another epoch"
    LOADED = "a sampler loaded a saved state"


@dataclass
class Reference:
    """Epoch ``epoch`` of the uninterrupted run: the generator's state at its
    ``set_epoch`` (if the process saw one before the epoch's first sampler
    draw) and at its mark (the first sampler draw)."""

    epoch: int
    at_set: TorchCPUState | None
    at_mark: TorchCPUState | None


class Timeline:
    """The epochs of one CPU generator (NOTE [ Generator timelines ] above).

    Get it with :func:`timeline`; every ``ReplayableRandomSampler`` on the
    generator uses the same one.
    """

    def __init__(self, generator: torch.Generator) -> None:
        self._generator = weakref.ref(generator)
        self._global = generator is torch.default_generator
        self._samplers: weakref.WeakSet[ReplayableRandomSampler] = weakref.WeakSet()
        self._first_epoch = 0
        self._stride: Stride | None = None
        self.reset()

    def reset(self) -> None:
        """Start over, as a new run in the same process needs: forget the
        reference, the epoch reached and every measurement (the settings
        ``first_epoch`` and ``draws_per_epoch`` stay).

        Done by itself when the history no longer fits the generator: its seed
        changed (``manual_seed`` with another seed), or a decision to move it
        finds it no longer where the timeline last saw it plus a plausible
        number of draws (reseeded with the same seed, or set from elsewhere).
        """
        self.reference: Reference | None = None
        #: Warn, with the line to paste, when an epoch drew other than assumed; a
        #: setting of the run (``ReplayCallback`` turns it off: it saves the measured
        #: count in the checkpoints itself).
        self.advise = True
        self.resumed = False
        self.epoch: int | None = None  # the latest epoch positioned or begun
        self.begun = False  # has that epoch's mark been taken?
        self.how: How | None = None
        self._at_set: TorchCPUState | None = None  # state at the current epoch's set_epoch
        self._last_mark: tuple[int, TorchCPUState] | None = None
        self._last_seen: TorchCPUState | None = None  # the state at the latest event
        self._pre: int | None = None  # draws from set_epoch to the mark, in a later epoch
        self._first_here: int | None = None  # the first epoch of this process, if not loaded
        self._active: weakref.WeakSet[ReplayableRandomSampler] = weakref.WeakSet()
        self.checking = False
        self.measured: dict[int, int] = {}
        self._warned = False
        self._seed: int | None = None  # the generator's seed at the reference

    # -- identity and settings ------------------------------------------------------
    @property
    def generator(self) -> torch.Generator:
        generator = self._generator()
        if generator is None:  # pragma: no cover - the registry holds generators weakly
            raise RuntimeError("the generator of this timeline no longer exists")
        return generator

    @property
    def name(self) -> str:
        return "the global generator" if self._global else "the sampler's generator"

    @property
    def first_epoch(self) -> int:
        """The number the run gives its first epoch (0 unless a sampler or the
        user says otherwise)."""
        return self._first_epoch

    @first_epoch.setter
    def first_epoch(self, value: Any) -> None:
        first = integer(value, "first_epoch", 0)
        if self.reference is not None and first != self._first_epoch:
            raise ValueError(
                f"first_epoch of {self.name} is {self._first_epoch} for the run under way; "
                "it can be changed only before the run's first epoch event"
            )
        self._first_epoch = first

    def join(self, sampler: ReplayableRandomSampler) -> None:
        """Register ``sampler`` (its first event checks its ``first_epoch``).  A
        timeline no live sampler uses any more starts over, settings included:
        a new sampler there belongs to a new run."""
        if not any(s is not sampler for s in self._samplers):
            self._first_epoch, self._stride = 0, None
            self.reset()
        self._samplers.add(sampler)

    def leave(self, sampler: ReplayableRandomSampler) -> None:
        """Unregister a sampler that has taken part in no event (it moves to
        another generator); a count it gave goes with it unless another sampler
        gave one."""
        self._samplers.discard(sampler)
        self._active.discard(sampler)
        given = sampler._draws_per_epoch_given
        if (given is not None and self._stride == given
                and all(s._draws_per_epoch_given is None for s in self._samplers)):
            self._stride = None

    @property
    def draws_per_epoch(self) -> Stride | None:
        """The draws from one epoch's mark to the next, as given (``None``: the
        default, the samplers' own draws plus one DataLoader base seed each)."""
        return self._stride

    @draws_per_epoch.setter
    def draws_per_epoch(self, value: Any) -> None:
        self._stride = None if value is None else stride(value)
        if value is not None:
            self.checking = True

    def agree(self, value: Stride, by: ReplayableRandomSampler) -> None:
        """Set ``draws_per_epoch`` from a sampler's argument; say so when it
        replaces another count given by a live sampler of the generator."""
        others = [s for s in self._samplers
                  if s is not by and s._draws_per_epoch_given not in (None, value)]
        if others:
            warnings.warn(
                f"draws_per_epoch={value!r} replaces draws_per_epoch={self._stride!r} given by "
                f"another sampler on {self.name}: one generator has one count, covering every "
                "sampler and loader that draws from it",
                UserWarning, stacklevel=4,
            )
        self.draws_per_epoch = value

    def stride(self) -> Stride:
        """``draws_per_epoch``, or the default for the samplers of the run."""
        if self._stride is not None:
            return self._stride
        self._require_stride()
        samplers = list(self._active) or list(self._samplers)
        return sum(s._own_draws() + _draws.SEED_DRAWS for s in samplers)

    def _require_stride(self) -> None:
        """Fail if the per-epoch count is unknown: no ``draws_per_epoch`` and no
        sampler to give the default (cheap: it adds nothing up)."""
        if self._stride is None and not self._active and not self._samplers:
            raise ValueError(
                f"draws_per_epoch of {self.name} is not set and no sampler uses it: set "
                "timeline.draws_per_epoch (replay_sampler.measure_draws counts an epoch)"
            )

    def offset(self, epoch: int) -> int:
        """Draws from the uninterrupted run's first mark to the mark of ``epoch``."""
        return draws_to_epoch(self.stride(), epoch - self.first_epoch)

    def _between(self, a: int, b: int) -> int:
        return self.offset(b) - self.offset(a)

    # -- events ---------------------------------------------------------------------
    def check_epoch(self, epoch: Any, first_epoch: int | None = None) -> int:
        e = integer(epoch, "epoch", 0)
        first = self.first_epoch if first_epoch is None else first_epoch
        if e < first:
            raise ValueError(f"epoch must be >= first_epoch={first}, got {e}")
        return e

    def _event(self, now: TorchCPUState, by: ReplayableRandomSampler | None) -> None:
        """Bookkeeping common to every event: a new run, the acting sampler."""
        if self.reference is not None and self._seed is not None and now.seed != self._seed:
            self.reset()  # manual_seed with another seed: a new run
        if (by is not None and by not in self._active and self.reference is not None
                and not self._continuous(now)):
            self.reset()  # a sampler's first event, elsewhere in the stream: a new run,
            self._stride = by._draws_per_epoch_given  # whose settings are its sampler's
            self._first_epoch = by.first_epoch
        if by is not None:
            if by.first_epoch != self._first_epoch:
                if self.reference is not None and self._continuous(now):
                    raise ValueError(
                        f"first_epoch={by.first_epoch} differs from first_epoch="
                        f"{self._first_epoch} of the run under way on {self.name}; samplers "
                        "sharing a generator share its epochs, so give them the same first_epoch"
                    )
                self.reset()
                self._first_epoch = by.first_epoch
            if by not in self._active:  # add() would make a new weak reference each time
                self._active.add(by)
        if self.reference is None:
            self._seed = now.seed

    def _continuous(self, now: TorchCPUState) -> bool:
        """Is ``now`` where the timeline last saw the generator, plus a plausible
        number of draws (two epochs' worth, at least 10**7)?"""
        last = self._last_seen
        if last is None:
            return True
        try:
            count = self.stride()
        except ValueError:
            count = 0
        most = max(count) if isinstance(count, tuple) else count
        return self._distance(last, now, max(_SCAN_MIN, 2 * most)) is not None

    def set_epoch(self, epoch: int, *, jump: bool = False,
                  by: ReplayableRandomSampler | None = None) -> None:
        """Put the generator at the start of ``epoch`` (before its DataLoader
        iterator draws), following the rules of the NOTE: a no-op for the epoch
        under way or the next one in a running process.  ``jump``: move to the
        epoch's place even then (a sampler replaying an epoch it finished, or
        leaving a loaded epoch it did not finish)."""
        e = self.check_epoch(epoch, None if by is None else by.first_epoch)
        self._set_epoch(e, jump, by)

    def _set_epoch(self, e: int, jump: bool, by: ReplayableRandomSampler | None) -> None:
        """:meth:`set_epoch` of an epoch checked already (a sampler's own call)."""
        gen = self.generator
        now = _torch.read(gen)
        self._event(now, by)
        self._require_stride()  # fails, moving nothing, if the count is unknown
        self.checking = True
        if self.reference is not None and not (e == self.epoch and not jump) and not (
                e == self._next() and self.begun and not jump) and not self._continuous(now):
            self.reset()  # the generator was reseeded or set from elsewhere: a new run
        if self.reference is None:  # (a): the first event of the process
            if e != self.first_epoch:
                now = self._move(gen, now, now.mt.advance(self.offset(e)))
                self.resumed = True
            self.reference = Reference(e, now, None)
            self._first_here = e
            self._enter(e, How.FIRST, now)
        elif e == self.epoch and not jump:
            self._last_seen = now
            return  # positioned already, or under way
        elif e == self._next() and self.begun and not jump:
            self._enter(e, How.NATURAL, now)
        else:
            if self.epoch is not None and e < self.epoch and not self.begun:
                warnings.warn(
                    f"set_epoch({e}) right after set_epoch({self.epoch}), with nothing iterated "
                    f"in between, moves {self.name} back to epoch {e}. If a framework did it -- "
                    "accelerate's prepared DataLoader calls set_epoch(its own counter, 0 in a "
                    "fresh process) at every iteration -- set the epoch through it instead: "
                    f"prepared_loader.set_epoch({self.epoch}).",
                    RuntimeWarning, stacklevel=4,
                )
            now = self._move(gen, now, self._place_at_set(e).mt)  # (b)
            self._enter(e, How.JUMP, now)
        self._last_seen = now
        if not self._samplers:  # no sampler takes marks here: set_epoch does
            self._arrive(e, gen, now)

    def mark(self, epoch: int, by: ReplayableRandomSampler | None = None) -> bool:
        """A sampler on this generator is about to make its first draw of
        ``epoch``: take the epoch's mark, move or check as the NOTE says.
        True if this call took the epoch's mark."""
        gen = self.generator
        now = _torch.read(gen)
        self._event(now, by)
        self._last_seen = now
        if self.reference is None:  # (a), the iteration began without set_epoch
            if epoch != self.first_epoch:
                now = self._move(gen, now, now.mt.advance(self.offset(epoch)))
                self.resumed = True
            self.reference = Reference(epoch, None, None)
            self._first_here = epoch
            self._enter(epoch, How.FIRST, None)
        elif epoch == self.epoch and self.begun:
            return False  # a second sampler, or a second iteration, in the same epoch
        elif epoch == self._next() and self.begun:
            self._enter(epoch, How.NATURAL, None)
        elif epoch != self.epoch:
            return False  # a sampler that counts epochs apart from the timeline: observe only
        self._arrive(epoch, gen, now)
        return True

    def _arrive(self, epoch: int, gen: torch.Generator, now: TorchCPUState) -> None:
        """Take the mark of ``epoch``, reached as ``self.how`` says."""
        assert self.reference is not None
        if self.reference.at_mark is None:  # the process's first mark
            self.reference = Reference(epoch, self._at_set, now)
        elif self.how is How.JUMP:  # (b): the mark where the reference says it is
            target = self._place_at_mark(epoch)
            if not target.mt.same_stream(now.mt):
                if self._at_set is not None:
                    self._pre = self._distance(self._at_set, now, _PRE_LIMIT)
                now = self._move(gen, now, target.mt)
        elif self.how is How.NATURAL:
            if self._at_set is not None and self._pre is None:
                self._pre = self._distance(self._at_set, now, _PRE_LIMIT)
            if self.resumed:
                now = self._correct_first_later(gen, now, epoch)
            elif self.checking:
                self._check(epoch, now)
        self.begun = True
        self._last_mark = (epoch, now)
        self._last_seen = now

    @property
    def seen(self) -> TorchCPUState | None:
        """The generator's state when ``set_epoch``, ``mark`` or ``load`` last
        returned (where they left it): a sampler needs no read of its own."""
        return self._last_seen

    @property
    def draws_before_sampler(self) -> int | None:
        """Draws measured between a later epoch's ``set_epoch`` and its mark."""
        return self._pre

    def load(self, epoch: int, reference: Reference, begun: bool,
             by: ReplayableRandomSampler | None = None, *,
             draws_before_sampler: int | None = None) -> None:
        """A sampler loaded a state saved at ``epoch`` (c): adopt its reference."""
        self.reset()
        self._pre = draws_before_sampler
        if by is not None:
            self._first_epoch = by.first_epoch
            self._active.add(by)
        self.reference = reference
        self.resumed = True
        self.epoch, self.begun, self.how = epoch, begun, How.LOADED
        self._last_seen = _torch.read(self.generator)
        self._seed = self._last_seen.seed

    def last_mark(self) -> tuple[int, TorchCPUState] | None:
        """(epoch, state) of the latest mark taken in this process."""
        return self._last_mark

    # -- places -----------------------------------------------------------------------
    def place(self, epoch: int, *, draws_before: int | None = None) -> TorchCPUState:
        """Where the generator is (or was, or will be) at epoch ``epoch``'s first
        sampler draw in the uninterrupted run -- for pure queries.

        ``draws_before``: draws between ``set_epoch`` and the sampler's first
        draw, used only while no mark has been seen in this process (default:
        as measured, else one DataLoader base seed)."""
        return self._place_at_mark(epoch, draws_before=draws_before)

    def _reference_now(self) -> Reference:
        if self.reference is not None:
            return self.reference
        return Reference(self.first_epoch, _torch.read(self.generator), None)

    def _pre_estimate(self, draws_before: int | None = None) -> int:
        if draws_before is not None:
            return draws_before
        return _draws.SEED_DRAWS if self._pre is None else self._pre

    def _place_at_mark(self, epoch: int, *, draws_before: int | None = None) -> TorchCPUState:
        ref = self._reference_now()
        draws = self._between(ref.epoch, epoch)
        if ref.at_mark is not None:
            return ref.at_mark.advance(draws % _gf2.PERIOD)
        assert ref.at_set is not None
        return ref.at_set.advance((draws + self._pre_estimate(draws_before)) % _gf2.PERIOD)

    def _place_at_set(self, epoch: int) -> TorchCPUState:
        ref = self._reference_now()
        draws = self._between(ref.epoch, epoch)
        if ref.at_set is not None:
            return ref.at_set.advance(draws % _gf2.PERIOD)
        assert ref.at_mark is not None
        return ref.at_mark.advance((draws - self._pre_estimate()) % _gf2.PERIOD)

    # -- bookkeeping --------------------------------------------------------------------
    def _next(self) -> int:
        return self.first_epoch if self.epoch is None else self.epoch + 1

    def _enter(self, epoch: int, how: How, at_set: TorchCPUState | None) -> None:
        self.epoch, self.begun, self.how, self._at_set = epoch, False, how, at_set

    @staticmethod
    def _move(gen: torch.Generator, now: TorchCPUState, target: Any) -> TorchCPUState:
        state = now.replace(target)
        if state is not now:
            _torch.write(gen, state)
        return state

    @staticmethod
    def _distance(a: TorchCPUState, b: TorchCPUState, limit: int) -> int | None:
        try:
            return draws_between(a.mt, b.mt, limit)
        except NotReachedError:
            return None

    def _correct_first_later(self, gen: torch.Generator, now: TorchCPUState,
                             epoch: int) -> TorchCPUState:
        """(d): the second epoch of a process resumed by a jump, under a (first,
        later) count."""
        count = self.stride()
        if (self._first_here is None or epoch != self._first_here + 1
                or not isinstance(count, tuple)):
            return now
        first, later = count
        if first == later:
            return now
        return self._move(gen, now, now.mt.advance((later - first) % _gf2.PERIOD))

    def _check(self, epoch: int, now: TorchCPUState) -> None:
        """In an uninterrupted run: did the epoch just finished draw what is assumed?"""
        ref, last = self.reference, self._last_mark
        if ref is None or last is None or last[0] != epoch - 1:
            return
        k = epoch - ref.epoch
        if k & (k - 1):
            return  # epochs 1, 2, 4, 8, ... after the reference: a wrong count shows at
            # once, unevenness soon, at no per-epoch cost in long runs
        count = self.stride()
        if isinstance(count, tuple):
            assumed = count[0] if epoch - 1 == self.first_epoch else count[1]
        else:
            assumed = count
        limit = max(_SCAN_MIN, 10 * assumed)
        measured = measure_epoch(last[1].mt, now.mt, assumed, limit, self._drawn(epoch - 1))
        if measured == assumed:
            self.measured[epoch - 1] = assumed
            return
        if measured is not None:
            self.measured[epoch - 1] = measured
        if self._warned or not self.advise:
            return
        self._warned = True
        warnings.warn(self._advice(epoch - 1, measured, assumed, limit), UserWarning, stacklevel=4)

    def _drawn(self, epoch: int) -> int:
        """The draws the samplers' iterations of ``epoch`` took from the generator
        (each sampler's latest iteration, if of that epoch and begun at its
        start): what the epoch drew at least, unless a sampler counts its
        epochs apart from the timeline -- the check's floor is only a hint."""
        total = 0
        for sampler in self._active:
            run = sampler._run
            if run is not None and run.epoch == epoch and run.start == 0:
                total += run.plan.timeline_draws(run.chunks_drawn)
        return total

    def _advice(self, epoch: int, measured: int | None, assumed: int, limit: int) -> str:
        head = f"ReplayableRandomSampler: epoch {epoch} took "
        tail = (f" from {self.name}, but draws_per_epoch={assumed} is assumed, so set_epoch() "
                "in a resumed run would land in the wrong place.")
        if measured is None:
            return (head + f"more than {limit:,} draws (or the generator was reseeded)" + tail
                    + " Measure an epoch with replay_sampler.measure_draws and set it with "
                    "sampler.draws_per_epoch = N.")
        others = sorted({v for e, v in self.measured.items() if e != epoch})
        line = f"sampler.draws_per_epoch = {measured}"
        if len(others) == 1 and others[0] != measured and epoch == self.first_epoch + 1:
            line = f"sampler.draws_per_epoch = ({others[0]}, {measured})"
        note = ""
        if others and others != [measured]:
            note = (f" Earlier epochs took {others}: if the difference is a fresh loader's "
                    "one-time draws, pass (first, later); if the loop draws unevenly, no count "
                    "can make a resume exact.")
        return head + f"{measured:,} draws" + tail + f" Set it with:\n    {line}" + note + self._release_note()

    def _release_note(self) -> str:
        """For samplers replaying another release's run: the count measured here
        is the installed torch's, not necessarily the run's."""
        installed = TorchProfile.of(None)
        runs = sorted({s.profile for s in self._samplers if s.profile != installed})
        if not runs:
            return ""
        names = ", ".join(p.name for p in runs)
        return (f" This epoch ran on the installed {installed}; the run was made under torch "
                f"{names}, whose kernels can draw differently (CPU dropout: 1 draw per call up to "
                "2.6, 2 per element since). For the run's own epochs count them as that release "
                f"drew: replay_sampler.measure_draws(one_epoch, torch_version={runs[0].name!r}).")


def measure_epoch(begin: MT19937State, now: MT19937State, assumed: int, limit: int,
                  floor: int = 0) -> int | None:
    """The draws from ``begin`` to ``now`` (at most ``limit``), in about one
    jump and a scan of the draws nobody counted.

    Two places are looked at: a window of ``_CHECK_WINDOW`` draws either side
    of the ``assumed`` count (a count that agrees, or is a few draws off -- a
    base seed counted that another generator drew -- costs one jump and a
    short scan), and the stretch from just below ``floor`` -- the draws known
    to have been made, the samplers' own -- up to ``limit``, whose scan costs
    the draws beyond the floor (the loop's own), not the epoch's.  The window
    first where the assumed count is above the floor, the floor first where it
    is below, one scan where they start together; below the floor last: it is
    a hint, and whatever it says the count found is the distance between the
    two states.  ``None`` if not within ``limit``."""
    def scan(low: int, high: int) -> int | None:
        if low > min(high, limit):
            return None
        with contextlib.suppress(NotReachedError):
            return low + draws_between(begin.advance(low), now, min(high, limit) - low)
        return None

    window = (max(0, assumed - _CHECK_WINDOW), assumed + _CHECK_WINDOW)
    above = (max(0, floor - _CHECK_WINDOW), limit)  # from just below the floor on
    if above[0] <= window[0] <= above[0] + 2 * _CHECK_WINDOW:
        order = [above]  # the window starts where the scan from the floor does: one jump
    elif window[0] < above[0]:
        order = [above, window]  # fewer than the draws known made: the floor first
    else:
        order = [window, above]  # a count above the floor (the loop's draws): as assumed first
    if above[0]:
        order.append((0, above[0] - 1))  # below the floor, should it have been wrong
    for low, high in order:
        found = scan(low, high)
        if found is not None:
            return found
    return None


_TIMELINES: weakref.WeakKeyDictionary[torch.Generator, Timeline] = weakref.WeakKeyDictionary()


def timeline(generator: torch.Generator | None = None) -> Timeline:
    """The epoch timeline of ``generator`` (``None``: torch's global one),
    shared by every ``ReplayableRandomSampler`` drawing from it.

    Use it directly where no replayable sampler draws from the generator --
    a loop whose dropout runs on the global generator while a
    ``ReplayableDistributedSampler`` shuffles with its own stream::

        clock = replay_sampler.timeline()
        clock.draws_per_epoch = replay_sampler.measure_draws(one_epoch_on_a_copy)
        for epoch in range(start, epochs):
            clock.set_epoch(epoch)   # jumps once, in a resumed process
            ...
    """
    gen = _torch.check_cpu_generator(generator)
    found = _TIMELINES.get(gen)
    if found is None:
        found = _TIMELINES[gen] = Timeline(gen)
    return found


def live_timelines() -> list[Timeline]:
    """Every timeline of the process."""
    return list(_TIMELINES.values())


@contextlib.contextmanager
def preserved() -> Iterator[None]:
    """Run the body, then put back every timeline, every replayable sampler
    and every generator they follow (torch's global one included) as it was:
    what ``measure_draws`` needs to run a live epoch without a trace."""
    saved = []
    for tl in live_timelines():
        state = dict(tl.__dict__)
        state["_active"] = weakref.WeakSet(tl._active)
        state["measured"] = dict(tl.measured)
        samplers = [(s, s._snapshot()) for s in tl._samplers]
        saved.append((tl, state, _torch.read(tl.generator), samplers))
    global_state = _torch.read(torch.default_generator)
    try:
        yield
    finally:
        _torch.write(torch.default_generator, global_state)
        for tl, state, generator_state, samplers in saved:
            tl.__dict__.clear()
            tl.__dict__.update(state)
            _torch.write(tl.generator, generator_state)
            for sampler, snapshot in samplers:
                sampler._restore(snapshot)


__all__ = ["How", "Reference", "Timeline", "live_timelines", "preserved", "timeline"]
