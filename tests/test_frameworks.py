"""Exact inside the real frameworks: Lightning, torchdata's StatefulDataLoader, accelerate.

Every run is a fresh process of ``tests/framework_runs.py``.  The reference
is always plain torch, uninterrupted (``DataLoader(shuffle=True)``,
``DistributedSampler``).  Per epoch the tests compare the batches' indices,
the per-batch losses as exact float bits, the augmentations drawn in the
DataLoader workers, and the global generator's full state at the epoch's end.
The count a resume needs (``draws_per_epoch``) is the one the library
measured in the uninterrupted run, as a user would take it.
"""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys

import pytest
import torch

from tests.fresh import ROOT


def run(tmp: pathlib.Path, name: str, *, torchrun: bool = False, **cfg) -> dict:
    """One scenario in a fresh process (``torchrun``: ``devices`` processes under torchrun)."""
    cfg["out"] = str(tmp / f"{name}.json")
    launch = [sys.executable]
    if torchrun:
        launch += ["-m", "torch.distributed.run", "--standalone",
                   f"--nproc_per_node={cfg['devices']}"]
    out = subprocess.run([*launch, "-m", "tests.framework_runs", json.dumps(cfg)],
                         cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-4000:]
    devices = cfg.get("devices", 1)
    if devices > 1:
        path = pathlib.Path(cfg["out"])
        return {"ranks": [json.loads(path.with_name(f"{path.stem}-rank{r}.json").read_text())
                          for r in range(devices)], "stderr": out.stderr}
    return {**json.loads(pathlib.Path(cfg["out"]).read_text()), "stderr": out.stderr}


def measured(record: dict) -> int:
    """The one count the uninterrupted run measured (every checked epoch the same)."""
    counts = set(record["measured"].values())
    assert len(counts) == 1, record["measured"]
    return counts.pop()


def assert_tail(resumed: dict, plain: dict, *, partial: str | None = None, fields=None) -> None:
    """Every epoch of ``resumed`` equals plain's; ``partial``: that epoch is the tail of plain's."""
    assert resumed["epochs"], "the resumed run trained no epoch"
    for epoch, got in resumed["epochs"].items():
        want = plain["epochs"][epoch]
        skip = len(want["batches"]) - len(got["batches"]) if epoch == partial else 0
        assert skip >= 0
        for field in fields or ("batches", "losses", "augs"):
            assert got[field] == want[field][skip:], f"epoch {epoch}: {field} differ"
        assert got["end_state"] == want["end_state"], f"epoch {epoch}: generator state differs"


def _checkpoints(folder: pathlib.Path) -> list[pathlib.Path]:
    return sorted(folder.iterdir(), key=lambda p: int(p.stem.split("step=")[1]))


# -- Lightning ----------------------------------------------------------------------------
@pytest.mark.parametrize("workers", [0, 2])
def test_lightning_resumes_from_an_end_of_epoch_checkpoint(tmp_path, workers):
    """Trainer.fit(ckpt_path=...) with ReplayCallback: CPU dropout, worker augmentations, every bit."""
    base = {"scenario": "lightning", "seed": 3, "workers": workers, "aug": True, "epochs": 4,
            "stride": None, "ckpt_dir": str(tmp_path / "ck")}
    plain = run(tmp_path, "plain", mode="plain", **base)
    ours = run(tmp_path, "ours", mode="ours", **base)
    assert ours["epochs"] == plain["epochs"]  # the uninterrupted run is plain torch's
    # the default count is wrong for this loop; the callback measured the right one and
    # saved it in the checkpoints instead of advising it
    assert "sampler.draws_per_epoch = " not in ours["stderr"]
    start = _checkpoints(tmp_path / "ck")[1]  # after epoch 1
    saved = torch.load(start, weights_only=True)["callbacks"]["ReplayCallback"]
    assert saved == {"draws_per_epoch": measured(ours)}
    resumed = run(tmp_path, "resumed", mode="resume", **{**base, "resume_from": str(start)})
    assert list(resumed["epochs"]) == ["2", "3"]
    assert_tail(resumed, plain)


@pytest.mark.parametrize("workers", [0, 2])
def test_lightning_resumes_mid_epoch_with_a_stateful_loader(tmp_path, workers):
    """ModelCheckpoint(every_n_train_steps=) with the StatefulDataLoader route: the rest of the
    epoch and the epochs after it, exactly -- and from the epoch's last step, nothing left, then on."""
    # with workers, the workers' own random streams restart at a mid-epoch resume: no aug there
    base = {"scenario": "lightning", "seed": 3, "workers": workers, "aug": workers == 0,
            "epochs": 4, "stride": None, "ckpt_dir": str(tmp_path / "ck"), "stateful": True,
            "every_steps": 4}
    plain = run(tmp_path, "plain", mode="plain", **base)
    ours = run(tmp_path, "ours", mode="ours", **base)
    assert ours["epochs"] == plain["epochs"]
    checkpoints = {p.stem: p for p in _checkpoints(tmp_path / "ck")}
    stride = measured(ours)
    mid = run(tmp_path, "mid", mode="resume",
              **{**base, "stride": stride, "resume_from": str(checkpoints["epoch=1-step=8"])})
    assert list(mid["epochs"]) == ["1", "2", "3"] and len(mid["epochs"]["1"]["batches"]) == 4
    assert_tail(mid, plain, partial="1")
    last = run(tmp_path, "last", mode="resume",
               **{**base, "stride": stride, "resume_from": str(checkpoints["epoch=1-step=12"])})
    # Lightning 2.6 counts epoch 1 as done and its epoch 2 takes what the loader has left of
    # epoch 1: nothing (with torchdata's own sampler too). Epoch 3 then has epoch 3's order,
    # augmentations and generator state (its losses differ: the model missed epoch 2).
    assert list(last["epochs"]) == ["2", "3"] and last["epochs"]["2"]["batches"] == []
    got, want = last["epochs"]["3"], plain["epochs"]["3"]
    assert (got["batches"], got["augs"], got["end_state"]) == (
        want["batches"], want["augs"], want["end_state"])


@pytest.mark.slow
def test_lightning_ddp_resumes_on_every_rank_and_on_another_world_size(tmp_path):
    """strategy="ddp" (gloo, CPU) with ReplayableDistributedSampler and use_distributed_sampler=False:
    exact on both ranks with 2 processes; with 3, each rank's shards are those of a 3-process run."""
    base = {"scenario": "lightning", "seed": 3, "workers": 0, "aug": True, "epochs": 4,
            "stride": 0, "ckpt_dir": str(tmp_path / "ck"), "devices": 2}
    plain = run(tmp_path, "plain", mode="plain", **base)
    ours = run(tmp_path, "ours", mode="ours", **base)
    assert [r["epochs"] for r in ours["ranks"]] == [r["epochs"] for r in plain["ranks"]]
    stride = measured(ours["ranks"][0])
    assert stride == measured(ours["ranks"][1])
    start = _checkpoints(tmp_path / "ck")[1]
    resumed = run(tmp_path, "resumed", mode="resume",
                  **{**base, "stride": stride, "resume_from": str(start)})
    for got, want in zip(resumed["ranks"], plain["ranks"]):
        assert_tail(got, want)
    plain3 = run(tmp_path, "plain3", mode="plain", **{**base, "devices": 3})
    resumed3 = run(tmp_path, "resumed3", mode="resume",
                   **{**base, "devices": 3, "stride": stride, "resume_from": str(start)})
    for got, want in zip(resumed3["ranks"], plain3["ranks"]):
        for epoch, record in got["epochs"].items():
            assert record["batches"] == want["epochs"][epoch]["batches"]


# -- torchdata ---------------------------------------------------------------------------
@pytest.mark.parametrize("workers", [0, 2])
def test_torchdata_stateful_dataloader_resumes_mid_epoch_with_dropout(tmp_path, workers):
    """Finding 3: torchdata asks the sampler for its state when it prefetches, not when the
    loop checkpoints.  replay_sampler.integrations.torchdata.StatefulDataLoader(shuffle=True):
    plain torch's order, and a mid-epoch resume whose dropout masks continue as they were."""
    base = {"scenario": "torchdata", "seed": 4, "workers": workers, "aug": workers == 0,
            "epochs": 3, "state_file": str(tmp_path / "state.pt")}
    plain = run(tmp_path, "plain", mode="plain", **base)
    ours = run(tmp_path, "ours", mode="ours", save_at=[1, 2], **base)
    assert ours["epochs"] == plain["epochs"]
    resumed = run(tmp_path, "resumed", mode="resume", first=1, **base)
    assert_tail(resumed, plain, partial="1")


# -- accelerate ---------------------------------------------------------------------------
@pytest.mark.parametrize("workers", [0, 2])
def test_accelerate_resumes_with_set_epoch_on_the_prepared_loader(tmp_path, workers):
    """accelerator.prepare(loader) keeps our sampler; prepared_loader.set_epoch(start) resumes exactly."""
    base = {"scenario": "accelerate", "seed": 3, "workers": workers, "aug": True, "epochs": 4,
            "stride": None, "state_file": str(tmp_path / "net.pt"), "save_before": 2}
    plain = run(tmp_path, "plain", mode="plain", **base)
    ours = run(tmp_path, "ours", mode="ours", **base)
    assert ours["epochs"] == plain["epochs"]
    resumed = run(tmp_path, "resumed", mode="resume", start=2,
                  **{**base, "stride": measured(ours)})
    assert_tail(resumed, plain)


def test_accelerate_undoing_a_direct_set_epoch_warns(tmp_path):
    """sampler.set_epoch(3) before iterating a prepared loader, which calls set_epoch(0): a warning."""
    base = {"scenario": "accelerate", "seed": 3, "workers": 0, "aug": False, "epochs": 1,
            "stride": 100, "state_file": str(tmp_path / "net.pt"), "save_before": 9}
    ours = run(tmp_path, "ours", mode="ours", direct_set_epoch=3, **base)
    assert "set_epoch(0) right after set_epoch(3)" in ours["stderr"]
    assert "prepared_loader.set_epoch(3)" in ours["stderr"]


@pytest.mark.slow
def test_accelerate_on_two_processes_resumes_the_generator_prepare_gives_the_sampler(tmp_path):
    """torchrun, 2 CPU processes (gloo): prepare() gives the sampler a generator of its own (as
    it gives RandomSampler one) and shards its batches; the sampler moves to that generator's
    timeline, so prepared_loader.set_epoch(start) plus the global timeline's set_epoch resume
    every rank exactly."""
    base = {"scenario": "accelerate", "seed": 3, "workers": 0, "aug": True, "epochs": 4,
            "stride": None, "state_file": str(tmp_path / "net.pt"), "save_before": 2,
            "devices": 2}
    plain = run(tmp_path, "plain", mode="plain", torchrun=True, **base)
    ours = run(tmp_path, "ours", mode="ours", torchrun=True, **base)
    assert [r["epochs"] for r in ours["ranks"]] == [r["epochs"] for r in plain["ranks"]]
    assert all(r["own_generator"] for r in ours["ranks"])
    stride = measured(ours["ranks"][0])  # the sampler's generator: its permutations only
    (global_stride,) = ours["ranks"][0]["global_measured"]
    resumed = run(tmp_path, "resumed", mode="resume", start=2, torchrun=True,
                  **{**base, "stride": stride, "global_stride": global_stride})
    for got, want in zip(resumed["ranks"], plain["ranks"]):
        assert_tail(got, want)

