"""What recording a loop's random ops costs: ``record_draws`` beside running it plainly.

    python benchmarks/bench_record.py [--quick]

Prints a table and writes ``benchmarks/results/record.json``.  The target:
recording (``measure_draws(fn, torch_version=...)``, which records every op
under a ``TorchDispatchMode``) costs at most 2x running ``fn`` itself.  The
grid, one training epoch on the CPU per case (models built untimed, fixed
seeds, timed round-robin so drifts of the machine hit every contender):

* ``writeup``: the write-up's loop (1445 samples, batch 64, an 8-64-1 MLP
  with dropout): tiny ops, so the per-op cost of the mode dominates -- the
  worst case for the ratio;
* ``mlp-512``: the same data through a 64-512-512-10 MLP with two dropouts,
  batch 128: ops that do real work, as in most small CPU models.

Methods: ``plain`` (``fn()``), ``measured`` (``measure_draws(fn)``: the
generator state before and after only) and ``recorded``
(``record_draws(fn)``).
"""

from __future__ import annotations

import argparse
import sys

import torch
from _common import fmt_time, table, timeit_interleaved, write_json
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from replay_sampler import measure_draws, record_draws

CASES = {
    "writeup": {"n": 1445, "features": 8, "batch": 64, "hidden": (64,), "out": 1},
    "mlp-512": {"n": 4096, "features": 64, "batch": 128, "hidden": (512, 512), "out": 10},
}


def _epoch(case: dict) -> tuple:
    torch.manual_seed(0)
    x = torch.randn(case["n"], case["features"])
    y = torch.randn(case["n"], case["out"])
    layers: list[nn.Module] = []
    width = case["features"]
    for h in case["hidden"]:
        layers += [nn.Linear(width, h), nn.ReLU(), nn.Dropout(0.3)]
        width = h
    model = nn.Sequential(*layers, nn.Linear(width, case["out"]))
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    loader = DataLoader(TensorDataset(x, y), batch_size=case["batch"], shuffle=True)

    def epoch() -> None:
        model.train()
        for xb, yb in loader:
            opt.zero_grad()
            nn.functional.mse_loss(model(xb), yb).backward()
            opt.step()

    return epoch


def run(quick: bool = False) -> dict:
    torch.set_num_threads(1)
    rows = []
    for name, case in CASES.items():
        epoch = _epoch(case)
        times = timeit_interleaved(
            {"plain": epoch, "measured": lambda e=epoch: measure_draws(e),
             "recorded": lambda e=epoch: record_draws(e)},
            repeats=3 if quick else 10,
        )
        ops = len(record_draws(epoch).ops)
        plain = times["plain"]["median"]
        rows.append({"case": name, "random_ops": ops,
                     **{f"{k}_s": v["median"] for k, v in times.items()},
                     "recorded_ratio": times["recorded"]["median"] / plain,
                     "measured_ratio": times["measured"]["median"] / plain})
    return {"threads": 1, "rows": rows}


def report(result: dict) -> str:
    return table(
        ["epoch", "random ops", "plain", "measure_draws", "record_draws", "record / plain"],
        [[r["case"], str(r["random_ops"]), fmt_time(r["plain_s"]), fmt_time(r["measured_s"]),
          fmt_time(r["recorded_s"]), f"{r['recorded_ratio']:.2f}x"] for r in result["rows"]],
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Benchmark recording a loop's random ops.")
    parser.add_argument("--quick", action="store_true", help="fewer rounds, a few seconds")
    args = parser.parse_args(argv)
    result = run(args.quick)
    print(report(result))
    path = write_json("record-quick" if args.quick else "record", result)
    print(f"\nwrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
