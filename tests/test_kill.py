"""Checkpoints that survive SIGKILL: a loop killed at seeded random moments, many
of them inside a save, resumes from what is on disk with no sample lost or repeated."""

import json
import pathlib
import random
import signal
import subprocess
import sys
import time

import torch
from torch.utils.data import DataLoader, RandomSampler

from replay_sampler import CorruptStateError, load_checkpoint
from tests import kill_runs

ROOT = pathlib.Path(__file__).resolve().parent.parent
PAD = 2_000_000  # 8 MB of ballast: a save takes a good part of every step


def reference():
    """What torch's own RandomSampler hands out over the loop's epochs, uninterrupted."""
    gen = torch.Generator().manual_seed(kill_runs.SEED)
    data = range(kill_runs.N)
    loader = DataLoader(data, sampler=RandomSampler(data, generator=gen),
                        batch_size=kill_runs.BATCH, generator=gen)
    return [i for _ in range(kill_runs.EPOCHS) for batch in loader for i in batch.tolist()]


def start(ckpt, mode):
    return subprocess.Popen([sys.executable, "-m", "tests.kill_runs", str(ckpt), mode, str(PAD)],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_killed_loop_resumes_exactly_from_atomic_checkpoints(tmp_path):
    """Killed 4 times at seeded moments, resumed each time from disk: the samples are torch's, once each."""
    rng = random.Random(11)
    ckpt = tmp_path / "ckpt.pt"
    kills = 0
    while True:
        proc = start(ckpt, "atomic")
        if kills < 4:
            if kills % 2 == 0:  # inside a save: once its temporary file appears
                deadline = time.monotonic() + 30
                while not list(tmp_path.glob(".ckpt.pt.*.tmp")) and time.monotonic() < deadline:
                    if proc.poll() is not None:
                        break
                    time.sleep(0.0005)
                time.sleep(rng.uniform(0, 0.005))
            else:  # anywhere past the imports
                time.sleep(rng.uniform(2.0, 3.5))
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                proc.communicate()
                kills += 1
                assert [p.name for p in tmp_path.iterdir() if not p.name.startswith(".")] in ([], ["ckpt.pt"])
                for leftover in tmp_path.glob(".ckpt.pt.*.tmp"):  # a cut save; cleared so the next wait sees a new one
                    leftover.unlink()
                continue
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err[-3000:]
        break
    assert json.loads(out) == reference()


def test_plain_torch_save_killed_mid_write_is_refused_clearly(tmp_path):
    """A plain torch.save killed in the middle: the file is whole or refused as truncated, by name."""
    rng = random.Random(5)
    ckpt = tmp_path / "ckpt.pt"
    outcomes = set()
    for _ in range(3):
        if ckpt.exists():
            ckpt.unlink()
        proc = start(ckpt, "plain")
        time.sleep(rng.uniform(2.0, 3.0))
        proc.send_signal(signal.SIGKILL)
        proc.communicate()
        if not ckpt.exists():
            continue
        try:
            load_checkpoint(ckpt)
            outcomes.add("whole")
        except CorruptStateError as exc:
            assert f"truncated or corrupt checkpoint: {ckpt}" in str(exc)
            outcomes.add("refused")
    assert outcomes <= {"whole", "refused"}
