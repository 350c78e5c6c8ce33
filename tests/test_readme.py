"""The README's promises: its example runs, and CI runs its test command."""

import pathlib
import re
import textwrap
import warnings

import pytest
import torch
from torch.utils.data import DataLoader, random_split

from replay_sampler import timeline

ROOT = pathlib.Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def _blocks(lang: str) -> list[str]:
    return [textwrap.dedent(b) for b in re.findall(rf"```{lang}\n(.*?)```", README, flags=re.S)]


_NAMESPACES: list[dict] = []


def _run(code: str, name: str, namespace: dict | None = None) -> dict:
    """Execute a README block in ``namespace``; the fixture below clears it after the test."""
    namespace = {} if namespace is None else namespace
    _NAMESPACES.append(namespace)
    exec(compile(code, name, "exec"), namespace)
    return namespace


@pytest.fixture(autouse=True)
def _clear_namespaces():
    """A block's functions hold its namespace and the namespace holds them: a cycle that
    would keep the block's samplers on their generator's timeline until the garbage
    collector runs, making later tests' "fresh" runs depend on its timing."""
    yield
    while _NAMESPACES:
        _NAMESPACES.pop().clear()


def test_readme_example_runs():
    """The first python block of the README executes without error or warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _run(_blocks("python")[0], "README.md")


def test_readme_example_resumes_the_uninterrupted_run():
    """The example's epochs 9-11 are those of the same loop run uninterrupted with shuffle=True."""
    namespace: dict = {}
    code = _blocks("python")[0].replace(
        "train_batches, test_batches = list(loaders[0]), list(loaders[1])",
        "seen.append([b.tolist() for b in loaders[0]]); list(loaders[1])",
    )
    namespace["seen"] = seen = []
    _run(code, "README.md", namespace)
    torch.manual_seed(1)
    train, test = random_split(range(1806), [0.8, 0.2])
    loaders = DataLoader(train, batch_size=64, shuffle=True), DataLoader(test, batch_size=64)
    full = []
    for _ in range(12):
        full.append([b.tolist() for b in loaders[0]])
        list(loaders[1])
    assert seen == full[9:]


def test_ci_runs_the_readme_test_command():
    """.ci/run's first command after `cd` is the README's test command, verbatim."""
    commands = [line for line in _blocks("bash")[0].splitlines() if line and not line.startswith("#")]
    install_and_test = commands[1]
    ci_lines = [line for line in (ROOT / ".ci" / "run").read_text().splitlines()
                if line.strip() and not line.startswith("#")]
    setup = ["set -euo pipefail", 'cd "$(dirname "$0")/.."', "rm -rf .venv"]
    assert ci_lines[:3] == setup
    assert ci_lines[3] == install_and_test
    assert "pip install torch==2.13.0" in install_and_test  # the CPU build, pinned


def test_readme_main_job_command_installs_first():
    """The main-job line installs torch (pinned CPU build) and the package before running."""
    commands = [line for line in _blocks("bash")[0].splitlines() if line and not line.startswith("#")]
    assert commands[0].startswith("python3 -m venv .venv") and "pip install torch==2.13.0" in commands[0]


FRAGMENT = re.compile(r"# a fragment of (examples/\S+\.py)\n")


def test_every_python_block_runs_or_is_a_fragment_of_a_tested_example():
    """A block runs as written (warnings are errors), or says which script in examples/
    it is taken from -- and every line of it is a line of that script
    (tests/test_examples.py runs the scripts)."""
    blocks = _blocks("python")
    fragments = 0
    for i, block in enumerate(blocks):
        marker = FRAGMENT.match(block)
        if marker is None:
            timeline().reset()  # each block is a run of its own, as in a fresh process
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                _run(block, f"README.md python block {i}")
            continue
        fragments += 1
        source = {line.strip() for line in (ROOT / marker.group(1)).read_text().splitlines()}
        for line in block[marker.end():].splitlines():
            if line.strip():
                assert line.strip() in source, f"block {i}: {line.strip()!r} not in {marker.group(1)}"
    assert fragments >= 3 and len(blocks) > fragments


def test_the_shuffle_true_route_gives_the_uninterrupted_epoch():
    """The README's two-line route for a shuffle=True script lands on epoch 7 of plain torch."""
    block = next(b for b in _blocks("python") if "timeline().set_epoch(7)" in b)
    namespace: dict = {}
    timeline().reset()
    _run(block, "README.md", namespace)
    torch.manual_seed(0)
    loader = DataLoader(range(1000), batch_size=10, shuffle=True)
    for _ in range(7):
        list(loader)
    assert namespace["order"] == [batch.tolist() for batch in loader]


def test_the_readme_reconstruct_command_gives_the_demo_runs_states(tmp_path, monkeypatch):
    """`replay-sampler reconstruct` with the README's numbers writes the states the demo's
    uninterrupted run (plain shuffle=True loaders) had when its epoch 9 began."""
    import random
    import shlex

    import numpy as np

    from replay_sampler import load_checkpoint
    from replay_sampler.cli import _demo, main

    block = next(b for b in _blocks("bash") if "replay-sampler reconstruct --preset" in b)
    commands = [shlex.split(c) for c in block.replace("\\\n", " ").splitlines() if c.strip()]
    assert [c[:2] for c in commands] == [["replay-sampler", "reconstruct"],
                                         ["replay-sampler", "explain"]]
    monkeypatch.chdir(tmp_path)
    for command in commands:
        assert main(command[1:]) == 0
    saved = load_checkpoint(tmp_path / "epoch9_rng.pt")

    train, test, model, optimizer = _demo._setup()
    loaders = _demo._loaders(train, test)
    for _ in range(9):
        _demo._epoch(model, optimizer, *loaders)
    assert torch.equal(saved["torch_rng_state"], torch.get_rng_state())
    state = np.random.get_state()
    assert saved["numpy_rng_state"][0] == state[0]
    assert np.array_equal(saved["numpy_rng_state"][1], state[1])
    assert tuple(saved["numpy_rng_state"][2:]) == state[2:]
    assert saved["python_rng_state"] == random.getstate()
