"""Every script in examples/ runs, and does what its docstring says, against plain torch.

Each example is run as a user runs it, in fresh processes: interrupted (the
scripts' ``--stop-after`` dies abruptly, as a crash would), resumed from what
is on disk, and compared, line for line, with the uninterrupted run of plain
torch (``--plain``: ``DataLoader(shuffle=True)``; for the old run: the run
itself).  Lines hold batch indices, losses as exact float hex and digests of
the generators' full states at epoch ends.
"""

from __future__ import annotations

import collections
import json
import pathlib
import subprocess
import sys

import pytest
import torch
from torch.utils.data import DistributedSampler

from tests.fresh import ROOT

EXAMPLES = ROOT / "examples"


def script(tmp: pathlib.Path, name: str, *args: str, ok: bool = True, torchrun: int = 0):
    command = [sys.executable, str(EXAMPLES / name), *args]
    if torchrun:
        command[1:1] = ["-m", "torch.distributed.run", "--standalone",
                        f"--nproc_per_node={torchrun}"]
    out = subprocess.run(command, cwd=tmp, capture_output=True, text=True, timeout=600)
    if ok:
        assert out.returncode == 0, out.stderr[-4000:]
    else:
        assert out.returncode != 0
    return out


def lines(path: pathlib.Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_every_example_is_tested():
    tested = {"plain_loop.py", "old_run.py", "torchrun_elastic.py", "lightning_resume.py",
              "cuda_resume.py"}
    assert {p.name for p in EXAMPLES.glob("*.py")} == tested


@pytest.fixture(scope="module")
def plain_loop_reference(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("plain")
    script(tmp, "plain_loop.py", "--plain", "--log", "plain.jsonl")
    return lines(tmp / "plain.jsonl")


# 200 samples in batches of 16: 13 steps an epoch, the last one of 8.
def test_plain_loop_killed_and_resumed_is_the_uninterrupted_run(tmp_path, plain_loop_reference):
    """Killed 2 steps after a checkpoint in the second epoch (2 workers): the rest of it and
    the last epoch, step for step."""
    script(tmp_path, "plain_loop.py", "--log", "a.jsonl", "--stop-after", "17", "--every", "5",
           ok=False)
    assert torch.load(tmp_path / "ckpt.pt", weights_only=True)["step"] == 15
    script(tmp_path, "plain_loop.py", "--log", "b.jsonl", "--every", "5")
    before = lines(tmp_path / "a.jsonl")
    cut = next(i for i, line in enumerate(before) if line.get("step") == 15)
    assert before[:cut + 1] + lines(tmp_path / "b.jsonl") == plain_loop_reference


@pytest.mark.parametrize("workers", [0, 2])
def test_plain_loop_checkpointed_at_an_epochs_last_batch(tmp_path, plain_loop_reference, workers):
    """The checkpoint at epoch 0's last batch, inside the loop: the sampler had already run to
    its end (the short last batch makes BatchSampler exhaust it; workers prefetch), but the loop
    says it was at its 200th sample of epoch 0, so the state keeps epoch 0 with nothing left.
    The resumed loop runs epoch 0's end (its log line, the generator's digest) and then every
    later step as the uninterrupted run -- as torchdata's loader resumes such a checkpoint."""
    common = ("--every", "13", "--workers", str(workers))
    script(tmp_path, "plain_loop.py", "--log", "a.jsonl", "--stop-after", "13", *common, ok=False)
    state = torch.load(tmp_path / "ckpt.pt", weights_only=True)["sampler"]
    assert (state["epoch"], state["phase"], state["position"]) == (0, "iterating", 200)
    script(tmp_path, "plain_loop.py", "--log", "b.jsonl", *common)
    before, after = lines(tmp_path / "a.jsonl"), lines(tmp_path / "b.jsonl")
    assert len(before) == 13 and after[0]["epoch_end"] == 0
    assert before + after == plain_loop_reference


def test_old_run_resumed_from_a_reconstruction_is_the_run(tmp_path):
    script(tmp_path, "old_run.py", "train", "--epochs", "5", "--log", "run.jsonl")
    script(tmp_path, "old_run.py", "resume", "--epoch", "3", "--epochs", "5", "--log", "res.jsonl")
    run = lines(tmp_path / "run.jsonl")
    tail = [line for line in run if line.get("epoch", line.get("epoch_end")) >= 3]
    assert len(tail) < len(run)
    assert lines(tmp_path / "res.jsonl") == tail


@pytest.mark.slow
def test_torchrun_resumed_on_another_world_size_loses_and_repeats_nothing(tmp_path):
    n, every, stop = 240, 4, 10
    script(tmp_path, "torchrun_elastic.py", "--record", "logs", "--stop-after", str(stop),
           "--every", str(every), ok=False, torchrun=2)
    script(tmp_path, "torchrun_elastic.py", "--record", "logs", torchrun=3)
    logs = {r: lines(tmp_path / "logs" / f"rank{r}.jsonl") for r in range(3)}
    saved = stop // every * every
    before = {r: [ln for ln in logs[r] if ln["world"] == 2 and ln["step"] <= saved] for r in (0, 1)}
    after = {r: [ln for ln in logs[r] if ln["world"] == 3] for r in range(3)}

    def indices(entries, epoch=None):
        return [i for ln in entries if epoch is None or ln["epoch"] == epoch for i in ln["indices"]]

    for r in (0, 1):  # before the kill: DistributedSampler's shards on 2 processes
        reference = DistributedSampler(range(n), num_replicas=2, rank=r, seed=1234)
        reference.set_epoch(0)
        got = indices(before[r])
        assert got == list(reference)[:len(got)]
    # epoch 0 over both runs: every sample, and repeated only to pad 3 equal shards
    epoch0 = indices(before[0] + before[1]) + indices([*after[0], *after[1], *after[2]], 0)
    counts = collections.Counter(epoch0)
    assert set(counts) == set(range(n))
    rest = n - len(indices(before[0] + before[1]))
    assert sum(counts.values()) - n == -rest % 3
    for epoch in (1, 2):  # later epochs: DistributedSampler's shards on 3 processes
        for r in range(3):
            reference = DistributedSampler(range(n), num_replicas=3, rank=r, seed=1234)
            reference.set_epoch(epoch)
            assert indices(after[r], epoch) == list(reference)


def test_lightning_resumed_from_a_checkpoint_is_plain_shuffle(tmp_path):
    script(tmp_path, "lightning_resume.py", "--plain", "--epochs", "4", "--log", "plain.jsonl")
    first = script(tmp_path, "lightning_resume.py", "--epochs", "2", "--log", "a.jsonl")
    assert "draws_per_epoch" not in first.stderr  # measured and saved, not advised
    script(tmp_path, "lightning_resume.py", "--epochs", "4", "--resume", "ckpts/epoch=1.ckpt",
           "--log", "b.jsonl")
    resumed = lines(tmp_path / "b.jsonl")
    assert resumed[0]["epoch"] == 2
    assert lines(tmp_path / "a.jsonl") + resumed == lines(tmp_path / "plain.jsonl")


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA: the GPU run's own example")
def test_cuda_run_resumed_from_a_reconstruction_is_the_run(tmp_path):
    script(tmp_path, "cuda_resume.py", "train", "--epochs", "4", "--log", "run.jsonl")
    script(tmp_path, "cuda_resume.py", "resume", "--epoch", "2", "--epochs", "4",
           "--log", "res.jsonl")
    run = lines(tmp_path / "run.jsonl")
    tail = [line for line in run if line.get("epoch", line.get("epoch_end")) >= 2]
    assert len(tail) < len(run)
    assert lines(tmp_path / "res.jsonl") == tail
