"""``replay-sampler demo``: the original write-up's scenario, end to end.

1. An uninterrupted run trains a small model with dropout on the CPU (so the
   random stream matters) for 12 epochs on a synthetic dataset of 1806
   samples split [0.8, 0.2], saving a checkpoint after every epoch -- model
   and optimizer only, no RNG state, as the write-up's users did.
2. A fresh process resumes from the checkpoint of epoch 8 at the tenth epoch
   (index 9) with ``ReplayableRandomSampler.set_epoch``; the per-epoch draw
   count is measured with a dry run (``measure_draws``).
3. Another fresh process resumes with the write-up's model of the draws:
   ``randperm(1806)`` then 9 x ``randperm(1444)`` on the global generator.

Ours must match the uninterrupted losses to the last bit (exit status 1 if
not); the write-up's is expected to diverge.
"""

from __future__ import annotations

import copy
import json
import pathlib
import random
import subprocess
import sys
import tempfile
import textwrap
import time
from typing import Any

SEED = 1
SIZE = 1806
FRACTIONS = (0.8, 0.2)
BATCH = 64
EPOCHS = 12
RESUME = 9  # the tenth epoch, numbered from 0


def _seed_everything(seed: int) -> None:
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _setup():
    """The prologue every run executes identically: seeding, data, split, model."""
    import torch
    from torch.utils.data import TensorDataset, random_split

    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    _seed_everything(SEED)
    data_gen = torch.Generator().manual_seed(1234)  # the data draw nothing from the run
    x = torch.randn(SIZE, 8, generator=data_gen)
    w = torch.randn(8, 1, generator=data_gen)
    y = x @ w + 0.3 * torch.randn(SIZE, 1, generator=data_gen)
    train, test = random_split(TensorDataset(x, y), list(FRACTIONS))
    model = torch.nn.Sequential(  # initialised on the CPU generator
        torch.nn.Linear(8, 64), torch.nn.ReLU(), torch.nn.Dropout(0.3), torch.nn.Linear(64, 1)
    )
    optimizer = torch.optim.SGD(model.parameters(), lr=0.02, momentum=0.9)
    return train, test, model, optimizer


def _epoch(model, optimizer, train_loader, test_loader) -> tuple[float, float]:
    import torch
    import torch.nn.functional as F

    model.train()
    total, count = 0.0, 0
    for x, y in train_loader:
        optimizer.zero_grad()
        loss = F.mse_loss(model(x), y)
        loss.backward()
        optimizer.step()
        total += loss.item() * len(x)
        count += len(x)
    model.eval()
    with torch.no_grad():
        test = sum(F.mse_loss(model(x), y, reduction="sum").item() for x, y in test_loader)
    return total / count, test / len(test_loader.dataset)


def _loaders(train, test, sampler=None):
    from torch.utils.data import DataLoader

    if sampler is None:
        train_loader = DataLoader(train, batch_size=BATCH, shuffle=True)
    else:
        train_loader = DataLoader(train, batch_size=BATCH, sampler=sampler)
    return train_loader, DataLoader(test, batch_size=BATCH)


def _load(model, optimizer, folder: pathlib.Path, epoch: int) -> None:
    import torch

    state = torch.load(folder / f"epoch{epoch}.pt", weights_only=True)
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])


def run_original(folder: pathlib.Path) -> list[tuple[float, float]]:
    import torch

    from ._progress import progress

    train, test, model, optimizer = _setup()
    train_loader, test_loader = _loaders(train, test)
    losses = []
    for epoch in progress(range(EPOCHS), EPOCHS, "uninterrupted run, 12 epochs "):
        losses.append(_epoch(model, optimizer, train_loader, test_loader))
        # a checkpoint without any RNG state, as the write-up's users saved them
        torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict()},
                   folder / f"epoch{epoch}.pt")
    return losses


def run_replay(folder: pathlib.Path) -> tuple[list[tuple[float, float]], int]:
    import torch

    from ..runs._states import measure_draws
    from ..samplers._random import ReplayableRandomSampler
    from ._progress import progress

    train, test, model, optimizer = _setup()
    _load(model, optimizer, folder, RESUME - 1)
    sampler = ReplayableRandomSampler(train)
    train_loader, test_loader = _loaders(train, test, sampler)

    def dry_epoch() -> None:  # a throwaway copy: same loaders, same dropout draws
        scratch = copy.deepcopy(model)
        scratch_opt = torch.optim.SGD(scratch.parameters(), lr=0.02, momentum=0.9)
        _epoch(scratch, scratch_opt, *_loaders(train, test))

    sampler.draws_per_epoch = measure_draws(dry_epoch)
    losses = []
    epochs = range(RESUME, EPOCHS)
    for epoch in progress(epochs, len(epochs), "resume with replay_sampler  "):
        sampler.set_epoch(epoch)
        losses.append(_epoch(model, optimizer, train_loader, test_loader))
    return losses, sampler.draws_per_epoch


def run_writeup(folder: pathlib.Path) -> list[tuple[float, float]]:
    import numpy as np
    import torch

    from ._progress import progress

    train, test, model, optimizer = _setup()
    _load(model, optimizer, folder, RESUME - 1)
    # reconstruct_rng_state_for_epoch(target_epoch=10, dataset_size=1806,
    # train_portion=0.8, batch_size=64, seed=1), as the write-up gives it
    _seed_everything(SEED)
    train_size = int(FRACTIONS[0] * SIZE)
    torch.randperm(SIZE).tolist()
    for _ in range(RESUME):
        torch.randperm(train_size).tolist()
    states = (torch.get_rng_state(), np.random.get_state(), random.getstate())
    torch.set_rng_state(states[0])
    np.random.set_state(states[1])
    random.setstate(states[2])
    train_loader, test_loader = _loaders(train, test)
    losses = []
    epochs = range(RESUME, EPOCHS)
    for _epoch_index in progress(epochs, len(epochs), "resume with the write-up's  "):
        losses.append(_epoch(model, optimizer, train_loader, test_loader))
    return losses


def _child(role: str, folder: str) -> None:
    path = pathlib.Path(folder)
    result: dict[str, Any] = {}
    if role == "original":
        losses = run_original(path)
    elif role == "replay":
        losses, result["draws_per_epoch"] = run_replay(path)
    else:
        losses = run_writeup(path)
    result["losses"] = [[a.hex(), b.hex()] for a, b in losses]
    print(json.dumps(result))


def _spawn(role: str, folder: str) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-m", "replay_sampler.cli._demo", role, folder],
        stdout=subprocess.PIPE, text=True,
    )
    if out.returncode != 0:
        raise RuntimeError(f"the {role} run failed (exit {out.returncode})")
    result: dict[str, Any] = json.loads(out.stdout)
    result["losses"] = [(float.fromhex(a), float.fromhex(b)) for a, b in result["losses"]]
    return result


def machine() -> str:
    """The CPU and kernels the losses came from: float32 losses differ between
    CPUs (and ATEN_CPU_CAPABILITY settings), bit-identity does not."""
    import platform

    import torch

    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            names = [line.split(":", 1)[1].strip() for line in fh if line.startswith("model name")]
        model = names[0] if names else model
    except OSError:
        pass
    return (f"{model}, {torch.backends.cpu.get_cpu_capability()} kernels, "
            f"torch {torch.__version__}")


def main() -> int:
    """Run the demo; 0 if the resumed run is bit-identical, 1 if not."""
    start = time.perf_counter()
    print(
        "replay-sampler demo: the original write-up's scenario, end to end\n"
        f"  {SIZE} synthetic samples, random_split {list(FRACTIONS)}, a small MLP with dropout on "
        f"the CPU,\n  batch {BATCH}, {EPOCHS} epochs; the checkpoint after each epoch holds the "
        "model and optimizer only.\n"
        f"  Then two fresh processes resume at the tenth epoch (index {RESUME}) from the epoch-"
        f"{RESUME - 1} checkpoint:\n  one with ReplayableRandomSampler.set_epoch, one with the "
        "write-up's model of the draws.\n",
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="replay-sampler-demo-") as folder:
        original = _spawn("original", folder)["losses"]
        replay = _spawn("replay", folder)
        writeup = _spawn("writeup", folder)["losses"]
    ours = replay["losses"]

    def cell(value: tuple[float, float], ref: tuple[float, float]) -> str:
        same = value[0].hex() == ref[0].hex() and value[1].hex() == ref[1].hex()
        return f"{value[0]:.12f} / {value[1]:.12f} {'identical' if same else 'DIFFERS'}"

    from ..core import split_lengths

    train_size = split_lengths(SIZE, FRACTIONS)[0]
    naive = int(FRACTIONS[0] * SIZE)
    print()
    print(textwrap.fill(
        f"The loop draws {replay['draws_per_epoch']:,} words per epoch from the global generator "
        "(2 + 2 for the shuffled loader's base seed and sampler seed, 2 for the test loader's "
        "base seed, the rest dropout), measured with a dry run. The write-up's model "
        f"counts one randperm({naive}) = {naive - 1:,} draws per epoch -- and random_split "
        f"of {SIZE} by {list(FRACTIONS)} gives {train_size} training samples, not {naive}.",
        width=100,
    ))
    print()
    header = f"{'epoch':>5}  {'uninterrupted train / test loss':<33}  {'resumed with replay_sampler':<43}  resumed with the write-up's model"
    print(header)
    print("-" * len(header))
    for i, epoch in enumerate(range(RESUME, EPOCHS)):
        ref = original[epoch]
        print(f"{epoch:>5}  {ref[0]:.12f} / {ref[1]:.12f}  {cell(ours[i], ref):<43}  {cell(writeup[i], ref)}")
    identical = all(
        a[0].hex() == b[0].hex() and a[1].hex() == b[1].hex() for a, b in zip(ours, original[RESUME:])
    )
    diverged = any(a != b for a, b in zip(writeup, original[RESUME:]))
    print()
    if identical:
        print(f"replay_sampler: epochs {RESUME}-{EPOCHS - 1} are bit-identical to the uninterrupted run.")
    else:
        print("replay_sampler: the resumed run DIFFERS from the uninterrupted one -- this is a bug.")
    print("the write-up's model: " + ("diverges, as expected: its draws are not torch's."
                                      if diverged else "happens to match (unexpected)."))
    print(f"({time.perf_counter() - start:.1f} s; {machine()})")
    return 0 if identical else 1


if __name__ == "__main__":
    _child(sys.argv[1], sys.argv[2])
