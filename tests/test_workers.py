"""DataLoader worker seeds, reconstructed, against real torch workers and torch's own code."""

import random

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.utils.data import DataLoader, Dataset, get_worker_info
from torch.utils.data._utils.worker import _generate_state

from replay_sampler.core import MT19937State
from replay_sampler.samplers._workers import (
    WorkerSeeds,
    epoch_base_seed,
    loader_base_seed,
    worker_seeds,
)
from tests.fresh import fresh_run
from tests.sampler_runs import Indices
from tests.strategies import examples, seeds

base_seeds = st.integers(0, 2**63 - 1)


def fresh(**config):
    return fresh_run("tests.worker_runs", config, timeout=300)


def seeds_seen(record):
    """The worker seeds (``get_worker_info().seed``) that produced the epoch's samples."""
    return {seed for batch in record["batches"] for seed in batch[4]}


# -- resume in a fresh process, against an uninterrupted plain-torch run ---------------
@pytest.fixture(scope="module")
def uninterrupted():
    """Plain torch, DataLoader(shuffle=True, num_workers=2), epochs 0-4, augmenting in workers."""
    return fresh(mode="torch", epochs=5)


def test_resumed_run_replays_worker_augmentations_exactly(uninterrupted):
    """Resumed at epoch 3 in a fresh process, every batch and worker draw is the same."""
    resumed = fresh(mode="replay", start=3, epochs=5)
    assert [r["epoch"] for r in resumed] == [3, 4]
    for full, tail in zip(uninterrupted[3:], resumed):
        assert tail["batches"] == full["batches"]
        assert tail["global"] == full["global"]
    indices = [i for batch in resumed[0]["batches"] for i in batch[0]]
    assert sorted(indices) == list(range(90))


def test_a_fresh_iterator_after_set_epoch_draws_the_uninterrupted_base_seed(uninterrupted):
    """After set_epoch(e), loader_base_seed(loader) is the uninterrupted run's base seed."""
    resumed = fresh(mode="replay", start=2, epochs=4)
    for record in resumed:
        base = record["predicted_base_seed"]
        assert seeds_seen(uninterrupted[record["epoch"]]) == {base, base + 1}


def test_epoch_base_seed_from_the_loop_start_state(uninterrupted):
    """The state where the loop began and 6 draws per epoch give every epoch's worker seeds."""
    reference = bytes.fromhex(uninterrupted[0]["reference"])
    for record in uninterrupted:
        base = epoch_base_seed(reference, record["epoch"], 6)
        assert seeds_seen(record) == {w.seed for w in worker_seeds(base, 2)}


# -- worker seeds against torch's own code and real workers --------------------------------
@given(base_seeds, st.integers(0, 64))
@settings(max_examples=examples(200))
def test_numpy_seed_is_torchs_generate_state(base, worker_id):
    """numpy_seed is torch's _generate_state(base, worker_id); seed is base + worker_id."""
    ws = worker_seeds(base, worker_id + 1)[worker_id]
    assert ws.numpy_seed == tuple(_generate_state(base, worker_id))
    assert ws.seed == base + worker_id and ws.worker_id == worker_id


class StartStates(Dataset):
    """Returns, untouched by any draw, the worker's torch, numpy and random states."""

    def __len__(self):
        return 4

    def __getitem__(self, i):
        info = get_worker_info()
        return {
            "id": info.id,
            "torch": torch.get_rng_state().numpy().tobytes().hex(),
            "numpy": np.random.get_state(),
            "random": random.getstate(),
        }


def _start_states(loader):
    seen = {}
    for item in loader:
        seen.setdefault(item["id"], item)
    return seen


@pytest.mark.parametrize("explicit", [False, True])
def test_worker_states_match_real_workers(explicit):
    """A real worker's torch, numpy and random states after seeding are WorkerSeeds'."""
    torch.manual_seed(17)
    g = torch.Generator().manual_seed(99) if explicit else None
    loader = DataLoader(
        StartStates(), batch_size=None, num_workers=2, generator=g, collate_fn=lambda x: x
    )
    predicted = worker_seeds(loader_base_seed(loader), 2)
    seen = _start_states(loader)
    for w in predicted:
        state = seen[w.worker_id]
        assert MT19937State.from_torch(bytes.fromhex(state["torch"])) == w.torch_state()
        assert MT19937State.from_numpy_legacy(state["numpy"]) == w.numpy_state()
        assert MT19937State.from_python_random(state["random"]) == w.python_state()


def test_seed_globals_like_worker_reproduces_a_real_worker():
    """seed_globals_like_worker leaves this process's generators as a real worker's."""
    torch.manual_seed(5)
    loader = DataLoader(StartStates(), batch_size=None, num_workers=2, collate_fn=lambda x: x)
    predicted = worker_seeds(loader_base_seed(loader), 2)
    seen = _start_states(loader)
    saved = torch.get_rng_state(), np.random.get_state(), random.getstate()
    try:
        for w in predicted:
            w.seed_globals_like_worker()
            state = seen[w.worker_id]
            assert torch.get_rng_state().numpy().tobytes().hex() == state["torch"]
            ours, theirs = np.random.get_state(), state["numpy"]
            assert np.array_equal(ours[1], theirs[1]) and ours[2:] == tuple(theirs[2:])
            assert random.getstate() == state["random"]
    finally:
        torch.set_rng_state(saved[0])
        np.random.set_state(saved[1])
        random.setstate(saved[2])


@given(seeds, st.integers(0, 3000), st.booleans())
@settings(max_examples=examples(30))
def test_loader_base_seed_is_what_the_iterator_draws(seed, skip, explicit):
    """loader_base_seed(..., draws=k) predicts _base_seed after k draws, and moves nothing."""
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed) if explicit else None
    loader = DataLoader(Indices(5), generator=g)
    gen = g if explicit else torch.default_generator
    before = gen.get_state()
    predicted = (
        loader_base_seed(loader, draws=skip),
        loader_base_seed(gen, draws=skip),
        loader_base_seed(before, draws=skip),
    )
    assert torch.equal(gen.get_state(), before)
    torch.randperm(skip + 1, generator=gen)  # draws `skip` words
    assert predicted == (iter(loader)._base_seed,) * 3


def test_epoch_base_seed_with_a_first_and_later_stride():
    """A (first, later) stride: epoch 0 at the reference, epoch 2 after first + later draws."""
    start = torch.Generator().manual_seed(8)
    reference = start.get_state()
    torch.randperm(10 + 7 + 1, generator=start)  # 10 draws in epoch 0, 7 in epoch 1
    assert epoch_base_seed(reference, 2, (10, 7)) == loader_base_seed(start)
    assert epoch_base_seed(reference, 0, (10, 7)) == loader_base_seed(reference)
    assert epoch_base_seed(reference, 5, 4, first_epoch=5, draws_before=3) == loader_base_seed(
        reference, draws=3
    )


# -- persistent workers: refused --------------------------------------------------------
def test_persistent_workers_are_refused_after_their_first_epoch():
    """Persistent workers draw one base seed: the first epoch is predicted, later ones refused."""
    torch.manual_seed(2)
    loader = DataLoader(
        StartStates(),
        batch_size=None,
        num_workers=2,
        persistent_workers=True,
        collate_fn=lambda x: x,
    )
    base = loader_base_seed(loader)
    seen = _start_states(loader)
    assert {w.worker_id: w.torch_state() for w in worker_seeds(base, 2)} == {
        i: MT19937State.from_torch(bytes.fromhex(s["torch"])) for i, s in seen.items()
    }
    with pytest.raises(
        ValueError, match="persistent_workers=True whose workers are already running"
    ):
        loader_base_seed(loader)
    reference = torch.get_rng_state()
    assert epoch_base_seed(reference, 0, (4, 2), persistent_workers=True) == loader_base_seed(
        reference
    )
    with pytest.raises(
        ValueError, match="persistent_workers=True: the workers were seeded once, in epoch 0"
    ):
        epoch_base_seed(reference, 1, (4, 2), persistent_workers=True)
    del loader


# -- bad input ------------------------------------------------------------------------
@pytest.mark.parametrize(
    "call, exc, match",
    [
        (lambda: worker_seeds(-1, 2), ValueError, "base_seed must be a non-negative integer, got -1"),
        (lambda: worker_seeds(2**63, 2), ValueError, "base_seed must be below 2\\*\\*63"),
        (lambda: worker_seeds(5, "2"), TypeError, "num_workers must be a non-negative integer"),
        (lambda: loader_base_seed(object()), TypeError, "source must be a CPU torch.Generator"),
        (
            lambda: loader_base_seed(None, draws=-1),
            ValueError,
            "draws must be a non-negative integer",
        ),
        (
            lambda: epoch_base_seed(torch.get_rng_state(), 1, 4, first_epoch=2),
            ValueError,
            "epoch must be >= first_epoch=2, got 1",
        ),
        (
            lambda: epoch_base_seed(torch.get_rng_state(), 1, (1, 2, 3)),
            ValueError,
            "draws_per_epoch must be a non-negative integer or a \\(first_epoch, later_epochs\\) pair",
        ),
        (
            lambda: epoch_base_seed(torch.get_rng_state(), 1, None),
            TypeError,
            "draws_per_epoch must be a non-negative integer or a",
        ),
        (lambda: epoch_base_seed(torch.zeros(16, dtype=torch.uint8), 1, 4), ValueError, "CUDA"),
    ],
)
def test_bad_input_is_named(call, exc, match):
    """Bad arguments raise errors naming them."""
    with pytest.raises(exc, match=match):
        call()


def test_worker_seeds_is_a_plain_list():
    """worker_seeds returns one frozen WorkerSeeds per worker, none for num_workers=0."""
    assert worker_seeds(3, 0) == []
    assert worker_seeds(3, 2) == [WorkerSeeds(0, 3), WorkerSeeds(1, 3)]
