"""The README's promises: its example runs, and CI runs its test command."""

import pathlib
import re
import warnings

import torch
from torch.utils.data import DataLoader, random_split

ROOT = pathlib.Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def _blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", README, flags=re.S)


def test_readme_example_runs():
    """The first python block of the README executes without error or warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        exec(compile(_blocks("python")[0], "README.md", "exec"), {})


def test_readme_example_resumes_the_uninterrupted_run():
    """The example's epochs 9-11 are those of the same loop run uninterrupted with shuffle=True."""
    namespace: dict = {}
    code = _blocks("python")[0].replace(
        "train_batches, test_batches = list(loaders[0]), list(loaders[1])",
        "seen.append([b.tolist() for b in loaders[0]]); list(loaders[1])",
    )
    namespace["seen"] = seen = []
    exec(compile(code, "README.md", "exec"), namespace)
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
