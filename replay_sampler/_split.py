"""replayable_random_split: torch's random_split, plus a record that recomputes it."""

from __future__ import annotations

import itertools
import math
import operator
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import default_generator
from torch.utils.data import Dataset, Subset

from ._checks import state_header
from ._formats import TorchCPUState
from ._torch import check_cpu_generator

SPLIT_KIND = "replay_sampler.SplitRecord"
SPLIT_VERSION = 1


def split_lengths(total: int, lengths: Sequence[int | float]) -> list[int]:
    """The integer lengths ``random_split`` uses, with its warnings and errors.

    Fractions summing to 1 (and, as in torch, integer lengths summing to 1)
    become ``floor(total * fraction)``, the remainder handed out one by one,
    round robin from the first split.
    """
    if math.isclose(sum(lengths), 1) and sum(lengths) <= 1:
        subset_lengths: list[int] = []
        for i, frac in enumerate(lengths):
            if frac < 0 or frac > 1:
                raise ValueError(f"Fraction at index {i} is not between 0 and 1")
            subset_lengths.append(math.floor(total * frac))
        remainder = total - sum(subset_lengths)
        for i in range(remainder):
            subset_lengths[i % len(subset_lengths)] += 1
        lengths = subset_lengths
        for i, length in enumerate(lengths):
            if length == 0:
                warnings.warn(
                    f"Length of split at index {i} is 0. This might result in an empty dataset.",
                    stacklevel=3,
                )
    if sum(lengths) != total:
        raise ValueError("Sum of input lengths does not equal the length of the input dataset!")
    return list(lengths)  # as given: torch's randperm refuses non-integer lengths itself


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

    def permutation(self) -> list[int]:
        gen = torch.Generator()
        gen.set_state(torch.frombuffer(bytearray(self.generator_state), dtype=torch.uint8))
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
            "generator_state": torch.frombuffer(bytearray(self.generator_state), dtype=torch.uint8),
        }

    @classmethod
    def from_dict(cls, record: Any) -> SplitRecord:
        record = state_header(record, SPLIT_KIND, SPLIT_VERSION,
                              ("dataset_size", "lengths", "generator_state"), name="record")
        size, lengths = record.get("dataset_size"), record.get("lengths")
        if not isinstance(size, int) or size < 0:
            raise ValueError(f"record['dataset_size'] must be an integer >= 0, got {size!r}")
        if not isinstance(lengths, (list, tuple)) or not all(
            isinstance(x, int) and x >= 0 for x in lengths
        ):
            raise ValueError(f"record['lengths'] must be a list of integers >= 0, got {lengths!r}")
        if sum(lengths) != size:
            raise ValueError(
                f"record['lengths'] sum to {sum(lengths)}, not record['dataset_size']={size}"
            )
        state = record.get("generator_state")
        if isinstance(state, torch.Tensor):
            state = state.detach().cpu().contiguous()
        raw = TorchCPUState.parse(state, "record['generator_state']").raw
        return cls(size, tuple(lengths), raw)


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
    """``torch.utils.data.random_split``, bit for bit, keeping a :class:`SplitRecord`.

    Same subsets, same warnings and errors, the same ``randperm`` drawn from
    the same generator (``None`` or the default: the global one).  The
    result is a list of ``Subset``s with a ``record`` attribute: the
    generator's state before the draw, enough to recompute or verify the
    split later.
    """
    gen = check_cpu_generator(generator)
    int_lengths = split_lengths(len(dataset), lengths)  # type: ignore[arg-type]
    before = gen.get_state().numpy().tobytes()
    indices = torch.randperm(sum(int_lengths), generator=generator).tolist()
    subsets = [
        Subset(dataset, indices[offset - length : offset])
        for offset, length in zip(itertools.accumulate(int_lengths), int_lengths)
    ]
    record = SplitRecord(len(dataset), tuple(operator.index(x) for x in int_lengths), before)  # type: ignore[arg-type]
    return ReplayableSplit(subsets, record)
