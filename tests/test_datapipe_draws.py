"""A DataLoader over an IterDataPipe draws a shared seed at every iterator
reset (``_share_dist_seed``): counted by Loader, draws_per_epoch and
describe_loader, held against real DataLoaders and the recorded releases."""

from __future__ import annotations

import warnings

import pytest
import torch
from torch.utils.data import DataLoader

from replay_sampler import Loader, Run, describe_loader, draws_between, draws_per_epoch, reconstruct

datapipes = pytest.importorskip("torch.utils.data.datapipes.iter")


def _loader(workers: int = 0, persistent: bool = False) -> DataLoader:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # datapipes are deprecated
        dp = datapipes.IterableWrapper(list(range(20))).shuffle()
        kw = {"persistent_workers": persistent} if workers else {}
        return DataLoader(dp, batch_size=4, shuffle=True, num_workers=workers, **kw)


@pytest.mark.parametrize("workers, persistent", [(0, False), (2, False), (2, True)])
def test_datapipe_loader_states_match_torch(workers, persistent):
    """Three real epochs move the global generator exactly as reconstruct(Run) says."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        loader = _loader(workers, persistent)
        described = describe_loader(loader)
        assert described.datapipe and described.workers == workers
        run = Run(0, ("torch",), loaders=(described,))
        counted = draws_per_epoch(loader)
        start = torch.get_rng_state()
        for epoch in range(1, 4):
            before = torch.get_rng_state()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                list(loader)
            after = torch.get_rng_state()
            assert bytes(after.numpy()) == reconstruct(run, epoch).torch
            per = counted if isinstance(counted, int) else counted[0 if epoch == 1 else 1]
            assert draws_between(before, after, 100) == per
        assert draws_between(start, torch.get_rng_state(), 100) == run.torch_draws_before(3)
        del loader


def test_datapipe_counts_match_the_recorded_releases():
    """The recorded releases drew 4, 6 and 6-then-2 per epoch; Loader says the same."""
    from tests.reference import vectors

    for path in vectors.FILES:
        rec = vectors.load(path)["scenarios"]["datapipe"]
        for key, loader in (("global", Loader(0, datapipe=True)),
                            ("workers2", Loader(0, datapipe=True, workers=2)),
                            ("workers2_persistent", Loader(0, datapipe=True, workers=2,
                                                           persistent_workers=True))):
            run = Run(0, ("torch",), loaders=(loader,), torch_version=vectors.release_of(path))
            assert [run.epoch_torch_draws(e) for e in range(3)] == rec[key]["global_draws"], (path, key)


def test_persistent_datapipe_needs_workers():
    """persistent_workers with no workers is refused, naming the argument."""
    with pytest.raises(ValueError, match=r"Loader\.persistent_workers with datapipe=True needs workers"):
        Loader(0, datapipe=True, persistent_workers=True)
