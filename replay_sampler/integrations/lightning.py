"""Lightning: put the generators at the resumed epoch before Lightning creates its iterator.

In the first epoch of every process Lightning creates the train iterator
(``FitLoop.setup_data``: the DataLoader's base seed, and with workers the
sampler's first draws) *before* it calls ``set_epoch``.  A fresh process
resumed from a checkpoint therefore starts iterating before the sampler
learns the epoch.  :class:`ReplayCallback` reads the epoch from the
checkpoint and calls ``set_epoch`` at ``on_fit_start`` -- before
``setup_data`` -- in a resumed and in an uninterrupted run alike, so both
take their reference at the same point; and at the end of every epoch it
marks the next one (after validation, at the same point of every epoch).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from typing import Any

import torch

try:
    from lightning.pytorch import Callback
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "replay_sampler.integrations.lightning needs Lightning: pip install lightning"
    ) from exc

from .._torch import check_cpu_generator
from ..core._checks import integer, stride
from ..samplers._random import ReplayableRandomSampler
from ..samplers._timeline import Timeline, timeline


class ReplayCallback(Callback):
    """Resume a Lightning fit at the checkpoint's epoch, exactly.

    ``ReplayCallback(sampler, ...)`` positions the samplers given (or, where
    the sampler is made later, in ``train_dataloader()``, the timelines of
    ``generators``: ``None`` is torch's global one) at the epoch Lightning is
    about to run: 0 in a fresh fit, the checkpoint's next epoch (or its
    unfinished one) in ``Trainer.fit(ckpt_path=...)``.  ``draws_per_epoch``
    sets the count of the generators' timelines and samplers; without it the
    count the uninterrupted run measured (from its second epoch on) is saved
    in every checkpoint and used by the resumed fit.

    Add it in the uninterrupted run too (it changes nothing there but the
    reference point, which must be the same in both runs)::

        trainer = Trainer(callbacks=[ReplayCallback(sampler)], ...)
    """

    def __init__(self, *samplers: ReplayableRandomSampler,
                 generators: Iterable[torch.Generator | None] = (),
                 draws_per_epoch: int | tuple[int, int] | None = None) -> None:
        super().__init__()
        for i, sampler in enumerate(samplers):
            if not isinstance(sampler, ReplayableRandomSampler):
                raise TypeError(
                    f"samplers[{i}] must be a ReplayableRandomSampler, got {type(sampler).__name__}"
                )
        self._samplers = samplers
        gens = [check_cpu_generator(g, "generators[]") for g in generators]
        if not samplers and not gens:
            gens = [torch.default_generator]
        self._timelines: list[Timeline] = [timeline(g) for g in gens]
        self._draws_per_epoch = None if draws_per_epoch is None else stride(draws_per_epoch)
        self._given = self._draws_per_epoch is not None
        self._uneven_warned = False
        self._resume_epoch: int | None = None
        self._started = False

    def _position(self, epoch: int) -> None:
        for tl in self._timelines:
            if self._draws_per_epoch is not None:
                tl.draws_per_epoch = self._draws_per_epoch
            tl.set_epoch(epoch)
        for sampler in self._samplers:
            if self._draws_per_epoch is not None:
                sampler.draws_per_epoch = self._draws_per_epoch
            sampler.set_epoch(epoch)
        # without a count given, the measured one goes into the checkpoints: no advice to paste
        for tl in [*self._timelines, *(s._timeline for s in self._samplers)]:
            tl.advise = self._given

    def on_load_checkpoint(self, trainer: Any, pl_module: Any, checkpoint: dict[str, Any]) -> None:
        """The epoch ``Trainer.fit`` resumes at: ``set_epoch`` gets the fit loop's
        count of processed epochs (the next epoch after an end-of-epoch
        checkpoint, the unfinished one after a mid-epoch one)."""
        try:
            processed = checkpoint["loops"]["fit_loop"]["epoch_progress"]["current"]["processed"]
        except (KeyError, TypeError):
            raise ValueError(
                "the checkpoint has no fit-loop progress (checkpoint['loops']['fit_loop']"
                "['epoch_progress']): ReplayCallback resumes fits saved by Lightning 2.x"
            ) from None
        self._resume_epoch = integer(processed, "the checkpoint's processed epochs", 0)
        if self._started:  # strategies that restore after on_fit_start
            self._position(self._resume_epoch)

    def state_dict(self) -> dict[str, Any]:
        """Saved in Lightning's checkpoints: the count of draws per epoch -- the one
        given, else the one this run measured (when every checked epoch agreed),
        else ``None`` -- so a ``Trainer.fit(ckpt_path=...)`` needs no number."""
        value: Any = self._draws_per_epoch
        if value is None:
            measured = {c for s in self._samplers for c in s.measured_draws_per_epoch.values()}
            measured |= {c for tl in self._timelines for c in tl.measured.values()}
            value = measured.pop() if len(measured) == 1 else None
            if len(measured) > 1 and not self._uneven_warned:
                self._uneven_warned = True
                warnings.warn(
                    f"ReplayCallback: the epochs of this run drew {sorted(measured)} draws "
                    "from their generator: no one count resumes it; pass "
                    "ReplayCallback(..., draws_per_epoch=(first, later)) if only the first "
                    "epoch differs", UserWarning, stacklevel=2)
        if isinstance(value, tuple):
            value = list(value)
        return {"draws_per_epoch": value}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """A count saved by :meth:`state_dict` is used unless one was given here."""
        if not isinstance(state_dict, dict) or "draws_per_epoch" not in state_dict:
            raise ValueError(
                "ReplayCallback's checkpoint state must be a dict with 'draws_per_epoch', "
                f"got {state_dict!r:.80}"
            )
        saved = state_dict["draws_per_epoch"]
        if saved is None and self._draws_per_epoch is None:
            warnings.warn(
                "ReplayCallback: this checkpoint holds no measured draws per epoch (it was "
                "saved before the run's second epoch began, or its epochs drew unevenly); the "
                "resumed fit assumes the samplers' own counts -- pass "
                "ReplayCallback(..., draws_per_epoch=N) with the count the run drew",
                UserWarning, stacklevel=2)
        if saved is not None and self._draws_per_epoch is None:
            self._draws_per_epoch = stride(tuple(saved) if isinstance(saved, list) else saved)
            if self._started and self._resume_epoch is not None:
                self._position(self._resume_epoch)

    def on_fit_start(self, trainer: Any, pl_module: Any) -> None:
        self._started = True
        self._position(self._resume_epoch if self._resume_epoch is not None else 0)

    def on_train_epoch_end(self, trainer: Any, pl_module: Any) -> None:
        """The next epoch begins here, after validation, in every epoch alike."""
        self._position(trainer.current_epoch + 1)


__all__ = ["ReplayCallback"]
