"""advance(n) beside linear stepping and numpy's C jumped(), all in one process.

    python benchmarks/bench_advance.py [--quick]

Prints a table and writes ``benchmarks/results/advance.json``.  The grid:

* n from 10**3 to 2**128: short counts where stepping wins, the measured
  crossover, the sampler's range (epoch x dataset size, up to ~2**41), and
  the 2**64 / 2**128 ends the targets speak of;
* methods: ours (``MT19937State.advance``), numpy stepping
  (``random_raw(n, output=False)``), torch drawing (``torch.rand(n)``, one
  draw per float32), and numpy's C ``MT19937.jumped()`` (a fixed 2**128
  jump -- the reference for what a jump costs in C).  Linear methods are
  measured up to a cap and extrapolated from their per-draw rate beyond it
  (marked ``~``).

It also times the two paths of ``jump_blocks`` against each other to find
the block count where jumping starts to pay, next to the ``JUMP_MIN_BLOCKS``
the library uses.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
from _common import fmt_time, table, timeit, write_json

from replay_sampler.core import MT19937State, _engine, _gf2

FULL_COUNTS = [10**3, 10**4, 10**5, 3 * 10**5, 10**6, 10**7, 10**8, 2**32, 2**40, 2**48,
               2**56, 2**64 - 1, 2**128]
QUICK_COUNTS = [10**3, 10**5, 10**6, 2**40, 2**64 - 1]
CROSSOVER_BLOCKS = [64, 128, 256, 384, 512, 640, 768, 1024, 2048]


def run(quick: bool = False) -> dict:
    rng = np.random.default_rng(20261125)
    key = rng.integers(0, 2**32, 624, dtype=np.uint32)
    state = MT19937State(key, 624)
    counts = QUICK_COUNTS if quick else FULL_COUNTS
    linear_cap = 10**6 if quick else 10**8
    torch_cap = 10**6 if quick else 10**7
    budget = 0.05 if quick else 0.3

    bitgen = np.random.MT19937(1)
    jumped = timeit(bitgen.jumped, min_time=budget, max_repeats=100)

    def numpy_stepping(n):
        bg = np.random.MT19937(1)
        return lambda: bg.random_raw(n, output=False)

    try:
        import torch
    except ImportError:  # pragma: no cover
        torch = None

    rows = []
    linear_rate = torch_rate = None
    for n in counts:
        ours = timeit(lambda n=n: state.advance(n), min_time=budget, max_repeats=60)
        row = {"n": n, "ours": ours["best"], "ours_median": ours["median"]}
        if n <= linear_cap:
            lin = timeit(numpy_stepping(n), min_time=budget, max_repeats=30)["best"]
            linear_rate = lin / n
            row["numpy_stepping"], row["numpy_stepping_extrapolated"] = lin, False
        else:
            row["numpy_stepping"], row["numpy_stepping_extrapolated"] = linear_rate * n, True
        if torch is not None:
            if n <= torch_cap:
                gen = torch.Generator().manual_seed(1)
                t = timeit(lambda n=n, gen=gen: torch.rand(n, generator=gen), min_time=budget, max_repeats=30)
                torch_rate = t["best"] / n
                row["torch_drawing"], row["torch_drawing_extrapolated"] = t["best"], False
            else:
                row["torch_drawing"], row["torch_drawing_extrapolated"] = torch_rate * n, True
        row["vs_jumped"] = row["ours"] / jumped["best"]
        row["vs_stepping"] = row["ours"] / row["numpy_stepping"]
        rows.append(row)

    crossover = []
    for blocks in ([256, 512, 1024] if quick else CROSSOVER_BLOCKS):
        step = timeit(lambda blocks=blocks: _engine.regenerate(key, blocks), min_time=budget)["best"]
        jump = timeit(
            lambda blocks=blocks: _engine._evaluate(_gf2.x_power_mod_p(624 * blocks - 1), key),
            min_time=budget,
        )["best"]
        crossover.append({"blocks": blocks, "stepping": step, "jump": jump})
    measured = next((c["blocks"] for c in crossover if c["jump"] < c["stepping"]), None)

    targets = {
        "max_ratio_n_le_2_40": max(r["vs_jumped"] for r in rows if r["n"] <= 2**40),
        "max_ratio_n_lt_2_64": max(r["vs_jumped"] for r in rows if r["n"] < 2**64),
        "max_ratio_vs_stepping": max(r["vs_stepping"] for r in rows if not r["numpy_stepping_extrapolated"]),
    }
    return {
        "quick": quick,
        "numpy_jumped": jumped["best"],
        "rows": rows,
        "crossover": crossover,
        "crossover_blocks_measured": measured,
        "jump_min_blocks_used": _engine.JUMP_MIN_BLOCKS,
        "targets": targets,
    }


def report(result: dict) -> str:
    def n_label(n):
        if n & (n - 1) == 0 and n >= 2**20:
            return f"2**{n.bit_length() - 1}"
        if (n + 1) & n == 0 and n >= 2**20:
            return f"2**{n.bit_length()}-1"
        return f"{n:,}"

    def lin(row, key):
        if key not in row:
            return "-"
        return ("~" if row[f"{key}_extrapolated"] else "") + fmt_time(row[key])

    rows = [
        [n_label(r["n"]), fmt_time(r["ours"]), lin(r, "numpy_stepping"), lin(r, "torch_drawing"),
         f"{r['vs_jumped']:.2f}x", f"{r['vs_stepping']:.3g}x"]
        for r in result["rows"]
    ]
    out = [
        f"numpy MT19937.jumped() (C, fixed 2**128 jump): {fmt_time(result['numpy_jumped'])}",
        "",
        table(["draws", "advance", "numpy stepping", "torch drawing", "vs jumped()", "vs stepping"], rows),
        "",
        "jump_blocks paths (stepping in C vs polynomial jump):",
        table(["blocks", "stepping", "jump"],
              [[str(c["blocks"]), fmt_time(c["stepping"]), fmt_time(c["jump"])] for c in result["crossover"]]),
        f"crossover measured at {result['crossover_blocks_measured']} blocks; "
        f"the library switches at JUMP_MIN_BLOCKS = {result['jump_min_blocks_used']}",
        "",
        "targets: advance / jumped() <= 2x for n <= 2**40: "
        f"{result['targets']['max_ratio_n_le_2_40']:.2f}x; <= 4x for n < 2**64: "
        f"{result['targets']['max_ratio_n_lt_2_64']:.2f}x; worst advance / stepping where "
        f"stepping was measured: {result['targets']['max_ratio_vs_stepping']:.2f}x",
    ]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Benchmark replay_sampler's advance().")
    parser.add_argument("--quick", action="store_true", help="a small grid, a few seconds")
    args = parser.parse_args(argv)
    result = run(args.quick)
    print(report(result))
    path = write_json("advance-quick" if args.quick else "advance", result)
    print(f"\nwrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
