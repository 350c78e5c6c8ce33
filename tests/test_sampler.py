"""ReplayableRandomSampler against torch's RandomSampler, in this process."""

import warnings

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.utils.data import DataLoader, RandomSampler, SequentialSampler

from replay_sampler import ReplayableRandomSampler, advance, draws_between, draws_per_epoch
from tests.sampler_runs import Indices
from tests.strategies import examples, seeds


class FakeCudaGenerator(torch.Generator):
    @property
    def device(self):
        return torch.device("cuda")


sizes = st.integers(1, 300)
settings_ = st.fixed_dictionaries(
    {
        "replacement": st.booleans(),
        "num_samples": st.one_of(st.none(), st.integers(1, 700)),
        "explicit": st.booleans(),
    }
)


def make_pair(n, seed, replacement, num_samples, explicit):
    """A torch RandomSampler and ours, each with its own identically seeded generator."""
    data = Indices(n)
    if explicit:
        g1, g2 = torch.Generator().manual_seed(seed), torch.Generator().manual_seed(seed)
    else:
        g1 = g2 = None
    return (
        RandomSampler(data, replacement, num_samples, generator=g1),
        ReplayableRandomSampler(data, replacement, num_samples, generator=g2),
        g1,
        g2,
    )


def state_of(gen):
    return (gen if gen is not None else torch.default_generator).get_state()


@given(sizes, seeds, settings_, st.integers(1, 4), st.one_of(st.none(), st.integers(0, 50)))
@settings(max_examples=examples(60))
def test_iteration_matches_random_sampler(n, seed, cfg, epochs, cut):
    """Same indices and byte-identical generator state, epoch after epoch, epochs cut short too."""
    theirs, ours, g1, g2 = make_pair(n, seed, **cfg)
    runs = []
    for sampler, gen in ((theirs, g1), (ours, g2)):
        torch.manual_seed(seed)
        out = []
        for _ in range(epochs):
            it = iter(sampler)
            taken = [next(it) for _ in range(min(cut, len(sampler)))] if cut is not None else list(it)
            out.append((taken, state_of(gen).clone()))
        runs.append(out)
    for (a, sa), (b, sb) in zip(*runs):
        assert a == b
        assert torch.equal(sa, sb)


@pytest.mark.parametrize("num_workers", [0, 2])
@pytest.mark.parametrize(
    "loader_kw",
    [
        {"batch_size": 7},
        {"batch_size": 7, "drop_last": True},
        {"batch_size": None},
    ],
)
def test_inside_dataloader_matches_shuffle_true(num_workers, loader_kw):
    """DataLoader(sampler=ours) equals DataLoader(shuffle=True), workers or not."""
    data = Indices(53)
    runs = []
    for ours in (False, True):
        torch.manual_seed(3)
        if ours:
            loader = DataLoader(data, sampler=ReplayableRandomSampler(data), num_workers=num_workers, **loader_kw)
        else:
            loader = DataLoader(data, shuffle=True, num_workers=num_workers, **loader_kw)
        runs.append([([torch.as_tensor(b).tolist() for b in loader], torch.get_rng_state()) for _ in range(3)])
    for (a, sa), (b, sb) in zip(*runs):
        assert a == b and torch.equal(sa, sb)


def test_persistent_workers_match():
    """With persistent workers the base seed is drawn once; ours follows torch exactly."""
    data = Indices(40)
    runs = []
    for ours in (False, True):
        g = torch.Generator().manual_seed(9)
        sampler = ReplayableRandomSampler(data, generator=g) if ours else RandomSampler(data, generator=g)
        loader = DataLoader(data, sampler=sampler, generator=g, batch_size=8, num_workers=2,
                            persistent_workers=True)
        runs.append([([b.tolist() for b in loader], g.get_state()) for _ in range(3)])
    for (a, sa), (b, sb) in zip(*runs):
        assert a == b and torch.equal(sa, sb)


def test_trailing_randperm_runs_even_when_remainder_is_zero():
    """An exhausted epoch with num_samples % n == 0 still draws randperm(n)[:0], as torch does."""
    data = Indices(10)
    g = torch.Generator().manual_seed(1)
    before = g.get_state()
    assert len(list(ReplayableRandomSampler(data, num_samples=20, generator=g))) == 20
    assert draws_between(before, g, 100) == 3 * 9  # two full permutations and the empty tail


def test_base_seed_is_drawn_before_the_sampler():
    """A DataLoader draws its base seed (2 words) before the sampler's first draw."""
    data = Indices(10)
    g = torch.Generator().manual_seed(1)
    start = g.get_state()
    expected = list(ReplayableRandomSampler(data, generator=torch.Generator().manual_seed(1)).indices(0))
    loader = DataLoader(data, sampler=ReplayableRandomSampler(data, generator=g), generator=g, batch_size=None)
    assert [int(x) for x in loader] == expected  # indices(0) assumes the base seed comes first
    assert draws_between(start, g, 100) == 2 + 9 + 9


def _uninterrupted(n, seed, cfg, epochs, extra):
    """Plain torch: a shuffled loader, a plain one, `extra` words drawn per epoch."""
    data = Indices(n)
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed((seed + 1) % 2**63) if cfg["explicit"] else None
    sampler = RandomSampler(data, cfg["replacement"], cfg["num_samples"], generator=g)
    loader = DataLoader(data, sampler=sampler, generator=g, batch_size=16)
    test = DataLoader(Indices(5), batch_size=2)
    out = []
    for _ in range(epochs):
        order = [x for b in loader for x in b.tolist()]
        list(test)
        torch.rand(extra)
        out.append((order, torch.get_rng_state(), g.get_state() if g is not None else None))
    return out


def _resumed(n, seed, cfg, start, epochs, extra, stride_fn):
    data = Indices(n)
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed((seed + 1) % 2**63) if cfg["explicit"] else None
    sampler = ReplayableRandomSampler(data, cfg["replacement"], cfg["num_samples"], generator=g)
    loader = DataLoader(data, sampler=sampler, generator=g, batch_size=16)
    test = DataLoader(Indices(5), batch_size=2)
    sampler.draws_per_epoch = stride_fn(loader, test, g)
    if g is not None:  # the sampler moves its own generator; the global one is ours to move
        advance(None, start * (draws_per_epoch(loader, test) + extra))
    out = []
    for epoch in range(start, epochs):
        sampler.set_epoch(epoch)
        order = [x for b in loader for x in b.tolist()]
        list(test)
        torch.rand(extra)
        out.append((order, torch.get_rng_state(), g.get_state() if g is not None else None))
    return out


@given(st.integers(1, 200), seeds, settings_, st.integers(0, 9), st.integers(0, 40))
@settings(max_examples=examples(40))
def test_set_epoch_resumes_where_the_uninterrupted_run_was(n, seed, cfg, start, extra):
    """A fresh sampler jumped with set_epoch(e) repeats epochs e.. of a plain-torch run."""
    epochs = start + 2

    def stride(loader, test, g):
        counted = draws_per_epoch(loader, test, generator=g)
        return counted + (extra if g is None else 0)

    full = _uninterrupted(n, seed, cfg, epochs, extra)
    resumed = _resumed(n, seed, cfg, start, epochs, extra, stride)
    for (a, sa, ga), (b, sb, gb) in zip(full[start:], resumed):
        assert a == b
        assert torch.equal(sa, sb)
        assert ga is None or torch.equal(ga, gb)


@given(sizes, seeds, settings_, st.integers(0, 30))
@settings(max_examples=examples(30))
def test_indices_is_a_pure_query_of_the_epoch_order(n, seed, cfg, epoch):
    """indices(e) equals the order iteration gives at epoch e, and moves no generator."""
    _, ours, _, g2 = make_pair(n, seed, **cfg)
    ours.draws_per_epoch = ours._own_draws()  # iterated alone: no DataLoader draws
    torch.manual_seed(seed)
    ours.set_epoch(0)
    global_before, explicit_before = torch.get_rng_state(), state_of(g2).clone()
    predicted = ours.indices(epoch, draws_before=0)
    assert torch.equal(torch.get_rng_state(), global_before)
    assert torch.equal(state_of(g2), explicit_before)
    for _ in range(epoch):
        list(ours)
    assert list(ours) == predicted


def test_set_epoch_every_epoch_changes_nothing_with_uneven_draws():
    """Calling set_epoch each epoch is invisible, however unevenly the loop draws; a warning says so."""
    data = Indices(30)
    runs = []
    for ours in (False, True):
        torch.manual_seed(5)
        sampler = ReplayableRandomSampler(data) if ours else RandomSampler(data)
        loader = DataLoader(data, sampler=sampler, batch_size=4)
        out = []
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            for epoch in range(6):
                if ours:
                    sampler.set_epoch(epoch)
                order = [x for b in loader for x in b.tolist()]
                torch.rand(int(torch.randint(1, 100, ()).item()))  # uneven, data-dependent draws
                out.append((order, torch.get_rng_state()))
        runs.append((out, [str(w.message) for w in caught]))
    (a, _), (b, messages) = runs
    for (x, sx), (y, sy) in zip(a, b):
        assert x == y and torch.equal(sx, sy)
    assert len(messages) == 1 and "Set it with:\n    sampler.draws_per_epoch = " in messages[0]


def test_stride_warning_names_the_measured_count():
    """A loop drawing 10 extra words per epoch gets told the exact draws_per_epoch to pass."""
    data = Indices(20)
    torch.manual_seed(0)
    sampler = ReplayableRandomSampler(data)
    loader = DataLoader(data, sampler=sampler, batch_size=5)
    with pytest.warns(UserWarning, match=r"(?s)epoch 0 took 14 draws .* draws_per_epoch=4 is assumed.* sampler\.draws_per_epoch = 14$"):
        for epoch in range(2):
            sampler.set_epoch(epoch)
            list(loader)
            torch.rand(10)


def test_no_warning_when_the_stride_is_right():
    """With the right draws_per_epoch the uninterrupted run stays silent."""
    data = Indices(20)
    torch.manual_seed(0)
    sampler = ReplayableRandomSampler(data, draws_per_epoch=14)
    loader = DataLoader(data, sampler=sampler, batch_size=5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for epoch in range(3):
            sampler.set_epoch(epoch)
            list(loader)
            torch.rand(10)


def test_reference_point_is_the_first_set_epoch_not_construction():
    """Where the sampler is built relative to the prologue's draws does not shift jumps."""
    data = Indices(25)
    results = []
    for build_first in (True, False):
        torch.manual_seed(2)
        if build_first:
            sampler = ReplayableRandomSampler(data)
        torch.rand(1000)  # the prologue: e.g. a model initialised on the CPU
        if not build_first:
            sampler = ReplayableRandomSampler(data)
        sampler.set_epoch(5)
        order = [int(i) for i in DataLoader(data, sampler=sampler, batch_size=None)]
        results.append((order, torch.get_rng_state()))
    assert results[0][0] == results[1][0] and torch.equal(results[0][1], results[1][1])
    # ... and it is epoch 5 of the plain-torch run with that prologue
    torch.manual_seed(2)
    torch.rand(1000)
    loader = DataLoader(data, shuffle=True, batch_size=None)
    plain = [[int(i) for i in loader] for _ in range(6)]
    assert plain[5] == results[0][0] and torch.equal(torch.get_rng_state(), results[0][1])


def test_first_epoch_numbering():
    """first_epoch=1 makes set_epoch(1) the reference and set_epoch(2) one stride later."""
    data = Indices(12)
    torch.manual_seed(4)
    a = ReplayableRandomSampler(data, first_epoch=1, draws_per_epoch=2)
    a.set_epoch(1)
    first = list(a)
    second = list(a)  # auto-numbered epoch 2
    torch.manual_seed(4)
    b = ReplayableRandomSampler(data, draws_per_epoch=2)
    b.set_epoch(1)
    assert list(b) == second and first != second


def test_draws_per_epoch_helper_matches_measured_draws():
    """draws_per_epoch(*loaders) equals what one epoch of those loaders really draws."""
    data = Indices(50)
    g = torch.Generator().manual_seed(8)
    cases = [
        ([DataLoader(data, shuffle=True, batch_size=8), DataLoader(data, batch_size=8)], None),
        ([DataLoader(data, sampler=RandomSampler(data, generator=g), generator=g, batch_size=8)], g),
        ([DataLoader(data, sampler=RandomSampler(data, generator=g), batch_size=8)], g),
        ([DataLoader(data, sampler=RandomSampler(data, True, 77, generator=g), generator=g)], g),
        ([DataLoader(data, sampler=SequentialSampler(data), batch_size=None)], None),
    ]
    for loaders, gen in cases:
        target = gen if gen is not None else torch.default_generator
        before = target.get_state()
        for loader in loaders:
            list(loader)
        assert draws_between(before, target, 10**6) == draws_per_epoch(*loaders, generator=gen)


def test_persistent_workers_draw_the_base_seed_once():
    """With persistent workers the first epoch draws 2 more; the helper says (first, later)."""
    data = Indices(30)
    torch.manual_seed(0)
    loader = DataLoader(data, shuffle=True, batch_size=10, num_workers=2, persistent_workers=True)
    counted = draws_per_epoch(loader)
    measured = []
    for _ in range(3):
        before = torch.get_rng_state()
        list(loader)
        measured.append(draws_between(before, torch.get_rng_state(), 1000))
    assert counted == (4, 2) and measured == [4, 2, 2]


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (lambda s: s.set_epoch(-1), ValueError, "epoch must be a non-negative integer, got -1"),
        (lambda s: s.set_epoch(1.0), TypeError, "epoch must be a non-negative integer, got 1.0"),
        (lambda s: s.set_epoch("3"), TypeError, "epoch must be a non-negative integer, got '3'"),
        (lambda s: s.indices(-2), ValueError, "epoch must be a non-negative integer, got -2"),
        (lambda s: s.state_dict(samples_consumed=5), ValueError, "samples_consumed=5 is more than the 0"),
    ],
)
def test_bad_epochs_are_refused_and_nothing_moves(call, exc, match):
    """Bad epochs raise errors naming the argument; the generator is untouched."""
    g = torch.Generator().manual_seed(1)
    sampler = ReplayableRandomSampler(Indices(10), generator=g)
    before = g.get_state()
    with pytest.raises(exc, match=match):
        call(sampler)
    assert torch.equal(g.get_state(), before)


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        ({"replacement": 1}, TypeError, "replacement should be a boolean value, but got replacement=1"),
        ({"num_samples": 0}, ValueError, "num_samples should be a positive integer value, but got num_samples=0"),
        ({"generator": FakeCudaGenerator()}, ValueError, "generator is a cuda generator"),
        ({"draws_per_epoch": -4}, ValueError, "draws_per_epoch must be a non-negative integer, got -4"),
        ({"draws_per_epoch": (1, 2, 3)}, ValueError, "draws_per_epoch must be a non-negative integer or a"),
        ({"first_epoch": -1}, ValueError, "first_epoch must be a non-negative integer"),
    ],
)
def test_bad_constructor_arguments(kwargs, exc, match):
    """Constructor errors copy torch's messages and name our own arguments."""
    with pytest.raises(exc, match=match):
        ReplayableRandomSampler(Indices(10), **kwargs)


def test_set_epoch_below_first_epoch_is_refused():
    """An epoch before first_epoch cannot be jumped to."""
    sampler = ReplayableRandomSampler(Indices(10), first_epoch=3)
    with pytest.raises(ValueError, match="epoch must be >= first_epoch=3, got 2"):
        sampler.set_epoch(2)


def test_iteration_is_as_light_as_random_sampler():
    """No per-epoch copy of the permutation beyond RandomSampler's own list."""
    sampler = ReplayableRandomSampler(Indices(10_000), generator=torch.Generator().manual_seed(0))
    it = iter(sampler)
    next(it)
    assert sampler.state_dict()["position"] == 1
    assert sum(1 for _ in it) == 9_999 and sampler.state_dict()["position"] == 10_000


def test_persistent_workers_resume_without_false_alarms():
    """A resumed persistent-worker loop matches torch and raises no stride warning."""
    data = Indices(40)

    def loop(ours, start, epochs):
        torch.manual_seed(6)
        sampler = ReplayableRandomSampler(data) if ours else RandomSampler(data)
        loader = DataLoader(data, sampler=sampler, batch_size=8, num_workers=2, persistent_workers=True)
        if ours:
            sampler.draws_per_epoch = draws_per_epoch(loader)
        out = []
        for epoch in range(start, epochs):
            if ours:
                sampler.set_epoch(epoch)
            out.append(([b.tolist() for b in loader], torch.get_rng_state()))
        return out

    full = loop(False, 0, 6)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        resumed = loop(True, 3, 6)
    for (a, sa), (b, sb) in zip(full[3:], resumed):
        assert a == b and torch.equal(sa, sb)


def test_an_abandoned_epoch_frees_its_permutation_and_keeps_its_count():
    """As with RandomSampler, dropping a cut-short iteration frees the permutation; the count stays."""
    import gc
    import tracemalloc

    sampler = ReplayableRandomSampler(Indices(1_000_000), generator=torch.Generator().manual_seed(0))
    tracemalloc.start()
    try:
        it = iter(sampler)
        taken = [next(it) for _ in range(10)]
        held = tracemalloc.get_traced_memory()[0]
        del it
        gc.collect()
        freed = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert len(taken) == 10 and held > 20_000_000 and freed < held / 10
    assert sampler.state_dict()["position"] == 10
