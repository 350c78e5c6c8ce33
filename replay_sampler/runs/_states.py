"""Old runs: reconstructed states as files and generators, checks, measuring.

The description of a run and its draw plan are torch-free and live in the
core (:class:`~replay_sampler.core.Run`, :func:`~replay_sampler.core.states_at`);
this module adds what needs torch: :class:`States` (apply to the live
generators, save and load files with the write-up's keys), :func:`check`
against a checkpoint that saved some state, :func:`measure_draws`,
:func:`measure_cuda_offsets` and :func:`describe_loader`.
"""

from __future__ import annotations

import json
import os
import pathlib
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch.utils.data import (
    BatchSampler,
    DataLoader,
    IterDataPipe,
    RandomSampler,
    SequentialSampler,
)

from .. import _torch
from .._version import __version__
from ..core import _distance
from ..core._checks import integer
from ..core._cuda import TorchCUDAState
from ..core._digest import digest
from ..core._errors import CorruptStateError, NotReachedError
from ..core._formats import CUDA_STATE_SIZE as _CUDA_STATE_SIZE
from ..core._formats import TORCH_LEGACY_STATE_SIZE
from ..core._mt19937 import MT19937State, TorchCPUState
from ..core._plan import Loader, Run, cuda_states_at, generator_states_at, states_at
from ..core._profiles import TorchProfile
from ..samplers._timeline import preserved
from ._checkpoint import load_checkpoint, rng_states, save_checkpoint

#: ``torch.cuda.get_rng_state_all()``'s type (named here: in ``States`` the
#: field ``torch`` hides the module from annotations).
_Tensors = list[torch.Tensor]

FILE_KIND = "replay_sampler.reconstruction"
FILE_VERSION = 1
#: Files that carry ``cuda_rng_state_all`` are version 2, so that a
#: replay_sampler that knows only version 1 refuses them instead of
#: silently leaving the GPUs' generators where they are.
FILE_VERSION_CUDA = 2
READABLE_VERSIONS = (FILE_VERSION, FILE_VERSION_CUDA)

#: What no description can bring back; printed with every reconstruction.
LIMITS = (
    "CUDA generators come back only from measured offsets (cuda_prologue_offsets, "
    "cuda_epoch_offsets, measure_cuda_offsets): exact while every epoch launches the same "
    "random kernels with the same shapes and dtypes on the same GPU model and torch/CUDA "
    "build as the measurement. Data-dependent shapes, other kernels chosen at run time "
    "(autocast, fused or compiled kernels), CUDA graphs captured in the loop, and cuDNN "
    "RNN dropout (a state of its own inside cuDNN) break that; check a saved "
    "cuda_rng_state_all with check() or --check.",
    "Draws whose count depends on the data or on timing (variable-length batches feeding "
    "CPU dropout, early exits, retries) break the fixed per-epoch count; measure an epoch "
    "with draws_between and check a saved state if one exists.",
    "torch's cached second normal sample (randn of small tensors) is not modelled; the "
    "reconstructed torch state has empty normal caches, as manual_seed leaves them.",
)


@dataclass(frozen=True)
class States:
    """The generators' states at the start of an epoch (``None``: not seeded).

    ``torch`` is a 5056-byte CPU state (the layout of torch >= 1.2; files for
    a torch 1.0/1.1 run hold that release's 5048-byte layout), ``numpy`` an
    ``np.random.get_state()`` tuple, ``random`` a ``random.getstate()`` tuple,
    ``cuda`` one :class:`~replay_sampler.core.TorchCUDAState` per CUDA device
    (``None``: the run was described without CUDA; files for a torch 1.8-2.0
    run hold that release's 816-byte layout).
    """

    epoch: int
    torch: bytes | None
    numpy: tuple[Any, ...] | None
    random: tuple[Any, ...] | None
    description: dict[str, Any] = field(default_factory=dict)
    cuda: tuple[TorchCUDAState, ...] | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "epoch", integer(self.epoch, "epoch", 0))
        if self.torch is not None:
            TorchCPUState(self.torch)  # validates
        if self.numpy is not None:
            MT19937State.from_numpy_legacy(self.numpy)
        if self.random is not None:
            MT19937State.from_python_random(self.random)
        if not isinstance(self.description, dict):
            raise TypeError(f"description must be a dict, got {type(self.description).__name__}")
        if self.cuda is not None:
            if not isinstance(self.cuda, (tuple, list)):
                raise TypeError(
                    f"cuda must be a tuple of TorchCUDAState (one per device) or None, got "
                    f"{type(self.cuda).__name__}"
                )
            for i, state in enumerate(self.cuda):
                if not isinstance(state, TorchCUDAState):
                    raise TypeError(f"cuda[{i}] must be a TorchCUDAState, got {type(state).__name__}")
            object.__setattr__(self, "cuda", tuple(self.cuda) or None)

    def apply(self) -> None:
        """Set torch's, numpy's and Python's global generators to these states,
        and every CUDA device's default generator if they carry CUDA states.

        With CUDA states, CUDA must be available with exactly as many devices
        as the states (``torch.cuda.device_count()``); otherwise a
        ``RuntimeError`` says so and no generator is changed.  CUDA is
        initialised first, so a ``torch.manual_seed`` queued before cannot
        overwrite the states later.
        """
        if self.cuda is not None:
            _check_cuda_machine(len(self.cuda), "States.apply()")
            _torch.write_cuda_all(self.cuda)
        if self.torch is not None:
            _torch.write(torch.default_generator, TorchCPUState(self.torch))
        if self.numpy is not None:
            np.random.set_state(self.numpy)
        if self.random is not None:
            random.setstate(self.random)

    def _profile(self) -> TorchProfile | None:
        version = self.description.get("torch_version")
        return TorchProfile.of(version) if version is not None else None

    def to_dict(self) -> dict[str, Any]:
        """The checkpoint keys of the original write-up, readable with
        ``torch.load(..., weights_only=True)``; the torch state in the layout of
        the release that made the run."""
        torch_state = None
        if self.torch is not None:
            state = TorchCPUState(self.torch)
            profile = self._profile()
            legacy = profile is not None and profile.state_size == TORCH_LEGACY_STATE_SIZE
            torch_state = _torch.tensor(state.legacy_raw if legacy else state.raw)
        return {
            "torch_rng_state": torch_state,
            "numpy_rng_state": self.numpy,
            "python_rng_state": self.random,
            "cuda_rng_state_all": self._cuda_tensors(),
            "replay_sampler": {
                "kind": FILE_KIND,
                "version": FILE_VERSION if self.cuda is None else FILE_VERSION_CUDA,
                "library": __version__,
                "epoch": self.epoch,
                "description": self.description,
                "checksum": self._checksum(),
            },
        }

    def _checksum(self) -> str:
        """A digest of every state and the epoch (files of replay_sampler 0.1 carry none)."""
        numpy_part = None
        if self.numpy is not None:
            name, key, *rest = self.numpy
            numpy_part = np.asarray(key, dtype=np.uint32).tobytes() + repr((name, *rest)).encode()
        return digest([
            str(self.epoch).encode(),
            self.torch,
            numpy_part,
            None if self.random is None else repr(tuple(self.random)).encode(),
            None if self.cuda is None else b"".join(state.raw for state in self.cuda),
            json.dumps(self.description, sort_keys=True, default=repr).encode(),
        ])

    def _cuda_legacy(self) -> bool:
        """Do files of this run hold CUDA states in torch 1.2-2.0's layout?"""
        profile = self._profile()
        return profile is not None and profile.cuda_state_size != _CUDA_STATE_SIZE

    def _cuda_tensors(self) -> _Tensors | None:
        """``cuda_rng_state_all`` as ``torch.cuda.get_rng_state_all()`` returns it
        (the layout of the release that made the run)."""
        if self.cuda is None:
            return None
        legacy = self._cuda_legacy()
        return [_torch.cuda_tensor(state, legacy) for state in self.cuda]

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write :meth:`to_dict` to ``path`` atomically (:func:`save_checkpoint`)."""
        save_checkpoint(self.to_dict(), path)

    @classmethod
    def from_dict(cls, data: Any, name: str = "file") -> States:
        """Validate and read what :meth:`to_dict` wrote."""
        if not isinstance(data, dict):
            raise ValueError(f"{name} does not hold a dict but a {type(data).__name__}")
        meta = data.get("replay_sampler")
        if not isinstance(meta, dict) or meta.get("kind") != FILE_KIND:
            raise ValueError(f"{name} was not written by replay_sampler reconstruct")
        if meta.get("version") not in READABLE_VERSIONS:
            raise ValueError(
                f"{name} has format version {meta.get('version')!r}; this replay_sampler "
                f"reads versions {' and '.join(map(str, READABLE_VERSIONS))}"
            )
        description = meta.get("description") or {}
        raw = data.get("torch_rng_state")
        torch_state = None
        if raw is not None:
            key = f"{name}['torch_rng_state']"
            version = description.get("torch_version") if isinstance(description, dict) else None
            legacy = version is not None and (
                TorchProfile.of(version).state_size == TORCH_LEGACY_STATE_SIZE
            )
            if legacy:
                if isinstance(raw, torch.Tensor):
                    raw = raw.detach().cpu().contiguous().numpy()
                torch_state = TorchCPUState.parse_legacy(raw, key).raw
            else:
                torch_state = _torch.parse(raw, key).raw
        np_state, py_state = data.get("numpy_rng_state"), data.get("python_rng_state")
        cuda = _cuda_from_file(data.get("cuda_rng_state_all"), f"{name}['cuda_rng_state_all']",
                               description)
        epoch: Any = meta.get("epoch")  # validated by States
        if isinstance(np_state, list):  # a tuple that went through a list-only format
            np_state = tuple(np_state)
        try:
            states = cls(epoch, torch_state, np_state, py_state, description, cuda)
        except (TypeError, ValueError) as exc:
            raise type(exc)(f"{name}: {exc}") from None
        if "checksum" in meta:  # absent from files of replay_sampler 0.1: they still load
            verify_states(states, meta["checksum"], f"{name}['{_META}']['checksum']")
        return states

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> States:
        """Read a file :meth:`save` wrote (safe loading, :func:`load_checkpoint`);
        a truncated or damaged file raises :class:`CorruptStateError`."""
        return cls.from_dict(load_checkpoint(path), str(path))


_META = "replay_sampler"


def verify_states(states: States, expected: object, name: str) -> None:
    """Raise :class:`CorruptStateError` unless ``states``' checksum is ``expected``."""
    if not isinstance(expected, str):
        raise CorruptStateError(f"{name} must be a hex digest, got {type(expected).__name__}")
    if states._checksum() != expected:
        raise CorruptStateError(
            f"{name} does not match the generator states it covers: the file was changed or "
            "damaged after it was saved (a flipped bit, a partial write); refusing to resume "
            "from it"
        )


def reconstruct(run: Run, epoch: int) -> States:
    """The states of ``run``'s generators at the start of ``epoch``
    (:func:`replay_sampler.core.states_at`), milliseconds whatever the epoch;
    with the run's CUDA offsets, every CUDA device's too
    (:func:`replay_sampler.core.cuda_states_at`)."""
    torch_state, numpy_state, random_state = states_at(run, epoch)
    return States(run.check_epoch(epoch), torch_state, numpy_state, random_state, run.to_dict(),
                  cuda_states_at(run, epoch) or None)


def reconstruct_generators(run: Run, epoch: int) -> dict[str, torch.Generator]:
    """Every loader's own ``torch.Generator`` the run describes
    (``Loader(..., generator_seed=s)``: ``DataLoader(shuffle=True, generator=g)``
    or a bare ``RandomSampler(generator=g)``), by loader label, as it stood at
    the start of ``epoch`` -- new generators; pass them to the resumed run's
    loaders, or copy their states into its own with ``g.set_state(...)``."""
    return {label: _torch.generator_at(TorchCPUState(raw))
            for label, raw in generator_states_at(run, epoch).items()}


@dataclass(frozen=True)
class Finding:
    generator: str
    agrees: bool
    message: str


def check(run: Run, epoch: int, saved: Any, limit: int = 10**7) -> list[Finding]:
    """Compare a reconstruction with states a checkpoint did save.

    ``saved`` is a checkpoint: its path (read with :func:`load_checkpoint`),
    the dict it holds, or a :class:`States`.  The dict may be in any layout
    :func:`rng_states` knows -- the write-up's ``torch_rng_state``,
    ``numpy_rng_state``, ``python_rng_state``, ``cuda_rng_state_all``; Hugging
    Face's ``rng_state.pth`` (``cpu``, ``numpy``, ``python``, ``cuda``); a
    Lightning checkpoint; a :meth:`States.save` file -- holding the states at
    the start of ``epoch``.  For each state that disagrees, the finding says
    how many draws separate the two (searched up to ``limit`` draws each
    way) -- the usual sign of a per-epoch count that is off.  A checkpoint
    without generator states gives no findings.

    Raises ``TypeError`` for a ``run``, ``epoch``, ``limit`` or ``saved`` of
    the wrong type, ``ValueError`` for values out of range and for a
    ``saved`` that is no checkpoint; nothing is changed.
    """
    if not isinstance(run, Run):
        raise TypeError(f"run must be a replay_sampler.Run, got {type(run).__name__}")
    epoch = run.check_epoch(epoch)
    limit = integer(limit, "limit", 0)
    _, found = saved_states(saved, "saved")
    ours = reconstruct(run, epoch)
    findings = []
    pairs = (
        ("torch", "torch_rng_state", ours.torch),
        ("numpy", "numpy_rng_state", ours.numpy),
        ("random", "python_rng_state", ours.random),
    )
    saved = found
    k = max(1, epoch - run.first_epoch)
    for name, key, mine in pairs:
        if saved.get(key) is None or mine is None:
            continue
        theirs, recon = _torch.as_state(saved[key], key), _torch.as_state(mine, key)
        if recon.same_stream(theirs):
            findings.append(Finding(name, True, f"{name}: the saved state is the reconstructed one"))
            continue
        message = f"{name}: the saved state differs from the reconstruction"
        for a, b, word in ((recon, theirs, "after"), (theirs, recon, "before")):
            try:
                d = _distance.draws_between(a, b, limit)
            except NotReachedError:
                continue
            message += (f"; it lies {d:,} draws {word} it -- {d / k:,.1f} per epoch over "
                        f"{epoch - run.first_epoch} epochs, so the description misses draws"
                        if word == "after" else
                        f"; it lies {d:,} draws {word} it, so the description counts too many")
            break
        else:
            message += f" and is not within {limit:,} draws of it either way (another seed?)"
        findings.append(Finding(name, False, message))
    if ours.cuda is not None and saved.get("cuda_rng_state_all") is not None:
        findings += _check_cuda(run, epoch, ours.cuda, saved["cuda_rng_state_all"])
    return findings


def saved_states(saved: Any, name: str = "saved") -> tuple[str, dict[str, Any]]:
    """A checkpoint's layout and generator states under the write-up's keys;
    ``saved`` a path, a loaded checkpoint dict or a :class:`States`."""
    if isinstance(saved, States):
        return "States", _pick_states(saved)
    if isinstance(saved, (str, os.PathLike)):
        path = str(saved)
        if not pathlib.Path(path).is_file():
            raise ValueError(
                f"{name}={path!r} names no checkpoint file; pass a checkpoint: the path of a file, "
                "the dict torch.load returned, or a States"
            )
        layout, found = rng_states(load_checkpoint(path), path)
        if layout == "replay_sampler reconstruction":
            return layout, _pick_states(States.load(path))  # its checksum is verified
        return layout, found
    if not isinstance(saved, dict):
        raise TypeError(
            f"{name} must be a checkpoint: a path, the dict torch.load returned, or a States; "
            f"got {type(saved).__name__}"
        )
    layout, found = rng_states(saved, name)
    if layout == "replay_sampler reconstruction":
        return layout, _pick_states(States.from_dict(saved, name))
    return layout, found


def _pick_states(states: States) -> dict[str, Any]:
    values = {"torch_rng_state": states.torch, "numpy_rng_state": states.numpy,
              "python_rng_state": states.random,
              "cuda_rng_state_all": None if states.cuda is None else list(states._cuda_tensors() or [])}
    return {key: value for key, value in values.items() if value is not None}


def _check_cuda(run: Run, epoch: int, ours: tuple[TorchCUDAState, ...], saved: Any) -> list[Finding]:
    """One finding per CUDA device: how many offset units the saved state lies
    from the reconstruction, per epoch."""
    key = "cuda_rng_state_all"
    if not isinstance(saved, (list, tuple)):
        raise TypeError(
            f"{key} must be a list of uint8 tensors, as torch.cuda.get_rng_state_all() "
            f"returns, got {type(saved).__name__}"
        )
    theirs = [_torch.parse_cuda(value, f"{key}[{i}]", "any") for i, value in enumerate(saved)]
    if len(theirs) != len(ours):
        return [Finding("cuda", False,
                        f"cuda: the checkpoint holds {len(theirs)} CUDA device states, the "
                        f"description {len(ours)}; describe one offset per device the run saw")]
    epochs = epoch - run.first_epoch
    findings = []
    for i, (mine, other) in enumerate(zip(ours, theirs)):
        name = f"cuda:{i}"
        if mine == other:
            findings.append(Finding(name, True, f"{name}: the saved state is the reconstructed one"))
            continue
        if mine.seed != other.seed:
            findings.append(Finding(name, False,
                                    f"{name}: the saved state has seed {other.seed}, the "
                                    f"reconstruction {mine.seed} (another seed, or a generator "
                                    "not seeded by manual_seed?)"))
            continue
        d = other.offset - mine.offset
        message = (f"{name}: the saved offset {other.offset:,} differs from the reconstructed "
                   f"{mine.offset:,}; it lies {abs(d):,} offset units {'after' if d > 0 else 'before'} it")
        if epochs == 0:
            message += ", so the prologue's offset is off by that much"
        else:
            per = f"{d // epochs:,}" if d % epochs == 0 else f"{d / epochs:,.1f}"
            per = per.lstrip("-")
            message += (f" -- {per} offset units per epoch over {epochs} epochs, so the "
                        + ("description misses GPU random work" if d > 0
                           else "description counts too much GPU random work"))
        findings.append(Finding(name, False, message))
    return findings


def measure_draws(fn: Callable[[], Any], generator: torch.Generator | None = None,
                  limit: int = 10**9, *, torch_version: Any = None, mkl: bool = True,
                  intel_cpu: bool = True) -> int:
    """Run ``fn()`` and return how many draws it took from ``generator``
    (default: torch's global one).

    With ``torch_version``, the count is what the same random ops drew under
    that release: every random op ``fn`` makes is recorded on the installed
    torch and priced by that release's rules (:func:`record_draws`,
    :meth:`DrawRecord.total`; ``mkl`` and ``intel_cpu`` describe the run's
    build and CPU, which decide CPU dropout's count up to torch 2.6).  Use it
    for a run made under another release: counted on the installed torch, a
    loop with CPU dropout drew 1 per call up to 2.6 and 2 per element since.

    Afterwards everything is as it was before: torch's global generator, the
    generator measured, and every ``ReplayableRandomSampler`` with its
    generator's timeline -- so ``fn`` may run a real epoch over the live
    loaders (``measure_draws(lambda: train_one_epoch(model_copy, loader))``)
    and the run goes on as if it had not.  What ``fn`` changes elsewhere stays
    changed: the model and optimizer it trains (use copies), and a DataLoader
    with persistent workers, which keeps the workers it started (its next
    epoch then draws no base seed: measure over a fresh loader).

    For a prologue step such as building a model on the CPU::

        Draws(measure_draws(lambda: MyModel()), "model init")
    """
    gen = _torch.check_cpu_generator(generator)
    limit = integer(limit, "limit", 0)
    if not callable(fn):
        raise TypeError(f"fn must be callable, got {type(fn).__name__}")
    if torch_version is not None:
        profile = TorchProfile.of(torch_version)  # refuses a bad version before fn runs
        from ._recording import record_draws

        return record_draws(fn, gen, limit).total(profile, mkl=mkl, intel_cpu=intel_cpu)
    with preserved():
        before = _torch.read(gen)
        fn()
        after = _torch.read(gen)
    # the generator itself is restored by preserved() only if a timeline follows it
    _torch.write(gen, before)
    return _distance.draws_between(before.mt, after.mt, limit)


def measure_cuda_offsets(fn: Callable[[], Any]) -> tuple[int, ...]:
    """Run ``fn()`` and return how far it advanced each CUDA device's Philox
    offset (one value per device, in ``torch.cuda.get_rng_state_all()``
    order), leaving every device's generator as it was before.

    Measure on the hardware and torch build that made the run: the
    increments depend on the GPU model.  For one epoch, on a copy of the
    model (the CPU generator is not restored here; fork it if ``fn`` draws
    from it)::

        with torch.random.fork_rng(devices=[]):
            per_epoch = measure_cuda_offsets(lambda: train_one_epoch(copy.deepcopy(model)))

    Raises ``RuntimeError`` (and runs nothing) without CUDA, ``ValueError``
    if ``fn`` reseeded a device or moved its offset back.
    """
    if not callable(fn):
        raise TypeError(f"fn must be a callable, got {type(fn).__name__}")
    if not torch.cuda.is_available():
        raise RuntimeError(
            "measure_cuda_offsets needs CUDA, and torch.cuda.is_available() is False here; "
            "measure on the machine (the GPU model) that made the run"
        )
    before = _torch.read_cuda_all()
    try:
        fn()
        after = _torch.read_cuda_all()
    finally:
        _torch.write_cuda_all(before)
    for i, (a, b) in enumerate(zip(before, after)):
        if a.seed != b.seed:
            raise ValueError(
                f"fn reseeded cuda:{i} (seed {a.seed} became {b.seed}); measure code that "
                "does not call manual_seed or set the CUDA generators' states"
            )
        if b.offset < a.offset:
            raise ValueError(
                f"fn moved cuda:{i}'s offset back ({a.offset:,} to {b.offset:,}); measure code "
                "that does not set the CUDA generators' states"
            )
    return tuple(b.offset - a.offset for a, b in zip(before, after))


def _check_cuda_machine(devices: int, what: str) -> None:
    """Raise ``RuntimeError`` unless this machine has ``devices`` CUDA devices."""
    plural = "device" if devices == 1 else "devices"
    if not torch.cuda.is_available():
        raise RuntimeError(
            f"{what}: these states carry CUDA generator states for {devices} {plural}, but "
            "CUDA is not available here (torch.cuda.is_available() is False); nothing was "
            f"set. Resume on a machine with {devices} CUDA {plural}, or set the CPU states "
            "alone: dataclasses.replace(states, cuda=None).apply()"
        )
    found = torch.cuda.device_count()
    if found != devices:
        raise RuntimeError(
            f"{what}: these states carry CUDA generator states for {devices} {plural}, but "
            f"torch.cuda.device_count() is {found} here; nothing was set. Expose the run's "
            "devices (CUDA_VISIBLE_DEVICES), or describe the run with one offset per device "
            "this machine has"
        )


def _cuda_from_file(value: Any, name: str, description: Any) -> tuple[TorchCUDAState, ...] | None:
    """A file's ``cuda_rng_state_all``, validated, in the layout its run's release wrote."""
    if value is None:
        return None
    if not isinstance(value, (list, tuple)):
        raise CorruptStateError(
            f"{name} must be a list of uint8 tensors (torch.cuda.get_rng_state_all()), got "
            f"{type(value).__name__}"
        )
    version = description.get("torch_version") if isinstance(description, dict) else None
    legacy = version is not None and TorchProfile.of(version).cuda_state_size != _CUDA_STATE_SIZE
    layout = "legacy" if legacy else "current"
    return tuple(_torch.parse_cuda(v, f"{name}[{i}]", layout) for i, v in enumerate(value)) or None


def describe_loader(loader: DataLoader[Any], label: str = "loader") -> Loader:
    """Describe a live ``DataLoader`` as a :class:`~replay_sampler.Loader` (its
    sampler must be sequential or random)."""
    from ..samplers._random import ReplayableRandomSampler

    if not isinstance(loader, DataLoader):
        raise TypeError(f"loader must be a torch DataLoader, got {type(loader).__name__}")
    batch = loader.batch_sampler
    sampler = batch.sampler if isinstance(batch, BatchSampler) else loader.sampler

    def kind(gen: Any) -> str:
        return "global" if gen is None or gen is torch.default_generator else "own"

    common: dict[str, Any] = {
        "loader_generator": kind(loader.generator),
        "persistent_workers": bool(loader.persistent_workers and loader.num_workers),
        "label": label,
    }
    if isinstance(loader.dataset, IterDataPipe):
        # the sampler is _InfiniteConstantSampler; the datapipe shuffles from the shared seed
        return Loader(0, datapipe=True, workers=loader.num_workers, **common)
    size = len(loader.dataset)  # type: ignore[arg-type]
    if isinstance(sampler, (RandomSampler, ReplayableRandomSampler)):
        return Loader(size, shuffle=True, replacement=sampler.replacement,
                      num_samples=sampler._num_samples,
                      sampler_generator=kind(sampler.generator), **common)
    if isinstance(sampler, SequentialSampler):
        return Loader(size, **common)
    raise TypeError(
        f"cannot describe a DataLoader with a {type(sampler).__name__}; describe its "
        "draws with Draws(count) instead"
    )
