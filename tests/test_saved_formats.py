"""States saved by earlier formats of the sampler still load and resume exactly.

``tests/data/sampler_states_v{1,2}.pt`` were written by the sampler of the
commit that added each file (its ``make_*.py`` says how); each entry records
its scenario.  The test resumes it in a fresh sampler and compares the rest of
the run -- indices, and every generator's full state at each epoch's end --
with plain torch's ``RandomSampler`` run uninterrupted.
"""

import pathlib
import warnings

import pytest
import torch
from torch.utils.data import DataLoader, RandomSampler

from replay_sampler import ReplayableRandomSampler

DATA = pathlib.Path(__file__).resolve().parent / "data"
FILES = {1: DATA / "sampler_states_v1.pt", 2: DATA / "sampler_states_v2.pt"}


def _entries():
    for version, path in FILES.items():
        saved = torch.load(path, weights_only=True)
        for name, entry in saved["states"].items():
            yield pytest.param(version, saved["seed"], saved["batch_size"], entry,
                               id=f"v{version}-{name}")


def _run(cls, seed, batch, config, *, state=None, epochs):
    n, replacement, num_samples, explicit, set_epoch, _, _ = config
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed) if explicit else None
    sampler = cls(range(n), replacement, num_samples, generator=g)
    loader = DataLoader(range(n), sampler=sampler, generator=g, batch_size=batch)
    first = 0
    if state is not None:
        sampler.load_state_dict(state["sampler"])
        if g is not None:  # the sampler restores its own generator; the global one is the loop's
            torch.set_rng_state(state["global"])
        first = sampler.epoch
    out = {}
    for epoch in range(first, epochs):
        if set_epoch and cls is ReplayableRandomSampler:
            sampler.set_epoch(epoch)
        seen = []
        for batch_ in loader:
            seen.extend(batch_.tolist())
            torch.rand(3)  # the loop's own draws, as the scenario made them
            if g is not None:
                torch.rand(2, generator=g)
        out[epoch] = (seen, torch.get_rng_state(), None if g is None else g.get_state())
    return out


@pytest.mark.parametrize(("version", "seed", "batch", "entry"), list(_entries()))
def test_an_old_format_state_resumes_as_the_uninterrupted_run(version, seed, batch, entry):
    config = entry["config"]
    stop_epoch, stop_batch = config[5], config[6]
    assert entry["sampler"]["version"] == version
    epochs = stop_epoch + 2
    plain = _run(RandomSampler, seed, batch, config, epochs=epochs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the loop's draws make the assumed count wrong: unused
        resumed = _run(ReplayableRandomSampler, seed, batch, config, state=entry, epochs=epochs)
    rest = plain[stop_epoch][0][stop_batch * batch:]
    if min(resumed) == stop_epoch:  # the rest of the saved epoch, then the next one
        assert resumed[stop_epoch][0] == rest
    else:  # version 1 resumed an epoch whose samples were all used at the next one
        assert (version, min(resumed), rest) == (1, stop_epoch + 1, [])
    for epoch, (seen, global_state, own_state) in resumed.items():
        want = plain[epoch]
        if epoch != stop_epoch:
            assert seen == want[0]
        assert torch.equal(global_state, want[1]), f"epoch {epoch}: global generator"
        assert own_state is None or torch.equal(own_state, want[2]), f"epoch {epoch}: generator"
