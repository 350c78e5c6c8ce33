"""ReplayableDistributedSampler against torch's RandomSampler and DistributedSampler.

The oracle is always real torch: an epoch's global order is what an
uninterrupted single-process ``RandomSampler(generator=manual_seed(seed))``
yields (or ``DistributedSampler``'s own order), and each rank's share of it
is what ``DistributedSampler(shuffle=False)`` picks.  The first tests run
real gloo process groups of 2 and 3 ranks (``tests/distributed_runs.py``, one
fresh process per run); the property-based ones build the ranks' samplers
side by side in this process with explicit ``num_replicas`` and ``rank``.
"""

import io
import itertools

import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from torch.utils.data import DataLoader, RandomSampler
from torch.utils.data.distributed import DistributedSampler

from replay_sampler import draws_between, draws_per_epoch
from replay_sampler.samplers._distributed import ReplayableDistributedSampler
from tests.fresh import fresh_run
from tests.sampler_runs import Indices
from tests.strategies import examples, seeds


# -- real torch: the oracles ------------------------------------------------------
def random_sampler_epochs(n, seed, epochs):
    """Epochs 0..epochs-1 of one RandomSampler over an explicit generator seeded ``seed``."""
    sampler = RandomSampler(Indices(n), generator=torch.Generator().manual_seed(seed))
    return [list(sampler) for _ in range(epochs)]


def distributed_sampler_epochs(n, seed, epochs):
    """Epochs 0..epochs-1 of DistributedSampler's own order: its single-replica output."""
    sampler = DistributedSampler(Indices(n), 1, 0, seed=seed)
    out = []
    for e in range(epochs):
        sampler.set_epoch(e)
        out.append(list(sampler))
    return out


ORACLES = {
    "random_sampler": random_sampler_epochs,
    "distributed_sampler": distributed_sampler_epochs,
}


def torch_shard(order, world, rank, drop_last, start=0):
    """Rank ``rank``'s share of ``order`` as torch's DistributedSampler(shuffle=False) picks it."""
    picks = DistributedSampler(Indices(len(order)), world, rank, shuffle=False, drop_last=drop_last)
    return [order[i] for i in picks]


def rest_of_epoch(order, position, world, drop_last):
    """The documented rest of an epoch: ``order[position:]``, then padded with the head of
    ``order`` (cyclically) or cut, to a multiple of ``world``."""
    rest = list(order[position:])
    if drop_last:
        return rest[: len(rest) // world * world]
    pad = -len(rest) % world
    return rest + (order * (pad // len(order) + 1))[:pad]


def interleave(shards):
    """The global order lockstep ranks consume: step by step, rank by rank."""
    return [shard[i] for i in range(len(shards[0])) for shard in shards]


# -- real process groups (gloo) -----------------------------------------------------
def fresh_dist(**config):
    return fresh_run("tests.distributed_runs", config, timeout=300)


N, BS, SEED = 50, 4, 7


@pytest.fixture(scope="module")
def three_ranks(tmp_path_factory):
    """Three ranks, 2 workers each, epochs 0-3; all save their state after batch 3 of epoch 2."""
    state = str(tmp_path_factory.mktemp("dist") / "state.pt")
    ranks = fresh_dist(
        world_size=3,
        size=N,
        batch_size=BS,
        seed=SEED,
        epochs=4,
        num_workers=2,
        save_at=[2, 3],
        state_file=state,
        plain_check=True,
    )
    return ranks, state


def test_three_ranks_take_their_distributed_sampler_share_of_the_random_sampler_order(three_ranks):
    """3 gloo ranks each yield DistributedSampler's share of RandomSampler's epoch."""
    ranks, _ = three_ranks
    orders = random_sampler_epochs(N, SEED, 4)
    for r, result in enumerate(ranks):
        for record in result["records"]:
            expected = torch_shard(orders[record["epoch"]], 3, r, False)
            assert record["indices"] == expected
            assert record["len"] == len(expected) == 17


def test_every_rank_saves_the_same_state(three_ranks):
    """Ranks in lockstep return identical state dicts, so rank 0's is enough."""
    _, state = three_ranks
    saved = [torch.load(f"{state}.rank{r}", weights_only=True) for r in range(3)]
    assert saved[0] == saved[1] == saved[2]
    assert saved[0]["epoch"] == 2 and saved[0]["position"] == 3 * 3 * BS
    assert saved[0]["num_replicas"] == 3


def test_plain_sampler_stays_a_random_sampler_drop_in_under_a_process_group(three_ranks):
    """With a process group initialised, ReplayableRandomSampler still is RandomSampler."""
    ranks, _ = three_ranks
    for result in ranks:
        for torch_run, replay_run in (result["plain"]["global"], result["plain"]["explicit"]):
            assert replay_run == torch_run  # indices of two epochs and the generator state after
            assert sorted(replay_run[0][0]) == list(range(N))


def test_elastic_resume_from_three_ranks_to_two(three_ranks):
    """Saved by 3 ranks mid-epoch, resumed by 2: nothing consumed comes again, nothing is lost."""
    ranks3, state = three_ranks
    ranks2 = fresh_dist(
        world_size=2,
        size=N,
        batch_size=BS,
        seed=SEED,
        epochs=5,
        load=True,
        state_file=f"{state}.rank0",
    )
    orders = random_sampler_epochs(N, SEED, 5)
    order, position = orders[2], 3 * 3 * BS
    before = [result["records"][2]["indices"][: 3 * BS] for result in ranks3]
    after = [result["records"][0]["indices"] for result in ranks2]
    assert [result["records"][0]["epoch"] for result in ranks2] == [2, 2]
    assert sorted(interleave(before)) == sorted(order[:position])
    assert interleave(after) == rest_of_epoch(order, position, 2, False) == order[position:]
    assert sorted(interleave(before) + interleave(after)) == list(range(N))
    assert [result["records"][0]["len"] for result in ranks2] == [7, 7]
    for r, result in enumerate(ranks2):  # later epochs: the 2-rank shares of the same orders
        for record in result["records"][1:]:
            assert record["indices"] == torch_shard(orders[record["epoch"]], 2, r, False)


@pytest.fixture(scope="module")
def two_ranks_drop_last(tmp_path_factory):
    """Two ranks with drop_last over 51 samples; every rank saves after 2 batches of epoch 1."""
    state = str(tmp_path_factory.mktemp("dist") / "state.pt")
    cfg = {"size": 51, "batch_size": BS, "seed": SEED, "drop_last": True, "epochs": 3}
    ranks = fresh_dist(world_size=2, save_at=[1, 2], state_file=state, **cfg)
    return ranks, f"{state}.rank0", cfg


def test_elastic_resume_from_two_ranks_to_three_with_drop_last(two_ranks_drop_last):
    """drop_last, 2 ranks to 3: the rest is cut to a multiple of 3, losing under 3 tail samples."""
    ranks2, state, cfg = two_ranks_drop_last
    orders = random_sampler_epochs(51, SEED, 3)
    for r, result in enumerate(ranks2):
        for record in result["records"]:
            assert record["indices"] == torch_shard(orders[record["epoch"]], 2, r, True)
    ranks3 = fresh_dist(world_size=3, load=True, state_file=state, **cfg)
    order, position = orders[1], 2 * 2 * BS
    after = [result["records"][0]["indices"] for result in ranks3]
    assert interleave(after) == rest_of_epoch(order, position, 3, True) == order[position:-2]
    consumed = interleave([result["records"][1]["indices"][: 2 * BS] for result in ranks2])
    assert sorted(consumed + interleave(after) + order[-2:]) == list(range(51))
    for r, result in enumerate(ranks3):
        assert result["records"][1]["indices"] == torch_shard(orders[2], 3, r, True)


def test_same_world_size_resume_is_the_uninterrupted_tail(two_ranks_drop_last):
    """Resumed with the saving run's world size, every rank continues exactly as it would have."""
    ranks2, state, cfg = two_ranks_drop_last
    resumed = fresh_dist(world_size=2, load=True, state_file=state, **cfg)
    for full, tail in zip(ranks2, resumed):
        assert tail["records"][0]["indices"] == full["records"][1]["indices"][2 * BS :]
        assert tail["records"][1]["indices"] == full["records"][2]["indices"]


def test_distributed_sampler_order_is_a_drop_in_in_a_process_group():
    """order="distributed_sampler" is DistributedSampler, indices and global generators alike."""
    cfg = {"world_size": 2, "size": 37, "batch_size": 5, "epochs": 3, "seed": 11}
    theirs = fresh_dist(mode="torch", **cfg)
    ours = fresh_dist(mode="replay", order="distributed_sampler", **cfg)
    assert ours == theirs


# -- in this process: the ranks side by side ---------------------------------------------
def ranks_of(n, world, **kw):
    return [ReplayableDistributedSampler(Indices(n), world, r, **kw) for r in range(world)]


worlds = st.integers(1, 5)


@given(st.integers(1, 70), worlds, seeds, st.booleans(), st.booleans(), st.integers(1, 3))
@settings(max_examples=examples(40))
def test_shards_are_distributed_sampler_shares_of_random_sampler_epochs(
    n, world, seed, drop_last, shuffle, epochs
):
    """Each epoch, each rank: DistributedSampler's share of RandomSampler's epoch, and its len."""
    orders = random_sampler_epochs(n, seed, epochs) if shuffle else [list(range(n))] * epochs
    for r, sampler in enumerate(
        ranks_of(n, world, seed=seed, drop_last=drop_last, shuffle=shuffle)
    ):
        reference = DistributedSampler(Indices(n), world, r, shuffle=shuffle, drop_last=drop_last)
        assert (sampler.num_samples, sampler.total_size) == (
            reference.num_samples,
            reference.total_size,
        )
        for e in range(epochs):
            sampler.set_epoch(e)
            assert len(sampler) == len(reference)
            assert list(sampler) == torch_shard(orders[e], world, r, drop_last)
            assert sampler.indices(e) == torch_shard(orders[e], world, r, drop_last)


@given(st.integers(0, 70), worlds, seeds, st.booleans(), st.booleans(), st.integers(0, 5))
@settings(max_examples=examples(40))
def test_distributed_sampler_order_equals_distributed_sampler(
    n, world, seed, drop_last, shuffle, epoch
):
    """order="distributed_sampler" yields DistributedSampler's indices exactly, at any epoch."""
    seed %= 2**62
    for r in range(world):
        theirs = DistributedSampler(
            Indices(n), world, r, shuffle=shuffle, seed=seed, drop_last=drop_last
        )
        ours = ReplayableDistributedSampler(
            Indices(n),
            world,
            r,
            shuffle=shuffle,
            seed=seed,
            drop_last=drop_last,
            order="distributed_sampler",
        )
        theirs.set_epoch(epoch)
        ours.set_epoch(epoch)
        assert list(ours) == list(theirs) and len(ours) == len(theirs)


def test_one_replica_inside_a_dataloader_is_random_sampler():
    """num_replicas=1: a DataLoader yields what one over RandomSampler(generator=g) does."""
    data = Indices(45)
    sampler = RandomSampler(data, generator=torch.Generator().manual_seed(5))
    theirs = [
        torch.cat(list(DataLoader(data, sampler=sampler, batch_size=8))).tolist() for _ in range(4)
    ]
    ours_sampler = ReplayableDistributedSampler(data, 1, 0, seed=5)
    loader = DataLoader(data, sampler=ours_sampler, batch_size=8)
    ours = []
    for epoch in (3, 0, 2, 1):  # any epoch, in any sequence
        ours_sampler.set_epoch(epoch)
        ours.append((epoch, torch.cat(list(loader)).tolist()))
    assert sorted(ours) == list(enumerate(theirs))


def test_set_epoch_far_ahead_matches_real_torch():
    """Epoch 3000's order equals RandomSampler's after real torch has drawn 3000 epochs' words."""
    n, epoch, seed = 100, 3000, 2024
    g = torch.Generator().manual_seed(seed)
    torch.randperm(epoch * 2 * (n - 1) + 1, generator=g)  # draws epoch * 2 * (n - 1) words
    expected = list(RandomSampler(Indices(n), generator=g))
    sampler = ReplayableDistributedSampler(Indices(n), 3, 1, seed=seed)
    assert sampler.global_order(epoch) == expected
    sampler.set_epoch(epoch)
    assert list(sampler) == torch_shard(expected, 3, 1, False)


def test_the_sampler_draws_nothing_from_the_global_generator():
    """A loop over it draws only the DataLoader's base seed, as draws_per_epoch counts."""
    data = Indices(30)
    loader = DataLoader(data, sampler=ReplayableDistributedSampler(data, 2, 0), batch_size=4)
    assert isinstance(loader.sampler, DistributedSampler)
    before = torch.get_rng_state()
    list(loader)
    assert draws_between(before, torch.get_rng_state(), 100) == draws_per_epoch(loader) == 2


# -- mid-epoch and elastic resume, ranks side by side ------------------------------------
def consume(samplers, epoch, steps):
    """Lockstep: each rank takes ``steps`` indices of ``epoch``; returns shards and state."""
    shards, states = [], []
    for sampler in samplers:
        sampler.set_epoch(epoch)
        it = iter(sampler)
        shards.append([next(it) for _ in range(steps)])
        states.append(sampler.state_dict())
    assert all(s == states[0] for s in states)
    return shards, states[0]


def resume(state, n, world, **kw):
    """Fresh samplers for ``world`` ranks load ``state`` (via torch.save/load), finish its epoch."""
    buffer = io.BytesIO()
    torch.save(state, buffer)
    samplers = ranks_of(n, world, **kw)
    shards = []
    for sampler in samplers:
        buffer.seek(0)
        sampler.load_state_dict(torch.load(buffer, weights_only=True))
        sampler.set_epoch(sampler.epoch)
        shards.append(list(sampler))
        assert len(shards[-1]) == len(shards[0])
    return samplers, shards


@given(
    st.integers(1, 60),
    worlds,
    worlds,
    seeds,
    st.booleans(),
    st.integers(0, 2),
    st.sampled_from(sorted(ORACLES)),
    st.data(),
)
@settings(max_examples=examples(60))
def test_elastic_mid_epoch_resume_keeps_the_global_order(
    n, w1, w2, seed, drop_last, epoch, order_kind, data
):
    """Saved after k steps of w1 ranks, w2 ranks yield the rest of the order, padded or cut."""
    seed %= 2**62
    kw = {"seed": seed, "drop_last": drop_last, "order": order_kind}
    count = len(ReplayableDistributedSampler(Indices(n), w1, 0, **kw))
    assume(count > 0)
    steps = data.draw(st.integers(0, count - 1))
    oracle = ORACLES[order_kind]
    order = oracle(n, seed, epoch + 1)[epoch]
    before, state = consume(ranks_of(n, w1, **kw), epoch, steps)
    assert interleave(before) == order[: w1 * steps] if steps else before == [[]] * w1
    position = w1 * steps
    assert (state["epoch"], state["position"]) == (epoch, position)
    samplers, after = resume(state, n, w2, **kw)
    assert interleave(after) == rest_of_epoch(order, position, w2, drop_last)
    unique = interleave(after)[: n - position]
    assert sorted(interleave(before) + unique) == sorted(
        set(interleave(before) + unique)
    )  # none repeated
    lost = set(range(n)) - set(interleave(before) + interleave(after))
    assert len(lost) < w2 if drop_last else not lost
    for r, sampler in enumerate(samplers):  # the next epoch is a whole one again
        sampler.set_epoch(epoch + 1)
        expected = torch_shard(oracle(n, seed, epoch + 2)[epoch + 1], w2, r, drop_last)
        assert list(sampler) == expected


@given(st.integers(2, 60), worlds, seeds, st.booleans(), st.data())
@settings(max_examples=examples(40))
def test_same_world_size_mid_epoch_resume_is_the_exact_tail(n, world, seed, drop_last, data):
    """With the saving world size, each rank resumes the tail of its DistributedSampler share."""
    kw = {"seed": seed, "drop_last": drop_last}
    count = len(ReplayableDistributedSampler(Indices(n), world, 0, **kw))
    assume(count > 0)
    steps = data.draw(st.integers(0, count - 1))
    order = random_sampler_epochs(n, seed, 2)[1]
    _, state = consume(ranks_of(n, world, **kw), 1, steps)
    _, after = resume(state, n, world, **kw)
    for r in range(world):
        assert after[r] == torch_shard(order, world, r, drop_last)[steps:]


def test_chained_elastic_resumes_within_one_epoch():
    """3 ranks, then 5, then 2, in one epoch: together they yield the epoch once, in order."""
    n, seed = 47, 9
    order = random_sampler_epochs(n, seed, 1)[0]
    first, state = consume(ranks_of(n, 3, seed=seed), 0, 4)
    assert state["position"] == 12
    samplers = ranks_of(n, 5, seed=seed)
    second = []
    for sampler in samplers:
        sampler.load_state_dict(state)
        it = iter(sampler)
        second.append([next(it) for _ in range(3)])
    states = [s.state_dict() for s in samplers]
    assert all(s == states[0] for s in states) and states[0]["position"] == 12 + 15
    _, third = resume(states[0], n, 2, seed=seed)
    assert (
        interleave(first) + interleave(second) + interleave(third) == order
    )  # 20 left: no padding


def test_finished_epoch_saves_as_the_next_one():
    """A state saved after the last index is handed out points at the next epoch, position 0."""
    sampler = ReplayableDistributedSampler(Indices(10), 3, 2, seed=1)
    sampler.set_epoch(4)
    assert sampler.state_dict()["epoch"] == 4 and sampler.state_dict()["position"] == 0
    list(sampler)
    state = sampler.state_dict()
    assert (state["epoch"], state["position"]) == (5, 0)
    other = ReplayableDistributedSampler(Indices(10), 2, 0, seed=1)
    other.load_state_dict(state)
    assert other.epoch == 5 and len(other) == 5


@pytest.mark.parametrize("drop_last", [False, True])
@pytest.mark.parametrize("how", ["count at the last batch", "before the iterator ran out"])
def test_a_state_at_the_epochs_last_batch_resumes_as_nothing_left_then_the_next_epoch(how,
                                                                                      drop_last):
    """Inside the loop at the last batch (the count given, or the default before the iterator
    ran out): the epoch stays, with nothing left of it on any world size; the next epoch is
    DistributedSampler's.  The same rule as ReplayableRandomSampler's."""
    common = dict(seed=1, drop_last=drop_last, order="distributed_sampler")
    sampler = ReplayableDistributedSampler(Indices(10), 3, 2, **common)
    sampler.set_epoch(4)
    it = iter(sampler)
    handed = list(itertools.islice(it, len(sampler)))  # all handed out, the iterator not ended
    state = (sampler.state_dict(samples_consumed=len(handed)) if how.startswith("count")
             else sampler.state_dict())
    assert (state["epoch"], state["position"]) == (4, 10)
    list(it)
    if how.startswith("count"):  # a count is the loop's: the same after the iterator ran out
        assert sampler.state_dict(samples_consumed=len(handed)) == state
    for world in (3, 2, 4):
        for rank in range(world):
            resumed = ReplayableDistributedSampler(Indices(10), world, rank, **common)
            resumed.load_state_dict(state)
            assert resumed.epoch == 4
            resumed.set_epoch(4)
            assert len(resumed) == 0 and list(resumed) == []
            resumed.set_epoch(5)
            reference = DistributedSampler(Indices(10), world, rank, seed=1, drop_last=drop_last)
            reference.set_epoch(5)
            assert list(resumed) == list(reference) and len(resumed) == len(reference)


def test_state_is_small_and_versioned():
    """The state holds a kind, a version and a few plain values -- no permutation, no tensors."""
    sampler = ReplayableDistributedSampler(Indices(10**5), 4, 1, seed=3)
    state = sampler.state_dict()
    assert state["kind"] == "replay_sampler.ReplayableDistributedSampler" and state["version"] == 1
    assert all(isinstance(v, (int, str, bool)) for v in state.values())
    assert set(state) == {
        "kind",
        "version",
        "dataset_size",
        "order",
        "shuffle",
        "seed",
        "drop_last",
        "epoch",
        "position",
        "num_replicas",
    }


def test_samples_consumed_counts_what_the_loop_used():
    """With workers running ahead, samples_consumed (batches x batch size) sets the position."""
    data = Indices(40)
    sampler = ReplayableDistributedSampler(data, 2, 0, seed=4)
    loader = DataLoader(data, sampler=sampler, batch_size=3)
    it = iter(loader)
    next(it), next(it)
    assert sampler.state_dict(samples_consumed=3)["position"] == 2 * 3
    assert sampler.state_dict()["position"] == 2 * 6
    with pytest.raises(ValueError, match="samples_consumed=7 is more than the 6 indices"):
        sampler.state_dict(samples_consumed=7)


def test_set_epoch_to_another_epoch_drops_a_loaded_mid_epoch_state():
    """A loop that moves past the saved epoch gets whole epochs again."""
    sampler = ReplayableDistributedSampler(Indices(20), 2, 0, seed=4)
    sampler.load_state_dict({**sampler.state_dict(), "epoch": 3, "position": 8})
    assert sampler.epoch == 3 and len(sampler) == 6
    sampler.set_epoch(4)
    sampler.set_epoch(3)
    assert len(sampler) == 10 and list(sampler) == sampler.indices(3)


# -- bad input -------------------------------------------------------------------------
def test_no_process_group_and_no_num_replicas_is_a_clear_error():
    """Without a process group, num_replicas and rank must be given."""
    with pytest.raises(ValueError, match="num_replicas was not given and no default process group"):
        ReplayableDistributedSampler(Indices(5))
    with pytest.raises(ValueError, match="rank was not given and no default process group"):
        ReplayableDistributedSampler(Indices(5), num_replicas=2)


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        ({"num_replicas": 0, "rank": 0}, ValueError, "num_replicas must be an integer >= 1, got 0"),
        ({"num_replicas": 2.0, "rank": 0}, TypeError, "num_replicas must be an integer >= 1"),
        (
            {"num_replicas": 2, "rank": 2},
            ValueError,
            r"Invalid rank 2, rank should be in the interval \[0, 1\]",
        ),
        (
            {"num_replicas": 2, "rank": -1},
            ValueError,
            r"Invalid rank -1, rank should be in the interval \[0, 1\]",
        ),
        ({"num_replicas": 2, "rank": "0"}, TypeError, "rank must be an integer"),
        ({"num_replicas": 2, "rank": 0, "seed": "1"}, TypeError, "seed must be an integer"),
        ({"num_replicas": 2, "rank": 0, "seed": 2**64}, ValueError, "seed must be in"),
        ({"num_replicas": 2, "rank": 0, "shuffle": 1}, TypeError, "shuffle must be a bool"),
        ({"num_replicas": 2, "rank": 0, "drop_last": None}, TypeError, "drop_last must be a bool"),
        ({"num_replicas": 2, "rank": 0, "order": "numpy"}, ValueError, "order must be one of"),
    ],
)
def test_bad_arguments_are_named(kwargs, exc, match):
    """Bad constructor arguments raise errors that name them."""
    with pytest.raises(exc, match=match):
        ReplayableDistributedSampler(Indices(5), **kwargs)


@pytest.mark.parametrize(
    "epoch, exc, match",
    [
        (-1, ValueError, "epoch must be a non-negative integer, got -1"),
        (1.5, TypeError, "epoch must be"),
        (True, TypeError, "epoch must be"),
    ],
)
def test_bad_epochs_are_named(epoch, exc, match):
    """set_epoch and the pure queries refuse negative and non-integer epochs."""
    sampler = ReplayableDistributedSampler(Indices(5), 2, 0)
    for call in (sampler.set_epoch, sampler.global_order, sampler.indices):
        with pytest.raises(exc, match=match):
            call(epoch)
    assert sampler.epoch == 0


@pytest.mark.parametrize(
    "change, exc, match",
    [
        (
            {"kind": "replay_sampler.ReplayableRandomSampler"},
            ValueError,
            r"state_dict\['kind'\] must be",
        ),
        ({"version": 2}, ValueError, "format version 2; this replay_sampler reads version 1"),
        ({"dataset_size": 21}, ValueError, "dataset of 21 samples; this sampler's dataset has 20"),
        ({"seed": 5}, ValueError, "state_dict has seed=5; this sampler has seed=4"),
        ({"shuffle": False}, ValueError, "state_dict has shuffle=False"),
        ({"drop_last": True}, ValueError, "state_dict has drop_last=True"),
        (
            {"order": "distributed_sampler"},
            ValueError,
            "state_dict has order='distributed_sampler'",
        ),
        ({"epoch": -1}, ValueError, r"state_dict\['epoch'\] must be a non-negative integer"),
        (
            {"position": 21},
            ValueError,
            r"state_dict\['position'\]=21 must be at most the dataset size 20",
        ),
        ({"position": "3"}, TypeError, r"state_dict\['position'\] must be a non-negative integer"),
        ({"num_replicas": 0}, ValueError, r"state_dict\['num_replicas'\] must be an integer >= 1"),
    ],
)
def test_bad_state_dicts_are_refused_and_change_nothing(change, exc, match):
    """A state for another dataset, seed, order, version, or bad fields: named error, no change."""
    sampler = ReplayableDistributedSampler(Indices(20), 2, 0, seed=4)
    sampler.set_epoch(2)
    good = sampler.state_dict()
    with pytest.raises(exc, match=match):
        sampler.load_state_dict({**good, **change})
    assert sampler.epoch == 2 and len(sampler) == 10


def test_incomplete_state_dicts_are_refused():
    """A state dict lacking fields, or not a dict, is refused with the names of what is missing."""
    sampler = ReplayableDistributedSampler(Indices(20), 2, 0)
    state = sampler.state_dict()
    del state["position"]
    with pytest.raises(ValueError, match="state_dict lacks 'position'"):
        sampler.load_state_dict(state)
    with pytest.raises(TypeError, match="state_dict must be a dict, got list"):
        sampler.load_state_dict([])


def test_an_unsized_dataset_is_refused():
    """The dataset must have a length, as DistributedSampler needs."""
    with pytest.raises(TypeError, match="dataset must be a sized dataset, got a object"):
        ReplayableDistributedSampler(object(), 2, 0)
