"""A training loop whose DataLoader workers draw random augmentations, run in a fresh process.

``python -m tests.worker_runs CONFIG_JSON`` prints a JSON list with, per
epoch, the batches the loop saw -- each sample's index, the values its
``__getitem__`` drew from torch, numpy and ``random`` in a worker, and the
worker's seed -- and the global generator state after the epoch.

``mode="torch"`` is the uninterrupted run with plain torch
(``DataLoader(shuffle=True, num_workers=2)``) and also records the global
generator's state where the loop begins.  ``mode="replay"`` is a fresh
process that uses ``ReplayableRandomSampler``, calls ``set_epoch(e)`` from
epoch ``start`` on, and records ``loader_base_seed(loader)`` before every
epoch.
"""

from __future__ import annotations

import json
import random
import sys
import warnings
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, get_worker_info

from replay_sampler import ReplayableRandomSampler, draws_per_epoch
from replay_sampler.samplers._workers import loader_base_seed
from tests.sampler_runs import Indices, seed_everything

DEFAULTS: dict[str, Any] = {
    "seed": 1,
    "size": 90,
    "batch_size": 8,
    "num_workers": 2,
    "epochs": 5,
    "start": 0,
    "mode": "torch",
}


class Augmented(Dataset):
    """Sample ``i`` with a random "augmentation" from each of torch, numpy and ``random``."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> tuple[int, float, float, float, int]:
        info = get_worker_info()
        return (
            i,
            float(torch.rand(()).item()),
            float(np.random.rand()),
            random.random(),
            info.seed if info is not None else -1,
        )


def run(config: dict[str, Any]) -> list[dict[str, Any]]:
    cfg = {**DEFAULTS, **config}
    seed_everything(cfg["seed"])
    train, test = Augmented(cfg["size"]), Indices(30)
    torch.rand(50)  # the prologue: a model initialised on the CPU, say
    common = {"batch_size": cfg["batch_size"], "num_workers": cfg["num_workers"]}
    if cfg["mode"] == "torch":
        loader = DataLoader(train, shuffle=True, **common)
    else:
        sampler = ReplayableRandomSampler(train)
        loader = DataLoader(train, sampler=sampler, **common)
    test_loader = DataLoader(test, batch_size=16)
    if cfg["mode"] != "torch":
        sampler.draws_per_epoch = draws_per_epoch(loader, test_loader)
    reference = torch.get_rng_state().numpy().tobytes().hex()
    records = []
    for epoch in range(cfg["start"], cfg["epochs"]):
        record: dict[str, Any] = {"epoch": epoch}
        if cfg["mode"] != "torch":
            sampler.set_epoch(epoch)
            record["predicted_base_seed"] = loader_base_seed(loader)
        elif epoch == cfg["start"]:
            record["reference"] = reference
        record["batches"] = [[column.tolist() for column in batch] for batch in loader]
        for _ in test_loader:
            pass
        record["global"] = torch.get_rng_state().numpy().tobytes().hex()
        records.append(record)
    return records


if __name__ == "__main__":
    warnings.simplefilter("ignore")
    print(json.dumps(run(json.loads(sys.argv[1]))))
