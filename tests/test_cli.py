"""The command line, run as users run it: in a subprocess."""

import pathlib
import subprocess
import sys

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, random_split

from replay_sampler import States
from replay_sampler.core import MT19937State
from tests.sampler_runs import Indices, seed_everything

ROOT = pathlib.Path(__file__).resolve().parent.parent
WRITEUP = ["--preset", "writeup", "--seed", "1", "--dataset-size", "1806", "--train-portion", "0.8"]


def cli(*args, check=True):
    out = subprocess.run([sys.executable, "-m", "replay_sampler", *args], cwd=ROOT,
                         capture_output=True, text=True, timeout=600)
    if check:
        assert out.returncode == 0, out.stderr
    return out


@pytest.mark.parametrize("command", [[], ["demo"], ["reconstruct"], ["explain"], ["bench"]])
def test_every_command_has_help(command):
    """--help works on the program and on every command."""
    out = cli(*command, "--help")
    assert "usage: replay-sampler" in out.stdout


@pytest.mark.parametrize(
    "args, message",
    [
        (["reconstruct", "--epoch", "3"], "the following arguments are required: --seed"),
        (["reconstruct", "--seed", "1", "--epoch", "x"], "invalid int value: 'x'"),
        (["reconstruct", "--seed", "1", "--epoch", "2", "--loader", "train=12,wobble"], "unknown option 'wobble'"),
        (["reconstruct", "--seed", "1", "--epoch", "2", "--split", "1806"], "--split must look like SIZE:LENGTHS"),
        (["explain", "--seed", "-4", "--epoch", "2"], "np.random.seed takes a seed in"),
        (["explain", "--seed", "1", "--epoch", "2", "--first-epoch", "3"], "epoch must be >= first_epoch=3"),
        (["explain", "--preset", "writeup", "--seed", "1", "--epoch", "2"], "needs --dataset-size and --train-portion"),
        (["reconstruct", *WRITEUP, "--epoch", "2", "--check", "/nonexistent.pt"], "no such file"),
        (["nonsense"], "invalid choice: 'nonsense'"),
    ],
)
def test_bad_arguments_exit_2_without_a_traceback(args, message):
    """Bad arguments print one line naming the problem and exit with status 2."""
    out = cli(*args, check=False)
    assert out.returncode == 2
    assert message in out.stderr
    assert "Traceback" not in out.stderr


def writeup_run_states(epochs):
    """The write-up's loop on the installed torch: states at each epoch start."""
    seed_everything(1)
    train, test = random_split(Indices(1806), [0.8, 0.2])
    loaders = [DataLoader(train, batch_size=64, shuffle=True), DataLoader(test, batch_size=64)]
    starts = []
    for _ in range(epochs + 1):
        starts.append((torch.get_rng_state(), np.random.get_state()))
        for loader in loaders:
            list(loader)
    return starts


def test_reconstruct_writes_a_file_that_restores_the_run(tmp_path):
    """The written file loads with weights_only=True and restores the states of a real run."""
    path = tmp_path / "epoch9.pt"
    out = cli("reconstruct", *WRITEUP, "--epoch", "9", "--output", str(path))
    assert "1,805" in out.stdout and "not reconstructed" in out.stdout
    data = torch.load(path, weights_only=True)
    assert set(data) >= {"torch_rng_state", "numpy_rng_state", "python_rng_state"}
    starts = writeup_run_states(9)
    assert torch.equal(data["torch_rng_state"], starts[9][0])
    torch.manual_seed(123)
    States.load(path).apply()
    assert torch.equal(torch.get_rng_state(), starts[9][0])
    assert MT19937State.from_numpy_legacy(np.random.get_state()) == MT19937State.from_numpy_legacy(starts[9][1])


def test_explain_prints_the_plan():
    """explain shows the prologue, each epoch's draws and the total at the start of the epoch."""
    out = cli("explain", *WRITEUP, "--epoch", "9")
    assert "random_split: randperm(1806)" in out.stdout
    assert "every epoch" in out.stdout and "total" in out.stdout
    assert "1,859 torch draws after manual_seed(1)" in out.stdout


def test_check_against_a_checkpoint_that_saved_state(tmp_path):
    """--check agrees with a checkpoint holding the real state, and flags a wrong description."""
    starts = writeup_run_states(4)
    good = tmp_path / "good.pt"
    torch.save({"model": {}, "torch_rng_state": starts[4][0]}, good)
    ok = cli("reconstruct", *WRITEUP, "--epoch", "4", "--check", str(good))
    assert "agrees" in ok.stdout
    bad = cli("reconstruct", *WRITEUP, "--epoch", "4", "--check", str(good), "--epoch-draws", "10",
              check=False)
    assert bad.returncode == 1
    assert "CONTRADICTS" in bad.stdout and "too many" in bad.stdout


def test_corrupt_checkpoints_give_a_clear_error(tmp_path):
    """A file torch cannot read safely is refused with exit status 2 and no traceback."""
    path = tmp_path / "junk.pt"
    path.write_bytes(b"not a checkpoint")
    out = cli("reconstruct", *WRITEUP, "--epoch", "4", "--check", str(path), check=False)
    assert out.returncode == 2 and "not a checkpoint torch can read safely" in out.stderr
    assert "Traceback" not in out.stderr


def test_console_script_is_installed():
    """The README's install puts a replay-sampler console script next to the interpreter."""
    script = pathlib.Path(sys.executable).parent / "replay-sampler"
    assert script.exists(), "install the package first: pip install -e '.[test]'"
    out = subprocess.run([str(script), "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "usage: replay-sampler" in out.stdout
