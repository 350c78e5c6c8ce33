"""Timing, table and JSON helpers shared by the benchmarks."""

from __future__ import annotations

import json
import os
import pathlib
import platform
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

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


# -- shared by bench_epochs / bench_sampler / run_all / render_readme ----------

def fmt_ratio(ratio: float | None) -> str:
    """``12.3x``-style ratio, compact at both ends of the scale."""
    if ratio is None:
        return "-"
    if ratio >= 1e5:
        return f"{ratio:.1e}x"
    if ratio >= 100:
        return f"{ratio:,.0f}x"
    return f"{ratio:.3g}x"


def fmt_count(n: int) -> str:
    """``10**8``-style for exact powers of ten above 10**5, ``1,281,167`` otherwise."""
    if n >= 10**6 and str(n).rstrip("0") == "1":
        return f"10**{len(str(n)) - 1}"
    return f"{n:,}"


class Progress:
    """One text line per finished step: ``[k/total] label  (elapsed, ~left)``.

    ``total`` may be an estimate of the work in arbitrary units (``step``'s
    ``weight``), so the time left is a rough guide, not a promise.
    """

    def __init__(self, title: str, total: float, *, stream=None, enabled: bool = True) -> None:
        self.title, self.total, self.done = title, max(float(total), 1e-9), 0.0
        self.stream = stream if stream is not None else sys.stdout
        self.enabled = enabled
        self.start = time.perf_counter()

    def step(self, label: str, weight: float = 1.0) -> None:
        self.done += weight
        if not self.enabled:
            return
        elapsed = time.perf_counter() - self.start
        frac = min(self.done / self.total, 1.0)
        left = elapsed * (1 - frac) / frac if frac > 0 else float("nan")
        print(f"  [{self.title} {frac:4.0%}] {label}  ({elapsed:.0f} s elapsed, "
              f"~{left:.0f} s left)", file=self.stream, flush=True)


def timeit_interleaved(fns: dict[str, Callable[[], Any]], *, repeats: int,
                       setups: dict[str, Callable[[], Any]] | None = None,
                       min_time: float = 0.0) -> dict[str, dict[str, float]]:
    """Best and median of several functions timed round-robin (A, B, C, A, B, C, ...).

    Interleaving spreads slow drifts of the machine (other processes, CPU
    frequency) over every contender alike, which matters when the expected
    difference is a few percent.  Each round runs every function once after
    its (untimed) setup; rounds continue until ``repeats`` rounds are done and
    the slowest contender has spent ``min_time`` in total.
    """
    setups = setups or {}
    times: dict[str, list[float]] = {name: [] for name in fns}
    while True:
        for name, fn in fns.items():
            if name in setups:
                setups[name]()
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
        rounds = len(next(iter(times.values())))
        if rounds >= repeats and min(sum(t) for t in times.values()) >= min_time:
            break
    return {
        name: {"best": min(t), "median": statistics.median(t), "repeats": len(t)}
        for name, t in times.items()
    }


def read_json(name: str) -> dict[str, Any] | None:
    """``results/<name>.json``, or ``results/<name>-quick.json`` if only that exists."""
    for candidate in (name, f"{name}-quick"):
        path = RESULTS / f"{candidate}.json"
        if path.is_file():
            return json.loads(path.read_text())
    return None
