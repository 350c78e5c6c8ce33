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
  piece of code draws; :func:`describe_loader` describes a live DataLoader.
  With measured Philox offsets (:func:`measure_cuda_offsets`) it gives every
  CUDA device's generator state too (``core.TorchCUDAState``).
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
from typing import TYPE_CHECKING, Any

from ._version import __version__
from .core import (
    CorruptStateError,
    Draws,
    ForeignStateError,
    Loader,
    MT19937State,
    NotReachedError,
    Run,
    Split,
)

#: Torch-facing names, imported on first use (module relative to this package).
_LAZY = {
    "advance": "._torch",
    "draws_between": "._torch",
    "ReplayableRandomSampler": ".samplers._random",
    "ReplayableDistributedSampler": ".samplers._distributed",
    "replayable_random_split": ".samplers._split",
    "ReplayableSplit": ".samplers._split",
    "SplitRecord": ".samplers._split",
    "draws_per_epoch": ".samplers._loaders",
    "timeline": ".samplers._timeline",
    "Timeline": ".samplers._timeline",
    "WorkerSeeds": ".samplers._workers",
    "worker_seeds": ".samplers._workers",
    "loader_base_seed": ".samplers._workers",
    "epoch_base_seed": ".samplers._workers",
    "States": ".runs._states",
    "reconstruct": ".runs._states",
    "reconstruct_generators": ".runs._states",
    "check": ".runs._states",
    "measure_draws": ".runs._states",
    "record_draws": ".runs._recording",
    "DrawRecord": ".runs._recording",
    "measure_cuda_offsets": ".runs._states",
    "describe_loader": ".runs._states",
    "save_checkpoint": ".runs._checkpoint",
    "load_checkpoint": ".runs._checkpoint",
}

if TYPE_CHECKING:  # the real names and signatures for type checkers (py.typed)
    from ._torch import advance, draws_between
    from .runs._checkpoint import load_checkpoint, save_checkpoint
    from .runs._recording import DrawRecord, record_draws
    from .runs._states import (
        States,
        check,
        describe_loader,
        measure_cuda_offsets,
        measure_draws,
        reconstruct,
        reconstruct_generators,
    )
    from .samplers._distributed import ReplayableDistributedSampler
    from .samplers._loaders import draws_per_epoch
    from .samplers._random import ReplayableRandomSampler
    from .samplers._split import ReplayableSplit, SplitRecord, replayable_random_split
    from .samplers._timeline import Timeline, timeline
    from .samplers._workers import WorkerSeeds, epoch_base_seed, loader_base_seed, worker_seeds

__all__ = [  # the names above and in _LAZY (a test keeps them in step)
    "CorruptStateError",
    "DrawRecord",
    "Draws",
    "ForeignStateError",
    "Loader",
    "MT19937State",
    "NotReachedError",
    "ReplayableDistributedSampler",
    "ReplayableRandomSampler",
    "ReplayableSplit",
    "Run",
    "Split",
    "SplitRecord",
    "States",
    "Timeline",
    "WorkerSeeds",
    "__version__",
    "advance",
    "check",
    "describe_loader",
    "draws_between",
    "draws_per_epoch",
    "epoch_base_seed",
    "load_checkpoint",
    "loader_base_seed",
    "measure_cuda_offsets",
    "measure_draws",
    "reconstruct",
    "reconstruct_generators",
    "record_draws",
    "replayable_random_split",
    "save_checkpoint",
    "timeline",
    "worker_seeds",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'replay_sampler' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
