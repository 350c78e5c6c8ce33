"""Timing, table and JSON helpers shared by the benchmarks."""

from __future__ import annotations

import json
import os
import pathlib
import platform
import statistics
import sys
import time
from typing import Any, Callable

RESULTS = pathlib.Path(__file__).resolve().parent / "results"


def timeit(fn: Callable[[], Any], *, min_time: float = 0.2, max_repeats: int = 50,
           min_repeats: int = 3, setup: Callable[[], Any] | None = None) -> dict[str, float]:
    """Best and median wall time of ``fn`` over repeats (setup untimed)."""
    times: list[float] = []
    total = 0.0
    while len(times) < max_repeats and (len(times) < min_repeats or total < min_time):
        if setup is not None:
            setup()
        start = time.perf_counter()
        fn()
        elapsed = time.perf_counter() - start
        times.append(elapsed)
        total += elapsed
    return {"best": min(times), "median": statistics.median(times), "repeats": len(times)}


def machine() -> dict[str, Any]:
    import numpy

    info = {
        "python": sys.version.split()[0],
        "numpy": numpy.__version__,
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
    }
    try:
        import torch

        info["torch"] = torch.__version__
        info["torch_threads"] = torch.get_num_threads()
    except ImportError:  # pragma: no cover
        pass
    return info


def write_json(name: str, payload: dict[str, Any]) -> pathlib.Path:
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    payload = {"machine": machine(), "written": time.strftime("%Y-%m-%d %H:%M:%S"), **payload}
    path.write_text(json.dumps(payload, indent=2) + "\n")
    return path


def fmt_time(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} us"
    if seconds < 1:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds:.2f} s"


def table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    line = "  ".join(h.rjust(w) for h, w in zip(headers, widths))
    out = [line, "  ".join("-" * w for w in widths)]
    out += ["  ".join(c.rjust(w) for c, w in zip(r, widths)) for r in rows]
    return "\n".join(out)
