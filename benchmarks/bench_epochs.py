"""Time to resume at epoch E: ReplayableRandomSampler against every way users resume today.

    python benchmarks/bench_epochs.py [--quick] [--budget SECONDS] [--no-plot]

Prints a table, writes ``benchmarks/results/epochs.json`` (``epochs-quick.json``
with ``--quick``) and a log-log plot ``epochs.png`` beside it.

The grid, and why each axis is there:

* epoch E in 1, 10, 100, 1000, 10**4, 10**6 -- from "resume after the first
  epoch" to far more epochs than any real run, six decades so that the
  log-log plot separates what grows with E (every baseline, linearly) from
  what does not (ours);
* dataset size n in 1806 (the original write-up's dataset), 1,281,167
  (ImageNet-1k's train split, the common large case) and 10**8 (web scale:
  a single ``randperm`` takes seconds, so even "the first index" is
  expensive for everyone);
* generator global (``DataLoader(shuffle=True)``) and explicit
  (``DataLoader(shuffle=True, generator=g)``): an epoch draws 4 words from the
  global generator but 2n from an explicit one, which changes both how far
  our jump goes and what the baselines must replay.

Methods, all timed in the same process, cell by cell:

* ``ours_first`` -- a fresh sampler, ``set_epoch(E)``, the DataLoader's base
  seed (2 draws, as a new loader iterator takes), ``next(iter(sampler))``:
  the time until epoch E's first index is out.  Includes one ``randperm(n)``.
* ``ours_state`` -- ``set_epoch(E)`` alone: the full generator state of an
  uninterrupted run at the start of epoch E.
* ``writeup`` -- the original write-up's replay, ``torch.randperm(n)`` E times
  on the global generator.  Its cost only: the state it reaches is wrong for
  current torch (see DESIGN.md).  Independent of the generator kind, so it
  is timed once per (n, E) and shown in both rows.
* ``index_spin`` -- exact index-only spinning, as HF transformers' Trainer
  does (``list(sampler)`` per past epoch): plain ``RandomSampler``, a base
  seed and a full pass over the indices per epoch, no data loaded.
* ``loader_spin`` -- Composer's ``spin_dataloaders``: a new DataLoader
  iterator per past epoch, one batch of real (synthetic) data loaded, then
  ``break``.  Exact for the global generator only: a cut-short epoch skips
  RandomSampler's trailing ``randperm`` on an explicit generator.
* ``torchdata`` -- torchdata's ``StatefulDataLoader`` restored from the state
  dict saved at the end of epoch E-1, up to the first batch (indices only).
  Needs a checkpoint that saved loader state, which the runs this library is
  for do not have; shown for scale.  The restore does not look at E (the
  state dict is the same size and shape for every E), so it is timed once
  per (n, generator) on the dict saved after epoch 0, and skipped for n
  above ``TORCHDATA_MAX_N`` (taking the checkpoint means a full epoch through
  the loader).  Optional: skipped when torchdata is not importable.

Baselines grow linearly with E.  Once the prediction from the largest
measured E (time x units(E) / units(E_measured)) exceeds the per-cell budget,
a baseline is not run and that prediction is reported, marked extrapolated
(``~`` in the table, dashed in the plot).  The smallest E is always measured.

Where ``ours_first`` and a spin were both measured, their first index and the
generator's full 5056-byte state afterwards are compared: the JSON records
whether the spin and ours agree (they must for ``index_spin``).
"""

from __future__ import annotations

import argparse
import collections
import gc
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from _common import RESULTS, Progress, fmt_count, fmt_ratio, fmt_time, table, timeit, write_json
from torch.utils.data import DataLoader, Dataset, RandomSampler

from replay_sampler import ReplayableRandomSampler

try:
    import torchdata
    from torchdata.stateful_dataloader import StatefulDataLoader
except ImportError:  # optional extra
    torchdata = StatefulDataLoader = None

FULL_EPOCHS = [1, 10, 100, 1000, 10**4, 10**6]
QUICK_EPOCHS = [1, 100, 10**4]
FULL_SIZES = [1806, 1_281_167, 10**8]
QUICK_SIZES = [1806, 1_281_167]
GENERATORS = ["global", "explicit"]
FULL_BUDGET = 10.0  # seconds a baseline may take in one cell before it is extrapolated
QUICK_BUDGET = 0.5
SEED = 1  # the write-up's seed
BATCH = 64  # the write-up's batch size
TORCHDATA_MAX_N = 2_000_000


@dataclass(frozen=True)
class Method:
    label: str
    #: epochs' worth of work the method does for epoch E (None: cost independent of E)
    units: Callable[[int], int] | None
    description: str


METHODS: dict[str, Method] = {
    "ours_first": Method(
        "ours: first index", None, "fresh sampler, set_epoch(E), base seed, next(iter(sampler))"
    ),
    "ours_state": Method("ours: state", None, "set_epoch(E) alone: the generator's full state"),
    "writeup": Method(
        "write-up replay",
        lambda e: e,
        "randperm(n) E times on the global generator (wrong state, cost only)",
    ),
    "index_spin": Method(
        "index spin (HF)",
        lambda e: e + 1,
        "iterate RandomSampler through E epochs, no data (exact)",
    ),
    "loader_spin": Method(
        "loader spin (Composer)", lambda e: e + 1, "one batch of data per past epoch, then break"
    ),
    "torchdata": Method(
        "torchdata restore",
        None,
        "StatefulDataLoader.load_state_dict + first batch (needs saved state)",
    ),
}


class SyntheticImages(Dataset):
    """``n`` samples with the tensor side of an ImageNet transform as their cost.

    Each item is a 224x224 crop of a 3x256x256 uint8 buffer (offset by the
    index), flipped on odd indices, converted to float and normalised --
    about 0.1 ms per sample on one thread of the reference machine.  That is a lower bound on real
    loading: decoding a JPEG alone takes milliseconds.  Items are
    ``(image, index)`` so a batch tells which indices it holds.
    """

    def __init__(self, n: int) -> None:
        self.n = n
        self.buffer = torch.randint(
            0, 256, (3, 256, 256), dtype=torch.uint8, generator=torch.Generator().manual_seed(0)
        )
        self.mean = torch.tensor([0.485, 0.456, 0.406]).view(3, 1, 1)
        self.std = torch.tensor([0.229, 0.224, 0.225]).view(3, 1, 1)

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        y, x = (i * 7) % 32, (i * 13) % 32
        crop = self.buffer[:, y : y + 224, x : x + 224]
        if i & 1:
            crop = crop.flip(-1)
        return crop.float().div_(255).sub_(self.mean).div_(self.std), i


def sample_cost() -> float:
    """Best time per item of :class:`SyntheticImages`, batch-sized runs."""
    ds = SyntheticImages(BATCH)
    return timeit(lambda: [ds[i] for i in range(BATCH)], min_time=0.2)["best"] / BATCH


# -- one cell's contenders: each returns (setup, run, holder) -------------------


def _generator(kind: str) -> torch.Generator:
    """Reset the streams to the run's seed; the generator the run draws from."""
    torch.manual_seed(SEED)
    if kind == "global":
        return torch.default_generator
    return torch.Generator().manual_seed(SEED)


def _base_seed(gen: torch.Generator) -> None:
    """The 2 draws a new DataLoader iterator takes for its ``_base_seed``."""
    torch.empty((), dtype=torch.int64).random_(generator=gen)


def _outcome(holder: dict, first: int) -> None:
    holder["outcome"] = (int(first), bytes(holder["gen"].get_state().numpy().tobytes()))


def _ours(n: int, kind: str, epoch: int, first_index: bool):
    holder: dict[str, Any] = {}

    def setup():
        holder.clear()
        gen = _generator(kind)
        holder["gen"] = gen
        holder["sampler"] = ReplayableRandomSampler(
            range(n), generator=None if kind == "global" else gen
        )

    def run():
        sampler = holder["sampler"]
        sampler.set_epoch(epoch)
        if first_index:
            _base_seed(holder["gen"])
            _outcome(holder, next(iter(sampler)))

    return setup, run, holder


def _writeup(n: int, kind: str, epoch: int):
    def setup():
        torch.manual_seed(SEED)

    def run():
        for _ in range(epoch):
            torch.randperm(n)

    return setup, run, {}


def _index_spin(n: int, kind: str, epoch: int):
    holder: dict[str, Any] = {}

    def setup():
        holder.clear()
        gen = _generator(kind)
        holder["gen"] = gen
        holder["sampler"] = RandomSampler(range(n), generator=None if kind == "global" else gen)

    def run():
        sampler, gen = holder["sampler"], holder["gen"]
        for _ in range(epoch):
            _base_seed(gen)
            # HF's Trainer does list(sampler); a zero-length deque consumes the
            # same iterator in C without keeping a second copy of the indices
            collections.deque(sampler, maxlen=0)
        _base_seed(gen)
        _outcome(holder, next(iter(sampler)))

    return setup, run, holder


def _loader_spin(n: int, kind: str, epoch: int):
    holder: dict[str, Any] = {}
    dataset = SyntheticImages(n)

    def setup():
        holder.clear()
        gen = _generator(kind)
        holder["gen"] = gen
        holder["loader"] = DataLoader(
            dataset, batch_size=BATCH, shuffle=True, generator=None if kind == "global" else gen
        )

    def run():
        loader = holder["loader"]
        for _ in range(epoch):
            for _ in loader:  # Composer: "only one batch must be loaded to seed the sampler"
                break
        _, indices = next(iter(loader))
        _outcome(holder, indices[0])

    return setup, run, holder


def _torchdata(n: int, kind: str, epoch: int):
    """Restore from the state dict saved when epoch 0 ended (untimed), to epoch 1's first batch."""
    holder: dict[str, Any] = {}

    def loader():
        return StatefulDataLoader(
            range(n),
            batch_size=BATCH,
            shuffle=True,
            generator=None if kind == "global" else holder["gen"],
        )

    holder["gen"] = _generator(kind)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torchdata 0.11 warns about a deprecated torch call
        first_epoch = loader()
        for _ in first_epoch:
            pass
        saved = first_epoch.state_dict()
    del first_epoch

    def setup():
        holder["gen"] = _generator(kind)

    def run():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            restored = loader()
            restored.load_state_dict(saved)
            next(iter(restored))

    return setup, run, holder


FACTORIES = {
    "ours_first": lambda n, k, e: _ours(n, k, e, True),
    "ours_state": lambda n, k, e: _ours(n, k, e, False),
    "writeup": _writeup,
    "index_spin": _index_spin,
    "loader_spin": _loader_spin,
    "torchdata": _torchdata,
}


def _time(method: str, n: int, kind: str, epoch: int, quick: bool) -> tuple[dict, dict]:
    setup, run, holder = FACTORIES[method](n, kind, epoch)
    # A run that takes seconds is timed once; anything cheaper gets at least two
    # more runs and then repeats until min_time is spent (best-of), since the
    # first run in a cell pays for cold caches and fresh heap pages.
    result = timeit(run, setup=setup, min_repeats=1, max_repeats=1)
    if result["best"] < (0.5 if quick else 2.0):
        more = timeit(
            run,
            setup=setup,
            min_time=0.05 if quick else 0.3,
            min_repeats=2,
            max_repeats=10 if quick else 20,
        )
        result = {
            "best": min(result["best"], more["best"]),
            "median": more["median"],
            "repeats": more["repeats"] + 1,
        }
    outcome = holder.get("outcome")
    holder.clear()
    gc.collect()
    return {**result, "extrapolated": False, "shared": False}, {"outcome": outcome}


def run(quick: bool = False, budget: float | None = None, progress: bool = True) -> dict:
    # One intra-op thread, as in a DataLoader worker: on a small shared machine
    # two OpenMP threads make the synthetic samples' cost swing by 10x and more.
    # randperm, tolist and the jump are single-threaded anyway.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _run(quick, budget, progress)
    finally:
        torch.set_num_threads(threads)


def _run(quick: bool, budget: float | None, progress: bool) -> dict:
    epochs = QUICK_EPOCHS if quick else FULL_EPOCHS
    sizes = QUICK_SIZES if quick else FULL_SIZES
    budget = (QUICK_BUDGET if quick else FULL_BUDGET) if budget is None else budget
    methods = [m for m in METHODS if m != "torchdata" or StatefulDataLoader is not None]

    # a rough weight per cell, so that the progress line's "time left" means something
    weight = {n: 1 + n / 4e6 for n in sizes}
    bar = Progress(
        "epochs", sum(weight[n] for n in sizes) * len(GENERATORS) * len(epochs), enabled=progress
    )
    writeup_cache: dict[tuple[int, int], dict] = {}
    cells = []
    for n in sizes:
        # untimed: fault in the allocator's pages for lists of this size once, so
        # that the first cell of a size does not pay for it alone
        torch.randperm(n).tolist()
        gc.collect()
        for kind in GENERATORS:
            measured: dict[str, tuple[int, float]] = {}  # method -> (largest E measured, time)
            torchdata_cell: dict | None = None
            for epoch in epochs:
                times: dict[str, dict | None] = {}
                outcomes: dict[str, Any] = {}
                for method in methods:
                    spec = METHODS[method]
                    if method == "torchdata":
                        if n > TORCHDATA_MAX_N:
                            times[method] = None
                            continue
                        if torchdata_cell is None:
                            torchdata_cell, _ = _time(method, n, kind, epoch, quick)
                            times[method] = torchdata_cell
                        else:
                            times[method] = {**torchdata_cell, "shared": True}
                        continue
                    if method == "writeup" and (n, epoch) in writeup_cache:
                        times[method] = {**writeup_cache[(n, epoch)], "shared": True}
                        continue
                    if spec.units is not None and method in measured:
                        last_e, last_t = measured[method]
                        predicted = last_t * spec.units(epoch) / spec.units(last_e)
                        if predicted > budget:
                            times[method] = {
                                "best": predicted,
                                "median": predicted,
                                "repeats": 0,
                                "extrapolated": True,
                                "shared": False,
                                "from_epoch": last_e,
                            }
                    if times.get(method) is None:
                        times[method], out = _time(method, n, kind, epoch, quick)
                        outcomes[method] = out["outcome"]
                        measured[method] = (epoch, times[method]["best"])
                    if method == "writeup":
                        writeup_cache[(n, epoch)] = times[method]
                cells.append(_cell(n, kind, epoch, times, outcomes))
                bar.step(_progress_label(cells[-1]), weight[n])
    return {
        "quick": quick,
        "torch_threads": torch.get_num_threads(),
        "budget_s": budget,
        "batch_size": BATCH,
        "seed": SEED,
        "sample_cost_s": sample_cost(),
        "torchdata": torchdata.__version__ if torchdata is not None else "not installed",
        "torchdata_max_n": TORCHDATA_MAX_N,
        "epochs": epochs,
        "sizes": sizes,
        "generators": GENERATORS,
        "methods": {
            k: {"label": m.label, "description": m.description} for k, m in METHODS.items()
        },
        "cells": cells,
    }


def _cell(n: int, kind: str, epoch: int, times: dict, outcomes: dict) -> dict:
    ours = times["ours_first"]["best"]
    ratios = {m: (t["best"] / ours if t else None) for m, t in times.items() if m != "ours_first"}
    checks = {}
    mine = outcomes.get("ours_first")
    for method in ("index_spin", "loader_spin"):
        if mine is not None and outcomes.get(method) is not None:
            checks[f"{method}_equals_ours"] = outcomes[method] == mine
    return {
        "n": n,
        "generator": kind,
        "epoch": epoch,
        "times": times,
        "ratios_to_ours": ratios,
        "checks": checks,
    }


def _progress_label(cell: dict) -> str:
    parts = []
    for method, t in cell["times"].items():
        if t is not None:
            parts.append(f"{method}={'~' if t['extrapolated'] else ''}{fmt_time(t['best'])}")
    return (
        f"n={fmt_count(cell['n'])} {cell['generator']} E={fmt_count(cell['epoch'])}: "
        + " ".join(parts)
    )


def report(result: dict) -> str:
    methods = [m for m in METHODS if any(c["times"].get(m) for c in result["cells"])]

    def entry(cell, method):
        t = cell["times"].get(method)
        if t is None:
            return "-"
        text = ("~" if t["extrapolated"] else "") + fmt_time(t["best"])
        if method not in ("ours_first", "ours_state"):
            text += f" ({fmt_ratio(cell['ratios_to_ours'][method])})"
        return text

    rows = []
    for cell in result["cells"]:
        checks = cell["checks"]
        rows.append(
            [fmt_count(cell["n"]), cell["generator"], fmt_count(cell["epoch"])]
            + [entry(cell, m) for m in methods]
            + [
                " ".join(f"{k.split('_')[0]}:{'=' if v else '!='}" for k, v in checks.items())
                or "-"
            ]
        )
    headers = ["n", "generator", "E"] + [METHODS[m].label for m in methods] + ["same as ours"]
    notes = [
        (
            "time to resume at epoch E (best of repeats; '~' = extrapolated linearly in E from the "
            f"largest measured E, budget {result['budget_s']:g} s per cell; (Nx) = time / ours' first "
            "index)."
        ),
        (
            "'same as ours': first index and full generator state after it, spin vs ours "
            "(index: exact spin; loader: Composer's one-batch spin)."
        ),
        (
            f"synthetic sample cost {fmt_time(result['sample_cost_s'])}, batch {result['batch_size']}; "
            f"torchdata: {result['torchdata']} (restore timed once per row, "
            f"n <= {result['torchdata_max_n']:,})."
        ),
    ]
    return "\n".join(notes) + "\n\n" + table(headers, rows)


def plot(result: dict, path) -> bool:
    """Time against E, log-log, a line per method and a panel per (n, generator)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed (pip install -e '.[bench]'): no plot written")
        return False
    sizes, kinds = result["sizes"], result["generators"]
    fig, axes = plt.subplots(
        len(sizes),
        len(kinds),
        figsize=(5.2 * len(kinds), 3.6 * len(sizes)),
        squeeze=False,
        sharex=True,
    )
    colours = dict(zip(METHODS, plt.rcParams["axes.prop_cycle"].by_key()["color"]))
    for i, n in enumerate(sizes):
        for j, kind in enumerate(kinds):
            ax = axes[i][j]
            cells = [c for c in result["cells"] if c["n"] == n and c["generator"] == kind]
            for method, spec in METHODS.items():
                points = [(c["epoch"], c["times"][method]) for c in cells if c["times"].get(method)]
                if not points:
                    continue
                real = [(e, t["best"]) for e, t in points if not t["extrapolated"]]
                guess = [(e, t["best"]) for e, t in points if t["extrapolated"]]
                colour = colours[method]
                if real:
                    ax.plot(*zip(*real), "o-", color=colour, label=spec.label, ms=4)
                if guess:
                    bridge = real[-1:] + guess  # dashed from the last measured point on
                    ax.plot(*zip(*bridge), "--", color=colour, alpha=0.8)
                    ax.plot(
                        *zip(*guess),
                        "o",
                        mfc="none",
                        color=colour,
                        ms=4,
                        label=None if real else spec.label,
                    )
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_title(f"n = {fmt_count(n)}, {kind} generator", fontsize=10)
            ax.grid(True, which="major", alpha=0.3)
            if j == 0:
                ax.set_ylabel("seconds to epoch E")
            if i == len(sizes) - 1:
                ax.set_xlabel("epoch E")
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.suptitle(
        "Time to resume at epoch E (hollow markers, dashed: extrapolated; torchdata: "
        "timed once per panel)",
        y=0.995,
        fontsize=11,
    )
    top = 1 - 0.5 / fig.get_figheight()  # leave half an inch for the title and one for the legend
    fig.legend(
        handles,
        labels,
        loc="upper center",
        bbox_to_anchor=(0.5, top),
        ncol=3,
        fontsize=9,
        frameon=False,
    )
    fig.tight_layout(rect=(0, 0, 1, top - 0.6 / fig.get_figheight()))
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Time to resume at epoch E, ours vs baselines.")
    parser.add_argument("--quick", action="store_true", help="a small grid, seconds")
    parser.add_argument(
        "--budget",
        type=float,
        default=None,
        help="seconds a baseline may take per cell before it is extrapolated",
    )
    parser.add_argument("--no-plot", action="store_true", help="skip the PNG")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    result = run(args.quick, args.budget)
    result["wall_s"] = time.perf_counter() - start
    print(report(result))
    name = "epochs-quick" if args.quick else "epochs"
    print(f"\nwrote {write_json(name, result)}")
    if not args.no_plot and plot(result, RESULTS / f"{name}.png"):
        print(f"wrote {RESULTS / f'{name}.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
