"""Argument checks and small shared rules (no numpy, no torch).

Every public function validates its input with these, so errors read the
same everywhere: they name the argument and say what was expected.
"""

from __future__ import annotations

import operator
from collections.abc import Mapping
from typing import Any


def integer(value: Any, name: str, minimum: int | None = None) -> int:
    """``value`` as an int (``operator.index``), at least ``minimum`` if given."""
    if isinstance(value, bool) or not hasattr(type(value), "__index__"):
        kind = "an integer" if minimum is None else f"an integer >= {minimum}"
        raise TypeError(f"{name} must be {kind}, got {value!r} (type {type(value).__name__})")
    v = operator.index(value)
    if minimum is not None and v < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {v}")
    return v


def count(value: Any, name: str = "draws") -> int:
    """A number of draws (or another count): a non-negative integer."""
    if isinstance(value, bool) or not hasattr(type(value), "__index__"):
        raise TypeError(
            f"{name} must be a non-negative integer, got {value!r} (type {type(value).__name__})"
        )
    v = operator.index(value)
    if v < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {v}")
    return v


def boolean(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be a bool, got {value!r} (type {type(value).__name__})")
    return value


def stride(value: Any, name: str = "draws_per_epoch") -> int | tuple[int, int]:
    """Draws per epoch: an int, or ``(first_epoch, later_epochs)``."""
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(
                f"{name} must be an int or a (first_epoch, later_epochs) pair, "
                f"got a sequence of {len(value)}"
            )
        return (integer(value[0], f"{name}[0]", 0), integer(value[1], f"{name}[1]", 0))
    return integer(value, name, 0)


def draws_to_epoch(per_epoch: int | tuple[int, int], epochs: int) -> int:
    """Draws from the start of the first epoch to the start of epoch ``epochs``
    (counted from it), with ``per_epoch`` an int or a ``(first, later)`` pair."""
    if epochs == 0:
        return 0
    if isinstance(per_epoch, tuple):
        first, later = per_epoch
        return first + (epochs - 1) * later
    return epochs * per_epoch


def state_header(state: Any, kind: str, version: int, required: tuple[str, ...],
                 name: str = "state_dict") -> dict[str, Any]:
    """Check a saved state's ``kind``, ``version`` and keys; return a copy."""
    if not isinstance(state, Mapping):
        raise TypeError(f"{name} must be a dict, got {type(state).__name__}")
    if state.get("kind") != kind:
        raise ValueError(f"{name}['kind'] must be {kind!r}, got {state.get('kind')!r}")
    if state.get("version") != version:
        raise ValueError(
            f"{name} has format version {state.get('version')!r}; this replay_sampler reads "
            f"version {version}"
        )
    missing = [key for key in required if key not in state]
    if missing:
        raise ValueError(f"{name} lacks {', '.join(repr(key) for key in missing)}")
    return dict(state)
