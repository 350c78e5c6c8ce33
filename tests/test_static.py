"""The static checks run with the suite, at the versions the test extra pins:
mypy (``--strict`` flags on ``core/``, the facade's types through
``tests/typing/public_names.py``) and ruff, configured in pyproject.toml."""

import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=600)


def test_mypy_is_clean():
    """mypy finds nothing: the core under its strict flags, the rest and the typing test."""
    out = _run("mypy")
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]


def test_ruff_is_clean():
    """ruff finds nothing in the package, the tests, the benchmarks and the examples."""
    out = _run("ruff", "check", "replay_sampler", "tests", "benchmarks", "examples")
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
