"""GPU scenarios for tests/test_cuda_gpu.py, each run in a fresh process.

``python -m tests.cuda_runs CONFIG_JSON`` prints one JSON object.

* ``mode="full"``: the uninterrupted run.  Seed everything, build a small MLP
  on the GPU (its init draws from the CUDA generator: the prologue), then
  train ``epochs`` epochs with a random flip and noise applied on the GPU and
  dropout on the GPU.  At each epoch start it saves the model and optimizer
  (no RNG state) and records ``torch.cuda.get_rng_state_all()``; per epoch
  it records every loss's exact bits, a digest of the dropout masks and of
  the augmented inputs.  Before training it measures, the way a user would,
  the prologue's and one epoch's offset increments with
  ``measure_cuda_offsets`` (the epoch on a copy of the model).
* ``mode="resume"``: a fresh process that runs the same prologue, loads the
  checkpoint of epoch ``start``, applies ``reconstruct(run, start)`` -- CPU
  and CUDA states -- and trains to ``epochs``, recording the same things.
* ``mode="apply_first"`` / ``"torch_set_first"``: ``torch.manual_seed`` while
  CUDA is not initialised, then CUDA states set by ``States.apply()`` or by
  ``torch.cuda.set_rng_state_all``; prints what the devices then hold.
"""

from __future__ import annotations

import os

# cuBLAS is bitwise reproducible run to run with a fixed workspace (set before CUDA starts).
os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")

import copy
import hashlib
import json
import pathlib
import struct
import sys
from typing import Any

import torch
from torch.utils.data import DataLoader, TensorDataset

from replay_sampler import (
    Draws,
    Run,
    States,
    describe_loader,
    measure_cuda_offsets,
    measure_draws,
    reconstruct,
)
from replay_sampler.core import TorchCUDAState
from tests.sampler_runs import seed_everything

SIZE, BATCH, DROPOUT, LR = 96, 16, 0.25, 0.05


class Net(torch.nn.Module):
    """An MLP built on the GPU, whose dropout hands its mask out (``native_dropout``
    is what ``F.dropout`` runs on CUDA: the same kernel, the same offset increment)."""

    def __init__(self) -> None:
        super().__init__()
        self.hidden = torch.nn.Linear(8, 64, device="cuda")
        self.out = torch.nn.Linear(64, 1, device="cuda")
        self.masks: list[torch.Tensor] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.hidden(x))
        h, mask = torch.native_dropout(h, DROPOUT, self.training)
        self.masks.append(mask)
        return self.out(h)


def make_loader() -> DataLoader:
    data = torch.Generator().manual_seed(1234)  # its own generator: the global one is the run's
    x = torch.randn(SIZE, 8, generator=data)
    return DataLoader(TensorDataset(x, x.sum(1, keepdim=True)), batch_size=BATCH, shuffle=True)


def train_epoch(model: Net, optimizer: torch.optim.Optimizer, loader: DataLoader) -> dict[str, Any]:
    model.train()
    model.masks.clear()
    losses, augmented = [], hashlib.sha256()
    for x, y in loader:
        x, y = x.cuda(), y.cuda()
        flip = torch.rand(x.shape[0], 1, device="cuda") < 0.5  # augmentation on the GPU
        x = torch.where(flip, -x, x) + 0.05 * torch.randn_like(x)
        augmented.update(x.cpu().numpy().tobytes())
        loss = torch.nn.functional.mse_loss(model(x), torch.where(flip, -y, y))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(float(loss.item()).hex())
    masks = hashlib.sha256(b"".join(m.cpu().numpy().tobytes() for m in model.masks))
    return {"losses": losses, "masks": masks.hexdigest(), "augmented": augmented.hexdigest()}


def cuda_hex() -> list[str]:
    return [t.numpy().tobytes().hex() for t in torch.cuda.get_rng_state_all()]


def epoch_record(epoch: int, model: Net, optimizer: torch.optim.Optimizer, loader: DataLoader) -> dict[str, Any]:
    record: dict[str, Any] = {
        "epoch": epoch,
        "cuda": cuda_hex(),
        "cpu": hashlib.sha256(torch.get_rng_state().numpy().tobytes()).hexdigest(),
    }
    record.update(train_epoch(model, optimizer, loader))
    return record


def checkpoint(cfg: dict[str, Any], epoch: int) -> pathlib.Path:
    return pathlib.Path(cfg["dir"]) / f"epoch{epoch}.pt"


def full(cfg: dict[str, Any]) -> dict[str, Any]:
    seed_everything(cfg["seed"])
    cpu_prologue: list[int] = []
    # what building the model advances (on a throwaway one; both measures restore)
    prologue = measure_cuda_offsets(lambda: cpu_prologue.append(measure_draws(Net)))
    model = Net()
    optimizer = torch.optim.SGD(model.parameters(), lr=LR)
    loader = make_loader()

    def one_epoch_on_a_copy() -> None:
        twin = copy.deepcopy(model)
        train_epoch(twin, torch.optim.SGD(twin.parameters(), lr=LR), loader)

    with torch.random.fork_rng(devices=[]):  # the copy's CPU draws (shuffling) are undone too
        per_epoch = measure_cuda_offsets(one_epoch_on_a_copy)
    records = []
    for epoch in range(cfg["epochs"]):
        torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict()},
                   checkpoint(cfg, epoch))
        records.append(epoch_record(epoch, model, optimizer, loader))
    return {"prologue": list(prologue), "per_epoch": list(per_epoch),
            "cpu_prologue": cpu_prologue[0], "records": records}


def resume(cfg: dict[str, Any]) -> dict[str, Any]:
    seed_everything(cfg["seed"])
    model = Net()  # the prologue, as the run had it
    optimizer = torch.optim.SGD(model.parameters(), lr=LR)
    loader = make_loader()
    saved = torch.load(checkpoint(cfg, cfg["start"]), weights_only=True)
    model.load_state_dict(saved["model"])
    optimizer.load_state_dict(saved["optimizer"])
    run = Run(
        seed=cfg["seed"],
        prologue=(Draws(cfg["cpu_prologue"], "model init"),),
        loaders=(describe_loader(loader),),
        cuda_prologue_offsets=tuple(cfg["prologue"]),
        cuda_epoch_offsets=tuple(cfg["per_epoch"]),
    )
    reconstruct(run, cfg["start"]).apply()
    records = [epoch_record(e, model, optimizer, loader) for e in range(cfg["start"], cfg["epochs"])]
    return {"records": records}


def apply_first(cfg: dict[str, Any]) -> dict[str, Any]:
    torch.manual_seed(cfg["seed"])  # queued: CUDA is not initialised yet
    before = torch.cuda.is_initialized()
    wanted = tuple(TorchCUDAState(cfg["seed"], 4096 + 4 * i) for i in range(torch.cuda.device_count()))
    States(0, None, None, None, cuda=wanted).apply()
    return {"initialised_before": before, "wanted": [s.raw.hex() for s in wanted], "got": cuda_hex()}


def torch_set_first(cfg: dict[str, Any]) -> dict[str, Any]:
    torch.manual_seed(cfg["seed"])
    before = torch.cuda.is_initialized()
    state = torch.frombuffer(bytearray(struct.pack("<Qq", cfg["seed"], 4096)), dtype=torch.uint8)
    torch.cuda.set_rng_state_all([state] * torch.cuda.device_count())
    return {"initialised_before": before, "got": cuda_hex()}


MODES = {"full": full, "resume": resume, "apply_first": apply_first, "torch_set_first": torch_set_first}


def main() -> None:
    cfg = json.loads(sys.argv[1])
    torch.use_deterministic_algorithms(True, warn_only=True)
    print(json.dumps(MODES[cfg["mode"]](cfg)))


if __name__ == "__main__":
    main()
