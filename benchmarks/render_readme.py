"""Regenerate the README's performance section from ``benchmarks/results/*.json``.

    python benchmarks/render_readme.py [--readme PATH] [--stdout]

Replaces what lies between ``<!-- benchmarks:start -->`` and
``<!-- benchmarks:end -->`` in README.md and nothing else.  If the markers
are absent (or with ``--stdout``) the section is printed instead.  Every
figure comes from the JSON files written by ``run_all.py``; the full-mode
files are used where they exist, the ``-quick`` ones otherwise (and the
section says so).
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys

HERE = pathlib.Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from _common import RESULTS, fmt_count, fmt_ratio, fmt_time  # noqa: E402

README = HERE.parent / "README.md"
START, END = "<!-- benchmarks:start -->", "<!-- benchmarks:end -->"
NAMES = ("advance", "sampler", "epochs", "resume", "record")


def load(quick: bool | None = None) -> dict[str, dict]:
    """The results by name; ``quick=None`` prefers the full run's file."""
    out = {}
    for name in NAMES:
        candidates = {True: [f"{name}-quick"], False: [name], None: [name, f"{name}-quick"]}[quick]
        for candidate in candidates:
            path = RESULTS / f"{candidate}.json"
            if path.is_file():
                out[name] = json.loads(path.read_text())
                break
    return out


def _advance_row(advance: dict, draws: int) -> dict | None:
    return next((r for r in advance["rows"] if r["n"] == draws), None)


def key_figures(results: dict[str, dict]) -> list[str]:
    """One line per headline figure, as markdown list items without the bullet."""
    lines = []
    advance = results.get("advance")
    if advance:
        parts = []
        for label, draws in (("2**40", 2**40), ("2**64-1", 2**64 - 1)):
            row = _advance_row(advance, draws)
            if row:
                parts.append(
                    f"{fmt_time(row['ours'])} for {label} draws ({fmt_ratio(row['vs_jumped'])})"
                )
        lines.append(
            f"`advance(n)` against numpy's C `MT19937.jumped()` ({fmt_time(advance['numpy_jumped'])}): "
            + "; ".join(parts)
        )
    sampler = results.get("sampler")
    if sampler:
        t = sampler["targets"]
        worst = {}
        for r in sampler["growth"]:
            key = r["n"]
            if key not in worst or r["ratio_to_e1"] > worst[key]["ratio_to_e1"]:
                worst[key] = r
        per_n = ", ".join(
            f"{fmt_ratio(r['ratio_to_e1'])} at n = {fmt_count(n)} ({r['generator']}, e = {fmt_count(r['epoch'])})"
            for n, r in sorted(worst.items())
        )
        last_e = max(r["epoch"] for r in sampler["growth"])
        alone = [r["set_epoch_only"] for r in sampler["growth"] if r["epoch"] == last_e]
        lines.append(
            f"`set_epoch(e)` + first index, e = 1 to {fmt_count(last_e)}, worst cost relative to "
            f"e = 1 (target {t['set_epoch_growth_target']:g}x): {per_n}; `set_epoch({fmt_count(last_e)})` "
            f"alone takes {fmt_time(min(alone))} to {fmt_time(max(alone))}"
        )
        parts = []
        for replacement in (False, True):
            rows = [r for r in sampler["throughput"] if bool(r.get("replacement")) is replacement]
            if not rows:
                continue
            per_n = ", ".join(
                f"n = {fmt_count(n)}: {fmt_ratio(max(r['ours_ratio'] for r in at))} "
                f"({fmt_ratio(max(r['ours_set_epoch_ratio'] for r in at))} with `set_epoch` "
                "every epoch)"
                for n in sorted({r["n"] for r in rows})
                for at in [[r for r in rows if r["n"] == n]]
            )
            parts.append(f"{'with' if replacement else 'without'} replacement {per_n}")
        lines.append(
            f"Iteration throughput against `RandomSampler` (target {t['throughput_target']:g}x), "
            "worst of both generators, indices and batches: " + "; ".join(parts)
        )
        mem = []
        for how in ("tracemalloc", "rss"):
            rows = [
                r for r in sampler["memory"] if r["how"] == how and r.get("ours_ratio") is not None
            ]
            if rows:
                ratio = max(max(r["ours_ratio"], r["ours_resumed_ratio"] or 0) for r in rows)
                sizes = ", ".join(fmt_count(n) for n in sorted({r["n"] for r in rows}))
                label = "Python heap (tracemalloc)" if how == "tracemalloc" else "peak RSS"
                mem.append(f"{fmt_ratio(ratio)} by {label}, n = {sizes}")
        lines.append(
            "Peak memory of an epoch against `RandomSampler` (target 1x): worst " + "; ".join(mem)
        )
    resume = results.get("resume")
    if resume:
        parts = []
        for replacement in (False, True):
            rows = [r for r in resume["resume"] if r["replacement"] is replacement]
            worst = max(rows, key=lambda r: r["worst_ratio"])
            parts.append(
                f"{'with' if replacement else 'without'} replacement worst "
                f"{fmt_ratio(worst['worst_ratio'])} (n = {fmt_count(worst['n'])}, "
                f"{fmt_time(worst['p0'])} at p = 0, "
                f"{fmt_time(max(worst['half'], worst['last']))} at worst; slowest resume at "
                f"any n and p: {fmt_time(max(max(r['half'], r['last'], r['p0']) for r in rows))})"
            )
        lines.append(
            "`load_state_dict` + first index at position p = n/2 and n - 1 against p = 0 "
            f"(target 2x), n = {fmt_count(resume['resume'][0]['n'])} to "
            f"{fmt_count(resume['resume'][-1]['n'])}: " + "; ".join(parts)
        )
        checks = "; ".join(
            f"{kind}: {100 * c['agree_share']:.2f}% when the count agrees, "
            + (f"{100 * c['near_share']:.2f}% measuring when it differs by a few draws, "
               if "near_share" in c else "")
            + f"{100 * c['differ_share']:.2f}% when it is far off"
            + (f", {100 * c['loop_share']:.2f}% when the loop draws "
               f"{fmt_count(c['loop_draws'])} more than counted" if "loop_share" in c else "")
            for kind, c in resume["checks"].items()
        )
        lines.append(
            "The self-check (at epochs 1, 2, 4, 8, ... after the reference) as a share of one "
            f"`RandomSampler` epoch at n = {fmt_count(resume['epoch_n'])} (target 1%): {checks}"
        )
    record = results.get("record")
    if record:
        lines.append(
            "`record_draws` / `measure_draws(fn, torch_version=...)` against running `fn` "
            "plainly (target 2x): " + "; ".join(
                f"{fmt_ratio(r['recorded_ratio'])} for {r['case']} ({r['random_ops']} random ops)"
                for r in record["rows"])
        )
    epochs = results.get("epochs")
    if epochs:
        last_e = max(epochs["epochs"])
        cells = [c for c in epochs["cells"] if c["epoch"] == last_e]
        spins = ", ".join(
            f"{'~' if c['times']['index_spin']['extrapolated'] else ''}"
            f"{fmt_ratio(c['ratios_to_ours']['index_spin'])} at n = {fmt_count(c['n'])} ({c['generator']})"
            for c in cells
            if c["ratios_to_ours"].get("index_spin")
        )
        lines.append(
            f"Resuming at E = {fmt_count(last_e)}: exact index-only spinning takes {spins} "
            "as long as ours (~ = extrapolated)"
        )
        lines += _methods_at(epochs)
        checks = [
            v for c in epochs["cells"] for k, v in c["checks"].items() if k.startswith("index_spin")
        ]
        if checks:
            lines.append(
                f"Ours and exact spinning agreed on the first index and the full generator "
                f"state in {sum(checks)} of {len(checks)} cells where both ran"
            )
    return lines


def _grid(epochs: dict) -> list[str]:
    """Markdown table: a row per (n, generator), a column per E; ours' time and the exact spin's ratio."""
    header = (
        "| n | generator | " + " | ".join(f"E = {fmt_count(e)}" for e in epochs["epochs"]) + " |"
    )
    rows = [header, "|" + "---|" * (2 + len(epochs["epochs"]))]
    for n in epochs["sizes"]:
        for kind in epochs["generators"]:
            cells = {
                c["epoch"]: c for c in epochs["cells"] if c["n"] == n and c["generator"] == kind
            }
            entries = []
            for e in epochs["epochs"]:
                cell = cells[e]
                entry = f"**{fmt_time(cell['times']['ours_first']['best'])}**"
                spin = cell["times"].get("index_spin")
                if spin:
                    mark = "~" if spin["extrapolated"] else ""
                    entry += f" · {mark}{fmt_ratio(cell['ratios_to_ours']['index_spin'])}"
                entries.append(entry)
            rows.append(f"| {fmt_count(n)} | {kind} | " + " | ".join(entries) + " |")
    legend = (
        "Bold: ours -- `set_epoch(E)` on a fresh sampler until epoch E's first index is out "
        "(one `randperm(n)` included). After it: exact index-only spinning (as HF's Trainer "
        "does) as a multiple of ours; `~` = extrapolated linearly in E."
    )
    return [*rows, "", legend]


def _methods_at(epochs: dict) -> list[str]:
    """One bullet: every method's time in one representative cell."""
    n = 1_281_167 if 1_281_167 in epochs["sizes"] else max(epochs["sizes"])
    e = 100 if 100 in epochs["epochs"] else epochs["epochs"][len(epochs["epochs"]) // 2]
    cell = next(
        c for c in epochs["cells"] if c["n"] == n and c["epoch"] == e and c["generator"] == "global"
    )
    labels = {
        "ours_first": "ours (first index)",
        "ours_state": "ours (generator state only)",
        "writeup": "the write-up's `randperm` replay (wrong state)",
        "index_spin": "exact index-only spin (HF Trainer)",
        "loader_spin": "Composer's one-batch DataLoader spin",
        "torchdata": "torchdata `StatefulDataLoader` restore (needs saved loader state)",
    }
    parts = []
    for method, label in labels.items():
        t = cell["times"].get(method)
        if t:
            parts.append(f"{label} {'~' if t['extrapolated'] else ''}{fmt_time(t['best'])}")
    if epochs.get("torchdata") == "not installed":
        parts.append("torchdata not installed")
    return [
        f"At E = {fmt_count(e)}, n = {fmt_count(n)}, global generator: "
        + ", ".join(parts)
        + f" (synthetic samples at {fmt_time(epochs['sample_cost_s'])} each, batch "
        f"{epochs['batch_size']})"
    ]


def section(results: dict[str, dict] | None = None) -> str:
    results = load() if results is None else results
    if not results:
        return f"{START}\n_No benchmark results yet: run `python benchmarks/run_all.py`._\n{END}"
    any_result = next(iter(results.values()))
    m = any_result["machine"]
    quick = sorted(name for name, r in results.items() if r.get("quick"))
    lines = [
        START,
        "<!-- generated by benchmarks/render_readme.py from benchmarks/results/*.json; do not edit -->",
        f"Measured on {m['platform']}, {m['cpus']} CPUs, Python {m['python']}, torch {m.get('torch', '?')}, "
        f"numpy {m['numpy']} ("
        + ", ".join(f"{name} {r['written'][:10]}" for name, r in results.items())
        + ").  Reproduce with "
        "`python benchmarks/run_all.py` (full) or `--quick`."
        + (f"  From quick runs: {', '.join(quick)}." if quick else ""),
        "",
    ]
    lines += [f"- {line}." for line in key_figures(results)]
    epochs = results.get("epochs")
    if epochs:
        lines += [
            "",
            (
                f"Time to resume at epoch E (best of repeats; baselines stop at "
                f"{epochs['budget_s']:g} s per cell and are extrapolated beyond):"
            ),
            "",
        ]
        lines += _grid(epochs)
        if not epochs.get("quick") and (RESULTS / "epochs.png").is_file():
            lines += ["", "![time to resume against E](benchmarks/results/epochs.png)"]
    lines.append(END)
    return "\n".join(lines)


def summary(quick: bool | None = None) -> str:
    """The key figures as plain text lines (for run_all's closing summary)."""
    return "\n".join(f"- {line}" for line in key_figures(load(quick)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Regenerate the README's performance section.")
    parser.add_argument("--readme", type=pathlib.Path, default=README)
    parser.add_argument("--stdout", action="store_true", help="print the section, change nothing")
    args = parser.parse_args(argv)
    text = section()
    readme = args.readme.read_text() if args.readme.is_file() else ""
    start, end = readme.find(START), readme.find(END)
    if args.stdout or start < 0 or end < start:
        if not args.stdout:
            print(
                f"({args.readme} has no {START} ... {END} markers; printing the section)",
                file=sys.stderr,
            )
        print(text)
        return 0
    updated = readme[:start] + text + readme[end + len(END) :]
    if updated != readme:
        args.readme.write_text(updated)
        print(f"updated the performance section of {args.readme}")
    else:
        print(f"{args.readme} is up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
