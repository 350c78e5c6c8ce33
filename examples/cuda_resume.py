"""Resume a GPU run that saved no RNG state: its CUDA generators reconstructed too (needs CUDA).

    python examples/cuda_resume.py train --epochs 4 --dir run/
    python examples/cuda_resume.py resume --epoch 2 --epochs 4 --dir run/

``train`` is a plain run with GPU dropout and a GPU augmentation
(``randn_like`` on the device), saving only the model and the optimizer after
each epoch.  ``resume`` measures how far the model's initialisation and one
epoch advance each device's Philox offset (on a copy, on this GPU), describes
the run, reconstructs every generator -- the CPU's and each device's -- at
``--epoch`` and continues with the same loop.  ``--log FILE`` appends a JSON
line per step (indices, the loss as float hex) and per epoch end (the CPU and
CUDA generator states).
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import pathlib

import torch
from torch.utils.data import DataLoader, TensorDataset

from replay_sampler import (
    Loader,
    Run,
    load_checkpoint,
    measure_cuda_offsets,
    reconstruct,
    save_checkpoint,
)

SEED = 1


def build_model() -> torch.nn.Module:
    return torch.nn.Sequential(torch.nn.Linear(8, 64), torch.nn.ReLU(), torch.nn.Dropout(0.3),
                               torch.nn.Linear(64, 1)).cuda()


def train_one_epoch(model, optimizer, loader, epoch: int = 0, log=None) -> None:
    for x, y, index in loader:
        x, y = x.cuda(), y.cuda()
        x = x + 0.05 * torch.randn_like(x)  # augmentation on the GPU
        loss = torch.nn.functional.mse_loss(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if log:
            log.write(json.dumps({"epoch": epoch, "indices": index.tolist(),
                                  "loss": loss.item().hex()}) + "\n")
    if log:
        states = [torch.get_rng_state(), *torch.cuda.get_rng_state_all()]
        log.write(json.dumps({"epoch_end": epoch, "states": [
            hashlib.sha256(s.numpy().tobytes()).hexdigest() for s in states]}) + "\n")
        log.flush()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("mode", choices=("train", "resume"))
    parser.add_argument("--dir", type=pathlib.Path, default=pathlib.Path("run"))
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--epoch", type=int, default=0, help="resume: the epoch to start at")
    parser.add_argument("--log", type=pathlib.Path, help="append a JSON line per step here")
    args = parser.parse_args(argv)

    torch.manual_seed(SEED)  # seeds the CPU generator and every CUDA device
    g = torch.Generator().manual_seed(5)  # the data draw nothing from the run
    x = torch.randn(512, 8, generator=g)
    data = TensorDataset(x, x.sum(1, keepdim=True), torch.arange(512))
    model = build_model()  # initialised on the GPU: advances device 0's offset
    optimizer = torch.optim.SGD(model.parameters(), lr=0.02)
    loader = DataLoader(data, batch_size=64, shuffle=True)
    start = 0

    if args.mode == "resume":
        def dry_epoch() -> None:  # on copies: the run's model and optimizer stay as they are
            copied = copy.deepcopy(model)
            train_one_epoch(copied, torch.optim.SGD(copied.parameters(), lr=0.02), loader)

        prologue = measure_cuda_offsets(build_model)  # a model initialised on the GPU
        with torch.random.fork_rng(devices=[]):  # also undo the copy's CPU draws
            per_epoch = measure_cuda_offsets(dry_epoch)
        run = Run(seed=SEED, seeded=("torch",), loaders=(Loader(len(data), shuffle=True),),
                  cuda_prologue_offsets=prologue, cuda_epoch_offsets=per_epoch)
        states = reconstruct(run, epoch=args.epoch)  # states.cuda: a TorchCUDAState per device
        states.apply()  # the CPU generator and every device
        checkpoint = load_checkpoint(args.dir / f"epoch{args.epoch - 1}.pt")
        model.load_state_dict(checkpoint["model"])
        optimizer.load_state_dict(checkpoint["optimizer"])
        start = args.epoch

    args.dir.mkdir(parents=True, exist_ok=True)
    log = args.log.open("a") if args.log else None
    for epoch in range(start, args.epochs):
        train_one_epoch(model, optimizer, loader, epoch, log)
        save_checkpoint({"model": model.state_dict(), "optimizer": optimizer.state_dict()},
                        args.dir / f"epoch{epoch}.pt")


if __name__ == "__main__":
    main()
