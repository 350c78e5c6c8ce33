"""A plain training loop that checkpoints mid-epoch and resumes exactly.

    python examples/plain_loop.py --checkpoint ckpt.pt      # trains; resumes from ckpt.pt if it exists
    python examples/plain_loop.py --plain                   # the same run on DataLoader(shuffle=True)

Kill it at any moment (``--stop-after STEPS`` does it for a test) and start
it again: the resumed run yields the rest of the interrupted epoch, then the
next epochs, with the indices, CPU dropout masks and augmentations of a run
that was never interrupted -- the run ``--plain`` makes with torch's own
``RandomSampler``.  ``--log FILE`` appends one JSON line per step (the batch's
indices, the loss as exact float hex) and per epoch end (a digest of torch's
generator state), which is how ``tests/test_examples.py`` compares the runs.

Random augmentation inside the dataset (in the DataLoader workers) replays
from the next epoch on: a mid-epoch resume restarts the workers' own streams.
A checkpoint at an epoch's last batch resumes into that epoch with nothing
left of it: the loop's end-of-epoch code runs, then the next epoch.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import pathlib

import torch
from torch.utils.data import DataLoader, Dataset

from replay_sampler import ReplayableRandomSampler, load_checkpoint, save_checkpoint


class Regression(Dataset):
    """A fixed regression set; the loop adds noise to each batch (main-process augmentation)."""

    def __init__(self, n: int) -> None:
        g = torch.Generator().manual_seed(7)  # the data draw nothing from the run's generators
        self.x = torch.randn(n, 4, generator=g)
        self.y = self.x.sum(1, keepdim=True)

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int):
        return self.x[i], self.y[i], i


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--checkpoint", type=pathlib.Path, default=pathlib.Path("ckpt.pt"))
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--every", type=int, default=5, help="checkpoint every N steps")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--plain", action="store_true", help="DataLoader(shuffle=True), no resume")
    parser.add_argument("--log", type=pathlib.Path, help="append a JSON line per step here")
    parser.add_argument("--stop-after", type=int, help="die abruptly after this many steps")
    args = parser.parse_args(argv)

    torch.manual_seed(0)
    data = Regression(200)
    model = torch.nn.Sequential(torch.nn.Linear(4, 32), torch.nn.ReLU(), torch.nn.Dropout(0.2),
                                torch.nn.Linear(32, 1))  # initialised from torch's generator
    optimizer = torch.optim.SGD(model.parameters(), lr=0.02)
    if args.plain:
        sampler = None
        loader = DataLoader(data, batch_size=16, shuffle=True, num_workers=args.workers)
    else:
        sampler = ReplayableRandomSampler(data)
        loader = DataLoader(data, batch_size=16, sampler=sampler, num_workers=args.workers)

    step, start = 0, 0
    if sampler is not None and args.checkpoint.exists():  # after the same prologue as the run
        checkpoint = load_checkpoint(args.checkpoint)
        model.load_state_dict(checkpoint["model"])
        optimizer.load_state_dict(checkpoint["optimizer"])
        sampler.load_state_dict(checkpoint["sampler"])
        step, start = checkpoint["step"], sampler.epoch  # the saved epoch, if unfinished

    log = args.log.open("a") if args.log else None
    for epoch in range(start, args.epochs):  # no set_epoch needed: the sampler counts epochs
        consumed = 0  # samples of this iteration the loop has used
        for x, y, index in loader:
            x = x + 0.05 * torch.randn_like(x)  # augmentation, from torch's generator
            loss = torch.nn.functional.mse_loss(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            step, consumed = step + 1, consumed + len(index)
            if log:
                log.write(json.dumps({"step": step, "epoch": epoch, "indices": index.tolist(),
                                      "loss": loss.item().hex()}) + "\n")
                log.flush()
            if sampler is not None and step % args.every == 0:
                save_checkpoint({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                                 "sampler": sampler.state_dict(samples_consumed=consumed),
                                 "step": step}, args.checkpoint)
            if step == args.stop_after:
                os._exit(3)  # a crash: no cleanup, workers and all
        if log:
            state = hashlib.sha256(torch.get_rng_state().numpy().tobytes()).hexdigest()
            log.write(json.dumps({"epoch_end": epoch, "torch_state": state}) + "\n")
            log.flush()


if __name__ == "__main__":
    main()
