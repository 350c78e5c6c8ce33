"""Checked by mypy (tests/test_static.py), never run: the public names reach a
type checker as the real classes and signatures, not as ``Any``.

The expected types are imported from the modules that define them, and the
expressions use the facade (``replay_sampler.X``): ``assert_type`` fails when
the facade hands the checker ``Any`` (a lazy ``__getattr__`` without its
``TYPE_CHECKING`` imports), so losing the types fails this file.
"""

from __future__ import annotations

from typing import Any

import torch
from typing_extensions import assert_type

import replay_sampler as rs
from replay_sampler.core._cuda import TorchCUDAState
from replay_sampler.core._mt19937 import MT19937State, TorchCPUState
from replay_sampler.core._plan import Run, Split
from replay_sampler.core._profiles import TorchProfile
from replay_sampler.runs._states import States
from replay_sampler.samplers._distributed import ReplayableDistributedSampler
from replay_sampler.samplers._random import ReplayableRandomSampler
from replay_sampler.samplers._split import ReplayableSplit, SplitRecord
from replay_sampler.samplers._workers import WorkerSeeds

sampler = rs.ReplayableRandomSampler(range(10))
assert_type(sampler, ReplayableRandomSampler)
assert_type(sampler.indices(3), list[int])
assert_type(sampler.epoch, int)
assert_type(rs.advance(None, 5), torch.Generator)
assert_type(rs.draws_between(None, None, 10), int)
assert_type(rs.measure_draws(lambda: None), int)
assert_type(rs.measure_cuda_offsets(lambda: None), tuple[int, ...])
assert_type(rs.core.TorchCUDAState.fresh(1).advance(4), TorchCUDAState)
assert_type(rs.reconstruct(rs.Run(seed=1), 0).cuda, tuple[TorchCUDAState, ...] | None)
assert_type(rs.draws_per_epoch(), int | tuple[int, int])
split = rs.replayable_random_split(torch.utils.data.TensorDataset(torch.arange(10)), [0.5, 0.5])
assert_type(split, ReplayableSplit)
assert_type(split.record, SplitRecord)
run = rs.Run(seed=1, prologue=(rs.Split(10, (0.5, 0.5)),))
assert_type(run, Run)
assert_type(rs.Split(10), Split)
assert_type(rs.reconstruct(run, 3), States)
assert_type(rs.worker_seeds(0, 2), list[WorkerSeeds])
assert_type(rs.ReplayableDistributedSampler(range(10), 2, 0), ReplayableDistributedSampler)
assert_type(rs.MT19937State.from_seed(1).advance(10), MT19937State)
assert_type(rs.core.TorchCPUState.parse(bytes(5056)).mt, MT19937State)
assert_type(rs.core.TorchCPUState.parse(bytes(5056)), TorchCPUState)
assert_type(rs.core.TorchProfile.of("2.5"), TorchProfile)
assert_type(rs.__version__, str)

assert_type(rs.save_checkpoint({"epoch": 1}, "ckpt.pt"), None)
assert_type(rs.load_checkpoint("ckpt.pt"), Any)
