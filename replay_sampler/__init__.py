"""Resume PyTorch training at any epoch with the data order and random stream
an uninterrupted run had.

* :func:`advance` -- move a CPU ``torch.Generator`` ahead by any number of
  draws in milliseconds; :func:`draws_between` -- measure how many draws
  separate two states.
* :class:`ReplayableRandomSampler` and :func:`replayable_random_split` --
  bit-exact drop-ins for torch's ``RandomSampler`` and ``random_split`` that
  jump to any epoch; :func:`draws_per_epoch` counts what a loop's loaders draw.
* :func:`reconstruct` -- an old run's torch/numpy/random states at any epoch,
  from a description of what it drew (:class:`Run`), under the rules of the
  torch release that made it; :func:`check` holds a description against a
  checkpoint that did save some state; :func:`measure_draws` counts what a
  piece of code draws.
* :class:`ReplayableDistributedSampler` -- ``DistributedSampler`` with jumps,
  mid-epoch and elastic (changed world size) resume; :func:`worker_seeds`,
  :func:`loader_base_seed`, :func:`epoch_base_seed` -- the seeds DataLoader
  workers got in any epoch.
* :mod:`replay_sampler.core` -- the numpy-only replay core behind them.

torch is imported on first use of a torch-facing name, so
``import replay_sampler.core`` never loads it.
"""

from __future__ import annotations

import importlib
from typing import Any

from ._distance import NotReachedError
from ._mt19937 import MT19937State

__version__ = "0.1.0"

_LAZY = {
    "advance": "._torch",
    "draws_between": "._torch",
    "ReplayableRandomSampler": "._sampler",
    "draws_per_epoch": "._loaders",
    "replayable_random_split": "._split",
    "ReplayableSplit": "._split",
    "SplitRecord": "._split",
    "Run": "._reconstruct",
    "Split": "._reconstruct",
    "Draws": "._reconstruct",
    "Loader": "._reconstruct",
    "States": "._reconstruct",
    "reconstruct": "._reconstruct",
    "check": "._reconstruct",
    "measure_draws": "._reconstruct",
    "ReplayableDistributedSampler": "._distributed",
    "WorkerSeeds": "._workers",
    "worker_seeds": "._workers",
    "loader_base_seed": "._workers",
    "epoch_base_seed": "._workers",
}

__all__ = ["MT19937State", "NotReachedError", "__version__", *sorted(_LAZY)]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'replay_sampler' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
