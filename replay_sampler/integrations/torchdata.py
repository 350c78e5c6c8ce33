"""torchdata: a ``StatefulDataLoader`` whose state is taken when the loop checkpoints.

torchdata's ``StatefulDataLoader`` with ``num_workers > 0`` asks the sampler
for its state when it *dispatches* indices to the workers (prefetch), not
when the loop calls ``loader.state_dict()``; the generator state a sampler
records then is behind by the loop's own draws since (dropout on the CPU), so
a resumed epoch would continue with other masks.  This subclass records
torch's global generator at the moment ``state_dict()`` is called and gives
it to the ``ReplayableRandomSampler`` when torchdata restores it.  It also
makes ``shuffle=True`` mean ``sampler=ReplayableRandomSampler(dataset,
generator=generator)`` -- the sampler ``torch.utils.data.DataLoader(shuffle=True)``
would make, not torchdata's own ``RandomSampler`` (which draws its seed once,
when it is built).  Everything else is torchdata's.
"""

from __future__ import annotations

import inspect
from typing import Any

import torch

try:
    from torchdata.stateful_dataloader import StatefulDataLoader as _TorchdataLoader
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "replay_sampler.integrations.torchdata needs torchdata: pip install torchdata"
    ) from exc

from .. import _torch
from ..core._checks import state_header
from ..core._digest import digest, verify
from ..samplers._random import ReplayableRandomSampler

#: The key this loader adds to torchdata's state dict.
KEY = "replay_sampler"
KIND = "replay_sampler.StatefulDataLoader"
VERSION = 1

_PARAMETERS = inspect.signature(_TorchdataLoader.__init__)


class StatefulDataLoader(_TorchdataLoader):
    """torchdata's ``StatefulDataLoader``, same signature, with two changes:
    ``state_dict()`` also holds torch's global generator at the moment it is
    called, restored when the sampler's saved epoch continues; ``shuffle=True``
    builds a ``ReplayableRandomSampler``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        bound = _PARAMETERS.bind(self, *args, **kwargs)
        arguments = bound.arguments
        if arguments.get("shuffle") and arguments.get("sampler") is None and (
                arguments.get("batch_sampler") is None):
            dataset = arguments["dataset"]
            if not isinstance(dataset, torch.utils.data.IterableDataset):
                arguments["sampler"] = ReplayableRandomSampler(
                    dataset, generator=arguments.get("generator"))
                arguments["shuffle"] = None
        super().__init__(*bound.args[1:], **bound.kwargs)

    def _replay_samplers(self) -> list[ReplayableRandomSampler]:
        found = [self.sampler, getattr(self.batch_sampler, "sampler", None)]
        out: list[ReplayableRandomSampler] = []
        for sampler in found:
            if isinstance(sampler, ReplayableRandomSampler) and sampler not in out:
                out.append(sampler)
        return out

    def state_dict(self) -> dict[str, Any]:
        state: dict[str, Any] = super().state_dict()
        now = _torch.read(torch.default_generator)
        state[KEY] = {"kind": KIND, "version": VERSION,
                      "global_generator_state": _torch.tensor(now),
                      "checksum": digest([now.raw])}
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        if not isinstance(state_dict, dict):
            raise TypeError(f"state_dict must be a dict, got {type(state_dict).__name__}")
        ours = state_dict.get(KEY)
        global_state = None
        if ours is not None:
            sd = state_header(ours, KIND, VERSION, ("global_generator_state", "checksum"),
                              name=f"state_dict['{KEY}']")
            global_state = _torch.parse(sd["global_generator_state"],
                                        f"state_dict['{KEY}']['global_generator_state']")
            verify([global_state.raw], sd["checksum"], f"state_dict['{KEY}']['checksum']")
        rest = {k: v for k, v in state_dict.items() if k != KEY}
        super().load_state_dict(rest)
        for sampler in self._replay_samplers():
            # applied when torchdata loads the sampler's own state, in the restoring iterator
            sampler._global_at_checkpoint = global_state


__all__ = ["KEY", "StatefulDataLoader"]
