"""Write ``sampler_states_v2.pt``: state dicts in format version 2, saved by the
ReplayableRandomSampler of the commit that added this file (the last one that
wrote version 2).

Kept, like numpy's old pickles, so that states saved by earlier releases must
still load (tests/test_sampler_state.py).  It cannot be rerun on later code:
check out that commit (``git log -- tests/data/sampler_states_v1.pt``) to
regenerate.  Each entry records the scenario that
produced it; the test replays the scenario with plain torch as the reference.
"""

import pathlib

import torch
from torch.utils.data import DataLoader

from replay_sampler import ReplayableRandomSampler

HERE = pathlib.Path(__file__).resolve().parent

#: (name, dataset size, replacement, num_samples, explicit generator, set_epoch, epoch, batches)
SCENARIOS = [
    ("global_mid", 30, False, None, False, True, 1, 3),
    ("global_no_set_epoch", 30, False, None, False, False, 1, 2),
    ("explicit_mid", 30, False, 70, True, True, 2, 5),
    ("explicit_replacement", 30, True, 100, True, True, 1, 7),
    ("global_last_batch", 12, False, None, False, True, 1, 3),
    ("global_replacement", 30, True, 100, False, True, 1, 7),
    ("global_replacement_no_set_epoch", 30, True, None, False, False, 2, 5),
]
SEED, BATCH = 7, 4


def run(n, replacement, num_samples, explicit, set_epoch, stop_epoch, stop_batch):
    torch.manual_seed(SEED)
    g = torch.Generator().manual_seed(SEED) if explicit else None
    sampler = ReplayableRandomSampler(range(n), replacement, num_samples, generator=g)
    loader = DataLoader(range(n), sampler=sampler, generator=g, batch_size=BATCH)
    for epoch in range(stop_epoch + 1):
        if set_epoch:
            sampler.set_epoch(epoch)
        for b, _ in enumerate(loader):
            torch.rand(3)  # the loop's own draws
            if g is not None:
                torch.rand(2, generator=g)
            if (epoch, b + 1) == (stop_epoch, stop_batch):
                return {"sampler": sampler.state_dict(), "global": torch.get_rng_state()}
    raise AssertionError("the scenario never reached its stop")


def main() -> None:
    out = {}
    for name, *config in SCENARIOS:
        entry = run(*config)
        entry["config"] = list(config)
        out[name] = entry
    torch.save({"seed": SEED, "batch_size": BATCH, "states": out}, HERE / "sampler_states_v2.pt")


if __name__ == "__main__":
    main()
