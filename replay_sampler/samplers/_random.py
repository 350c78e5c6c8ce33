"""ReplayableRandomSampler: torch's RandomSampler, plus jumps to any epoch."""

from __future__ import annotations

import collections
import itertools
import operator
import warnings
import weakref
from collections import deque
from collections.abc import Iterator, Sized
from typing import Any

import torch
from torch.utils.data import Sampler

from .. import _torch
from .._torch import check_cpu_generator
from ..core import _checks, _draws, _gf2
from ..core._distance import draws_between
from ..core._emulate import randint_one_draw, randperm_one_pass
from ..core._errors import NotReachedError
from ..core._mt19937 import TorchCPUState
from ..core._profiles import RANDPERM_LARGE_N, TorchProfile

#: Version of the ``state_dict`` layout; bumped on any incompatible change.
STATE_VERSION = 1
STATE_KIND = "replay_sampler.ReplayableRandomSampler"

# state_dict keys, as constants (torchdata's Stateful convention).
KEY_KIND = "kind"
KEY_VERSION = "version"
KEY_DATASET_SIZE = "dataset_size"
KEY_NUM_SAMPLES = "num_samples"
KEY_REPLACEMENT = "replacement"
KEY_GENERATOR = "generator"
KEY_FIRST_EPOCH = "first_epoch"
KEY_EPOCH = "epoch"
KEY_CONSUMED = "samples_consumed"
KEY_CHUNKS_DRAWN = "chunks_drawn"
KEY_PENDING = "pending_chunks"
KEY_EPOCH_SEED = "epoch_seed"
KEY_SAMPLER_START = "sampler_start_state"
KEY_EPOCH_START = "epoch_start_state"
KEY_GENERATOR_STATE = "generator_state"
KEY_ANCHOR = "anchor_state"
KEY_ANCHOR_EPOCH = "anchor_epoch"
KEY_DRAWS_PER_EPOCH = "draws_per_epoch"
KEY_TORCH_VERSION = "torch_version"

_GLOBAL, _EXPLICIT = "global", "explicit"
_REPLACEMENT_CHUNK = 32
#: Drawn chunks remembered for a state_dict taken behind the sampler (workers
#: prefetch): permutations by their generator state, 5 KB each; replacement
#: chunks by their 32 values, so 2048 of them reach 65,536 samples back.
_KEEP_CHUNKS = 64
_KEEP_REPLACEMENT_CHUNKS = 2048
#: How far the stride check scans for the real per-epoch draw count (~5 ns/draw).
_STRIDE_SCAN_MIN = 10**7


def _index(value: Any, name: str, minimum: int = 0) -> int:
    return _checks.integer(value, name, minimum)


def _check_stride(value: Any) -> int | tuple[int, int] | None:
    return None if value is None else _checks.stride(value)


class _Progress:
    """Where the running iteration is: the current chunk's iterator over its
    unused values, which global position it started at, and its length."""

    __slots__ = ("__weakref__", "base", "it", "length")

    def __init__(self) -> None:
        self.base, self.length = 0, 0
        self.it: Iterator[int] | None = None

    def count(self) -> int:
        if self.it is None:
            return self.base + self.length
        return self.base + self.length - operator.length_hint(self.it)


class ReplayableRandomSampler(Sampler[int]):
    r"""A drop-in for :class:`torch.utils.data.RandomSampler` that can jump to any epoch.

    Iterating it gives the same indices as ``RandomSampler`` with the same
    arguments and leaves its generator (``generator``, or torch's global one
    when ``None``) in the byte-identical state, epoch after epoch -- alone or
    inside a ``DataLoader`` with any worker setting.

    On top of that:

    * ``set_epoch(e)`` puts the generator where an uninterrupted run had it at
      the start of epoch ``e`` (before that epoch's DataLoader iterator drew
      its base seed), in milliseconds whatever ``e``.  Call it at the top of
      every epoch, before iterating the DataLoader, as with
      ``DistributedSampler``.  In a run that is already at epoch ``e`` --
      ``e`` is the epoch after the last one iterated in this process -- it
      changes nothing, however unevenly the loop drew.
    * The *reference point* for jumps is the generator's state at the first
      ``set_epoch`` call in the process, which is taken to be the start of
      epoch ``first_epoch`` (0 by default) -- or, if the process already
      iterated, the start of the epoch after the last one iterated.  Once
      ``set_epoch`` is in use, extra iterations within an epoch (peeking a
      batch) stay in that epoch.  Anything the script does before
      that call -- building the model on the CPU, a ``random_split`` -- is
      part of the prologue and does not shift it; a resumed script must run
      the same prologue.
    * ``draws_per_epoch``: how many 32-bit draws the whole loop takes from that
      generator per epoch -- an int, or ``(first, later)`` when the first
      epoch *a process* iterates draws more: a fresh loader's one-time draws,
      such as persistent workers' base seed, which a resumed process draws
      again (a jump there lands early to absorb them).  Default:
      the sampler's own draws plus one DataLoader base seed (2) from the same
      generator, e.g. 4 for the global generator.
      :func:`replay_sampler.draws_per_epoch` computes it from your loaders.  In
      an uninterrupted run the sampler measures the real count and warns once
      if it differs from the assumed one.
    * ``indices(e)``: epoch ``e``'s order, touching no generator.
    * ``state_dict()`` / ``load_state_dict()`` (torchdata's ``Stateful``
      protocol): mid-epoch resume in a fresh process.

    Args:
        data_source: a sized dataset.
        replacement: sample with replacement (as ``RandomSampler``).
        num_samples: samples per epoch, default ``len(data_source)``.
        generator: a CPU ``torch.Generator``; ``None`` uses the global one for
            a per-epoch seed, exactly as ``RandomSampler`` does.
        draws_per_epoch: see above.
        first_epoch: the number the loop gives its first epoch.
        torch_version: iterate as that torch release's ``RandomSampler`` did
            (e.g. ``"1.8"``: a seed, then the permutation from the global
            generator), so a run made with it can be continued; default the
            installed torch.
    """

    data_source: Sized
    replacement: bool

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
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        self.generator = generator

        if not isinstance(self.replacement, bool):
            raise TypeError(
                f"replacement should be a boolean value, but got replacement={self.replacement}"
            )
        if not isinstance(self.num_samples, int) or self.num_samples <= 0:
            raise ValueError(
                f"num_samples should be a positive integer value, but got num_samples={self.num_samples}"
            )
        if generator is not None:
            check_cpu_generator(generator)
        self.draws_per_epoch = _check_stride(draws_per_epoch)
        self.first_epoch = _index(first_epoch, "first_epoch")
        self.profile = TorchProfile.of(torch_version)
        self._installed = TorchProfile.of(None)
        if (
            not self.replacement
            and self._num_samples is not None
            and not self.profile.sampler_trailing_randperm
        ):
            raise ValueError(
                f"num_samples without replacement needs torch >= 1.11; {self.profile} "
                "(torch_version) refused it"
            )

        # (epoch, jump generator's state at its start) that jumps are measured from:
        # the first set_epoch of the process, or where a running loop already was
        self._anchor: tuple[int, TorchCPUState] | None = None
        self._epoch = self.first_epoch  # epoch being, or about to be, iterated
        self._pinned = False  # set_epoch(self._epoch) was called; not iterated yet
        self._started: int | None = None  # epoch whose iteration began last
        self._epoch_start: tuple[int, TorchCPUState] | None = None  # (epoch, state at its set_epoch)
        self._sampler_start: TorchCPUState | None = None  # before the epoch's first sampler draw
        self._seed: int | None = None  # the epoch's seed (global generator)
        self._progress: weakref.ref[_Progress] | None = None  # the running iteration's
        self._handed_out = 0  # indices handed out by the last iteration, once it ended
        self._chunks_drawn = 0
        # the last chunks drawn from an explicit generator: (index, state before, values)
        self._recent: deque[tuple[int, TorchCPUState | None, list[int] | None]] = deque(
            maxlen=_KEEP_REPLACEMENT_CHUNKS if replacement is True else _KEEP_CHUNKS
        )
        self._resume: dict[str, Any] | None = None  # pending, from load_state_dict
        self._pre_draws: int | None = None
        self._measured: list[int] = []
        self._stride_warned = False
        self._iterations = 0  # iterations begun in this process
        self._set_used = False  # set_epoch drives the epoch numbers
        self._resumed_epoch = False  # the running epoch was resumed from a state dict
        self._continuations = 0  # set_epoch calls that followed on from an iterated epoch

    def __getstate__(self) -> dict[str, Any]:
        """Pickle and deepcopy without the running iteration (it stays with its
        iterator); its count so far is kept."""
        state = self.__dict__.copy()
        state["_handed_out"] = self._yielded()
        state["_progress"] = None
        return state

    # -- torch's RandomSampler surface -------------------------------------------
    @property
    def num_samples(self) -> int:
        # dataset size might change at runtime
        if self._num_samples is None:
            return len(self.data_source)
        return self._num_samples

    def __len__(self) -> int:
        return self.num_samples

    @property
    def epoch(self) -> int:
        """The epoch the next iteration runs: the one given to ``set_epoch``, or
        the one after the last epoch iterated; after ``load_state_dict``, the
        saved epoch if it was unfinished, the next one if it was done."""
        if self._pinned or self._started is None:
            return self._epoch
        return self._started + 1

    def __iter__(self) -> Iterator[int]:
        n = len(self.data_source)
        self._settle_owed_draws()
        if not self._pinned and not self._set_used:  # no set_epoch: each iteration is an epoch
            if self._started is not None:
                self._epoch = self._started + 1
            self._epoch_start = None
        self._pinned = False
        self._started = self._epoch
        self._iterations += 1
        self._chunks_drawn, self._handed_out = 0, 0
        self._recent.clear()
        # Progress lives in this generator's frame; the sampler holds it weakly, so
        # an abandoned iteration frees its permutation as RandomSampler's does.
        progress = _Progress()
        self._progress = weakref.ref(progress)
        resume, self._resume = self._resume, None
        self._resumed_epoch = resume is not None and resume[KEY_EPOCH] == self._epoch
        if resume is not None and self._resumed_epoch:
            chunks = self._resumed(resume, n, progress)
        else:
            chunks = self._chunks(n, self._begin_epoch(), progress)
        del resume  # the chunks own what they need
        try:
            # one generator frame per index, as in RandomSampler's `yield from list`
            yield from itertools.chain.from_iterable(chunks)
        finally:
            self._handed_out = progress.count()

    def _begin_epoch(self) -> torch.Generator:
        """Draw what RandomSampler draws before its permutation; return the
        generator the permutation comes from."""
        if self.generator is not None:
            self._sampler_start = _torch.read(self.generator)
            self._note_pre_draws()
            self._seed = None
            return self.generator
        self._sampler_start = _torch.read(torch.default_generator)
        self._note_pre_draws()
        if not self.profile.sampler_draws_seed():  # torch <= 1.6: straight from the global
            self._seed = None
            return torch.default_generator
        self._seed = int(torch.empty((), dtype=torch.int64).random_().item())
        if self.profile.sampler_chunks_on_global(self.replacement):
            return torch.default_generator  # torch 1.7-1.8's bug
        generator = torch.Generator()
        generator.manual_seed(self._seed)
        return generator

    # -- the draws, chunk by chunk, exactly as RandomSampler makes them -----------
    def _chunk_sizes(self, n: int) -> list[int]:
        total = self.num_samples
        if self.replacement:
            full, rest = divmod(total, _REPLACEMENT_CHUNK)
            return [_REPLACEMENT_CHUNK] * full + [rest]
        if not self.profile.sampler_trailing_randperm:
            return [n]
        full, rest = divmod(total, n)
        return [n] * full + [rest]

    def _draw_chunk(self, generator: torch.Generator, n: int, size: int) -> list[int]:
        old, new = self.profile, self._installed
        if self.replacement:
            if old.randint_wide_from > n >= new.randint_wide_from:  # torch < 2.7, one draw each
                return self._emulated(generator, lambda s: randint_one_draw(s, n, size))
            return torch.randint(high=n, size=(size,), dtype=torch.int64, generator=generator).tolist()
        if n >= RANDPERM_LARGE_N and new.randperm_two_pass and not old.randperm_two_pass:
            return self._emulated(generator, lambda s: randperm_one_pass(s, n))[:size]
        return torch.randperm(n, generator=generator)[:size].tolist()

    @staticmethod
    def _emulated(generator: torch.Generator, draw: Any) -> list[int]:
        """Run an older release's algorithm on the generator's state, moving it on."""
        state = _torch.read(generator)
        values, after = draw(state.mt)
        _torch.write(generator, state.replace(after))
        return values

    def _chunk_draws(self, n: int, size: int) -> int:
        if self.replacement:
            return _draws.randint_draws(n, size, profile=self.profile) if size else 0
        return _draws.randperm_draws(n, self.profile)

    def _chunks(
        self,
        n: int,
        live: torch.Generator,
        progress: _Progress,
        *,
        position: int = 0,
        drawn: int = 0,
        saved: dict[int, list[int]] | None = None,
    ) -> Iterator[Iterator[int]]:
        """The epoch from sample ``position`` on, one iterator per chunk, each
        chunk drawn only when the previous one is used up -- as RandomSampler
        draws its permutations.

        Chunks from index ``drawn`` on are drawn from ``live``.  Chunks below
        ``drawn`` were drawn before a checkpoint: those in ``saved`` (index ->
        values) still hold unused samples, the others were used up and are
        skipped.
        """
        record = live is self._jump_generator()
        saved = saved or {}
        progress.base, progress.length = position, 0
        base = 0
        sizes = self._chunk_sizes(n)
        for index, size in enumerate(sizes):
            if index == len(sizes) - 1 and index >= drawn:
                size = self._chunk_sizes(n)[-1]  # RandomSampler re-reads num_samples here
            end = base + size
            progress.it = None  # let the used-up chunk go before the next is drawn
            if index < drawn:
                if index not in saved:
                    base = end
                    continue
                values = saved.pop(index)
            else:
                before = _torch.read(live) if record and not self.replacement else None
                values = self._draw_chunk(live, n, size)
                if record:  # what a later state_dict needs to redo this chunk
                    self._recent.append((index, before, values if self.replacement else None))
            self._chunks_drawn = max(self._chunks_drawn, index + 1)
            skip = max(0, position - base)
            progress.base, progress.length = base + skip, size - skip
            it = progress.it = iter(values)
            if skip:  # step past the used samples without copying the rest
                collections.deque(itertools.islice(it, skip), maxlen=0)
            del values
            yield it
            base = end
        progress.it = None

    def _pending(self, n: int, position: int, drawn: int) -> list[int]:
        """Indices of the drawn chunks that still hold samples at ``position``."""
        out, base = [], 0
        for index, size in enumerate(self._chunk_sizes(n)[:drawn]):
            if base + size > position:
                out.append(index)
            base += size
        return out

    def _yielded(self) -> int:
        """Indices handed out so far in the current epoch."""
        progress = self._progress() if self._progress is not None else None
        return progress.count() if progress is not None else self._handed_out

    # -- jumping ------------------------------------------------------------------
    def _jump_generator(self) -> torch.Generator:
        return torch.default_generator if self.generator is None else self.generator

    def _shared_chunks(self) -> bool:
        """Do the chunks come from a generator the loop also draws from?

        Yes for an explicit generator and for torch <= 1.8's global
        permutation; no for the private per-epoch generator of torch >= 1.9.
        """
        return self.generator is not None or self.profile.sampler_chunks_on_global(self.replacement)

    def _own_draws(self, n: int) -> int:
        """Draws one full epoch of this sampler takes from its jump generator."""
        return _draws.random_sampler_draws(
            n, self.num_samples, self.replacement,
            own_generator=self.generator is not None, profile=self.profile,
        )

    def _assumed_stride(self) -> int | tuple[int, int]:
        if self.draws_per_epoch is not None:
            return self.draws_per_epoch
        return self._own_draws(len(self.data_source)) + _draws.SEED_DRAWS

    def _stride_now(self) -> int:
        """Draws assumed for the epoch just iterated: a ``(first, later)`` stride's
        first count belongs to the first epoch a process iterates (its fresh
        loader's one-time draws), whatever that epoch's number."""
        stride = self._assumed_stride()
        if isinstance(stride, tuple):
            return stride[0] if self._iterations == 1 else stride[1]
        return stride

    def _offset(self, epoch: int) -> int:
        """Draws from the reference point to the start of ``epoch``."""
        return _checks.draws_to_epoch(self._assumed_stride(), epoch - self.first_epoch)

    def _landing(self, epoch: int, anchor_epoch: int) -> int:
        """Draws from the anchor (the start of ``anchor_epoch``) to where a jump
        to ``epoch`` lands; negative for a jump back.

        A ``(first, later)`` stride says the first epoch *a process* iterates
        draws ``first``: a fresh loader's one-time draws, such as persistent
        workers' base seed.  A process that has not iterated yet will draw
        them again, so a jump past the run's first epoch lands that many draws
        early to absorb them.
        """
        draws = self._offset(epoch) - self._offset(anchor_epoch)
        stride = self._assumed_stride()
        if (isinstance(stride, tuple) and epoch > self.first_epoch and self._iterations == 0
                and stride[0] > stride[1]):
            draws -= stride[0] - stride[1]
        return draws

    def _check_epoch(self, epoch: Any) -> int:
        e = _index(epoch, "epoch")
        if e < self.first_epoch:
            raise ValueError(f"epoch must be >= first_epoch={self.first_epoch}, got {e}")
        return e

    def set_epoch(self, epoch: int) -> None:
        """Position the generator at the start of ``epoch`` (see the class docs).

        Moves the generator only when the run is not already there: the first
        call with ``epoch != first_epoch`` in a process that has not iterated
        (a resumed run), or a call that is neither a repeat nor the epoch after
        the last one iterated.  Costs a few milliseconds whatever the epoch
        (a jump back, rare, about half a second).
        """
        e = self._check_epoch(epoch)
        gen = self._jump_generator()
        if self._pinned and e == self._epoch:
            move = False  # already there (called twice, or loaded)
        elif self._started is not None and e == self._started + 1:
            move = False  # the next epoch of a running loop
            self._settle_owed_draws()
            self._continuations += 1
            if self._continuations & (self._continuations - 1) == 0:
                # epochs 1, 2, 4, 8, ... after the first: catches a wrong count at
                # once and unevenness soon, at no per-epoch cost in long runs
                self._check_measured_stride(_torch.read(gen))
        elif self._anchor is None:
            # the reference point: where the run stands now -- the start of the
            # loop, of a loaded epoch, or of the epoch after the last one iterated
            if self._pinned:
                here = self._epoch
            elif self._started is not None:
                here = self._started + 1
            else:
                here = self.first_epoch
            self._anchor = (here, _torch.read(gen))
            move = e != here
        else:
            move = True
        now = _torch.read(gen)
        if move:
            self._resume = None  # a jump leaves any loaded epoch behind
            assert self._anchor is not None  # set above or by an earlier call
            anchor_epoch, anchor = self._anchor
            target = anchor.mt.advance(self._landing(e, anchor_epoch) % _gf2.PERIOD)
            now = now.replace(target)
            _torch.write(gen, now)
        if self._resume is not None and self._resume[KEY_EPOCH] != e:
            self._resume = None  # the loop left the saved epoch behind
        self._epoch, self._pinned, self._set_used = e, True, True
        self._epoch_start = (e, now)
        if self._anchor is None:  # a loop that iterated, or was loaded, before set_epoch
            self._anchor = self._epoch_start

    def _settle_owed_draws(self) -> None:
        """A loaded epoch whose samples were all used may still owe its trailing
        randperm (drawn when the iterator is exhausted): draw it now."""
        resume = self._resume
        if resume is None or resume[KEY_CONSUMED] < resume[KEY_NUM_SAMPLES]:
            return
        self._resume = None
        if self._shared_chunks():
            n = len(self.data_source)
            for size in self._chunk_sizes(n)[resume[KEY_CHUNKS_DRAWN] :]:
                self._draw_chunk(self._jump_generator(), n, size)

    def _note_pre_draws(self) -> None:
        """Measure the draws between set_epoch and the sampler's first draw."""
        if self._pre_draws is not None or self._epoch_start is None or self._sampler_start is None:
            return  # measured once: the loop does the same before the sampler every epoch
        begin, end = self._epoch_start[1].mt, self._sampler_start.mt
        if begin.advance(_draws.SEED_DRAWS).same_stream(end):  # the usual: one base seed
            self._pre_draws = _draws.SEED_DRAWS
            return
        try:
            self._pre_draws = draws_between(begin, end, 10**5)
        except NotReachedError:
            self._pre_draws = None

    def _check_measured_stride(self, current: TorchCPUState) -> None:
        """In an uninterrupted run: did the epoch just finished draw what we assume?"""
        if (self._stride_warned or self._resumed_epoch or self._epoch_start is None
                or self._epoch_start[0] != self._started):
            return  # nothing measured, or a resumed epoch whose start lies in another process
        assumed = self._stride_now()
        begin, end = self._epoch_start[1].mt, current.mt
        if begin.advance(assumed).same_stream(end):
            self._measured.append(assumed)
            return
        limit = max(_STRIDE_SCAN_MIN, 10 * assumed)
        which = "the global generator" if self.generator is None else "the sampler's generator"
        self._stride_warned = True
        try:
            measured = draws_between(begin, end, limit)
        except NotReachedError:
            warnings.warn(
                f"ReplayableRandomSampler: epoch {self._started} took more than {limit} draws "
                f"from {which} (or it was reseeded), but draws_per_epoch={assumed} is assumed, "
                "so set_epoch() jumps in a resumed run would land in the wrong place. Measure "
                "the real count with replay_sampler.draws_between(state_before, state_after, "
                "limit) and pass it as draws_per_epoch.",
                stacklevel=3,
            )
            return
        previous = sorted(set(self._measured))
        self._measured.append(measured)
        if len(previous) == 1 and len(self._measured) == 2:
            advice = (
                f"; the first epoch took {previous[0]} -- if its extra draws are a fresh "
                "loader's one-time ones (persistent workers), pass draws_per_epoch="
                f"({previous[0]}, {measured})"
            )
        elif previous:
            advice = (f"; earlier epochs took {previous}, so the loop draws unevenly and "
                      "cannot be jumped exactly")
        else:
            advice = " (replay_sampler.draws_per_epoch(*loaders) computes it from your loaders)"
        warnings.warn(
            f"ReplayableRandomSampler: epoch {self._started} took {measured} draws from {which}, "
            f"but draws_per_epoch={assumed} is assumed, so set_epoch() jumps in a resumed run "
            f"would land in the wrong place. Pass draws_per_epoch={measured}{advice}.",
            stacklevel=3,
        )

    # -- pure query -------------------------------------------------------------
    def indices(self, epoch: int, *, draws_before: int | None = None) -> list[int]:
        """Epoch ``epoch``'s indices, computed without touching any generator.

        The reference point is the first ``set_epoch`` state, or the jump
        generator's current state if ``set_epoch`` was never called.
        ``draws_before`` is how many draws the loop takes from the generator
        between ``set_epoch`` and the sampler's first draw -- measured during
        this run if possible, otherwise one DataLoader base seed (2).
        """
        e = self._check_epoch(epoch)
        if draws_before is not None:
            pre = _index(draws_before, "draws_before")
        else:
            pre = _draws.SEED_DRAWS if self._pre_draws is None else self._pre_draws
        anchor_epoch, reference = self._anchor or (self.first_epoch, _torch.read(self._jump_generator()))
        draws = self._offset(e) - self._offset(anchor_epoch) + pre
        generator = _torch.generator_at(reference.advance(draws % _gf2.PERIOD))
        n = len(self.data_source)
        if self.generator is None and self.profile.sampler_draws_seed():
            seed = int(torch.empty((), dtype=torch.int64).random_(generator=generator).item())
            if not self._shared_chunks():
                generator = torch.Generator()
                generator.manual_seed(seed)
        out: list[int] = []
        for size in self._chunk_sizes(n):
            out.extend(self._draw_chunk(generator, n, size))
        return out

    # -- Stateful ---------------------------------------------------------------
    def state_dict(self, samples_consumed: int | None = None) -> dict[str, Any]:
        """The sampler's state, for a resume in a fresh process (torchdata ``Stateful``).

        Small: counters, the epoch's seed or generator state, no permutation.

        ``samples_consumed``: how many indices of the current epoch the
        training loop has used.  Default: the indices the sampler has handed
        out -- right with ``num_workers=0``.  With workers the DataLoader runs
        up to ``prefetch_factor * num_workers`` batches ahead of the loop, so
        pass ``batches_done * batch_size`` (counting a short last batch at its
        size).  The generator's current state is saved too: call this at the
        moment you checkpoint.
        """
        in_epoch = self._started is not None and self._started == self._epoch and not self._pinned
        yielded = self._yielded() if in_epoch else 0
        if samples_consumed is None:
            consumed = yielded
        else:
            consumed = _index(samples_consumed, "samples_consumed")
            if consumed > yielded:
                raise ValueError(
                    f"samples_consumed={consumed} is more than the {yielded} indices the "
                    f"sampler has handed out in the current epoch"
                )
        start = self._epoch_start[1] if self._epoch_start and self._epoch_start[0] == self._epoch else None
        pending: list[dict[str, Any]] = []
        if in_epoch and self._shared_chunks():
            recent = {index: (state, values) for index, state, values in self._recent}
            for index in self._pending(len(self.data_source), consumed, self._chunks_drawn):
                if index not in recent:
                    raise ValueError(
                        f"samples_consumed={consumed} lags too far behind the sampler, which "
                        f"has handed out {yielded} indices; it keeps the last "
                        f"{len(self._recent)} draw steps ("
                        + (f"{len(self._recent) * _REPLACEMENT_CHUNK:,} samples"
                           if self.replacement else "permutations")
                        + ") for a state_dict taken behind it"
                    )
                state, values = recent[index]
                if values is not None:
                    pending.append({"index": index, "values": torch.tensor(values, dtype=torch.int64)})
                else:
                    assert state is not None  # permutations are kept by their state
                    pending.append({"index": index, "state": _torch.tensor(state)})
        return {
            KEY_KIND: STATE_KIND,
            KEY_VERSION: STATE_VERSION,
            KEY_DATASET_SIZE: len(self.data_source),
            KEY_NUM_SAMPLES: self.num_samples,
            KEY_REPLACEMENT: self.replacement,
            KEY_GENERATOR: _GLOBAL if self.generator is None else _EXPLICIT,
            KEY_FIRST_EPOCH: self.first_epoch,
            KEY_EPOCH: self._epoch,
            KEY_CONSUMED: consumed,
            KEY_CHUNKS_DRAWN: self._chunks_drawn if in_epoch else 0,
            KEY_PENDING: pending,
            KEY_EPOCH_SEED: self._seed if in_epoch else None,
            KEY_SAMPLER_START: (_torch.tensor(self._sampler_start)
                                if in_epoch and self._sampler_start is not None else None),
            KEY_EPOCH_START: _torch.tensor(start) if start is not None else None,
            KEY_GENERATOR_STATE: _torch.tensor(_torch.read(self._jump_generator())),
            KEY_ANCHOR: _torch.tensor(self._anchor[1]) if self._anchor is not None else None,
            KEY_ANCHOR_EPOCH: self._anchor[0] if self._anchor is not None else None,
            KEY_DRAWS_PER_EPOCH: self.draws_per_epoch,
            KEY_TORCH_VERSION: self.profile.name,
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore a :meth:`state_dict`; it is validated before anything changes.

        The generator goes back to where it was when the state was saved --
        mid-epoch, to that epoch's ``set_epoch`` state if known, so that the
        DataLoader draws the same base seed again; the sampler then restores
        the saved state when the iteration starts and yields the rest of the
        epoch.
        """
        sd = self._validated(state_dict)
        gen = self._jump_generator()
        epoch, began = sd[KEY_EPOCH], sd[KEY_SAMPLER_START] is not None
        mid_epoch = began and sd[KEY_CONSUMED] < sd[KEY_NUM_SAMPLES]
        position = sd[KEY_EPOCH_START] if mid_epoch and sd[KEY_EPOCH_START] else sd[KEY_GENERATOR_STATE]
        _torch.write(gen, position)
        self._anchor = (sd[KEY_ANCHOR_EPOCH], sd[KEY_ANCHOR]) if sd[KEY_ANCHOR] else None
        if self.draws_per_epoch is None:
            self.draws_per_epoch = sd[KEY_DRAWS_PER_EPOCH]
        self._epoch = epoch
        self._epoch_start = (epoch, sd[KEY_EPOCH_START]) if sd[KEY_EPOCH_START] else None
        if mid_epoch or not began:
            # the next iteration (or set_epoch(epoch)) continues this epoch
            self._pinned, self._started = True, None
        else:  # all samples used: the next epoch follows on
            self._pinned, self._started = False, epoch
        self._resume = sd if began else None
        self._progress, self._handed_out, self._chunks_drawn = None, 0, sd[KEY_CHUNKS_DRAWN]
        self._sampler_start, self._seed = sd[KEY_SAMPLER_START], sd[KEY_EPOCH_SEED]

    def _validated(self, state_dict: Any) -> dict[str, Any]:
        required = (KEY_DATASET_SIZE, KEY_NUM_SAMPLES, KEY_REPLACEMENT, KEY_GENERATOR,
                    KEY_FIRST_EPOCH, KEY_EPOCH, KEY_CONSUMED, KEY_CHUNKS_DRAWN, KEY_PENDING,
                    KEY_EPOCH_SEED, KEY_SAMPLER_START, KEY_EPOCH_START, KEY_GENERATOR_STATE,
                    KEY_ANCHOR, KEY_ANCHOR_EPOCH, KEY_DRAWS_PER_EPOCH, KEY_TORCH_VERSION)
        sd = _checks.state_header(state_dict, STATE_KIND, STATE_VERSION, required)
        n = len(self.data_source)
        if sd[KEY_DATASET_SIZE] != n:
            raise ValueError(
                f"state_dict is for a dataset of {sd[KEY_DATASET_SIZE]} samples; this "
                f"sampler's data_source has {n}"
            )
        for key, mine in ((KEY_NUM_SAMPLES, self.num_samples), (KEY_REPLACEMENT, self.replacement),
                          (KEY_FIRST_EPOCH, self.first_epoch),
                          (KEY_TORCH_VERSION, self.profile.name)):
            if sd[key] != mine:
                raise ValueError(f"state_dict has {key}={sd[key]!r}; this sampler has {mine!r}")
        here = _GLOBAL if self.generator is None else _EXPLICIT
        if sd[KEY_GENERATOR] != here:
            raise ValueError(
                f"state_dict was saved with the {sd[KEY_GENERATOR]} generator; this sampler "
                f"uses the {here} one"
            )
        sd[KEY_EPOCH] = _index(sd[KEY_EPOCH], f"state_dict['{KEY_EPOCH}']", self.first_epoch)
        sd[KEY_CONSUMED] = _index(sd[KEY_CONSUMED], f"state_dict['{KEY_CONSUMED}']")
        if sd[KEY_CONSUMED] > self.num_samples:
            raise ValueError(
                f"state_dict['{KEY_CONSUMED}']={sd[KEY_CONSUMED]} exceeds num_samples="
                f"{self.num_samples}"
            )
        chunks = len(self._chunk_sizes(n))
        sd[KEY_CHUNKS_DRAWN] = _index(sd[KEY_CHUNKS_DRAWN], f"state_dict['{KEY_CHUNKS_DRAWN}']")
        if sd[KEY_CHUNKS_DRAWN] > chunks:
            raise ValueError(
                f"state_dict['{KEY_CHUNKS_DRAWN}']={sd[KEY_CHUNKS_DRAWN]} exceeds the {chunks} "
                "draw steps of an epoch"
            )
        for key in (KEY_SAMPLER_START, KEY_EPOCH_START, KEY_GENERATOR_STATE, KEY_ANCHOR):
            value = sd[key]
            if value is None:
                continue
            if isinstance(value, torch.Tensor):
                value = value.detach().cpu().contiguous()
            sd[key] = _torch.parse(value, f"state_dict['{key}']")
        if sd[KEY_GENERATOR_STATE] is None:
            raise ValueError(f"state_dict['{KEY_GENERATOR_STATE}'] must be a generator state")
        if not self._shared_chunks() and sd[KEY_SAMPLER_START] is not None:
            sd[KEY_EPOCH_SEED] = _index(sd[KEY_EPOCH_SEED], f"state_dict['{KEY_EPOCH_SEED}']")
        sd[KEY_PENDING] = self._validated_pending(sd, n)
        sd[KEY_DRAWS_PER_EPOCH] = _check_stride(sd[KEY_DRAWS_PER_EPOCH])
        if sd[KEY_ANCHOR] is not None:
            sd[KEY_ANCHOR_EPOCH] = _index(sd[KEY_ANCHOR_EPOCH], f"state_dict['{KEY_ANCHOR_EPOCH}']",
                                          self.first_epoch)
        return sd

    def _validated_pending(self, sd: dict[str, Any], n: int) -> dict[int, tuple[TorchCPUState | None, list[int]]]:
        """The saved chunks as index -> (state before, values), checked against the counters."""
        name = f"state_dict['{KEY_PENDING}']"
        pending = sd[KEY_PENDING]
        if not isinstance(pending, (list, tuple)):
            raise ValueError(f"{name} must be a list, got {type(pending).__name__}")
        needed = self._pending(n, sd[KEY_CONSUMED], sd[KEY_CHUNKS_DRAWN])
        if not self._shared_chunks() or sd[KEY_SAMPLER_START] is None:
            needed = []
        sizes = self._chunk_sizes(n)
        out: dict[int, tuple[TorchCPUState | None, list[int]]] = {}
        for item in pending:
            index = item.get("index") if isinstance(item, dict) else None
            if index not in needed:
                raise ValueError(f"{name} holds chunk {index!r}; expected chunks {needed}")
            if "values" in item:
                values = torch.as_tensor(item["values"]).tolist()
                if len(values) != sizes[index] or any(not 0 <= v < n for v in values):
                    raise ValueError(f"{name}: chunk {index} must hold {sizes[index]} indices below {n}")
                out[index] = (None, values)
            else:
                state = _torch.parse(item.get("state"), f"{name}[{index}]['state']")
                out[index] = (state, self._draw_chunk(_torch.generator_at(state), n, sizes[index]))
        if sorted(out) != needed:
            raise ValueError(f"{name} must hold chunks {needed}, got {sorted(out)}")
        return out

    def _resumed(self, sd: dict[str, Any], n: int, progress: _Progress) -> Iterator[Iterator[int]]:
        """The rest of a saved epoch; the generator continues from its saved state."""
        _torch.write(self._jump_generator(), sd[KEY_GENERATOR_STATE])
        self._sampler_start, self._seed = sd[KEY_SAMPLER_START], sd[KEY_EPOCH_SEED]
        position, drawn = sd[KEY_CONSUMED], sd[KEY_CHUNKS_DRAWN]
        self._chunks_drawn = drawn
        if not self._shared_chunks():
            # the epoch's seed drives a private generator nothing else draws from
            sizes = self._chunk_sizes(n)
            used = 0
            while used < len(sizes) and sum(sizes[: used + 1]) <= position and sizes[used]:
                used += 1
            private = torch.Generator()
            private.manual_seed(self._seed)
            before = sum(self._chunk_draws(n, size) for size in sizes[:used])
            _torch.write(private, _torch.read(private).advance(before))
            return self._chunks(n, private, progress, position=position, drawn=used)
        saved = sd.pop(KEY_PENDING)
        for index, (state, values) in sorted(saved.items()):
            self._recent.append((index, state, values if self.replacement else None))
        return self._chunks(
            n, self._jump_generator(), progress, position=position, drawn=drawn,
            saved={index: values for index, (_, values) in saved.items()},
        )
