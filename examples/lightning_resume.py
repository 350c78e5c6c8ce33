"""Lightning: ``Trainer.fit(ckpt_path=...)`` resumes with the uninterrupted run's data and randomness.

    python examples/lightning_resume.py --dir ckpts --epochs 2      # trains 2 epochs, a checkpoint each
    python examples/lightning_resume.py --dir ckpts --epochs 4 --resume ckpts/epoch=1.ckpt
    python examples/lightning_resume.py --plain --epochs 4          # the reference: shuffle=True

The checkpoints hold no RNG state.  ``ReplayCallback`` puts the sampler --
and with it torch's generator -- at the epoch the checkpoint resumes, before
Lightning creates its iterator; the resumed epochs get the indices, CPU
dropout masks, the augmentations drawn in the DataLoader workers and the
losses the uninterrupted run (``--plain``: torch's own ``shuffle=True``, no
replay_sampler) got.  The number of draws an epoch takes is measured by the
uninterrupted run and saved in its checkpoints (from the second epoch's on).
``--log FILE`` appends a JSON line per step and per epoch end.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import pathlib
import warnings

import lightning as L
import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from torch.utils.data import DataLoader, Dataset

from replay_sampler import ReplayableRandomSampler
from replay_sampler.integrations.lightning import ReplayCallback


class Noisy(Dataset):
    """Fixed inputs; each item gets noise where it is fetched (in a DataLoader worker)."""

    def __init__(self, n: int) -> None:
        g = torch.Generator().manual_seed(3)
        self.x = torch.randn(n, 4, generator=g)
        self.y = self.x.sum(1, keepdim=True)

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int):
        return self.x[i] + 0.05 * torch.randn(4), self.y[i], i


class Model(L.LightningModule):
    def __init__(self, log) -> None:
        super().__init__()
        self.net = torch.nn.Sequential(torch.nn.Linear(4, 32), torch.nn.ReLU(),
                                       torch.nn.Dropout(0.2), torch.nn.Linear(32, 1))
        self.log_file = log

    def training_step(self, batch, _):
        x, y, index = batch
        loss = torch.nn.functional.mse_loss(self.net(x), y)
        if self.log_file:
            self.log_file.write(json.dumps({"epoch": self.current_epoch, "indices": index.tolist(),
                                            "loss": loss.item().hex()}) + "\n")
        return loss

    def on_train_epoch_end(self) -> None:
        if self.log_file:
            state = hashlib.sha256(torch.get_rng_state().numpy().tobytes()).hexdigest()
            self.log_file.write(json.dumps({"epoch_end": self.current_epoch,
                                            "torch_state": state}) + "\n")
            self.log_file.flush()

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.02)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dir", type=pathlib.Path, default=pathlib.Path("ckpts"))
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--resume", type=pathlib.Path, help="a checkpoint to resume from")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--plain", action="store_true", help="shuffle=True, no replay_sampler")
    parser.add_argument("--log", type=pathlib.Path, help="append a JSON line per step here")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore", module="lightning")  # its advice on workers and logging

    torch.manual_seed(0)  # or L.seed_everything(0)
    data = Noisy(160)
    model = Model(args.log.open("a") if args.log else None)  # initialised from torch's generator
    if args.plain:
        loader = DataLoader(data, batch_size=16, shuffle=True, num_workers=args.workers)
        callbacks: list[L.Callback] = []
    else:
        sampler = ReplayableRandomSampler(data)
        loader = DataLoader(data, batch_size=16, sampler=sampler, num_workers=args.workers)
        callbacks = [ReplayCallback(sampler),  # in the uninterrupted run too
                     ModelCheckpoint(dirpath=args.dir, filename="{epoch}", save_top_k=-1)]
    trainer = L.Trainer(max_epochs=args.epochs, accelerator="cpu", callbacks=callbacks,
                        logger=False, enable_checkpointing=not args.plain,
                        enable_progress_bar=False, enable_model_summary=False)
    trainer.fit(model, loader, ckpt_path=args.resume)


if __name__ == "__main__":
    main()
