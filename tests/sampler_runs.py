"""Training-loop scenarios run by the resume tests, in this process or a fresh one.

``python -m tests.sampler_runs CONFIG_JSON`` runs one scenario and prints a
JSON list with, per epoch, the indices the loop saw and the 5056-byte states
of the global generator and (if any) the explicit one after the epoch.

``mode="torch"`` is the uninterrupted run with plain torch (``RandomSampler``
/ ``DataLoader(shuffle=True)`` / ``random_split``).  ``mode="replay"`` uses
``ReplayableRandomSampler`` and calls ``set_epoch(epoch)`` every epoch,
starting at ``start``; ``mode="resume"`` is a fresh process that loads a
saved ``state_dict`` and carries on mid-epoch.
"""

from __future__ import annotations

import json
import random
import sys
import warnings
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, RandomSampler

from replay_sampler import (
    ReplayableRandomSampler,
    advance,
    draws_per_epoch,
    replayable_random_split,
)

DEFAULTS: dict[str, Any] = {
    "seed": 1,
    "size": 1806,
    "split": [0.8, 0.2],  # None: no split, the whole dataset trains
    "test_loader": True,
    "batch_size": 64,
    "drop_last": False,
    "num_workers": 0,
    "persistent": False,
    "generator": "global",  # or "explicit": DataLoader(shuffle=True, generator=g)
    "replacement": False,
    "num_samples": None,
    "epochs": 12,
    "start": 0,
    "mode": "torch",
    "loop_draws": "none",  # "dropout": CPU dropout per batch; "uneven": a random amount
    "draws_per_epoch": "auto",  # "auto": from the loaders; None: the sampler's default
    "break_after": None,  # batches per epoch before breaking out (epochs cut short)
    "save_at": None,  # [epoch, batches]: mode "replay" saves state_dict there
    "state_file": None,
    "prologue_draws": 0,  # e.g. a model initialised on the CPU
}


class Indices(Dataset):
    """Returns the index itself, so a batch shows which samples it holds."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> int:
        return i


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _state_hex(gen: torch.Generator) -> str:
    return gen.get_state().numpy().tobytes().hex()


def run(config: dict[str, Any]) -> list[dict[str, Any]]:
    cfg = {**DEFAULTS, **config}
    seed_everything(cfg["seed"])
    data = Indices(cfg["size"])
    if cfg["split"] is not None:
        if cfg["mode"] == "torch":
            train, test = torch.utils.data.random_split(data, cfg["split"])
        else:
            train, test = replayable_random_split(data, cfg["split"])
    else:
        train, test = data, Indices(0)
    if cfg["prologue_draws"]:
        torch.rand(cfg["prologue_draws"])  # e.g. weights initialised on the CPU
    gen = torch.Generator().manual_seed(1000 + cfg["seed"]) if cfg["generator"] == "explicit" else None
    model = torch.nn.Sequential(torch.nn.Linear(1, 8), torch.nn.Dropout(0.5))
    workers = {"num_workers": cfg["num_workers"]}
    if cfg["num_workers"]:
        workers["persistent_workers"] = cfg["persistent"]
    bs = cfg["batch_size"]
    common = {"batch_size": bs, "drop_last": cfg["drop_last"]} if bs is not None else {"batch_size": None}
    if cfg["mode"] == "torch":
        if cfg["replacement"] or cfg["num_samples"] is not None:
            sampler = RandomSampler(train, cfg["replacement"], cfg["num_samples"], generator=gen)
            loader = DataLoader(train, sampler=sampler, generator=gen, **common, **workers)
        else:
            loader = DataLoader(train, shuffle=True, generator=gen, **common, **workers)
    else:
        sampler = ReplayableRandomSampler(train, cfg["replacement"], cfg["num_samples"], generator=gen)
        loader = DataLoader(train, sampler=sampler, generator=gen, **common, **workers)
    loaders = [loader]
    if cfg["test_loader"]:
        loaders.append(DataLoader(test, batch_size=64))
    if cfg["mode"] != "torch":
        stride = cfg["draws_per_epoch"]
        if stride == "auto":
            stride = draws_per_epoch(*loaders, generator=gen)
            if cfg["loop_draws"] == "dropout" and cfg.get("dropout_draws"):
                extra = cfg["dropout_draws"]
                stride = stride + extra if isinstance(stride, int) else (stride[0] + extra, stride[1] + extra)
        sampler.draws_per_epoch = tuple(stride) if isinstance(stride, list) else stride
    if cfg["mode"] == "replay" and gen is not None and cfg["start"]:
        # the sampler jumps its own generator; the loop's global draws are ours to skip
        advance(None, cfg["start"] * draws_per_epoch(*loaders))
    if cfg["mode"] == "resume":
        sampler.load_state_dict(torch.load(cfg["state_file"], weights_only=True))

    records = []
    for epoch in range(cfg["start"], cfg["epochs"]):
        if cfg["mode"] != "torch":
            sampler.set_epoch(epoch)
        seen: list[int] = []
        for b, batch in enumerate(loader):
            seen.extend(torch.as_tensor(batch).reshape(-1).tolist())
            if cfg["loop_draws"] == "dropout":
                model(torch.ones(torch.as_tensor(batch).numel(), 1))
            elif cfg["loop_draws"] == "uneven":
                torch.rand(int(torch.randint(1, 40, ()).item()))
            if cfg["save_at"] == [epoch, b + 1] and cfg["mode"] == "replay":
                consumed = (b + 1) * bs
                torch.save(sampler.state_dict(samples_consumed=consumed), cfg["state_file"])
            if cfg["break_after"] is not None and b + 1 >= cfg["break_after"]:
                break
        for other in loaders[1:]:
            for _ in other:
                pass
        records.append(
            {
                "epoch": epoch,
                "indices": seen,
                "global": _state_hex(torch.default_generator),
                "explicit": _state_hex(gen) if gen is not None else None,
            }
        )
    return records


if __name__ == "__main__":
    warnings.simplefilter("ignore")
    print(json.dumps(run(json.loads(sys.argv[1]))))
