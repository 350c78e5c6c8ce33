"""Run every benchmark: advance(), the sampler's own targets, and resuming at epoch E.

    python benchmarks/run_all.py [--quick] [--only NAME ...] [--no-plot] [--render-readme]

``--quick`` runs small grids (under a minute on 2 cores) and writes
``results/*-quick.json`` (git-ignored); the full mode writes
``results/advance.json``, ``sampler.json``, ``epochs.json`` and
``epochs.png``, printing a progress line per step as it goes.
``--render-readme`` then regenerates the README's performance section from
the JSON (see ``render_readme.py``).
"""

from __future__ import annotations

import argparse
import pathlib
import sys
import time

HERE = pathlib.Path(__file__).resolve().parent
# runnable as a script from anywhere: the benchmarks import _common and the package
for path in (HERE, HERE.parent):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

import bench_advance  # noqa: E402
import bench_epochs  # noqa: E402
import bench_record  # noqa: E402
import bench_resume  # noqa: E402
import bench_sampler  # noqa: E402
import render_readme  # noqa: E402

BENCHMARKS = {
    "advance": bench_advance.main,
    "sampler": bench_sampler.main,
    "epochs": bench_epochs.main,
    "resume": bench_resume.main,
    "record": bench_record.main,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run replay_sampler's benchmarks.")
    parser.add_argument("--quick", action="store_true", help="small grids, under a minute")
    parser.add_argument(
        "--only",
        nargs="+",
        choices=sorted(BENCHMARKS),
        metavar="NAME",
        help=f"run only these ({', '.join(BENCHMARKS)})",
    )
    parser.add_argument("--no-plot", action="store_true", help="skip the PNG plot")
    parser.add_argument(
        "--render-readme",
        action="store_true",
        help="regenerate the README's performance section afterwards",
    )
    args = parser.parse_args(argv)

    start = time.perf_counter()
    spent = {}
    for name, bench_main in BENCHMARKS.items():
        if args.only and name not in args.only:
            continue
        print(f"\n=== {name} ({'quick' if args.quick else 'full'}) ===", flush=True)
        began = time.perf_counter()
        bench_argv = ["--quick"] if args.quick else []
        if name == "epochs" and args.no_plot:
            bench_argv.append("--no-plot")
        status = bench_main(bench_argv)
        spent[name] = time.perf_counter() - began
        if status:
            print(f"{name} failed with status {status}", file=sys.stderr)
            return status

    print("\n=== summary ===")
    print(render_readme.summary(quick=args.quick))
    print(
        "time: "
        + ", ".join(f"{k} {v:.0f} s" for k, v in spent.items())
        + f"; total {time.perf_counter() - start:.0f} s"
    )
    if args.render_readme:
        return render_readme.main([])
    return 0


if __name__ == "__main__":
    sys.exit(main())
