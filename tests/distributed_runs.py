"""Distributed training-loop scenarios, each rank a process in a gloo process group.

``python -m tests.distributed_runs CONFIG_JSON`` forks ``world_size`` ranks
(``torch.multiprocessing.start_processes``), which join a gloo group and run
a DDP-style loop in lockstep; it prints a JSON list, one entry per rank, with
per epoch the indices the rank's loop saw, ``len(sampler)`` and the rank's
global generator state after the epoch.

``mode="torch"`` uses torch's ``DistributedSampler``; ``mode="replay"`` uses
``ReplayableDistributedSampler`` (num_replicas and rank from the process
group).  ``save_at=[epoch, batches]`` makes every rank save its
``state_dict`` there (to ``state_file + ".rank<r>"``); ``load=True`` makes
every rank of this fresh run load ``state_file`` and start at its epoch.
``plain_check`` also iterates ``ReplayableRandomSampler`` and torch's
``RandomSampler`` side by side in every rank, with the group initialised.
"""

from __future__ import annotations

import json
import os
import pathlib
import sys
import tempfile
import warnings
from typing import Any

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch.utils.data import DataLoader, RandomSampler
from torch.utils.data.distributed import DistributedSampler

from replay_sampler import ReplayableRandomSampler
from replay_sampler.samplers._distributed import ReplayableDistributedSampler
from tests.sampler_runs import Indices

DEFAULTS: dict[str, Any] = {
    "world_size": 2,
    "size": 50,
    "batch_size": 4,
    "seed": 7,
    "order": "random_sampler",
    "shuffle": True,
    "drop_last": False,
    "num_workers": 0,
    "epochs": 4,
    "mode": "replay",
    "save_at": None,
    "state_file": None,
    "load": False,
    "plain_check": False,
}


def _hex(gen: torch.Generator) -> str:
    return gen.get_state().numpy().tobytes().hex()


def _plain_check(n: int) -> dict[str, Any]:
    """ReplayableRandomSampler next to RandomSampler, global and explicit generator."""
    out: dict[str, Any] = {}
    start = torch.get_rng_state()
    torch_run = [list(RandomSampler(Indices(n))) for _ in range(2)], _hex(torch.default_generator)
    torch.set_rng_state(start)
    ours = ReplayableRandomSampler(Indices(n))
    replay_run = [list(ours) for _ in range(2)], _hex(torch.default_generator)
    out["global"] = [torch_run, replay_run]
    g, h = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    a = [list(RandomSampler(Indices(n), generator=g)) for _ in range(2)], _hex(g)
    b = [list(ReplayableRandomSampler(Indices(n), generator=h)) for _ in range(2)], _hex(h)
    out["explicit"] = [a, b]
    return out


def _rank(rank: int, cfg: dict[str, Any], init_file: str, out_dir: str) -> None:
    warnings.simplefilter("ignore")
    torch.set_num_threads(1)
    world = cfg["world_size"]
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world)
    try:
        torch.manual_seed(100 + rank)  # per-rank global seeds, as many scripts do
        data = Indices(cfg["size"])
        result: dict[str, Any] = {"rank": rank, "world_size": world}
        if cfg["plain_check"]:
            result["plain"] = _plain_check(cfg["size"])
        common = {"shuffle": cfg["shuffle"], "seed": cfg["seed"], "drop_last": cfg["drop_last"]}
        if cfg["mode"] == "torch":
            sampler = DistributedSampler(data, **common)
        else:
            sampler = ReplayableDistributedSampler(data, **common, order=cfg["order"])
        loader = DataLoader(
            data, sampler=sampler, batch_size=cfg["batch_size"], num_workers=cfg["num_workers"]
        )
        start = 0
        if cfg["load"]:
            sampler.load_state_dict(torch.load(cfg["state_file"], weights_only=True))
            start = sampler.epoch
        records = []
        for epoch in range(start, cfg["epochs"]):
            sampler.set_epoch(epoch)
            length = len(sampler)
            seen: list[int] = []
            for b, batch in enumerate(loader):
                seen.extend(batch.tolist())
                torch.rand(3)  # the loop's own draws (dropout, say)
                step = torch.ones(1)
                dist.all_reduce(step)  # lockstep, as DDP's gradient all-reduce
                if cfg["save_at"] == [epoch, b + 1]:
                    consumed = (b + 1) * cfg["batch_size"]
                    torch.save(
                        sampler.state_dict(samples_consumed=consumed),
                        f"{cfg['state_file']}.rank{rank}",
                    )
            records.append(
                {
                    "epoch": epoch,
                    "indices": seen,
                    "len": length,
                    "global": _hex(torch.default_generator),
                }
            )
        result["records"] = records
        pathlib.Path(out_dir, f"rank{rank}.json").write_text(json.dumps(result))
    finally:
        dist.destroy_process_group()


def run(config: dict[str, Any]) -> list[dict[str, Any]]:
    cfg = {**DEFAULTS, **config}
    with tempfile.TemporaryDirectory() as tmp:
        init_file = os.path.join(tmp, "init")
        mp.start_processes(
            _rank, args=(cfg, init_file, tmp), nprocs=cfg["world_size"], start_method="fork"
        )
        return [
            json.loads(pathlib.Path(tmp, f"rank{r}.json").read_text())
            for r in range(cfg["world_size"])
        ]


if __name__ == "__main__":
    warnings.simplefilter("ignore")
    print(json.dumps(run(json.loads(sys.argv[1]))))
