"""Running a scenario module in a fresh Python process, as a resumed job would."""

import json
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent


def fresh_run(module: str, config: dict, timeout: int = 900):
    """``python -m module CONFIG_JSON`` from the repository root; its JSON stdout."""
    out = subprocess.run(
        [sys.executable, "-m", module, json.dumps(config)],
        cwd=ROOT, capture_output=True, text=True, timeout=timeout,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout)
