"""One timeline per generator and the sampler's lifecycle, against plain torch.

Each finding of the frameworks review has a test named after it (finding 3,
torchdata's prefetch, needs real workers: tests/test_frameworks.py); "plain"
is ``DataLoader(shuffle=True)`` / ``RandomSampler``, uninterrupted.  Runs
that stand for two processes reseed in between; a resume in a *fresh*
process is in tests/test_frameworks.py and tests/test_resume_fresh_process.py.
"""

import warnings

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.utils.data import DataLoader, RandomSampler

from replay_sampler import (
    ReplayableDistributedSampler,
    ReplayableRandomSampler,
    draws_between,
    draws_per_epoch,
    measure_draws,
    timeline,
)
from tests.sampler_runs import Indices
from tests.strategies import examples, seeds


def _state():
    return torch.get_rng_state().clone()


def _flat(loader):
    """Every index a loader's epoch yields, in order."""
    return [i for batch in loader for i in batch.tolist()]


def _plain_epochs(n, seed, epochs, *, extra=0, batch_size=4, workers=0, second=None):
    """Plain torch: a shuffled loader (and maybe a second shuffled one), `extra` draws per batch."""
    torch.manual_seed(seed)
    loader = DataLoader(Indices(n), batch_size=batch_size, shuffle=True, num_workers=workers)
    other = DataLoader(Indices(second), batch_size=3, shuffle=True) if second else None
    out = []
    for _ in range(epochs):
        order = []
        for batch in loader:
            order += batch.tolist()
            torch.rand(extra)
        orders = [order] + ([_flat(other)] if other else [])
        out.append((orders, _state()))
    return out


def test_set_epoch_for_the_epoch_under_way_moves_nothing():
    """Finding 1: iter(s); next(it); s.set_epoch(0) leaves the generator where RandomSampler has it."""
    runs = []
    for ours in (False, True):
        torch.manual_seed(0)
        sampler = ReplayableRandomSampler(Indices(20)) if ours else RandomSampler(Indices(20))
        it = iter(sampler)
        taken = [next(it)]
        if ours:
            sampler.set_epoch(0)
        taken += list(it)
        runs.append((taken, _state()))
    assert runs[0][0] == runs[1][0] and torch.equal(runs[0][1], runs[1][1])


@pytest.mark.parametrize("workers", [0, 2])
def test_iterator_before_set_epoch_in_the_first_epoch_is_plain_torch(workers):
    """Finding 1: Lightning's order (iterator first in epoch 0, set_epoch first later) equals shuffle=True."""
    plain = _plain_epochs(30, 4, 3, extra=3, workers=workers)
    torch.manual_seed(4)
    sampler = ReplayableRandomSampler(Indices(30), draws_per_epoch=2 + 2 + 8 * 3)
    loader = DataLoader(Indices(30), batch_size=4, sampler=sampler, num_workers=workers)
    out = []
    for epoch in range(3):
        if epoch:
            sampler.set_epoch(epoch)
        it = iter(loader)  # epoch 0: created before set_epoch, workers prefetch
        if not epoch:
            sampler.set_epoch(epoch)
        order = []
        for batch in it:
            order += batch.tolist()
            torch.rand(3)
        out.append(([order], _state()))
    for (a, sa), (b, sb) in zip(plain, out):
        assert a == b and torch.equal(sa, sb)


def _lightning_order_run(seed, epochs, stride, *, start=0, extra=5):
    """Lightning's call order: the process's first epoch creates its iterator before set_epoch."""
    torch.manual_seed(seed)
    sampler = ReplayableRandomSampler(Indices(30))
    loader = DataLoader(Indices(30), batch_size=5, sampler=sampler)
    if stride is not None:
        sampler.draws_per_epoch = stride
    out = []
    for epoch in range(start, epochs):
        first = epoch == start
        if not first:
            sampler.set_epoch(epoch)
        it = iter(loader)
        if first:
            sampler.set_epoch(epoch)
        order = []
        for batch in it:
            order += batch.tolist()
            torch.rand(extra)
        out.append(([order], _state()))
    return out, sampler


def test_the_self_check_advises_the_right_count_under_lightnings_order():
    """Finding 2: the measured count is the real one (marks at the sampler's first draw), and it resumes."""
    plain = _plain_epochs(30, 2, 6, extra=5, batch_size=5)
    with pytest.warns(UserWarning, match=r"sampler\.draws_per_epoch = (\d+)") as caught:
        _, sampler = _lightning_order_run(2, 4, None)
    advised = int(str(caught[0].message).rsplit("= ", 1)[1])
    assert advised == 2 + 2 + 6 * 5 == sampler.measured_draws_per_epoch[0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        again, _ = _lightning_order_run(2, 6, advised)  # no warning with the advised count
        resumed, _ = _lightning_order_run(2, 6, advised, start=3)
    for (a, sa), (b, sb) in zip(plain, again):
        assert a == b and torch.equal(sa, sb)
    for (a, sa), (b, sb) in zip(plain[3:], resumed):
        assert a == b and torch.equal(sa, sb)


def test_set_epoch_back_right_after_a_jump_warns():
    """Finding 4: accelerate-style set_epoch(0) after set_epoch(3), nothing iterated, warns and says how."""
    torch.manual_seed(0)
    sampler = ReplayableRandomSampler(Indices(10))
    sampler.set_epoch(3)
    with pytest.warns(RuntimeWarning, match=r"set_epoch\(0\) right after set_epoch\(3\).*prepared_loader\.set_epoch\(3\)"):
        sampler.set_epoch(0)


@given(seeds, st.integers(0, 5))
@settings(max_examples=examples(10))
def test_two_shuffled_loaders_on_the_global_generator_resume_with_one_jump(seed, start):
    """Finding 5: two replayable samplers on one generator share its timeline; the resume is exact."""
    seed %= 2**32
    plain = _plain_epochs(20, seed, start + 2, extra=2, second=9)

    def ours(first):
        torch.manual_seed(seed)
        a, b = ReplayableRandomSampler(Indices(20)), ReplayableRandomSampler(Indices(9))
        loaders = DataLoader(Indices(20), batch_size=4, sampler=a), DataLoader(Indices(9), batch_size=3, sampler=b)
        a.draws_per_epoch = draws_per_epoch(*loaders) + 5 * 2  # 5 batches draw 2 each
        out = []
        for epoch in range(first, start + 2):
            a.set_epoch(epoch)
            b.set_epoch(epoch)
            order = []
            for batch in loaders[0]:
                order += batch.tolist()
                torch.rand(2)
            out.append(([order, _flat(loaders[1])], _state()))
        return out

    for (x, sx), (y, sy) in zip(plain[start:], ours(start)):
        assert x == y and torch.equal(sx, sy)


def test_measure_draws_over_the_live_loaders_leaves_the_run_as_it_was():
    """Finding 6: measuring an epoch over the live sampler and loader shifts nothing later."""
    plain = _plain_epochs(24, 3, 4, extra=2)
    torch.manual_seed(3)
    sampler = ReplayableRandomSampler(Indices(24))
    loader = DataLoader(Indices(24), batch_size=4, sampler=sampler)

    def epoch():
        for _ in loader:
            torch.rand(2)

    sampler.draws_per_epoch = measure_draws(epoch)
    assert sampler.draws_per_epoch == 2 + 2 + 6 * 2 and sampler.epoch == 0
    out = []
    for e in range(4):
        sampler.set_epoch(e)
        order = []
        for batch in loader:
            order += batch.tolist()
            torch.rand(2)
        out.append(([order], _state()))
    for (a, sa), (b, sb) in zip(plain, out):
        assert a == b and torch.equal(sa, sb)


def test_set_epoch_once_then_plain_epochs_keeps_the_epoch_count():
    """Finding 7: set_epoch(start) at resume, then plain epochs: orders and sampler.epoch are right."""
    plain = _plain_epochs(16, 5, 6, batch_size=4)
    torch.manual_seed(5)
    sampler = ReplayableRandomSampler(Indices(16))
    loader = DataLoader(Indices(16), batch_size=4, sampler=sampler)
    sampler.set_epoch(3)
    seen = []
    for epoch in range(sampler.epoch, 6):
        assert sampler.epoch == epoch
        seen.append(([_flat(loader)], _state()))
        assert sampler.epoch == epoch + 1 and sampler.state_dict()["epoch"] == epoch
    for (a, sa), (b, sb) in zip(plain[3:], seen):
        assert a == b and torch.equal(sa, sb)


def test_samples_consumed_counts_from_where_the_iteration_began_in_both_samplers():
    """Finding 8: after a resume the count restarts; an epoch-wide count is refused, not misread."""
    data = Indices(40)
    torch.manual_seed(0)
    first = ReplayableRandomSampler(data)
    it = iter(first)
    taken = [next(it) for _ in range(10)]
    state = first.state_dict(samples_consumed=8)
    torch.manual_seed(0)
    second = ReplayableRandomSampler(data)
    second.load_state_dict(state)
    it = iter(second)
    taken += [next(it) for _ in range(5)]
    with pytest.raises(ValueError, match="samples_consumed=13 is more than the 5 indices"):
        second.state_dict(samples_consumed=13)  # counted from the epoch's start: refused
    assert second.state_dict(samples_consumed=5)["position"] == 13
    dist = ReplayableDistributedSampler(data, 2, 0, seed=1)
    it = iter(dist)
    [next(it) for _ in range(6)]
    resumed = ReplayableDistributedSampler(data, 2, 0, seed=1)
    resumed.load_state_dict(dist.state_dict(samples_consumed=6))
    it = iter(resumed)
    [next(it) for _ in range(3)]
    with pytest.raises(ValueError, match="samples_consumed=9 is more than the 3 indices"):
        resumed.state_dict(samples_consumed=9)
    assert resumed.state_dict(samples_consumed=3)["position"] == 2 * (6 + 3)


@pytest.mark.parametrize(
    "value, exc, match",
    [
        (-5, ValueError, "draws_per_epoch must be a non-negative integer, got -5"),
        (6.0, TypeError, r"draws_per_epoch must be a non-negative integer or a \(first_epoch, later_epochs\) pair, got 6.0"),
        ((1, -2), ValueError, r"draws_per_epoch\[1\] must be a non-negative integer, got -2"),
        ("12", TypeError, "draws_per_epoch must be a non-negative integer or a"),
    ],
)
def test_draws_per_epoch_is_validated_on_assignment_and_a_failure_changes_nothing(value, exc, match):
    """Finding 9: a bad count is refused by name; the count and the generator stay as they were."""
    torch.manual_seed(0)
    sampler = ReplayableRandomSampler(Indices(10), draws_per_epoch=7)
    before = _state()
    with pytest.raises(exc, match=match):
        sampler.draws_per_epoch = value
    assert sampler.draws_per_epoch == 7 and torch.equal(_state(), before)


def test_a_failing_set_epoch_changes_nothing():
    """Finding 9: a refused set_epoch sets no reference, so the next call lands where it should."""
    plain = _plain_epochs(12, 1, 4)
    torch.manual_seed(1)
    sampler = ReplayableRandomSampler(Indices(12))
    loader = DataLoader(Indices(12), batch_size=4, sampler=sampler)
    for bad in (-1, 2.5, "3"):
        with pytest.raises((TypeError, ValueError)):
            sampler.set_epoch(bad)
    assert timeline().reference is None and sampler.epoch == 0
    sampler.set_epoch(3)
    assert [_flat(loader)] == plain[3][0]
    assert torch.equal(_state(), plain[3][1])


def test_a_far_resume_with_replacement_skips_chunks_without_drawing_them():
    """Finding 10: a state 60,000 samples into a replacement epoch resumes exactly, chunks skipped by a jump."""
    data = Indices(50)
    g = torch.Generator().manual_seed(3)
    plain = list(RandomSampler(data, True, 100_000, generator=g))
    g = torch.Generator().manual_seed(3)
    sampler = ReplayableRandomSampler(data, True, 100_000, generator=g)
    it = iter(sampler)
    head = [next(it) for _ in range(60_000)]
    state = sampler.state_dict()
    g2 = torch.Generator().manual_seed(99)
    resumed = ReplayableRandomSampler(data, True, 100_000, generator=g2)
    resumed.load_state_dict(state)
    assert head + list(resumed) == plain


def test_a_new_run_in_the_same_process_starts_a_new_timeline():
    """Reseeding with another seed, or a new sampler elsewhere in the stream, forgets the old run."""
    torch.manual_seed(0)
    old = ReplayableRandomSampler(Indices(10), draws_per_epoch=2)  # iterated bare: its seed only
    for epoch in range(3):
        old.set_epoch(epoch)
        list(old)
    plain = _plain_epochs(10, 1, 1, batch_size=10)
    torch.manual_seed(1)  # a second run while the first run's sampler still lives
    new = ReplayableRandomSampler(Indices(10))
    new.set_epoch(0)
    order = _flat(DataLoader(Indices(10), batch_size=10, sampler=new))
    assert [order] == plain[0][0] and torch.equal(_state(), plain[0][1])
    assert old.epoch == 3  # the old sampler is left alone


def test_a_timeline_without_a_sampler_jumps_and_checks_at_set_epoch():
    """timeline() on its own: set_epoch jumps a resumed process by the count, uninterrupted runs stay."""
    def run(start):
        torch.manual_seed(7)
        clock = timeline()
        clock.draws_per_epoch = 10
        out = []
        for epoch in range(start, 5):
            clock.set_epoch(epoch)
            out.append(torch.rand(10).tolist())
        return out

    full = run(0)
    torch.manual_seed(7)
    plain = [torch.rand(10).tolist() for _ in range(5)]
    assert full == plain and run(3) == plain[3:]


@given(seeds, st.integers(0, 20_000), st.integers(-6000, 6000),
       st.one_of(st.just(None), st.integers(-12_000, 12_000)))
@settings(max_examples=examples(40))
def test_the_self_checks_measure_finds_the_real_count_near_and_far_from_the_assumed_one(
        seed, drawn, off, floor_off):
    """measure_epoch (the stride check) returns the draws between two states whether the assumed
    count is right, a few draws off either way (inside its window) or far off (the scan from the
    floor, or the full scan), whatever the floor says -- it is a hint, right or wrong -- and None
    beyond its limit; the states come from real torch generators."""
    from replay_sampler._torch import read
    from replay_sampler.samplers._timeline import measure_epoch

    g = torch.Generator().manual_seed(seed)
    begin = read(g).mt
    torch.randint(2**31, (drawn,), generator=g)
    now = read(g).mt
    drawn = draws_between(begin, now, 10**6)  # the scan, pinned against torch elsewhere
    assumed = max(0, drawn + off)
    floor = 0 if floor_off is None else max(0, drawn + floor_off)
    assert measure_epoch(begin, now, assumed, 10**6, floor) == drawn
    if drawn > 10:
        assert measure_epoch(begin, now, drawn, drawn - 1, floor) is None  # beyond the limit
