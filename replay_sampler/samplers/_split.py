"""replayable_random_split: torch's random_split, plus a record that recomputes it."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import default_generator
from torch.utils.data import Dataset, Subset, random_split

from .. import _torch
from ..core._checks import integer, state_header
from ..core._digest import digest, verify
from ..core._mt19937 import TorchCPUState

SPLIT_KIND = "replay_sampler.SplitRecord"
SPLIT_VERSION = 1


def _checked(size: Any, lengths: Any, name: str) -> tuple[int, tuple[int, ...]]:
    """A record's size and lengths, validated; ``name`` formats a field's name."""
    size = integer(size, name.format("dataset_size"), 0)
    if not isinstance(lengths, (list, tuple)):
        raise TypeError(
            f"{name.format('lengths')} must be a list of non-negative integers, got "
            f"{type(lengths).__name__}"
        )
    lengths = tuple(integer(x, f"{name.format('lengths')}[{i}]", 0) for i, x in enumerate(lengths))
    if sum(lengths) != size:
        raise ValueError(
            f"{name.format('lengths')} sum to {sum(lengths)}, not "
            f"{name.format('dataset_size')}={size}"
        )
    return size, lengths


@dataclass(frozen=True)
class SplitRecord:
    """What ``replayable_random_split`` needs to recompute a split later.

    ``generator_state`` is the 5056-byte state of the generator before the
    split's ``randperm``.  Save :meth:`to_dict` in a checkpoint; rebuild with
    :meth:`from_dict`; :meth:`indices` recomputes the split without a dataset.
    """

    dataset_size: int
    lengths: tuple[int, ...]
    generator_state: bytes

    def __post_init__(self) -> None:
        size, lengths = _checked(self.dataset_size, self.lengths, "{}")
        object.__setattr__(self, "dataset_size", size)
        object.__setattr__(self, "lengths", lengths)
        TorchCPUState(self.generator_state)  # validates

    def permutation(self) -> list[int]:
        gen = _torch.generator_at(_torch.parse(self.generator_state, "generator_state"))
        return torch.randperm(self.dataset_size, generator=gen).tolist()

    def indices(self) -> list[list[int]]:
        """Each subset's indices, recomputed from the saved generator state."""
        perm = self.permutation()
        return [
            perm[offset - length : offset]
            for offset, length in zip(itertools.accumulate(self.lengths), self.lengths)
        ]

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": SPLIT_KIND,
            "version": SPLIT_VERSION,
            "dataset_size": self.dataset_size,
            "lengths": list(self.lengths),
            "generator_state": _torch.tensor(self.generator_state),
            "checksum": self._checksum(),
        }

    def _checksum(self) -> str:
        """A digest of the generator state, the size and the lengths."""
        return digest([self.generator_state, str(self.dataset_size).encode(),
                       repr(list(self.lengths)).encode()])

    @classmethod
    def from_dict(cls, record: Any) -> SplitRecord:
        record = state_header(record, SPLIT_KIND, SPLIT_VERSION,
                              ("dataset_size", "lengths", "generator_state"), name="record")
        size, lengths = _checked(record["dataset_size"], record["lengths"], "record['{}']")
        raw = _torch.parse(record["generator_state"], "record['generator_state']").raw
        out = cls(size, lengths, raw)
        if "checksum" in record:  # records of replay_sampler 0.1 carry none and still load
            verify([out.generator_state, str(size).encode(), repr(list(lengths)).encode()],
                   record["checksum"], "record['checksum']")
        return out


class ReplayableSplit(list):
    """The list of ``Subset``s ``random_split`` returns, with its :class:`SplitRecord`."""

    record: SplitRecord

    def __init__(self, subsets: list[Subset], record: SplitRecord) -> None:
        super().__init__(subsets)
        self.record = record

    def verify(self, saved: SplitRecord | dict[str, Any] | Sequence[Sequence[int]]) -> None:
        """Raise ``ValueError`` unless ``saved`` describes this very split.

        ``saved`` may be a record (or its dict) kept from the original run, or
        the subsets' index lists themselves.
        """
        if isinstance(saved, dict):
            saved = SplitRecord.from_dict(saved)
        if isinstance(saved, SplitRecord):
            if saved.dataset_size != self.record.dataset_size:
                raise ValueError(
                    f"saved split is of {saved.dataset_size} items; this one of "
                    f"{self.record.dataset_size}"
                )
            expected = saved.indices()
        else:
            expected = [list(x) for x in saved]
        mine = [list(subset.indices) for subset in self]
        if len(expected) != len(mine):
            raise ValueError(f"saved split has {len(expected)} subsets; this one has {len(mine)}")
        for i, (a, b) in enumerate(zip(mine, expected)):
            if a != b:
                if len(a) != len(b):
                    raise ValueError(
                        f"subset {i} has {len(a)} items; the saved split has {len(b)}"
                    )
                j = next(k for k, (x, y) in enumerate(zip(a, b)) if x != y)
                raise ValueError(
                    f"subset {i} differs from the saved split at position {j}: "
                    f"{a[j]} here, {b[j]} saved"
                )


def replayable_random_split(
    dataset: Dataset,
    lengths: Sequence[int | float],
    generator: torch.Generator | None = default_generator,
) -> ReplayableSplit:
    """``torch.utils.data.random_split``, keeping a :class:`SplitRecord`.

    It records the generator's state and then calls torch's own
    ``random_split``: same subsets, same warnings and errors, the same
    ``randperm`` drawn from the same generator (``None`` or the default: the
    global one).  The result is a list of ``Subset``s (a ``list`` subclass)
    with a ``record`` attribute: the generator's state before the draw,
    enough to recompute or verify the split later.
    """
    gen = _torch.check_cpu_generator(generator)
    before = _torch.read(gen).raw
    subsets = random_split(dataset, lengths, generator=gen)
    record = SplitRecord(len(dataset),  # type: ignore[arg-type]
                         tuple(len(subset) for subset in subsets), before)
    return ReplayableSplit(subsets, record)
