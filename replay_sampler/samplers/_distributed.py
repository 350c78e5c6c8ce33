"""ReplayableDistributedSampler: torch's DistributedSampler, plus jumps and elastic resume."""

from __future__ import annotations

import operator
from collections.abc import Iterator, Sized
from typing import Any

import torch
import torch.distributed as dist
from torch.utils.data.distributed import DistributedSampler

from .. import _torch
from ..core import _draws
from ..core._checks import boolean as _bool
from ..core._checks import integer as _int
from ..core._checks import one_of, state_header
from ..core._mt19937 import MT19937State, TorchCPUState

#: Version of the ``state_dict`` layout; bumped on any incompatible change.
STATE_VERSION = 1
STATE_KIND = "replay_sampler.ReplayableDistributedSampler"

# state_dict keys, as constants (torchdata's Stateful convention).
KEY_KIND = "kind"
KEY_VERSION = "version"
KEY_DATASET_SIZE = "dataset_size"
KEY_ORDER = "order"
KEY_SHUFFLE = "shuffle"
KEY_SEED = "seed"
KEY_DROP_LAST = "drop_last"
KEY_EPOCH = "epoch"
KEY_POSITION = "position"
KEY_NUM_REPLICAS = "num_replicas"

#: Epoch ``e``'s order is the ``(e+1)``-th epoch of one RandomSampler stream.
ORDER_RANDOM_SAMPLER = "random_sampler"
#: Epoch ``e``'s order is DistributedSampler's: ``randperm`` under ``manual_seed(seed + e)``.
ORDER_DISTRIBUTED_SAMPLER = "distributed_sampler"
_ORDERS = (ORDER_RANDOM_SAMPLER, ORDER_DISTRIBUTED_SAMPLER)

_SEED_RANGE = (-(2**63), 2**64)  # what torch.Generator.manual_seed accepts


def _seed(value: Any, name: str = "seed") -> int:
    s = _int(value, name)
    low, high = _SEED_RANGE
    if not low <= s < high:
        raise ValueError(f"{name} must be in [-2**63, 2**64), what manual_seed accepts; got {s}")
    return s


def _world(value: Any, name: str, query: str) -> int:
    """``value``, or the default process group's ``query`` when ``None``."""
    if value is not None:
        return value
    if not dist.is_available():
        raise RuntimeError(f"Requires distributed package to be available (or pass {name})")
    if not dist.is_initialized():
        raise ValueError(
            f"{name} was not given and no default process group is initialised: call "
            f"torch.distributed.init_process_group() first, or pass num_replicas and rank"
        )
    return getattr(dist, query)()


def epoch_stride(n: int) -> int:
    """Draws one full epoch of ``RandomSampler(range(n), generator=g)`` takes from ``g``.

    A ``randperm(n)`` for the epoch plus the trailing ``randperm(n)[:0]`` that
    RandomSampler draws when its iterator is exhausted.
    """
    return _draws.random_sampler_draws(n, own_generator=True)


def random_sampler_order(n: int, seed: int, epoch: int) -> list[int]:
    """Epoch ``epoch`` of ``RandomSampler(range(n), generator=g)``, ``g`` seeded with ``seed``.

    The order an uninterrupted single-process run yields in its
    ``epoch``-th epoch (from 0, every epoch iterated to the end), computed by
    jumping a fresh ``manual_seed(seed)`` state ahead by ``epoch`` epochs'
    draws -- milliseconds whatever the epoch.
    """
    if n <= 1:
        return list(range(n))
    state = TorchCPUState.fresh(seed, MT19937State.from_seed(seed).advance(epoch * epoch_stride(n)))
    return torch.randperm(n, generator=_torch.generator_at(state)).tolist()


class ReplayableDistributedSampler(DistributedSampler[int]):
    r"""A :class:`~torch.utils.data.distributed.DistributedSampler` that can
    jump to any epoch and resume mid-epoch, also with another world size.

    Every rank computes the same *global order* of epoch ``e`` from ``seed``
    and ``e`` alone, and takes its shard under DistributedSampler's rules:
    the order is padded by repeating its head (or, with ``drop_last``, cut)
    to a multiple of ``num_replicas``, and rank ``r`` takes positions
    ``r, r + num_replicas, ...``.

    The global order (``order=``):

    * ``"random_sampler"`` (default): epoch ``e`` is the ``(e+1)``-th epoch
      of ``RandomSampler(dataset, generator=torch.Generator().manual_seed(seed))``
      in an uninterrupted single-process run.  Each rank holds a private
      generator stream seeded once with ``seed``; nothing else draws from
      it, so its stride is known exactly -- one full RandomSampler epoch
      (``2 * (n - 1)`` draws) -- and ``set_epoch(e)`` jumps it ``e`` epochs
      from the seed in milliseconds, whatever ``e``, whatever the loop, the
      DataLoader or the other ranks draw.  With one replica the sampler
      yields exactly what that RandomSampler yields.
    * ``"distributed_sampler"``: DistributedSampler's own order,
      ``randperm(n)`` under ``manual_seed(seed + e)``; with the same world
      size the sampler is then index for index a DistributedSampler.

    Neither touches torch's global generator (nor does DistributedSampler),
    so each rank's global stream -- DataLoader base seeds, dropout -- is
    what it would be with DistributedSampler.

    Mid-epoch and elastic resume: the ranks consume an epoch in lockstep, so
    what they have consumed together is always a *prefix* of the padded
    global order.  :meth:`state_dict` records the epoch and the length of
    that prefix within the global order (``position``), nothing per rank.
    A sampler with any ``num_replicas`` that loads it yields the rest of the
    epoch -- global positions ``position .. n-1`` -- under the same padding
    and ``drop_last`` rules applied to what remains: no sample already
    consumed comes again and none is lost, except the padding (repeats of
    the epoch's head, fewer than ``num_replicas``) or the ``drop_last`` cut
    (fewer than ``num_replicas`` samples of the tail) that the new world
    size needs.  With the world size of the saving run, the resumed run is
    exactly the tail of the uninterrupted one.

    Differences from DistributedSampler:

    * the default order (above); ``order="distributed_sampler"`` removes it;
    * ``order`` is a keyword-only argument; every argument is type-checked,
      and ``num_replicas``/``rank`` left as ``None`` without a process group
      raise a ``ValueError`` naming them;
    * ``set_epoch`` takes integers >= 0 only;
    * after :meth:`load_state_dict` of an unfinished epoch, ``len(sampler)``
      and the next iteration of that epoch cover only this rank's share of
      the rest of the epoch; ``num_samples`` and ``total_size`` keep
      describing a full epoch;
    * :meth:`state_dict` / :meth:`load_state_dict`, :meth:`global_order`
      and :meth:`indices` are new.

    As with DistributedSampler, call ``set_epoch(e)`` before every epoch;
    without it every iteration repeats the same epoch.  ``seed``, ``shuffle``,
    ``drop_last`` and ``order`` must be the same on every rank.

    Args:
        dataset: a sized dataset, assumed constant.
        num_replicas: world size; default the default process group's.
        rank: this process's rank; default the default process group's.
        shuffle: shuffle the order (else ``0 .. n-1``, as DistributedSampler).
        seed: seed of the global order, identical on every rank.
        drop_last: cut the order to a multiple of ``num_replicas`` instead of
            padding it.
        order: ``"random_sampler"`` or ``"distributed_sampler"`` (above).
    """

    def __init__(
        self,
        dataset: Sized,
        num_replicas: int | None = None,
        rank: int | None = None,
        shuffle: bool = True,
        seed: int = 0,
        drop_last: bool = False,
        *,
        order: str = ORDER_RANDOM_SAMPLER,
    ) -> None:
        if not hasattr(type(dataset), "__len__"):
            raise TypeError(f"dataset must be a sized dataset, got a {type(dataset).__name__}")
        if num_replicas is not None:
            num_replicas = _int(num_replicas, "num_replicas", 1)
        if rank is not None:
            rank = _int(rank, "rank")
        shuffle = _bool(shuffle, "shuffle")
        drop_last = _bool(drop_last, "drop_last")
        seed = _seed(seed)
        one_of(order, "order", _ORDERS)
        num_replicas = _world(num_replicas, "num_replicas", "get_world_size")
        rank = _world(rank, "rank", "get_rank")
        # DistributedSampler checks the rank and sets dataset, num_replicas,
        # rank, epoch, drop_last, num_samples, total_size, shuffle and seed.
        super().__init__(
            dataset, num_replicas, rank, shuffle, seed, drop_last  # type: ignore[arg-type]
        )
        self.order = order
        self._resume: tuple[int, int] | None = None  # (epoch, position) from load_state_dict
        # (epoch, start, count, iterator over the indices) of the last iteration begun
        self._progress: tuple[int, int, int, Iterator[int]] | None = None
        self._ran_out = False  # ... and whether it ran to its end

    # -- the global order and the shards -----------------------------------------
    def global_order(self, epoch: int) -> list[int]:
        """Epoch ``epoch``'s global order, before padding: a permutation of
        ``range(len(dataset))`` (the identity without ``shuffle``).  Pure: no
        generator is touched, and every rank gets the same list."""
        e = _int(epoch, "epoch", 0)
        n = len(self.dataset)  # type: ignore[arg-type]
        if not self.shuffle:
            return list(range(n))
        if self.order == ORDER_DISTRIBUTED_SAMPLER:
            generator = torch.Generator()
            generator.manual_seed(self.seed + e)
            return torch.randperm(n, generator=generator).tolist()
        return random_sampler_order(n, self.seed, e)

    def _count(self, start: int) -> int:
        """How many indices each rank takes from global position ``start`` on."""
        remaining = len(self.dataset) - start  # type: ignore[arg-type]
        if self.drop_last:
            return remaining // self.num_replicas
        return -(-remaining // self.num_replicas)

    def _shard(self, order: list[int], start: int, count: int) -> list[int]:
        """This rank's indices from global position ``start``: positions past the
        end of the order wrap around to its head (DistributedSampler's padding)."""
        n, step = len(order), self.num_replicas
        first = start + self.rank
        picked = order[first:n:step][:count]
        for j in range(first + step * len(picked), first + step * count, step):
            picked.append(order[(j - n) % n])
        return picked

    def indices(self, epoch: int) -> list[int]:
        """This rank's indices for a whole epoch ``epoch``, from its start (pure)."""
        return self._shard(self.global_order(epoch), 0, self._count(0))

    def _start(self, epoch: int) -> int:
        if self._resume is not None and self._resume[0] == epoch:
            return self._resume[1]
        return 0

    def __iter__(self) -> Iterator[int]:
        epoch = self.epoch
        start = self._start(epoch)
        count = self._count(start)
        it = iter(self._shard(self.global_order(epoch), start, count))
        progress = self._progress = (epoch, start, count, it)
        self._ran_out = False
        yield from it
        if self._progress is progress:
            self._ran_out = True
        if self._resume is not None and self._resume[0] == epoch:
            self._resume = None  # the rest of the saved epoch has been handed out

    def __len__(self) -> int:
        return self._count(self._start(self.epoch))

    def set_epoch(self, epoch: int) -> None:
        """Use epoch ``epoch``'s order from the next iteration on.

        The order is a function of ``seed`` and ``epoch``, so any epoch can be
        set, in any sequence, at the same cost.  A mid-epoch state loaded for
        another epoch is dropped.
        """
        e = _int(epoch, "epoch", 0)
        if self._resume is not None and self._resume[0] != e:
            self._resume = None  # the loop left the saved epoch behind
        self.epoch = e

    # -- Stateful ---------------------------------------------------------------
    def state_dict(self, samples_consumed: int | None = None) -> dict[str, Any]:
        """Where the run stands in the global order, for a resume with any world size.

        ``samples_consumed``: how many indices of the current iteration *this
        rank's* training loop has used, counted from where the iteration began
        (the epoch's start, or the saved position for a resumed epoch) -- the
        same rule as ``ReplayableRandomSampler.state_dict``.  Default: the
        indices the sampler has handed out -- right with ``num_workers=0``.  With workers the
        DataLoader runs ahead of the loop, so pass ``batches_done *
        batch_size``.  The ranks are taken to be in lockstep (each has used
        as many as this one), so every rank returns the same dict and saving
        rank 0's is enough.

        At an epoch's end the two calls differ, as in ``ReplayableRandomSampler``:
        ``state_dict()`` after the iteration ran to its end records the next
        epoch; a count given (the loop's, at its last batch) records the epoch
        with nothing left of it, so a resumed ``for epoch in range(sampler.epoch,
        ...)`` loop still runs that epoch's end-of-epoch code.

        Returns a small dict of ints, bools and strings: the epoch to
        continue and ``position``, how many leading samples of its global
        order are consumed (0 once an epoch is finished: the next one is
        recorded instead; the dataset size when nothing is left of it).
        """
        progress = self._progress
        began = progress is not None and progress[0] == self.epoch
        if began:
            assert progress is not None
            _, start, count, it = progress
            handed, ran_out = count - operator.length_hint(it), self._ran_out
        else:
            start, handed, count, ran_out = self._start(self.epoch), 0, 0, False
        if samples_consumed is None:
            consumed = handed
        else:
            consumed = _int(samples_consumed, "samples_consumed", 0)
            if consumed > handed:
                raise ValueError(
                    f"samples_consumed={consumed} is more than the {handed} indices this rank's "
                    "sampler has handed out in the current epoch"
                )
        n = len(self.dataset)  # type: ignore[arg-type]
        epoch, position = self.epoch, min(start + self.num_replicas * consumed, n)
        if samples_consumed is None and ran_out:
            epoch, position = epoch + 1, 0  # the epoch is over: continue with the next
        elif began and consumed == count:
            position = n  # the loop is at the epoch's last batch: nothing left of it
        return {
            KEY_KIND: STATE_KIND,
            KEY_VERSION: STATE_VERSION,
            KEY_DATASET_SIZE: n,
            KEY_ORDER: self.order,
            KEY_SHUFFLE: self.shuffle,
            KEY_SEED: self.seed,
            KEY_DROP_LAST: self.drop_last,
            KEY_EPOCH: epoch,
            KEY_POSITION: position,
            KEY_NUM_REPLICAS: self.num_replicas,
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore a :meth:`state_dict`, saved with any ``num_replicas``.

        Validated before anything changes.  Sets ``epoch`` to the saved one;
        an unfinished epoch continues from its saved position at the next
        iteration of that epoch (call ``set_epoch(sampler.epoch)`` as usual).
        """
        sd = self._validated(state_dict)
        self.epoch = sd[KEY_EPOCH]
        self._resume = (sd[KEY_EPOCH], sd[KEY_POSITION]) if sd[KEY_POSITION] else None
        self._progress = None

    def _validated(self, state_dict: Any) -> dict[str, Any]:
        required = (KEY_DATASET_SIZE, KEY_ORDER, KEY_SHUFFLE, KEY_SEED, KEY_DROP_LAST, KEY_EPOCH,
                    KEY_POSITION, KEY_NUM_REPLICAS)
        sd = state_header(state_dict, STATE_KIND, STATE_VERSION, required)
        n = len(self.dataset)  # type: ignore[arg-type]
        size = _int(sd[KEY_DATASET_SIZE], f"state_dict['{KEY_DATASET_SIZE}']", 0)
        if size != n:
            raise ValueError(
                f"state_dict is for a dataset of {size} samples; this sampler's dataset has {n}"
            )
        sd[KEY_SEED] = _seed(sd[KEY_SEED], f"state_dict['{KEY_SEED}']")
        for key in (KEY_SHUFFLE, KEY_DROP_LAST):
            sd[key] = _bool(sd[key], f"state_dict['{key}']")
        for key, mine in (
            (KEY_ORDER, self.order),
            (KEY_SHUFFLE, self.shuffle),
            (KEY_SEED, self.seed),
            (KEY_DROP_LAST, self.drop_last),
        ):
            if sd[key] != mine:
                raise ValueError(
                    f"state_dict has {key}={sd[key]!r}; this sampler has {key}={mine!r} "
                    "(only num_replicas and rank may change on a resume)"
                )
        sd[KEY_EPOCH] = _int(sd[KEY_EPOCH], f"state_dict['{KEY_EPOCH}']", 0)
        sd[KEY_NUM_REPLICAS] = _int(sd[KEY_NUM_REPLICAS], f"state_dict['{KEY_NUM_REPLICAS}']", 1)
        position = _int(sd[KEY_POSITION], f"state_dict['{KEY_POSITION}']", 0)
        if position > n:
            raise ValueError(
                f"state_dict['{KEY_POSITION}']={position} must be at most the dataset size {n} "
                "(n: the loop had used all of the epoch's indices)"
            )
        sd[KEY_POSITION] = position
        return sd

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(dataset of {len(self.dataset)}, "  # type: ignore[arg-type]
            f"num_replicas={self.num_replicas}, rank={self.rank}, shuffle={self.shuffle}, "
            f"seed={self.seed}, drop_last={self.drop_last}, order={self.order!r})"
        )
