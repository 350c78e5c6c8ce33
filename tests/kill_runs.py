"""A tiny training loop that checkpoints every step, for tests/test_kill.py to SIGKILL.

``python -m tests.kill_runs CKPT MODE PAD``: resumes from CKPT if it exists,
saves after every batch (``MODE`` ``atomic``: :func:`save_checkpoint`;
``plain``: ``torch.save``) with ``PAD`` float32s of ballast so that a save
takes long enough to be hit, and at the end prints the samples the run
consumed, in order, as JSON.
"""

import json
import os
import sys
import warnings

import torch
from torch.utils.data import DataLoader

from replay_sampler import ReplayableRandomSampler, load_checkpoint, save_checkpoint

N, EPOCHS, BATCH, SEED = 48, 3, 4, 7


def main(ckpt: str, mode: str, pad: int) -> None:
    gen = torch.Generator().manual_seed(SEED)
    sampler = ReplayableRandomSampler(range(N), generator=gen)
    loader = DataLoader(range(N), sampler=sampler, batch_size=BATCH, generator=gen)
    seen: list[int] = []
    if os.path.exists(ckpt):
        state = load_checkpoint(ckpt)
        sampler.load_state_dict(state["sampler"])
        seen = state["seen"]
    ballast = torch.zeros(pad)

    def save(consumed: int | None) -> None:
        state = {"sampler": sampler.state_dict(samples_consumed=consumed), "seen": list(seen),
                 "ballast": ballast}
        if mode == "atomic":
            save_checkpoint(state, ckpt)
        else:
            torch.save(state, ckpt)

    for epoch in range(sampler.epoch, EPOCHS):
        sampler.set_epoch(epoch)
        handed = 0  # samples_consumed counts from where this iteration began
        for batch in loader:
            seen.extend(batch.tolist())
            handed += len(batch)
            save(handed)
        save(None)  # the epoch is done: the state points at the next one
    print(json.dumps(seen))


if __name__ == "__main__":
    warnings.simplefilter("ignore")
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
