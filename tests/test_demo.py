"""The main job's claim, as a test: a resume with set_epoch is bit-identical."""

import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent


def test_demo_resume_is_bit_identical_and_the_writeups_diverges():
    """`replay-sampler demo` exits 0, shows identical losses for ours, diverging ones for the write-up's."""
    out = subprocess.run([sys.executable, "-m", "replay_sampler", "demo"], cwd=ROOT,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "epochs 9-11 are bit-identical to the uninterrupted run" in out.stdout
    assert "diverges, as expected" in out.stdout
    rows = [line for line in out.stdout.splitlines() if line.strip()[:2] in {"9 ", "10", "11"}]
    assert len(rows) == 3
    assert all(row.count("identical") == 1 and row.endswith("DIFFERS") for row in rows)
    readme = (ROOT / "README.md").read_text()
    assert all(row in readme for row in rows), "the README's demo table is out of date"
