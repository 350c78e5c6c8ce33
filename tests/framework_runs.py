"""Training runs inside the real frameworks, for tests/test_frameworks.py.

``python -m tests.framework_runs CONFIG_JSON`` runs one scenario in this
fresh process and writes its record, as JSON, to ``config["out"]`` (the
frameworks print to stdout).  A record holds, per epoch, the indices of every
batch, the per-batch losses as exact float hex, the augmentation values drawn
in the DataLoader workers, and a digest of the global generator's 5056-byte
state at the epoch's end.

``mode``: ``"plain"`` is the reference -- plain torch (``DataLoader(shuffle=True)``
or ``DistributedSampler``), uninterrupted, no replay_sampler anywhere;
``"ours"`` is the same run with the library in place; ``"resume"`` is a fresh
process that resumes ``"ours"`` from a saved checkpoint.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import pathlib
import sys
import warnings
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset

N, BATCH, HIDDEN = 48, 8, 16


def _digest(tensor: torch.Tensor) -> str:
    return hashlib.sha256(tensor.numpy().tobytes()).hexdigest()


class Data(Dataset):
    """A fixed regression set; ``aug``: each item adds noise drawn where it is
    fetched (in a DataLoader worker: from the worker's seeded generator)."""

    def __init__(self, n: int = N, aug: bool = True) -> None:
        g = torch.Generator().manual_seed(99)  # the data draw nothing from the run
        self.x = torch.randn(n, 4, generator=g)
        self.y = self.x.sum(1, keepdim=True)
        self.aug = aug

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int):
        a = torch.rand(()) if self.aug else torch.zeros(())
        return self.x[i] + 0.1 * a, self.y[i], i, a


def _net() -> torch.nn.Module:
    return torch.nn.Sequential(torch.nn.Linear(4, HIDDEN), torch.nn.ReLU(),
                               torch.nn.Dropout(0.3), torch.nn.Linear(HIDDEN, 1))


class Record:
    def __init__(self) -> None:
        self.epochs: dict[int, dict[str, Any]] = {}

    def batch(self, epoch: int, loss: torch.Tensor, idx: torch.Tensor, aug: torch.Tensor) -> None:
        e = self.epochs.setdefault(epoch, {"batches": [], "losses": [], "augs": []})
        e["batches"].append(idx.tolist())
        e["losses"].append(float(loss).hex())
        e["augs"].append([float(a).hex() for a in aug])

    def end(self, epoch: int) -> None:
        self.epochs.setdefault(epoch, {"batches": [], "losses": [], "augs": []})
        self.epochs[epoch]["end_state"] = _digest(torch.get_rng_state())

    def dump(self) -> dict[str, Any]:
        return {str(k): v for k, v in sorted(self.epochs.items())}


# -- Lightning ---------------------------------------------------------------------------
def lightning(cfg: dict[str, Any]) -> dict[str, Any]:
    import lightning as L
    from lightning.pytorch.callbacks import ModelCheckpoint

    from replay_sampler import ReplayableDistributedSampler, ReplayableRandomSampler
    from replay_sampler.integrations.lightning import ReplayCallback
    from replay_sampler.integrations.torchdata import StatefulDataLoader

    warnings.filterwarnings("ignore", module="lightning")
    torch.set_num_threads(1)
    record = Record()
    mode, workers, ddp = cfg["mode"], cfg["workers"], cfg.get("devices", 1) > 1
    holder: dict[str, Any] = {}

    class Module(L.LightningModule):
        def __init__(self) -> None:
            super().__init__()
            self.net = _net()

        def training_step(self, batch, _):
            x, y, idx, aug = batch
            loss = torch.nn.functional.mse_loss(self.net(x), y)
            record.batch(self.current_epoch, loss.detach(), idx, aug)
            return loss

        def validation_step(self, batch, _):
            x, y, _, _ = batch
            return torch.nn.functional.mse_loss(self.net(x), y)

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.05)

        def train_dataloader(self):
            data = Data(aug=cfg["aug"])
            kw = {"batch_size": BATCH, "num_workers": workers}
            if ddp:
                order = "distributed_sampler"
                sampler = (torch.utils.data.DistributedSampler(data, seed=5) if mode == "plain"
                           else ReplayableDistributedSampler(data, seed=5, order=order))
                return DataLoader(data, sampler=sampler, **kw)
            if mode == "plain":
                return DataLoader(data, shuffle=True, **kw)
            if cfg.get("peer"):  # torchdata's own stateful sampler, for how the peer behaves
                import torchdata.stateful_dataloader as td
                return td.StatefulDataLoader(data, shuffle=True, **kw)
            sampler = holder["sampler"]
            if cfg.get("stateful"):
                return StatefulDataLoader(data, sampler=sampler, **kw)
            return DataLoader(data, sampler=sampler, **kw)

        def val_dataloader(self):
            return DataLoader(Data(16, aug=False), batch_size=BATCH)

    class Ends(L.Callback):
        def on_train_epoch_end(self, trainer, pl_module):
            record.end(trainer.current_epoch)

    torch.manual_seed(cfg["seed"])  # seed_everything's torch part: the run's seed
    module = Module()  # built on the CPU generator: the prologue
    callbacks: list[Any] = [Ends()]
    if mode != "plain":
        if ddp:  # no replayable sampler on the global generator: its timeline alone
            callbacks.append(ReplayCallback(draws_per_epoch=cfg["stride"]))
        elif cfg.get("peer"):
            pass
        else:  # made before the Trainer, as the README shows, and handed to the callback
            holder["sampler"] = ReplayableRandomSampler(Data(aug=cfg["aug"]),
                                                        draws_per_epoch=cfg["stride"])
            callbacks.append(ReplayCallback(holder["sampler"]))
        checkpoint = {"every_n_train_steps": cfg["every_steps"]} if cfg.get("every_steps") else {
            "every_n_epochs": 1}
        callbacks.append(ModelCheckpoint(dirpath=cfg["ckpt_dir"], save_top_k=-1,
                                         filename="{epoch}-{step}", **checkpoint))
    trainer = L.Trainer(
        max_epochs=cfg["epochs"], accelerator="cpu", devices=cfg.get("devices", 1),
        strategy="ddp" if ddp else "auto", use_distributed_sampler=not ddp or mode == "plain",
        logger=False, enable_progress_bar=False, enable_model_summary=False,
        enable_checkpointing=mode != "plain", callbacks=callbacks,
    )
    trainer.fit(module, ckpt_path=cfg.get("resume_from"))
    out = {"epochs": record.dump(), "rank": trainer.global_rank}
    sampler = holder.get("sampler")
    if sampler is not None:
        out["measured"] = {str(k): v for k, v in sampler.measured_draws_per_epoch.items()}
    elif mode != "plain":
        from replay_sampler import timeline
        out["measured"] = {str(k): v for k, v in timeline().measured.items()}
    return out


# -- torchdata ---------------------------------------------------------------------------
def torchdata_loop(cfg: dict[str, Any]) -> dict[str, Any]:
    """A plain loop over a StatefulDataLoader, checkpointing its state mid-run."""
    import torchdata.stateful_dataloader as td

    from replay_sampler import ReplayableRandomSampler
    from replay_sampler.integrations import torchdata as ours

    torch.manual_seed(cfg["seed"])
    data = Data(aug=cfg["aug"])
    net = _net()
    opt = torch.optim.SGD(net.parameters(), lr=0.05)
    kw: dict[str, Any] = {"batch_size": cfg.get("batch_size", BATCH), "num_workers": cfg["workers"],
                          "persistent_workers": cfg.get("persistent", False)}
    if cfg["mode"] == "plain":
        loader: Any = DataLoader(data, shuffle=True, **kw)
    elif cfg.get("loader") == "torchdata":  # torchdata's own class with our sampler
        loader = td.StatefulDataLoader(data, sampler=ReplayableRandomSampler(data), **kw)
    else:
        loader = ours.StatefulDataLoader(data, shuffle=True, **kw)
    if cfg["mode"] == "resume":
        state = torch.load(cfg["state_file"], weights_only=True)
        net.load_state_dict(state["net"])
        opt.load_state_dict(state["opt"])
        loader.load_state_dict(state["loader"])
    record = Record()
    first = cfg.get("first", 0)
    for epoch in range(first, cfg["epochs"]):
        for b, (x, y, idx, aug) in enumerate(loader):
            if x.dim() == 1:  # batch_size=None: one sample
                x, y, idx, aug = x[None], y[None], torch.as_tensor(idx)[None], aug[None]
            loss = torch.nn.functional.mse_loss(net(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            record.batch(epoch, loss.detach(), idx, aug)
            if cfg["mode"] == "ours" and [epoch, b] == cfg.get("save_at"):
                torch.save({"net": net.state_dict(), "opt": opt.state_dict(),
                            "loader": loader.state_dict()}, cfg["state_file"])
        record.end(epoch)
        if cfg["mode"] == "ours" and [epoch, "end"] == cfg.get("save_at"):
            torch.save({"net": net.state_dict(), "opt": opt.state_dict(),
                        "loader": loader.state_dict()}, cfg["state_file"])
    return {"epochs": record.dump()}


# -- accelerate --------------------------------------------------------------------------
def accelerate_loop(cfg: dict[str, Any]) -> dict[str, Any]:
    """accelerate's prepare(), a plain loop; "resume" sets the epoch on the prepared loader.

    Under torchrun (``devices`` > 1) prepare() gives the sampler a generator of its own,
    seeded from the global one; the resume then also moves the global generator's timeline
    (``global_stride``: its draws per epoch, measured by "ours" from epoch start to start).
    """
    from accelerate import Accelerator

    from replay_sampler import ReplayableRandomSampler, draws_between, timeline

    torch.manual_seed(cfg["seed"])
    accelerator = Accelerator(cpu=True)
    data = Data(aug=cfg["aug"])
    net = _net()
    opt = torch.optim.SGD(net.parameters(), lr=0.05)
    if cfg["mode"] == "plain":
        loader = DataLoader(data, shuffle=True, batch_size=BATCH, num_workers=cfg["workers"])
    else:
        sampler = ReplayableRandomSampler(data, draws_per_epoch=cfg["stride"])
        if cfg.get("direct_set_epoch") is not None:  # the mistake: the sampler, not the loader
            sampler.set_epoch(cfg["direct_set_epoch"])
        loader = DataLoader(data, sampler=sampler, batch_size=BATCH, num_workers=cfg["workers"])
    start = cfg.get("start", 0)
    if cfg["mode"] == "resume":
        net.load_state_dict(torch.load(cfg["state_file"], weights_only=True))
    net, opt, loader = accelerator.prepare(net, opt, loader)
    several = accelerator.num_processes > 1
    if cfg["mode"] == "plain":
        replay = None
    else:  # accelerate shards batches on several processes (BatchSamplerShard)
        batches = loader.batch_sampler
        replay = (batches.batch_sampler if several else batches).sampler
    if cfg["mode"] == "resume":
        if several:  # the global generator (base seeds, dropout) is not the sampler's now
            timeline().draws_per_epoch = cfg["global_stride"]
            timeline().set_epoch(start)
        loader.set_epoch(start)  # the documented call: through the prepared loader
    record = Record()
    starts = []
    for epoch in range(start, cfg["epochs"]):
        starts.append(torch.get_rng_state())
        if cfg["mode"] == "ours" and epoch == cfg["save_before"]:
            torch.save(copy.deepcopy(accelerator.unwrap_model(net).state_dict()), cfg["state_file"])
        for x, y, idx, aug in loader:
            loss = torch.nn.functional.mse_loss(net(x), y)
            opt.zero_grad()
            accelerator.backward(loss)
            opt.step()
            record.batch(epoch, loss.detach(), idx, aug)
        record.end(epoch)
    out: dict[str, Any] = {"epochs": record.dump(), "rank": accelerator.process_index}
    if replay is not None:
        out["measured"] = {str(k): v for k, v in replay.measured_draws_per_epoch.items()}
        out["own_generator"] = replay.generator is not None
        out["global_measured"] = sorted({draws_between(a, b, 10**6)
                                         for a, b in itertools.pairwise(starts)})
    # A gloo group left to the interpreter's exit can abort it ("terminate called without an
    # active exception", both ranks, after their results are written): end it, as accelerate asks.
    accelerator.wait_for_everyone()
    accelerator.end_training()
    return out


SCENARIOS = {"lightning": lightning, "torchdata": torchdata_loop, "accelerate": accelerate_loop}


def main() -> None:
    cfg = json.loads(sys.argv[1])
    out = SCENARIOS[cfg["scenario"]](cfg)
    rank = out.get("rank", 0)
    path = pathlib.Path(cfg["out"])
    if cfg.get("devices", 1) > 1:
        path = path.with_name(f"{path.stem}-rank{rank}{path.suffix}")
    path.write_text(json.dumps(out))


if __name__ == "__main__":
    main()
