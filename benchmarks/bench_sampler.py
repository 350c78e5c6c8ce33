"""ReplayableRandomSampler's own speed targets (issue 3): jump cost, throughput, memory.

    python benchmarks/bench_sampler.py [--quick]

Prints a table and writes ``benchmarks/results/sampler.json``
(``sampler-quick.json`` with ``--quick``).  Three parts:

* **set_epoch growth** -- ``set_epoch(e)`` plus the first index on a fresh
  sampler, for e from 1 to 10**6, as a ratio to its cost at e=1 (target:
  within 2x).  Sizes: 1806 (the write-up's dataset: the permutation is
  cheap, so the jump's own cost shows), 100,000 (in between) and 1,281,167
  (ImageNet: the permutation dominates).  Both generator kinds, because the
  jump distance is 4 draws per epoch on the global generator and 2n on an
  explicit one.  The e values are timed round-robin, best of the rounds.
* **throughput** -- draining whole epochs against torch's ``RandomSampler``
  (target: within 5%), plain and with ``set_epoch(k)`` called at the top of
  every epoch as Lightning does, each epoch preceded by the DataLoader's
  base-seed draw (2 words) so the sampler sees the stream a real loop makes.
  Consumed two ways: index by index (the harshest case: nothing but the
  sampler is timed) and in batches of 64 through ``BatchSampler`` (what a
  DataLoader does).  Contenders are interleaved round by round, best of the
  rounds; small datasets run many epochs per timing.
* **memory** -- peak memory of one epoch against ``RandomSampler`` (target: no
  more): the Python heap by ``tracemalloc`` (lists and ints; tensors are not
  traced) and, in full mode, the peak resident set of a fresh process
  (Linux ``VmHWM`` after resetting it, everything), both as growth over the
  state before the epoch.  ``ours, resumed`` jumps with ``set_epoch(1000)`` first.
"""

from __future__ import annotations

import argparse
import collections
import math
import os
import pathlib
import subprocess
import sys
import time
import tracemalloc

import torch
from _common import (
    Progress,
    fmt_count,
    fmt_ratio,
    fmt_time,
    table,
    timeit_interleaved,
    write_json,
)
from torch.utils.data import BatchSampler, RandomSampler

from replay_sampler import ReplayableRandomSampler

SEED = 1
BATCH = 64
GENERATORS = ["global", "explicit"]

GROWTH_EPOCHS = {"full": [1, 10, 100, 10**3, 10**4, 10**5, 10**6], "quick": [1, 100, 10**4, 10**6]}
GROWTH_SIZES = {"full": [1806, 100_000, 1_281_167], "quick": [1806, 1_281_167]}
THROUGHPUT_SIZES = {"full": [1806, 100_000, 1_281_167], "quick": [1806, 1_281_167]}
#: sizes drained with replacement too (randint chunks of 32: the per-chunk cost shows)
REPLACEMENT_SIZES = {"full": [1806, 1_281_167], "quick": [1806]}
TRACEMALLOC_SIZES = {"full": [1_281_167], "quick": [100_000]}
RSS_SIZES = {"full": [1_281_167, 10**7], "quick": []}
#: indices drained per throughput timing (small datasets: many epochs)
THROUGHPUT_INDICES = {"full": 1_000_000, "quick": 150_000}
GROWTH_TARGET, THROUGHPUT_TARGET = 2.0, 1.05
#: size of the warm-up epoch before a memory measurement (big enough that
#: set_epoch(1000) takes the polynomial jump, not stepping)
WARM_N = 10_000


def _generator(kind: str) -> torch.Generator:
    torch.manual_seed(SEED)
    return torch.default_generator if kind == "global" else torch.Generator().manual_seed(SEED)


def _base_seed(gen: torch.Generator) -> None:
    """The 2 draws a new DataLoader iterator takes for its base seed."""
    torch.empty((), dtype=torch.int64).random_(generator=gen)


def _sampler(cls, n: int, kind: str, gen: torch.Generator, replacement: bool = False):
    return cls(range(n), replacement=replacement, generator=None if kind == "global" else gen)


# -- set_epoch(e) + first index, as a ratio to e=1 -------------------------------


def _jump_contender(n: int, kind: str, epoch: int, first: bool, held: dict):
    """(setup, fn): a fresh sampler; set_epoch(epoch), then the first index if ``first``."""

    def setup():
        # one sampler alive at a time: a sampler keeps the rest of a cut-short
        # epoch's permutation, and a dozen held at once would make later runs
        # pay for fresh heap pages
        held.clear()
        gen = _generator(kind)
        held["sampler"] = _sampler(ReplayableRandomSampler, n, kind, gen)

    def fn():
        sampler = held["sampler"]
        sampler.set_epoch(epoch)
        if first:
            next(iter(sampler))

    return setup, fn


def growth(mode: str, bar: Progress) -> list[dict]:
    rows = []
    for n in GROWTH_SIZES[mode]:
        # rounds: enough for a stable best-of where a run is short, few where it is ~0.1 s
        rounds = 20 if n < 10**5 else 10 if n < 10**6 else 5
        rounds = rounds if mode == "full" else max(2, rounds // 2)
        for kind in GENERATORS:
            held: dict = {}
            fns, setups = {}, {}
            for e in GROWTH_EPOCHS[mode]:
                for part in ("first", "state"):
                    key = f"{part}:{e}"
                    setups[key], fns[key] = _jump_contender(n, kind, e, part == "first", held)
            timed = timeit_interleaved(fns, setups=setups, repeats=rounds)
            base = timed["first:1"]["best"]
            for e in GROWTH_EPOCHS[mode]:
                first = timed[f"first:{e}"]
                rows.append(
                    {
                        "n": n,
                        "generator": kind,
                        "epoch": e,
                        "first_index": first["best"],
                        "first_index_median": first["median"],
                        "set_epoch_only": timed[f"state:{e}"]["best"],
                        "ratio_to_e1": first["best"] / base,
                        "rounds": first["repeats"],
                    }
                )
            worst = max(r["ratio_to_e1"] for r in rows[-len(GROWTH_EPOCHS[mode]) :])
            bar.step(f"set_epoch growth n={fmt_count(n)} {kind}: worst {fmt_ratio(worst)} of e=1")
    return rows


# -- throughput against RandomSampler -------------------------------------------

#: contender -> (sampler class, call set_epoch at the top of every epoch)
_THROUGHPUT_CONTENDERS = {
    "torch": (RandomSampler, False),
    "ours": (ReplayableRandomSampler, False),
    "ours_set_epoch": (ReplayableRandomSampler, True),
}


def _drain_contender(name: str, n: int, kind: str, consume: str, epochs: int, held: dict,
                     replacement: bool = False):
    """(setup, fn): a fresh sampler; ``epochs`` epochs drained as a loop would draw them."""
    cls, set_epoch = _THROUGHPUT_CONTENDERS[name]

    def setup():
        held.clear()
        gen = _generator(kind)
        held["gen"], held["sampler"] = gen, _sampler(cls, n, kind, gen, replacement)

    def fn():
        gen, sampler = held["gen"], held["sampler"]
        source = BatchSampler(sampler, BATCH, False) if consume == "batches" else sampler
        for k in range(epochs):
            if set_epoch:
                sampler.set_epoch(k)
            _base_seed(gen)
            collections.deque(source, maxlen=0)

    return setup, fn


def throughput(mode: str, bar: Progress) -> list[dict]:
    rows = []
    grid = [(n, False) for n in THROUGHPUT_SIZES[mode]]
    grid += [(n, True) for n in REPLACEMENT_SIZES[mode]]
    for n, replacement in grid:
        epochs = max(1, math.ceil(THROUGHPUT_INDICES[mode] / n))
        rounds = 11 if mode == "full" else 3
        for kind in GENERATORS:
            for consume in ("indices", "batches"):
                held: dict = {}
                fns, setups = {}, {}
                for name in _THROUGHPUT_CONTENDERS:
                    setups[name], fns[name] = _drain_contender(name, n, kind, consume, epochs,
                                                               held, replacement)
                timed = timeit_interleaved(fns, setups=setups, repeats=rounds)
                base = timed["torch"]["best"]
                row = {
                    "n": n,
                    "replacement": replacement,
                    "generator": kind,
                    "consume": consume,
                    "epochs_per_timing": epochs,
                    "rounds": rounds,
                }
                for name, t in timed.items():
                    row[name] = t["best"]
                    row[f"{name}_median"] = t["median"]
                    row[f"{name}_per_index"] = t["best"] / (epochs * n)
                    if name != "torch":
                        row[f"{name}_ratio"] = t["best"] / base
                rows.append(row)
                bar.step(
                    f"throughput n={fmt_count(n)}{' replacement' if replacement else ''} {kind} "
                    f"{consume}: ours {fmt_ratio(row['ours_ratio'])}, "
                    f"with set_epoch {fmt_ratio(row['ours_set_epoch_ratio'])} of RandomSampler"
                )
    return rows


# -- peak memory ----------------------------------------------------------------

_VARIANTS = {
    "torch": (RandomSampler, None),
    "ours": (ReplayableRandomSampler, None),
    "ours_resumed": (ReplayableRandomSampler, 1000),
}


def _one_epoch(variant: str, n: int, kind: str):
    """(prepare, run) for one epoch of ``variant``; prepare is untimed and unmeasured."""
    held = {}

    def prepare():
        cls, _ = _VARIANTS[variant]
        gen = _generator(kind)
        held["gen"], held["sampler"] = gen, _sampler(cls, n, kind, gen)

    def run():
        sampler, gen = held["sampler"], held["gen"]
        jump = _VARIANTS[variant][1]
        if jump is not None:
            sampler.set_epoch(jump)
        _base_seed(gen)
        collections.deque(sampler, maxlen=0)

    return prepare, run


def traced_peak(variant: str, n: int, kind: str) -> int:
    prepare, run = _one_epoch(variant, n, kind)
    # a first epoch (and jump) on a smaller sampler loads lazily imported
    # modules and tables, which are one-off costs of the library, not of an epoch
    warm_prepare, warm_run = _one_epoch(variant, WARM_N, kind)
    warm_prepare()
    warm_run()
    prepare()
    tracemalloc.start()
    try:
        run()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


_CHILD = """
import sys
sys.path.insert(0, {bench!r})
import bench_sampler
variant, n, kind = sys.argv[1], int(sys.argv[2]), sys.argv[3]
warm_prepare, warm_run = bench_sampler._one_epoch(variant, bench_sampler.WARM_N, kind)
warm_prepare(); warm_run()
prepare, run = bench_sampler._one_epoch(variant, n, kind)
prepare()
before = bench_sampler._reset_peak_rss()
run()
print(before, bench_sampler._peak_rss())
"""


def _proc_status(field: str) -> int:
    """A ``/proc/self/status`` field in bytes (Linux)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise KeyError(field)


def _reset_peak_rss() -> int:
    """Reset the process's peak RSS to its current RSS (Linux >= 4.0) and return it.

    Without the reset, the peak already holds whatever importing torch
    touched, and an epoch smaller than that would show no growth at all.
    """
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")
    return _proc_status("VmRSS")


def _peak_rss() -> int:
    return _proc_status("VmHWM")


def rss_peak(variant: str, n: int, kind: str) -> dict:
    """Current RSS before one epoch and peak RSS during it, in a fresh process (bytes)."""
    here = pathlib.Path(__file__).resolve().parent
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(here.parent), env.get("PYTHONPATH")]))
    out = subprocess.run(
        [sys.executable, "-c", _CHILD.format(bench=str(here)), variant, str(n), kind],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    ).stdout.split()
    before, after = int(out[-2]), int(out[-1])
    return {"before": before, "peak": after, "growth": after - before}


def rss_supported() -> bool:
    try:
        _reset_peak_rss()
        _peak_rss()
        return True
    except (OSError, KeyError):
        return False


def memory(mode: str, bar: Progress) -> list[dict]:
    rows = []
    for n in TRACEMALLOC_SIZES[mode]:
        for kind in GENERATORS:
            row = {"n": n, "generator": kind, "how": "tracemalloc"}
            for variant in _VARIANTS:
                row[variant] = traced_peak(variant, n, kind)
            for variant in ("ours", "ours_resumed"):
                row[f"{variant}_ratio"] = row[variant] / row["torch"]
            rows.append(row)
            bar.step(
                f"memory (tracemalloc) n={fmt_count(n)} {kind}: ours {fmt_ratio(row['ours_ratio'])}"
            )
    for n in RSS_SIZES[mode] if rss_supported() else []:
        for kind in GENERATORS:
            row = {"n": n, "generator": kind, "how": "rss"}
            for variant in _VARIANTS:
                measured = rss_peak(variant, n, kind)
                row[variant] = measured["growth"]
                row[f"{variant}_process_peak"] = measured["peak"]
            for variant in ("ours", "ours_resumed"):
                row[f"{variant}_ratio"] = row[variant] / row["torch"] if row["torch"] > 0 else None
            rows.append(row)
            bar.step(
                f"memory (peak RSS) n={fmt_count(n)} {kind}: ours {fmt_ratio(row['ours_ratio'])}"
            )
    return rows


def run(quick: bool = False, progress: bool = True) -> dict:
    mode = "quick" if quick else "full"
    steps = (
        len(GROWTH_SIZES[mode])
        + 2 * (len(THROUGHPUT_SIZES[mode]) + len(REPLACEMENT_SIZES[mode]))
        + len(TRACEMALLOC_SIZES[mode])
        + len(RSS_SIZES[mode])
    ) * len(GENERATORS)
    bar = Progress("sampler", steps, enabled=progress)
    result = {
        "quick": quick,
        "seed": SEED,
        "batch_size": BATCH,
        "growth": growth(mode, bar),
        "throughput": throughput(mode, bar),
        "memory": memory(mode, bar),
    }
    result["targets"] = targets(result)
    return result


def targets(result: dict) -> dict:
    mem = [
        r[k]
        for r in result["memory"]
        for k in ("ours_ratio", "ours_resumed_ratio")
        if r.get(k) is not None
    ]
    return {
        "set_epoch_growth_max": max(r["ratio_to_e1"] for r in result["growth"]),
        "set_epoch_growth_target": GROWTH_TARGET,
        "throughput_max": max(r["ours_ratio"] for r in result["throughput"]),
        "throughput_set_epoch_max": max(r["ours_set_epoch_ratio"] for r in result["throughput"]),
        "throughput_target": THROUGHPUT_TARGET,
        "memory_max": max(mem) if mem else None,
        "memory_target": 1.0,
    }


def _bytes(b: float) -> str:
    return f"{b / 2**20:.1f} MiB" if abs(b) >= 2**20 else f"{b / 2**10:.0f} KiB"


def report(result: dict) -> str:
    epochs = sorted({r["epoch"] for r in result["growth"]})
    rows = []
    for n, kind in dict.fromkeys((r["n"], r["generator"]) for r in result["growth"]):
        cells = {r["epoch"]: r for r in result["growth"] if r["n"] == n and r["generator"] == kind}
        rows.append(
            [fmt_count(n), kind, fmt_time(cells[1]["first_index"])]
            + [fmt_ratio(cells[e]["ratio_to_e1"]) for e in epochs[1:]]
            + [fmt_time(cells[epochs[-1]]["set_epoch_only"])]
        )
    out = [
        (
            "set_epoch(e) + first index, fresh sampler: cost at e=1 and ratio to it "
            f"(target <= {GROWTH_TARGET:g}x)"
        ),
        table(
            ["n", "generator", "e=1"]
            + [f"e={fmt_count(e)}" for e in epochs[1:]]
            + [f"set_epoch({fmt_count(epochs[-1])}) alone"],
            rows,
        ),
        "",
    ]

    rows = [
        [
            fmt_count(r["n"]),
            "yes" if r.get("replacement") else "no",
            r["generator"],
            r["consume"],
            fmt_time(r["torch"]),
            f"{r['torch_per_index'] * 1e9:.1f} ns",
            fmt_ratio(r["ours_ratio"]),
            fmt_ratio(r["ours_set_epoch_ratio"]),
        ]
        for r in result["throughput"]
    ]
    out += [
        (
            f"throughput: time to drain epochs (each preceded by a base-seed draw), best of "
            f"interleaved rounds; ratio to RandomSampler (target <= {THROUGHPUT_TARGET:g}x)"
        ),
        table(
            [
                "n",
                "replacement",
                "generator",
                "consumed as",
                "RandomSampler",
                "per index",
                "ours",
                "ours + set_epoch each epoch",
            ],
            rows,
        ),
        "",
    ]

    rows = [
        [
            fmt_count(r["n"]),
            r["generator"],
            r["how"],
            _bytes(r["torch"]),
            _bytes(r["ours"]),
            fmt_ratio(r["ours_ratio"]),
            _bytes(r["ours_resumed"]),
            fmt_ratio(r["ours_resumed_ratio"]),
        ]
        for r in result["memory"]
    ]
    out += [
        "peak memory of one epoch, growth over the state before it (target: ours <= RandomSampler)",
        table(
            [
                "n",
                "generator",
                "measured by",
                "RandomSampler",
                "ours",
                "ratio",
                "ours resumed",
                "ratio",
            ],
            rows,
        ),
        "",
    ]
    t = result["targets"]
    out.append(
        f"targets: set_epoch growth worst {fmt_ratio(t['set_epoch_growth_max'])} (<= {GROWTH_TARGET:g}x); "
        f"throughput worst {fmt_ratio(t['throughput_max'])}, with set_epoch each epoch "
        f"{fmt_ratio(t['throughput_set_epoch_max'])} (<= {THROUGHPUT_TARGET:g}x); memory worst "
        f"{fmt_ratio(t['memory_max'])} (<= 1x)"
    )
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="ReplayableRandomSampler's speed targets.")
    parser.add_argument("--quick", action="store_true", help="a small grid, seconds")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    result = run(args.quick)
    result["wall_s"] = time.perf_counter() - start
    print(report(result))
    print(f"\nwrote {write_json('sampler-quick' if args.quick else 'sampler', result)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
