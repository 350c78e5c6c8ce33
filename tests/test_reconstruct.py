"""Reconstructing old runs: against real torch for the installed release, against a
reference simulation of each older release's documented draws."""

import random

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.utils.data import DataLoader, random_split

from replay_sampler import (
    Draws,
    Loader,
    ReplayableRandomSampler,
    Run,
    Split,
    States,
    check,
    describe_loader,
    measure_draws,
    reconstruct,
)
from replay_sampler.core import MT19937State, _draws
from replay_sampler.core._emulate import randint_one_draw, randperm_one_pass
from tests.sampler_runs import Indices, seed_everything
from tests.strategies import examples


def build_model():
    return torch.nn.Sequential(torch.nn.Linear(4, 16), torch.nn.Linear(16, 2))


def real_run(seed, size, epochs, extra, np_draws, py_draws, persistent=False):
    """A real loop on the installed torch; returns the states at the start of every epoch."""
    seed_everything(seed)
    train, test = random_split(Indices(size), [0.8, 0.2])
    build_model()
    workers = {"num_workers": 2, "persistent_workers": True} if persistent else {}
    loaders = [DataLoader(train, batch_size=8, shuffle=True, **workers), DataLoader(test, batch_size=8)]
    starts = []
    for _ in range(epochs + 1):
        starts.append((torch.get_rng_state(), np.random.get_state(), random.getstate()))
        for loader in loaders:
            for _ in loader:
                pass
        torch.rand(extra)
        np.random.random_sample(np_draws // 2)  # two words per double
        for _ in range(py_draws // 2):
            random.random()
    return starts, loaders


def describe(seed, size, extra, np_draws, py_draws, loaders, torch_version=None):
    return Run(
        seed=seed,
        prologue=(Split(size, (0.8, 0.2)), Draws(measure_draws(build_model), "model init")),
        loaders=tuple(describe_loader(loader) for loader in loaders),
        epoch_draws=extra,
        numpy_epoch_draws=np_draws,
        random_epoch_draws=py_draws,
        torch_version=torch_version,
    )


def assert_states_equal(states, expected):
    torch_state, np_state, py_state = expected
    assert states.torch == torch_state.numpy().tobytes()
    assert MT19937State.from_numpy_legacy(states.numpy) == MT19937State.from_numpy_legacy(np_state)
    assert states.random == py_state


@given(
    seed=st.integers(0, 2**32 - 1),
    size=st.integers(10, 300),
    epoch=st.integers(0, 6),
    extra=st.integers(0, 50),
    np_draws=st.sampled_from([0, 2, 6]),
    py_draws=st.sampled_from([0, 4]),
)
@settings(max_examples=examples(15))
def test_installed_profile_matches_a_real_run(seed, size, epoch, extra, np_draws, py_draws):
    """The torch, numpy and random states at the start of epoch E are those of a real loop."""
    starts, loaders = real_run(seed, size, epoch, extra, np_draws, py_draws)
    run = describe(seed, size, extra, np_draws, py_draws, loaders)
    assert_states_equal(reconstruct(run, epoch), starts[epoch])


def test_persistent_workers_are_reconstructed():
    """Persistent workers draw their base seed once; the reconstruction follows."""
    starts, loaders = real_run(3, 60, 3, 5, 0, 0, persistent=True)
    run = describe(3, 60, 5, 0, 0, loaders)
    for epoch in range(4):
        assert_states_equal(reconstruct(run, epoch), starts[epoch])


def simulate(version, seed, size, epochs, replacement=False):
    """A reference simulation of one release's documented draws (DESIGN.md's tables),
    built from torch operations directly; returns global states at each epoch start
    and the shuffled loader's orders."""
    major, minor = (int(x) for x in version.split("."))
    torch.manual_seed(seed)
    lengths = [0.8, 0.2] if (major, minor) >= (1, 13) else [int(0.8 * size), size - int(0.8 * size)]
    train, _ = random_split(Indices(size), lengths)
    n = len(train)
    starts, orders = [], []
    for _ in range(epochs + 1):
        starts.append(torch.get_rng_state())
        torch.empty((), dtype=torch.int64).random_()  # train loader's base seed
        if (major, minor) < (1, 7):  # permutation straight from the global generator
            order = torch.randint(n, (n,)).tolist() if replacement else torch.randperm(n).tolist()
        else:
            seed_ = int(torch.empty((), dtype=torch.int64).random_().item())
            private = torch.Generator().manual_seed(seed_)
            if (major, minor) < (1, 9) and not replacement:  # the 1.7-1.8 bug
                order = torch.randperm(n).tolist()
            elif replacement:
                order = torch.randint(n, (n,), generator=private).tolist()
            else:
                order = torch.randperm(n, generator=private).tolist()
        orders.append(order)
        torch.empty((), dtype=torch.int64).random_()  # test loader's base seed
    return starts, orders, n, lengths


@pytest.mark.parametrize("version", ["1.5", "1.8", "1.10", "2.5", "2.13"])
@pytest.mark.parametrize("replacement", [False, True])
def test_each_profile_matches_its_reference_simulation(version, replacement):
    """For every release profile, reconstruction and the sampler follow that release's rules."""
    size, epochs = 200, 5
    starts, orders, n, lengths = simulate(version, 11, size, epochs, replacement)
    run = Run(
        seed=11, seeded=("torch",), prologue=(Split(size, tuple(lengths)),),
        loaders=(Loader(n, shuffle=True, replacement=replacement), Loader(size - n)),
        torch_version=version,
    )
    for epoch in range(epochs + 1):
        assert reconstruct(run, epoch).torch == starts[epoch].numpy().tobytes(), epoch
    # the sampler, told the release, iterates as it did
    torch.manual_seed(11)
    train, test = random_split(Indices(size), lengths)
    sampler = ReplayableRandomSampler(train, replacement=replacement, torch_version=version)
    loader, other = DataLoader(train, sampler=sampler, batch_size=None), DataLoader(test)
    sampler.draws_per_epoch = run.epoch_torch_draws(0)
    sampler.set_epoch(3)
    for epoch in range(3, epochs + 1):
        if epoch > 3:
            sampler.set_epoch(epoch)
        position = {v: i for i, v in enumerate(train.indices)}
        got = [position[int(v)] for v in loader]
        list(other)
        assert got == orders[epoch], epoch


def test_check_says_how_far_off_a_description_is():
    """A description missing the loop's own draws is caught, with the per-epoch shortfall."""
    starts, loaders = real_run(5, 100, 4, 30, 0, 0)
    saved = {"torch_rng_state": starts[4][0]}
    right = describe(5, 100, 30, 0, 0, loaders)
    assert all(f.agrees for f in check(right, 4, saved))
    wrong = describe(5, 100, 0, 0, 0, loaders)
    (finding,) = check(wrong, 4, saved)
    assert not finding.agrees and "30.0 per epoch" in finding.message


def test_states_file_round_trip_and_apply(tmp_path):
    """A saved reconstruction loads with weights_only=True and apply() sets all three generators."""
    starts, loaders = real_run(9, 80, 3, 7, 2, 4)
    run = describe(9, 80, 7, 2, 4, loaders)
    path = tmp_path / "states.pt"
    reconstruct(run, 3).save(path)
    raw = torch.load(path, weights_only=True)
    assert set(raw) >= {"torch_rng_state", "numpy_rng_state", "python_rng_state"}
    seed_everything(0)
    States.load(path).apply()
    assert torch.equal(torch.get_rng_state(), starts[3][0])
    assert MT19937State.from_numpy_legacy(np.random.get_state()) == MT19937State.from_numpy_legacy(starts[3][1])
    assert random.getstate() == starts[3][2]


@pytest.mark.parametrize(
    "payload, match",
    [
        ({"torch_rng_state": torch.zeros(3, dtype=torch.uint8)}, "not written by replay_sampler"),
        ([1, 2, 3], "does not hold a dict"),
    ],
)
def test_foreign_files_are_refused(tmp_path, payload, match):
    """A file that is not a reconstruction is refused with a message saying so."""
    path = tmp_path / "x.pt"
    torch.save(payload, path)
    with pytest.raises(ValueError, match=match):
        States.load(path)


def test_corrupt_state_in_a_file_is_refused(tmp_path):
    """A reconstruction file whose torch state was damaged is refused, naming the field."""
    run = Run(seed=1)
    data = reconstruct(run, 0).to_dict()
    data["torch_rng_state"] = torch.zeros(5048, dtype=torch.uint8)
    path = tmp_path / "bad.pt"
    torch.save(data, path)
    with pytest.raises(ValueError, match=r"torch_rng_state.*5048-byte state"):
        States.load(path)


def test_measure_draws_leaves_the_generator_as_it_was():
    """measure_draws counts a function's draws and restores the generator."""
    gen = torch.Generator().manual_seed(4)
    before = gen.get_state()
    assert measure_draws(lambda: torch.randperm(50, generator=gen), gen) == 49
    assert torch.equal(gen.get_state(), before)


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        ({"seed": -1}, ValueError, r"np.random.seed takes a seed in \[0, 2\*\*32\)"),
        ({"seed": 1, "seeded": ("torch", "jax")}, ValueError, "seeded may name"),
        ({"seed": 1, "prologue": (3,)}, TypeError, "prologue\\[0\\] must be a Split or Draws"),
        ({"seed": 1.5}, TypeError, "seed must be an integer"),
        ({"seed": 1, "epoch_draws": -2}, ValueError, "epoch_draws must be a non-negative integer"),
        ({"seed": 1, "torch_version": "1.12", "prologue": (Split(10, (0.5, 0.5)),)}, ValueError,
         "random_split takes fractions from torch 1.13 on"),
        ({"seed": 1, "torch_version": "1.10", "loaders": (Loader(10, shuffle=True, num_samples=5),)},
         ValueError, "num_samples without replacement needs torch >= 1.11"),
    ],
)
def test_bad_descriptions_are_refused(kwargs, exc, match):
    """Descriptions a release could not have run, or malformed ones, are refused by name."""
    with pytest.raises(exc, match=match):
        Run(**kwargs)


def test_epochs_before_the_first_are_refused():
    """An epoch before first_epoch cannot be reconstructed."""
    with pytest.raises(ValueError, match="epoch must be >= first_epoch=1, got 0"):
        reconstruct(Run(seed=1, first_epoch=1), 0)


@given(st.integers(0, 3000), st.integers(0, 2**63 - 1))
@settings(max_examples=examples(30))
def test_one_pass_randperm_is_torchs_small_path(n, seed):
    """The emulated one-pass randperm equals torch's for the sizes torch still uses it."""
    gen = torch.Generator().manual_seed(seed)
    state = MT19937State.from_torch(gen.get_state())
    perm, after = randperm_one_pass(state, n)
    assert perm == torch.randperm(n, generator=gen).tolist()
    assert after == MT19937State.from_torch(gen.get_state())


@given(st.integers(1, 2**28 - 1), st.integers(0, 100), st.integers(0, 2**63 - 1))
@settings(max_examples=examples(30))
def test_one_draw_randint_is_torchs_below_2_to_28(high, count, seed):
    """The emulated one-draw randint equals torch's for ranges where torch still does that."""
    gen = torch.Generator().manual_seed(seed)
    state = MT19937State.from_torch(gen.get_state())
    values, after = randint_one_draw(state, high, count)
    assert values == torch.randint(high, (count,), generator=gen).tolist()
    assert after == MT19937State.from_torch(gen.get_state())


def test_sampler_uses_the_old_randperm_for_large_n_before_2_6(monkeypatch):
    """With torch_version < 2.6 the sampler permutes large datasets the old way."""
    monkeypatch.setattr(_draws, "RANDPERM_LARGE_N", 50)  # pretend 50 is large
    data = Indices(120)
    g_old, g_ref = torch.Generator().manual_seed(2), torch.Generator().manual_seed(2)
    old = list(ReplayableRandomSampler(data, generator=g_old, torch_version="2.5"))
    # torch 2.13 still uses the one-pass path at n = 120: it is the reference here
    assert old == torch.randperm(120, generator=g_ref).tolist()
    torch.randperm(120, generator=g_ref)  # the trailing randperm(n)[:0]
    assert torch.equal(g_old.get_state(), g_ref.get_state())
