"""A minimal progress bar on stderr for work that takes more than a moment."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")


def progress(items: Iterable[T], total: int, label: str, *, stream=None) -> Iterator[T]:
    """Yield ``items``, drawing ``label [#####     ] k/total`` as they go.

    On a terminal the bar redraws in place; otherwise one line is written per
    tenth of the work, so logs stay readable.
    """
    out = stream if stream is not None else sys.stderr
    tty = getattr(out, "isatty", lambda: False)()
    start = time.perf_counter()
    last_tenth = -1
    width = 24
    for done, item in enumerate(items, 1):
        yield item
        elapsed = time.perf_counter() - start
        filled = int(width * done / max(total, 1))
        bar = f"{label} [{'#' * filled}{' ' * (width - filled)}] {done}/{total} {elapsed:5.1f}s"
        if tty:
            out.write("\r" + bar + ("\n" if done == total else ""))
            out.flush()
        elif done * 10 // max(total, 1) != last_tenth:
            last_tenth = done * 10 // max(total, 1)
            out.write(bar + "\n")
            out.flush()
