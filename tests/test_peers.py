"""Drop-in identity, from the peers' side: what torch's, torchdata's, Lightning's and
accelerate's own code expects of a RandomSampler holds with ours in its place.

The torchdata cases are this project's own versions of what torchdata's stateful
DataLoader tests check (end-of-epoch saves inside and after the loop, multi-epoch
restore, persistent workers, ``num_workers`` 0, 2 and 3, ``batch_size=None``), each
a fresh process compared with an uninterrupted plain-torch run
(``DataLoader(shuffle=True)``): batches, per-batch losses as exact bits, and the
generator's full state at every epoch's end.
"""

from __future__ import annotations

import pathlib

import pytest
import torch
from torch.utils.data import DataLoader, DistributedSampler, RandomSampler

from replay_sampler import ReplayableDistributedSampler, ReplayableRandomSampler
from tests.test_frameworks import assert_tail, run

DATA = list(range(40))


def test_the_samplers_are_the_classes_they_replace():
    assert isinstance(ReplayableRandomSampler(DATA), RandomSampler)
    assert isinstance(ReplayableDistributedSampler(DATA, num_replicas=2, rank=0),
                      DistributedSampler)


# -- Lightning and Fabric: shuffle detection and sampler injection -----------------------
def test_lightning_sees_a_shuffled_loader():
    from lightning.pytorch.utilities.data import _is_dataloader_shuffled

    assert _is_dataloader_shuffled(DataLoader(DATA, sampler=ReplayableRandomSampler(DATA)))
    assert _is_dataloader_shuffled(DataLoader(DATA, shuffle=True))  # the same verdict as torch's


def test_lightning_ddp_injection_replaces_it_as_it_replaces_a_random_sampler():
    """use_distributed_sampler=True under DDP: a plain DistributedSampler, shuffled, for ours as
    for RandomSampler (not DistributedSamplerWrapper) -- the README's reason to use
    ReplayableDistributedSampler with use_distributed_sampler=False there."""
    from lightning.pytorch.trainer.connectors.data_connector import _get_distributed_sampler

    for loader in (DataLoader(DATA, sampler=ReplayableRandomSampler(DATA)),
                   DataLoader(DATA, shuffle=True)):
        injected = _get_distributed_sampler(loader, shuffle=True, overfit_batches=0,
                                            num_replicas=2, rank=0, seed=7)
        assert type(injected) is DistributedSampler and injected.shuffle


def test_fabric_single_process_keeps_our_sampler_and_its_order():
    from lightning.fabric import Fabric

    fabric = Fabric(accelerator="cpu", devices=1)
    sampler = ReplayableRandomSampler(DATA)
    loader = fabric.setup_dataloaders(DataLoader(DATA, sampler=sampler, batch_size=8))
    assert loader.sampler is sampler
    torch.manual_seed(2)
    ours = [b.tolist() for b in loader]
    torch.manual_seed(2)
    assert ours == [b.tolist() for b in DataLoader(DATA, shuffle=True, batch_size=8)]


# -- accelerate ---------------------------------------------------------------------------
def test_accelerate_prepare_keeps_our_sampler_and_its_order():
    from accelerate.data_loader import prepare_data_loader

    sampler = ReplayableRandomSampler(DATA)
    prepared = prepare_data_loader(DataLoader(DATA, sampler=sampler, batch_size=8),
                                   num_processes=1, process_index=0, put_on_device=False)
    assert prepared.batch_sampler.sampler is sampler
    torch.manual_seed(4)
    ours = [b.tolist() for b in prepared]
    torch.manual_seed(4)
    assert ours == [b.tolist() for b in DataLoader(DATA, shuffle=True, batch_size=8)]


def test_accelerate_seedable_path_replaces_it_as_it_replaces_a_random_sampler():
    """use_seedable_sampler=True swaps any RandomSampler, ours included, for accelerate's own
    SeedableRandomSampler: the README lists that path as not supported."""
    from accelerate.data_loader import SeedableRandomSampler, prepare_data_loader

    prepared = prepare_data_loader(DataLoader(DATA, sampler=ReplayableRandomSampler(DATA)),
                                   num_processes=1, process_index=0, put_on_device=False,
                                   use_seedable_sampler=True)
    assert type(prepared.batch_sampler.sampler) is SeedableRandomSampler


# -- torchdata's StatefulDataLoader, peer-style ------------------------------------------
# 48 samples in batches of 8: 6 steps an epoch; save_at [epoch, step] inside the loop,
# [epoch, "end"] after it.  (name, workers, persistent, batch_size, save_at, first, partial)
CASES = [
    ("end-of-epoch-w0", 0, False, 8, [0, "end"], 1, None),
    ("end-of-epoch-w2", 2, False, 8, [0, "end"], 1, None),
    ("end-of-epoch-w3", 3, False, 8, [0, "end"], 1, None),
    ("last-batch-w0", 0, False, 8, [0, 5], 0, "0"),
    ("last-batch-w2", 2, False, 8, [0, 5], 0, "0"),
    ("last-batch-w3", 3, False, 8, [0, 5], 0, "0"),
    ("multi-epoch-persistent-w2", 2, True, 8, [1, 2], 1, "1"),
    ("no-batching-w0", 0, False, None, [1, 20], 1, "1"),
]
_PLAIN: dict[tuple, dict] = {}


def _peer_case(tmp_path: pathlib.Path, loader: str, workers, persistent, batch_size, save_at,
               first, partial) -> None:
    base = {"scenario": "torchdata", "seed": 4, "workers": workers, "aug": False, "epochs": 3,
            "persistent": persistent, "batch_size": batch_size, "loader": loader,
            "state_file": str(tmp_path / "state.pt")}
    key = (workers, persistent, batch_size)
    if key not in _PLAIN:
        _PLAIN[key] = run(tmp_path, "plain", mode="plain", **base)
    plain = _PLAIN[key]
    ours = run(tmp_path, "ours", mode="ours", save_at=save_at, **base)
    assert ours["epochs"] == plain["epochs"]
    resumed = run(tmp_path, "resumed", mode="resume", first=first, **base)
    if partial is not None and save_at[1] == 5:  # saved at the last batch: nothing left
        assert resumed["epochs"][partial]["batches"] == []
    assert_tail(resumed, plain, partial=partial, fields=("batches", "losses"))


@pytest.mark.parametrize(("name", "workers", "persistent", "batch_size", "save_at", "first",
                          "partial"), CASES, ids=[c[0] for c in CASES])
def test_our_stateful_dataloader_resumes_as_the_uninterrupted_run(tmp_path, name, workers,
                                                                  persistent, batch_size,
                                                                  save_at, first, partial):
    """replay_sampler.integrations.torchdata.StatefulDataLoader(shuffle=True)."""
    _peer_case(tmp_path, "ours", workers, persistent, batch_size, save_at, first, partial)


@pytest.mark.parametrize("case", [c for c in CASES if c[1] == 0], ids=lambda c: c[0])
def test_torchdatas_own_loader_with_our_sampler_resumes_without_workers(tmp_path, case):
    """torchdata's StatefulDataLoader(sampler=ReplayableRandomSampler(...)) with num_workers=0.
    (With workers it asks the sampler for its state when it prefetches: the README's route is
    the integration's class.)"""
    _peer_case(tmp_path, "torchdata", *case[1:])


@pytest.mark.parametrize(("other", "match"), [
    (lambda: ReplayableRandomSampler(list(range(41))), "dataset"),
    (lambda: ReplayableRandomSampler(DATA, generator=torch.Generator().manual_seed(1)),
     "generator"),
])
def test_an_end_of_epoch_state_for_another_sampler_is_refused_and_moves_nothing(other, match):
    torch.manual_seed(0)
    sampler = ReplayableRandomSampler(DATA)
    list(sampler)  # the epoch ran to its end
    state = sampler.state_dict()
    assert state["phase"] == "exhausted"
    target = other()
    before = torch.get_rng_state(), (target.generator.get_state() if target.generator else None)
    with pytest.raises(ValueError, match=match):
        target.load_state_dict(state)
    assert torch.equal(torch.get_rng_state(), before[0])
    if target.generator is not None:
        assert torch.equal(target.generator.get_state(), before[1])


def test_replay_callback_state_round_trip_and_bad_state():
    """The count a checkpoint carries: saved as measured, used on load, refused when malformed,
    and a checkpoint without one says so."""
    from replay_sampler.integrations.lightning import ReplayCallback

    sampler = ReplayableRandomSampler(DATA)
    callback = ReplayCallback(sampler)
    assert callback.state_dict() == {"draws_per_epoch": None}  # nothing measured yet
    with pytest.warns(UserWarning, match="holds no measured draws per epoch"):
        callback.load_state_dict({"draws_per_epoch": None})
    callback.load_state_dict({"draws_per_epoch": 123})
    assert callback.state_dict() == {"draws_per_epoch": 123}
    with pytest.raises(ValueError, match="draws_per_epoch"):
        ReplayCallback(ReplayableRandomSampler(DATA)).load_state_dict({"other": 1})
    with pytest.raises(ValueError, match="draws_per_epoch"):
        ReplayCallback(ReplayableRandomSampler(DATA)).load_state_dict({"draws_per_epoch": -5})
