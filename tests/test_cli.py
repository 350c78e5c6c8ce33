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
        (["reconstruct", "--seed", "1", "--epoch", "x"], "argument --epoch: expected a non-negative integer, got 'x'"),
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
    assert out.returncode == 2 and f"not a checkpoint: {path} holds text" in out.stderr
    assert "Traceback" not in out.stderr


def test_console_script_is_installed():
    """The README's install puts a replay-sampler console script next to the interpreter."""
    script = pathlib.Path(sys.executable).parent / "replay-sampler"
    assert script.exists(), "install the package first: pip install -e '.[test]'"
    out = subprocess.run([str(script), "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "usage: replay-sampler" in out.stdout


def _options(parser):
    """Every (command, option) of ``parser`` and its subcommands."""
    import argparse

    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                for _, option in _options(sub):
                    yield name, option
        elif action.option_strings and not isinstance(action, argparse._HelpAction):
            yield "", action


def test_every_option_has_help_text():
    """Walking the argparse parser: every option of every command has help text."""
    from replay_sampler.cli import build_parser

    missing = [(cmd, a.option_strings) for cmd, a in _options(build_parser()) if not a.help]
    assert not missing


def test_version(capsys):
    """--version prints the program and the package version."""
    import replay_sampler
    from replay_sampler.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == f"replay-sampler {replay_sampler.__version__}"


def run_main(argv, capsys):
    """The CLI in-process: (exit status, stdout, stderr)."""
    from replay_sampler.cli import main

    try:
        code = main(argv)
    except SystemExit as exc:
        code = exc.code
    out = capsys.readouterr()
    return code, out.out, out.err


W2 = [*WRITEUP, "--epoch", "2"]


def _bad_files(tmp):
    """Files --check must refuse, each with the line it must print."""
    (tmp / "junk.bin").write_bytes(bytes(range(200, 256)) * 4)
    (tmp / "data.json").write_text('{"epoch": 3}')
    torch.save(torch.zeros(3), tmp / "tensor.pt")
    torch.save({"a": torch.zeros(100)}, tmp / "full.pt")
    (tmp / "cut.pt").write_bytes((tmp / "full.pt").read_bytes()[:300])
    (tmp / "empty.pt").write_bytes(b"")
    return {
        "junk.bin": "not a checkpoint: {} holds bytes that are no torch file",
        "data.json": "not a checkpoint: {} holds JSON",
        "tensor.pt": "{} holds a tensor of shape (3,), not a checkpoint dict",
        "cut.pt": "truncated or corrupt checkpoint: {}",
        "empty.pt": "truncated or corrupt checkpoint: {} (the file is empty)",
        "missing.pt": "--check: no such file: {}",
        ".": "--check {} is a folder; expected a checkpoint file",
    }


BAD_ARGS = [
    (["reconstruct", *W2, "--output", "{tmp}/no/such/folder.pt"], "--output {tmp}/no/such/folder.pt: the folder {tmp}/no/such does not exist"),
    (["reconstruct", *W2, "--output", "{tmp}"], "--output {tmp} is a folder; expected the name of a file"),
    (["reconstruct", "--preset", "writeup", "--seed", "1", "--dataset-size", "-5", "--train-portion", "0.8", "--epoch", "2"],
     "argument --dataset-size: expected an integer >= 1, got -5"),
    (["reconstruct", "--preset", "writeup", "--seed", "1", "--dataset-size", "0", "--train-portion", "0.8", "--epoch", "2"],
     "argument --dataset-size: expected an integer >= 1, got 0"),
    (["reconstruct", "--preset", "writeup", "--seed", "1", "--dataset-size", "1e3", "--train-portion", "0.8", "--epoch", "2"],
     "argument --dataset-size: expected an integer >= 1, got '1e3'"),
    (["reconstruct", "--preset", "writeup", "--seed", "1", "--dataset-size", "10", "--train-portion", "1.5", "--epoch", "2"],
     "argument --train-portion: expected a number strictly between 0 and 1, got 1.5"),
    (["explain", "--seed", "1", "--epoch", "-1"], "argument --epoch: expected a non-negative integer, got -1"),
    (["explain", "--seed", "1", "--epoch", "2", "--first-epoch", "-1"], "argument --first-epoch: expected a non-negative integer"),
    (["explain", "--seed", "1", "--epoch", "2", "--epoch-draws", "-3"], "argument --epoch-draws: expected a non-negative integer, got -3"),
    (["explain", "--seed", "1", "--epoch", "2", "--numpy-epoch-draws", "2.5"], "argument --numpy-epoch-draws: expected a non-negative integer, got '2.5'"),
    (["explain", "--seed", "1", "--epoch", "2", "--random-epoch-draws", "x"], "argument --random-epoch-draws: expected a non-negative integer"),
    (["explain", "--seed", "1", "--epoch", "2", "--prologue-draws", "-1"], "--prologue-draws must be >= 0, got -1"),
    (["explain", "--seed", "1", "--epoch", "2", "--loader", "train=-3"], "--loader train size must be >= 0, got -3"),
    (["explain", "--seed", "1", "--epoch", "2", "--loader", "train=0,shuffle"], "num_samples should be a positive integer value, but got num_samples=0"),
    (["explain", "--seed", "1", "--epoch", "2", "--loader", "train=10,shuffle,samples=0"], "--loader train samples must be >= 1, got 0"),
    (["explain", "--seed", "1", "--epoch", "2", "--split", "100:0.7"], "--split 100:0.7: Split.lengths [0.7] for 100 items: Sum of input lengths"),
    (["explain", "--seed", "1", "--epoch", "2", "--split", "100:60,50"], "--split 100:60,50: Split.lengths [60, 50] for 100 items: Sum of input lengths"),
    (["explain", "--seed", "1", "--epoch", "2", "--split", "100:-0.2,1.2"], "--split 100:-0.2,1.2: Split.lengths [-0.2, 1.2] for 100 items: Fraction at index 0 is not between 0 and 1"),
    (["explain", "--seed", "1", "--epoch", "2", "--split", "100:a,b"], "--split lengths must be comma-separated numbers"),
    (["explain", "--seed", "1", "--epoch", "2", "--torch-version", "banana"], "argument --torch-version: torch_version must look like '2.13' or '1.8.1', got 'banana'"),
    (["explain", "--seed", "1", "--epoch", "2", "--torch-version", "0.4"], "argument --torch-version: torch_version must be 1.0 or later"),
    (["explain", "--seed", "1", "--epoch", "2", "--cuda-epoch-offsets", "3"], "--cuda-epoch-offsets value"),
]


@pytest.mark.parametrize("args, message", BAD_ARGS)
def test_bad_input_in_process_exits_2_with_one_line(args, message, tmp_path, capsys):
    """Every bad input: exit status 2, one line on stderr naming the option, nothing written."""
    tmp = str(tmp_path)
    code, out, err = run_main([a.format(tmp=tmp) for a in args], capsys)
    assert code == 2
    assert err.count("\n") == 1 and "Traceback" not in err
    assert message.format(tmp=tmp) in err
    assert out == ""
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", ["junk.bin", "data.json", "tensor.pt", "cut.pt", "empty.pt", "missing.pt", "."])
def test_check_refuses_what_is_not_a_checkpoint(name, tmp_path, capsys):
    """--check on a file that is no checkpoint prints one line saying what was found."""
    expected = _bad_files(tmp_path)[name]
    path = str(tmp_path / name) if name != "." else str(tmp_path)
    code, _, err = run_main(["reconstruct", *W2, "--check", path], capsys)
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err
    assert expected.format(path) in err, err
    assert "weights_only=False" not in err


def test_unwritable_output_folder(tmp_path, capsys, monkeypatch):
    """--output into a folder that cannot be written: one line, exit 2, no file.  As root,
    whom no mode refuses, os.access is made to answer for the folder as it answers a user
    its mode (0o500) refuses -- the check the CLI makes, so it runs on every machine."""
    import os
    import pathlib

    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        if os.access(folder, os.W_OK):  # root
            real = os.access
            monkeypatch.setattr(os, "access", lambda p, mode, *a, **k: False if (
                pathlib.Path(p) == folder and mode & os.W_OK) else real(p, mode, *a, **k))
        code, _, err = run_main(["reconstruct", *W2, "--output", str(folder / "x.pt")], capsys)
        assert code == 2 and f"the folder {folder} is not writable" in err
        assert not (folder / "x.pt").exists()
    finally:
        folder.chmod(0o700)


def test_bad_output_by_subprocess(tmp_path):
    """The same one line from the installed entry point, as a user sees it."""
    out = cli("reconstruct", *W2, "--output", str(tmp_path / "none" / "x.pt"), check=False)
    assert out.returncode == 2 and out.stderr.count("\n") == 1
    assert "--output" in out.stderr and "does not exist" in out.stderr
