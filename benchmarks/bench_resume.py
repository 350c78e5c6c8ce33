"""Mid-epoch resume and the self-check: ``load_state_dict`` + first index, and the
stride check's cost, against the baselines in the same process.

    python benchmarks/bench_resume.py [--quick]

Prints a table and writes ``benchmarks/results/resume.json``.  Two parts:

* **resume flat in n and in the position** -- a state saved at position p of
  an epoch (0, n/2, n - 1) is loaded into a fresh sampler and its first index
  drawn (``load_state_dict`` + ``next(iter(sampler))``); the target is at most
  2x the cost at p = 0, for n up to 10**7, with and without replacement.
  Beside it, ``RandomSampler``'s own first index of an epoch (a ``randperm(n)``
  or the first chunk of draws): the floor any resume pays.
* **self-check cost** -- what the check an uninterrupted run makes at epochs
  1, 2, 4, 8, ... costs (``measure_epoch``: a jump to just before the assumed
  end and a short scan; beyond that a scan from the samplers' own draws up),
  when the count agrees, differs by 2 draws, and is far off (half the real
  one), and when the loop draws 100,000 values of its own from the generator
  that the count leaves out (the scan covers those), as a share of one epoch
  of ``RandomSampler`` drained index by index at n = 1,281,167 (target <=
  1%), on the global generator (4 draws per epoch: the base seed and the sampler's
  seed) and an explicit one (2n: its two permutations and the base seed).
"""

from __future__ import annotations

import argparse
import sys

import torch
from _common import fmt_count, fmt_time, table, timeit, write_json
from torch.utils.data import RandomSampler

from replay_sampler import ReplayableRandomSampler
from replay_sampler._torch import read
from replay_sampler.core._distance import draws_between
from replay_sampler.samplers._timeline import measure_epoch

#: Values the loop draws from the sampler's generator in the "loop draws" check.
LOOP_DRAWS = 100_000


def _state_at(n: int, replacement: bool, position: int) -> dict:
    torch.manual_seed(0)
    sampler = ReplayableRandomSampler(range(n), replacement=replacement)
    it = iter(sampler)
    for _ in range(position):
        next(it)
    return sampler.state_dict()


def _resume(n: int, replacement: bool, state: dict):
    def run() -> None:
        torch.manual_seed(0)
        sampler = ReplayableRandomSampler(range(n), replacement=replacement)
        sampler.load_state_dict(state)
        next(iter(sampler))
    return run


def _baseline(n: int, replacement: bool):
    def run() -> None:
        next(iter(RandomSampler(range(n), replacement=replacement)))
    return run


def run(quick: bool = False) -> dict:
    sizes = (10**4, 10**6) if quick else (10**4, 10**5, 10**6, 10**7)
    rows = []
    for n in sizes:
        for replacement in (False, True):
            cell: dict = {"n": n, "replacement": replacement,
                          "random_sampler_first": timeit(_baseline(n, replacement))["best"]}
            for label, p in (("p0", 0), ("half", n // 2), ("last", n - 1)):
                state = _state_at(n, replacement, p)
                cell[label] = timeit(_resume(n, replacement, state), max_repeats=10)["best"]
            cell["worst_ratio"] = max(cell["half"], cell["last"]) / cell["p0"]
            rows.append(cell)
            print(f"resume n={n} replacement={replacement}: {cell['worst_ratio']:.2f}x", flush=True)

    n = 1_281_167
    epoch = timeit(lambda: sum(1 for _ in RandomSampler(range(n))), max_repeats=5)["best"]
    checks = {}
    for kind in ("global", "explicit"):
        checks[kind] = {}
        for extra in (0, LOOP_DRAWS):
            gen = torch.default_generator if kind == "global" else torch.Generator()
            gen.manual_seed(0)
            sampler = ReplayableRandomSampler(range(n), generator=None if kind == "global" else gen)
            own = sampler._own_draws()  # the floor the timeline gives the check
            begin = read(gen)
            torch.empty((), dtype=torch.int64).random_(generator=gen)  # a DataLoader's base seed
            list(sampler)
            if extra:  # the loop's own draws from the same generator
                torch.rand(extra, generator=gen)
            now = read(gen)
            drawn = draws_between(begin.mt, now.mt, 10**8)
            assert drawn is not None
            a, b = begin.mt, now.mt

            def check(assumed: int, a=a, b=b, d=drawn, own=own) -> None:  # as the timeline does
                assert measure_epoch(a, b, assumed, max(10**7, 10 * assumed), own) == d

            if extra:
                # counted without the loop's draws: the scan from the samplers' own draws
                loop = timeit(lambda d=drawn, x=extra: check(d - x))["best"]
                checks[kind].update(loop=loop, loop_share=loop / epoch, loop_draws=extra)
                continue
            agree = timeit(lambda d=drawn: check(d))["best"]
            near = timeit(lambda d=drawn: check(d + 2))["best"]  # a base seed counted, not drawn
            differ = timeit(lambda d=drawn: check(d // 2 + 1))["best"]  # far off
            checks[kind].update(draws=drawn, agree=agree, near=near, differ=differ,
                                agree_share=agree / epoch, near_share=near / epoch,
                                differ_share=differ / epoch)
    return {"quick": quick, "resume": rows, "epoch_n": n, "epoch": epoch, "checks": checks}


def report(result: dict) -> str:
    headers = ["n", "replacement", "RandomSampler first", "resume p=0", "p=n/2", "p=n-1",
               "worst / p=0"]
    rows = [[fmt_count(c["n"]), str(c["replacement"]), fmt_time(c["random_sampler_first"]),
             fmt_time(c["p0"]), fmt_time(c["half"]), fmt_time(c["last"]),
             f"{c['worst_ratio']:.2f}x"] for c in result["resume"]]
    lines = [table(headers, rows), ""]
    lines.append(f"one RandomSampler epoch, n = {fmt_count(result['epoch_n'])}: "
                 f"{fmt_time(result['epoch'])}")
    for kind, c in result["checks"].items():
        lines.append(f"self-check, {kind} ({fmt_count(c['draws'])} draws an epoch): "
                     f"{fmt_time(c['agree'])} when the count agrees "
                     f"({100 * c['agree_share']:.2f}% of the epoch), {fmt_time(c['near'])} "
                     f"measuring when it differs by a few draws ({100 * c['near_share']:.2f}%), "
                     f"{fmt_time(c['differ'])} when it is far off ({100 * c['differ_share']:.2f}%), "
                     f"{fmt_time(c['loop'])} when the loop draws {fmt_count(c['loop_draws'])} more "
                     f"than counted ({100 * c['loop_share']:.2f}%)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Benchmark mid-epoch resume and the self-check.")
    parser.add_argument("--quick", action="store_true", help="smaller sizes, under a minute")
    args = parser.parse_args(argv)
    result = run(args.quick)
    print(report(result))
    path = write_json("resume-quick" if args.quick else "resume", result)
    print(f"\nwrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
