"""Edge cases found in review, each pinned against torch's RandomSampler."""

import copy
import io
import itertools
import pickle
import warnings

import pytest
import torch
from torch.utils.data import DataLoader, RandomSampler

from replay_sampler import (
    ReplayableRandomSampler,
    draws_between,
    draws_per_epoch,
    replayable_random_split,
    timeline,
)
from tests.sampler_runs import Indices


class Growing(Indices):
    """A dataset whose size changes while an epoch runs."""


def epochs_of(loader, count, before=None, between=None):
    out = []
    for epoch in range(count):
        if before is not None:
            before(epoch)
        out.append([b.tolist() for b in loader])
        if between is not None:
            between(epoch)
    return out


def test_iterating_first_and_calling_set_epoch_later_changes_nothing():
    """A loop that starts calling set_epoch from its second epoch matches RandomSampler."""
    runs = []
    for ours in (False, True):
        torch.manual_seed(0)
        data = Indices(10)
        sampler = ReplayableRandomSampler(data) if ours else RandomSampler(data)
        loader = DataLoader(data, batch_size=10, sampler=sampler)
        hook = (lambda e, sampler=sampler: e and sampler.set_epoch(e)) if ours else None
        runs.append((epochs_of(loader, 4, before=hook), torch.get_rng_state()))
    assert runs[0][0] == runs[1][0] and torch.equal(runs[0][1], runs[1][1])


def test_an_extra_iteration_within_an_epoch_is_not_a_new_epoch():
    """Peeking a batch mid-run (a second iterator in one epoch) does not make set_epoch rewind."""
    runs = []
    for ours in (False, True):
        torch.manual_seed(0)
        data = Indices(10)
        sampler = ReplayableRandomSampler(data) if ours else RandomSampler(data)
        loader = DataLoader(data, batch_size=5, sampler=sampler)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the peek makes epoch 1 draw more; ours says so
            out = epochs_of(loader, 4, before=sampler.set_epoch if ours else None,
                            between=lambda e, loader=loader: e == 1 and next(iter(loader)))
        runs.append((out, torch.get_rng_state()))
    assert runs[0][0] == runs[1][0] and torch.equal(runs[0][1], runs[1][1])


def test_a_state_saved_before_the_loop_resumes_every_epoch():
    """A state_dict taken before the first set_epoch, loaded in a fresh run, changes nothing."""
    def make():
        torch.manual_seed(0)
        data = Indices(10)
        sampler = ReplayableRandomSampler(data)
        return sampler, DataLoader(data, batch_size=10, sampler=sampler)

    sampler, loader = make()
    saved = sampler.state_dict()
    reference = epochs_of(loader, 3, before=sampler.set_epoch)
    sampler, loader = make()
    sampler.load_state_dict(saved)
    assert epochs_of(loader, 3, before=sampler.set_epoch) == reference


def test_a_state_saved_at_the_last_batch_resumes_as_nothing_left_then_the_next_epoch():
    """A state saved after the last index, before the iterator ended: the rest of the epoch is
    empty (its trailing draw made), then the next epoch is the plain-torch run's."""
    def make(ours):
        torch.manual_seed(0)
        g = torch.Generator().manual_seed(3)
        data = Indices(10)
        sampler = (ReplayableRandomSampler if ours else RandomSampler)(data, generator=g)
        return sampler, DataLoader(data, batch_size=5, sampler=sampler, generator=g), g

    sampler, loader, g = make(False)
    reference = [([b.tolist() for b in loader], g.get_state()) for _ in range(3)]
    sampler, loader, g = make(True)
    saved = None
    for epoch in range(2):
        sampler.set_epoch(epoch)
        for b, _ in enumerate(loader):
            if epoch == 1 and b == 1:
                saved = sampler.state_dict()
    sampler, loader, g = make(True)
    sampler.load_state_dict(saved)
    assert sampler.epoch == 1  # the epoch's body had not finished
    sampler.set_epoch(1)  # the loaded epoch: its continuation stays
    assert [b.tolist() for b in loader] == []
    assert torch.equal(g.get_state(), reference[1][1])
    sampler.set_epoch(2)
    assert [b.tolist() for b in loader] == reference[2][0]
    assert torch.equal(g.get_state(), reference[2][1])


def test_set_epoch_of_an_epoch_that_ran_to_its_end_replays_it():
    """set_epoch(e) right after epoch e was iterated to its end moves the generator back to e's start."""
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(3)
    data = Indices(10)
    sampler = ReplayableRandomSampler(data, generator=g, draws_per_epoch=2 + 9 + 9)
    loader = DataLoader(data, batch_size=5, sampler=sampler, generator=g)
    runs = []
    for epoch in (0, 1, 1):
        sampler.set_epoch(epoch)
        runs.append(([b.tolist() for b in loader], g.get_state()))
    assert runs[2][0] == runs[1][0] and torch.equal(runs[2][1], runs[1][1])
    assert runs[1][0] != runs[0][0]


def test_draws_per_epoch_counts_an_old_release_sampler_by_its_rules():
    """draws_per_epoch(loader) follows the sampler's torch_version (1.8: seed + global randperm)."""
    torch.manual_seed(0)
    sampler = ReplayableRandomSampler(Indices(100), torch_version="1.8")
    loader = DataLoader(Indices(100), batch_size=10, sampler=sampler)
    counted = draws_per_epoch(loader)
    before = torch.get_rng_state()
    list(loader)
    assert counted == draws_between(before, torch.get_rng_state(), 10**4) == 2 + 2 + 99


def test_persistent_workers_mid_epoch_resume_is_silent_and_exact(tmp_path):
    """A correct mid-epoch resume of a persistent-worker loop raises no stride warning."""
    def loop(resume=None, save_at=None):
        torch.manual_seed(0)
        data = Indices(40)
        sampler = ReplayableRandomSampler(data)
        loader = DataLoader(data, batch_size=8, sampler=sampler, num_workers=2, persistent_workers=True)
        sampler.draws_per_epoch = draws_per_epoch(loader)  # 2: the base seed falls before the mark
        if resume is not None:
            sampler.load_state_dict(torch.load(resume, weights_only=True))
        out = {}
        for epoch in range(sampler.epoch, 5):
            sampler.set_epoch(epoch)
            out[epoch] = []
            for b, batch in enumerate(loader):
                out[epoch].append(batch.tolist())
                if (epoch, b) == save_at:
                    torch.save(sampler.state_dict(samples_consumed=(b + 1) * 8), path)
            out[epoch] = (out[epoch], torch.get_rng_state())
        return out

    path = tmp_path / "s.pt"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        full = loop(save_at=(2, 1))
        resumed = loop(resume=path)
    assert resumed[2][0] == full[2][0][2:]
    for epoch in range(2, 5):
        assert torch.equal(resumed[epoch][1], full[epoch][1])
        if epoch > 2:
            assert resumed[epoch][0] == full[epoch][0]


def test_the_sampler_pickles_and_copies_after_an_epoch():
    """As RandomSampler does, it pickles and deep-copies mid-run; a copy counts on its own."""
    sampler = ReplayableRandomSampler(Indices(10))
    list(sampler)
    buffer = io.BytesIO()
    torch.save({"loader": DataLoader(Indices(10), sampler=sampler)}, buffer)
    it = iter(sampler)
    for _ in range(3):
        next(it)
    twin = copy.deepcopy(sampler)
    next(it)
    assert pickle.loads(pickle.dumps(sampler)).state_dict()["position"] == 4
    assert twin.state_dict()["position"] == 3


def test_replacement_state_dict_reaches_far_behind_prefetching_workers():
    """With replacement and an explicit generator, a state taken 4096 samples behind resumes exactly."""
    def loop(saved=None):
        torch.manual_seed(0)
        g = torch.Generator().manual_seed(1)
        data = Indices(100)
        sampler = ReplayableRandomSampler(data, replacement=True, num_samples=20_000, generator=g)
        loader = DataLoader(data, batch_size=512, sampler=sampler, generator=g)
        if saved is not None:
            sampler.load_state_dict(saved)
        it = iter(loader)
        batches = []
        state = None
        for b, batch in enumerate(it):
            batches.append(batch.tolist())
            if saved is None and b == 9:
                for _ in range(8):  # the DataLoader has run 8 batches ahead of the loop
                    next(it)
                state = sampler.state_dict(samples_consumed=10 * 512)
                break
        return batches, state, g

    full, saved, _ = loop()
    rest, _, _ = loop(saved)
    g = torch.Generator().manual_seed(1)
    torch.empty((), dtype=torch.int64).random_(generator=g)  # the DataLoader's base seed
    reference = list(RandomSampler(Indices(100), True, 20_000, generator=g))
    assert list(itertools.chain(*full))[: 10 * 512] == reference[: 10 * 512]
    assert list(itertools.chain(*rest)) == reference[10 * 512 :]


@pytest.mark.parametrize("replacement", [False, True])
def test_a_dataset_growing_during_the_epoch_is_followed_as_torch_follows_it(replacement):
    """RandomSampler re-reads num_samples for its last draw; so does the drop-in."""
    runs = []
    for cls in (RandomSampler, ReplayableRandomSampler):
        data = Growing(10)
        g = torch.Generator().manual_seed(2)
        kwargs = {"num_samples": None} if not replacement else {}
        sampler = cls(data, replacement, generator=g, **kwargs)
        it = iter(sampler)
        first = [next(it) for _ in range(3)]
        data.n = 15
        runs.append((first + list(it), g.get_state()))
    assert runs[0][0] == runs[1][0] and torch.equal(runs[0][1], runs[1][1])


def test_non_integer_split_lengths_are_refused_as_torch_refuses_them():
    """random_split([2.5, 2.5]) raises TypeError in torch; the drop-in does not drop an item."""
    with pytest.raises(TypeError):
        torch.utils.data.random_split(range(5), [2.5, 2.5])
    with pytest.raises(TypeError):
        replayable_random_split(range(5), [2.5, 2.5])


def _reassigned(cls, n, **kwargs):
    """accelerate's prepare() on several processes: a generator of its own, seeded from the
    global one, given to a sampler built without one."""
    torch.manual_seed(0)
    sampler = cls(Indices(n), **kwargs)
    g = torch.Generator()
    g.manual_seed(int(torch.empty((), dtype=torch.int64).random_().item()))
    sampler.generator = g
    return sampler, g


def test_a_generator_given_after_construction_is_followed_and_jumped():
    """Iteration draws from the new generator as RandomSampler's does, and set_epoch in a
    resumed process moves that generator (not the global one) to the epoch's start."""
    reference, g = _reassigned(RandomSampler, 20)
    starts, epochs = [], []
    for _ in range(4):
        starts.append(g.get_state())
        epochs.append(list(reference))
    after, global_after = g.get_state(), torch.get_rng_state()
    stride = draws_between(starts[0], starts[1], 10**4)

    ours, h = _reassigned(ReplayableRandomSampler, 20, draws_per_epoch=stride)
    assert ours.generator is h and [list(ours) for _ in range(4)] == epochs
    assert ours.draws_per_epoch == stride and timeline().draws_per_epoch is None  # moved with it
    assert torch.equal(h.get_state(), after) and torch.equal(torch.get_rng_state(), global_after)

    resumed, h = _reassigned(ReplayableRandomSampler, 20, draws_per_epoch=stride)
    global_before = torch.get_rng_state()
    resumed.set_epoch(3)
    assert torch.equal(h.get_state(), starts[3])
    assert torch.equal(torch.get_rng_state(), global_before)  # the global one is not ours now
    assert list(resumed) == epochs[3] and torch.equal(h.get_state(), after)


@pytest.mark.parametrize("touch", ["set_epoch", "iteration", "load_state_dict"])
def test_a_generator_given_after_the_sampler_moved_is_refused_and_changes_nothing(touch):
    sampler = ReplayableRandomSampler(Indices(10))
    if touch == "set_epoch":
        sampler.set_epoch(2)
    elif touch == "iteration":
        next(iter(sampler))
    else:
        sampler.load_state_dict(ReplayableRandomSampler(Indices(10)).state_dict())
    before, epoch = torch.get_rng_state(), sampler.epoch
    with pytest.raises(ValueError, match=r"generator: a sampler that is \w+ .* cannot move"):
        sampler.generator = torch.Generator()
    assert sampler.generator is None and sampler.epoch == epoch
    assert torch.equal(torch.get_rng_state(), before)
    with pytest.raises(TypeError, match=r"generator must be a torch\.Generator, got int"):
        ReplayableRandomSampler(Indices(10)).generator = 3
