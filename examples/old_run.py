"""Resume an old run that saved no RNG state, exactly.

    python examples/old_run.py train --epochs 5 --dir run/          # the old run, plain torch
    python examples/old_run.py resume --epoch 3 --epochs 5 --dir run/

``train`` is a run as many scripts were written: seed everything, split,
shuffle with ``DataLoader(shuffle=True)``, train with CPU dropout and
augmentation (torch and numpy) in DataLoader workers, and save only the model and the
optimizer after each epoch.  ``resume`` continues it at ``--epoch``: it
describes what the run drew (:class:`replay_sampler.Run`), reconstructs the
torch, numpy and Python ``random`` states the run had when that epoch began,
applies them and runs the very same loop -- no ``replay_sampler`` inside it.
The resumed epochs get the indices, dropout masks, worker augmentations and
losses of the uninterrupted run.  ``--log FILE`` appends one JSON line per
step and per epoch end (digests of the three generators' states).
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import pathlib
import random

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, random_split

from replay_sampler import (
    Draws,
    Loader,
    Run,
    Split,
    draws_per_epoch,
    load_checkpoint,
    measure_draws,
    reconstruct,
    save_checkpoint,
)

SEED, SIZE, PORTIONS = 1, 300, (0.8, 0.2)


class Noisy(Dataset):
    """Fixed inputs; each item gets noise from torch and numpy where it is fetched."""

    def __init__(self, n: int) -> None:
        g = torch.Generator().manual_seed(11)  # the data draw nothing from the run's generators
        self.x = torch.randn(n, 4, generator=g)
        self.y = self.x.sum(1, keepdim=True)

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int):
        noise = 0.05 * torch.randn(4) + float(np.random.uniform(-0.01, 0.01))
        return self.x[i] + noise, self.y[i], i


def build_model() -> torch.nn.Module:
    return torch.nn.Sequential(torch.nn.Linear(4, 32), torch.nn.ReLU(), torch.nn.Dropout(0.2),
                               torch.nn.Linear(32, 1))


def one_epoch(model, optimizer, train_loader, test_loader, epoch: int, log) -> None:
    model.train()
    for x, y, index in train_loader:
        loss = torch.nn.functional.mse_loss(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if log:
            log.write(json.dumps({"epoch": epoch, "indices": index.tolist(),
                                  "loss": loss.item().hex()}) + "\n")
    model.eval()
    with torch.no_grad():
        test = sum(torch.nn.functional.mse_loss(model(x), y).item() for x, y, _ in test_loader)
    if log:
        digests = [hashlib.sha256(s).hexdigest() for s in (
            torch.get_rng_state().numpy().tobytes(),
            repr(np.random.get_state()).encode(),
            repr(random.getstate()).encode())]
        log.write(json.dumps({"epoch_end": epoch, "test": test.hex(), "states": digests}) + "\n")
        log.flush()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("mode", choices=("train", "resume"))
    parser.add_argument("--dir", type=pathlib.Path, default=pathlib.Path("run"))
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--epoch", type=int, default=0, help="resume: the epoch to start at")
    parser.add_argument("--log", type=pathlib.Path, help="append a JSON line per step here")
    args = parser.parse_args(argv)

    # -- the script as it was: seed everything, split, build the model ---------------------
    torch.manual_seed(SEED)
    np.random.seed(SEED)
    random.seed(SEED)
    train, test = random_split(Noisy(SIZE), PORTIONS)
    model = build_model()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.02)
    loaders = (DataLoader(train, batch_size=16, shuffle=True, num_workers=2),
               DataLoader(test, batch_size=16, num_workers=2))
    start = 0

    if args.mode == "resume":
        # What the run drew: the split, the model's initialisation, per epoch the two
        # loaders (counted from their description) and the loop's dropout (measured on
        # a copy of the model: the training loop minus what the loaders themselves draw).
        def dry_epoch() -> None:
            one_epoch(copy.deepcopy(model), copy.deepcopy(optimizer), *loaders, 0, None)

        run = Run(
            seed=SEED,  # torch, numpy and random, as seeded above
            prologue=(Split(SIZE, PORTIONS), Draws(measure_draws(build_model), "model init")),
            loaders=(Loader(len(train), shuffle=True, label="train"),
                     Loader(len(test), label="test")),
            epoch_draws=measure_draws(dry_epoch) - draws_per_epoch(*loaders),
        )
        reconstruct(run, epoch=args.epoch).apply()  # the generators as epoch args.epoch began
        checkpoint = load_checkpoint(args.dir / f"epoch{args.epoch - 1}.pt")
        model.load_state_dict(checkpoint["model"])
        optimizer.load_state_dict(checkpoint["optimizer"])
        start = args.epoch

    args.dir.mkdir(parents=True, exist_ok=True)
    log = args.log.open("a") if args.log else None
    for epoch in range(start, args.epochs):
        one_epoch(model, optimizer, *loaders, epoch, log)
        save_checkpoint({"model": model.state_dict(), "optimizer": optimizer.state_dict()},
                        args.dir / f"epoch{epoch}.pt")  # no RNG state, as in the old run


if __name__ == "__main__":
    main()
