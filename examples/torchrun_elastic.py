"""Distributed training under torchrun that resumes mid-epoch, also on another number of processes.

    torchrun --standalone --nproc_per_node=2 examples/torchrun_elastic.py --checkpoint ckpt.pt
    torchrun --standalone --nproc_per_node=3 examples/torchrun_elastic.py --checkpoint ckpt.pt

The first command trains on 2 processes (CPU, gloo) and checkpoints every few
steps; interrupted (``--stop-after STEPS`` makes every rank die there, for a
test), the second resumes it on 3: the rest of the interrupted epoch is
exactly the samples the 2 processes had not used yet -- none lost, none
repeated -- spread over 3 ranks, and every later epoch is sharded as
``DistributedSampler(num_replicas=3, seed=1234)`` shards it.  Under
``torchrun --nnodes=1:4 --max-restarts=3 ...`` (elastic) a restarted worker
group runs the same resume.  ``--record DIR`` writes each rank's indices, one
JSON line per step, to ``DIR/rank<r>.jsonl``.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, Dataset

from replay_sampler import ReplayableDistributedSampler, load_checkpoint, save_checkpoint


class Regression(Dataset):
    def __init__(self, n: int) -> None:
        g = torch.Generator().manual_seed(5)
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
    parser.add_argument("--every", type=int, default=4, help="checkpoint every N steps")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--record", type=pathlib.Path, help="a folder for each rank's JSON lines")
    parser.add_argument("--stop-after", type=int, help="every rank dies after this many steps")
    args = parser.parse_args(argv)

    dist.init_process_group("gloo")  # torchrun sets RANK, WORLD_SIZE, MASTER_ADDR, ...
    rank = dist.get_rank()
    torch.manual_seed(0)  # the same model on every rank
    data = Regression(240)
    model = DistributedDataParallel(torch.nn.Sequential(
        torch.nn.Linear(4, 16), torch.nn.ReLU(), torch.nn.Linear(16, 1)))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.02)
    sampler = ReplayableDistributedSampler(data, seed=1234, order="distributed_sampler")
    loader = DataLoader(data, sampler=sampler, batch_size=args.batch_size, num_workers=2)

    step = 0
    if args.checkpoint.exists():  # every rank reads the same file
        checkpoint = load_checkpoint(args.checkpoint)
        model.module.load_state_dict(checkpoint["model"])
        optimizer.load_state_dict(checkpoint["optimizer"])
        sampler.load_state_dict(checkpoint["sampler"])  # any world size
        step = checkpoint["step"]

    log = None
    if args.record:
        args.record.mkdir(parents=True, exist_ok=True)
        log = (args.record / f"rank{rank}.jsonl").open("a")
    for epoch in range(sampler.epoch, args.epochs):  # the saved epoch, if unfinished
        sampler.set_epoch(epoch)
        consumed = 0  # this rank's samples of this iteration, used by the loop
        for x, y, index in loader:
            loss = torch.nn.functional.mse_loss(model(x), y)
            optimizer.zero_grad()
            loss.backward()  # DDP averages the gradients: the ranks stay in lockstep
            optimizer.step()
            step, consumed = step + 1, consumed + len(index)
            if log:
                log.write(json.dumps({"step": step, "epoch": epoch, "world": dist.get_world_size(),
                                      "indices": index.tolist()}) + "\n")
                log.flush()
            if step % args.every == 0 and rank == 0:  # every rank's state is the same
                save_checkpoint({"model": model.module.state_dict(),
                                 "optimizer": optimizer.state_dict(),
                                 "sampler": sampler.state_dict(samples_consumed=consumed),
                                 "step": step}, args.checkpoint)
            if step == args.stop_after:
                dist.barrier()  # rank 0's checkpoint is on disk before anyone dies
                os._exit(3)
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
